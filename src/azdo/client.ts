/**
 * Azure DevOps REST client (distributedtask pools / jobrequests / agents) on undici.
 *
 * Every call has a timeout (headers, body and an AbortSignal). When to try again is decided by
 * ./retry.ts (429/503 for every method, 500/502/504, timeouts and network errors for GETs, bounded
 * by maxRetries and maxRetryDelayMs; a 401 calls auth.onUnauthorized and retries exactly once).
 * Nothing this client throws or reports contains the token or the Authorization header. The HTTP
 * exchange itself and the failure text are in ./http.ts.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { z } from 'zod';
import type { AgentRegistration, JobRequest, ParallelJobs } from '../core/types.js';
import type { AzureDevOpsPort } from '../ports/index.js';
import type { AuthProvider } from './auth.js';
import { AzdoError, AzdoPoolNotFoundError, type AzdoErrorKind } from './errors.js';
import {
  DEFAULT_TIMEOUT_MS,
  exchange,
  failure,
  secretsOf,
  SIGN_IN_STATUS,
  stripBom,
  type AzureDevOpsClientOptions,
  type CallOptions,
  type Connection,
  type RawResponse,
} from './http.js';
import { retryDecision, type Headers } from './retry.js';
import { poolKey } from '../core/pools.js';
import {
  agentCapabilitiesSchema,
  agentListSchema,
  agentSchema,
  poolListSchema,
  resourceUsageSchema,
  shapeDetail,
  toAgentRegistration,
  toJobRequest,
  toListedJobRequest,
  type WireJobRequest,
} from './wire.js';
import { readJobRequestList, type JobRequestListRead } from './jobrequests-stream.js';
import { lastById, readPages } from './pages.js';

export { DEFAULT_TIMEOUT_MS, MAX_THROTTLE_DELAY_MS, type AzureDevOpsClientOptions, type RequestInfo } from './http.js';

/** The REST API version asked for first (Azure DevOps Services); a Server says which lower one it supports. */
export const API_VERSION = '7.1';
/**
 * resourceusage is a preview resource: the generated clients send 7.1-preview.2
 * (microsoft/azure-devops-node-api api/TaskAgentApiBase.ts `getResourceUsage`).
 */
export const RESOURCE_USAGE_API_VERSION = '7.1-preview.2';
/** Stands for the api-version in request paths until the client knows which one the server takes. */
const V = '{api-version}';
/**
 * What Azure DevOps Server answers for a higher api-version than it supports: 400
 * VssVersionOutOfRangeException, "The requested REST API version of 7.1 is out of range for this
 * server. The latest REST API version this server supports is 6.0." (Server 2020 → 6.0, Server 2022 → 7.0).
 */
const OUT_OF_RANGE = /latest REST API version this server supports is (\d+\.\d+)/i;

/** What `rest` answers: the status, the parsed JSON body (undefined when empty) and the headers. */
export interface RestAnswer {
  status: number;
  json: unknown;
  headers: Headers;
}

/** The unfinished job-request list stops at 200 items on the service (kedacore/keda#6819). */
export const JOB_REQUEST_CAP = 200;

export class AzureDevOpsClient implements AzureDevOpsPort {
  private readonly base: string;
  private readonly auth: AuthProvider;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly maxRetryDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** What each HTTP exchange needs (./http.ts). */
  private readonly conn: Connection;
  private readonly poolIds = new Map<string, Promise<number>>();
  private apiVersion: string;
  /** The version came from the settings or the server: never changed again. */
  private apiVersionSettled: boolean;

  constructor(options: AzureDevOpsClientOptions) {
    const url = new URL(options.baseUrl);
    if (url.username || url.password) throw new Error('AZP_URL must not contain credentials');
    this.base = url.toString().replace(/\/+$/, '');
    this.auth = options.auth;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.apiVersion = options.apiVersion ?? API_VERSION;
    this.apiVersionSettled = options.apiVersion !== undefined;
    this.maxRetries = options.maxRetries ?? 3;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.conn = {
      base: this.base,
      timeoutMs: this.timeoutMs,
      userAgent: options.userAgent ?? 'azp-aci-autoscaler',
      dispatcher: options.dispatcher,
      onRequest: options.onRequest,
    };
  }

  resolvePoolId(poolName: string): Promise<number> {
    const key = poolKey(poolName); // Azure DevOps pool names ignore case
    const cached = this.poolIds.get(key);
    if (cached) return cached;
    const p = this.fetchPoolId(poolName);
    this.poolIds.set(key, p);
    // Failures are not cached: the pool may be created or access granted later.
    p.catch(() => this.poolIds.delete(key));
    return p;
  }

