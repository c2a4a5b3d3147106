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

/** A registration that looks like one of our orphans: it may be removed only once proven ours. */
export interface OrphanCandidate {
  agent: AgentRegistration;
  profile: string;
}

/**
 * Candidates for orphan removal: our naming, offline, no job, no group behind them, registered
 * longer ago than the profile's boot timeout (ARM's list can lag a create, so a fresh registration
 * with no listed group may be one of our booting agents: it counts like a starting group until
 * then). The name proves nothing (another deployment with the same prefix, a person): the pass
 * reads each one's capabilities (core/ownership.ts) before `removeOrphanRegistrations` may act on it.
 */
export function orphanRegistrationCandidates(
  agents: readonly AgentRegistration[],
  groupNames: ReadonlySet<string>,
  busyNames: ReadonlySet<string>,
  profiles: readonly ProfilePolicy[],
  prefix: string,
  now: Date,
): OrphanCandidate[] {
  const out: OrphanCandidate[] = [];
  for (const a of agents) {
    if (groupNames.has(a.name) || a.status !== 'offline' || holdsJob(a.name, a, busyNames)) continue;
    const owner = profiles.find((p) => isOurAgentName(a.name, prefix, p.name));
    if (!owner) continue;
    const registered = Date.parse(a.createdOn ?? '');
    if (!Number.isNaN(registered) && now.getTime() - registered < owner.bootTimeoutSec * 1000) continue;
    out.push({ agent: a, profile: owner.name });
  }
  return out;
}

/**
 * Orphan registrations: candidates (above) whose capabilities proved them ours this pass
 * (`proven`: registration ids). Never one that is only named like ours.
 */
export function removeOrphanRegistrations(
  candidates: readonly OrphanCandidate[],
  proven: ReadonlySet<number>,
): Action[] {
  return candidates
    .filter((c) => proven.has(c.agent.id))
    .map((c) => ({
      kind: 'unregister' as const,
      agentId: c.agent.id,
      agentName: c.agent.name,
      reason: `offline registration of profile '${c.profile}' with no container group (proven ours by its capabilities)`,
    }));
}
