/**
 * One reconcile pass: observe → plan → act, per pool, each pool isolated from the others.
 * Stateless: every pass rebuilds its view from Azure DevOps and ARM. The only memory is the
 * back-off store (quota/capacity errors), which is an optimisation, not truth.
 */
import type { ProfileConfig } from '../config/schema.js';
import { decisionFields } from '../core/action-text.js';
import { capabilityDifference, reportedByProfile } from '../core/matching.js';
import {
  backoffUpdates,
  capacityCause,
  nextBackoff as backoffStep,
  throttleBackoff,
  type BackoffUpdate,
} from '../core/capacity.js';
import {
  openPlacements,
  placementIndexOf,
  placementKey,
  placementsOf,
  profileOfKey,
  type Placement,
} from '../core/placements.js';
import { agentName, placeholderName } from '../core/names.js';
import type { DeploymentIdentity, Ownership } from '../core/ownership.js';
import { distinctPools, poolKey, samePool } from '../core/pools.js';
import { plan, type PoolPolicy } from '../core/plan.js';
import type {
  Action,
  AgentRegistration,
  BackoffState,
  JobRequest,
  OwnedGroup,
  ParallelJobs,
  Plan,
  PoolSnapshot,
  ProfileView,
  WebhookArrival,
} from '../core/types.js';
import type { WarmTuning } from '../core/warm/index.js';
import { mapLimit } from '../util/limit.js';
import { proveOrphans, unregisterOrphan } from './ownership.js';
import { errorText } from '../util/log.js';
import {
  errorKind,
  retryAfterOf,
  isLeaseLost,
  type AzureDevOpsPort,
  type BackoffStore,
  type Clock,
  type ComputePort,
  type Logger,
  type PortErrorKind,
  type SecretPort,
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
  backoff: BackoffStore;
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
  /** The job requests observed (telemetry reads queue and assign times from them). */
  jobs?: JobRequest[];
}

export interface PassResult {
  startedAt: string;
  finishedAt: string;
  dryRun: boolean;
  pools: PoolResult[];
  error?: string;
}

/** Why an action was not tried: the pool's lease was lost before it (see src/ports/fence.ts). */
export const LEASE_LOST = 'lease lost';

/** Settled results of mapLimit → outcomes; a rejection (a bug, callbacks catch) becomes a failure. */
function settledOutcomes(actions: readonly Action[], settled: PromiseSettledResult<Outcome>[]): Outcome[] {
  return settled.map((r, i) =>
    r.status === 'fulfilled' ? r.value : { action: actions[i]!, status: 'failed', error: errorText(r.reason) },
  );
}

/** The configured pools, one spelling each (pool names are case-insensitive). */
export function poolsOf(profiles: readonly ProfileConfig[]): string[] {
  return distinctPools(profiles.map((p) => p.pool));
}

/** What a pass is given besides its settings and ports. */
export interface PassInput {
  /** Per pool (poolKey): the jobs webhook deliveries named since the last pass (for λ). */
  webhookArrivals?: ReadonlyMap<string, readonly WebhookArrival[]>;
}