  private async fetchPoolId(poolName: string): Promise<number> {
    const path = `/_apis/distributedtask/pools?poolName=${encodeURIComponent(poolName)}&api-version=${V}`;
    const res = await this.call({ method: 'GET', path });
    const list = this.parse(res, poolListSchema, 'GET', path);
    if (list.value.length === 0) throw new AzdoPoolNotFoundError(poolName, 'GET', this.resolve(path));
    const first = list.value[0];
    if (list.value.length > 1 || !first) {
      throw new AzdoError({
        kind: 'badResponse',
        method: 'GET',
        path,
        status: res.status,
        code: 'AmbiguousPool',
        detail: `${list.value.length} agent pools match the name '${poolName}'`,
      });
    }
    return first.id;
  }

  /**
   * Unfinished job requests, every page. Undocumented endpoint: no api-version (like KEDA), never $top.
   * A page that does not hold every request carries `x-ms-continuationtoken` (see `readPages`).
   */
  async listJobRequests(poolId: number): Promise<JobRequest[]> {
    const base = `/_apis/distributedtask/pools/${id(poolId)}/jobrequests?completedRequestCount=0`;
    const page = (map: (w: WireJobRequest) => JobRequest) => (path: string) => this.jobRequestPage(path, map);
    const { items, lastPage } = await readPages(base, page(toListedJobRequest), (p) => this.resolve(p));
    const listed = lastById(items, (j) => j.requestId);
    if (lastPage < JOB_REQUEST_CAP) return listed;
    // A last page of 200 without a token may be the service's cap (kedacore/keda#6819), not the end:
    // the newest requests are read once more with `$top` (the generated client's getAgentRequests;
    // its items carry no matchedAgents, so those requests are matched on their demands). Requests
    // already listed keep their listed form; finished ones are dropped.
    const { items: newest } = await readPages(
      `/_apis/distributedtask/pools/${id(poolId)}/jobrequests?$top=${JOB_REQUEST_CAP}`,
      page(toJobRequest),
      (p) => this.resolve(p),
    );
    const known = new Set(listed.map((j) => j.requestId));
    return [...listed, ...lastById(newest, (j) => j.requestId).filter((j) => !known.has(j.requestId) && !j.result)];
  }

  /** One page of a job-request list, read as a stream (./jobrequests-stream.ts: matchedAgents makes it jobs × agents long). */
  private async jobRequestPage(
    path: string,
    map: (w: WireJobRequest) => JobRequest,
  ): Promise<{ res: RawResponse; items: JobRequest[] }> {
    let read: JobRequestListRead | undefined;
    const res = await this.call({
      method: 'GET',
      path,
      readBody: async (body) => void (read = await readJobRequestList(body)),
    });
    if (!read?.ok) {
      throw new AzdoError({
        kind: 'badResponse',
        method: 'GET',
        path,
        status: res.status,
        detail: read?.detail ?? 'body not read',
      });
    }
    return { res, items: read.value.map(map) };
  }

  /**
   * The unfinished requests reserved for one agent (`jobrequests?agentId=`; what
   * microsoft/azure-devops-node-api `TaskAgentApiBase.getAgentRequestsForAgent` sends): the second
   * read of a safe delete, from the requests' side rather than the agent's.
   */
  async listAgentRequests(poolId: number, agentId: number): Promise<JobRequest[]> {
    const base = `/_apis/distributedtask/pools/${id(poolId)}/jobrequests?agentId=${id(agentId)}&completedRequestCount=0`;
    const { items } = await readPages(
      base,
      (path) => this.jobRequestPage(path, toListedJobRequest),
      (p) => this.resolve(p),
    );
    return lastById(items, (j) => j.requestId).filter((j) => !j.result);
  }

  /** The pool's agents, every page (./pages.ts `readPages`). */
  async listAgents(poolId: number): Promise<AgentRegistration[]> {
    const base =
      `/_apis/distributedtask/pools/${id(poolId)}/agents` +
      `?includeAssignedRequest=true&includeLastCompletedRequest=true&api-version=${V}`;
    const { items } = await readPages(
      base,
      async (path) => {
        const res = await this.call({ method: 'GET', path });
        return { res, items: this.parse(res, agentListSchema, 'GET', path).value.map(toAgentRegistration) };
      },
      (p) => this.resolve(p),
    );
    return lastById(items, (a) => a.id);
  }

