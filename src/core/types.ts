/**
 * Domain types shared by the planner, the adapters and the simulator, with the guards that read
 * them off the wire (job ids, webhook arrivals). Pure data: no I/O, no clock, no environment.
 */
import type { WarmState } from './warm/state.js';

/** An Azure DevOps job request as the planner sees it (a projection of TaskAgentJobRequest). */
export interface JobRequest {
  requestId: number;
  /** The job's id (uuid): the id service-hook payloads carry as `resource.job.id`. */
  jobId?: string;
  queueTime?: string;
  assignTime?: string;
  receiveTime?: string;
  finishTime?: string;
  /** succeeded | failed | canceled | abandoned | ... ; set only when finished. */
  result?: string;
  /** Demand strings as on the wire, e.g. "java", "Agent.OS -equals Linux", "Agent.Version -gtVersion 2.182.1". */
  demands: string[];
  /** The agent the request was given to, once assigned. */
  reservedAgent?: { id: number; name: string };
  /** Ids of agents Azure DevOps considers able to run the request (absent when `$top` is used). */
  matchedAgentIds?: number[];
  planType?: string;
  jobName?: string;
  poolId?: number;
}

/** An agent registration in a pool (a projection of TaskAgent). */
export interface AgentRegistration {
  id: number;
  name: string;
  status: 'online' | 'offline';
  enabled: boolean;
  createdOn?: string;
  statusChangedOn?: string;
  version?: string;
  /** Set when listed with includeAssignedRequest=true and the agent holds a job. */
  assignedRequestId?: number;
  /** Finish time of the last job it completed (includeLastCompletedRequest=true). */
  lastCompletedFinishTime?: string;
  /** The last job it completed (includeLastCompletedRequest=true): which request, which job, queued when. */
  lastCompletedRequest?: { requestId: number; jobId?: string; queueTime?: string };
}

export type ProvisioningState =
  | 'Pending'
  | 'Creating'
  | 'Repairing'
  | 'Succeeded'
  | 'Failed'
  | 'Canceled'
  | 'Deleting'
  | 'Unhealthy'
  | 'NotAccessible'
  | 'NotSpecified'
  | 'PreProvisioned'
  | 'Updating'
  | string;

/** A container group we own (identified by tags), as seen by a list call (no instanceView). */
export interface OwnedGroup {
  name: string;
  pool: string;
  profile: string;
  /** ISO timestamp from the created-at tag. */
  createdAt: string;
  provisioningState?: ProvisioningState;
  /**
   * instanceView.state (Running | Succeeded | Failed | Stopped | Pending), only known after a GET.
   * The observer fetches it only for groups whose agent never showed up, so the steady state stays O(1).
   */
  instanceState?: string;
  /** True when the group runs the image in placeholder mode (register and exit). */
  placeholder?: boolean;
  /** Which of its profile's placements the group got (tag `azp-placement`, e.g. `1:northeurope/spot`). */
  placement?: string;
  /**
   * Why ARM failed the group for capacity or quota after accepting its create (InsufficientCapacity,
   * "not available in the location"), read by a GET of a Failed group; see src/core/capacity.ts.
   */
  capacityFailure?: string;
}

/** Demand matching modes, after KEDA's azure-pipelines scaler. */
export type MatchMode = 'subset' | 'requireAll' | 'requireAllAndIgnoreOthers';

/** A daily window during which `count` idle agents are kept warm. */
export interface StandbyWindow {
  /** Days of week the window applies to, 0 = Sunday. Empty/absent = every day. */
  days?: number[];
  /** "HH:MM" local time in the profile's time zone, inclusive. */
  start: string;
  /** "HH:MM" local time, exclusive; may be earlier than start to cross midnight. */
  end: string;
  count: number;
}

