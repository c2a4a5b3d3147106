/**
 * The observe part of the pass: one pool's job requests, agents and our groups (listed once for
 * the resource group by ./pass.ts), a GET for groups that went silent, the pool's state (back-off,
 * warm) read once, and the plan made from that one snapshot.
 */
import { profilePolicy } from '../config/policy.js';
import { decisionFields } from '../core/action-text.js';
import { backoffUpdates, capacityCause, type BackoffUpdate } from '../core/capacity.js';
import { applyExpectations } from '../core/expectations.js';
import { capabilityDifference, reportedByProfile } from '../core/matching.js';
import { placeholderName } from '../core/names.js';
import { placementIndexOf, placementKey, placementsOf } from '../core/placements.js';
import { samePool } from '../core/pools.js';
import { plan, type PoolPolicy } from '../core/plan.js';
import type {
  Action,
  AgentRegistration,
  OwnedGroup,
  ParallelJobs,
  Plan,
  PoolSnapshot,
  ProfileView,
  WebhookArrival,
} from '../core/types.js';
import type { ProfileConfig } from '../config/schema.js';
import { emptyPoolState, type Logger, type PoolState } from '../ports/index.js';
import { mapLimit } from '../util/limit.js';
import { errorText } from '../util/log.js';
import { proveOrphans } from './ownership.js';
import { ownershipOf } from '../core/ownership.js';
import { backoffPolicy, once, type ReconcileDeps, type ReconcileOptions } from './types.js';

