/** What every per-profile rule reads: one profile's classified groups and the demand it faces. */
import type { ClassifiedGroup } from '../classify.js';
import type { Action, CapacityClass, ProfilePolicy } from '../types.js';

export interface ProfileState {
  policy: ProfilePolicy;
  /** The profile's groups (not being deleted), classified. */
  groups: readonly ClassifiedGroup[];
  /** Queued jobs assigned to this profile (one job drives one agent). */
  queued: number;
  /** Idle agents the standby windows want now. */
  standby: number;
  /** A back-off after a capacity error is in force: no create. */
  inBackoff: boolean;
  /** The profile's placeholder registration exists. */
  placeholderRegistered: boolean;
}

/** A rule: the actions one concern asks for, from the profile's state. */
export type Rule = (s: ProfileState) => Action[];

export const inClass = (s: ProfileState, cls: CapacityClass): ClassifiedGroup[] =>
  s.groups.filter((x) => x.cls === cls);

/** Idle agents that can take a job (a disabled one cannot). */
export const usableIdle = (s: ProfileState): ClassifiedGroup[] => inClass(s, 'idle').filter((x) => !x.disabled);
