/**
 * The planner: a pure function from what one pass observed to the actions it should take,
 * each with a reason. No I/O, no clock, no environment, no randomness.
 */
import { classifyGroup, classifyJob, isBeingDeleted, type ClassifiedGroup } from './classify.js';
import { candidateProfiles, compileProfiles } from './matching.js';
import { placeholderName } from './names.js';
import { placementSummary, profileBackoffUntil } from './placements.js';
import { samePool } from './pools.js';
import { matchJobsToSlots } from './slot-matching.js';
import { holdCreatesInBackoff } from './rules/backoff.js';
import { createAgents, liveCount } from './rules/creates.js';
import {
  orphanRegistrationCandidates,
  removeOrphanGroups,
  removeOrphanRegistrations,
  type OrphanCandidate,
} from './rules/orphans.js';
import { placeholderRule, placeholderState } from './rules/placeholder.js';
import { inClass, usableIdle, type ProfileState } from './rules/profile.js';
import {
  failedBoots,
  removeDisabled,
  removeFailedBoots,
  removeFinished,
  removeLost,
  retireOverLifetime,
  trimIdle,
} from './rules/removals.js';
import { arrivalsByProfile, wantsWarm, warmRule, type WarmOutcome } from './rules/warm.js';
import { standbyTarget } from './standby.js';
import type {
  Action,
  AgentRegistration,
  JobRequest,
  OwnedGroup,
  ParallelJobsView,
  Plan,
  PoolSnapshot,
  ProfilePolicy,
  ProfileView,
  WarmView,
} from './types.js';
import type { Arrival, WarmState, WarmTuning } from './warm/index.js';

export {
  classifyGroup,
  classifyJob,
  containerMayRun,
  containerTerminated,
  isBeingDeleted,
  provisioningFailed,
  type ClassifiedGroup,
} from './classify.js';
export { deleteModeFor } from './delete.js';

export interface PoolPolicy {
  /** AGENT_NAME_PREFIX: every agent and group name starts with `${prefix}-${profile}-`. */
  prefix: string;
  /** The profiles serving this pool, in configuration order (first match wins). */
  profiles: readonly ProfilePolicy[];
  /** The warm rule's tuning (default DEFAULT_WARM_TUNING; the lab's experiments pass others). */
  warmTuning?: Readonly<WarmTuning>;
}

export interface AssignOptions {
  /** Profile name → id of its placeholder registration: the server's matchedAgents decide for that profile. */
  placeholderIds?: ReadonlyMap<string, number>;
  /** Free self-hosted parallel jobs of the organization: at most this many queued jobs are scaled for. */
  freeParallel?: number;
}

/**
 * Each queued job goes to exactly one profile: one job drives one agent.
 * Candidates come from `candidateProfiles` (./matching.ts: the server's matchedAgents for profiles
 * with a placeholder, declared capabilities otherwise). With `slots` (jobs each profile can still
 * absorb: idle + starting + room to create), jobs are matched to slots (./slot-matching.ts): as
 * many jobs as possible get a slot, the oldest first; a job prefers its first candidate with a slot
 * left, and a job only one full profile can serve moves a job that can run elsewhere out of its way
 * (a demand-less job takes a slot on the second profile so that a docker-only one gets docker's).
 * A job with no slot anywhere waits on its first candidate. With `freeParallel`, queued jobs are
 * taken oldest first and those beyond the free parallel jobs wait (`waitingForParallel`): Azure
 * DevOps will not start them before a slot frees, so an agent made for them would sit idle.
 */