/** Observe one pool: job requests, agents, our groups (given), plus GETs for silent groups. */
async function observe(
  pool: string,
  groups: OwnedGroup[],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  now: Date,
  webhookArrivals: readonly WebhookArrival[] = [],
): Promise<{ snapshot: PoolSnapshot; poolId: number; probes: number; registered: ReadonlySet<string> }> {
  const poolId = await deps.azdo.resolvePoolId(pool);
  const [jobs, agents, parallelJobs] = await Promise.all([
    deps.azdo.listJobRequests(poolId),
    deps.azdo.listAgents(poolId),
    readParallelJobs(deps),
  ]);
  await auditPlaceholderCapabilities(pool, poolId, agents, opts, deps);
  const registered = new Set(agents.map((a) => a.name));
  const probeAfter = opts.probeAfterSec ?? 60;
  // A --once agent that finished and unregistered looks like one still booting. One GET tells
  // them apart; it is spent only on groups in that state, so the steady state stays O(1).
  // A group ARM failed gets one GET too: its events say whether capacity failed late
  // (InsufficientCapacity after an accepted create), which backs its placement off.
  const failed = groups.filter((g) => g.provisioningState === 'Failed');
  const silent = [
    ...failed,
    ...groups
      .filter(
        (g) =>
          !registered.has(g.name) &&
          g.instanceState === undefined &&
          g.provisioningState !== 'Failed' &&
          g.provisioningState !== 'Deleting',
      )
      .filter((g) => (now.getTime() - Date.parse(g.createdAt)) / 1000 >= probeAfter),
  ].slice(0, opts.maxProbesPerPass ?? 20);
  const probed = await mapLimit(silent, opts.concurrency ?? 8, async (g) => {
    try {
      return await deps.compute.getGroup(g.name);
    } catch {
      return undefined; // an unknown state is classified by age alone
    }
  });
  const detail = new Map(
    probed.flatMap((r) => (r.status === 'fulfilled' && r.value ? [[r.value.name, r.value] as const] : [])),
  );
  const enriched = groups.map((g) => {
    const d = detail.get(g.name);
    if (!d) return g;
    const cause = (d.provisioningState ?? g.provisioningState) === 'Failed' ? capacityCause(d.detail) : undefined;
    return {
      ...g,
      instanceState: d.instanceState,
      provisioningState: d.provisioningState ?? g.provisioningState,
      ...(cause ? { capacityFailure: cause } : {}),
    };
  });
  const warm = Object.fromEntries(
    opts.profiles.filter((p) => p.targetWaitSec !== undefined).map((p) => [p.name, deps.backoff.getWarm?.(p.name)]),
  );
  const snapshot: PoolSnapshot = { pool, jobs, agents, groups: enriched, backoff: deps.backoff.all(), warm };
  if (parallelJobs) snapshot.parallelJobs = parallelJobs;
  if (webhookArrivals.length > 0) snapshot.webhookArrivals = [...webhookArrivals];
  // A registration with no group of ours is touched only once its capabilities prove it ours.
  const provenOwn = await proveOrphans(snapshot, poolId, {
    identity: opts.identity,
    prefix: opts.prefix,
    profiles: opts.profiles,
    ...(opts.maxOwnershipReadsPerPass !== undefined ? { maxReads: opts.maxOwnershipReadsPerPass } : {}),
    azdo: deps.azdo,
    verdicts: (deps.ownership ??= new Map()),
    once: (key) => once(deps, key),
    log: deps.logger.child({ pool }),
  });
  if (provenOwn.length > 0) snapshot.provenOwn = provenOwn;
  return { snapshot, poolId, probes: silent.length, registered };
}

/** Said once per process when `deps.notices` is kept, else once per pass. */
function once(deps: ReconcileDeps, key: string): boolean {
  const seen = (deps.notices ??= new Set());
  if (seen.has(key)) return false;
  seen.add(key);
  return true;
}

/**
 * The organization's self-hosted parallel jobs; `unknown` (no cap, a warning once) when the PAT
 * cannot read them, undefined when the port cannot ask.
 */
async function readParallelJobs(deps: ReconcileDeps): Promise<ParallelJobs | undefined> {
  if (!deps.azdo.getParallelJobs) return undefined;
  let pj: ParallelJobs;
  try {
    pj = await deps.azdo.getParallelJobs();
  } catch (err) {
    pj = { source: 'unknown', detail: `cannot read resourceusage: ${errorText(err)}` };
  }
  if (pj.source === 'unknown' && once(deps, `parallel:${pj.detail ?? ''}`)) {
    deps.logger.warn('self-hosted parallel jobs unknown: agents are created without that cap', { detail: pj.detail });
  }
  return pj;
}

/**
 * Once per placeholder registration: how the profile's declared capabilities (with its env vars
 * and Agent.OS) differ from what the image reported, read with includeCapabilities on the
 * placeholder only. A difference means the fallback matching (before the placeholder existed)
 * can mis-assign jobs; matching itself already follows the server's matchedAgents.
 */
