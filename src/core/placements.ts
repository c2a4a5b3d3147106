/**
 * Placements: where a profile's groups are created. Placement 0 is the profile's own (ACI_LOCATION,
 * the profile's `spot`); `fallback` lists more, tried in order when ARM answers a create, or fails
 * a group after accepting it, with a capacity or quota error. Each placement backs off on its own:
 * placement 0 under the profile's name (the key back-off state always had), placement i under
 * `profile@i`. The profile backs off only when every placement does. Pure.
 */
import { backoffActive } from './rules/backoff.js';
import type { BackoffState, OwnedGroup, PlacementSpec, ProfilePolicy } from './types.js';

export interface Placement {
  index: number;
  /** Back-off store key. */
  key: string;
  /** ACI location; undefined = the deployment's ACI_LOCATION. */
  location?: string;
  spot: boolean;
}

type PlacementPolicy = Pick<ProfilePolicy, 'name' | 'spot' | 'fallback'>;

/** Back-off key of a profile's placement. */
export function placementKey(profile: string, index: number): string {
  return index === 0 ? profile : `${profile}@${index}`;
}

/** The profile a back-off key belongs to. */
export function profileOfKey(key: string): string {
  const at = key.indexOf('@');
  return at < 0 ? key : key.slice(0, at);
}

export function placementsOf(p: PlacementPolicy): Placement[] {
  const specs: PlacementSpec[] = [{ spot: p.spot === true }, ...(p.fallback ?? [])];
  return specs.map((s, index) => ({
    index,
    key: placementKey(p.name, index),
    ...(s.location ? { location: s.location } : {}),
    spot: s.spot === true,
  }));
}

/** Placements not backing off at `now`, in order (the first is where the next create goes). */
export function openPlacements(
  p: PlacementPolicy,
  backoff: Readonly<Record<string, BackoffState | undefined>>,
  now: Date,
): Placement[] {
  return placementsOf(p).filter((x) => !backoffActive(backoff[x.key]?.until, now));
}

/**
 * The placement one create tries next (after the placement of index `after`; none yet: the
 * first): open in the pass's back-off snapshot at `now` and not stopped by an error this pass.
 * Undefined when none is left. A retry elsewhere is a new group name (src/reconcile/create.ts).
 */
export function nextPlacement(
  p: PlacementPolicy,
  backoff: Readonly<Record<string, BackoffState | undefined>>,
  now: Date,
  stopped: ReadonlySet<string>,
  after?: number,
): Placement | undefined {
  return openPlacements(p, backoff, now).find((x) => (after === undefined || x.index > after) && !stopped.has(x.key));
}

/** When every placement backs off: the earliest time one opens again; else undefined. */
export function profileBackoffUntil(
  p: PlacementPolicy,
  backoff: Readonly<Record<string, BackoffState | undefined>>,
  now: Date,
): string | undefined {
  if (openPlacements(p, backoff, now).length > 0) return undefined;
  const times = placementsOf(p).map((x) => backoff[x.key]!.until);
  return times.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
}

/** Tag value naming the placement a group got: `index:location` plus `/spot` for Spot. */
export function placementTag(index: number, location: string, spot: boolean): string {
  return `${index}:${location}${spot ? '/spot' : ''}`;
}

/** The placement index in a group's tag (groups from before placements: 0). */
export function placementIndexOf(group: Pick<OwnedGroup, 'placement'>): number {
  const m = /^(\d+):/.exec(group.placement ?? '');
  return m ? Number(m[1]) : 0;
}

/** Groups per placement tag, for the decision log and `status`: `0:westeurope=3 1:northeurope/spot=1`. */
export function placementSummary(groups: readonly Pick<OwnedGroup, 'placement'>[]): string {
  const counts = new Map<string, number>();
  for (const g of groups) counts.set(g.placement ?? '0', (counts.get(g.placement ?? '0') ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k}=${n}`)
    .join(' ');
}
