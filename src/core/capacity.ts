/**
 * Capacity that fails late, and the back-off arithmetic every capacity error shares. Pure.
 *
 * ACI usually accepts the create (201) and ends its long-running operation as Failed when the
 * region has no capacity: the operation answers `status: "Failed"` with
 * `properties.events[{name: "InsufficientCapacity.", message: "The requested resource is not
 * available in the location '…' at this moment. Please retry with a different resource request or
 * in another location. …"}]` (as quoted in Azure/Azure-Landing-Zones#2404), and the group is left
 * with provisioningState `Failed` and those events. The list carries no events, so the pass GETs a
 * Failed group (src/reconcile/observe.ts `observe`) and reads its detail here.
 */
import type { BackoffState } from './types.js';

const CAPACITY =
  /InsufficientCapacity|not available in the location|quota '?ContainerGroups'? exceeded|ContainerGroupQuotaReached|SkuNotAvailable|insufficient capacity/i;

/** The capacity or quota cause in a Failed group's detail (its events), if that is why it failed. */
export function capacityCause(detail: string | undefined): string | undefined {
  if (!detail || !CAPACITY.test(detail)) return undefined;
  return detail.slice(0, 300);
}

export interface BackoffPolicy {
  /** First back-off, seconds (default 60). */
  baseSec?: number;
  /** Longest back-off, seconds (default 1800). */
  maxSec?: number;
}

/** Groups remembered as already counted per key (older names are dropped; their groups are long gone). */
const COUNTED_KEEP = 50;

/**
 * How a counted group is remembered: its name and creation time. A placeholder's name is fixed, so
 * the name alone would count only its first late failure and never its recreations.
 */
export function countedId(g: { name: string; createdAt: string }): string {
  return `${g.name} ${g.createdAt}`;
}

/** One back-off step: base · 2^(failures−1), capped. `group`: the late failure that caused it (its `countedId`, counted once). */
export function nextBackoff(
  prev: BackoffState | undefined,
  now: Date,
  reason: string,
  policy: BackoffPolicy = {},
  group?: string,
): BackoffState {
  const failures = (prev?.failures ?? 0) + 1;
  const sec = Math.min(policy.maxSec ?? 1800, (policy.baseSec ?? 60) * 2 ** (failures - 1));
  const counted = [...(prev?.counted ?? []), ...(group ? [group] : [])].slice(-COUNTED_KEEP);
  return {
    failures,
    until: new Date(now.getTime() + sec * 1000).toISOString(),
    reason,
    since: prev?.since ?? now.toISOString(),
    at: now.toISOString(),
    ...(counted.length ? { counted } : {}),
  };
}

/**
 * The back-off after a throttled create (ARM 429). ARM's answer "includes a Retry-After value, which
 * specifies the number of seconds your application should wait (or sleep) before sending the next
 * request" (learn.microsoft.com, azure-resource-manager/management/request-limits-and-throttling):
 * wait that long (within `maxSec`), and do not count it as a capacity failure, so the capacity
 * schedule does not double for it. Without a Retry-After, one capacity step.
 */
export function throttleBackoff(
  prev: BackoffState | undefined,
  now: Date,
  reason: string,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy = {},
): BackoffState {
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs < 0)
    return nextBackoff(prev, now, reason, policy);
  const ms = Math.min((policy.maxSec ?? 1800) * 1000, Math.max(1000, retryAfterMs));
  return {
    failures: prev?.failures ?? 0,
    until: new Date(now.getTime() + ms).toISOString(),
    reason,
    since: prev?.since ?? now.toISOString(),
    at: now.toISOString(),
    ...(prev?.counted?.length ? { counted: prev.counted } : {}),
  };
}

export interface BackoffUpdate {
  key: string;
  /** The new state; undefined clears the key's back-off. */
  state: BackoffState | undefined;
  why: 'lateCapacity' | 'recovered';
  groups: string[];
}

/**
 * What the groups seen this pass change in the back-off state:
 * - a group ARM failed for capacity after accepting it steps its placement's back-off, as a
 *   synchronous capacity error would; each group counts once (however many passes it is seen; a
 *   recreated placeholder, same name, is another group),
 *   and however many fail together, a placement takes one step per pass;
 * - a group created after the last step that ARM provisioned (provisioningState Succeeded) or whose
 *   agent registered ends its placement's back-off. An accepted PUT alone does not: with capacity
 *   that fails late, accepted is not yet provisioned.
 */
export function backoffUpdates(
  groups: readonly {
    name: string;
    profile: string;
    createdAt: string;
    provisioningState?: string;
    capacityFailure?: string;
    placement?: string;
  }[],
  keyOf: (group: { profile: string; placement?: string }) => string | undefined,
  registered: ReadonlySet<string>,
  backoff: Readonly<Record<string, BackoffState | undefined>>,
  now: Date,
  policy: BackoffPolicy = {},
): BackoffUpdate[] {
  const failed = new Map<string, { names: string[]; ids: string[]; cause: string }>();
  for (const g of groups) {
    if (!g.capacityFailure) continue;
    const key = keyOf(g);
    if (key === undefined || backoff[key]?.counted?.includes(countedId(g))) continue;
    const f = failed.get(key) ?? { names: [], ids: [], cause: g.capacityFailure };
    f.names.push(g.name);
    f.ids.push(countedId(g));
    failed.set(key, f);
  }
  const out: BackoffUpdate[] = [];
  for (const [key, f] of failed) {
    let state = nextBackoff(
      backoff[key],
      now,
      `capacity failed after the create was accepted: ${f.cause}`,
      policy,
      f.ids[0],
    );
    if (f.ids.length > 1)
      state = { ...state, counted: [...(state.counted ?? []), ...f.ids.slice(1)].slice(-COUNTED_KEEP) };
    out.push({ key, state, why: 'lateCapacity', groups: f.names });
  }
  for (const [key, prev] of Object.entries(backoff)) {
    if (!prev || failed.has(key)) continue;
    const since = Date.parse(prev.at ?? prev.until);
    const ok = groups.filter(
      (g) =>
        keyOf(g) === key &&
        !g.capacityFailure &&
        Date.parse(g.createdAt) > since &&
        (g.provisioningState === 'Succeeded' || registered.has(g.name)),
    );
    if (ok.length > 0) out.push({ key, state: undefined, why: 'recovered', groups: ok.map((g) => g.name) });
  }
  return out;
}

/**
 * The back-off step after a create failed for quota, capacity or throttling: ARM's Retry-After
 * when it throttled and gave one, else the next exponential step. `prev`: the placement's state in
 * the pass's snapshot (one step per placement per pass; the pass keeps that count).
 */
export function backoffAfterCreateError(
  prev: BackoffState | undefined,
  kind: 'quota' | 'throttled',
  now: Date,
  reason: string,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy = {},
): BackoffState {
  return kind === 'throttled'
    ? throttleBackoff(prev, now, reason, retryAfterMs, policy)
    : nextBackoff(prev, now, reason, policy);
}
