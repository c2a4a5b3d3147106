/**
 * The planner: a pure function from what one pass observed to the actions it should take,
 * each with a reason. No I/O, no clock, no environment, no randomness.
 */
import { indexCapabilities, matches, relevantDemands, type CapabilityIndex } from './demands.js';
import { isOurAgentName, placeholderName } from './names.js';
import { samePool } from './pools.js';
import { standbyTarget } from './standby.js';
import type {
  Action,
  AgentRegistration,
  CapacityClass,
  DeleteMode,
  JobClass,
  JobRequest,
  OwnedGroup,
  Plan,
  PoolSnapshot,
  ProfilePolicy,
  ProfileView,
} from './types.js';

export interface PoolPolicy {
  /** AGENT_NAME_PREFIX: every agent and group name starts with `${prefix}-${profile}-`. */
  prefix: string;
  /** The profiles serving this pool, in configuration order (first match wins). */
  profiles: readonly ProfilePolicy[];
}

/** Classification of one job request. An assigned request already has its agent. */
export function classifyJob(job: JobRequest): JobClass {
  if (job.result || job.finishTime) return 'finished';
  if (job.receiveTime || job.assignTime || job.reservedAgent) return 'running';
  return 'queued';
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

const TERMINAL_INSTANCE = new Set(['Succeeded', 'Failed', 'Stopped']);
const FAILED_PROVISIONING = new Set(['Failed', 'Canceled', 'Unhealthy']);
/** Status changes closer than this to the registration count as part of registering. */
const STATUS_CHANGE_SLACK_MS = 1000;

/** The container was seen terminated (instance state from a GET; list items carry none). */
export function containerTerminated(group: OwnedGroup): boolean {
  return group.instanceState !== undefined && TERMINAL_INSTANCE.has(group.instanceState);
}

/** A group ARM is deleting is gone: not capacity, not a failed boot, never deleted twice. */
export function isBeingDeleted(group: OwnedGroup): boolean {
  return group.provisioningState === 'Deleting';
}

/** Its container may still be running (and its agent may still register, connect and take a job). */
export function containerMayRun(group: OwnedGroup): boolean {
  return !containerTerminated(group) && !(group.provisioningState !== undefined && FAILED_PROVISIONING.has(group.provisioningState));
}

/**
 * THE DELETE RULE (issue 11). No group whose container may still be running is deleted unless,
 * after the last moment its agent could have been given a job, we saw that agent idle and unable
 * to take one:
 * - a container seen terminated runs no agent: delete it (and any registration) directly;
 * - a placeholder runs `config.sh` only, never a listener: its agent cannot take a job (direct,
 *   and its registration is never part of the delete);
 * - a registered agent, whatever the cause (idle, max lifetime, failed boot, lost, finished,
 *   orphan group, profile changed), is disabled -> re-read -> deleted only if still idle, else
 *   re-enabled and kept ('safe');
 * - an unregistered group is re-read by name immediately before the DELETE (registration and
 *   connect take seconds, a DELETE milliseconds); a registration found there sends it down the
 *   safe path ('recheck').
 * Provisioning Failed is not "seen terminated": only the instance state is.
 */
export function deleteModeFor(group: OwnedGroup, agent: AgentRegistration | undefined): DeleteMode {
  if (group.placeholder || containerTerminated(group)) return 'direct';
  return agent ? 'safe' : 'recheck';
}

export interface ClassifiedGroup {
  group: OwnedGroup;
  agent?: AgentRegistration;
  cls: CapacityClass;
  /** Why it is in that class, for the decision log. */
  why: string;
  ageSec: number;
  /** For idle agents: seconds since it last became idle. */
  idleSec?: number;
  /** Registration exists but is disabled (interrupted scale-down, or an operator). */
  disabled?: boolean;
}

const secondsBetween = (from: string | undefined, now: Date): number => {
  const t = from ? Date.parse(from) : Number.NaN;
  return Number.isNaN(t) ? 0 : Math.max(0, (now.getTime() - t) / 1000);
};

/**
 * The registration's status changed after it registered, so an offline agent was online before
 * (a registration starts offline; `statusChangedOn` is the last connectivity change).
 */
function wasOnline(agent: AgentRegistration): boolean {
  const created = Date.parse(agent.createdOn ?? '');
  const changed = Date.parse(agent.statusChangedOn ?? '');
  return !Number.isNaN(created) && !Number.isNaN(changed) && changed - created > STATUS_CHANGE_SLACK_MS;
}

/** Capacity classification of one of our groups from the agent registry (no GET needed). */
export function classifyGroup(
  group: OwnedGroup,
  agent: AgentRegistration | undefined,
  busyNames: ReadonlySet<string>,
  policy: Pick<ProfilePolicy, 'bootTimeoutSec'>,
  now: Date,
): ClassifiedGroup {
  const ageSec = secondsBetween(group.createdAt, now);
  const base = { group, agent, ageSec };
  if (group.placeholder) return { ...base, cls: 'placeholder', why: 'placeholder registration group' };
  if ((agent && agent.assignedRequestId !== undefined) || busyNames.has(group.name)) {
    return { ...base, cls: 'busy', why: `agent holds job ${agent?.assignedRequestId ?? '(reserved)'}` };
  }
  const terminal = containerTerminated(group);
  const provisioningFailed = group.provisioningState !== undefined && FAILED_PROVISIONING.has(group.provisioningState);
  if (agent) {
    if (agent.status === 'online') {
      const idleSince = [agent.lastCompletedFinishTime, agent.createdOn, group.createdAt]
        .filter((x): x is string => Boolean(x))
        .map((x) => Date.parse(x))
        .filter((x) => !Number.isNaN(x))
        .reduce((a, b) => Math.max(a, b), 0);
      const idleSec = idleSince > 0 ? Math.max(0, (now.getTime() - idleSince) / 1000) : ageSec;
      return { ...base, cls: 'idle', why: agent.enabled ? 'online, no job' : 'online but disabled', idleSec, disabled: !agent.enabled };
    }
    if (agent.lastCompletedFinishTime) return { ...base, cls: 'finished', why: 'ran its job and went offline' };
    if (terminal) return { ...base, cls: 'finished', why: `container ${group.instanceState} after registering` };
    if (provisioningFailed) return { ...base, cls: 'failedBoot', why: `provisioning ${group.provisioningState}` };
    if (wasOnline(agent)) {
      // Listener reconnect, agent self-update restart: a warm agent is offline for a moment. Not a
      // failed boot; it counts like a starting agent until it has been away for a boot timeout.
      const offlineSec = secondsBetween(agent.statusChangedOn, now);
      if (offlineSec < policy.bootTimeoutSec) return { ...base, cls: 'starting', why: `was online, offline for ${Math.round(offlineSec)}s (reconnecting?)` };
      return { ...base, cls: 'lost', why: `was online, offline for ${Math.round(offlineSec)}s (boot timeout ${policy.bootTimeoutSec}s) without running a job` };
    }
    if (ageSec < policy.bootTimeoutSec) return { ...base, cls: 'starting', why: 'registered, not online yet' };
    return { ...base, cls: 'failedBoot', why: `registered but never online within ${policy.bootTimeoutSec}s` };
  }
  if (provisioningFailed) return { ...base, cls: 'failedBoot', why: `provisioning ${group.provisioningState}` };
  if (group.instanceState === 'Succeeded') return { ...base, cls: 'finished', why: 'container exited 0 and its registration is gone' };
  if (terminal) return { ...base, cls: 'failedBoot', why: `container ${group.instanceState} without a registration` };
  if (ageSec < policy.bootTimeoutSec) return { ...base, cls: 'starting', why: 'no registration yet, within boot timeout' };
  return { ...base, cls: 'failedBoot', why: `no registration after ${Math.round(ageSec)}s (boot timeout ${policy.bootTimeoutSec}s)` };
}

/** Back-off still in force at `now`? */
function backoffActive(until: string | undefined, now: Date): boolean {
  return until !== undefined && Date.parse(until) > now.getTime();
}

/**
 * plan(snapshot, policy, now): the actions for one pool.
 * create = clamp(queued + standby − idle − starting, 0, min(maxAgents − live, maxCreatePerPass)).
 */
export function plan(snapshot: PoolSnapshot, policy: PoolPolicy, now: Date): Plan {
  const actions: Action[] = [];
  const views: ProfileView[] = [];
  const profiles = policy.profiles.filter((p) => samePool(p.pool, snapshot.pool));

  const agentsByName = new Map<string, AgentRegistration>();
  for (const a of snapshot.agents) agentsByName.set(a.name, a);

  let running = 0;
  const busyNames = new Set<string>();
  for (const j of snapshot.jobs) {
    if (classifyJob(j) === 'running') {
      running++;
      if (j.reservedAgent) busyNames.add(j.reservedAgent.name);
    }
  }
  // A group ARM is already deleting is gone: no capacity, no failed boot, no second DELETE.
  const groups = snapshot.groups.filter((g) => !isBeingDeleted(g));
  const groupNames = new Set(groups.map((g) => g.name));
  const groupsByProfile = new Map<string, OwnedGroup[]>(profiles.map((p) => [p.name, []]));

  // Groups tagged as ours for this pool whose profile no longer exists.
  for (const g of groups) {
    if (!samePool(g.pool, snapshot.pool)) continue;
    const list = groupsByProfile.get(g.profile);
    if (list) {
      list.push(g);
      continue;
    }
    const agent = agentsByName.get(g.name);
    const busy = (agent && agent.assignedRequestId !== undefined) || busyNames.has(g.name);
    if (busy) continue; // never cut a job off; it goes once the job is done
    actions.push({
      kind: 'delete',
      profile: g.profile,
      group: g.name,
      agentId: agent?.id,
      mode: deleteModeFor(g, agent),
      cause: 'orphanGroup',
      reason: `profile '${g.profile}' is no longer configured for pool '${snapshot.pool}'`,
    });
  }

  const classifiedByProfile = new Map(
    profiles.map((p) => [p.name, (groupsByProfile.get(p.name) ?? []).map((g) => classifyGroup(g, agentsByName.get(g.name), busyNames, p, now))]),
  );
  // Jobs each profile can absorb now: usable idle + starting + room to create (none while backing off).
  const slots = new Map(
    profiles.map((p) => {
      const c = classifiedByProfile.get(p.name)!;
      const ready = c.filter((x) => (x.cls === 'idle' && !x.disabled) || x.cls === 'starting').length;
      const live = ready + c.filter((x) => x.cls === 'busy').length;
      const room = backoffActive(snapshot.backoff[p.name]?.until, now) ? 0 : Math.max(0, p.maxAgents - live);
      return [p.name, ready + room] as const;
    }),
  );
  const { byProfile, unmatched } = assignQueuedJobs(snapshot.jobs, profiles, slots);

  for (const p of profiles) {
    const queuedJobs = byProfile.get(p.name) ?? [];
    const classified = classifiedByProfile.get(p.name)!;
    const count = (c: CapacityClass) => classified.filter((x) => x.cls === c).length;
    const idleAll = classified.filter((x) => x.cls === 'idle');
    const idleUsable = idleAll.filter((x) => !x.disabled);
    const starting = count('starting');
    const busy = count('busy');
    const target = standbyTarget(p.minAgents, p.standby, p.timeZone, now);
    const backoff = snapshot.backoff[p.name];
    const inBackoff = backoffActive(backoff?.until, now);
    let deletes = 0;

    // Finished agents: the group and any leftover registration go.
    for (const c of classified.filter((x) => x.cls === 'finished')) {
      actions.push({ kind: 'delete', profile: p.name, group: c.group.name, agentId: c.agent?.id, mode: deleteModeFor(c.group, c.agent), cause: 'finished', reason: c.why });
      deletes++;
    }

    // Failed boots: delete, keeping the newest `keepFailed` for investigation.
    const failed = classified.filter((x) => x.cls === 'failedBoot').sort((a, b) => a.ageSec - b.ageSec);
    failed.forEach((c, i) => {
      if (i < p.keepFailed) return;
      actions.push({ kind: 'delete', profile: p.name, group: c.group.name, agentId: c.agent?.id, mode: deleteModeFor(c.group, c.agent), cause: 'failedBoot', reason: `failed boot: ${c.why}` });
      deletes++;
    });

    // Lost agents (online once, offline for a boot timeout, no job run): removed like the others.
    const lost = classified.filter((x) => x.cls === 'lost');
    for (const c of lost) {
      actions.push({ kind: 'delete', profile: p.name, group: c.group.name, agentId: c.agent?.id, mode: deleteModeFor(c.group, c.agent), cause: 'lost', reason: c.why });
      deletes++;
    }

    // Disabled idle agents take no job: remove them (safely: re-check the assignment first).
    for (const c of idleAll.filter((x) => x.disabled)) {
      actions.push({ kind: 'delete', profile: p.name, group: c.group.name, agentId: c.agent?.id, mode: deleteModeFor(c.group, c.agent), cause: 'idle', reason: 'agent is disabled (interrupted scale-down or operator)' });
      deletes++;
    }

    // Idle trim and max lifetime. Queued jobs are about to land on idle agents: keep enough for them.
    const keep = target + queuedJobs.length;
    const trimmed = new Set<string>();
    for (const c of idleUsable) {
      if (p.maxLifetimeSec > 0 && c.ageSec > p.maxLifetimeSec) {
        actions.push({ kind: 'delete', profile: p.name, group: c.group.name, agentId: c.agent?.id, mode: deleteModeFor(c.group, c.agent), cause: 'maxLifetime', reason: `idle agent older than max lifetime ${p.maxLifetimeSec}s` });
        trimmed.add(c.group.name);
        deletes++;
      }
    }
    const remainingIdle = idleUsable.filter((c) => !trimmed.has(c.group.name)).sort((a, b) => (b.idleSec ?? 0) - (a.idleSec ?? 0));
    let excess = remainingIdle.length - keep;
    for (const c of remainingIdle) {
      if (excess <= 0) break;
      if ((c.idleSec ?? 0) < p.idleTimeoutSec) continue;
      actions.push({ kind: 'delete', profile: p.name, group: c.group.name, agentId: c.agent?.id, mode: deleteModeFor(c.group, c.agent), cause: 'idle', reason: `idle ${Math.round(c.idleSec ?? 0)}s > ${p.idleTimeoutSec}s beyond standby target ${target}` });
      trimmed.add(c.group.name);
      excess--;
      deletes++;
    }

    // Creates. Idle agents trimmed above (max lifetime) no longer count, so their replacements
    // are created in this same pass when the standby target still wants them.
    const idle = idleUsable.length - trimmed.size;
    // A disabled idle agent takes no job but its group still runs until its delete succeeds: it counts.
    // So does a failed-boot or lost group whose container may still run: its agent may still come
    // up (a late registration, a reconnect) and its delete may be kept or fail.
    const mayRunBroken = [...failed, ...lost].filter((x) => containerMayRun(x.group)).length;
    const live = starting + busy + idleAll.length + mayRunBroken;
    const want = queuedJobs.length + target - idle - starting;
    const room = Math.max(0, p.maxAgents - live);
    let creates = Math.max(0, Math.min(want, room, p.maxCreatePerPass));
    if (creates > 0 && inBackoff) {
      creates = 0;
    } else {
      for (let i = 0; i < creates; i++) {
        actions.push({
          kind: 'create',
          profile: p.name,
          reason: `queued ${queuedJobs.length} + standby ${target} − idle ${idle} − starting ${starting} (max ${p.maxAgents}, live ${live})`,
        });
      }
    }

    // Placeholder registration, so jobs queue when the pool has no agent.
    let placeholder: ProfileView['placeholder'] = 'disabled';
    if (p.placeholder) {
      const phName = placeholderName(policy.prefix, p.name);
      const registered = agentsByName.has(phName);
      const phGroups = classified.filter((x) => x.cls === 'placeholder');
      for (const c of phGroups) {
        const done = registered || (c.group.instanceState !== undefined && TERMINAL_INSTANCE.has(c.group.instanceState)) ||
          (c.group.provisioningState !== undefined && FAILED_PROVISIONING.has(c.group.provisioningState)) || c.ageSec > p.bootTimeoutSec;
        if (done) {
          actions.push({ kind: 'delete', profile: p.name, group: c.group.name, mode: deleteModeFor(c.group, undefined), cause: 'finished', reason: registered ? 'placeholder registered; its one-shot group is done' : 'placeholder group ended without registering' });
          deletes++;
        }
      }
      if (registered) placeholder = 'present';
      else if (phGroups.length > 0) placeholder = 'creating';
      else if (inBackoff) placeholder = 'missing';
      else {
        placeholder = 'creating';
        actions.push({ kind: 'create', profile: p.name, placeholder: true, reason: 'no placeholder registration: jobs cannot queue at zero agents without one' });
      }
    }

    views.push({
      pool: snapshot.pool,
      profile: p.name,
      queued: queuedJobs.length,
      running,
      idle: idleUsable.length,
      starting,
      busy,
      finished: count('finished'),
      failedBoot: failed.length,
      standbyTarget: target,
      live,
      maxAgents: p.maxAgents,
      creates,
      deletes,
      backoffUntil: inBackoff ? backoff?.until : undefined,
      placeholder,
    });
  }

  // Orphan registrations: our naming, offline, no job, and no group behind them.
  for (const a of snapshot.agents) {
    if (groupNames.has(a.name) || a.status !== 'offline' || a.assignedRequestId !== undefined || busyNames.has(a.name)) continue;
    const owner = profiles.find((p) => isOurAgentName(a.name, policy.prefix, p.name));
    if (!owner) continue;
    actions.push({ kind: 'unregister', agentId: a.id, agentName: a.name, reason: `offline registration of profile '${owner.name}' with no container group` });
  }

  return { views, actions, unmatchedJobs: unmatched.map((j) => j.requestId) };
}
