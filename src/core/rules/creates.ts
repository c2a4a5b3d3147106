/**
 * Creates: clamp(queued + standby − idle − starting, 0, min(maxAgents − live, maxCreatePerPass)).
 */
import { containerMayRun } from '../classify.js';
import type { Action } from '../types.js';
import { inClass, usableIdle, type ProfileState } from './profile.js';

/**
 * Groups that count against maxAgents: starting, busy and idle ones (a disabled idle agent takes no
 * job but its group still runs until its delete succeeds), and failed-boot or lost groups whose
 * container may still run: its agent may still come up (a late registration, a reconnect) and its
 * delete may be kept or fail.
 */
export function liveCount(s: ProfileState): number {
  const mayRunBroken = [...inClass(s, 'failedBoot'), ...inClass(s, 'lost')].filter((x) =>
    containerMayRun(x.group),
  ).length;
  return inClass(s, 'starting').length + inClass(s, 'busy').length + inClass(s, 'idle').length + mayRunBroken;
}

/**
 * Agents to create. `idleRemoved` usable idle agents are deleted in this pass (max lifetime, trim):
 * they no longer count, so their replacements are created in this same pass when still wanted.
 */
export function createAgents(s: ProfileState, idleRemoved: number): Action[] {
  const p = s.policy;
  const idle = usableIdle(s).length - idleRemoved;
  const starting = inClass(s, 'starting').length;
  const live = liveCount(s);
  const want = s.queued + s.standby - idle - starting;
  const room = Math.max(0, p.maxAgents - live);
  const n = Math.max(0, Math.min(want, room, p.maxCreatePerPass));
  const reason = `queued ${s.queued} + standby ${s.standby} − idle ${idle} − starting ${starting} (max ${p.maxAgents}, live ${live})`;
  return Array.from({ length: n }, () => ({ kind: 'create', profile: p.name, reason }));
}