async function auditPlaceholderCapabilities(
  pool: string,
  poolId: number,
  agents: readonly AgentRegistration[],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
): Promise<void> {
  const read = deps.azdo.getAgentCapabilities;
  if (!read) return;
  const byName = new Map(agents.map((a) => [a.name, a]));
  for (const profile of opts.profiles) {
    if (!samePool(profile.pool, pool)) continue;
    const ph = byName.get(placeholderName(opts.prefix, profile.name));
    if (!ph) continue;
    const key = `caps:${pool}/${profile.name}/${ph.id}`;
    if (deps.notices?.has(key)) continue;
    let reported: Record<string, string> | undefined;
    try {
      reported = await read.call(deps.azdo, poolId, ph.id);
    } catch {
      continue; // tried again next pass
    }
    if (!reported || !once(deps, key)) continue;
    const diff = capabilityDifference(reportedByProfile(profile), reported);
    if (diff.missing.length + diff.differing.length > 0) {
      deps.logger.warn(
        'declared capabilities differ from what the image reports: jobs follow the server (matchedAgents), the declared ones only until the placeholder exists',
        {
          pool,
          profile: profile.name,
          placeholder: ph.name,
          notReported: diff.missing,
          differing: diff.differing,
        },
      );
    }
  }
}

function decisionLine(v: ProfileView, actions: Action[]): Record<string, unknown> {
  const warm = v.warm
    ? { warm: { k: v.warm.k, lambdaPerMin: v.warm.lambdaPerMin, refillSec: v.warm.refillSec, why: v.warm.reason } }
    : {};
  return { ...decisionFields(v, actions), ...warm };
}

type DeleteAction = Extract<Action, { kind: 'delete' }>;

/** Causes whose agent, found online at the re-read, has recovered: keep it rather than delete a working agent. */
const RECOVERABLE = new Set<DeleteAction['cause']>(['failedBoot', 'lost']);

/**
 * Deletes one group the way `deleteModeFor` (src/core/delete.ts) decided. No group whose container may
 * still run is deleted without a read, after the last moment its agent could take a job, showing
 * that agent idle and unable to take one.
 */
async function deleteGroup(poolId: number, action: DeleteAction, deps: ReconcileDeps, log: Logger): Promise<Outcome> {
  switch (action.mode) {
    case 'safe':
      return action.agentId === undefined
        ? recheckDelete(poolId, action, deps, log)
        : safeDelete(poolId, action, action.agentId, deps, log);
    case 'recheck':
      return recheckDelete(poolId, action, deps, log);
    case 'direct':
      return directDelete(poolId, action, deps, log);
  }
}

/** Safe delete: disable → re-read → delete only if still idle, else re-enable and keep. */
async function safeDelete(
  poolId: number,
  action: DeleteAction,
  agentId: number,
  deps: ReconcileDeps,
  log: Logger,
): Promise<Outcome> {
  await deps.azdo.setAgentEnabled(poolId, agentId, false);
  const fresh = await deps.azdo.getAgent(poolId, agentId);
  if (fresh && fresh.assignedRequestId !== undefined) {
    await deps.azdo.setAgentEnabled(poolId, agentId, true);
    log.info('scale-down: a job landed on the agent between decision and delete; kept', {
      group: action.group,
      request: fresh.assignedRequestId,
    });
    return { action, status: 'skipped', why: `job ${fresh.assignedRequestId} assigned after the decision` };
  }
  if (fresh && fresh.status === 'online' && RECOVERABLE.has(action.cause)) {
    await deps.azdo.setAgentEnabled(poolId, agentId, true);
    log.info('scale-down: the agent came online between decision and delete; kept', {
      group: action.group,
      cause: action.cause,
    });
    return { action, status: 'skipped', why: 'agent came online after the decision' };
  }
  // Disabled and seen idle: it can take no job now, so the evidence may be gathered first.
  if (action.cause === 'failedBoot') log.warn('failed boot', await failedBootEvidence(action, deps));
  await deps.compute.deleteGroup(action.group);
  await deps.azdo.deleteAgent(poolId, agentId);
  return { action, status: 'done', group: action.group };
}

