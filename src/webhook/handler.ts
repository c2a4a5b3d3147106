/**
 * The service-hook endpoint as a plain function (no Functions host needed): request in, response
 * out. A valid delivery is handed to the reconcile queue (`ctx.enqueue`) and answered 202 only once
 * the queue has stored it; nothing runs after the answer (the queue trigger runs the passes).
 *
 * Status codes keep the subscription alive (Azure DevOps puts a subscription on probation, and
 * drops new events, after any non-2xx except 408/502/503/504):
 *   202  valid, authenticated delivery, stored on the reconcile queue
 *   200  authenticated but nothing to do: ignored event type / job state, other organization,
 *        only unknown pools, duplicate delivery, a payload that does not fit our schema — each
 *        with a `note` (the webhook is only a hint; the timer's pass still runs)
 *   400  a body that is not JSON at all (Azure DevOps never sends one)
 *   401  missing/wrong Basic credentials (WWW-Authenticate: Basic realm="azp-aci-autoscaler")
 *   405  method other than POST (Allow: POST)
 *   413  body over `maxBodyBytes` (2 MiB, Azure DevOps' own limit): Content-Length or counted while
 *        streaming; only after authentication
 *   408  the body did not arrive within `bodyTimeoutMs` (10 s) after authentication: a trickle holds
 *        no invocation open; 408 is transient for Azure DevOps (retried, no probation)
 *   415  content type other than JSON
 *   503  + Retry-After: credentials not configured or their Key Vault reference not resolved yet,
 *        the queue refused the message, or an unexpected internal error. 503 is transient for Azure
 *        DevOps: it retries instead of putting the subscription on probation.
 * Authentication comes before any byte of the body is read (`readBody` is called only after it).
 */
import { distinctPools, poolKey, samePool } from '../core/pools.js';
import { keepsIdleAgents } from '../core/standby.js';
import type { WebhookArrival } from '../core/types.js';
import { isJobId } from '../core/types.js';
import type { Settings } from '../config/schema.js';
import type { HandoffQueue, Logger, ReconcileRequest } from '../ports/index.js';
import { errorText } from '../util/log.js';
import { checkBasicAuth } from './auth.js';
import type { DedupCache } from './dedup.js';
import { matchOrg } from './org.js';
import {
  describeIssues,
  envelopeSchema,
  JOB_STATE_CHANGED,
  SUPPORTED_EVENTS,
  type ServiceHookEnvelope,
} from './schema.js';

/** Azure DevOps refuses to send larger payloads (contracts/servicehooks/README.md). */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024;
/** Seconds Azure DevOps is asked to wait before retrying a 503. */
export const RETRY_AFTER_SEC = 30;
/** What `readBody` answers when the body grew past the limit (reading stopped there). */
export const TOO_LARGE = Symbol('tooLarge');
/** What `readBody` answers when the whole body had not arrived by its deadline (reading stopped). */
export const TIMED_OUT = Symbol('timedOut');
/**
 * The whole body must arrive within this after authentication. Azure DevOps sends a few KB at once;
 * a body that trickles would otherwise hold the invocation (and a worker) for as long as the
 * sender likes.
 */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
export const REALM = 'azp-aci-autoscaler';

export interface ServiceHookRequest {
  method: string;
  /** Header names in any case. */
  headers: Record<string, string | undefined>;
  /** `pool` may hold several names separated by commas. */
  query: Record<string, string | undefined>;
  /** The whole body, when it is already in memory (tests, fuzzing). */
  bodyText?: string | undefined;
  /**
   * Reads the body, at most `limit` bytes within `timeoutMs`: the text, TOO_LARGE as soon as more
   * arrived, TIMED_OUT when the deadline passed first (the rest is not read), undefined when it could
   * not be read. Called only after authentication.
   */
  readBody?(limit: number, timeoutMs: number): Promise<string | typeof TOO_LARGE | typeof TIMED_OUT | undefined>;
}

export interface ServiceHookContext {
  settings: Pick<Settings, 'WEBHOOK_USERNAME' | 'WEBHOOK_PASSWORD' | 'AZP_URL' | 'POOLS'>;
  /** The durable hand-off: resolves once the request is stored, rejects when it is not. */
  queue: Pick<HandoffQueue, 'send'>;
  /** Wall clock for `receivedAt` (default: the system clock). */
  now?: () => Date;
  seen: DedupCache;
  logger: Logger;
  maxBodyBytes?: number;
  /** Deadline for the whole body after authentication (default DEFAULT_BODY_TIMEOUT_MS). */
  bodyTimeoutMs?: number;
}

export interface ServiceHookBody {
  accepted: boolean;
  pools: string[];
  note: string;
}

