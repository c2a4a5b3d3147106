/**
 * Fake Azure DevOps (distributedtask pools / jobrequests / agents) on loopback HTTP or HTTPS.
 *
 * Speaks the wire format of contracts/azdo: `{count, value}` wrappers, TaskAgentJobRequest
 * items shaped like the KEDA fixtures (demands as strings, reservedAgent, matchedAgents), TaskAgent
 * items with assignedRequest / lastCompletedRequest / capabilities only when the include* flag is
 * sent, Azure DevOps JSON error bodies. Holds pools, agents and job requests in memory, records every
 * request, and injects faults (429 + Retry-After / X-RateLimit-Delay, 401, 500, 503, slow answers).
 *
 * Usage:
 *   const fake = await startFakeAzdo({ https: makeTestCert(), pat: 'secret' });
 *   const pool = fake.addPool('linux');
 *   const job = fake.queueJob('linux', ['docker']);
 *   fake.registerAgent('linux', 'azp-a-1', { docker: '' });
 *   fake.assignJob(job.requestId, 'azp-a-1');
 *   ... new AzureDevOpsClient({ baseUrl: fake.url, ... }) ...
 *   await fake.close();
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';

export type TaskResult = 'succeeded' | 'succeededWithIssues' | 'failed' | 'canceled' | 'skipped' | 'abandoned';

export interface FakePool {
  id: number;
  name: string;
  createdOn: string;
  scope: string;
}

export interface FakeAgent {
  id: number;
  poolId: number;
  name: string;
  version: string;
  osDescription: string;
  status: 'online' | 'offline';
  enabled: boolean;
  createdOn: string;
  statusChangedOn: string;
  /** User capabilities (name -> value, "" when only presence matters). */
  capabilities: Record<string, string>;
  systemCapabilities: Record<string, string>;
  assignedRequestId?: number;
  lastCompletedRequestId?: number;
}

export interface FakeJob {
  requestId: number;
  poolId: number;
  queueTime: string;
  demands: string[];
  assignTime?: string;
  receiveTime?: string;
  finishTime?: string;
  lockedUntil?: string;
  result?: TaskResult;
  reservedAgentId?: number;
  planType: string;
  planId: string;
  jobId: string;
  hostId: string;
  scopeId: string;
  serviceOwner: string;
  orchestrationId: string;
  definition: { id: number; name: string };
  owner: { id: number; name: string };
  /** Emitted only when set (not in the KEDA captures). */
  jobName?: string;
}

export interface FakeAzdoState {
  pools: FakePool[];
  agents: FakeAgent[];
  jobs: FakeJob[];
  /** Expected PAT (Basic auth, any user name). Mutable: tests rotate it. */
  pat?: string;
  /** Expected bearer token. When neither pat nor bearer is set, any request is accepted. */
  bearer?: string;
  /** Prefix JSON bodies with a UTF-8 BOM. */
  bom: boolean;
  /**
   * The organization's self-hosted parallel jobs for private projects (resourceusage?parallelismTag=Private&poolIsHosted=false).
   * `used` defaults to the running (assigned, unfinished) requests of every pool. Default total: 100,
   * so tests that do not care are not capped. Refuse the read with a fault on `resourceusage`.
   */
  parallelJobs: { total: number; used?: number };
  /** Projects of the organization (`_apis/projects`). */
  projects: FakeProject[];
  /** Service-hook subscriptions (`_apis/hooks/subscriptions`), as stored (passwords in clear here only). */
  subscriptions: FakeSubscription[];
  /** Agent packages offered (`_apis/distributedtask/packages/agent`), per platform, e.g. linux-x64 → 4.269.0. */
  agentPackages: Record<string, string>;
  /** Pools (by id) on which the caller lacks the Manage permission (`_apis/permissions`). */
  unmanageablePools: Set<number>;
  /** The caller's display name in `connectionData`. */
  userName: string;
  /** Page size of `_apis/projects` (the service's default is 100). */
  projectPageSize: number;
}

export interface FakeProject {
  id: string;
  name: string;
}

export interface FakeSubscription {
  id: string;
  status: string;
  publisherId: string;
  eventType: string;
  resourceVersion: string | null;
  consumerId: string;
  consumerActionId: string;
  publisherInputs: Record<string, string>;
  consumerInputs: Record<string, string>;
  createdDate: string;
  modifiedDate: string;
}

export interface RecordedRequest {
  method: string;
  /** Full request pathname, e.g. /org/_apis/distributedtask/pools. */
  path: string;
  query: Record<string, string>;
  /** Raw request headers. They include authorization: assert on them, never print them. */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body (or the raw text when not JSON; undefined when empty). */
  body: unknown;
  time: number;
}

export interface FaultMatch {
  method?: string;
  pathIncludes?: string;
}

export interface Fault {
  match?: FaultMatch;
  /** Answer with this status instead of the normal response. Omit with delayMs for a slow normal answer. */
  status?: number;
  /** Retry-After header, seconds. */
  retryAfter?: number;
  /** X-RateLimit-Delay header, seconds (may be fractional). */
  rateLimitDelay?: number;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Body to send verbatim (default: an Azure DevOps error body suited to the status). */
  body?: string;
  headers?: Record<string, string>;
  /** How many matching requests this fault applies to (default 1; Infinity for all). */
  times?: number;
}

export interface FakeAzdoOptions {
  https?: { key: string; cert: string };
  /** Organization (or Server collection path like "tfs/DefaultCollection"). Default "org". */
  org?: string;
  pat?: string;
  bearer?: string;
  bom?: boolean;
  /** Clock for timestamps (default: real time). */
  now?: () => Date;
  /**
   * Answer like an Azure DevOps Server whose highest REST API version is this ('7.0' = Server
   * 2022, '6.0' = Server 2020); default: the cloud (any version). See `setServerApiVersion`.
   */
  serverApiVersion?: string;
  /** Paging of the agents and job-request lists (see `setPaging`). */
  paging?: Partial<FakePaging>;
}

/**
 * How the fake pages the pool's agents and job-request lists, as Azure DevOps does: "Operations that
 * return many items use continuation tokens to allow the items to be returned in batches. REST
 * responses that do not contain all items include an HTTP header `x-ms-continuationtoken` that
 * provides a continuation token value. This value must be provided on a subsequent call as a
 * `continuationToken` parameter to query the remaining items (repeated as necessary until the server
 * does not include the `x-ms-continuationtoken` header)" (the Azure DevOps REST docs' wording, quoted
 * in microsoft/azure-devops-rust-api#15). For job requests the generated client does exactly that:
 * microsoft/azure-devops-extension-api src/TaskAgent/TaskAgentClient.ts `getAgentRequests(poolId,
 * top, continuationToken)` sends `$top` and `continuationToken` and reads `x-ms-continuationtoken`
 * from the answer's headers. The job-request list stops at 200 items however many are asked for
 * (kedacore/keda#6819, "the API always returns only 200 jobs"). Pages are in id order (oldest first);
 * the token is opaque to the client (here: the id to continue after).
 */
