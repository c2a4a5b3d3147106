/**
 * Glue between @azure/functions' HttpRequest/InvocationContext and the host-free handler. The
 * Functions handlers (src/app/handlers.ts) bind these factories to `getRuntime()`.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { Settings } from '../config/schema.js';
import type { Logger } from '../ports/index.js';
import { errorText } from '../util/log.js';
import { DedupCache } from './dedup.js';
import { DEFAULT_MAX_BODY_BYTES, handleServiceHook, type ServiceHookRequest } from './handler.js';

/** The part of the app runtime (src/app/runtime.ts) the webhook needs. */
export interface WebhookRuntime {
  settings: Settings;
  coordinator: { requestAll(pools: readonly string[], reason: string): Promise<void> };
  logger: Logger;
}

export interface StatusRuntime {
  logger: Logger;
  status(): Promise<unknown>;
}

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

export interface ServiceHookHandlerOptions {
  /** Shared across invocations of this process. Default: 5000 ids for 1 hour. */
  seen?: DedupCache;
  maxBodyBytes?: number;
}

/** Read what the handler needs; never throws. A body over the limit by Content-Length is not read. */
export async function toServiceHookRequest(request: HttpRequest, maxBodyBytes = DEFAULT_MAX_BODY_BYTES): Promise<ServiceHookRequest> {
  const headers: Record<string, string> = {};
  request.headers.forEach((v, k) => (headers[k.toLowerCase()] = v));
  const query: Record<string, string> = {};
  for (const k of new Set(request.query.keys())) query[k] = request.query.getAll(k).join(',');
  const method = request.method.toUpperCase();
  const declared = Number(headers['content-length']);
  let bodyText: string | undefined;
  if (method === 'POST' && !(Number.isFinite(declared) && declared > maxBodyBytes)) {
    try {
      bodyText = await request.text();
    } catch {
      bodyText = undefined;
    }
  }
  return { method, headers, query, bodyText };
}

/** The servicehook HTTP handler over a runtime getter (the real one or a test double). */
export function makeServiceHookHandler(getRuntime: () => Promise<WebhookRuntime>, options: ServiceHookHandlerOptions = {}): HttpHandler {
  const seen = options.seen ?? new DedupCache();
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (request, context) => {
    let runtime: WebhookRuntime;
    try {
      runtime = await getRuntime();
    } catch (err) {
      // Settings invalid or storage unreachable at start: 503 is "transient" for Azure DevOps
      // (retried, no probation); the log names the problem.
      context.error(`servicehook: runtime unavailable: ${errorText(err)}`);
      return { status: 503, headers: { 'retry-after': '30' }, jsonBody: { accepted: false, pools: [], note: 'service not ready; retry later' } };
    }
    const logger = runtime.logger.child({ fn: 'servicehook', invocationId: context.invocationId });
    try {
      const req = await toServiceHookRequest(request, maxBodyBytes);
      const res = handleServiceHook(req, {
        settings: runtime.settings,
        seen,
        logger,
        maxBodyBytes,
        requestPasses: (pools, reason) => {
          runtime.coordinator.requestAll(pools, reason).catch((err: unknown) => logger.error('requested passes failed', { error: errorText(err) }));
        },
      });
      return { status: res.status, headers: res.headers, jsonBody: res.body };
    } catch (err) {
      logger.error('servicehook: unexpected error', { error: errorText(err) });
      return { status: 503, headers: { 'retry-after': '10' }, jsonBody: { accepted: false, pools: [], note: 'temporary server error; retry later' } };
    }
  };
}

/** GET /api/status: the runtime's per-profile view as JSON. */
export function makeStatusHandler(getRuntime: () => Promise<StatusRuntime>): HttpHandler {
  return async (_request, context) => {
    try {
      const runtime = await getRuntime();
      return { status: 200, jsonBody: await runtime.status() };
    } catch (err) {
      context.error(`status: ${errorText(err)}`);
      return { status: 503, jsonBody: { error: errorText(err) } };
    }
  };
}