/** The planner's view of one pool profile: a kind of agent we can create for a pool. */
export interface ProfilePolicy {
  name: string;
  pool: string;
  /** Capabilities the image satisfies: name -> value ("" when only presence matters). */
  capabilities: Record<string, string>;
  matchMode: MatchMode;
  caseSensitive: boolean;
  minAgents: number;
  maxAgents: number;
  standby: StandbyWindow[];
  timeZone: string;
  maxCreatePerPass: number;
  bootTimeoutSec: number;
  idleTimeoutSec: number;
  maxLifetimeSec: number;
  /** Keep the newest N failed groups for investigation. */
  keepFailed: number;
  /** Whether a placeholder registration is maintained so jobs can queue at zero agents. */
  placeholder: boolean;
  /** Container OS: the agent reports `Agent.OS` Linux / Windows_NT (default Linux). */
  os?: 'Linux' | 'Windows';
  /** Plain environment variables of the agent container: the agent reports each as a capability. */
  env?: Record<string, string>;
  // ----- warm agents from a wait target (core/rules/warm.ts) -----
  /** The p95 queue wait wanted, seconds; absent = no warm agents beyond the standby schedule. */
  targetWaitSec?: number;
  /** Cost ceiling on warm agents (default maxAgents). */
  maxWarmAgents?: number;
  /** Spot priority for the profile's own placement (placement 0). */
  spot?: boolean;
  /** Fallback placements, tried in order on capacity or quota errors (src/core/placements.ts). */
  fallback?: readonly PlacementSpec[];
}

/** One fallback placement of a profile: another ACI region and/or Spot or regular priority. */
export interface PlacementSpec {
  /** ACI location; the deployment's ACI_LOCATION when absent. */
  location?: string;
  /** Spot priority (default false: regular). */
  spot?: boolean;
}

/** Back-off state of a profile after quota/capacity errors. */
export interface BackoffState {
  /** ISO time before which no create is attempted. */
  until: string;
  failures: number;
  reason: string;
  /** ISO time of the first failure of this back-off streak (absent in state written before it existed). */
  since?: string;
  /** ISO time this step was taken: a group created later that ARM provisions ends the back-off. */
  at?: string;
  /** Groups whose late capacity failure already counted (each counts once, however long it stays). */
  counted?: string[];
}

/** Everything one pass observed for one pool. */
export interface PoolSnapshot {
  pool: string;
  /** Unfinished job requests of the pool (completedRequestCount=0). */
  jobs: JobRequest[];
  agents: AgentRegistration[];
  /** Our container groups for this pool (tag-filtered). */
  groups: OwnedGroup[];
  /** Back-off state per profile name. */
  backoff: Record<string, BackoffState | undefined>;
  /** The organization's self-hosted parallel jobs; absent: not read (no cap). */
  parallelJobs?: ParallelJobs;
  /** Warm-agent estimator state per profile name (profiles with targetWaitSec), from the back-off blob. */
  warm?: Record<string, WarmState | undefined>;
  /** Jobs the webhook saw since the last pass here (folded into λ; see core/rules/warm.ts). */
  webhookArrivals?: WebhookArrival[];
  /**
   * Ids of orphan candidates (`orphanCandidates` in core/plan.ts) whose capabilities proved them
   * ours this pass (core/ownership.ts). Only these may be unregistered; absent: none.
   */
  provenOwn?: number[];
}

/**
 * A job a service-hook delivery named (`ms.vss-pipelines.job-state-changed-event`): its
 * `resource.job.id` (the job request's `jobId`) and, for a job that is `waiting` for an agent, the
 * event's `createdDate` as its queue time. The payload names no pool, request id, demands or agent
 * (contracts/servicehooks/job-state-changed.events-md.json), so the pass finds the rest itself.
 */
export interface WebhookArrival {
  jobId: string;
  queueTime?: string;
}

/** A job id as Azure DevOps writes it (a uuid); anything else is not one. */
export function isJobId(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
}

/** A webhook arrival read back from a queue message; undefined when it is not one. */
export function parseWebhookArrival(raw: unknown): WebhookArrival | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (!isJobId(r.jobId)) return undefined;
  const q = r.queueTime;
  return {
    jobId: r.jobId,
    ...(typeof q === 'string' && Number.isFinite(Date.parse(q)) ? { queueTime: new Date(q).toISOString() } : {}),
  };
}

