/**
 * Multi-day runs (`simulate --days N`): the trace repeated day after day, one world and one
 * controller throughout, per-day summaries that add up to the run, and the warm-agent history
 * carried from one day to the next through the back-off store as the blob carries it.
 */
import { describe, expect, it } from 'vitest';
import { bill, billWindow } from '../../src/sim/billing.js';
import type { VirtualClock } from '../../src/sim/clock.js';
import { runSimulateCommand } from '../../src/sim/command.js';
import { defaultProfiles, withTargetWait } from '../../src/sim/profiles.js';
import { runSimulation, TRACE_EPOCH_MS } from '../../src/sim/run.js';
import { daySeed, parseCsvTrace, repeatTrace, sampleTrace, TraceError } from '../../src/sim/trace.js';
import type { World } from '../../src/sim/world.js';

const DAY = 86_400;

describe('repeatTrace', () => {
  it('makes each day anew from the seed and the day; day 1 is the one-day trace', () => {
    const one = sampleTrace('steady-day', 4);
    const { trace, days } = repeatTrace(one, 3);
    expect(days.map((d) => d.seed)).toEqual([4, daySeed(4, 1), daySeed(4, 2)]);
    expect(new Set(days.map((d) => d.seed)).size).toBe(3);
    const dayJobs = (i: number) =>
      trace.jobs
        .filter((j) => j.arrival >= i * DAY && j.arrival < (i + 1) * DAY)
        .map((j) => ({ ...j, arrival: j.arrival - i * DAY, name: j.name?.replace(/^d\d+-/, '') }));
    const strip = (t: typeof one) => t.jobs.map((j) => ({ ...j, name: j.name }));
    expect(dayJobs(0)).toEqual(strip(one));
    expect(dayJobs(1)).toEqual(strip(sampleTrace('steady-day', daySeed(4, 1))));
    expect(dayJobs(2)).toEqual(strip(sampleTrace('steady-day', daySeed(4, 2))));
    expect(dayJobs(1)).not.toEqual(dayJobs(0));
    expect(days.map((d) => d.jobs)).toEqual([0, 1, 2].map((i) => dayJobs(i).length));
  });

  it('working-day samples skip the weekend; the nightly batch and files run every day', () => {
    const weekdays = repeatTrace(sampleTrace('steady-day', 1), 7).days;
    expect(weekdays.map((d) => d.offsetSec / DAY)).toEqual([0, 1, 2, 3, 4, 7, 8]);
    expect(weekdays.map((d) => d.weekday)).toEqual([1, 2, 3, 4, 5, 1, 2]);
    const nightly = repeatTrace(sampleTrace('nightly-batch', 1), 7).days;
    expect(nightly.map((d) => d.offsetSec / DAY)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(nightly.map((d) => d.weekday)).toEqual([1, 2, 3, 4, 5, 6, 0]);
    const file = parseCsvTrace('arrival_s,duration_s,demands\n3600,60,docker\n7200,60,\n', 'mine.csv');
    const rep = repeatTrace(file, 3).trace;
    expect(rep.jobs.map((j) => j.arrival)).toEqual([
      3600,
      7200,
      DAY + 3600,
      DAY + 7200,
      2 * DAY + 3600,
      2 * DAY + 7200,
    ]);
  });

  it('refuses a file that does not fit in one day, and a count below 1', () => {
    const long = parseCsvTrace(`arrival_s,duration_s,demands\n3600,60,\n${DAY + 10},60,\n`, 'long.csv');
    expect(() => repeatTrace(long, 2)).toThrow(TraceError);
    expect(() => repeatTrace(long, 2)).toThrow(/repeats one day/);
    expect(() => repeatTrace(sampleTrace('steady-day', 1), 0)).toThrow(TraceError);
    expect(repeatTrace(long, 1).trace).toBe(long); // one day: the trace as it is
  });
});

describe('multi-day run', () => {
  it('one world throughout: per-day figures add up to the run, day 1 is the one-day run, and history pre-warms day 2', async () => {
    const profiles = withTargetWait(defaultProfiles(), 15);
    const trace = sampleTrace('nightly-batch', 5);
    let world!: World;
    let clock!: VirtualClock;
    // Warm agents (idle or starting, not placeholders) two minutes before each day's 02:00 batch.
    const beforeBatch: number[] = [];
    const r = await runSimulation({
      trace,
      profiles,
      policy: 'ours',
      seed: 5,
      days: 3,
      onWorld: (w, c) => {
        world = w;
        clock = c;
        for (let d = 0; d < 3; d++)
          c.at(TRACE_EPOCH_MS + (d * DAY + 2 * 3600 - 60) * 1000, () =>
            beforeBatch.push(
              w.allMachines.filter(
                (m) => !m.placeholder && ['provisioning', 'booting', 'registered', 'idle'].includes(m.phase),
              ).length,
            ),
          );
      },
    });
    const s = r.summary;
    expect(s.violations).toBe(0);
    expect(s.days).toHaveLength(3);
    const days = s.days!;
    expect(days.map((d) => `${d.date} ${d.weekday}`)).toEqual(['2026-03-02 Mon', '2026-03-03 Tue', '2026-03-04 Wed']);
    expect(days.map((d) => d.jobs)).toEqual([48, 48, 48]);
    expect(days.reduce((a, d) => a + d.served, 0)).toBe(s.served);
    expect(days.reduce((a, d) => a + d.costUsd, 0)).toBeCloseTo(s.costUsd, 2);
    expect(r.dayWaits!.flat().sort((a, b) => a - b)).toEqual([...r.waits].sort((a, b) => a - b));
    // Day 1 of the run is the one-day run: same jobs, same world, same waits.
    const one = await runSimulation({ trace, profiles, policy: 'ours', seed: 5 });
    expect(r.dayWaits![0]).toEqual(one.waits);
    expect(days[0]!.waitSec).toEqual(one.summary.waitSec);
    // Nothing learnt before day 1's batch; from day 2 on the learnt 02:00 hour brings warm agents first.
    expect(beforeBatch[0]).toBe(0);
    expect(beforeBatch[1]).toBeGreaterThan(0);
    expect(beforeBatch[2]).toBeGreaterThan(0);
    expect(clock.nowMs()).toBeGreaterThan(TRACE_EPOCH_MS + 2 * DAY * 1000);
    // The day windows partition the bill.
    const end = clock.nowMs();
    const cut = [TRACE_EPOCH_MS, TRACE_EPOCH_MS + 36 * 3600_000, end];
    const parts = [
      billWindow(world.allMachines, cut[0]!, cut[1]!, end),
      billWindow(world.allMachines, cut[1]!, end, end),
    ];
    const whole = bill(world.allMachines, end);
    expect(parts[0]!.costUsd + parts[1]!.costUsd).toBeCloseTo(whole.costUsd, 9);
    expect(parts[0]!.billedSec + parts[1]!.billedSec).toBeCloseTo(whole.billedSec, 6);
  });

  it('days: 1 is the one-day run, summary unchanged (no per-day key)', async () => {
    const profiles = defaultProfiles();
    const trace = sampleTrace('nightly-batch', 2);
    const a = await runSimulation({ trace, profiles, policy: 'keda', seed: 2 });
    const b = await runSimulation({ trace, profiles, policy: 'keda', seed: 2, days: 1 });
    expect(JSON.stringify(b.summary)).toBe(JSON.stringify(a.summary));
    expect(a.summary.days).toBeUndefined();
  });

  it('simulate --days prints a per-day table; a bad count exits 2', async () => {
    let out = '';
    let err = '';
    const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s), isTty: false };
    expect(await runSimulateCommand(['--trace', 'nightly-batch', '--policy', 'keda', '--days', '2'], io)).toBe(0);
    expect(out).toMatch(/per day/);
    expect(out).toMatch(/^1 Mon\s+2026-03-02\s+48\s/m);
    expect(out).toMatch(/^2 Tue\s+2026-03-03\s+48\s/m);
    out = '';
    expect(
      await runSimulateCommand(['--trace', 'nightly-batch', '--policy', 'keda', '--days', '2', '--json'], io),
    ).toBe(0);
    const parsed = JSON.parse(out) as { policies: { days: { day: number; jobs: number }[] }[] };
    expect(parsed.policies[0]!.days.map((d) => d.jobs)).toEqual([48, 48]);
    for (const bad of ['0', '1.5', '29', 'x']) expect(await runSimulateCommand(['--days', bad], io)).toBe(2);
    expect(err).toContain('--days must be a whole number of days between 1 and 28');
  });
});