export interface ServiceHookResponse {
  status: number;
  headers: Record<string, string>;
  body: ServiceHookBody;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function respond(
  status: number,
  body: Partial<ServiceHookBody> & { note: string },
  headers: Record<string, string> = {},
): ServiceHookResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: { accepted: false, pools: [], ...body } };
}

/** Sender-provided text safe to put in a note or a log line. */
function clip(s: unknown, max = 80): string {
  const t = String(s).replace(/[^\x20-\x7e]/g, '?');
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

function lowerKeys(h: Record<string, string | undefined>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = typeof v === 'string' ? v : undefined;
  return out;
}

export function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const media = value.split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || media === 'text/json' || /^application\/[a-z0-9.+-]*\+json$/.test(media);
}

/** Configured pool names a `?pool=` value selects (case-insensitive), and the unknown ones. */
export function selectPools(
  configured: readonly string[],
  param: string | undefined,
): { pools: string[]; unknown: string[] } {
  if (param === undefined || param.trim() === '') return { pools: [...configured], unknown: [] };
  const byKey = new Map(distinctPools(configured).map((p) => [poolKey(p), p]));
  const pools: string[] = [];
  const unknown: string[] = [];
  for (const raw of param.split(',').slice(0, 100)) {
    const name = raw.trim();
    if (!name) continue;
    const hit = byKey.get(poolKey(name));
    if (hit) {
      if (!pools.includes(hit)) pools.push(hit);
    } else if (!unknown.includes(name)) unknown.push(clip(name, 64));
  }
  return { pools, unknown };
}

function dedupKey(e: ServiceHookEnvelope, pools: string[]): string | undefined {
  const target = pools.map(poolKey).sort().join(',');
  if (e.subscriptionId && e.notificationId !== undefined && e.notificationId !== null)
    return `n|${e.subscriptionId}|${e.notificationId}|${target}`;
  if (e.id) return `e|${e.eventType}|${e.id}|${target}`;
  return undefined;
}

function shortEvent(eventType: string): string {
  return /^ms\.vss-pipelines\.([a-z]+)-state-changed-event$/.exec(eventType)?.[1] ?? 'event';
}

function stateOf(e: ServiceHookEnvelope): string | undefined {
  const r = e.resource;
  const s =
    e.eventType === JOB_STATE_CHANGED
      ? r?.job?.state
      : e.eventType.includes('.stage-')
        ? r?.stage?.state
        : r?.run?.state;
  return typeof s === 'string' && /^[A-Za-z]{1,30}$/.test(s) ? s : undefined;
}

/**
 * The job a job-state-changed delivery names, for λ (core/rules/warm.ts): `resource.job.id` (the
 * job request's `jobId`; contracts/servicehooks/job-state-changed.events-md.json) and, for a job
 * `waiting` for an agent, the event's `createdDate` as its queue time (never after we received it;
 * our receipt when absent). The payload names no pool, request id, demands or agent; nothing else
 * of it is kept. Run and stage events name no job: none.
 */
export function arrivalOf(e: ServiceHookEnvelope, receivedAt: Date): WebhookArrival | undefined {
  if (e.eventType !== JOB_STATE_CHANGED) return undefined;
  const id = e.resource?.job?.id;
  if (!isJobId(id)) return undefined;
  if (stateOf(e)?.toLowerCase() !== 'waiting') return { jobId: id };
  const created = Date.parse(e.createdDate ?? '');
  const t = Number.isFinite(created) && created <= receivedAt.getTime() ? created : receivedAt.getTime();
  return { jobId: id, queueTime: new Date(t).toISOString() };
}

/** Handle one delivery. Never rejects. */
export async function handleServiceHook(
  req: ServiceHookRequest,
  ctx: ServiceHookContext,
): Promise<ServiceHookResponse> {
  try {
    return await handle(req, ctx);
  } catch (err) {
    try {
      ctx.logger.error('service hook: unexpected error (answered 503 so Azure DevOps retries)', {
        error: errorText(err),
      });
    } catch {
      // a logger failure must not turn into a 500 either
    }
    return respond(503, { note: 'temporary server error; retry later' }, { 'retry-after': String(RETRY_AFTER_SEC) });
  }
}

async function readBodyOf(
  req: ServiceHookRequest,
  limit: number,
  timeoutMs: number,
): Promise<string | typeof TOO_LARGE | typeof TIMED_OUT | undefined> {
  if (req.readBody) return req.readBody(limit, timeoutMs);
  if (req.bodyText === undefined) return undefined;
  return Buffer.byteLength(req.bodyText, 'utf8') > limit ? TOO_LARGE : req.bodyText;
}