/** No registration was seen: read the agent by name right before the DELETE; one found goes the safe way. */
async function recheckDelete(poolId: number, action: DeleteAction, deps: ReconcileDeps, log: Logger): Promise<Outcome> {
  // Evidence first: nothing may sit between the re-read and the DELETE.
  const evidence = action.cause === 'failedBoot' ? await failedBootEvidence(action, deps) : undefined;
  const found = await deps.azdo.findAgent(poolId, action.group);
  if (found && found.assignedRequestId !== undefined) {
    log.info('scale-down: the agent registered and took a job between decision and delete; kept', {
      group: action.group,
      request: found.assignedRequestId,
    });
    return {
      action,
      status: 'skipped',
      why: `agent registered and took job ${found.assignedRequestId} after the decision`,
    };
  }
  if (found) return safeDelete(poolId, { ...action, agentId: found.id }, found.id, deps, log);
  await deps.compute.deleteGroup(action.group);
  if (evidence) log.warn('failed boot', evidence);
  return { action, status: 'done', group: action.group };
}

/** Container seen terminated (or a placeholder): nothing can run a job; the group and any registration go. */
async function directDelete(poolId: number, action: DeleteAction, deps: ReconcileDeps, log: Logger): Promise<Outcome> {
  if (action.cause === 'failedBoot') log.warn('failed boot', await failedBootEvidence(action, deps));
  await deps.compute.deleteGroup(action.group);
  if (action.agentId !== undefined) await deps.azdo.deleteAgent(poolId, action.agentId);
  return { action, status: 'done', group: action.group };
}

/** Why a boot failed, read before the evidence is deleted (logged once, only when the group goes). */
async function failedBootEvidence(action: DeleteAction, deps: ReconcileDeps): Promise<Record<string, unknown>> {
  const detail = await deps.compute.getGroup(action.group).catch(() => undefined);
  const logs = deps.compute.getLogs ? await deps.compute.getLogs(action.group).catch(() => undefined) : undefined;
  return {
    profile: action.profile,
    group: action.group,
    provisioningState: detail?.provisioningState,
    state: detail?.instanceState,
    exitCode: detail?.exitCode,
    detail: detail?.detail,
    logTail: logs?.split('\n').slice(-5).join(' | '),
  };
}

function nextBackoff(prev: BackoffState | undefined, now: Date, reason: string, opts: ReconcileOptions): BackoffState {
  return backoffStep(prev, now, reason, backoffPolicy(opts));
}

const backoffPolicy = (opts: ReconcileOptions) => ({
  ...(opts.backoffBaseSec !== undefined ? { baseSec: opts.backoffBaseSec } : {}),
  ...(opts.backoffMaxSec !== undefined ? { maxSec: opts.backoffMaxSec } : {}),
});

/** Fencing within one act step: the first write refused for a lost lease stops the pass. */
interface ActState {
  leaseLost: boolean;
}

function skipLost(state: ActState, a: Action): Outcome {
  state.leaseLost = true;
  return { action: a, status: 'skipped', why: LEASE_LOST };
}

async function act(
  poolId: number,
  pool: string,
  p: Plan,
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  log: Logger,
): Promise<Outcome[]> {
  const state: ActState = { leaseLost: false };
  // Deletes and unregistrations first: they free capacity and cost nothing to retry.
  const outcomes = await actRemovals(poolId, p, opts, deps, log, state);
  const creates = p.actions.filter((a): a is CreateAction => a.kind === 'create');
  if (creates.length === 0) return outcomes;
  if (state.leaseLost) return [...outcomes, ...creates.map((a) => skipLost(state, a))];
  return [...outcomes, ...(await actCreates(pool, creates, opts, deps, log, state))];
}

async function actRemovals(
  poolId: number,
  p: Plan,
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  log: Logger,
  state: ActState,
): Promise<Outcome[]> {
  const removals = p.actions.filter((a) => a.kind !== 'create');
  const settled = await mapLimit(removals, opts.concurrency ?? 8, async (a): Promise<Outcome> => {
    if (state.leaseLost) return skipLost(state, a);
    try {
      if (a.kind === 'unregister') return await unregisterOrphan(poolId, a, deps.azdo, log);
      if (a.kind === 'delete') return await deleteGroup(poolId, a, deps, log);
      return { action: a, status: 'skipped', why: 'not a removal' };
    } catch (err) {
      if (isLeaseLost(err)) return skipLost(state, a);
      log.error('action failed', {
        action: a.kind,
        group: a.kind === 'delete' ? a.group : undefined,
        error: errorText(err),
      });
      return { action: a, status: 'failed', error: errorText(err), kind: errorKind(err) };
    }
  });
  return settledOutcomes(removals, settled);
}

