/**
 * Classification: what one job request is (queued, running, finished) and what capacity class one
 * of our groups is in (starting, idle, busy, finished, failed boot, lost, placeholder). Pure.
 */
import type { AgentRegistration, CapacityClass, JobClass, JobRequest, OwnedGroup, ProfilePolicy } from './types.js';

/** Classification of one job request. An assigned request already has its agent. */
export function classifyJob(job: JobRequest): JobClass {
  if (job.result || job.finishTime) return 'finished';
  if (job.receiveTime || job.assignTime || job.reservedAgent) return 'running';
  return 'queued';
}

const TERMINAL_INSTANCE = new Set(['Succeeded', 'Failed', 'Stopped']);
const FAILED_PROVISIONING = new Set(['Failed', 'Canceled', 'Unhealthy']);
/** Status changes closer than this to the registration count as part of registering. */
const STATUS_CHANGE_SLACK_MS = 1000;

/** The container was seen terminated (instance state from a GET; list items carry none). */
export function containerTerminated(group: OwnedGroup): boolean {
  return group.instanceState !== undefined && TERMINAL_INSTANCE.has(group.instanceState);
}

/** ARM gave up provisioning the group (its container never started, or no longer runs). */
export function provisioningFailed(group: OwnedGroup): boolean {
  return group.provisioningState !== undefined && FAILED_PROVISIONING.has(group.provisioningState);
}

/** A group ARM is deleting is gone: not capacity, not a failed boot, never deleted twice. */
export function isBeingDeleted(group: OwnedGroup): boolean {
  return group.provisioningState === 'Deleting';
}

/** Its container may still be running (and its agent may still register, connect and take a job). */
export function containerMayRun(group: OwnedGroup): boolean {
  return !containerTerminated(group) && !provisioningFailed(group);
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

/** An agent holds a job: its registration says so, or a running request is reserved for it. */
export function holdsJob(name: string, agent: AgentRegistration | undefined, busyNames: ReadonlySet<string>): boolean {
  return (agent !== undefined && agent.assignedRequestId !== undefined) || busyNames.has(name);
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
  if (holdsJob(group.name, agent, busyNames)) {
    return { ...base, cls: 'busy', why: `agent holds job ${agent?.assignedRequestId ?? '(reserved)'}` };
  }
  if (agent) return classifyRegistered({ ...base, agent }, policy, now);
  if (provisioningFailed(group)) return { ...base, cls: 'failedBoot', why: `provisioning ${group.provisioningState}` };
  if (group.instanceState === 'Succeeded')
    return { ...base, cls: 'finished', why: 'container exited 0 and its registration is gone' };
  if (containerTerminated(group))
    return { ...base, cls: 'failedBoot', why: `container ${group.instanceState} without a registration` };
  if (ageSec < policy.bootTimeoutSec)
    return { ...base, cls: 'starting', why: 'no registration yet, within boot timeout' };
  return {
    ...base,
    cls: 'failedBoot',
    why: `no registration after ${Math.round(ageSec)}s (boot timeout ${policy.bootTimeoutSec}s)`,
  };
}

/** A group whose agent registered, holding no job: idle, finished, starting, lost or a failed boot. */
function classifyRegistered(
  base: { group: OwnedGroup; agent: AgentRegistration; ageSec: number },
  policy: Pick<ProfilePolicy, 'bootTimeoutSec'>,
  now: Date,
): ClassifiedGroup {
  const { group, agent, ageSec } = base;
  if (agent.status === 'online') {
    return {
      ...base,
      cls: 'idle',
      why: agent.enabled ? 'online, no job' : 'online but disabled',
      idleSec: idleSeconds(group, agent, ageSec, now),
      disabled: !agent.enabled,
    };
  }
  if (agent.lastCompletedFinishTime) return { ...base, cls: 'finished', why: 'ran its job and went offline' };
  if (containerTerminated(group))
    return { ...base, cls: 'finished', why: `container ${group.instanceState} after registering` };
  if (provisioningFailed(group)) return { ...base, cls: 'failedBoot', why: `provisioning ${group.provisioningState}` };
  if (wasOnline(agent)) {
    // Listener reconnect, agent self-update restart: a warm agent is offline for a moment. Not a
    // failed boot; it counts like a starting agent until it has been away for a boot timeout.
    const offlineSec = secondsBetween(agent.statusChangedOn, now);
    if (offlineSec < policy.bootTimeoutSec)
      return { ...base, cls: 'starting', why: `was online, offline for ${Math.round(offlineSec)}s (reconnecting?)` };
    return {
      ...base,
      cls: 'lost',
      why: `was online, offline for ${Math.round(offlineSec)}s (boot timeout ${policy.bootTimeoutSec}s) without running a job`,
    };
  }
  if (ageSec < policy.bootTimeoutSec) return { ...base, cls: 'starting', why: 'registered, not online yet' };
  return { ...base, cls: 'failedBoot', why: `registered but never online within ${policy.bootTimeoutSec}s` };
}

/** Seconds an online agent has been idle: since its last job, its registration or its group, whichever is latest. */
function idleSeconds(group: OwnedGroup, agent: AgentRegistration, ageSec: number, now: Date): number {
  const idleSince = [agent.lastCompletedFinishTime, agent.createdOn, group.createdAt]
    .filter((x): x is string => Boolean(x))
    .map((x) => Date.parse(x))
    .filter((x) => !Number.isNaN(x))
    .reduce((a, b) => Math.max(a, b), 0);
  return idleSince > 0 ? Math.max(0, (now.getTime() - idleSince) / 1000) : ageSec;
}
