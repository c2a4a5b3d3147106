/** Our groups and registrations that no configured profile of the pool accounts for. */
import { holdsJob } from '../classify.js';
import { removal } from '../delete.js';
import { isOurAgentName } from '../names.js';
import type { Action, AgentRegistration, OwnedGroup, ProfilePolicy } from '../types.js';

/** Groups tagged as ours for this pool whose profile no longer exists; never a busy one (it goes once its job is done). */
export function removeOrphanGroups(
  orphans: readonly OwnedGroup[],
  pool: string,
  agentsByName: ReadonlyMap<string, AgentRegistration>,
  busyNames: ReadonlySet<string>,
): Action[] {
  return orphans
    .filter((g) => !holdsJob(g.name, agentsByName.get(g.name), busyNames))
    .map((g) =>
      removal(
        g,
        agentsByName.get(g.name),
        'orphanGroup',
        `profile '${g.profile}' is no longer configured for pool '${pool}'`,
      ),
    );
}

/** Orphan registrations: our naming, offline, no job, and no group behind them. */
export function removeOrphanRegistrations(
  agents: readonly AgentRegistration[],
  groupNames: ReadonlySet<string>,
  busyNames: ReadonlySet<string>,
  profiles: readonly ProfilePolicy[],
  prefix: string,
): Action[] {
  const out: Action[] = [];
  for (const a of agents) {
    if (groupNames.has(a.name) || a.status !== 'offline' || holdsJob(a.name, a, busyNames)) continue;
    const owner = profiles.find((p) => isOurAgentName(a.name, prefix, p.name));
    if (!owner) continue;
    out.push({
      kind: 'unregister',
      agentId: a.id,
      agentName: a.name,
      reason: `offline registration of profile '${owner.name}' with no container group`,
    });
  }
  return out;
}