type CreateAction = Extract<Action, { kind: 'create' }>;

/** What one pass's creates share: the token, the time, and the back-off steps taken so far. */
interface CreateContext {
  pool: string;
  token: string;
  now: Date;
  /** Placements that hit quota this pass (back-off keys). */
  stopped: Set<string>;
  /** Profiles ARM throttled this pass. */
  throttledProfiles: Set<string>;
  opts: ReconcileOptions;
  deps: ReconcileDeps;
  log: Logger;
  state: ActState;
}

async function actCreates(
  pool: string,
  creates: CreateAction[],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  log: Logger,
  state: ActState,
): Promise<Outcome[]> {
  let token: string;
  try {
    token = await deps.secrets.getToken();
  } catch (err) {
    if (errorKind(err) === 'notReady') {
      // AZP_AUTH=entra observes without the PAT; the agents still need it (first deployment).
      const what = err instanceof Error ? err.message : String(err);
      if (once(deps, `notReady:${what}`)) log.warn(what);
      return creates.map((a) => ({ action: a, status: 'skipped', why: what }));
    }
    log.error('cannot read the agent PAT from Key Vault: no agents created this pass', { error: errorText(err) });
    return creates.map((a) => ({ action: a, status: 'failed', error: 'agent PAT unavailable', kind: 'secret' }));
  }
  const ctx: CreateContext = {
    pool,
    token,
    now: deps.clock.now(),
    stopped: new Set(),
    throttledProfiles: new Set(),
    opts,
    deps,
    log,
    state,
  };
  const profileByName = new Map(opts.profiles.map((x) => [x.name, x]));
  const settled = await mapLimit(creates, opts.createConcurrency ?? opts.concurrency ?? 8, (a) =>
    createOne(a, profileByName.get(a.profile), ctx),
  );
  return settledOutcomes(creates, settled);
}

/** One back-off step per placement per pass, however many creates fail. */
function backOffPlacement(ctx: CreateContext, kind: string, err: unknown, profile: string, placement: Placement): void {
  if (ctx.stopped.has(placement.key)) return;
  ctx.stopped.add(placement.key);
  const { deps, opts } = ctx;
  const prev = deps.backoff.get(placement.key);
  const reason = `${kind}: ${errorText(err)}`;
  const next =
    kind === 'throttled'
      ? throttleBackoff(prev, deps.clock.now(), reason, retryAfterOf(err), backoffPolicy(opts))
      : nextBackoff(prev, deps.clock.now(), reason, opts);
  deps.backoff.set(placement.key, next);
  ctx.log.warn('profile backs off after a capacity error', {
    profile,
    placement: placement.index,
    ...(placement.location ? { location: placement.location } : {}),
    until: next.until,
    failures: next.failures,
    error: errorText(err),
  });
}

/**
 * One create, trying the profile's placements in order (skipping those backing off); a retry
 * elsewhere is a new group name (ACI's fraud detection refuses one name deployed in several
 * regions at once).
 */
