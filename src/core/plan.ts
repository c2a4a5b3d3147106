/**
 * The planner: a pure function from what one pass observed to the actions it should take,
 * each with a reason. No I/O, no clock, no environment, no randomness.
 */
import { classifyGroup, classifyJob, isBeingDeleted, type ClassifiedGroup } from './classify.js';
import { indexCapabilities, matches, relevantDemands, type CapabilityIndex } from './demands.js';
import { placeholderName } from './names.js';
import { samePool } from './pools.js';
import { backoffActive, holdCreatesInBackoff } from './rules/backoff.js';
import { createAgents, liveCount } from './rules/creates.js';
import { removeOrphanGroups, removeOrphanRegistrations } from './rules/orphans.js';
import { placeholderRule, placeholderState } from './rules/placeholder.js';
import { inClass, usableIdle, type ProfileState } from './rules/profile.js';
import { failedBoots, removeDisabled, removeFailedBoots, removeFinished, removeLost, retireOverLifetime, trimIdle } from './rules/removals.js';
import { standbyTarget } from './standby.js';
import type { Action, AgentRegistration, JobRequest, Plan, PoolSnapshot, ProfilePolicy, ProfileView } from './types.js';

export { classifyGroup, classifyJob, containerMayRun, containerTerminated, isBeingDeleted, provisioningFailed, type ClassifiedGroup } from './classify.js';
export { deleteModeFor } from './delete.js';

export interface PoolPolicy {
  /** AGENT_NAME_PREFIX: every agent and group name starts with `${prefix}-${profile}-`. */
  prefix: string;
  /** The profiles serving this pool, in configuration order (first match wins). */
  profiles: readonly ProfilePolicy[];
}

interface CompiledProfile {
  policy: ProfilePolicy;
  caps: CapabilityIndex;
}

function compile(profiles: readonly ProfilePolicy[]): CompiledProfile[] {
  return profiles.map((policy) => ({ policy, caps: indexCapabilities(policy.capabilities, policy.caseSensitive) }));
}

/**
 * Each queued job goes to exactly one profile: one job drives one agent.
 * With `slots` (jobs each profile can still absorb: idle + starting + room to create), a job goes
 * to the first matching profile that has a slot left, and spills over to the next matching one
 * when the first is full or backing off; with no slot anywhere it waits on its first match.
 */
export function assignQueuedJobs(
  jobs: readonly JobRequest[],
  profiles: readonly ProfilePolicy[],
  slots?: ReadonlyMap<string, number>,
): { byProfile: Map<string, JobRequest[]>; unmatched: JobRequest[] } {
  const compiled = compile(profiles);
  const byProfile = new Map<string, JobRequest[]>(profiles.map((p) => [p.name, []]));
  const left = new Map(slots ?? []);
  const unmatched: JobRequest[] = [];
  for (const job of jobs) {
    if (classifyJob(job) !== 'queued') continue;
    const demands = relevantDemands(job.demands);
    const candidates = compiled.filter((p) => matches(demands, p.caps, p.policy.matchMode));
    const withSlot = slots ? candidates.find((p) => (left.get(p.policy.name) ?? 0) > 0) : undefined;
    const p = (withSlot ?? candidates[0])?.policy;
    if (!p) {
      unmatched.push(job);
      continue;
    }
    if (withSlot) left.set(p.name, left.get(p.name)! - 1);
    byProfile.get(p.name)!.push(job);
  }
  return { byProfile, unmatched };
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
function profileView(pool: string, running: number, s: ProfileState, actions: readonly Action[], backoffUntil: string | undefined): ProfileView {
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
  };
}

/**
 * Jobs each profile can absorb now: usable idle + starting + room to create (none while backing off).
 */
function jobSlots(profiles: readonly ProfilePolicy[], classified: ReadonlyMap<string, ClassifiedGroup[]>, snapshot: PoolSnapshot, now: Date): Map<string, number> {
  return new Map(
    profiles.map((p) => {
      const c = classified.get(p.name)!;
      const ready = c.filter((x) => (x.cls === 'idle' && !x.disabled) || x.cls === 'starting').length;
      const live = ready + c.filter((x) => x.cls === 'busy').length;
      const room = backoffActive(snapshot.backoff[p.name]?.until, now) ? 0 : Math.max(0, p.maxAgents - live);
      return [p.name, ready + room] as const;
    }),
  );
}

/**
 * plan(snapshot, policy, now): the actions for one pool. Groups of a profile no longer configured
 * go first, then each profile's actions (`profileActions`), then orphan registrations.
 */
export function plan(snapshot: PoolSnapshot, policy: PoolPolicy, now: Date): Plan {
  const profiles = policy.profiles.filter((p) => samePool(p.pool, snapshot.pool));
  const agentsByName = new Map<string, AgentRegistration>();
  for (const a of snapshot.agents) agentsByName.set(a.name, a);

  const runningJobs = snapshot.jobs.filter((j) => classifyJob(j) === 'running');
  const busyNames = new Set(runningJobs.flatMap((j) => (j.reservedAgent ? [j.reservedAgent.name] : [])));
  // A group ARM is already deleting is gone: no capacity, no failed boot, no second DELETE.
  const groups = snapshot.groups.filter((g) => !isBeingDeleted(g));
  const ours = groups.filter((g) => samePool(g.pool, snapshot.pool));
  const configured = new Set(profiles.map((p) => p.name));

  const classified = new Map<string, ClassifiedGroup[]>(
    profiles.map((p) => [p.name, ours.filter((g) => g.profile === p.name).map((g) => classifyGroup(g, agentsByName.get(g.name), busyNames, p, now))]),
  );
  const { byProfile, unmatched } = assignQueuedJobs(snapshot.jobs, profiles, jobSlots(profiles, classified, snapshot, now));

  const actions: Action[] = removeOrphanGroups(
    ours.filter((g) => !configured.has(g.profile)),
    snapshot.pool,
    agentsByName,
    busyNames,
  );
  const views: ProfileView[] = [];
  for (const p of profiles) {
    const backoff = snapshot.backoff[p.name];
    const state: ProfileState = {
      policy: p,
      groups: classified.get(p.name)!,
      queued: byProfile.get(p.name)?.length ?? 0,
      standby: standbyTarget(p.minAgents, p.standby, p.timeZone, now),
      inBackoff: backoffActive(backoff?.until, now),
      placeholderRegistered: agentsByName.has(placeholderName(policy.prefix, p.name)),
    };
    const mine = profileActions(state);
    actions.push(...mine);
    views.push(profileView(snapshot.pool, runningJobs.length, state, mine, backoff?.until));
  }
  actions.push(...removeOrphanRegistrations(snapshot.agents, new Set(groups.map((g) => g.name)), busyNames, profiles, policy.prefix));

  return { views, actions, unmatchedJobs: unmatched.map((j) => j.requestId) };
}
