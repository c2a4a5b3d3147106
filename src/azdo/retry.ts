/**
 * When the Azure DevOps client tries again: a pure function of the answer (status, headers), the
 * retries already spent and the method, so the policy is tested on its own (test/unit/azdo-retry.test.ts).
 *
 * Reads (GET/HEAD/OPTIONS) are retried: 429 and 503, any other 5xx that carries Retry-After, a
 * timeout or a network error; the wait is Retry-After, else 1 s, 2 s, 4 s. `X-RateLimit-Delay` is not
 * a wait: Azure DevOps sends it on answers it *delayed*, saying by how long ("How long the request
 * was delayed", learn.microsoft.com/azure/devops/integrate/concepts/rate-limits).
 * Writes (PATCH, DELETE, …) are never retried here: every write *attempt* must pass the pool's
 * fence, and the fence is checked per call (src/ports/fence.ts), so a call is one attempt. A 429/503
 * fails at once carrying its Retry-After; a timed-out write is read back by the client (applied →
 * success), never re-sent (src/azdo/client.ts). The next pass plans it again. Retries are bounded by maxRetries and
 * maxRetryDelayMs: when the service asks for a longer wait than maxRetryDelayMs the call fails at
 * once as 'throttled', carrying the wait. A 401 refreshes the credential (re-read a rotated PAT)
 * once, outside the count.
 */
import { delayHeaderMs, headerValue } from '../util/http-hints.js';
import type { AzdoErrorKind } from './errors.js';

export type Headers = Record<string, string | string[] | undefined>;

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Longest single wait between attempts; a longer Retry-After fails fast. */
  maxRetryDelayMs: number;
}

export interface Answer {
  method: string;
  /** HTTP status; 0 when there was no answer (network error or timeout). */
  status: number;
  /** No answer within the timeout (status 0 only). */
  timedOut?: boolean;
  headers: Headers;
  /** Retries already spent from maxRetries. */
  retries: number;
  /** A 401 may refresh the credential: the auth provider can, and it has not been done for this call. */
  canRefreshAuth?: boolean;
}

export type RetryDecision =
  { do: 'retry'; waitMs: number } | { do: 'refreshAuth' } | { do: 'fail'; kind: AzdoErrorKind; retryAfterMs?: number };

const RETRY_ALWAYS = new Set([429, 503]);

/** Retry-After (seconds or HTTP date): how long the service asks us to wait. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  return delayHeaderMs(headerValue(headers, 'retry-after'), 's', now);
}

/** X-RateLimit-Delay (seconds, may be fractional): how long the service already held this request. */
export function rateLimitDelayMs(headers: Headers): number | undefined {
  return delayHeaderMs(headerValue(headers, 'x-ratelimit-delay'), 's');
}

/** Exponential backoff without a server hint: 1s, 2s, 4s … capped at maxRetryDelayMs. */
export function backoffMs(retry: number, policy: RetryPolicy): number {
  return Math.min(1000 * 2 ** (retry - 1), policy.maxRetryDelayMs);
}

export function kindOf(status: number): AzdoErrorKind {
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'notFound';
  if (status === 429) return 'throttled';
  if (status >= 500) return 'server';
  return 'badResponse';
}

/** What to do after an answer that is not a success (nor a status the caller accepts). */
export function retryDecision(a: Answer, policy: RetryPolicy, now = Date.now()): RetryDecision {
  const idempotent = a.method === 'GET' || a.method === 'HEAD' || a.method === 'OPTIONS';
  const spare = a.retries < policy.maxRetries;
  if (a.status === 0) {
    if (idempotent && spare) return { do: 'retry', waitMs: backoffMs(a.retries + 1, policy) };
    return { do: 'fail', kind: a.timedOut ? 'timeout' : 'network' };
  }
  if (a.status === 401 && a.canRefreshAuth) return { do: 'refreshAuth' };
  const asked = retryAfterMs(a.headers, now);
  if (RETRY_ALWAYS.has(a.status) || (a.status >= 500 && asked !== undefined)) {
    if (asked !== undefined && asked > policy.maxRetryDelayMs)
      return { do: 'fail', kind: 'throttled', retryAfterMs: asked };
    if (spare && idempotent) return { do: 'retry', waitMs: asked ?? backoffMs(a.retries + 1, policy) };
  }
  return { do: 'fail', kind: kindOf(a.status), ...(asked !== undefined ? { retryAfterMs: asked } : {}) };
}
