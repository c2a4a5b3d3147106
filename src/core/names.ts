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

const GROUP_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export function isValidGroupName(name: string): boolean {
  return GROUP_NAME.test(name) && !name.includes('--');
}

/**
 * A unique agent name. `stamp` (milliseconds) and `entropy` (any non-negative integer) come from
 * the caller so this stays pure; together they make a 12-character base-36 suffix.
 */
export function agentName(prefix: string, profile: string, stamp: number, entropy: number): string {
  const t = Math.floor(stamp).toString(36).slice(-8).padStart(8, '0');
  const r = Math.floor(entropy).toString(36).slice(-4).padStart(4, '0');
  return `${prefix}-${profile}-${t}${r}`;
}

export function placeholderName(prefix: string, profile: string): string {
  return `${prefix}-${profile}-placeholder`;
}

/** True when `name` looks like an agent this deployment names for `profile`. */
export function isOurAgentName(name: string, prefix: string, profile: string): boolean {
  return name.startsWith(`${prefix}-${profile}-`) && /^[a-z0-9]{12}$/.test(name.slice(prefix.length + profile.length + 2));
}

export interface OwnershipTags {
  autoscalerId: string;
  pool: string;
  profile: string;
  createdAt: string;
  placeholder: boolean;
}

export function ownershipTags(t: OwnershipTags): Record<string, string> {
  return {
    [TAG_MANAGED_BY]: TAG_MANAGED_BY_VALUE,
    [TAG_AUTOSCALER_ID]: t.autoscalerId,
    [TAG_POOL]: t.pool,
    [TAG_PROFILE]: t.profile,
    [TAG_CREATED_AT]: t.createdAt,
    [TAG_ROLE]: t.placeholder ? 'placeholder' : 'agent',
  };
}

/** Reads our tags back; undefined when the group is not ours (or belongs to another deployment). */
export function readOwnership(tags: Record<string, string> | undefined, autoscalerId: string): OwnershipTags | undefined {
  if (!tags) return undefined;
  if (tags[TAG_MANAGED_BY] !== TAG_MANAGED_BY_VALUE || tags[TAG_AUTOSCALER_ID] !== autoscalerId) return undefined;
  const pool = tags[TAG_POOL];
  const profile = tags[TAG_PROFILE];
  const createdAt = tags[TAG_CREATED_AT];
  if (!pool || !profile || !createdAt) return undefined;
  return { autoscalerId, pool, profile, createdAt, placeholder: tags[TAG_ROLE] === 'placeholder' };
}