/** Observe one pool: job requests, agents, our groups (given), plus GETs for silent groups. */
async function observe(
  pool: string,
  groups: OwnedGroup[],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  now: Date,
  state: PoolState,
  webhookArrivals: readonly WebhookArrival[] = [],
  unlisted: readonly string[] = [],
): Promise<{ snapshot: PoolSnapshot; poolId: number; probes: number; registered: ReadonlySet<string> }> {
  const poolId = await deps.azdo.resolvePoolId(pool);
  const [jobs, agents, parallelJobs] = await Promise.all([
    deps.azdo.listJobRequests(poolId),
    deps.azdo.listAgents(poolId),
    readParallelJobs(deps),
  ]);
  await auditPlaceholderCapabilities(pool, poolId, agents, opts, deps);
  const registered = new Set(agents.map((a) => a.name));
  const { enriched, probes, gone } = await probeSilentGroups(groups, registered, new Set(unlisted), now, opts, deps);
  for (const name of gone) delete state.expected.creates[name];
  const warm = Object.fromEntries(
    opts.profiles.filter((p) => p.targetWaitSec !== undefined).map((p) => [p.name, state.warm[p.name]]),
  );
  const snapshot: PoolSnapshot = { pool, jobs, agents, groups: enriched, backoff: { ...state.backoff }, warm };
  if (parallelJobs) snapshot.parallelJobs = parallelJobs;
  if (webhookArrivals.length > 0) snapshot.webhookArrivals = [...webhookArrivals];
  // A registration with no group of ours is touched only once its capabilities prove it ours.
  const provenOwn = await proveOrphans(snapshot, poolId, now, {
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
  return { snapshot, poolId, probes, registered };
}

/**
 * A --once agent that finished and unregistered looks like one still booting. One GET tells them
 * apart; it is spent only on groups in that state, so the steady state stays O(1). A group ARM
 * failed gets one GET too: its events say whether capacity failed late (InsufficientCapacity after
 * an accepted create), which backs its placement off.
 */
async function probeSilentGroups(
  groups: OwnedGroup[],
  registered: ReadonlySet<string>,
  unlisted: ReadonlySet<string>,
  now: Date,
  opts: ReconcileOptions,
  deps: ReconcileDeps,
): Promise<{ enriched: OwnedGroup[]; probes: number; gone: Set<string> }> {
  const probeAfter = opts.probeAfterSec ?? 60;
  const age = (g: OwnedGroup) => (now.getTime() - Date.parse(g.createdAt)) / 1000;
  const failed = groups.filter((g) => g.provisioningState === 'Failed');
  const silent = [
    ...failed,
    ...groups
      .filter(
        (g) =>
          !registered.has(g.name) &&
          !unlisted.has(g.name) &&
          g.instanceState === undefined &&
          g.provisioningState !== 'Failed' &&
          g.provisioningState !== 'Deleting',
      )
      .filter((g) => age(g) >= probeAfter),
    // A create no list shows this long after it was sent: one GET says whether it ever landed.
    ...groups.filter((g) => unlisted.has(g.name) && age(g) >= Math.max(probeAfter, UNLISTED_PROBE_SEC)),
  ].slice(0, opts.maxProbesPerPass ?? 20);
  const gone = new Set<string>();
  const probed = await mapLimit(silent, opts.concurrency ?? 8, async (g) => {
    try {
      const d = await deps.compute.getGroup(g.name);
      if (!d && unlisted.has(g.name)) gone.add(g.name);
      return d;
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
  return { enriched: enriched.filter((g) => !gone.has(g.name)), probes: silent.length, gone };
}

/**
 * An expected create not listed this long after it was sent (longer than ARM takes to answer a
 * PUT, 30 s, plus a list's lag) gets one GET: a 404 means it never landed, and it stops counting.
 */
const UNLISTED_PROBE_SEC = 60;

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
    // Same prefix and profile name in another deployment: one placeholder name for both. Never
    // touched (not ours); the operator is told, since matching then follows their image.
    if (opts.identity && ownershipOf(reported, ph.name, opts.identity).verdict === 'theirs') {
      deps.logger.warn(
        'the placeholder registration belongs to another deployment (its AZP_AUTOSCALER_ID): jobs are matched against its image, and no placeholder of ours is made',
        {
          pool,
          profile: profile.name,
          placeholder: ph.name,
          fix: 'give the deployments sharing this pool distinct AGENT_NAME_PREFIX values (or profile names)',
        },
      );
    }
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

/** Observe and plan one pool without acting (status, dry-run). */
export async function planPool(
  pool: string,
  groups: OwnedGroup[],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  input: { state?: PoolState; arrivals?: readonly WebhookArrival[] } = {},
): Promise<{ plan: Plan; poolId: number; probes: number; snapshot: PoolSnapshot; backoffUpdates: BackoffUpdate[] }> {
  const now = deps.clock.now();
  const state = input.state ?? (await readPoolState(pool, deps, deps.logger)).state;
  // What we sent and no list shows yet counts as starting; a group we deleted, as being deleted.
  const expected = applyExpectations(groups, state.expected, now, {
    createSec: (name) => opts.profiles.find((p) => p.name === name)?.bootTimeoutSec ?? 600,
  });
  state.expected = expected.open;
  const observed = await observe(pool, expected.groups, opts, deps, now, state, input.arrivals, expected.unlisted);
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
    profiles: opts.profiles.map(profilePolicy),
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

/**
 * The pool's state for this pass. Unreadable storage is an empty state (the pass goes on without
 * it) that the pass must not save over the one it could not read.
 */
export async function readPoolState(
  pool: string,
  deps: ReconcileDeps,
  log: Logger,
): Promise<{ state: PoolState; readable: boolean }> {
  try {
    return { state: await deps.poolState.load(pool), readable: true };
  } catch (err) {
    log.warn('pool state: load failed; the pass goes on without it', { pool, error: errorText(err) });
    return { state: emptyPoolState(), readable: false };
  }
}

export function decisionLine(v: ProfileView, actions: Action[]): Record<string, unknown> {
  const warm = v.warm
    ? { warm: { k: v.warm.k, lambdaPerMin: v.warm.lambdaPerMin, refillSec: v.warm.refillSec, why: v.warm.reason } }
    : {};
  return { ...decisionFields(v, actions), ...warm };
}
