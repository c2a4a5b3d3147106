/** One line per planned action, for the decision log and the status view: "delete azp-lin-…: idle 300 s". */
import type { Action } from './types.js';

export function actionText(a: Action): string {
  const target = a.kind === 'delete' ? a.group : a.kind === 'create' ? `${a.profile}${a.placeholder ? ' (placeholder)' : ''}` : a.agentName;
  return `${a.kind} ${target}: ${a.reason}`;
}
