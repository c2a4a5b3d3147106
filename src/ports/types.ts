/**
 * The ports' interfaces (re-exported by ./index.ts, with the errors, the fence and the in-memory
 * versions); ./fence.ts and ./memory.ts import them from here, so nothing in src/ports imports
 * ./index.ts back.
 */
import type { PoolHistory } from '../core/pool-history.js';
import type { Expectations } from '../core/expectations.js';
import type { Placement } from '../core/placements.js';
import type {
  AgentRegistration,
  BackoffState,
  JobRequest,
  OwnedGroup,
  ParallelJobs,
  WebhookArrival,
} from '../core/types.js';
import type { WarmState } from '../core/warm/index.js';
import type { ProfileConfig } from '../config/schema.js';

export interface AzureDevOpsPort {
  /** Pool id by name; implementations cache it. Throws a PortError of kind 'notFound' when the pool does not exist. */
  resolvePoolId(poolName: string): Promise<number>;
  /** Unfinished job requests of the pool (completedRequestCount=0, never $top). */
  listJobRequests(poolId: number): Promise<JobRequest[]>;
  /** Agents of the pool with their assigned request and last completed request. */
  listAgents(poolId: number): Promise<AgentRegistration[]>;
  /** One agent with its assigned request, or undefined when it no longer exists. */
  getAgent(poolId: number, agentId: number): Promise<AgentRegistration | undefined>;
  /**
   * The unfinished job requests reserved for one agent (`jobrequests?agentId=`): read beside
   * `getAgent` before a safe delete, so one stale read cannot hide a job.
   */
  listAgentRequests(poolId: number, agentId: number): Promise<JobRequest[]>;
  /**
   * The pool's registration of that name with its assigned request, or undefined when there is
   * none (`agents?agentName=`): the re-read right before deleting a group that had no registration.
   */
  findAgent(poolId: number, agentName: string): Promise<AgentRegistration | undefined>;
  /** PATCH enabled:true|false. */
  setAgentEnabled(poolId: number, agentId: number, enabled: boolean): Promise<void>;
  /** DELETE the registration; a 404 counts as done. */
  deleteAgent(poolId: number, agentId: number): Promise<void>;
  /**
   * What one registration reports (system + user capabilities), undefined when it is gone. Read
   * for placeholders only, to name how declared capabilities differ from the image's. Optional:
   * without it the difference is not checked.
   */
  getAgentCapabilities?(poolId: number, agentId: number): Promise<Record<string, string> | undefined>;
  /**
   * The organization's self-hosted parallel jobs (total, used). Optional: without it no
   * parallel-job cap applies. Throws when they cannot be read; the pass then runs uncapped.
   */
  getParallelJobs?(): Promise<ParallelJobs>;
}

/** What the compute provider needs to start one agent. */
export interface AgentLaunch {
  /** Container group name = agent name. */
  name: string;
  pool: string;
  profile: ProfileConfig;
  placeholder: boolean;
  /** The PAT handed to the agent, only ever as a secure value. */
  token: string;
  /** ISO creation time for the created-at tag. */
  createdAt: string;
  /** Where to create it (src/core/placements.ts); absent = placement 0 (ACI_LOCATION, the profile's spot). */
  placement?: Placement;
}

export interface GroupDetail {
  name: string;
  provisioningState?: string;
  /** instanceView.state: Running | Succeeded | Failed | Stopped | Pending. */
  instanceState?: string;
  /** Container exit code when terminated. */
  exitCode?: number;
  /** Short human-readable cause: last events / current state detail. */
  detail?: string;
}

export interface ComputePort {
  /** Every group carrying our ownership tags in the resource group (one paged list). */
  listGroups(): Promise<OwnedGroup[]>;
  /** GET one group with instanceView; undefined when gone. */
  getGroup(name: string): Promise<GroupDetail | undefined>;
  /** Start creating a group; resolves once ARM accepted the request (does not wait for the LRO). */
  createGroup(launch: AgentLaunch): Promise<void>;
  /** Start deleting a group; a 404 counts as done. */
  deleteGroup(name: string): Promise<void>;
  /** Container logs tail, for failed boots (optional). */
  getLogs?(name: string): Promise<string | undefined>;
}

