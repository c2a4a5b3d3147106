/**
 * Learnt bursts (src/core/warm/bursts.ts, through observeArrivals and decideWarm): a burst that comes at the same
 * minute every day is learnt from the queue times the pass folds in, warm agents wait for it one
 * refill before it the next day (within maxWarmAgents and maxAgents), and it is forgotten when it
 * stops coming. Pure: states are built by folding arrivals at chosen instants.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WARM_TUNING,
  burstTarget,
  decideWarm,
  emptyWarmState,
  expectedOn,
  observeArrivals,
  observeBursts,
  parseWarmState,
  type Arrival,
  type BurstState,
  type WarmState,
} from '../../src/core/warm/index.js';

const UTC = 'UTC';
/** Monday 2026-03-02 00:00 UTC plus `day` days and `sec` seconds. */
const MON = Date.parse('2026-03-02T00:00:00Z');
const at = (day: number, sec: number) => new Date(MON + day * 86_400_000 + sec * 1000);
const H = 3600;

let nextId = 1;
/** `n` jobs queued from `sec` on `day`, `gap` seconds apart. */
function jobs(day: number, sec: number, n: number, gap = 5): Arrival[] {
  return Array.from({ length: n }, (_, i) => ({
    requestId: nextId++,
    queueTime: at(day, sec + i * gap).toISOString(),
  }));
}

/** Folds arrivals into the state the way passes do: one pass per arrival batch, then one at `until`. */
function fold(state: WarmState, batches: [Date, Arrival[]][], tz = UTC): WarmState {
  let s = state;
  for (const [now, seen] of batches) s = { ...s, arrivals: observeArrivals(s.arrivals, seen, now, tz) };
  return s;
}

/** A state whose measured refills are all `refillSec` (B = refillSec). */
function withRefill(s: WarmState, refillSec: number): WarmState {
  return { ...s, refill: { samples: Array<number>(20).fill(refillSec) } };
}

/** The state after Monday's burst of 10 at 10:30 (passes at each arrival and one after it closed). */
function afterMondayBurst(): WarmState {
  const burst = jobs(0, 10.5 * H, 10);
  return fold(emptyWarmState(at(0, 8 * H)), [
    ...burst.map((a): [Date, Arrival[]] => [new Date(Date.parse(a.queueTime) + 1000), [a]]),
    [at(0, 10.5 * H + 120), []],
  ]);
}

const profile = { maxWarmAgents: 30, maxAgents: 30, timeZone: UTC, targetWaitSec: 15 };

describe('learning a burst', () => {
  it('records a burst of 10 within a minute as a slot at its minute, once it has closed', () => {
    const burst = jobs(0, 10.5 * H, 10);
    const open = fold(emptyWarmState(at(0, 8 * H)), [[at(0, 10.5 * H + 50), burst]]);
    expect(open.arrivals.bursts?.slots ?? []).toHaveLength(0); // the last arrival was 5 s ago: still open
    const s = afterMondayBurst();
    expect(s.arrivals.bursts?.slots).toHaveLength(1);
    const slot = s.arrivals.bursts!.slots[0]!;
    expect(slot.at).toBe(10.5 * H);
    expect(slot.sizes).toEqual([10]);
    expect(slot.span).toBe(45);
  });

  it('takes a fan-out that paused a little longer than the gap as one burst, from its first job', () => {
    // 10 jobs over a minute: 3 at 10:30:00–10:30:10, a 36 s pause, 7 from 10:30:46 (a timer pass a minute).
    const first = jobs(0, 10.5 * H, 3);
    const rest = jobs(0, 10.5 * H + 46, 7, 2);
    const s = fold(emptyWarmState(at(0, 8 * H)), [
      [at(0, 10.5 * H + 30), first],
      [at(0, 10.5 * H + 60), rest],
      [at(0, 10.5 * H + 120), []],
    ]);
    // The first three alone are too few (burstMinJobs 4); the burst they start is one slot of 10.
    const slots = s.arrivals.bursts?.slots ?? [];
    expect(slots).toHaveLength(1);
    expect(slots[0]!.sizes).toEqual([10]);
    expect(slots[0]!.at).toBe(10.5 * H);
    expect(s.arrivals.bursts?.explained).toHaveLength(10);
  });

  it('does not take a few close arrivals, or background at a steady rate, for a burst', () => {
    // 3 jobs within 20 s (fewer than burstMinJobs) and 6 jobs 40 s apart (the gap splits them).
    const s = fold(emptyWarmState(at(0, 8 * H)), [
      [at(0, 9 * H + 30), jobs(0, 9 * H, 3, 10)],
      [at(0, 9 * H + 600), jobs(0, 9 * H + 300, 6, 40)],
      [at(0, 10 * H), []],
    ]);
    expect(s.arrivals.bursts?.slots ?? []).toHaveLength(0);
    // A busy pool: a job every 20 s for 15 minutes, one pass a minute, then 5 within 4 s.
    const busy: [Date, Arrival[]][] = Array.from({ length: 15 }, (_, m) => [
      at(0, 11 * H + (m + 1) * 60),
      jobs(0, 11 * H + m * 60, 3, 20),
    ]);
    const s2 = fold(emptyWarmState(at(0, 8 * H)), [
      ...busy,
      [at(0, 11 * H + 905), jobs(0, 11 * H + 901, 5, 1)],
      [at(0, 11 * H + 960), []],
    ]);
    expect(s2.arrivals.bursts?.slots ?? []).toHaveLength(0);
  });
});