export interface FakePaging {
  /** Agents per page (default 1000). */
  agents: number;
  /** Job requests per page (default 200, the cap KEDA users see). */
  jobRequests: number;
  /**
   * Whether a truncated page carries `x-ms-continuationtoken` (default true). false: the list is
   * silently cut at the page size, as a `$top` read looked to KEDA (kedacore/keda#6819).
   */
  continuation: boolean;
}

export type PoolRef = string | number;
export type AgentRef = string | number;

export interface FakeAzdo {
  /** Base URL including the organization path, e.g. https://127.0.0.1:PORT/org — use as AZP_URL. */
  url: string;
  port: number;
  state: FakeAzdoState;
  requests: RecordedRequest[];
  inject(fault: Fault): void;
  /**
   * The next `times` reads of one agent (`GET …/agents/{id}`) are stale: they answer with the agent
   * as the last agents list served it (a replica a little behind), e.g. without the request the
   * service assigned to it since. The fault model of issue 21, finding 4: one read that lags.
   */
  staleAgentReads(times: number): void;
  clearFaults(): void;
  /**
   * Called synchronously for every request after it is recorded and before it is answered (tests
   * change the state here, e.g. assign a job when the PATCH enabled:false arrives). Returns an unsubscribe.
   */
  onRequest(cb: (req: RecordedRequest) => void): () => void;
  /**
   * Called synchronously right after a request was answered (the body is on the wire, the client
   * has not read it yet): tests change the world between a read and the controller's next call,
   * e.g. register an agent right after the controller's agent list. Returns an unsubscribe.
   */
  onAnswered(cb: (req: RecordedRequest, status: number) => void): () => void;
  clearRequests(): void;
  addPool(name: string): FakePool;
  addProject(name: string): FakeProject;
  /** The requests that could change state (POST, PUT, PATCH, DELETE). */
  writes(): RecordedRequest[];
  queueJob(pool: PoolRef, demands?: string[], extra?: Partial<Omit<FakeJob, 'requestId' | 'poolId'>>): FakeJob;
  registerAgent(
    pool: PoolRef,
    name: string,
    capabilities?: Record<string, string>,
    opts?: {
      status?: 'online' | 'offline';
      enabled?: boolean;
      version?: string;
      /**
       * The agent process's environment: reported as system capabilities the way the agent does
       * (`environmentCapabilities` below), so a registration made from a container's env shows what
       * the real agent would. Names given in `capabilities` stay user capabilities.
       */
      env?: Record<string, string>;
    },
  ): FakeAgent;
  /** Sets assignTime/receiveTime/lockedUntil/reservedAgent on the job and assignedRequest on the agent. */
  assignJob(requestId: number, agentName: string): FakeJob;
  /** Sets finishTime/result, clears the agent's assignedRequest, records its lastCompletedRequest. */
  finishJob(requestId: number, result?: TaskResult): FakeJob;
  setAgentStatus(agent: AgentRef, status: 'online' | 'offline', pool?: PoolRef): FakeAgent;
  setAgentEnabled(agent: AgentRef, enabled: boolean, pool?: PoolRef): FakeAgent;
  removeAgent(agent: AgentRef, pool?: PoolRef): void;
  pool(ref: PoolRef): FakePool;
  agent(ref: AgentRef, pool?: PoolRef): FakeAgent | undefined;
  job(requestId: number): FakeJob | undefined;
  /**
   * Answer like Azure DevOps Server with this highest REST API version ('7.0' Server 2022, '6.0'
   * Server 2020), or like the cloud (undefined). A request for a higher version gets what Server
   * answers: 400 VssVersionOutOfRangeException, "The requested REST API version of 7.1 is out of
   * range for this server. The latest REST API version this server supports is 6.0." (the text
   * users of Server report, e.g. microsoft/azure-devops-extension-sample#161, maikvandergaag/
   * msft-extensions#491; the version table of learn.microsoft.com/rest/api/azure/devops
   * "API and TFS version mapping": Server 2022 → 7.0, Server 2020 → 6.0).
   */
  setServerApiVersion(version: string | undefined): void;
  /** Changes the paging of the agents and job-request lists (see FakePaging). */
  setPaging(paging: Partial<FakePaging>): void;
  close(): Promise<void>;
}

const API = '/_apis/distributedtask';
const TF429 =
  "TF400733: The request has been canceled: Request was blocked due to exceeding usage of resource 'Core' in namespace 'User'. For more information on why your request was blocked, see the topic \"Rate limits\" on the Microsoft Web site (https://go.microsoft.com/fwlink/?LinkId=823950).";

export function azdoErrorBody(
  message: string,
  typeKey: string,
  typeName = `Microsoft.VisualStudio.Services.WebApi.${typeKey}, Microsoft.VisualStudio.Services.WebApi`,
): string {
  return JSON.stringify({ $id: '1', innerException: null, message, typeName, typeKey, errorCode: 0, eventId: 3000 });
}

function defaultFaultBody(status: number): { body: string; type: string; headers: Record<string, string> } {
  switch (status) {
    case 429:
      return {
        body: azdoErrorBody(TF429, 'RequestBlockedException'),
        type: 'application/json; charset=utf-8',
        headers: {},
      };
    case 401:
      return unauthorized();
    case 203:
      return signInPage();
    case 403:
      return {
        body: azdoErrorBody(
          'TF401444: Access denied. The identity needs Manage permission on the agent pool.',
          'AccessDeniedException',
        ),
        type: 'application/json; charset=utf-8',
        headers: {},
      };
    case 503:
      return {
        body: azdoErrorBody(
          'TF400898: An Internal Error Occurred. The service is temporarily unavailable.',
          'ServiceUnavailableException',
        ),
        type: 'application/json; charset=utf-8',
        headers: {},
      };
    default:
      return {
        body: azdoErrorBody(
          `TF246021: An error occurred while processing your request (fake ${status}).`,
          'UnexpectedServerErrorException',
        ),
        type: 'application/json; charset=utf-8',
        headers: {},
      };
  }
}

