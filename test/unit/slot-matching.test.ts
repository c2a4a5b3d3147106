import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignQueuedJobs } from '../../src/core/plan.js';
import { matchJobsToSlots } from '../../src/core/slot-matching.js';
import { profile } from '../helpers/profiles.js';

/** The size of a maximum matching, by a plain augmenting-path search over individual slots (the reference). */
function maximumMatching(candidates: readonly (readonly number[])[], slots: readonly number[]): number {
  const slotOwner: Array<Array<number | undefined>> = slots.map((n) =>
    new Array<number | undefined>(n).fill(undefined),
  );
  const tryJob = (j: number, seen: Set<string>): boolean => {
    for (const p of candidates[j]!) {
      for (let s = 0; s < slots[p]!; s++) {
        const key = `${p}:${s}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const owner = slotOwner[p]![s];
        if (owner === undefined || tryJob(owner, seen)) {
          slotOwner[p]![s] = j;
          return true;
        }
      }
    }
    return false;
  };
  let n = 0;
  for (let j = 0; j < candidates.length; j++) if (tryJob(j, new Set())) n++;
  return n;
}

const instance = fc.integer({ min: 1, max: 4 }).chain((P) =>
  fc.record({
    slots: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: P, maxLength: P }),
    candidates: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: P - 1 }), { maxLength: P }), { maxLength: 14 }),
  }),
);

describe('matchJobsToSlots', () => {
  it('a job only a full profile can serve moves a job that can run elsewhere', () => {
    // Profile 0 (docker) has 1 slot, profile 1 (java) 1: the demand-less job came first and took docker's.
    expect(matchJobsToSlots([[0, 1], [0]], [1, 1])).toEqual([1, 0]);
  });

  it('moves along a chain of profiles', () => {
    // job 0 on A (could go B), job 1 on B (could go C), C free: job 2 (A only) gets A.
    expect(matchJobsToSlots([[0, 1], [1, 2], [0]], [1, 1, 1])).toEqual([1, 2, 0]);
  });

  it('prefers the first candidate with a slot, and keeps the oldest jobs when slots run out', () => {
    expect(
      matchJobsToSlots(
        [
          [0, 1],
          [0, 1],
        ],
        [2, 5],
      ),
    ).toEqual([0, 0]);
    // Job 2 can only use profile 0: one of the earlier jobs moves to profile 1.
    expect(matchJobsToSlots([[0, 1], [0, 1], [0]], [2, 5])).toEqual([1, 0, 0]);
    expect(matchJobsToSlots([[0], [0], [0]], [2])).toEqual([0, 0, undefined]);
    expect(matchJobsToSlots([[], [0]], [1])).toEqual([undefined, 0]);
  });

  it('gives a slot to as many jobs as possible, each on a candidate, never beyond a profile’s slots, oldest first', () => {
    fc.assert(
      fc.property(instance, ({ slots, candidates }) => {
        const got = matchJobsToSlots(candidates, slots);
        const matched = got.flatMap((p, j) => (p === undefined ? [] : [j]));
        expect(matched.length).toBe(maximumMatching(candidates, slots));
        got.forEach((p, j) => {
          if (p !== undefined) expect(candidates[j]).toContain(p);
        });
        slots.forEach((n, p) => expect(got.filter((x) => x === p).length).toBeLessThanOrEqual(n));
        // Oldest first: an unmatched job could not have been served with every older matched job kept.
        got.forEach((p, j) => {
          if (p !== undefined) return;
          const older = matched.filter((i) => i < j).map((i) => candidates[i]!);
          const without = maximumMatching(older, slots);
          expect(maximumMatching([...older, candidates[j]!], slots)).toBe(without);
        });
      }),
      { numRuns: 400 },
    );
  });
});

describe('assignQueuedJobs with slots', () => {
  const job = (id: number, demands: string[]) => ({
    requestId: id,
    demands,
    queueTime: new Date(1000 * id).toISOString(),
  });
  const docker = profile({ name: 'docker', capabilities: { docker: '' } });
  const java = profile({ name: 'java', capabilities: { java: '', maven: '' } });

  it('demand-less jobs leave a full docker profile to docker-only jobs and take java’s slots', () => {
    const jobs = [job(1, []), job(2, []), job(3, ['docker']), job(4, ['docker']), job(5, [])];
    const { byProfile } = assignQueuedJobs(
      jobs,
      [docker, java],
      new Map([
        ['docker', 2],
        ['java', 2],
      ]),
    );
    // No slot is left for job 5: it waits on its first candidate (docker, full: nothing is created for it).
    expect(byProfile.get('docker')!.map((j) => j.requestId)).toEqual([3, 4, 5]);
    expect(byProfile.get('java')!.map((j) => j.requestId)).toEqual([1, 2]);
    // Oldest-first spill-over (the previous rule) gave docker jobs 1 and 2 and left job 4 with no slot.
    const plenty = assignQueuedJobs(
      jobs,
      [docker, java],
      new Map([
        ['docker', 5],
        ['java', 2],
      ]),
    );
    expect(plenty.byProfile.get('docker')!.map((j) => j.requestId)).toEqual([1, 2, 3, 4, 5]);
  });
});
