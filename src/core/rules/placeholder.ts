/** The placeholder registration, so jobs queue when the pool has no agent. */
import { containerMayRun } from '../classify.js';
import { removal } from '../delete.js';
import type { Action, ProfileView } from '../types.js';
import { inClass, type ProfileState } from './profile.js';

/**
 * A placeholder group is one-shot: once its registration exists, or it ended or outlived the boot
 * timeout without registering, it goes (directly; the registration stays). With no registration
 * and no group on its way, one is created.
 */
export function placeholderRule(s: ProfileState): Action[] {
  if (!s.policy.placeholder) return [];
  const groups = inClass(s, 'placeholder');
  const out: Action[] = [];
  for (const c of groups) {
    const done = s.placeholderRegistered || !containerMayRun(c.group) || c.ageSec > s.policy.bootTimeoutSec;
    if (!done) continue;
    const reason = s.placeholderRegistered
      ? 'placeholder registered; its one-shot group is done'
      : 'placeholder group ended without registering';
    out.push(removal(c.group, 'keep', 'finished', reason));
  }
  if (!s.placeholderRegistered && groups.length === 0) {
    out.push({
      kind: 'create',
      profile: s.policy.name,
      placeholder: true,
      reason: 'no placeholder registration: jobs cannot queue at zero agents without one',
    });
  }
  return out;
}

/** The view's placeholder state, from the registration, the groups and the actions decided. */
export function placeholderState(s: ProfileState, actions: readonly Action[]): ProfileView['placeholder'] {
  if (!s.policy.placeholder) return 'disabled';
  if (s.placeholderRegistered) return 'present';
  const creating = inClass(s, 'placeholder').length > 0 || actions.some((a) => a.kind === 'create' && a.placeholder);
  return creating ? 'creating' : 'missing';
}
