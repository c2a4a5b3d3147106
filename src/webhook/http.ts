/**
 * Glue between @azure/functions' HttpRequest/InvocationContext and the host-free handler. The
 * Functions handlers (src/app/handlers.ts) bind these factories to `getRuntime()`.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Settings } from '../config/schema.js';
import type { HandoffQueue, Logger } from '../ports/index.js';
import { errorText } from '../util/log.js';
import { DedupCache } from './dedup.js';
import {
  DEFAULT_BODY_TIMEOUT_MS,
  DEFAULT_MAX_BODY_BYTES,
  handleServiceHook,
  RETRY_AFTER_SEC,
  TIMED_OUT,
  TOO_LARGE,
  type ServiceHookRequest,
} from './handler.js';

/** The part of the app runtime (src/app/runtime.ts) the webhook needs. */
export interface WebhookRuntime {
  settings: Settings;
  /** The reconcile queue (src/storage/queue.ts): a delivery is answered 202 only once it is stored. */
  handoff: Pick<HandoffQueue, 'send'>;
  logger: Logger;
  /** Flush telemetry before the invocation returns (optional). */
  flush?(): Promise<void>;
}

export interface StatusRuntime {
  logger: Logger;
  status(): Promise<unknown>;
  /** The operator's page (?format=html); JSON when absent. */
  statusHtml?(report: unknown): string;
}

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export interface ServiceHookHandlerOptions {
  /** Shared across invocations of this process. Default: 5000 ids for 1 hour. */
  seen?: DedupCache;
  maxBodyBytes?: number;
  /** Deadline for the whole body after authentication (default 10 s): a trickle gets 408. */
  bodyTimeoutMs?: number;
}

/**
 * Read a body stream, at most `limit` bytes within `timeoutMs`: stops (and cancels the stream) as
 * soon as more arrived, so an oversized body costs at most `limit` plus one chunk, and when the
 * deadline passes first (one deadline for the whole body: a byte now and then does not extend it).
 * Never throws.
 */
export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  timeoutMs: number = DEFAULT_BODY_TIMEOUT_MS,
): Promise<string | typeof TOO_LARGE | typeof TIMED_OUT | undefined> {
  if (!body) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), timeoutMs);
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), deadline]);
      if (next === TIMED_OUT) {
        await reader.cancel().catch(() => undefined);
        return TIMED_OUT;
      }
      const { done, value } = next;
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        return TOO_LARGE;
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Headers and query now; the body only when the handler asks for it (after authentication), read
 * as a stream with a size limit. Never throws.
 */
export function toServiceHookRequest(request: HttpRequest): ServiceHookRequest {
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
  const query: Record<string, string> = {};
  for (const k of new Set(request.query.keys())) query[k] = request.query.getAll(k).join(',');
  const method = request.method.toUpperCase();
  return {
    method,
    headers,
    query,
    readBody: (limit, timeoutMs) => readLimited(request.body as ReadableStream<Uint8Array> | null, limit, timeoutMs),
  };
}

/** The servicehook HTTP handler over a runtime getter (the real one or a test double). */
export function makeServiceHookHandler(
  getRuntime: () => Promise<WebhookRuntime>,
  options: ServiceHookHandlerOptions = {},
): HttpHandler {
  const seen = options.seen ?? new DedupCache();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  return async (request, context) => {
    let runtime: WebhookRuntime;
    try {
      runtime = await getRuntime();
    } catch (err) {
      // Settings invalid or storage unreachable at start: 503 is "transient" for Azure DevOps
      // (retried, no probation); the log names the problem.
      context.error(`servicehook: runtime unavailable: ${errorText(err)}`);
      return {
        status: 503,
        headers: { 'retry-after': String(RETRY_AFTER_SEC) },
        jsonBody: { accepted: false, pools: [], note: 'service not ready; retry later' },
      };
    }
    const logger = runtime.logger.child({ fn: 'servicehook', invocationId: context.invocationId });
    try {
      const res = await handleServiceHook(toServiceHookRequest(request), {
        settings: runtime.settings,
        seen,
        logger,
        maxBodyBytes,
        bodyTimeoutMs,
        queue: runtime.handoff,
      });
      return { status: res.status, headers: res.headers, jsonBody: res.body };
    } catch (err) {
      logger.error('servicehook: unexpected error', { error: errorText(err) });
      return {
        status: 503,
        headers: { 'retry-after': String(RETRY_AFTER_SEC) },
        jsonBody: { accepted: false, pools: [], note: 'temporary server error; retry later' },
      };
    } finally {
      await runtime.flush?.().catch(() => undefined);
    }
  };
}

/** GET /api/status: the runtime's per-profile view and counters as JSON, or `?format=html` for an operator. */
export function makeStatusHandler(getRuntime: () => Promise<StatusRuntime>): HttpHandler {
  return async (request, context) => {
    try {
      const runtime = await getRuntime();
      const report = await runtime.status();
      if (request.query.get('format') === 'html' && runtime.statusHtml) {
        return {
          status: 200,
          headers: {
            'content-type': 'text/html; charset=utf-8',
            'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
            'x-content-type-options': 'nosniff',
          },
          body: runtime.statusHtml(report),
        };
      }
      return { status: 200, jsonBody: report };
    } catch (err) {
      context.error(`status: ${errorText(err)}`);
      return { status: 503, jsonBody: { error: errorText(err) } };
    }
  };
}