describe('warm agents for a learnt burst', () => {
  it('keeps the burst size warm from one refill (+ look-ahead) before it the next day, and nothing after it came', () => {
    const s = withRefill(afterMondayBurst(), 60);
    // Tuesday: lead = B 60 s + look-ahead 120 s before 10:30.
    const lead = 60 + DEFAULT_WARM_TUNING.lookaheadSec;
    const before = fold(s, [[at(1, 10.5 * H - lead - 30), []]]);
    const early = decideWarm(before, profile, at(1, 10.5 * H - lead - 30));
    expect(early.burst).toBeUndefined();
    expect(early.k).toBeLessThan(10); // the hour's learnt rate (10/h) alone
    const inWindow = fold(s, [[at(1, 10.5 * H - lead + 10), []]]);
    const d = decideWarm(inWindow, profile, at(1, 10.5 * H - lead + 10));
    expect(d.k).toBe(10);
    expect(d.burst).toMatchObject({ k: 10, size: 10 });
    expect(d.reason).toContain('learnt burst of 10 jobs at 10:30 UTC');
    // Four of the ten have come: six still to come (k is at least that).
    const four = fold(inWindow, [[at(1, 10.5 * H + 20), jobs(1, 10.5 * H, 4)]]);
    expect(decideWarm(four, profile, at(1, 10.5 * H + 20)).burst?.k).toBe(6);
    // All ten came: the burst asks for nothing more (only the per-job rule's k for the live rate).
    const all = fold(four, [[at(1, 10.5 * H + 60), jobs(1, 10.5 * H + 25, 6)]]);
    const after = decideWarm(all, profile, at(1, 10.5 * H + 60));
    expect(after.burst).toBeUndefined();
    expect(after.k).toBeLessThan(10);
  });

  it('a job that comes in the window before the burst is not one of it: the burst still gets its size', () => {
    const s = withRefill(afterMondayBurst(), 60);
    const early = fold(s, [
      [at(1, 10.5 * H - 170), []],
      [at(1, 10.5 * H - 100), jobs(1, 10.5 * H - 101, 1)],
    ]);
    expect(decideWarm(early, profile, at(1, 10.5 * H - 100)).burst?.k).toBe(10);
  });

  it('keeps the background its own warm agents on top of the burst’s, from the learnt hour’s rate', () => {
    // Monday: a job every 15 min from 08:00 to 12:00 (4/h) and the burst of 10 at 10:30.
    const background = Array.from({ length: 16 }, (_, i) => jobs(0, 8 * H + i * 900 + 400, 1)[0]!);
    const burst = jobs(0, 10.5 * H, 10);
    const monday = [...background, ...burst].sort((a, b) => a.queueTime.localeCompare(b.queueTime));
    const s = withRefill(
      fold(emptyWarmState(at(0, 8 * H)), [
        ...monday.map((a): [Date, Arrival[]] => [new Date(Date.parse(a.queueTime) + 1000), [a]]),
        [at(0, 12 * H + 60), []],
      ]),
      60,
    );
    const t = at(1, 10.5 * H - 60);
    const d = decideWarm(fold(s, [[t, []]]), profile, t);
    expect(d.burst).toMatchObject({ k: 10, size: 10 });
    // The hour's learnt rate (the burst explained out of it) asks for one agent of its own.
    expect(d.lambda.history! * 3600).toBeCloseTo(4, 0);
    expect(d.k).toBe(11);
    expect(d.reason).toContain('10 still to come + 1 for the background');
    // `status` says so the day before: the next burst gets its 10 and the background's 1.
    const evening = at(0, 12 * H + 120);
    expect(decideWarm(fold(s, [[evening, []]]), profile, evening).nextBurst?.agents).toBe(11);
    // Without it (the rule before): the background's next job takes one of the burst's ten.
    expect(decideWarm(fold(s, [[t, []]]), profile, t, { ...DEFAULT_WARM_TUNING, burstOnBackground: false }).k).toBe(10);
  });

  it('stays within maxWarmAgents and maxAgents', () => {
    const s = fold(withRefill(afterMondayBurst(), 60), [[at(1, 10.5 * H - 60), []]]);
    expect(decideWarm(s, { ...profile, maxWarmAgents: 4 }, at(1, 10.5 * H - 60)).k).toBe(4);
    expect(decideWarm(s, { ...profile, maxWarmAgents: 30, maxAgents: 6 }, at(1, 10.5 * H - 60)).k).toBe(6);
  });

  it('gives a slow profile (larger measured B) more lead time on its own', () => {
    const t = at(1, 10.5 * H - 400);
    const fast = fold(withRefill(afterMondayBurst(), 60), [[t, []]]);
    const slow = fold(withRefill(afterMondayBurst(), 420), [[t, []]]);
    expect(decideWarm(fast, profile, t).burst).toBeUndefined();
    expect(decideWarm(fast, profile, t).k).toBeLessThan(10);
    expect(decideWarm(slow, profile, t).burst?.k).toBe(10);
    expect(decideWarm(slow, profile, t).k).toBe(10);
  });

  it('says when the next learnt burst is expected and how many agents it gets', () => {
    const s = withRefill(afterMondayBurst(), 60);
    const d = decideWarm(s, { ...profile, maxWarmAgents: 8 }, at(0, 18 * H));
    expect(d.nextBurst).toEqual({
      at: at(1, 10.5 * H).toISOString(),
      from: at(1, 10.5 * H - 180).toISOString(),
      agents: 8,
    });
    expect(d.reason).toContain('next learnt burst 2026-03-03 10:30 UTC: 8 warm agents from 10:27');
  });
});

