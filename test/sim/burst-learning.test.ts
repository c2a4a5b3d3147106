/**
 * Issue 25 through the real pass: the simulator drives reconcile() with the warm state carried as
 * the blob carries it (JSON, parseWarmState), over two working days of `daily-burst` (10 jobs
 * within the same minute at 10:30 on sparse arrivals). Day 1 nothing is learnt: the burst waits for
 * creates. Day 2 the burst is learnt: its jobs find warm agents.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_WARM_TUNING } from '../../src/core/warm/index.js';
import { defaultProfiles, withTargetWait } from '../../src/sim/profiles.js';
import { runSimulation } from '../../src/sim/run.js';
import { sampleTrace } from '../../src/sim/trace.js';
import type { World } from '../../src/sim/world.js';

const DAY_MS = 86_400_000;

/** Waits (s) of the jobs named burst-* on each day, from the world after a run. */
function burstWaits(world: World, startMs: number): number[][] {
  const byDay: number[][] = [];
  for (const j of world.jobs) {
    if (!/^(d\d+-)?burst-/.test(j.trace.name ?? '') || j.assignedMs === undefined) continue;
    const day = Math.floor((j.queuedMs - startMs) / DAY_MS);
    (byDay[day] ??= []).push((j.assignedMs - j.queuedMs) / 1000);
  }
  return byDay;
}

async function run(seed: number, learn: boolean): Promise<number[][]> {
  const trace = sampleTrace('daily-burst', seed);
  const profiles = withTargetWait(defaultProfiles(), 15).map((p) => ({ ...p, standby: [] }));
  let world: World | undefined;
  await runSimulation({
    trace,
    profiles,
    policy: 'ours',
    seed,
    days: 2,
    ours: { reconcile: { warmTuning: { ...DEFAULT_WARM_TUNING, burstLearn: learn } } },
    onWorld: (w) => (world = w),
  });
  const monday = Date.parse('2026-03-02T00:00:00Z');
  return burstWaits(world!, monday);
}

describe('a daily burst, learnt', () => {
  it('day 1 waits for creates; day 2 finds warm agents (and does not without learning)', async () => {
    const [day1, day2] = await run(1, true);
    expect(day1).toHaveLength(10);
    expect(day2).toHaveLength(10);
    expect(day1!.filter((w) => w > 15).length).toBeGreaterThanOrEqual(5);
    expect(day2!.filter((w) => w > 15)).toEqual([]);
    const off = (await run(1, false))[1];
    expect(off!.filter((w) => w > 15).length).toBeGreaterThanOrEqual(5);
  }, 60_000);
});