/**
 * 203 like Azure DevOps when it does not accept the credential but does not refuse it either (a PAT
 * of another organization, expired or inactive, Basic auth the org does not allow): the HTML
 * sign-in page with 203 Non-Authoritative Information instead of the JSON asked for. Reported
 * e.g. in https://stackoverflow.com/q/78298298 ("Azure DevOps PAT Authentication Issue - 403/203
 * Errors") and on learn.microsoft.com Q&A ("Azure DevOps Api 203 error with bearer token").
 */
function signInPage(): { body: string; type: string; headers: Record<string, string> } {
  return {
    body: '<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body><form id="signin" action="https://app.vssps.visualstudio.com/_signin">Sign in to continue</form></body></html>',
    type: 'text/html; charset=utf-8',
    headers: { 'x-tfs-processid': randomUUID() },
  };
}

/** 401 like Azure DevOps: an HTML page plus X-TFS-ServiceError; never echoes the credential. */
function unauthorized(): { body: string; type: string; headers: Record<string, string> } {
  return {
    body: '<!DOCTYPE html><html><head><title>Azure DevOps Services | Sign In</title></head><body><h1>401 - Uh-oh, you do not have access.</h1><p>The resource you are looking for is not available to you.</p></body></html>',
    type: 'text/html; charset=utf-8',
    headers: {
      'www-authenticate':
        'Bearer authorization_uri=https://login.microsoftonline.com/common, Basic realm="https://fake.azdo/", TFS-Federated',
      'x-tfs-serviceerror': encodeURIComponent(
        'TF400813: Resource not available for anonymous access. Client authentication required.',
      ),
      'x-tfs-processid': randomUUID(),
    },
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly typeKey: string,
  ) {
    super(message);
  }
}

