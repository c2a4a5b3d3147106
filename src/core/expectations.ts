/**
 * Expectations (Kubernetes' ReplicaSet `ControllerExpectations`, for a cache that lags): the
 * creates and deletes a pass sent are remembered in the pool's state until a list shows them, or a
 * bound passes. Meanwhile an expected create counts as a starting group (toward `maxAgents`,
 * against queued jobs), and a group whose delete was sent is counted as being deleted (not
 * capacity, never deleted twice) however long a lagging list still shows it. Pure.
 */
import type { OwnedGroup } from './types.js';

/** A create we sent (or are about to send: recorded before the PUT, so the next holder of the lease counts it). */
export interface ExpectedCreate {
  pool: string;
  profile: string;
  /** When it was sent (ISO): the group's created-at tag. */
  at: string;
  placeholder?: boolean;
  /** The placement tag (`index:location`), absent for placement 0. */
  placement?: string;
}

export interface Expectations {
  /** Group name → a create no list has shown yet. */
  creates: Record<string, ExpectedCreate>;
  /** Group name → when its DELETE was accepted (ISO), while a list may still show it. */
  deletes: Record<string, string>;
}

export const emptyExpectations = (): Expectations => ({ creates: {}, deletes: {} });

/** How long a DELETE we sent makes a listed group count as being deleted (ARM deletes a group in seconds to minutes). */
export const DELETE_EXPECTATION_SEC = 600;

export interface ExpectationBounds {
  /** How long an unlisted create counts as starting: its profile's boot timeout (a group not listed by then would be a failed boot). */
  createSec: (profile: string) => number;
  deleteSec?: number;
}

/**
 * The groups a pass plans from: the list, with each expected create it does not show yet added as
 * a starting group and each listed group whose delete we sent marked `Deleting`; and the
 * expectations still open (those the list showed, or whose bound passed, are dropped).
 */
export function applyExpectations(
  listed: readonly OwnedGroup[],
  expected: Expectations,
  now: Date,
  bounds: ExpectationBounds,
): { groups: OwnedGroup[]; open: Expectations; unlisted: string[] } {
  const names = new Set(listed.map((g) => g.name));
  const ageSec = (at: string) => (now.getTime() - Date.parse(at)) / 1000;
  const open = emptyExpectations();
  const added: OwnedGroup[] = [];
  for (const [name, c] of Object.entries(expected.creates)) {
    if (names.has(name) || !(ageSec(c.at) < bounds.createSec(c.profile))) continue;
    open.creates[name] = c;
    added.push({
      name,
      pool: c.pool,
      profile: c.profile,
      createdAt: c.at,
      provisioningState: 'Creating',
      ...(c.placeholder ? { placeholder: true } : {}),
      ...(c.placement ? { placement: c.placement } : {}),
    });
  }
  // A group listed under that name but created after the DELETE is another one (a placeholder's name is fixed).
  const before = new Map(listed.map((g) => [g.name, Date.parse(g.createdAt)]));
  for (const [name, at] of Object.entries(expected.deletes)) {
    const created = before.get(name);
    if (created === undefined || created > Date.parse(at)) continue;
    if (ageSec(at) < (bounds.deleteSec ?? DELETE_EXPECTATION_SEC)) open.deletes[name] = at;
  }
  const groups = listed.map((g) =>
    open.deletes[g.name] !== undefined ? { ...g, provisioningState: 'Deleting' as const } : g,
  );
  return { groups: [...groups, ...added], open, unlisted: added.map((g) => g.name) };
}