/** The organization's self-hosted parallel jobs (private projects), as read this pass. */
export interface ParallelJobs {
  /** `resourceusage`: read from Azure DevOps; `unknown`: could not be read (no cap applied). */
  source: 'resourceusage' | 'unknown';
  /** resourceLimit.totalCount */
  total?: number;
  /** usedCount: jobs holding a slot now (running anywhere in the organization). */
  used?: number;
  /** Why it is unknown. */
  detail?: string;
}

/** The parallel-job cap as the planner applied it (status and the decision log show it). */
export interface ParallelJobsView {
  source: ParallelJobs['source'];
  total?: number;
  used?: number;
  /** total − used (never below 0); absent when unknown. */
  free?: number;
  /** Queued jobs of the pool left waiting for a parallel job: no agent is created for them. */
  waiting: number;
  detail?: string;
}

export type JobClass = 'finished' | 'running' | 'queued';

export type CapacityClass =
  | 'starting'
  | 'idle'
  | 'busy'
  | 'finished'
  | 'failedBoot'
  /** Registered, was online, offline longer than the boot timeout without having run a job. */
  | 'lost'
  | 'placeholder';

/**
 * How a group may be deleted (see `deleteModeFor` in core/delete.ts, the one place that decides):
 * 'safe' = its agent is registered: disable -> re-read -> delete only if still idle, else re-enable and keep.
 * 'recheck' = no registration seen: read the agent by name right before the DELETE; a registration
 *   found there sends the group down the safe path.
 * 'direct' = its container was seen terminated (or it is a placeholder, which never runs a listener).
 */
export type DeleteMode = 'safe' | 'recheck' | 'direct';

export type Action =
  | { kind: 'create'; profile: string; placeholder?: boolean; reason: string }
  | {
      kind: 'delete';
      profile: string;
      group: string;
      /** Registration to remove with the group, if any. */
      agentId?: number;
      mode: DeleteMode;
      /** Capacity class that led to this delete (finished, failedBoot, idle, ...). */
      cause: CapacityClass | 'orphanGroup' | 'maxLifetime';
      reason: string;
    }
  | { kind: 'unregister'; agentId: number; agentName: string; reason: string };

/** Per-profile summary printed in the decision log and by `status`. */
export interface ProfileView {
  pool: string;
  profile: string;
  queued: number;
  running: number;
  idle: number;
  starting: number;
  busy: number;
  finished: number;
  failedBoot: number;
  standbyTarget: number;
  live: number;
  maxAgents: number;
  creates: number;
  deletes: number;
  backoffUntil?: string;
  /** Groups per placement, e.g. `0:westeurope=3 1:northeurope/spot=1` (empty when none). */
  placements?: string;
  /** Placeholder registration present (or being created). */
  placeholder: 'present' | 'creating' | 'missing' | 'disabled';
  /** With targetWaitSec: the warm-agent sizing (λ, B, k and why). */
  warm?: WarmView;
}

/** The warm-agent sizing of one profile, as `status` and the decision log show it. */
export interface WarmView {
  targetWaitSec: number;
  /** λ, jobs per minute, and which estimate set it. */
  lambdaPerMin: number;
  lambdaSource: string;
  /** B, seconds (a high percentile of our create → online times, or the default). */
  refillSec: number;
  k: number;
  reason: string;
  /** The next learnt burst (src/core/warm-bursts.ts): when it is expected, from when and how many warm agents it gets. */
  nextBurst?: { at: string; from: string; agents: number };
}

export interface Plan {
  views: ProfileView[];
  /** Warm-agent state to keep, per profile with targetWaitSec (written back with the back-off state). */
  warm?: Record<string, WarmState>;
  actions: Action[];
  /** Queued jobs no profile can serve: reported, never scaled for. */
  unmatchedJobs: number[];
  /** The self-hosted parallel-job cap of this pass (absent when not read). */
  parallel?: ParallelJobsView;
}
