/**
 * What the parts of the pass share (./observe.ts, ./delete.ts, ./create.ts under ./pass.ts): its
 * settings, its ports, what it reports, and how a lost lease stops its writes.
 */
import type { ProfileConfig } from '../config/schema.js';
import type { DeploymentIdentity, Ownership } from '../core/ownership.js';
import type { Action, BackoffState, JobRequest, Plan } from '../core/types.js';
import type { WarmTuning } from '../core/warm/index.js';
import { errorText } from '../util/log.js';
import type {
  ArrivalsInbox,
  AzureDevOpsPort,
  Clock,
  ComputePort,
  Logger,
  PoolStateStore,
  PortErrorKind,
  SecretPort,
} from '../ports/index.js';

export interface ReconcileOptions {
  /** AGENT_NAME_PREFIX */
  prefix: string;
  /**
   * Who this deployment is, as its agents report it (AUTOSCALER_ID and scope, src/core/ownership.ts).
   * Absent: no registration without a group of ours can be proven ours, so none is removed.
   */
  identity?: DeploymentIdentity;
  /** Capability reads for orphan candidates per pool per pass (default 20; src/reconcile/ownership.ts). */
  maxOwnershipReadsPerPass?: number;
  profiles: readonly ProfileConfig[];
  dryRun: boolean;
  /** Parallel ARM/Azure DevOps calls while acting (deletes, probes). */
  concurrency?: number;
  /** Creates in flight at once (CREATE_CONCURRENCY; default: `concurrency`, else 8). */
  createConcurrency?: number;
  /** Groups with no registration this old get one GET to learn whether they already exited. */
  probeAfterSec?: number;
  /** At most this many such GETs per pool per pass. */
  maxProbesPerPass?: number;
  /** Back-off after quota/capacity errors: base and cap, seconds. */
  backoffBaseSec?: number;
  backoffMaxSec?: number;
  /** The warm rule's tuning (default DEFAULT_WARM_TUNING; the lab's experiments pass others). */
  warmTuning?: Readonly<WarmTuning>;
}

export interface ReconcileDeps {
  azdo: AzureDevOpsPort;
  compute: ComputePort;
  secrets: SecretPort;
  clock: Clock;
  logger: Logger;
  /** The pool's memory between passes: read once per pass, written once after it acted. */
  poolState: PoolStateStore;
  /** Jobs the webhook deliveries named since the last pass (for λ); taken when the pass starts. */
  arrivals: ArrivalsInbox;
  /** The random part of agent names: 12+ lowercase base-36 characters (random in production, seeded in the simulator and tests). */
  entropy: () => string;
  /**
   * What was already said once per process (capability differences per placeholder, the
   * parallel-job warning). Absent: a fresh set per pass, i.e. said every pass.
   */
  notices?: Set<string>;
  /** Orphan candidates found not ours (`poolId:agentId`), kept per process like `notices`. */
  ownership?: Map<string, Ownership>;
}

export type Outcome =
  | { action: Action; status: 'done'; group?: string }
  | { action: Action; status: 'skipped'; why: string }
  /** `kind`: the adapter's error kind (src/ports/errors.ts); 'secret' when the agent PAT could not be read. */
  | { action: Action; status: 'failed'; error: string; kind?: PortErrorKind | 'secret' };

export interface PoolResult {
  pool: string;
  ok: boolean;
  error?: string;
  plan?: Plan;
  outcomes: Outcome[];
  /** API calls made by this pool's observe step (for the O(1) check). */
  probes: number;
  /** The pool's lease was lost during the pass: the actions after it were skipped, not tried. */
  leaseLost?: boolean;
  /** Nothing to do until a person provides something (the PAT on a first deploy): not a failure. */
  waiting?: boolean;
  /** The job requests observed (telemetry reads queue and assign times from them). */
  jobs?: JobRequest[];
  /** The back-off state after the pass acted (telemetry reads how long a profile has backed off). */
  backoff?: Record<string, BackoffState | undefined>;
}

export interface PassResult {
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  pools: PoolResult[];
  error?: string;
}

export type DeleteAction = Extract<Action, { kind: 'delete' }>;
export type CreateAction = Extract<Action, { kind: 'create' }>;

/** Why an action was not tried: the pool's lease was lost before it (see src/ports/fence.ts). */
export const LEASE_LOST = 'lease lost';

/** Fencing within one act step: the first write refused for a lost lease stops the pass. */
export interface ActState {
  leaseLost: boolean;
}

export function skipLost(state: ActState, a: Action): Outcome {
  state.leaseLost = true;
  return { action: a, status: 'skipped', why: LEASE_LOST };
}

/** Settled results of mapLimit → outcomes; a rejection (a bug, callbacks catch) becomes a failure. */
export function settledOutcomes(actions: readonly Action[], settled: PromiseSettledResult<Outcome>[]): Outcome[] {
  return settled.map((r, i) =>
    r.status === 'fulfilled' ? r.value : { action: actions[i]!, status: 'failed', error: errorText(r.reason) },
  );
}

/** Said once per process when `deps.notices` is kept, else once per pass. */
export function once(deps: ReconcileDeps, key: string): boolean {
  const seen = (deps.notices ??= new Set());
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}

/** The back-off policy of the settings (base and cap); absent values take core/capacity's defaults. */
export const backoffPolicy = (opts: ReconcileOptions) => ({
  ...(opts.backoffBaseSec !== undefined ? { baseSec: opts.backoffBaseSec } : {}),
  ...(opts.backoffMaxSec !== undefined ? { maxSec: opts.backoffMaxSec } : {}),
});