export function assignQueuedJobs(
  jobs: readonly JobRequest[],
  profiles: readonly ProfilePolicy[],
  slots?: ReadonlyMap<string, number>,
  options: AssignOptions = {},
): { byProfile: Map<string, JobRequest[]>; unmatched: JobRequest[]; waitingForParallel: JobRequest[] } {
  const compiled = compileProfiles(profiles, options.placeholderIds);
  const index = new Map(profiles.map((p, i) => [p.name, i]));
  const byProfile = new Map<string, JobRequest[]>(profiles.map((p) => [p.name, []]));
  const unmatched: JobRequest[] = [];
  const waitingForParallel: JobRequest[] = [];
  const taken: Array<{ job: JobRequest; candidates: number[] }> = [];
  let parallelLeft = options.freeParallel ?? Number.POSITIVE_INFINITY;
  for (const job of oldestFirst(jobs.filter((j) => classifyJob(j) === 'queued'))) {
    const candidates = candidateProfiles(job, compiled).map((c) => index.get(c.profile.policy.name)!);
    if (candidates.length === 0) unmatched.push(job);
    else if (parallelLeft <= 0) waitingForParallel.push(job);
    else {
      parallelLeft--;
      taken.push({ job, candidates });
    }
  }
  const matched = slots
    ? matchJobsToSlots(
        taken.map((t) => t.candidates),
        profiles.map((p) => slots.get(p.name) ?? 0),
      )
    : [];
  taken.forEach((t, i) => byProfile.get(profiles[matched[i] ?? t.candidates[0]!]!.name)!.push(t.job));
  return { byProfile, unmatched, waitingForParallel };
}

/** Queue order: queue time, then request id (stable for requests without a queue time). */
function oldestFirst(jobs: readonly JobRequest[]): JobRequest[] {
  const t = (j: JobRequest) => (j.queueTime ? Date.parse(j.queueTime) : Number.NaN);
  return [...jobs].sort((a, b) => {
    const ta = t(a);
    const tb = t(b);
    if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) return ta - tb;
    return a.requestId - b.requestId;
  });
}

/** The parallel-job cap of this pass, from what observe read (undefined: not read). */
export function parallelView(pj: PoolSnapshot['parallelJobs'], waiting: number): ParallelJobsView | undefined {
  if (!pj) return undefined;
  const v: ParallelJobsView = { source: pj.source, waiting };
  if (pj.total !== undefined) v.total = pj.total;
  if (pj.used !== undefined) v.used = pj.used;
  if (pj.source === 'resourceusage' && pj.total !== undefined) v.free = Math.max(0, pj.total - (pj.used ?? 0));
  if (pj.detail) v.detail = pj.detail;
  return v;
}

/**
 * The actions of one profile, rule by rule, in the order they are acted on and logged: removals
 * by cause, creates, the placeholder; back-off holds every create back.
 */
export function profileActions(s: ProfileState): Action[] {
  const retired = retireOverLifetime(s);
  const trimmed = trimIdle(s, retired);
  return holdCreatesInBackoff(s, [
    ...removeFinished(s),
    ...removeFailedBoots(s),
    ...removeLost(s),
    ...removeDisabled(s),
    ...retired,
    ...trimmed,
    ...createAgents(s, retired.length + trimmed.length),
    ...placeholderRule(s),
  ]);
}

/** The profile's summary for the decision log; creates and deletes are counted from its actions. */
function profileView(
  pool: string,
  running: number,
  s: ProfileState,
  actions: readonly Action[],
  backoffUntil: string | undefined,
  warm?: WarmOutcome,
): ProfileView {
  const count = (cls: ClassifiedGroup['cls']) => inClass(s, cls).length;
  return {
    pool,
    profile: s.policy.name,
    queued: s.queued,
    running,
    idle: usableIdle(s).length,
    starting: count('starting'),
    busy: count('busy'),
    finished: count('finished'),
    failedBoot: failedBoots(s).length,
    standbyTarget: s.standby,
    live: liveCount(s),
    maxAgents: s.policy.maxAgents,
    creates: actions.filter((a) => a.kind === 'create' && !a.placeholder).length,
    deletes: actions.filter((a) => a.kind === 'delete').length,
    backoffUntil: s.inBackoff ? backoffUntil : undefined,
    placeholder: placeholderState(s, actions),
    ...(warm ? { warm: warmView(s.policy, warm) } : {}),
  };
}