export interface SecretPort {
  /** The agent PAT (cached briefly). */
  getToken(): Promise<string>;
  /** Drop the cache, e.g. after Azure DevOps answered 401 (rotated PAT). */
  invalidate(): void;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/**
 * What a pool remembers between passes (one small blob per pool, src/storage/pool-state-store.ts):
 * an optimisation and a safety margin, never the truth, which stays in Azure DevOps and ARM.
 */
export interface PoolState {
  /** Back-off per placement key (`profile`, or `profile@i` for its fallback placement i). */
  backoff: Record<string, BackoffState>;
  /** Warm-agent estimator state per profile with a wait target (src/core/warm/). */
  warm: Record<string, WarmState>;
  /** What the passes did (counters, newest decisions): the status every instance reports. */
  history?: PoolHistory;
  /** Creates and deletes sent that no list has shown yet (src/core/expectations.ts). */
  expected: Expectations;
  /**
   * The stored state's version as loaded (opaque; the blob's ETag). A save refuses to replace a
   * state someone saved since (another holder of the lease, a write that landed late).
   */
  version?: string;
}

/**
 * The pool's state, read once at the start of a pass and written once at its end (under the
 * pool's lease: fenceDeps fences `save`). The pass decides from that one snapshot.
 */
export interface PoolStateStore {
  /** The pool's state as last saved (none yet: empty). Throws when the storage cannot be read. */
  load(pool: string): Promise<PoolState>;
  /**
   * Replaces the pool's state if it is still the version `state` was loaded as; returns the new
   * version. Throws when the storage cannot be written or the state changed since (a conflict).
   */
  save(pool: string, state: PoolState): Promise<string | undefined>;
}

/**
 * The jobs webhook deliveries named (for λ, core/rules/warm.ts), kept per pool until a pass takes
 * them. A pass that could not observe the pool gives them back for the next one.
 */
export interface ArrivalsInbox {
  /** Every arrival kept for the pool, oldest first; the inbox forgets them. */
  take(pool: string): WebhookArrival[];
  /** Arrivals a pass could not fold in, back at the front for the next pass. */
  putBack(pool: string, arrivals: readonly WebhookArrival[]): void;
}

/** What every write checks first: the pool lease still held (src/ports/fence.ts wraps the ports in it). */
export interface Fence {
  /** True while the lease is ours and fresh. Latches to false. */
  held(): boolean;
  /** Throws LeaseLost unless held(). */
  assert(): void;
}

/** A held lease on one pool; also the fence every write of the pass checks (./fence.ts). */
export interface PoolLease extends Fence {
  readonly pool: string;
  readonly leaseId: string;
  /** True once a renewal failed or went stale: another instance may now hold the pool. */
  readonly lost: boolean;
  /** Stop renewing and give the lease back. Never throws; idempotent. */
  release(): Promise<void>;
}

/** One writer per pool: what the pass coordinator needs from a lock (on blobs and in memory). */
export interface PoolLockPort {
  /** Increment the pool's requested generation; returns the new value. */
  bump(pool: string): Promise<number>;
  /** The pool's current requested generation (0 when never bumped). */
  generation(pool: string): Promise<number>;
  /** The lease if it was free, undefined when someone else holds it. Throws on storage errors. */
  tryAcquire(pool: string): Promise<PoolLease | undefined>;
}

/** What the webhook hands to the queue-triggered pass (src/storage/queue.ts on Azure Storage queues). */
export interface ReconcileRequest {
  pools: string[];
  reason: string;
  /** When the delivery was received (ISO): the start of the webhook → create latency. */
  receivedAt: string;
  /** The job a job-state-changed delivery named (its id; its queue time when it waits): folded into λ. */
  arrival?: WebhookArrival;
}

/** The durable hand-off between the webhook and the queue-triggered pass. */
export interface HandoffQueue {
  /** Resolves once the message is stored; rejects otherwise (the webhook then answers 503). */
  send(request: ReconcileRequest): Promise<void>;
  /** Approximate depth of the queue and of its poison queue (for /api/status); undefined when unknown. */
  depth?(): Promise<{ pending?: number; poison?: number }>;
}