describe('forgetting a burst', () => {
  /** The burst state after passes at `days` (day index, seconds) without any arrival. */
  const quietDays = (b: BurstState | undefined, days: number[]) =>
    days.reduce<BurstState | undefined>((s, d) => observeBursts(s, [], at(d, 12 * H), UTC, 900, 0), b);

  it('drops a burst that does not come on three expected days in a row', () => {
    const b = afterMondayBurst().arrivals.bursts;
    expect(quietDays(b, [1, 2])!.slots).toHaveLength(1);
    expect(quietDays(b, [1, 2, 3])!.slots).toHaveLength(0);
  });

  it('learns a working-day burst’s weekend: two misses, then Monday; the next Saturday is not expected', () => {
    let s = afterMondayBurst();
    const comes = (day: number) => {
      s = fold(s, [
        [at(day, 10.5 * H + 50), jobs(day, 10.5 * H, 10)],
        [at(day, 10.5 * H + 120), []],
      ]);
    };
    for (let day = 1; day <= 4; day++) comes(day);
    const b = quietDays(s.arrivals.bursts, [5, 6]); // Saturday, Sunday
    expect(b!.slots).toHaveLength(1);
    expect(b!.slots[0]!.misses).toBe(2);
    expect(expectedOn(b!.slots[0]!, 1)).toBe(true); // Monday
    expect(expectedOn(b!.slots[0]!, 6)).toBe(false); // Saturday
    // It comes again Monday to Friday; the next Saturday keeps no agents for it, and is no miss.
    s = { ...s, arrivals: { ...s.arrivals, bursts: b! } };
    for (let day = 7; day <= 11; day++) comes(day);
    expect(s.arrivals.bursts!.slots[0]!.misses).toBe(0);
    expect(burstTarget(s.arrivals.bursts, [], at(12, 10.5 * H - 60), UTC, 180)).toBeUndefined();
    expect(quietDays(s.arrivals.bursts, [12])!.slots[0]!.misses).toBe(0);
    // Sunday was learnt as well; on Monday it is expected again.
    expect(burstTarget(s.arrivals.bursts, [], at(14, 10.5 * H - 60), UTC, 180)?.k).toBe(10);
  });
});

describe('the state in the blob', () => {
  it('round-trips through JSON and reads a blob written before bursts', () => {
    const s = afterMondayBurst();
    const back = parseWarmState(JSON.parse(JSON.stringify(s)));
    expect(back?.arrivals.bursts).toEqual(s.arrivals.bursts);
    const old = JSON.parse(JSON.stringify(s)) as { arrivals: Record<string, unknown> };
    delete old.arrivals.bursts;
    const parsed = parseWarmState(old);
    expect(parsed).toBeDefined();
    expect(parsed!.arrivals.bursts).toBeUndefined();
  });

  it('drops a malformed slot and keeps the rest of the state', () => {
    const s = JSON.parse(JSON.stringify(afterMondayBurst())) as { arrivals: { bursts: { slots: unknown[] } } };
    s.arrivals.bursts.slots.push({ at: 99999, sizes: ['x'] });
    const parsed = parseWarmState(s);
    expect(parsed?.arrivals.bursts?.slots).toHaveLength(1);
    expect(parseWarmState({ ...s, arrivals: { ...s.arrivals, bursts: 'nonsense' } })?.arrivals.bursts).toBeUndefined();
  });
});