function warmView(p: ProfilePolicy, w: WarmOutcome): WarmView {
  const d = w.decision;
  return {
    targetWaitSec: p.targetWaitSec ?? 0,
    lambdaPerMin: Math.round(d.lambda.lambdaPerSec * 60 * 1000) / 1000,
    lambdaSource: d.lambda.source,
    refillSec: Math.round(d.refill.refillSec * 10) / 10,
    k: d.k,
    reason: d.reason,
    ...(d.nextBurst ? { nextBurst: d.nextBurst } : {}),
  };
}

/**
 * Jobs each profile can absorb now: usable idle + starting + room to create (none while backing off).
 */
function jobSlots(
  profiles: readonly ProfilePolicy[],
  classified: ReadonlyMap<string, ClassifiedGroup[]>,
  snapshot: PoolSnapshot,
  now: Date,
): Map<string, number> {
  return new Map(
    profiles.map((p) => {
      const c = classified.get(p.name)!;
      const ready = c.filter((x) => (x.cls === 'idle' && !x.disabled) || x.cls === 'starting').length;
      const live = ready + c.filter((x) => x.cls === 'busy').length;
      const room = profileBackoffUntil(p, snapshot.backoff, now) !== undefined ? 0 : Math.max(0, p.maxAgents - live);
      return [p.name, ready + room] as const;
    }),
  );
}

/** Names of the agents running jobs of the pool (reserved by a running request). */
function busyNamesOf(snapshot: PoolSnapshot): Set<string> {
  return new Set(
    snapshot.jobs
      .filter((j) => classifyJob(j) === 'running')
      .flatMap((j) => (j.reservedAgent ? [j.reservedAgent.name] : [])),
  );
}

/**
 * Registrations named like our orphans (offline, no job, no group behind them): the pass reads
 * their capabilities to prove them ours before the plan (`PoolSnapshot.provenOwn`).
 */
export function orphanCandidates(snapshot: PoolSnapshot, policy: PoolPolicy, now: Date): OrphanCandidate[] {
  const profiles = policy.profiles.filter((p) => samePool(p.pool, snapshot.pool));
  const groupNames = new Set(snapshot.groups.filter((g) => !isBeingDeleted(g)).map((g) => g.name));
  return orphanRegistrationCandidates(snapshot.agents, groupNames, busyNamesOf(snapshot), profiles, policy.prefix, now);
}

/** What the plan reads of a pool once, before it goes profile by profile. */
interface PoolView {
  profiles: readonly ProfilePolicy[];
  agentsByName: Map<string, AgentRegistration>;
  /** Names of the agents running jobs of the pool. */
  busyNames: Set<string>;
  runningJobs: number;
  /** Our groups of this pool that ARM is not already deleting. */
  ours: OwnedGroup[];
  classified: Map<string, ClassifiedGroup[]>;
  /** The queued jobs each profile takes, and the jobs no profile can serve. */
  byProfile: ReadonlyMap<string, readonly JobRequest[]>;
  unmatched: readonly JobRequest[];
  parallel: ParallelJobsView | undefined;
}

/** The pool as the plan sees it: groups classified per profile, queued jobs assigned to profiles. */
function viewPool(snapshot: PoolSnapshot, policy: PoolPolicy, now: Date): PoolView {
  const profiles = policy.profiles.filter((p) => samePool(p.pool, snapshot.pool));
  const agentsByName = new Map<string, AgentRegistration>();
  for (const a of snapshot.agents) agentsByName.set(a.name, a);
  const busyNames = busyNamesOf(snapshot);
  // A group ARM is already deleting is gone: no capacity, no failed boot, no second DELETE.
  const ours = snapshot.groups.filter((g) => !isBeingDeleted(g) && samePool(g.pool, snapshot.pool));
  const classified = new Map<string, ClassifiedGroup[]>(
    profiles.map((p) => [
      p.name,
      ours
        .filter((g) => g.profile === p.name)
        .map((g) => classifyGroup(g, agentsByName.get(g.name), busyNames, p, now)),
    ]),
  );
  const placeholderIds = new Map<string, number>();
  for (const p of profiles) {
    const ph = agentsByName.get(placeholderName(policy.prefix, p.name));
    if (ph) placeholderIds.set(p.name, ph.id);
  }
  const parallel = parallelView(snapshot.parallelJobs, 0);
  const assignOptions: AssignOptions = { placeholderIds };
  if (parallel?.free !== undefined) assignOptions.freeParallel = parallel.free;
  const { byProfile, unmatched, waitingForParallel } = assignQueuedJobs(
    snapshot.jobs,
    profiles,
    jobSlots(profiles, classified, snapshot, now),
    assignOptions,
  );
  if (parallel) parallel.waiting = waitingForParallel.length;
  const runningJobs = snapshot.jobs.filter((j) => classifyJob(j) === 'running').length;
  return { profiles, agentsByName, busyNames, runningJobs, ours, classified, byProfile, unmatched, parallel };
}