export async function startFakeAzdo(options: FakeAzdoOptions = {}): Promise<FakeAzdo> {
  const org = (options.org ?? 'org').replace(/^\/+|\/+$/g, '');
  const prefix = org ? `/${org}` : '';
  const now = options.now ?? (() => new Date());
  const iso = () => now().toISOString();
  const state: FakeAzdoState = {
    pools: [],
    agents: [],
    jobs: [],
    bom: options.bom ?? false,
    parallelJobs: { total: 100 },
    projects: [],
    subscriptions: [],
    agentPackages: { 'linux-x64': '4.269.0', 'win-x64': '4.269.0' },
    unmanageablePools: new Set(),
    userName: 'Fake Owner',
    projectPageSize: 100,
  };
  if (options.pat !== undefined) state.pat = options.pat;
  if (options.bearer !== undefined) state.bearer = options.bearer;
  const requests: RecordedRequest[] = [];
  const faults: (Fault & { left: number })[] = [];
  let staleReads = 0;
  /** Agent id → the agent as the last agents list served it (for staleAgentReads). */
  const lastListed = new Map<number, Record<string, unknown>>();
  const timers = new Set<NodeJS.Timeout>();
  const requestHooks = new Set<(req: RecordedRequest) => void>();
  const answerHooks = new Set<(req: RecordedRequest, status: number) => void>();
  const paging: FakePaging = { agents: 1000, jobRequests: 200, continuation: true, ...options.paging };
  let nextPoolId = 10;
  let nextAgentId = 100;
  let nextRequestId = 1000;
  let baseUrl = '';

  // ----- state helpers --------------------------------------------------------------------------
  const pool = (ref: PoolRef): FakePool => {
    const p =
      typeof ref === 'number'
        ? state.pools.find((x) => x.id === ref)
        : state.pools.find((x) => x.name.toLowerCase() === ref.toLowerCase());
    if (!p) throw new Error(`fake azdo: no pool ${String(ref)}`);
    return p;
  };
  const agent = (ref: AgentRef, poolRef?: PoolRef): FakeAgent | undefined => {
    const poolId = poolRef === undefined ? undefined : pool(poolRef).id;
    return state.agents.find(
      (a) =>
        (poolId === undefined || a.poolId === poolId) &&
        (typeof ref === 'number' ? a.id === ref : a.name.toLowerCase() === ref.toLowerCase()),
    );
  };
  const mustAgent = (ref: AgentRef, poolRef?: PoolRef): FakeAgent => {
    const a = agent(ref, poolRef);
    if (!a) throw new Error(`fake azdo: no agent ${String(ref)}`);
    return a;
  };
  const job = (requestId: number) => state.jobs.find((j) => j.requestId === requestId);
  const mustJob = (requestId: number): FakeJob => {
    const j = job(requestId);
    if (!j) throw new Error(`fake azdo: no job request ${requestId}`);
    return j;
  };

  const addPool = (name: string): FakePool => {
    if (state.pools.some((p) => p.name.toLowerCase() === name.toLowerCase()))
      throw new Error(`fake azdo: pool ${name} exists`);
    const p: FakePool = { id: nextPoolId++, name, createdOn: iso(), scope: randomUUID() };
    state.pools.push(p);
    return p;
  };

  const queueJob: FakeAzdo['queueJob'] = (poolRef, demands = [], extra = {}) => {
    const p = pool(poolRef);
    const requestId = nextRequestId++;
    const j: FakeJob = {
      queueTime: iso(),
      demands: [...demands],
      planType: 'Build',
      planId: randomUUID(),
      jobId: randomUUID(),
      hostId: randomUUID(),
      scopeId: randomUUID(),
      serviceOwner: '00025394-6065-48ca-87d9-7f5672854ef7',
      orchestrationId: `${randomUUID()}.build.__default`,
      definition: { id: 4869, name: 'fake - main' },
      owner: { id: 670000 + requestId, name: `20260101.${requestId}` },
      ...extra,
      requestId,
      poolId: p.id,
    };
    state.jobs.push(j);
    return j;
  };

  const registerAgent: FakeAzdo['registerAgent'] = (poolRef, name, capabilities = {}, opts = {}) => {
    const p = pool(poolRef);
    if (agent(name, p.id)) throw new Error(`fake azdo: agent ${name} exists in pool ${p.name}`);
    const version = opts.version ?? '4.266.2';
    const a: FakeAgent = {
      id: nextAgentId++,
      poolId: p.id,
      name,
      version,
      osDescription: 'Linux 6.8.0-1021-azure #25-Ubuntu SMP Wed Jan 15 20:45:09 UTC 2025',
      status: opts.status ?? 'online',
      enabled: opts.enabled ?? true,
      createdOn: iso(),
      statusChangedOn: iso(),
      capabilities: { ...capabilities },
      // contracts/azdo/spec/agentpools-subset.7.1.json TaskAgent: systemCapabilities ("System-defined
      // capabilities supported by this agent's host") and userCapabilities, both string maps.
      systemCapabilities: {
        ...environmentCapabilities(opts.env ?? {}),
        'Agent.Name': name,
        'Agent.OS': 'Linux',
        'Agent.OSArchitecture': 'X64',
        'Agent.Version': version,
      },
    };
    state.agents.push(a);
    return a;
  };

  const assignJob: FakeAzdo['assignJob'] = (requestId, agentName) => {
    const j = mustJob(requestId);
    const a = mustAgent(agentName, j.poolId);
    const t = now();
    j.assignTime = t.toISOString();
    j.receiveTime = t.toISOString();
    j.lockedUntil = new Date(t.getTime() + 10 * 60_000).toISOString();
    j.reservedAgentId = a.id;
    a.assignedRequestId = j.requestId;
    return j;
  };

  const finishJob: FakeAzdo['finishJob'] = (requestId, result = 'succeeded') => {
    const j = mustJob(requestId);
    j.finishTime = iso();
    j.result = result;
    const a = j.reservedAgentId !== undefined ? agent(j.reservedAgentId) : undefined;
    if (a) {
      if (a.assignedRequestId === requestId) delete a.assignedRequestId;
      a.lastCompletedRequestId = requestId;
    }
    return j;
  };

  // ----- wire rendering ---------------------------------------------------------------------------
  const links = (p: number, a: number) => ({
    self: { href: `${baseUrl}${API}/pools/${p}/agents/${a}` },
    web: { href: `${baseUrl}/_settings/agentpools?view=jobs&poolId=${p}&agentId=${a}` },
  });

  const agentRef = (a: FakeAgent, full: boolean): Record<string, unknown> => ({
    _links: links(a.poolId, a.id),
    id: a.id,
    name: a.name,
    version: a.version,
    ...(full ? { osDescription: a.osDescription } : {}),
    enabled: a.enabled,
    status: a.status,
    provisioningState: 'Provisioned',
    ...(full ? { accessPoint: 'CodexAccessMapping' } : {}),
  });

  const capabilitiesOf = (a: FakeAgent): Map<string, string> => {
    const m = new Map<string, string>();
    for (const [k, v] of Object.entries({ ...a.systemCapabilities, ...a.capabilities })) m.set(k.toLowerCase(), v);
    return m;
  };

  const satisfies = (caps: Map<string, string>, demands: string[]): boolean =>
    demands.every((d) => {
      const m = /^(\S+)\s+-(equals|gtVersion)\s+(.+)$/i.exec(d.trim());
      if (!m) return caps.has(d.trim().toLowerCase());
      const [, name = '', op = '', value = ''] = m;
      const have = caps.get(name.toLowerCase());
      if (have === undefined) return false;
      if (op.toLowerCase() === 'equals') return have.toLowerCase() === value.trim().toLowerCase();
      // DemandMinimumVersion.IsSatisfied: CompareVersion(demanded, capability) <= 0 (actions/runner
      // src/Sdk/DTWebApi/WebApi/DemandMinimumVersion.cs), i.e. the capability is at least the demand.
      return compareVersions(value.trim(), have) <= 0;
    });

  /**
   * matchedAgents for one response: each agent's capabilities are read once, and jobs with the
   * same pool and demands share one answer (one list of 1,000 jobs × 1,000 agents was quadratic).
   * Built per response, so it always reflects the current state.
   */
  const matchIndex = (): ((j: FakeJob) => FakeAgent[]) => {
    const byPool = new Map<number, { a: FakeAgent; caps: Map<string, string> }[]>();
    for (const a of state.agents) {
      let list = byPool.get(a.poolId);
      if (!list) byPool.set(a.poolId, (list = []));
      list.push({ a, caps: capabilitiesOf(a) });
    }
    const memo = new Map<string, FakeAgent[]>();
    return (j) => {
      const key = `${j.poolId}\n${j.demands.join('\n')}`;
      let hit = memo.get(key);
      if (!hit) {
        hit = (byPool.get(j.poolId) ?? []).filter(({ caps }) => satisfies(caps, j.demands)).map(({ a }) => a);
        memo.set(key, hit);
      }
      return hit;
    };
  };

  const wireJob = (
    j: FakeJob,
    opts: { matched: boolean; matchedFor?: (j: FakeJob) => FakeAgent[] },
  ): Record<string, unknown> => {
    const reserved = j.reservedAgentId !== undefined ? agent(j.reservedAgentId) : undefined;
    const matched = opts.matched && !j.result ? (opts.matchedFor ?? matchIndex())(j) : [];
    return {
      requestId: j.requestId,
      ...(j.result ? { result: j.result } : {}),
      queueTime: j.queueTime,
      ...(j.assignTime ? { assignTime: j.assignTime } : {}),
      ...(j.receiveTime ? { receiveTime: j.receiveTime } : {}),
      ...(j.finishTime ? { finishTime: j.finishTime } : {}),
      ...(j.lockedUntil ? { lockedUntil: j.lockedUntil } : {}),
      serviceOwner: j.serviceOwner,
      hostId: j.hostId,
      scopeId: j.scopeId,
      planType: j.planType,
      planId: j.planId,
      jobId: j.jobId,
      ...(j.jobName ? { jobName: j.jobName } : {}),
      demands: j.demands,
      ...(reserved ? { reservedAgent: agentRef(reserved, true) } : {}),
      ...(matched.length ? { matchedAgents: matched.map((a) => agentRef(a, false)) } : {}),
      definition: { _links: ownerLinks('definition', j.definition.id), id: j.definition.id, name: j.definition.name },
      owner: { _links: ownerLinks('build', j.owner.id), id: j.owner.id, name: j.owner.name },
      data: { ParallelismTag: 'Private', IsScheduledKey: 'False' },
      poolId: j.poolId,
      orchestrationId: j.orchestrationId,
      priority: 0,
    };
  };

  const ownerLinks = (kind: 'definition' | 'build', id: number) => ({
    web: {
      href:
        kind === 'definition'
          ? `${baseUrl}/1858395a-257e-4efd-bbc5-eb618128452b/_build/definition?definitionId=${id}`
          : `${baseUrl}/1858395a-257e-4efd-bbc5-eb618128452b/_build/results?buildId=${id}`,
    },
    self: {
      href:
        kind === 'definition'
          ? `${baseUrl}/1858395a-257e-4efd-bbc5-eb618128452b/_apis/build/Definitions/${id}`
          : `${baseUrl}/1858395a-257e-4efd-bbc5-eb618128452b/_apis/build/Builds/${id}`,
    },
  });

  const wireAgent = (a: FakeAgent, q: Record<string, string>): Record<string, unknown> => {
    const flag = (n: string) => (q[n] ?? '').toLowerCase() === 'true';
    const assigned = a.assignedRequestId !== undefined ? job(a.assignedRequestId) : undefined;
    const last = a.lastCompletedRequestId !== undefined ? job(a.lastCompletedRequestId) : undefined;
    return {
      _links: links(a.poolId, a.id),
      ...(flag('includeCapabilities')
        ? { systemCapabilities: a.systemCapabilities, userCapabilities: a.capabilities }
        : {}),
      maxParallelism: 1,
      createdOn: a.createdOn,
      statusChangedOn: a.statusChangedOn,
      ...(flag('includeAssignedRequest') && assigned ? { assignedRequest: wireJob(assigned, { matched: false }) } : {}),
      ...(flag('includeLastCompletedRequest') && last
        ? { lastCompletedRequest: wireJob(last, { matched: false }) }
        : {}),
      id: a.id,
      name: a.name,
      version: a.version,
      osDescription: a.osDescription,
      enabled: a.enabled,
      status: a.status,
      provisioningState: 'Provisioned',
      accessPoint: 'CodexAccessMapping',
    };
  };

  const identity = {
    displayName: 'Fake Owner',
    url: 'https://spsprodweu5.vssps.visualstudio.com/A00000000-0000-0000-0000-000000000000/_apis/Identities/00000000-0000-0000-0000-000000000001',
    _links: { avatar: { href: 'https://dev.azure.com/org/_apis/GraphProfile/MemberAvatars/aad.fake' } },
    id: '00000000-0000-0000-0000-000000000001',
    uniqueName: 'owner@example.com',
    imageUrl: 'https://dev.azure.com/org/_api/_common/identityImage?id=00000000-0000-0000-0000-000000000001',
    descriptor: 'aad.fake',
  };

  const wirePool = (p: FakePool): Record<string, unknown> => ({
    createdOn: p.createdOn,
    autoProvision: true,
    autoUpdate: true,
    autoSize: true,
    createdBy: identity,
    owner: identity,
    id: p.id,
    scope: p.scope,
    name: p.name,
    isHosted: false,
    poolType: 'automation',
    size: state.agents.filter((a) => a.poolId === p.id).length,
    isLegacy: false,
    options: 'none',
  });

  const list = (value: unknown[]) => ({ count: value.length, value });
  /** One page in id order after `token` (see FakePaging); the header only when items remain and tokens are on. */
  const pageOf = <T>(
    all: T[],
    idOf: (x: T) => number,
    size: number,
    token: string | undefined,
  ): { items: T[]; headers: Record<string, string> } => {
    const after = token === undefined ? -Infinity : Number(token);
    if (token !== undefined && !Number.isFinite(after))
      throw new HttpError(400, `The continuation token '${token}' is not valid.`, 'InvalidContinuationTokenException');
    const rest = [...all].sort((a, b) => idOf(a) - idOf(b)).filter((x) => idOf(x) > after);
    const items = rest.slice(0, size);
    const more = rest.length > items.length && items.length > 0;
    return {
      items,
      headers: more && paging.continuation ? { 'x-ms-continuationtoken': String(idOf(items[items.length - 1]!)) } : {},
    };
  };

  /** Secret inputs come back as "********" (examples/GET__hooks_subscriptions_.json: password, userToken, apiToken). */
  const SECRET_INPUTS = /password|token|secret/i;
  const wireSubscription = (x: FakeSubscription): Record<string, unknown> => ({
    id: x.id,
    url: `${baseUrl}/_apis/hooks/subscriptions/${x.id}`,
    status: x.status,
    publisherId: x.publisherId,
    eventType: x.eventType,
    resourceVersion: x.resourceVersion,
    eventDescription: '',
    consumerId: x.consumerId,
    consumerActionId: x.consumerActionId,
    actionDescription: x.consumerInputs.url ? `To host ${safeHost(x.consumerInputs.url)}` : '',
    createdBy: { id: identity.id },
    createdDate: x.createdDate,
    modifiedBy: { id: identity.id },
    modifiedDate: x.modifiedDate,
    publisherInputs: { ...x.publisherInputs, tfsSubscriptionId: x.id },
    consumerInputs: Object.fromEntries(
      Object.entries(x.consumerInputs).map(([k, v]) => [k, SECRET_INPUTS.test(k) ? '********' : v]),
    ),
  });
  const subscriptionFrom = (b: unknown, id: string): FakeSubscription => {
    const o = (b && typeof b === 'object' ? b : {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    const inputs = (v: unknown) =>
      Object.fromEntries(
        Object.entries(v && typeof v === 'object' ? (v as Record<string, unknown>) : {}).map(([k, x]) => [
          k,
          String(x),
        ]),
      );
    if (!str(o.publisherId) || !str(o.eventType) || !str(o.consumerId))
      throw new HttpError(
        400,
        'The subscription is missing publisherId, eventType or consumerId.',
        'ArgumentException',
      );
    return {
      id,
      status: 'enabled',
      publisherId: str(o.publisherId),
      eventType: str(o.eventType),
      resourceVersion: typeof o.resourceVersion === 'string' ? o.resourceVersion : null,
      consumerId: str(o.consumerId),
      consumerActionId: str(o.consumerActionId),
      publisherInputs: inputs(o.publisherInputs),
      consumerInputs: inputs(o.consumerInputs),
      createdDate: iso(),
      modifiedDate: iso(),
    };
  };

  // ----- routing ----------------------------------------------------------------------------------
  const poolFromPath = (id: string): FakePool => {
    const p = state.pools.find((x) => x.id === Number(id));
    if (!p) throw new HttpError(404, `Agent pool ${id} not found.`, 'TaskAgentPoolNotFoundException');
    return p;
  };
  const agentFromPath = (p: FakePool, id: string): FakeAgent => {
    const a = state.agents.find((x) => x.poolId === p.id && x.id === Number(id));
    if (!a) throw new HttpError(404, `Agent ${id} not found in pool ${p.id}.`, 'TaskAgentNotFoundException');
    return a;
  };

  const route = (
    method: string,
    rel: string,
    q: Record<string, string>,
    body: unknown,
  ): { status: number; json?: unknown; headers?: Record<string, string> } => {
    let m: RegExpExecArray | null;
    if (rel === `${API}/pools` && method === 'GET') {
      let pools = state.pools;
      if (q.poolName !== undefined)
        pools = pools.filter((p) => p.name.toLowerCase() === (q.poolName ?? '').toLowerCase());
      if (q.poolIds !== undefined) {
        const ids = (q.poolIds ?? '').split(',').map(Number);
        pools = pools.filter((p) => ids.includes(p.id));
      }
      return { status: 200, json: list(pools.map(wirePool)) };
    }
    if ((m = /^\/_apis\/distributedtask\/pools\/(\d+)$/.exec(rel)) && method === 'GET') {
      return { status: 200, json: wirePool(poolFromPath(m[1] ?? '')) };
    }
    if ((m = /^\/_apis\/distributedtask\/pools\/(\d+)\/jobrequests$/.exec(rel)) && method === 'GET') {
      const p = poolFromPath(m[1] ?? '');
      let jobs = state.jobs.filter((j) => j.poolId === p.id);
      if (q.completedRequestCount !== undefined) {
        // unfinished requests plus the last N finished ones
        const keep = Number(q.completedRequestCount) || 0;
        const finished = keep > 0 ? jobs.filter((j) => j.result).slice(-keep) : [];
        jobs = jobs.filter((j) => !j.result).concat(finished);
      }
      if (q.agentId !== undefined) jobs = jobs.filter((j) => j.reservedAgentId === Number(q.agentId));
      const top = q.$top !== undefined ? Number(q.$top) : undefined;
      if (top !== undefined) jobs = jobs.slice(-Math.min(top, 200));
      const page = pageOf(jobs, (j) => j.requestId, paging.jobRequests, q.continuationToken);
      // `$top` changes the item shape: no matchedAgents (see the contracts README).
      const matchedFor = matchIndex();
      return {
        status: 200,
        json: list(page.items.map((j) => wireJob(j, { matched: top === undefined, matchedFor }))),
        headers: page.headers,
      };
    }
    if ((m = /^\/_apis\/distributedtask\/pools\/(\d+)\/agents$/.exec(rel)) && method === 'GET') {
      const p = poolFromPath(m[1] ?? '');
      let agents = state.agents.filter((a) => a.poolId === p.id);
      if (q.agentName !== undefined)
        agents = agents.filter((a) => a.name.toLowerCase() === (q.agentName ?? '').toLowerCase());
      const page = pageOf(agents, (a) => a.id, paging.agents, q.continuationToken);
      const wired = page.items.map((a) => wireAgent(a, q));
      for (const w of wired) lastListed.set(w.id as number, w);
      return { status: 200, json: list(wired), headers: page.headers };
    }
    if ((m = /^\/_apis\/distributedtask\/pools\/(\d+)\/agents\/(\d+)$/.exec(rel))) {
      const p = poolFromPath(m[1] ?? '');
      const a = agentFromPath(p, m[2] ?? '');
      if (method === 'GET' && staleReads > 0 && lastListed.has(a.id)) {
        staleReads--;
        return { status: 200, json: lastListed.get(a.id) };
      }
      if (method === 'GET') return { status: 200, json: wireAgent(a, q) };
      if (method === 'PATCH' || method === 'PUT') {
        if (!body || typeof body !== 'object')
          throw new HttpError(400, 'Value cannot be null.\r\nParameter name: agent', 'ArgumentNullException');
        const b = body as { id?: unknown; enabled?: unknown; name?: unknown };
        if (b.id !== undefined && b.id !== a.id)
          throw new HttpError(400, `The agent id ${String(b.id)} does not match the route.`, 'ArgumentException');
        if (typeof b.enabled === 'boolean') a.enabled = b.enabled;
        return { status: 200, json: wireAgent(a, {}) };
      }
      if (method === 'DELETE') {
        state.agents = state.agents.filter((x) => x !== a);
        return { status: 204 };
      }
    }
    // ----- what doctor and setup-webhook read and write ------------------------------------------
    if (rel === '/_apis/connectionData' && method === 'GET') {
      // ConnectionData (Location API): authenticatedUser / authorizedUser identities, instanceId;
      // read at the organization or collection level (e.g. the AzureDevOpsApi PowerShell module's
      // Get-ConnectionData, GET {collection}/_apis/connectionData). Only the fields doctor reads.
      const user = { id: identity.id, descriptor: identity.descriptor, providerDisplayName: state.userName };
      return {
        status: 200,
        json: { authenticatedUser: user, authorizedUser: user, instanceId: randomUUID(), deploymentType: 'hosted' },
      };
    }
    if ((m = /^\/_apis\/permissions\/([0-9a-f-]+)\/(\d+)$/i.exec(rel)) && method === 'GET') {
      // Security - Permissions - Has Permissions: GET _apis/permissions/{securityNamespaceId}/{permissions}
      // ?tokens=&alwaysAllowAdministrators= → {count, value: [bool per token]}. Modelled: the
      // DistributedTask namespace (101eae8c-…, Manage = 2, learn.microsoft.com …/security/namespace-reference)
      // on `AgentPools/{poolId}` tokens; anything else is allowed.
      const tokens = (q.tokens ?? '').split(',').filter(Boolean);
      const value = tokens.map((t) => {
        const pm = /^AgentPools\/(\d+)$/.exec(t);
        return !(
          pm &&
          m![1]!.toLowerCase() === '101eae8c-1709-47f9-b228-0e476c35b3ba' &&
          state.unmanageablePools.has(Number(pm[1]))
        );
      });
      return { status: 200, json: list(value) };
    }
    if (rel === `${API}/packages/agent` && method === 'GET') {
      // contracts/azdo/README.md "Agent packages"; item shape of
      // contracts/azdo/examples/packages.agent.linux-x64.captured-2018.json (PackageMetadata).
      const platform = q.platform ?? 'linux-x64';
      const v = state.agentPackages[platform];
      if (!v) return { status: 200, json: list([]) };
      const [major = 0, minor = 0, patch = 0] = v.split('.').map(Number);
      return {
        status: 200,
        json: list([
          {
            type: 'agent',
            platform,
            createdOn: iso(),
            version: { major, minor, patch },
            downloadUrl: `https://download.agent.dev.azure.com/agent/${v}/vsts-agent-${platform}-${v}.tar.gz`,
            infoUrl: 'https://go.microsoft.com/fwlink/?LinkId=798199',
            filename: `vsts-agent-${platform}-${v}.tar.gz`,
          },
        ]),
      };
    }
    if (rel === '/_apis/projects' && method === 'GET') {
      // Core - Projects - List (7.1, learn.microsoft.com/rest/api/azure/devops/core/projects/list):
      // {count, value: [TeamProjectReference]}, `$top`, the next page's token in x-ms-continuationtoken.
      const top = Math.min(Number(q.$top ?? state.projectPageSize) || state.projectPageSize, state.projectPageSize);
      const start = Number(q.continuationToken ?? 0) || 0;
      const page = state.projects.slice(start, start + top).map((p) => ({
        id: p.id,
        name: p.name,
        url: `${baseUrl}/_apis/projects/${p.id}`,
        state: 'wellFormed',
        revision: 1,
        visibility: 'private',
        lastUpdateTime: iso(),
      }));
      const next = start + top < state.projects.length ? String(start + top) : undefined;
      return { status: 200, json: list(page), ...(next ? { headers: { 'x-ms-continuationtoken': next } } : {}) };
    }
    if (rel === '/_apis/hooks/subscriptions' && method === 'GET') {
      // contracts (shared) azdo/hooks/serviceHooks.7.1.json + examples/GET__hooks_subscriptions_.json:
      // filters publisherId, eventType, consumerId, consumerActionId; secrets come back masked.
      const subs = state.subscriptions.filter(
        (x) =>
          (!q.publisherId || x.publisherId === q.publisherId) &&
          (!q.eventType || x.eventType === q.eventType) &&
          (!q.consumerId || x.consumerId === q.consumerId) &&
          (!q.consumerActionId || x.consumerActionId === q.consumerActionId),
      );
      return { status: 200, json: list(subs.map(wireSubscription)) };
    }
    if (rel === '/_apis/hooks/subscriptions' && method === 'POST') {
      // examples/POST__hooks_subscriptions.json: the created subscription with its id.
      const sub = subscriptionFrom(body, randomUUID());
      state.subscriptions.push(sub);
      return { status: 200, json: wireSubscription(sub) };
    }
    if ((m = /^\/_apis\/hooks\/subscriptions\/([0-9a-f-]+)$/i.exec(rel))) {
      const i = state.subscriptions.findIndex((x) => x.id === m![1]);
      if (i < 0) throw new HttpError(404, `Subscription ${m[1]} not found.`, 'SubscriptionNotFoundException');
      if (method === 'GET') return { status: 200, json: wireSubscription(state.subscriptions[i]!) };
      if (method === 'PUT') {
        // examples/PUT__hooks_subscriptions__newSubscriptionId_.json: replaces inputs, same id.
        const sub = { ...subscriptionFrom(body, m[1]!), createdDate: state.subscriptions[i]!.createdDate };
        state.subscriptions[i] = sub;
        return { status: 200, json: wireSubscription(sub) };
      }
      if (method === 'DELETE') {
        state.subscriptions.splice(i, 1);
        return { status: 204 };
      }
    }
    if (rel === `${API}/resourceusage` && method === 'GET') {
      // Shape: contracts/azdo/examples/resourceusage.private-selfhosted.derived.json (ResourceUsage /
      // ResourceLimit of taskAgent.7.1.json). Only the private self-hosted limit is modelled.
      const tag = q.parallelismTag ?? 'Private';
      const hosted = (q.poolIsHosted ?? 'false').toLowerCase() === 'true';
      const running = state.jobs.filter((j) => j.assignTime && !j.result);
      const modelled = tag === 'Private' && !hosted;
      const used = modelled ? (state.parallelJobs.used ?? running.length) : 0;
      return {
        status: 200,
        json: {
          resourceLimit: {
            resourceLimitsData: {},
            hostId: '00000000-0000-0000-0000-000000000000',
            parallelismTag: tag,
            isPremium: false,
            isHosted: hosted,
            totalCount: modelled ? state.parallelJobs.total : 0,
            totalMinutes: 0,
            failedToReachAllProviders: false,
          },
          runningRequests:
            (q.includeRunningRequests ?? '').toLowerCase() === 'true' && modelled
              ? running.map((j) => wireJob(j, { matched: false }))
              : [],
          usedCount: used,
          usedMinutes: 0,
        },
      };
    }
    throw new HttpError(
      404,
      `The controller for path '${rel}' was not found or does not implement IController.`,
      'NotFoundException',
    );
  };

  // ----- HTTP -----------------------------------------------------------------------------------
  const send = (
    res: ServerResponse,
    status: number,
    body: string,
    type: string,
    headers: Record<string, string> = {},
  ) => {
    if (res.destroyed || res.writableEnded) return;
    const payload = body && type.startsWith('application/json') && state.bom ? `\uFEFF${body}` : body;
    res.writeHead(status, {
      ...(payload ? { 'content-type': type } : {}),
      activityid: randomUUID(),
      'x-tfs-session': randomUUID(),
      ...headers,
    });
    res.end(payload);
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (state.pat === undefined && state.bearer === undefined) return true;
    const h = req.headers.authorization ?? '';
    const sp = h.indexOf(' ');
    const scheme = h.slice(0, sp).toLowerCase();
    const cred = h.slice(sp + 1).trim();
    if (scheme === 'basic' && state.pat !== undefined) {
      const decoded = Buffer.from(cred, 'base64').toString('utf8');
      return decoded.slice(decoded.indexOf(':') + 1) === state.pat;
    }
    if (scheme === 'bearer' && state.bearer !== undefined) return cred === state.bearer;
    return false;
  };

  let serverApiVersion = options.serverApiVersion;
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const method = req.method ?? 'GET';
    const recorded: RecordedRequest = {
      method,
      path: url.pathname,
      query,
      headers: { ...req.headers },
      body,
      time: Date.now(),
    };
    requests.push(recorded);
    for (const cb of requestHooks) cb(recorded);

    const fault = faults.find(
      (f) =>
        f.left > 0 &&
        (!f.match?.method || f.match.method.toUpperCase() === method) &&
        (!f.match?.pathIncludes || `${url.pathname}${url.search}`.includes(f.match.pathIncludes)),
    );
    if (fault) {
      fault.left--;
      if (fault.delayMs) await wait(fault.delayMs);
      if (fault.status !== undefined) {
        const d = defaultFaultBody(fault.status);
        const headers: Record<string, string> = { ...d.headers };
        if (fault.retryAfter !== undefined) headers['retry-after'] = String(fault.retryAfter);
        if (fault.rateLimitDelay !== undefined) headers['x-ratelimit-delay'] = String(fault.rateLimitDelay);
        if (fault.status === 429) {
          Object.assign(headers, {
            'x-ratelimit-resource': 'Core',
            'x-ratelimit-limit': '200',
            'x-ratelimit-remaining': '0',
          });
        }
        const type = fault.body !== undefined ? 'application/json; charset=utf-8' : d.type;
        send(res, fault.status, fault.body ?? d.body, type, { ...headers, ...fault.headers });
        return;
      }
    }

    if (!authorized(req)) {
      const u = unauthorized();
      send(res, 401, u.body, u.type, u.headers);
      return;
    }
    if (prefix && !(url.pathname === prefix || url.pathname.startsWith(`${prefix}/`))) {
      send(
        res,
        404,
        azdoErrorBody(`TF400898: Organization not found for path ${url.pathname}.`, 'NotFoundException'),
        'application/json; charset=utf-8',
      );
      return;
    }
    if (
      (method === 'PATCH' || method === 'PUT' || method === 'POST') &&
      !(req.headers['content-type'] ?? '').startsWith('application/json')
    ) {
      send(
        res,
        415,
        azdoErrorBody('TF400898: The request content type is not supported.', 'UnsupportedMediaTypeException'),
        'application/json; charset=utf-8',
      );
      return;
    }
    const apiVersion = query['api-version'];
    if (apiVersion !== undefined && !/^\d+\.\d+(-preview(\.\d+)?)?$/.test(apiVersion)) {
      send(
        res,
        400,
        azdoErrorBody(
          `VS403285: The requested REST API version of ${apiVersion} is not valid.`,
          'VssInvalidApiVersionException',
        ),
        'application/json; charset=utf-8',
      );
      return;
    }
    if (
      apiVersion !== undefined &&
      serverApiVersion !== undefined &&
      Number(apiVersion.split('-')[0]) > Number(serverApiVersion)
    ) {
      send(
        res,
        400,
        azdoErrorBody(
          `The requested REST API version of ${apiVersion.split('-')[0]!} is out of range for this server. The latest REST API version this server supports is ${serverApiVersion}.`,
          'VssVersionOutOfRangeException',
        ),
        'application/json; charset=utf-8',
      );
      return;
    }
    try {
      const out = route(method, url.pathname.slice(prefix.length), query, body);
      send(
        res,
        out.status,
        out.json === undefined ? '' : JSON.stringify(out.json),
        'application/json; charset=utf-8; api-version=7.1',
        {
          'x-ratelimit-remaining': '200',
          ...(out.headers ?? {}),
          ...(fault?.headers ?? {}),
        },
      );
    } catch (e) {
      if (e instanceof HttpError) {
        send(
          res,
          e.status,
          azdoErrorBody(
            e.message,
            e.typeKey,
            `Microsoft.TeamFoundation.DistributedTask.WebApi.${e.typeKey}, Microsoft.TeamFoundation.DistributedTask.WebApi`,
          ),
          'application/json; charset=utf-8',
        );
      } else {
        send(
          res,
          500,
          azdoErrorBody(`TF246021: ${(e as Error).message}`, 'UnexpectedServerErrorException'),
          'application/json; charset=utf-8',
        );
      }
    }
    // The answer was computed from the state before any hook ran: a hook here changes the world
    // between this read and whatever the client does next.
    for (const cb of answerHooks) cb(recorded, res.statusCode);
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) send(res, 500, '', 'text/plain');
      else res.destroy();
    });
  };
  const server = options.https
    ? https.createServer({ key: options.https.key, cert: options.https.cert }, listener)
    : http.createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}${prefix}`;

  return {
    url: baseUrl,
    port,
    state,
    requests,
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    staleAgentReads(times) {
      staleReads = times;
    },
    clearFaults() {
      faults.length = 0;
    },
    setServerApiVersion(version) {
      serverApiVersion = version;
    },
    setPaging(p) {
      Object.assign(paging, p);
    },
    onRequest(cb) {
      requestHooks.add(cb);
      return () => requestHooks.delete(cb);
    },
    onAnswered(cb) {
      answerHooks.add(cb);
      return () => answerHooks.delete(cb);
    },
    clearRequests() {
      requests.length = 0;
    },
    addPool,
    addProject(name) {
      const p = { id: randomUUID(), name };
      state.projects.push(p);
      return p;
    },
    writes: () => requests.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method)),
    queueJob,
    registerAgent,
    assignJob,
    finishJob,
    setAgentStatus(ref, status, poolRef) {
      const a = mustAgent(ref, poolRef);
      if (a.status !== status) a.statusChangedOn = iso();
      a.status = status;
      return a;
    },
    setAgentEnabled(ref, enabled, poolRef) {
      const a = mustAgent(ref, poolRef);
      a.enabled = enabled;
      return a;
    },
    removeAgent(ref, poolRef) {
      const a = mustAgent(ref, poolRef);
      state.agents = state.agents.filter((x) => x !== a);
    },
    pool,
    agent,
    job,
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

/**
 * What the agent reports of its environment, as its EnvironmentCapabilitiesProvider does
 * (microsoft/azure-pipelines-agent src/Microsoft.VisualStudio.Services.Agent/Capabilities/
 * EnvironmentCapabilitiesProvider.cs): every variable with a non-empty name, except a well-known
 * list, the comma-separated names in VSO_AGENT_IGNORE (trimmed), and values of 1,024 characters or
 * more (names compared exactly, as on Linux). Providers that run later (Agent.Name, Agent.OS, …)
 * override these.
 */
export function environmentCapabilities(env: Record<string, string>): Record<string, string> {
  const ignored = new Set([
    'comp_wordbreaks',
    'ls_colors',
    'TERM',
    'TERM_PROGRAM',
    'TERM_PROGRAM_VERSION',
    'SHLVL',
    'PSMODULEPATH',
    'SYSTEM_ACCESSTOKEN',
    ...(env.VSO_AGENT_IGNORE ?? '')
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ]);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (k && !ignored.has(k) && v.length < 1024) out[k] = v;
  return out;
}

/**
 * DemandMinimumVersion.CompareVersion as the server runs it: each side cut at its first '-'
 * (ParseVersion), parsed as a System.Version (2–4 numeric parts; otherwise null); null == null,
 * null < any version; an absent component is below a present one (1.2 < 1.2.0).
 */
function compareVersions(a: string, b: string): number {
  const parse = (text: string): number[] | undefined => {
    const dash = text.indexOf('-');
    const parts = (dash > 0 ? text.slice(0, dash) : text).trim().split('.');
    if (parts.length < 2 || parts.length > 4 || parts.some((x) => !/^\d+$/.test(x.trim()))) return undefined;
    return parts.map(Number);
  };
  const va = parse(a);
  const vb = parse(b);
  if (!va || !vb) return va ? 1 : vb ? -1 : 0;
  for (let i = 0; i < 4; i++) {
    const d = (va[i] ?? -1) - (vb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