  async getAgent(poolId: number, agentId: number): Promise<AgentRegistration | undefined> {
    const path =
      `/_apis/distributedtask/pools/${id(poolId)}/agents/${id(agentId)}` +
      `?includeAssignedRequest=true&api-version=${V}`;
    const res = await this.call({ method: 'GET', path, accept: [404] });
    if (res.status === 404) return undefined;
    return toAgentRegistration(this.parse(res, agentSchema, 'GET', path));
  }

  async findAgent(poolId: number, agentName: string): Promise<AgentRegistration | undefined> {
    const path =
      `/_apis/distributedtask/pools/${id(poolId)}/agents?agentName=${encodeURIComponent(agentName)}` +
      `&includeAssignedRequest=true&includeLastCompletedRequest=true&api-version=${V}`;
    const res = await this.call({ method: 'GET', path });
    // The filter ignores case like the service's agent names; pick the exact name when several come back.
    const found = this.parse(res, agentListSchema, 'GET', path).value.map(toAgentRegistration);
    return (
      found.find((a) => a.name === agentName) ?? found.find((a) => a.name.toLowerCase() === agentName.toLowerCase())
    );
  }

  /**
   * What one registration reports (`includeCapabilities=true`): system capabilities (the agent's
   * scan and environment) overlaid by user capabilities. Read for placeholders and orphan candidates
   * only (one GET each): the list stays lean.
   */
  async getAgentCapabilities(poolId: number, agentId: number): Promise<Record<string, string> | undefined> {
    const path = `/_apis/distributedtask/pools/${id(poolId)}/agents/${id(agentId)}?includeCapabilities=true&api-version=${V}`;
    const res = await this.call({ method: 'GET', path, accept: [404] });
    if (res.status === 404) return undefined;
    const a = this.parse(res, agentCapabilitiesSchema, 'GET', path);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...(a.systemCapabilities ?? {}), ...(a.userCapabilities ?? {}) }))
      out[k] = v ?? '';
    return out;
  }

  /**
   * The organization's self-hosted parallel jobs for private projects, as the web UI's
   * "Parallel jobs" page reads them: `GET _apis/distributedtask/resourceusage?parallelismTag=Private&poolIsHosted=false`
   * (TaskAgentHttpClientBase.GetResourceUsageAsync(parallelismTag, poolIsHosted, includeRunningRequests);
   * ResourceUsage / ResourceLimit in taskAgent.7.1.json). Throws like every call; the pass degrades.
   */
  async getParallelJobs(): Promise<ParallelJobs> {
    const path = `/_apis/distributedtask/resourceusage?parallelismTag=Private&poolIsHosted=false&includeRunningRequests=false&api-version=${RESOURCE_USAGE_API_VERSION}`;
    const res = await this.call({ method: 'GET', path });
    const u = this.parse(res, resourceUsageSchema, 'GET', path);
    const total = u.resourceLimit?.totalCount;
    if (typeof total !== 'number') {
      return { source: 'unknown', detail: 'resourceusage carries no resourceLimit.totalCount' };
    }
    return { source: 'resourceusage', total, used: u.usedCount ?? 0 };
  }

  /**
   * Any other Azure DevOps REST resource, with the same auth, timeouts, retries and redaction as
   * the pass's calls (doctor, setup-webhook). `path` is relative to AZP_URL and may contain
   * `{api-version}`. Statuses in `accept` return instead of throwing. A POST or PUT is one attempt
   * (./retry.ts retries reads only): setup-webhook lists again before it writes.
   */
  async rest(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    opts: { body?: unknown; accept?: number[] } = {},
  ): Promise<RestAnswer> {
    const res = await this.call({
      method,
      path,
      ...(opts.body !== undefined ? { body: opts.body } : {}),
      ...(opts.accept ? { accept: opts.accept } : {}),
    });
    let json: unknown;
    if (res.text) {
      try {
        json = JSON.parse(stripBom(res.text));
      } catch {
        throw new AzdoError({
          kind: 'badResponse',
          method,
          path: this.resolve(path),
          status: res.status,
          detail: 'body is not JSON',
        });
      }
    }
    return { status: res.status, json, headers: res.headers ?? {} };
  }

  /** AZP_URL as the client uses it (no trailing slash). */
  get baseUrl(): string {
    return this.base;
  }

  /** The REST API version in use (7.1, or what the server said it supports). */
  get restApiVersion(): string {
    return this.apiVersion;
  }

  async setAgentEnabled(poolId: number, agentId: number, enabled: boolean): Promise<void> {
    const path = `/_apis/distributedtask/pools/${id(poolId)}/agents/${id(agentId)}?api-version=${V}`;
    await this.writeOnce(
      { method: 'PATCH', path, body: { id: agentId, enabled } },
      async () => (await this.getAgent(poolId, agentId))?.enabled === enabled,
    );
  }

  async deleteAgent(poolId: number, agentId: number): Promise<void> {
    const path = `/_apis/distributedtask/pools/${id(poolId)}/agents/${id(agentId)}?api-version=${V}`;
    await this.writeOnce(
      { method: 'DELETE', path, accept: [404] },
      async () => (await this.getAgent(poolId, agentId)) === undefined,
    );
  }

  /**
   * A write is sent once per call (./retry.ts never retries one): the caller's fence was checked for
   * this one attempt only. After a timeout or a lost connection it may have been applied: the
   * state is read (a read needs no fence), and a write seen applied is a success. One seen not
   * applied is not sent again; the error goes up and the next pass plans the write afresh.
   */
  private async writeOnce(opts: CallOptions, applied: () => Promise<boolean>): Promise<void> {
    try {
      await this.call(opts);
    } catch (e) {
      if (!(e instanceof AzdoError) || (e.kind !== 'timeout' && e.kind !== 'network')) throw e;
      if (await applied().catch(() => false)) return;
      throw e;
    }
  }

  // ---------------------------------------------------------------------------------------------

  private parse<T extends z.ZodType>(res: RawResponse, schema: T, method: string, pathWithSlot: string): z.output<T> {
    const path = this.resolve(pathWithSlot);
    let json: unknown;
    try {
      json = JSON.parse(stripBom(res.text));
    } catch {
      throw new AzdoError({ kind: 'badResponse', method, path, status: res.status, detail: 'body is not JSON' });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new AzdoError({ kind: 'badResponse', method, path, status: res.status, detail: shapeDetail(parsed.error) });
    return parsed.data;
  }

  private resolve(path: string): string {
    return path.replace(V, this.apiVersion);
  }

  /**
   * An Azure DevOps Server refused our api-version as out of range and named the latest it
   * supports: use that from now on (once per client; not when AZP_API_VERSION fixed it).
   */
  private lowerVersion(text: string): boolean {
    if (this.apiVersionSettled) return false;
    const m = OUT_OF_RANGE.exec(text);
    if (!m?.[1] || Number(m[1]) >= Number(this.apiVersion)) return false;
    this.apiVersion = m[1];
    this.apiVersionSettled = true;
    return true;
  }

  /** One request with the retry policy of ./retry.ts: success or an accepted status, else an AzdoError. */
  private async call(opts: CallOptions): Promise<RawResponse> {
    const method = opts.method;
    const write = method !== 'GET';
    const policy = { maxRetries: this.maxRetries, maxRetryDelayMs: this.maxRetryDelayMs };
    let attempt = 0; // HTTP exchanges made
    let retries = 0; // retries spent from maxRetries (the one auth-refresh retry is free)
    let refreshedAuth = false;
    for (;;) {
      attempt++;
      const authHeader = await this.auth.header();
      const secrets = secretsOf(authHeader);
      const res = await exchange(this.conn, { ...opts, path: this.resolve(opts.path) }, authHeader, attempt);
      const signIn = 'status' in res && res.status === SIGN_IN_STATUS && !opts.accept?.includes(res.status);
      if ('status' in res && !signIn && ((res.status >= 200 && res.status < 300) || opts.accept?.includes(res.status)))
        return res;
      // A write is one attempt (its fence was checked for this one): the version is learnt, not re-sent.
      if ('status' in res && res.status === 400 && opts.path.includes(V) && this.lowerVersion(res.text) && !write)
        continue;
      const path = this.resolve(opts.path);
      // A 203 sign-in page is a refused credential: decided like a 401 (one refresh, then unauthorized).
      const answer =
        'status' in res
          ? { status: signIn ? 401 : res.status, headers: res.headers }
          : { status: 0, timedOut: res.timedOut, headers: {} };
      const decision = retryDecision(
        { method, retries, canRefreshAuth: !!this.auth.onUnauthorized && !refreshedAuth, ...answer },
        policy,
      );
      if (decision.do === 'refreshAuth') {
        refreshedAuth = true;
        this.auth.onUnauthorized?.();
        // The next call reads the rotated credential; a write is not sent a second time.
        if (!write) continue;
      }
      if (decision.do === 'retry') {
        retries++;
        await this.sleep(decision.waitMs);
        continue;
      }
      const failed: { kind: AzdoErrorKind; retryAfterMs?: number } =
        decision.do === 'fail' ? decision : { kind: 'unauthorized' };
      throw failure(res, failed, { method, path, attempts: attempt, timeoutMs: this.timeoutMs, secrets, signIn });
    }
  }
}

function id(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`invalid id ${String(n)}`);
  return String(n);
}
