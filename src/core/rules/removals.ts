/** Removals by cause: each rule returns the deletes its capacity class calls for. */
import { removal, type DeleteAction } from '../delete.js';
import { inClass, usableIdle, type ProfileState } from './profile.js';

/** Finished agents: the group and any leftover registration go. */
export function removeFinished(s: ProfileState): DeleteAction[] {
  return inClass(s, 'finished').map((c) => removal(c.group, c.agent, 'finished', c.why));
}

/** Failed boots, newest first (the order `keepFailed` counts in). */
export function failedBoots(s: ProfileState) {
  return inClass(s, 'failedBoot').sort((a, b) => a.ageSec - b.ageSec);
}

/** Failed boots: delete, keeping the newest `keepFailed` for investigation. */
export function removeFailedBoots(s: ProfileState): DeleteAction[] {
  return failedBoots(s)
    .slice(s.policy.keepFailed)
    .map((c) => removal(c.group, c.agent, 'failedBoot', `failed boot: ${c.why}`));
}

/** Lost agents (online once, offline for a boot timeout, no job run): removed like the others. */
export function removeLost(s: ProfileState): DeleteAction[] {
  return inClass(s, 'lost').map((c) => removal(c.group, c.agent, 'lost', c.why));
}

/** Disabled idle agents take no job: remove them (safely: re-check the assignment first). */
export function removeDisabled(s: ProfileState): DeleteAction[] {
  return inClass(s, 'idle')
    .filter((x) => x.disabled)
    .map((c) => removal(c.group, c.agent, 'idle', 'agent is disabled (interrupted scale-down or operator)'));
}

/** Idle agents older than the max lifetime go (their replacements are created in the same pass). */
export function retireOverLifetime(s: ProfileState): DeleteAction[] {
  const max = s.policy.maxLifetimeSec;
  if (max <= 0) return [];
  return usableIdle(s)
    .filter((c) => c.ageSec > max)
    .map((c) => removal(c.group, c.agent, 'maxLifetime', `idle agent older than max lifetime ${max}s`));
}

/**
 * Idle trim: longest-idle first, past the idle timeout, beyond what the standby target and the
 * queued jobs about to land on idle agents need. `retired` (max lifetime) no longer counts.
 */
export function trimIdle(s: ProfileState, retired: readonly DeleteAction[]): DeleteAction[] {
  const gone = new Set(retired.map((a) => a.group));
  const keep = s.standby + s.queued;
  const remaining = usableIdle(s)
    .filter((c) => !gone.has(c.group.name))
    .sort((a, b) => (b.idleSec ?? 0) - (a.idleSec ?? 0));
  const out: DeleteAction[] = [];
  let excess = remaining.length - keep;
  for (const c of remaining) {
    if (excess <= 0) break;
    if ((c.idleSec ?? 0) < s.policy.idleTimeoutSec) continue;
    out.push(
      removal(
        c.group,
        c.agent,
        'idle',
        `idle ${Math.round(c.idleSec ?? 0)}s > ${s.policy.idleTimeoutSec}s beyond standby target ${s.standby}`,
      ),
    );
    excess--;
  }
  return out;
}