async function createOne(a: CreateAction, profile: ProfileConfig | undefined, ctx: CreateContext): Promise<Outcome> {
  const { deps, opts, state } = ctx;
  if (state.leaseLost) return skipLost(state, a);
  if (!profile) return { action: a, status: 'skipped', why: 'profile not configured' };
  let last: { err: unknown; kind: PortErrorKind | undefined; name: string } | undefined;
  for (const placement of openPlacements(profile, deps.backoff.all(), ctx.now)) {
    // A placeholder's name is fixed (its registration is looked up by it): it does not fall back.
    if (ctx.throttledProfiles.has(a.profile) || (a.placeholder && last)) break;
    if (ctx.stopped.has(placement.key)) continue;
    const name = a.placeholder
      ? placeholderName(opts.prefix, a.profile)
      : agentName(opts.prefix, a.profile, ctx.now.getTime(), deps.entropy());
    try {
      await deps.compute.createGroup({
        name,
        pool: ctx.pool,
        profile,
        placeholder: a.placeholder === true,
        token: ctx.token,
        createdAt: ctx.now.toISOString(),
        ...(placement.index > 0 ? { placement } : {}),
      });
      return { action: a, status: 'done', group: name };
    } catch (err) {
      if (isLeaseLost(err)) return skipLost(state, a);
      const kind = errorKind(err);
      last = { err, kind, name };
      if (kind === 'throttled') {
        // ARM throttles the subscription, not a region: the whole profile waits.
        ctx.throttledProfiles.add(a.profile);
        backOffPlacement(ctx, kind, err, a.profile, placement);
        break;
      }
      if (kind !== 'quota') break;
      backOffPlacement(ctx, kind, err, a.profile, placement);
    }
  }
  if (!last) return { action: a, status: 'skipped', why: 'profile backing off this pass' };
  if (last.kind !== 'quota' && last.kind !== 'throttled')
    ctx.log.error('create failed', {
      profile: a.profile,
      group: last.name,
      kind: last.kind,
      error: errorText(last.err),
    });
  return { action: a, status: 'failed', error: errorText(last.err), kind: last.kind };
}

/** Observe and plan one pool without acting (status, dry-run). */
export async function planPool(
  pool: string,
  groups: OwnedGroup[],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  webhookArrivals?: readonly WebhookArrival[],
): Promise<{ plan: Plan; poolId: number; probes: number; snapshot: PoolSnapshot; backoffUpdates: BackoffUpdate[] }> {
  const now = deps.clock.now();
  const observed = await observe(pool, groups, opts, deps, now, webhookArrivals);
  const { poolId, probes } = observed;
  // Capacity that failed late backs its placement off before the plan, so this pass creates no
  // replacement there; the pass (not status or a dry run) stores the change.
  const updates = backoffUpdates(
    observed.snapshot.groups,
    (g) => backoffKeyOf(g, opts.profiles),
    observed.registered,
    observed.snapshot.backoff,
    now,
    backoffPolicy(opts),
  );
  const backoff = { ...observed.snapshot.backoff };
  for (const u of updates) backoff[u.key] = u.state;
  const snapshot = { ...observed.snapshot, backoff };
  const policy: PoolPolicy = {
    prefix: opts.prefix,
    profiles: opts.profiles,
    ...(opts.warmTuning ? { warmTuning: opts.warmTuning } : {}),
  };
  return { plan: plan(snapshot, policy, now), poolId, probes, snapshot, backoffUpdates: updates };
}

/** The back-off key of the placement a group got; undefined when its profile or placement is not configured. */
function backoffKeyOf(
  g: { profile: string; placement?: string },
  profiles: readonly ProfileConfig[],
): string | undefined {
  const p = profiles.find((x) => x.name === g.profile);
  if (!p) return undefined;
  const index = placementIndexOf(g);
  return index < placementsOf(p).length ? placementKey(p.name, index) : undefined;
}

/** Stores what the groups seen this pass changed in the back-off state, and says so. */
function applyBackoffUpdates(updates: readonly BackoffUpdate[], deps: ReconcileDeps, log: Logger): void {
  for (const u of updates) {
    deps.backoff.set(u.key, u.state);
    if (u.why === 'lateCapacity') {
      log.warn('profile backs off after a capacity error', {
        profile: profileOfKey(u.key),
        placement: u.key,
        groups: u.groups.join(','),
        until: u.state?.until,
        failures: u.state?.failures,
        error: u.state?.reason,
      });
    } else
      log.info('capacity back-off ends: a group created since was provisioned', {
        placement: u.key,
        group: u.groups[0],
      });
  }
}

