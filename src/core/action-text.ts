/** One line per planned action, for the decision log and the status view: "delete azp-lin-…: idle 300 s". */
import type { Action, ProfileView } from './types.js';

export function actionText(a: Action): string {
  const target =
    a.kind === 'delete'
      ? a.group
      : a.kind === 'create'
        ? `${a.profile}${a.placeholder ? ' (placeholder)' : ''}`
        : a.agentName;
  return `${a.kind} ${target}: ${a.reason}`;
}

/**
 * The fields of one profile's decision, shared by the decision log line and the decision event of
 * the telemetry: the view's counts and the distinct texts of the profile's planned actions.
 */
export function decisionFields(v: ProfileView, actions: readonly Action[]) {
  const mine = actions.filter((a) => a.kind !== 'unregister' && a.profile === v.profile);
  return {
    pool: v.pool,
    profile: v.profile,
    queued: v.queued,
    running: v.running,
    idle: v.idle,
    starting: v.starting,
    busy: v.busy,
    standby: v.standbyTarget,
    live: v.live,
    max: v.maxAgents,
    placeholder: v.placeholder,
    backoffUntil: v.backoffUntil,
    creates: v.creates,
    deletes: v.deletes,
    reasons: [...new Set(mine.map(actionText))],
  };
}
