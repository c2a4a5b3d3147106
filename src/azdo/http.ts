/**
 * One HTTP exchange with Azure DevOps for ./client.ts: the request with its timeout (headers, body
 * and an AbortSignal), the per-attempt report, and the failure text (the service's message and
 * codes, network errors), every credential form redacted. The retry decision stays in the client
 * (./retry.ts decides).
 */
import { request, type Dispatcher } from 'undici';
import type { AuthProvider } from './auth.js';
import { rateLimitDelayMs, type Headers } from './retry.js';
import { headerValue } from '../util/http-hints.js';
import { redactSecrets } from '../util/redact.js';
import { AzdoError, type AzdoErrorKind } from './errors.js';
import { errorBodySchema } from './wire.js';

/**
 * Azure DevOps delays throttled requests "from a few milliseconds per request up to 30 seconds"
 * (learn.microsoft.com/azure/devops/integrate/concepts/rate-limits): a delayed request must not
 * time out, so the per-attempt timeout defaults to that maximum plus a margin.
 */
export const MAX_THROTTLE_DELAY_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 45_000;

export interface RequestInfo {
  method: string;
  /** Path relative to the base URL, with query. */
  path: string;
  /** HTTP status; 0 when no response (timeout / network error). */
  status: number;
  ms: number;
  /** 1-based attempt number of this HTTP exchange. */
  attempt: number;
  /** X-RateLimit-Remaining when the service sent it. */
  rateLimitRemaining?: number;
  /** X-RateLimit-Delay: how long the service held this request (throttling), ms. */
  delayedMs?: number;
}

export interface AzureDevOpsClientOptions {
  /** AZP_URL: https://dev.azure.com/ORG or an Azure DevOps Server collection URL. */
  baseUrl: string;
  auth: AuthProvider;
  /** Per-attempt timeout (headers, body, abort). Default DEFAULT_TIMEOUT_MS (45 s, above Azure DevOps' 30 s throttling delay). */
  timeoutMs?: number;
  /**
   * REST API version (AZP_API_VERSION). Unset: 7.1 first, and the version an Azure DevOps Server
   * names in its "out of range" answer from then on (discovered once per client).
   */
  apiVersion?: string;
  /** Retries after the first attempt. Default 3. */
  maxRetries?: number;
  /** Longest single wait between attempts; a longer Retry-After fails fast. Default 60000. */
  maxRetryDelayMs?: number;
  /** Undici dispatcher (tests: an Agent trusting the fake's certificate). */
  dispatcher?: Dispatcher;
  /** Sleep between retries (tests record it). */
  sleep?: (ms: number) => Promise<void>;
  /** Called once per HTTP attempt, e.g. to count API calls. */
  onRequest?: (info: RequestInfo) => void;
  /** User-Agent header. */
  userAgent?: string;
}

export interface CallOptions {
  method: 'GET' | 'PATCH' | 'DELETE' | 'POST' | 'PUT';
  path: string;
  body?: unknown;
  /** Statuses (besides 2xx) that return normally instead of throwing, e.g. 404 on delete. */
  accept?: number[];
  /**
   * Reads a 2xx body (never the 203 sign-in page) as it arrives instead of as one string; the
   * response's `text` is then empty. Runs within the attempt's timeout; what it throws is a failed attempt.
   */
  readBody?: (body: AsyncIterable<Uint8Array>) => Promise<void>;
}

export interface RawResponse {
  status: number;
  text: string;
  headers?: Headers;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);
const MAX_MESSAGE = 600;
/** Azure DevOps answers a credential it does not accept with its sign-in page and 203 (see test/fakes/azdo.ts). */
export const SIGN_IN_STATUS = 203;

/** What an exchange needs of the client. */
export interface Connection {
  base: string;
  timeoutMs: number;
  userAgent: string;
  dispatcher: Dispatcher | undefined;
  onRequest: ((info: RequestInfo) => void) | undefined;
}

/** One HTTP exchange with the timeout; reports it. No answer → the error, and whether it timed out. */
export async function exchange(
  conn: Connection,
  opts: CallOptions,
  authHeader: string,
  attempt: number,
): Promise<(RawResponse & { headers: Headers }) | { timedOut: boolean; error: unknown }> {
  const { method, path } = opts;
  const started = Date.now();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), conn.timeoutMs);
  try {
    const res = await request(conn.base + path, {
      method,
      headers: {
        authorization: authHeader,
        accept: 'application/json',
        'user-agent': conn.userAgent,
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : null,
      signal: ac.signal,
      headersTimeout: conn.timeoutMs,
      bodyTimeout: conn.timeoutMs,
      ...(conn.dispatcher ? { dispatcher: conn.dispatcher } : {}),
    });
    const streamed =
      opts.readBody && res.statusCode >= 200 && res.statusCode < 300 && res.statusCode !== SIGN_IN_STATUS;
    const text = streamed ? (await opts.readBody!(res.body), '') : await res.body.text();
    report(conn, method, path, res.statusCode, started, attempt, res.headers);
    return { status: res.statusCode, headers: res.headers, text };
  } catch (err) {
    report(conn, method, path, 0, started, attempt, {});
    return { timedOut: ac.signal.aborted || isTimeout(err), error: err };
  } finally {
    clearTimeout(timer);
  }
}