/** read → route → enqueue: the response of whichever step answers first. */
async function handle(req: ServiceHookRequest, ctx: ServiceHookContext): Promise<ServiceHookResponse> {
  const read = await readDelivery(req, ctx);
  if (!('event' in read)) return read;
  const { event } = read;
  const elog = ctx.logger.child({
    eventType: clip(event.eventType),
    eventId: event.id ? clip(event.id, 64) : undefined,
    notificationId: event.notificationId ?? undefined,
  });
  const route = routeDelivery(event, typeof req.query?.pool === 'string' ? req.query.pool : undefined, ctx.settings);
  for (const l of route.logs) elog[l.level](l.message, l.fields);
  if (!route.queue) return respond(200, { pools: route.pools, note: route.note });
  return enqueue(event, route, ctx, elog);
}

// ----- read: method, credentials, size, type, body, JSON, schema ----------------------------------

/** The authenticated delivery's envelope, or the response that ends it here. */
async function readDelivery(
  req: ServiceHookRequest,
  ctx: ServiceHookContext,
): Promise<{ event: ServiceHookEnvelope } | ServiceHookResponse> {
  const method = typeof req.method === 'string' ? req.method.toUpperCase() : '';
  if (method !== 'POST') return respond(405, { note: 'only POST is accepted' }, { allow: 'POST' });
  const headers = lowerKeys(req.headers ?? {});
  const refused = authenticate(headers.authorization, ctx);
  if (refused) return refused;
  const limit = ctx.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const declared = headers['content-length'];
  if (declared !== undefined && /^\s*\d+\s*$/.test(declared) && Number(declared) > limit) {
    return respond(413, { note: `body larger than ${limit} bytes` });
  }
  if (!isJsonContentType(headers['content-type'])) {
    return respond(415, { note: 'content type must be application/json' }, { accept: 'application/json' });
  }
  const timeoutMs = ctx.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const body = await readBodyOf(req, limit, timeoutMs);
  if (body === TOO_LARGE) return respond(413, { note: `body larger than ${limit} bytes` });
  if (body === TIMED_OUT) {
    ctx.logger.warn('service hook: the body did not arrive in time; answered 408 (Azure DevOps retries it)', {
      timeoutMs,
    });
    return respond(408, { note: `body not received within ${timeoutMs} ms; retry` });
  }
  return parseEnvelope(body ?? '', ctx.logger);
}

/** undefined when the Basic credentials match; else the 401, or the 503 while none are configured. */
function authenticate(authorization: string | undefined, ctx: ServiceHookContext): ServiceHookResponse | undefined {
  const auth = checkBasicAuth(authorization, {
    username: ctx.settings.WEBHOOK_USERNAME,
    password: ctx.settings.WEBHOOK_PASSWORD,
  });
  if (auth === 'ok') return undefined;
  if (auth === 'unconfigured') {
    // Not the sender's fault, and maybe not for long (a Key Vault reference resolving): 503 keeps
    // the subscription out of probation and Azure DevOps retries.
    ctx.logger.error(
      'service hook deferred: WEBHOOK_USERNAME and WEBHOOK_PASSWORD are not set (or their Key Vault reference did not resolve), so the endpoint accepts no deliveries yet; answered 503',
    );
    return respond(
      503,
      { note: 'webhook credentials not configured yet; retry later' },
      { 'retry-after': String(RETRY_AFTER_SEC) },
    );
  }
  ctx.logger.warn('service hook refused: bad credentials', { auth });
  return respond(
    401,
    { note: 'authentication required' },
    { 'www-authenticate': `Basic realm="${REALM}", charset="UTF-8"` },
  );
}

