/**
 * How a group may be deleted, and the one helper that builds a delete action. Every rule that
 * removes a group goes through `removal`, so `deleteModeFor` decides every delete's mode.
 */
import { containerTerminated } from './classify.js';
import type { Action, AgentRegistration, DeleteMode, OwnedGroup } from './types.js';

export type DeleteAction = Extract<Action, { kind: 'delete' }>;
export type DeleteCause = DeleteAction['cause'];

/**
 * THE DELETE RULE. No group whose container may still be running is deleted unless,
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

/**
 * The delete of one group, in the mode `deleteModeFor` decides. `registration`: the agent seen for
 * it (its registration goes with the group), or 'keep' for a placeholder, whose registration stays
 * and is never part of the delete.
 */
export function removal(
  group: OwnedGroup,
  registration: AgentRegistration | undefined | 'keep',
  cause: DeleteCause,
  reason: string,
): DeleteAction {
  if (registration === 'keep')
    return {
      kind: 'delete',
      profile: group.profile,
      group: group.name,
      mode: deleteModeFor(group, undefined),
      cause,
      reason,
    };
  return {
    kind: 'delete',
    profile: group.profile,
    group: group.name,
    agentId: registration?.id,
    mode: deleteModeFor(group, registration),
    cause,
    reason,
  };
}
