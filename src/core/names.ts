/**
 * Names and tags of what we create. An agent's registration name equals its container group
 * name: `{prefix}-{profile}-{suffix}`, at most 63 characters, lowercase letters, digits, hyphens.
 */

export const TAG_MANAGED_BY = 'managed-by';
export const TAG_MANAGED_BY_VALUE = 'azp-aci-autoscaler';
export const TAG_AUTOSCALER_ID = 'autoscaler-id';
export const TAG_POOL = 'azp-pool';
export const TAG_PROFILE = 'azp-profile';
export const TAG_CREATED_AT = 'created-at';
export const TAG_ROLE = 'azp-role';
/** Which of the profile's placements the group got (src/core/placements.ts `placementTag`). */
export const TAG_PLACEMENT = 'azp-placement';

const GROUP_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidGroupName(name: string): boolean {
  return GROUP_NAME.test(name) && !name.includes('--');
}

/** Random base-36 characters in every agent name (36^12 ≈ 4.7e18 values). */
export const AGENT_NAME_RANDOM_CHARS = 12;
/** Base-36 milliseconds at the start of the suffix: names sort by creation time. */
const AGENT_NAME_TIME_CHARS = 8;
/** Length of the part after `{prefix}-{profile}-`. */
export const AGENT_NAME_SUFFIX_CHARS = AGENT_NAME_TIME_CHARS + AGENT_NAME_RANDOM_CHARS;
/** Suffix length of agent names made by earlier versions (8 time + 4 random): still ours. */
const LEGACY_SUFFIX_CHARS = 12;

/**
 * A unique agent name: `{prefix}-{profile}-{8 time chars}{12 random chars}`. `stamp`
 * (milliseconds) and `random` (at least 12 lowercase base-36 characters; the last 12 are used) come
 * from the caller so this stays pure. Every create of one pass shares the millisecond, so the
 * uniqueness within a pass rests on the random part alone.
 */
export function agentName(prefix: string, profile: string, stamp: number, random: string): string {
  if (random.length < AGENT_NAME_RANDOM_CHARS || !/^[a-z0-9]+$/.test(random)) {
    throw new Error(
      `agent name: the random part must be at least ${AGENT_NAME_RANDOM_CHARS} lowercase base-36 characters`,
    );
  }
  const t = Math.floor(stamp).toString(36).slice(-AGENT_NAME_TIME_CHARS).padStart(AGENT_NAME_TIME_CHARS, '0');
  return `${prefix}-${profile}-${t}${random.slice(-AGENT_NAME_RANDOM_CHARS)}`;
}

export function placeholderName(prefix: string, profile: string): string {
  return `${prefix}-${profile}-placeholder`;
}

/** True when `name` looks like an agent this deployment names for `profile` (any version's suffix). */
export function isOurAgentName(name: string, prefix: string, profile: string): boolean {
  if (!name.startsWith(`${prefix}-${profile}-`)) return false;
  const suffix = name.slice(prefix.length + profile.length + 2);
  return (
    (suffix.length === AGENT_NAME_SUFFIX_CHARS || suffix.length === LEGACY_SUFFIX_CHARS) && /^[a-z0-9]+$/.test(suffix)
  );
}

export interface OwnershipTags {
  autoscalerId: string;
  pool: string;
  profile: string;
  createdAt: string;
  placeholder: boolean;
  /** `index:location[/spot]`; absent on groups created before placements existed. */
  placement?: string;
}

export function ownershipTags(t: OwnershipTags): Record<string, string> {
  return {
    [TAG_MANAGED_BY]: TAG_MANAGED_BY_VALUE,
    [TAG_AUTOSCALER_ID]: t.autoscalerId,
    [TAG_POOL]: t.pool,
    [TAG_PROFILE]: t.profile,
    [TAG_CREATED_AT]: t.createdAt,
    [TAG_ROLE]: t.placeholder ? 'placeholder' : 'agent',
    ...(t.placement ? { [TAG_PLACEMENT]: t.placement } : {}),
  };
}

/** Reads our tags back; undefined when the group is not ours (or belongs to another deployment). */
export function readOwnership(
  tags: Record<string, string> | undefined,
  autoscalerId: string,
): OwnershipTags | undefined {
  if (!tags) return undefined;
  if (tags[TAG_MANAGED_BY] !== TAG_MANAGED_BY_VALUE || tags[TAG_AUTOSCALER_ID] !== autoscalerId) return undefined;
  const pool = tags[TAG_POOL];
  const profile = tags[TAG_PROFILE];
  const createdAt = tags[TAG_CREATED_AT];
  if (!pool || !profile || !createdAt) return undefined;
  const placement = tags[TAG_PLACEMENT];
  return {
    autoscalerId,
    pool,
    profile,
    createdAt,
    placeholder: tags[TAG_ROLE] === 'placeholder',
    ...(placement ? { placement } : {}),
  };
}
