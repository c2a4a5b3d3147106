/**
 * The simulator's capacity that fails late: ARM accepts a create and fails the group afterwards
 * (world option `noCapacityIn` / `lateCapacityFailureRate`). The real pass backs the placement off
 * (one create per back-off step, not one per pass) and, with a fallback placement, serves the jobs
 * from another region.
 */
import { describe, expect, it } from 'vitest';
import { SIM_LOCATION } from '../../src/sim/adapters.js';
import { defaultProfiles } from '../../src/sim/profiles.js';
import { runSmall } from '../helpers/sim-traces.js';
import type { World } from '../../src/sim/world.js';

const acceptedIn = (world: World, location: string) =>
  world.allMachines.filter((m) => m.kind === 'aci' && (m.placement ?? '').split('/')[0]!.endsWith(`:${location}`));

describe('simulator: capacity that fails late', () => {
  it('a region with no capacity: one create there per back-off step; the fallback region serves every job', async () => {
    const profiles = defaultProfiles().map((p) => ({ ...p, fallback: [{ location: 'northeurope' }] }));
    const { result: r, world } = await runSmall({ profiles, world: { noCapacityIn: [SIM_LOCATION] } });
    expect(r.violations).toEqual([]);
    expect(r.summary.unserved).toBe(0);
    expect(r.summary.served + r.summary.rejected).toBe(r.summary.jobs);
    const failedHere = acceptedIn(world, SIM_LOCATION);
    expect(failedHere.length).toBeGreaterThan(0);
    expect(failedHere.every((m) => m.provisioningState === 'Failed' || m.phase === 'deleted')).toBe(true);
    expect(world.counters.lateCapacityFailures).toBe(failedHere.length);
    expect(acceptedIn(world, 'northeurope').some((m) => m.jobsRun > 0)).toBe(true);
    // Once a pass has seen a late failure there (and deleted the group), the placement backs off:
    // no create there for the first back-off step (60 s), not one per pass.
    for (const profile of new Set(failedHere.map((m) => m.profile.name))) {
      const mine = failedHere.filter((m) => m.profile.name === profile);
      const seen = Math.min(...mine.map((m) => m.deletedMs ?? Infinity));
      expect(Number.isFinite(seen)).toBe(true);
      const during = mine.filter(
        (m) => Date.parse(m.createdAtTag) > seen && Date.parse(m.createdAtTag) < seen + 59_000,
      );
      expect(during).toEqual([]);
    }
  });

  it('late failures at random (30 %) without a fallback: still served once, invariants hold', async () => {
    const { result: r, world } = await runSmall({ world: { lateCapacityFailureRate: 0.3 } });
    expect(r.violations).toEqual([]);
    expect(r.summary.unserved).toBe(0);
    expect(world.counters.lateCapacityFailures ?? 0).toBeGreaterThan(0);
  });

  it('at the defaults nothing fails for capacity (the published figures stay as they were)', async () => {
    const { world } = await runSmall();
    expect(world.counters.lateCapacityFailures ?? 0).toBe(0);
  });
});