function report(
  conn: Connection,
  method: string,
  path: string,
  status: number,
  started: number,
  attempt: number,
  headers: Headers,
): void {
  if (!conn.onRequest) return;
  const info: RequestInfo = { method, path, status, ms: Date.now() - started, attempt };
  const remaining = Number(headerValue(headers, 'x-ratelimit-remaining'));
  if (headerValue(headers, 'x-ratelimit-remaining') !== undefined && Number.isFinite(remaining))
    info.rateLimitRemaining = remaining;
  const delayed = rateLimitDelayMs(headers);
  if (delayed !== undefined) info.delayedMs = delayed;
  try {
    conn.onRequest(info);
  } catch {
    // an observer must not break the call
  }
}

export function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

/** Every form in which the credential could be echoed back: header, token, decoded Basic password. */
export function secretsOf(authHeader: string): string[] {
  const out = [authHeader];
  const sp = authHeader.indexOf(' ');
  const cred = sp >= 0 ? authHeader.slice(sp + 1).trim() : authHeader;
  out.push(cred);
  if (/^basic$/i.test(authHeader.slice(0, sp))) {
    const decoded = Buffer.from(cred, 'base64').toString('utf8');
    out.push(decoded);
    const colon = decoded.indexOf(':');
    if (colon >= 0) out.push(decoded.slice(colon + 1));
  }
  return out.filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
}

function truncate(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s;
}

export function errorInfo(
  headers: Headers,
  text: string,
  secrets: string[],
): { azdoMessage?: string; code?: string; typeKey?: string; activityId?: string } {
  const out: { azdoMessage?: string; code?: string; typeKey?: string; activityId?: string } = {};
  let message: string | undefined;
  let typeKey: string | undefined;
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(stripBom(text)));
    if (parsed.success) {
      message = parsed.data.message ?? undefined;
      typeKey = parsed.data.typeKey ?? undefined;
    }
  } catch {
    // HTML or empty body (typical for 401): fall back to the service error header
  }
  if (!message) {
    const h = headerValue(headers, 'x-tfs-serviceerror');
    if (h) {
      try {
        message = decodeURIComponent(h.replace(/\+/g, ' '));
      } catch {
        message = h;
      }
    }
  }
  if (message) out.azdoMessage = truncate(redactSecrets(message.trim(), secrets));
  if (typeKey) out.typeKey = redactSecrets(typeKey, secrets);
  const tf = message?.match(/\bTF\d{5,6}\b/)?.[0];
  if (tf) out.code = tf;
  else if (typeKey) out.code = out.typeKey;
  const activity = headerValue(headers, 'activityid') ?? headerValue(headers, 'x-vss-e2eid');
  if (activity) out.activityId = redactSecrets(activity, secrets).slice(0, 100);
  return out;
}

export function isTimeout(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { name?: unknown; code?: unknown };
  return (
    e.name === 'TimeoutError' || e.name === 'AbortError' || (typeof e.code === 'string' && TIMEOUT_CODES.has(e.code))
  );
}

export function describeNetworkError(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
    const code = typeof e.code === 'string' ? e.code : typeof e.cause?.code === 'string' ? e.cause.code : undefined;
    const msg =
      typeof e.cause?.message === 'string'
        ? e.cause.message
        : typeof e.message === 'string'
          ? e.message
          : 'request failed';
    return truncate(code ? `${code}: ${msg}` : msg);
  }
  return 'request failed';
}

/** The AzdoError of a call that will not be tried again: what the service said, or why nothing came. */
export function failure(
  res: (RawResponse & { headers: Headers }) | { timedOut: boolean; error: unknown },
  failed: { kind: AzdoErrorKind; retryAfterMs?: number },
  c: { method: string; path: string; attempts: number; timeoutMs: number; secrets: string[]; signIn: boolean },
): AzdoError {
  const { method, path, attempts, secrets } = c;
  if (!('status' in res)) {
    const detail = res.timedOut
      ? `no complete answer within ${c.timeoutMs} ms`
      : redactSecrets(describeNetworkError(res.error), secrets);
    return new AzdoError({ kind: failed.kind, method, path, attempts, detail });
  }
  return new AzdoError({
    kind: failed.kind,
    method,
    path,
    status: res.status,
    attempts,
    ...(failed.retryAfterMs !== undefined ? { retryAfterMs: failed.retryAfterMs } : {}),
    ...errorInfo(res.headers, res.text, secrets),
    ...(c.signIn
      ? { detail: 'answered 203 with a sign-in page instead of data: the credential was not accepted' }
      : {}),
  });
}
