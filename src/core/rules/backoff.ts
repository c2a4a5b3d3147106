/** Back-off after a capacity error: no create of any kind while it is in force. */
import type { Action } from '../types.js';
import type { ProfileState } from './profile.js';

/** Back-off still in force at `now`? */
export function backoffActive(until: string | undefined, now: Date): boolean {
  return until !== undefined && Date.parse(until) > now.getTime();
}

/** The profile's actions with every create held back while the profile backs off. */
export function holdCreatesInBackoff(s: ProfileState, actions: readonly Action[]): Action[] {
  return s.inBackoff ? actions.filter((a) => a.kind !== 'create') : [...actions];
}