/** The body as a service-hook envelope, or the 400 (not JSON) / 200 (JSON we do not understand). */
function parseEnvelope(body: string, log: Logger): { event: ServiceHookEnvelope } | ServiceHookResponse {
  const text = body.replace(/^\uFEFF/, '');
  if (text.trim() === '') return respond(400, { note: 'empty body: expected a service-hook JSON payload' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const pos = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    return respond(400, { note: `body is not valid JSON${pos ? ` (error at position ${pos})` : ''}` });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    log.warn('service hook: body is JSON but not an object; ignored');
    return respond(200, { note: 'ignored: body is not a JSON object (a service-hook payload)' });
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    // Valid credentials, a shape we do not know: a hint we cannot read, not an error worth probation.
    const issues = describeIssues(parsed.error);
    log.warn('service hook: payload does not fit the service-hook schema; ignored', { issues });
    return respond(200, { note: `ignored: not a service-hook payload we understand (${issues})` });
  }
  return { event: parsed.data };
}

// ----- route: which pools, or why none (pure) -----------------------------------------------------

/** A line the handler logs for the route taken (route itself does no I/O). */
interface RouteLog {
  level: 'info' | 'warn';
  message: string;
  fields?: Record<string, unknown>;
}

/** Where a delivery goes: the reconcile queue for these pools, or a 200 with a note. */
export type Route =
  | { queue: false; pools: string[]; note: string; logs: RouteLog[] }
  | { queue: true; pools: string[]; state: string | undefined; unknownNote: string; logs: RouteLog[] };

/**
 * The pools a delivery is for (`?pool=`, else all configured), or why it needs no pass: an event
 * type we do not handle, another organization, only unknown pools, a job that started running
 * where no pool keeps standby agents. Pure: the lines to log come back with the route.
 */
export function routeDelivery(
  event: ServiceHookEnvelope,
  poolParam: string | undefined,
  settings: Pick<Settings, 'AZP_URL' | 'POOLS'>,
): Route {
  if (!(SUPPORTED_EVENTS as readonly string[]).includes(event.eventType)) {
    return {
      queue: false,
      pools: [],
      note: `ignored event type '${clip(event.eventType)}'; supported: ${SUPPORTED_EVENTS.join(', ')}`,
      logs: [{ level: 'info', message: 'service hook: event type ignored' }],
    };
  }
  const rc = event.resourceContainers;
  if (matchOrg(settings.AZP_URL, [rc?.account?.baseUrl, rc?.collection?.baseUrl]) === 'other') {
    const baseUrl = clip(rc?.account?.baseUrl ?? rc?.collection?.baseUrl ?? '', 120);
    return {
      queue: false,
      pools: [],
      note: 'not our organization: AZP_URL names another organization or collection',
      logs: [
        {
          level: 'warn',
          message: 'service hook from another organization ignored (check the subscription URL)',
          fields: { baseUrl },
        },
      ],
    };
  }
  const configured = distinctPools(settings.POOLS.map((p) => p.pool));
  const { pools, unknown } = selectPools(configured, poolParam);
  const logs: RouteLog[] = unknown.length
    ? [{ level: 'warn', message: 'service hook names pools that are not configured', fields: { unknown, configured } }]
    : [];
  const unknownNote = unknown.length
    ? `unknown pool(s) ignored: ${unknown.join(', ')}; configured: ${configured.join(', ')}`
    : '';
  if (pools.length === 0) return { queue: false, pools: [], note: unknownNote || 'no pool configured', logs };
  const state = stateOf(event);
  // A job that started running took an agent that was already there: that only matters when the
  // pool keeps warm standby agents, which then need a replacement soon.
  const keepsStandby = settings.POOLS.some((p) => pools.some((q) => samePool(q, p.pool)) && keepsIdleAgents(p));
  if (
    event.eventType === JOB_STATE_CHANGED &&
    state &&
    ['running', 'inprogress'].includes(state.toLowerCase()) &&
    !keepsStandby
  ) {
    const note = join(`job state '${state}' needs no scaling (no standby agents configured)`, unknownNote);
    return { queue: false, pools, note, logs };
  }
  return { queue: true, pools, state, unknownNote, logs };
}

// ----- enqueue: dedup, store on the queue, 202 ----------------------------------------------------

/** Stores the delivery on the reconcile queue (once per dedup key): 202, or 503 when not stored. */
async function enqueue(
  event: ServiceHookEnvelope,
  route: Extract<Route, { queue: true }>,
  ctx: ServiceHookContext,
  elog: Logger,
): Promise<ServiceHookResponse> {
  const { pools, state, unknownNote } = route;
  const key = dedupKey(event, pools);
  if (key !== undefined && ctx.seen.has(key)) {
    elog.info('service hook: redelivery ignored');
    return respond(200, { pools, note: join('duplicate delivery: already accepted', unknownNote) });
  }
  const receivedAt = ctx.now?.() ?? new Date();
  const arrival = arrivalOf(event, receivedAt);
  const reason = `webhook ${shortEvent(event.eventType)}${state ? ` ${state}` : ''}${event.notificationId !== undefined && event.notificationId !== null ? ` #${clip(event.notificationId, 20)}` : ''}`;
  const request: ReconcileRequest = {
    pools,
    reason,
    receivedAt: receivedAt.toISOString(),
    ...(arrival ? { arrival } : {}),
  };
  try {
    await ctx.queue.send(request);
  } catch (err) {
    // Not stored: Azure DevOps retries a 503 (no probation), so the delivery is not lost.
    elog.error('service hook: the reconcile queue refused the delivery; answered 503 so Azure DevOps retries', {
      pools,
      error: errorText(err),
    });
    return respond(
      503,
      { pools, note: 'could not queue the delivery; retry later' },
      { 'retry-after': String(RETRY_AFTER_SEC) },
    );
  }
  if (key !== undefined) ctx.seen.add(key);
  elog.info('service hook accepted', { pools, reason });
  return respond(202, { accepted: true, pools, note: join(`pass queued (${reason})`, unknownNote) });
}

function join(a: string, b: string): string {
  return b ? `${a}; ${b}` : a;
}