/** One profile's actions and view, and its warm outcome when it has a wait target. */
function planProfile(
  p: ProfilePolicy,
  pool: PoolView,
  snapshot: PoolSnapshot,
  policy: PoolPolicy,
  arrivals: ReadonlyMap<string, Arrival[]> | undefined,
  now: Date,
): { actions: Action[]; view: ProfileView; warm?: WarmOutcome } {
  // Every placement backing off holds the profile's creates; one open placement is enough to create.
  const backoffUntil = profileBackoffUntil(p, snapshot.backoff, now);
  const groups = pool.classified.get(p.name)!;
  // With a wait target, k warm agents (core/rules/warm.ts) join the standby schedule's count.
  const warm =
    arrivals && wantsWarm(p)
      ? warmRule(p, snapshot.warm?.[p.name], arrivals.get(p.name) ?? [], groups, now, policy.warmTuning)
      : undefined;
  const scheduled = standbyTarget(p.minAgents, p.standby, p.timeZone, now);
  const state: ProfileState = {
    policy: p,
    groups,
    queued: pool.byProfile.get(p.name)?.length ?? 0,
    standby: warm ? Math.max(scheduled, warm.decision.k) : scheduled,
    inBackoff: backoffUntil !== undefined,
    placeholderRegistered: pool.agentsByName.has(placeholderName(policy.prefix, p.name)),
  };
  const actions = profileActions(state);
  const view = profileView(snapshot.pool, pool.runningJobs, state, actions, backoffUntil, warm);
  const placements = placementSummary(pool.ours.filter((g) => g.profile === p.name));
  return { actions, view: placements ? { ...view, placements } : view, ...(warm ? { warm } : {}) };
}

/**
 * plan(snapshot, policy, now): the actions for one pool. Groups of a profile no longer configured
 * go first, then each profile's actions (`profileActions`), then orphan registrations proven ours.
 */
export function plan(snapshot: PoolSnapshot, policy: PoolPolicy, now: Date): Plan {
  const pool = viewPool(snapshot, policy, now);
  const configured = new Set(pool.profiles.map((p) => p.name));
  const actions: Action[] = removeOrphanGroups(
    pool.ours.filter((g) => !configured.has(g.profile)),
    snapshot.pool,
    pool.agentsByName,
    pool.busyNames,
  );
  const views: ProfileView[] = [];
  const warmStates: Record<string, WarmState> = {};
  const arrivals = pool.profiles.some(wantsWarm)
    ? arrivalsByProfile(
        snapshot.jobs,
        pool.profiles,
        pool.byProfile,
        policy.prefix,
        snapshot.webhookArrivals,
        snapshot.agents,
      )
    : undefined;
  for (const p of pool.profiles) {
    const planned = planProfile(p, pool, snapshot, policy, arrivals, now);
    if (planned.warm) warmStates[p.name] = planned.warm.state;
    actions.push(...planned.actions);
    views.push(planned.view);
  }
  actions.push(
    ...removeOrphanRegistrations(orphanCandidates(snapshot, policy, now), new Set(snapshot.provenOwn ?? [])),
  );

  const result: Plan = {
    views,
    actions,
    unmatchedJobs: pool.unmatched.map((j) => j.requestId),
    ...(arrivals ? { warm: warmStates } : {}),
  };
  if (pool.parallel) result.parallel = pool.parallel;
  return result;
}