/** Reconcile one pool. Never throws: a failure is reported and acts on nothing. */
export async function reconcilePool(
  pool: string,
  groups: OwnedGroup[],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  webhookArrivals?: readonly WebhookArrival[],
): Promise<PoolResult> {
  const log = deps.logger.child({ pool });
  let planned: Awaited<ReturnType<typeof planPool>>;
  try {
    planned = await planPool(pool, groups, opts, deps, webhookArrivals);
  } catch (err) {
    if (errorKind(err) === 'notReady') {
      // A person still has to provide something (the PAT, first deployment): said once, not every pass.
      const what = err instanceof Error ? err.message : String(err);
      if (once(deps, `notReady:${what}`)) log.warn(what);
      return { pool, ok: false, error: what, outcomes: [], probes: 0 };
    }
    log.error('cannot observe the pool: acting on nothing this pass', { error: errorText(err), kind: errorKind(err) });
    return { pool, ok: false, error: errorText(err), outcomes: [], probes: 0 };
  }
  const { plan: p, poolId, probes } = planned;
  const jobs = planned.snapshot.jobs;
  if (!opts.dryRun) applyBackoffUpdates(planned.backoffUpdates, deps, log);
  for (const v of p.views) log.info(opts.dryRun ? 'decision (dry run)' : 'decision', decisionLine(v, p.actions));
  if (p.unmatchedJobs.length > 0)
    log.warn('queued jobs no profile can serve', {
      requests: p.unmatchedJobs.slice(0, 20),
      count: p.unmatchedJobs.length,
    });
  if (p.parallel && p.parallel.waiting > 0) {
    log.info('queued jobs wait for a self-hosted parallel job: no agents made for them', {
      waiting: p.parallel.waiting,
      free: p.parallel.free,
      total: p.parallel.total,
      used: p.parallel.used,
    });
  }
  if (opts.dryRun)
    return {
      pool,
      ok: true,
      plan: p,
      outcomes: p.actions.map((a) => ({ action: a, status: 'skipped', why: 'dry run' })),
      probes,
      jobs,
    };
  // The warm-agent estimators learn from every pass that acts (kept with the back-off state).
  for (const [profile, state] of Object.entries(p.warm ?? {})) deps.backoff.setWarm?.(profile, state);
  const outcomes = await act(poolId, pool, p, opts, deps, log);
  if (outcomes.some((o) => o.status === 'skipped' && o.why === LEASE_LOST)) {
    return {
      pool,
      ok: false,
      error: 'pool lease lost: the pass stopped before its remaining writes',
      plan: p,
      outcomes,
      probes,
      leaseLost: true,
      jobs,
    };
  }
  return { pool, ok: outcomes.every((o) => o.status !== 'failed'), plan: p, outcomes, probes, jobs };
}

/** The whole pass: one group list for the resource group, then every pool in isolation. */
export async function reconcile(
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  onlyPools?: readonly string[],
  input: PassInput = {},
): Promise<PassResult> {
  const startedAt = deps.clock.now().toISOString();
  let groups: OwnedGroup[];
  try {
    groups = await deps.compute.listGroups();
  } catch (err) {
    deps.logger.error('cannot list container groups: acting on nothing this pass', {
      error: errorText(err),
      kind: errorKind(err),
    });
    return {
      startedAt,
      finishedAt: deps.clock.now().toISOString(),
      dryRun: opts.dryRun,
      pools: [],
      error: errorText(err),
    };
  }
  // Pools that only our groups still name (their profiles were removed from the settings) are
  // swept too, so their groups go once idle instead of leaking. With a pool filter, the pass of
  // the first configured pool does the sweep (under that pool's lease: still one writer).
  const configured = poolsOf(opts.profiles);
  // Pool names compare case-insensitively: a group tagged under another spelling, or a pass asked
  // for under another spelling (--pool, ?pool=), is the configured pool.
  const listed = (p: string, names: readonly string[]) => names.some((n) => samePool(n, p));
  const unconfigured = distinctPools(groups.map((g) => g.pool)).filter((p) => !listed(p, configured));
  const sweep = !onlyPools || (configured[0] !== undefined && listed(configured[0], onlyPools));
  const pools = [...configured.filter((p) => !onlyPools || listed(p, onlyPools)), ...(sweep ? unconfigured : [])];
  const results: PoolResult[] = [];
  for (const pool of pools) {
    results.push(
      await reconcilePool(
        pool,
        groups.filter((g) => samePool(g.pool, pool)),
        opts,
        deps,
        input.webhookArrivals?.get(poolKey(pool)),
      ),
    );
  }
  return { startedAt, finishedAt: deps.clock.now().toISOString(), dryRun: opts.dryRun, pools: results };
}
