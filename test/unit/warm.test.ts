/**
 * The warm-agent sizing rule against exact Poisson quantiles, and the λ / B estimators.
 *
 * Reference quantiles come from two places that share no code with src/core/warm/:
 *   - published cumulative Poisson tables (e.g. any statistics handbook's table of
 *     P(X ≤ k) for mean m): the smallest k with P(X ≤ k) ≥ 0.95;
 *   - an exact computation here: for a rational mean m = p/q, e^m · P(X ≤ k) = Σ m^i / i! is a
 *     rational number computed with BigInt, compared against 0.95 · e^m bracketed by a rational
 *     enclosure of e^m (Taylor series with an explicit remainder bound), so the comparison is exact.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WARM_TUNING,
  budgetDrops,
  decideWarm,
  emptyWarmState,
  estimateArrivalRate,
  estimateRefill,
  jobMissProbability,
  meanExcess,
  missBudget,
  observeArrivals,
  observeRefills,
  observeWaits,
  parseWarmState,
  percentile,
  poissonQuantile,
  poissonTail,
  shortfallFraction,
  warmAgentCount,
  warmQuantile,
} from '../../src/core/warm/index.js';
import { arrivalsByProfile, servedJobs, warmRule } from '../../src/core/rules/warm.js';
import { profile } from '../helpers/profiles.js';

// ----- exact reference -----------------------------------------------------------------------------

/** A rational p/q as BigInts. */
interface Q {
  p: bigint;
  q: bigint;
}
const gcd = (a: bigint, b: bigint): bigint => {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b) [a, b] = [b, a % b];
  return a;
};
const norm = (x: Q): Q => {
  const g = gcd(x.p, x.q) || 1n;
  return { p: x.p / g, q: x.q / g };
};
const add = (a: Q, b: Q): Q => norm({ p: a.p * b.q + b.p * a.q, q: a.q * b.q });
const mul = (a: Q, b: Q): Q => norm({ p: a.p * b.p, q: a.q * b.q });
const lt = (a: Q, b: Q) => a.p * b.q < b.p * a.q;

/** Lower and upper rational bounds of e^m (m ≥ 0 rational), from the Taylor series plus its remainder. */
function expBounds(m: Q): { lo: Q; hi: Q } {
  let term: Q = { p: 1n, q: 1n };
  let sum: Q = { p: 1n, q: 1n };
  for (let n = 1n; ; n++) {
    term = mul(term, { p: m.p, q: m.q * n });
    sum = add(sum, term);
    // Remainder after term n is < term · (m/(n+1)) / (1 − m/(n+1)) once n + 1 > 2m.
    if ((n + 1n) * m.q > 2n * m.p) {
      const r = mul(term, { p: m.p, q: (n + 1n) * m.q - m.p });
      // Stop when the remainder is below 1e-30 of the sum.
      if (lt(mul(r, { p: 10n ** 30n, q: 1n }), sum)) return { lo: sum, hi: add(sum, r) };
    }
  }
}

/** Smallest k with P(Poisson(m) > k) ≤ tail, decided exactly in rationals. */
function exactQuantile(m: Q, tail: Q): number {
  const { lo, hi } = expBounds(m);
  const need = add({ p: 1n, q: 1n }, { p: -tail.p, q: tail.q }); // P(X ≤ k) ≥ 1 − tail
  let term: Q = { p: 1n, q: 1n }; // m^k / k!
  let s: Q = { p: 1n, q: 1n }; //    Σ m^i / i!  =  e^m · P(X ≤ k)
  for (let k = 0; ; k++) {
    if (k > 0) {
      term = mul(term, { p: m.p, q: m.q * BigInt(k) });
      s = add(s, term);
    }
    // P(X ≤ k) = s / e^m; both enclosures must agree, else the bound is too loose to decide.
    const atLeastHi = !lt(s, mul(need, hi)); // s ≥ need·hi ⇒ certainly ≥ need·e^m
    const belowLo = lt(s, mul(need, lo)); //     s < need·lo ⇒ certainly < need·e^m
    if (atLeastHi) return k;
    if (!belowLo) throw new Error(`undecidable at k=${k}; tighten the bound`);
  }
}

const q = (text: string): Q => {
  const [int, frac = ''] = text.split('.');
  return norm({ p: BigInt(int! + frac), q: 10n ** BigInt(frac.length) });
};
const FIVE_PERCENT: Q = { p: 1n, q: 20n };

describe('poissonQuantile (the sizing rule before caps)', () => {
  it('matches published cumulative Poisson tables at the 95th percentile', () => {
    // mean: k with P(X ≤ k−1) < 0.95 ≤ P(X ≤ k), read from standard tables:
    // m=0.5: P(≤1)=.9098, P(≤2)=.9856 · m=1: P(≤2)=.9197, P(≤3)=.9810 · m=2: P(≤4)=.9473, P(≤5)=.9834
    // m=5: P(≤8)=.9319, P(≤9)=.9682 · m=10: P(≤14)=.9165, P(≤15)=.9513 · m=20: P(≤27)=.9475, P(≤28)=.9657
    const table: [number, number][] = [
      [0.5, 2],
      [1, 3],
      [2, 5],
      [5, 9],
      [10, 15],
      [20, 28],
    ];
    for (const [m, k] of table) expect(poissonQuantile(m, 0.05), `mean ${m}`).toBe(k);
  });

  it('agrees with the exact rational computation over a grid of λ·B, boundaries included', () => {
    const means = [
      '0.01',
      '0.05',
      '0.0512',
      '0.0513',
      '0.1',
      '0.25',
      '0.5',
      '0.75',
      '1',
      '1.5',
      '2',
      '3',
      '4.5',
      '7',
      '10',
      '13.7',
      '20',
      '35',
      '50',
      '100',
    ];
    for (const m of means)
      expect(poissonQuantile(Number(m), 0.05), `mean ${m}`).toBe(exactQuantile(q(m), FIVE_PERCENT));
  });

  it('agrees with the exact computation for other tail bounds', () => {
    for (const [m, tail, tq] of [
      ['3', 0.01, { p: 1n, q: 100n }],
      ['3', 0.2, { p: 1n, q: 5n }],
      ['12.5', 0.1, { p: 1n, q: 10n }],
    ] as const)
      expect(poissonQuantile(Number(m), tail)).toBe(exactQuantile(q(m), tq));
  });

  it('stays exact where e^-mean underflows (λ·B in the thousands)', () => {
    // e^-1000 underflows a double; the log-space sum must still find the quantile. Normal
    // approximation with continuity correction: 1000 + 1.645·√1000 ≈ 1052.
    const k = poissonQuantile(1000, 0.05);
    expect(k).toBe(1052);
    expect(poissonTail(1000, k)).toBeLessThanOrEqual(0.05);
    expect(poissonTail(1000, k - 1)).toBeGreaterThan(0.05);
  });

  it('is 0 when nothing arrives', () => {
    expect(poissonQuantile(0)).toBe(0);
    expect(warmAgentCount({ lambdaPerSec: 0, refillSec: 90, maxWarmAgents: 5, maxAgents: 10 }).k).toBe(0);
  });
});

/** Smallest k with P(Poisson(m) ≥ k) ≤ tail, decided exactly: k = 0 only when tail ≥ 1, else P(X ≥ k) = P(X > k − 1). */
const exactJobK = (m: Q, tail: Q): number => exactQuantile(m, tail) + 1;

describe('warmQuantile, per job (the rule: share of jobs that find no warm agent ≤ 5 %)', () => {
  it('matches published cumulative Poisson tables: smallest k with P(X ≥ k) ≤ 0.05', () => {
    // m=0.27: P(X≥1)=.2366, P(X≥2)=.0306 · m=0.5: P(X≥2)=.0902, P(X≥3)=.0144 · m=1: P(X≥3)=.0803, P(X≥4)=.0190
    // m=2: P(X≥5)=.0527, P(X≥6)=.0166 · m=5: P(X≥9)=.0681, P(X≥10)=.0318
    const table: [number, number][] = [
      [0.27, 2],
      [0.5, 3],
      [1, 4],
      [2, 6],
      [5, 10],
    ];
    for (const [m, k] of table) expect(warmQuantile(m, 0.05, 'job'), `mean ${m}`).toBe(k);
  });

  it('agrees with the exact rational computation over a grid of λ·W', () => {
    const means = [
      '0.01',
      '0.0512',
      '0.0513',
      '0.1',
      '0.25',
      '0.3554',
      '0.3555',
      '0.5',
      '1',
      '2',
      '4.5',
      '10',
      '35',
      '100',
    ];
    for (const m of means)
      expect(warmQuantile(Number(m), 0.05, 'job'), `mean ${m}`).toBe(exactJobK(q(m), FIVE_PERCENT));
  });

  it('bounds the per-job miss probability, and one agent fewer would not', () => {
    for (const m of [0.05, 0.3, 0.8, 3, 17]) {
      const k = warmQuantile(m, 0.05, 'job');
      expect(jobMissProbability(m, k)).toBeLessThanOrEqual(0.05);
      expect(jobMissProbability(m, k - 1)).toBeGreaterThan(0.05);
      expect(jobMissProbability(m, k)).toBeCloseTo(
        1 - Math.exp(-m) * Array.from({ length: k }, (_, i) => m ** i / fact(i)).reduce((a, b) => a + b, 0),
        12,
      );
    }
  });

  it('shortfall E[(N−k)+]/E[N] matches direct summation, and the quantile is the smallest k within the tail', () => {
    const direct = (m: number, k: number) => {
      let sum = 0;
      for (let n = k + 1; n < 200; n++) sum += (n - k) * Math.exp(-m + n * Math.log(m) - logFact(n));
      return sum / m;
    };
    for (const [m, k] of [
      [0.4, 0],
      [0.4, 1],
      [2, 2],
      [2, 4],
      [9, 10],
    ] as const)
      expect(shortfallFraction(m, k)).toBeCloseTo(direct(m, k), 10);
    for (const m of [0.2, 1, 6, 30]) {
      const k = warmQuantile(m, 0.05, 'shortfall');
      expect(direct(m, k)).toBeLessThanOrEqual(0.05);
      if (k > 0) expect(direct(m, k - 1)).toBeGreaterThan(0.05);
    }
    // shortfall(0.4, 1) = (0.4 − 1 + e^-0.4)/0.4 = 0.1758 > 0.05; shortfall(0.4, 2) = (0.4 − 2 + 2e^-0.4 + 0.4e^-0.4)/0.4 = 0.0219.
    expect(warmQuantile(0.4, 0.05, 'shortfall')).toBe(2);
  });

  it('is 0 when nothing arrives, under every criterion', () => {
    for (const c of ['job', 'window', 'shortfall'] as const) expect(warmQuantile(0, 0.05, c)).toBe(0);
  });
});

function fact(n: number): number {
  return n <= 1 ? 1 : n * fact(n - 1);
}
function logFact(n: number): number {
  let s = 0;
  for (let i = 2; i <= n; i++) s += Math.log(i);
  return s;
}

describe('warmAgentCount', () => {
  it('keeps the per-job quantile when under the caps and reports its probability', () => {
    const s = warmAgentCount({ lambdaPerSec: 1 / 60, refillSec: 60, maxWarmAgents: 10, maxAgents: 20 });
    expect(s.mean).toBeCloseTo(1, 12);
    expect(s.criterion).toBe('job');
    expect(s.k).toBe(4);
    expect(s.cappedBy).toBeUndefined();
    expect(s.tailProbability).toBeCloseTo(0.01899, 4); // P(X ≥ 4) = 1 − P(X ≤ 3) for mean 1
    // The first rule (windows, not jobs) keeps one fewer here.
    expect(
      warmAgentCount({ lambdaPerSec: 1 / 60, refillSec: 60, maxWarmAgents: 10, maxAgents: 20, criterion: 'window' }).k,
    ).toBe(3);
  });

  it('caps by maxWarmAgents, then by maxAgents, and says which', () => {
    const base = { lambdaPerSec: 10 / 60, refillSec: 60 }; // mean 10 → P(X ≥ 16) = .0487
    expect(warmAgentCount({ ...base, maxWarmAgents: 4, maxAgents: 20 })).toMatchObject({
      k: 4,
      uncapped: 16,
      cappedBy: 'maxWarmAgents',
    });
    expect(warmAgentCount({ ...base, maxWarmAgents: 40, maxAgents: 6 })).toMatchObject({ k: 6, cappedBy: 'maxAgents' });
    expect(warmAgentCount({ ...base, maxWarmAgents: 40, maxAgents: 6 }).tailProbability).toBeGreaterThan(0.05);
  });
});

// ----- λ ------------------------------------------------------------------------------------------

const T0 = Date.parse('2026-03-02T08:00:00Z'); // a Monday
const at = (sec: number) => new Date(T0 + sec * 1000);
const iso = (sec: number) => at(sec).toISOString();
const UTC = 'UTC';

describe('arrival-rate estimator', () => {
  it('counts each request once across passes, also requests sharing a queue time', () => {
    let s = emptyWarmState(at(0)).arrivals;
    s = observeArrivals(s, [{ requestId: 1, queueTime: iso(10) }], at(20), UTC);
    // Pass 2 sees request 1 again and request 2 with the same queue time, then 3.
    s = observeArrivals(
      s,
      [
        { requestId: 1, queueTime: iso(10) },
        { requestId: 2, queueTime: iso(10) },
        { requestId: 3, queueTime: iso(30) },
      ],
      at(40),
      UTC,
    );
    s = observeArrivals(
      s,
      [
        { requestId: 2, queueTime: iso(10) },
        { requestId: 3, queueTime: iso(30) },
      ],
      at(60),
      UTC,
    );
    expect(s.recent).toHaveLength(3);
    expect(s.hour?.count).toBe(3);
  });

  it('burstSignificance (measured, not the default) ignores a burst count the live rate explains', () => {
    let s = emptyWarmState(at(0)).arrivals;
    // 10 arrivals a minute apart, then 2 more: live EWMA ≈ 0.6/min, burst 12 / 15 min.
    for (let i = 1; i <= 12; i++)
      s = observeArrivals(s, [{ requestId: i, queueTime: iso(i * 60) }], at(i * 60 + 1), UTC);
    const plain = estimateArrivalRate(s, at(721), UTC);
    const tuned = { ...DEFAULT_WARM_TUNING, burstSignificance: 0.05 };
    const sig = estimateArrivalRate(s, at(721), UTC, tuned);
    expect(plain.burst).toBeCloseTo(12 / 900, 12);
    // The live rate expects 8.26 arrivals in 15 min: 12 or more has P = 0.1316 (not significant at 5 %).
    expect(plain.live * 900).toBeCloseTo(8.2598, 4);
    expect(poissonTail(plain.live * 900, 11)).toBeCloseTo(0.1316, 4);
    expect(plain.source).toBe('burst');
    expect(sig.burst).toBe(0);
    expect(sig.lambdaPerSec).toBe(plain.live);
    expect(sig.source).toBe('live');
    // At a 20 % significance level the same count counts.
    expect(estimateArrivalRate(s, at(721), UTC, { ...tuned, burstSignificance: 0.2 }).burst).toBeCloseTo(12 / 900, 12);
  });

  it('a burst raises λ at once; a quiet period decays it', () => {
    let s = emptyWarmState(at(0)).arrivals;
    for (let t = 60; t <= 3600; t += 60) s = observeArrivals(s, [], at(t), UTC);
    const burst = Array.from({ length: 20 }, (_, i) => ({ requestId: 100 + i, queueTime: iso(3590 + i * 0.5) }));
    s = observeArrivals(s, burst, at(3620), UTC);
    const right = estimateArrivalRate(s, at(3620), UTC);
    expect(right.source).toBe('burst');
    expect(right.lambdaPerSec).toBeCloseTo(20 / DEFAULT_WARM_TUNING.burstWindowSec, 9); // 20 arrivals in the burst window (900 s)
    // An hour of silence later the live rate has decayed well below the burst and the window is empty.
    for (let t = 3680; t <= 7220; t += 60) s = observeArrivals(s, [], at(t), UTC);
    const later = estimateArrivalRate(s, at(7220), UTC);
    expect(later.burst).toBe(0);
    expect(later.live).toBeLessThan(right.live / 10);
  });

  it('drops the live rate after quietSec without arrivals, so the per-job rule lets the last warm agent go', () => {
    let s = emptyWarmState(at(0)).arrivals;
    s = observeArrivals(
      s,
      Array.from({ length: 10 }, (_, i) => ({ requestId: i + 1, queueTime: iso(i * 60) })),
      at(600),
      UTC,
    );
    const quiet = DEFAULT_WARM_TUNING.quietSec;
    const before = estimateArrivalRate(s, at(540 + quiet - 1), UTC);
    expect(before.live).toBeGreaterThan(0);
    expect(before.burst).toBe(1 / DEFAULT_WARM_TUNING.burstWindowSec); // the last arrival (t = 540) is still in the window
    const after = estimateArrivalRate(s, at(540 + quiet + 1), UTC);
    expect(after).toMatchObject({ live: 0, burst: 0, lambdaPerSec: 0, source: 'none' });
    const state = { ...emptyWarmState(at(0)), arrivals: s };
    expect(
      decideWarm(state, { maxWarmAgents: 5, maxAgents: 5, timeZone: UTC, targetWaitSec: 15 }, at(540 + quiet - 1)).k,
    ).toBeGreaterThanOrEqual(1);
    expect(
      decideWarm(state, { maxWarmAgents: 5, maxAgents: 5, timeZone: UTC, targetWaitSec: 15 }, at(540 + quiet + 1)).k,
    ).toBe(0);
  });

  it('with quietAlpha, ends the live rate only after a silence its stream keeps that rarely (within quietMaxSec)', () => {
    // A sparse stream: 4 jobs 15 min apart → live EWMA well below 4/h; a 15-min gap is its usual one.
    let s = emptyWarmState(at(0)).arrivals;
    for (let i = 0; i < 4; i++)
      s = observeArrivals(s, [{ requestId: i + 1, queueTime: iso(i * 900) }], at(i * 900 + 1), UTC);
    const last = 3 * 900;
    const alpha = { ...DEFAULT_WARM_TUNING, quietAlpha: 0.05, quietMaxSec: 3600 };
    const cutoff = Math.min(-Math.log(0.05) / s.rate, 3600);
    expect(cutoff).toBeGreaterThan(DEFAULT_WARM_TUNING.quietSec);
    // 20 min of silence: gone by default, kept with quietAlpha.
    expect(estimateArrivalRate(s, at(last + 1200), UTC).live).toBe(0);
    expect(estimateArrivalRate(s, at(last + 1200), UTC, alpha).live).toBeGreaterThan(0);
    // Past the significant silence (or the cap) it ends too.
    expect(estimateArrivalRate(s, at(last + cutoff + 2), UTC, alpha).live).toBe(0);
  });

  it('learns the hour of the weekday and raises λ ahead of a known ramp', () => {
    // Monday 09:00–10:00 UTC: 36 arrivals (0.01/s) each week; quiet otherwise.
    let s = emptyWarmState(at(0)).arrivals;
    let id = 1;
    const week = 7 * 86400;
    for (let w = 0; w < 2; w++) {
      for (let t = w * week; t < w * week + 3 * 3600; t += 60) {
        const jobs =
          t >= w * week + 3600 && t < w * week + 7200 && t % 100 < 60 ? [{ requestId: id++, queueTime: iso(t) }] : [];
        s = observeArrivals(s, jobs, at(t), UTC);
      }
      // Let the rest of the week pass quietly (one pass an hour is enough for the history).
      for (let t = w * week + 3 * 3600; t < (w + 1) * week; t += 3600) s = observeArrivals(s, [], at(t), UTC);
    }
    expect(s.buckets['d1h9']?.n).toBe(2);
    expect(s.buckets['d1h9']?.rate).toBeCloseTo(36 / 3600, 6);
    // Week 3, Monday 08:40: nothing live, but 09:00 is 20 minutes ahead.
    const e = estimateArrivalRate(s, at(2 * week + 2400), UTC, DEFAULT_WARM_TUNING, 1200);
    expect(e.live).toBeLessThan(1e-4);
    expect(e.source).toBe('ahead');
    expect(e.lambdaPerSec).toBeCloseTo(36 / 3600, 6);
    // Monday 11:30: the learnt rate there is 0.
    expect(estimateArrivalRate(s, at(2 * week + 3.5 * 3600), UTC).history).toBe(0);
  });

  it('warms one refill and a pass or two ahead of a learnt ramp, not half an hour', () => {
    // Monday 09:00–10:00 UTC: 36 arrivals last week (learnt), nothing since.
    const week = 7 * 86400;
    let s = emptyWarmState(at(0)).arrivals;
    for (let i = 0; i < 36; i++)
      s = observeArrivals(s, [{ requestId: i + 1, queueTime: iso(3600 + i * 100) }], at(3600 + i * 100), UTC);
    for (let t = 3 * 3600; t < week + 1800; t += 3600) s = observeArrivals(s, [], at(t), UTC);
    const profile = { maxWarmAgents: 5, maxAgents: 5, timeZone: UTC, targetWaitSec: 15 };
    const k = (sec: number, refill: number[] = []) =>
      decideWarm({ v: 1, arrivals: s, refill: { samples: refill } }, profile, at(week + sec));
    // B = 90 s before any create, + 120 s: the ramp at 09:00 is looked for 210 s ahead.
    expect(DEFAULT_WARM_TUNING.lookaheadSec).toBe(120);
    expect(k(2400).k).toBe(0); // 08:40: too early
    expect(k(3600 - 211).k).toBe(0);
    const ready = k(3600 - 209);
    expect(ready.lambda.source).toBe('ahead');
    expect(ready.k).toBeGreaterThan(0);
    // A slower refill (B = 300 s measured) looks further ahead: 420 s.
    expect(k(3600 - 419, Array(10).fill(300)).k).toBeGreaterThan(0);
    expect(k(3600 - 421, Array(10).fill(300)).k).toBe(0);
  });

  it('learns a nightly batch as bursts, not as an hour rate: no warm agents once it has come', () => {
    // A nightly batch (T0 + 18 h = 02:00 the next day): 40 jobs at 02:00, 8 at 02:30, every day.
    const day = 86400;
    const batch = (d: number) => 18 * 3600 + d * day;
    let s = emptyWarmState(at(0)).arrivals;
    let id = 1;
    const jobs = (t: number, n: number) => Array.from({ length: n }, () => ({ requestId: id++, queueTime: iso(t) }));
    for (let d = 0; d < 3; d++) {
      s = observeArrivals(s, jobs(batch(d) + 10, 40), at(batch(d) + 30), UTC);
      s = observeArrivals(s, [], at(batch(d) + 90), UTC); // the next timer pass: the cluster has closed
      s = observeArrivals(s, jobs(batch(d) + 1800, 8), at(batch(d) + 1830), UTC);
      s = observeArrivals(s, [], at(batch(d) + 1890), UTC);
      for (let t = batch(d) + 3600; t < batch(d + 1) - 3600; t += 3600) s = observeArrivals(s, [], at(t), UTC);
    }
    // Both clusters are bursts (slots at 02:00 and 02:30), so the hour history keeps none of them.
    expect(s.bursts?.slots.map((x) => [x.at, Math.max(...x.sizes)]).sort()).toEqual([
      [2 * 3600 + 10, 40],
      [2 * 3600 + 1800, 8],
    ]);
    expect(s.buckets['h2']?.rate).toBe(0);
    const profile = { maxWarmAgents: 50, maxAgents: 50, timeZone: UTC, targetWaitSec: 15 };
    const d3 = batch(3);
    // Just before the batch: its 40 warm agents (the burst), not an hour's rate.
    s = observeArrivals(s, [], at(d3 - 120), UTC);
    const before = decideWarm({ v: 1, arrivals: s, refill: { samples: [] } }, profile, at(d3 - 120));
    expect(before.burst).toMatchObject({ k: 40, size: 40 });
    expect(before.k).toBe(40);
    // Both came by 02:30: once they have closed, neither the window rate, the live rate nor the
    // history keeps a warm agent for the rest of the hour.
    s = observeArrivals(s, jobs(d3 + 10, 40), at(d3 + 30), UTC);
    s = observeArrivals(s, [], at(d3 + 90), UTC);
    s = observeArrivals(s, jobs(d3 + 1800, 8), at(d3 + 1830), UTC);
    s = observeArrivals(s, [], at(d3 + 1890), UTC);
    const after = decideWarm({ v: 1, arrivals: s, refill: { samples: [] } }, profile, at(d3 + 1890));
    expect(after.burst).toBeUndefined();
    expect(after.lambda).toMatchObject({ burst: 0, history: 0 });
    expect(after.lambda.live).toBeLessThan(1e-9);
    expect(after.k).toBe(0);
  });

  it('keeps the learnt rate of sparse arrivals for the whole hour, however many have come', () => {
    // 4 jobs/h every hour, 10 days: the hour's learnt rate is 4/h.
    let s = emptyWarmState(at(0)).arrivals;
    let id = 1;
    for (let h = 0; h < 240; h++)
      for (let i = 0; i < 4; i++)
        s = observeArrivals(
          s,
          [{ requestId: id++, queueTime: iso(h * 3600 + 300 + i * 900) }],
          at(h * 3600 + 301 + i * 900),
          UTC,
        );
    const hour = 240 * 3600;
    // This hour brought its 4 by :50, as the learnt hour would; Poisson arrivals do not run out.
    for (let i = 0; i < 4; i++)
      s = observeArrivals(s, [{ requestId: id++, queueTime: iso(hour + 60 + i * 700) }], at(hour + 61 + i * 700), UTC);
    expect(estimateArrivalRate(s, at(hour + 3000), UTC).history).toBeCloseTo(4 / 3600, 6);
    // The rule before issue 25 (what the learnt hour has left) read it as 0.
    const left = { ...DEFAULT_WARM_TUNING, historyLeft: true };
    expect(estimateArrivalRate(s, at(hour + 3000), UTC, left).history).toBe(0);
  });

  it('with thinHours, reads an hour seen empty only once as its neighbours’ mean rate (≤ 3/h), until a second day says so', () => {
    // Working days 08:00–18:00 at 4 jobs/h, but nothing from 12:00 to 13:00 (Poisson at 4/h: 1.8 % of hours).
    let s = emptyWarmState(at(0)).arrivals;
    let id = 1;
    /** Day d's arrivals in its working hours [from, to) (hours after 08:00), 12:00 left empty. */
    const work = (d: number, from: number, to: number) => {
      for (let h = from; h < to; h++) {
        if (h === 4) continue;
        for (let i = 0; i < 4; i++) {
          const t = d * 86400 + h * 3600 + 300 + i * 900;
          s = observeArrivals(s, [{ requestId: id++, queueTime: iso(t) }], at(t + 1), UTC);
        }
      }
    };
    const thin = { ...DEFAULT_WARM_TUNING, thinHours: true };
    const rateAt = (sec: number, tuning: typeof DEFAULT_WARM_TUNING = thin) => {
      s = observeArrivals(s, [], at(sec), UTC);
      return estimateArrivalRate(s, at(sec), UTC, tuning).history;
    };
    const warm = { maxWarmAgents: 4, maxAgents: 10, timeZone: UTC, targetWaitSec: 15 };
    work(0, 0, 10);
    // Tuesday 12:20, the live rate long gone: 12:00 was seen once, empty, between two hours of 4/h.
    work(1, 0, 4);
    const tue = 86400 + 4 * 3600 + 1200;
    // Its neighbours' mean (4/h), but no more than an hour without arrivals allows at 95 % (3/h).
    expect(rateAt(tue)! * 3600).toBeCloseTo(-Math.log(0.05), 9);
    expect(decideWarm({ ...emptyWarmState(at(0)), arrivals: s }, warm, at(tue), thin).k).toBeGreaterThanOrEqual(1);
    // Without it (the default) the hour reads 0: no warm agent, each of its jobs a cold start.
    expect(rateAt(tue, DEFAULT_WARM_TUNING)).toBe(0);
    expect(decideWarm({ ...emptyWarmState(at(0)), arrivals: s }, warm, at(tue)).k).toBe(0);
    // A second day with the same empty hour decides it: 0 from then on.
    work(1, 5, 10);
    work(2, 0, 4);
    expect(rateAt(2 * 86400 + 4 * 3600 + 1200)).toBe(0);
    // The night stays empty: both its neighbours are.
    expect(rateAt(2 * 86400 + 14 * 3600)).toBe(0);
  });

  it('buckets by the profile time zone', () => {
    let s = emptyWarmState(at(0)).arrivals;
    s = observeArrivals(s, [{ requestId: 1, queueTime: iso(5) }], at(10), 'Europe/Berlin'); // 09:00 local
    s = observeArrivals(s, [], at(3700), 'Europe/Berlin');
    expect(Object.keys(s.buckets).sort()).toEqual(['d1h9', 'h9']);
  });
});

// ----- B ------------------------------------------------------------------------------------------

describe('refill-time estimator', () => {
  it('uses the default before any create, then a high percentile of create → online', () => {
    expect(estimateRefill({ samples: [] })).toMatchObject({ refillSec: 90, source: 'default' });
    const creates = Array.from({ length: 10 }, (_, i) => ({
      acceptedAt: iso(i * 100),
      onlineAt: iso(i * 100 + 40 + i * 5),
    })); // 40..85 s
    let r = observeRefills({ samples: [] }, creates);
    expect(r.samples).toHaveLength(10);
    expect(estimateRefill(r)).toMatchObject({ refillSec: 80, samples: 10, source: 'measured' }); // p90 nearest rank = 9th of 10
    // Seen again: nothing is counted twice; a create not yet online is not counted.
    r = observeRefills(r, [...creates, { acceptedAt: iso(2000) }]);
    expect(r.samples).toHaveLength(10);
  });

  it('keeps the newest samples only', () => {
    const creates = Array.from({ length: 80 }, (_, i) => ({ acceptedAt: iso(i * 100), onlineAt: iso(i * 100 + i) }));
    const r = observeRefills({ samples: [] }, creates);
    expect(r.samples).toHaveLength(50);
    expect(r.samples[0]).toBe(30);
  });

  it('percentile is nearest rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 0.9)).toBe(5);
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
  });
});

// ----- the decision and its state -------------------------------------------------------------------

describe('decideWarm and the serialised state', () => {
  it('explains λ, B and k, and the state survives a JSON round trip', () => {
    let state = emptyWarmState(at(0));
    state = {
      ...state,
      arrivals: observeArrivals(
        state.arrivals,
        Array.from({ length: 6 }, (_, i) => ({ requestId: i + 1, queueTime: iso(i * 40) })),
        at(250),
        UTC,
      ),
      refill: observeRefills(state.refill, [{ acceptedAt: iso(0), onlineAt: iso(75) }]),
    };
    const d = decideWarm(state, { maxWarmAgents: 1, maxAgents: 10, timeZone: UTC }, at(250));
    expect(d.refill.refillSec).toBe(75);
    expect(d.uncapped).toBe(warmQuantile(d.mean, 0.05, 'job'));
    expect(d.k).toBe(1);
    expect(d.reason).toMatch(/λ=.*B=75s.*k=\d+.*capped to 1 by maxWarmAgents/);
    const back = parseWarmState(JSON.parse(JSON.stringify(state)));
    expect(back).toEqual(state);
    expect(decideWarm(back!, { maxWarmAgents: 1, maxAgents: 10, timeZone: UTC }, at(250)).k).toBe(d.k);
  });

  it('counts refills in flight past the target over W = mean (refill − target)+, not B − target', () => {
    let state = emptyWarmState(at(0));
    const creates = [40, 60, 80, 120].map((d, i) => ({ acceptedAt: iso(i), onlineAt: iso(i + d) }));
    state = { ...state, refill: observeRefills(state.refill, creates) };
    expect(meanExcess([40, 60, 80, 120], 15)).toBe((25 + 45 + 65 + 105) / 4);
    const d = decideWarm(state, { maxWarmAgents: 10, maxAgents: 10, timeZone: UTC, targetWaitSec: 15 }, at(300));
    expect(d.refill.refillSec).toBe(120); // B, p90 of the samples
    expect(d.windowSec).toBe(60);
    expect(d.reason).toMatch(/W=60s \(mean of \(refill − target 15s\)\+ over 4 creates; B=120s p90\)/);
    // Before any refill was measured: B (the default 90 s) − target.
    expect(
      decideWarm(emptyWarmState(at(0)), { maxWarmAgents: 10, maxAgents: 10, timeZone: UTC, targetWaitSec: 15 }, at(300))
        .windowSec,
    ).toBe(75);
  });

  it('keeps its tuning frozen: a run measuring other values passes them in, through warmRule to the decision', () => {
    expect(Object.isFrozen(DEFAULT_WARM_TUNING)).toBe(true);
    expect(() => Object.assign(DEFAULT_WARM_TUNING, { defaultRefillSec: 30 })).toThrow(TypeError);
    const p = profile({ targetWaitSec: 15 });
    const arrivals = [{ requestId: 1, queueTime: iso(0) }];
    expect(warmRule(p, undefined, arrivals, [], at(60)).decision.refill.refillSec).toBe(90);
    const tuned = { ...DEFAULT_WARM_TUNING, defaultRefillSec: 30 };
    expect(warmRule(p, undefined, arrivals, [], at(60), tuned).decision.refill.refillSec).toBe(30);
    expect(DEFAULT_WARM_TUNING.defaultRefillSec).toBe(90);
  });

  it('refuses malformed state', () => {
    expect(parseWarmState(null)).toBeUndefined();
    expect(parseWarmState({ v: 2 })).toBeUndefined();
    const good = JSON.parse(JSON.stringify(emptyWarmState(at(0)))) as Record<string, unknown>;
    expect(parseWarmState(good)).toBeDefined();
    expect(parseWarmState({ ...good, refill: { samples: ['x'] } })).toBeUndefined();
    expect(parseWarmState({ ...good, arrivals: { ...(good.arrivals as object), rate: -1 } })).toBeUndefined();
  });
});

// ----- the miss budget -------------------------------------------------------------------------------

describe('miss budget (realized waits past the target)', () => {
  const served = (id: number, queued: number, waited: number) => ({
    requestId: id,
    queueTime: iso(queued),
    assignTime: iso(queued + waited),
  });

  it('counts each request once, flags waits past the target, and keeps the newest jobs', () => {
    const tuning = { ...DEFAULT_WARM_TUNING, budgetJobs: 3 };
    let w = observeWaits(undefined, [served(1, 0, 2), served(2, 10, 15), served(3, 20, 15.001)], 15, tuning);
    expect(w.jobs).toEqual([
      [1, T0 + 2000, 0],
      [2, T0 + 25_000, 0], // exactly the target is not a miss
      [3, T0 + 35_001, 1],
    ]);
    // Seen again by the next pass (still running): not counted twice.
    expect(observeWaits(w, [served(2, 10, 15), served(3, 20, 15.001)], 15, tuning)).toBe(w);
    w = observeWaits(w, [served(3, 20, 15.001), served(4, 40, 60)], 15, tuning);
    expect(w.jobs.map(([id]) => id)).toEqual([2, 3, 4]);
    // Request 1 is out of the full window: assigned before its oldest entry, so it is not counted again.
    expect(observeWaits(w, [served(1, 0, 2)], 15, tuning)).toBe(w);
    // A malformed or impossible request (assigned before it queued) is skipped.
    expect(observeWaits(w, [{ requestId: 9, queueTime: iso(100), assignTime: iso(99) }], 15, tuning)).toBe(w);
    expect(missBudget(w, 0.05, { ...tuning, budgetShare: 0.6 })).toEqual({
      jobs: 3,
      misses: 2,
      allowed: 0.6 * 0.05 * 3,
      left: 0.6 * 0.05 * 3 - 2,
    });
    expect(missBudget(undefined)).toEqual({ jobs: 0, misses: 0, allowed: 0, left: 0 });
  });

  it('counts only the last day of jobs: a sparse pool cannot spend days of allowance in one afternoon', () => {
    // 200 jobs over four days, one late 3 days ago; now: a day with 25 jobs, none late.
    const day = 86_400_000;
    const now = new Date(T0 + 4 * day);
    const jobs = Array.from(
      { length: 200 },
      (_, i) => [i + 1, T0 + Math.floor((i * 4 * day) / 200), i === 30 ? 1 : 0] as [number, number, 0 | 1],
    );
    const w = { jobs };
    const lastDay = jobs.filter(([, t]) => t >= now.getTime() - day).length;
    expect(lastDay).toBe(50);
    expect(missBudget(w, 0.05, DEFAULT_WARM_TUNING, now)).toEqual({
      jobs: lastDay,
      misses: 0,
      allowed: 0.6 * 0.05 * lastDay,
      left: 0.6 * 0.05 * lastDay,
    });
    // Without the window (the rule before issue 25) the four days' 200 jobs and their miss count.
    const all = { ...DEFAULT_WARM_TUNING, budgetWindowSec: undefined };
    expect(missBudget(w, 0.05, all, now)).toMatchObject({ jobs: 200, misses: 1, allowed: 6 });
    // At 4 jobs/h a dropped agent costs ~4 misses an hour: the day's 1.5 cannot buy it, four days' 5 could.
    const lambda = 4 / 3600;
    const mean = lambda * 45;
    expect(budgetDrops(lambda, mean, 1, 0.6 * 0.05 * lastDay, 3600).drops).toBe(0);
    expect(budgetDrops(lambda, mean, 1, 5, 3600).drops).toBe(1);
  });

  it('drops an agent while the extra misses expected over the horizon fit, and prefers quiet periods', () => {
    // λ = 10 jobs/h, W = 45 s: mean 0.125. P(miss | k=2) = 1 − e^-0.125 (1 + 0.125), P(miss | k=1) = 1 − e^-0.125.
    const lambda = 10 / 3600;
    const m = lambda * 45;
    const p1 = 1 - Math.exp(-m);
    const p2 = 1 - Math.exp(-m) * (1 + m);
    const extra = 10 * (p1 - p2); // misses per hour from k = 1 instead of 2: 10 · m · e^-m = 1.1031
    expect(extra).toBeCloseTo(1.1031, 4);
    expect(budgetDrops(lambda, m, 2, 2, 3600)).toEqual({ drops: 1, expectedMisses: expect.closeTo(extra, 12) });
    expect(budgetDrops(lambda, m, 2, extra - 1e-9, 3600)).toEqual({ drops: 0, expectedMisses: 0 });
    // k = 1 → 0 would add 10 · (1 − p1) = 8.82 more: beyond a budget of 9, within 1.10 + 8.82.
    expect(budgetDrops(lambda, m, 2, 9, 3600).drops).toBe(1);
    expect(budgetDrops(lambda, m, 2, extra + 10 * (1 - p1), 3600).drops).toBe(2);
    // The same budget at 22 jobs/h (k = 2 too) buys nothing: 4.6 misses per hour.
    const busy = 22 / 3600;
    expect(22 * (jobMissProbability(busy * 45, 1) - jobMissProbability(busy * 45, 2))).toBeCloseTo(4.6, 1);
    expect(budgetDrops(busy, busy * 45, 2, 2, 3600).drops).toBe(0);
    // Nothing left, no arrivals or the budget off: no drop.
    expect(budgetDrops(lambda, m, 2, 0, 3600).drops).toBe(0);
    expect(budgetDrops(0, 0, 2, 5, 3600).drops).toBe(0);
    expect(budgetDrops(lambda, m, 2, 5, 0).drops).toBe(0);
  });

  it('decideWarm keeps the rule while the budget is spent and spends it when it is left; the reason says which', () => {
    // Three arrivals in the last 15 min (no history), one refill of 60 s, target 15 s → W = 45 s.
    let state = emptyWarmState(at(0));
    const arrivals = Array.from({ length: 3 }, (_, i) => ({ requestId: i + 1, queueTime: iso(3000 + i * 240) }));
    state = {
      ...state,
      arrivals: observeArrivals(state.arrivals, arrivals, at(3600), UTC),
      refill: observeRefills(state.refill, [{ acceptedAt: iso(0), onlineAt: iso(60) }]),
    };
    const profile = { maxWarmAgents: 10, maxAgents: 10, timeZone: UTC, targetWaitSec: 15 };
    const strict = decideWarm(state, profile, at(3600));
    // burst = 3 arrivals / 900 s = 12/h dominates; λ·W = 0.15 → k = 2.
    expect(strict.lambda.source).toBe('burst');
    expect(strict.mean).toBeCloseTo((3 / 900) * 45, 12);
    expect(strict.k).toBe(2);
    expect(strict.budget).toEqual({ jobs: 0, misses: 0, allowed: 0, left: 0, drops: 0, expectedMisses: 0 });
    expect(strict.reason).toMatch(/miss budget: 0 of the last 0 jobs waited > 15s, 0\.0 allowed, spent → k=2$/);

    // 200 jobs, 1 miss: 0.6 × 5 % × 200 = 6 allowed, 5 left; k = 1 adds 12 × (P(miss|1) − P(miss|2)) = 1.64 misses/h.
    const waits = {
      jobs: Array.from(
        { length: 200 },
        (_, i) => [i + 100, T0 - (200 - i) * 1000, i === 0 ? 1 : 0] as [number, number, 0 | 1],
      ),
    };
    const spent = decideWarm({ ...state, waits }, profile, at(3600));
    const mean = (3 / 900) * 45;
    const extra = 12 * (jobMissProbability(mean, 1) - jobMissProbability(mean, 2));
    expect(spent.budget.left).toBeCloseTo(5, 12);
    expect(spent.budget.drops).toBe(1);
    expect(spent.budget.expectedMisses).toBeCloseTo(extra, 12);
    expect(spent.k).toBe(1);
    expect(spent.uncapped).toBe(2);
    expect(spent.tailProbability).toBeCloseTo(1 - Math.exp(-mean), 12);
    expect(spent.reason).toContain(
      `miss budget: 1 of the last 200 jobs waited > 15s, 6.0 allowed, 5.0 left → k=1 (${extra.toFixed(1)} more misses expected over 60 min; jobs finding no warm agent=${((1 - Math.exp(-mean)) * 100).toFixed(1)}%)`,
    );
    // Overspent by more than `budgetTightenAfter` (measured, not the default): one agent more.
    const over = { jobs: waits.jobs.map(([id, t], i) => [id, t, i < 8 ? 1 : 0] as [number, number, 0 | 1]) };
    expect(decideWarm({ ...state, waits: over }, profile, at(3600)).k).toBe(2);
    expect(
      decideWarm({ ...state, waits: over }, profile, at(3600), { ...DEFAULT_WARM_TUNING, budgetTightenAfter: 1 }).k,
    ).toBe(3); // 8 misses, 6 allowed: 2 over
    expect(
      decideWarm({ ...state, waits: over }, profile, at(3600), { ...DEFAULT_WARM_TUNING, budgetTightenAfter: 2 }).k,
    ).toBe(2);
    // With the budget turned off, the rule's k.
    expect(decideWarm({ ...state, waits }, profile, at(3600), { ...DEFAULT_WARM_TUNING, budgetHorizonSec: 0 }).k).toBe(
      2,
    );
  });

  it('measured, not the default: a day’s misses only (budgetDay), never below one agent (budgetKeepOne), a spent budget sized for the tail it earns (budgetSpentTail)', () => {
    const day = 86_400_000;
    // 50 jobs over the last 24 hours; two late yesterday evening (T0 is 08:00 UTC), none today.
    const now = new Date(T0 + day + 4 * 3_600_000);
    const jobs = Array.from(
      { length: 50 },
      (_, i) =>
        [i + 1, now.getTime() - day + 1000 + i * 1_700_000, i === 5 || i === 6 ? 1 : 0] as [number, number, 0 | 1],
    );
    const w = { jobs };
    const dayTuning = { ...DEFAULT_WARM_TUNING, budgetDay: true };
    expect(missBudget(w, 0.05, DEFAULT_WARM_TUNING, now)).toMatchObject({ jobs: 50, misses: 2 });
    expect(missBudget(w, 0.05, dayTuning, now, UTC)).toMatchObject({ jobs: 50, misses: 0, left: 0.6 * 0.05 * 50 });
    // At 1 job/h, W = 45 s, a budget of 1.5 drops k = 1 to 0 (0.99 misses expected), unless it keeps one.
    const lambda = 1 / 3600;
    expect(budgetDrops(lambda, lambda * 45, 1, 1.5, 3600).drops).toBe(1);
    expect(budgetDrops(lambda, lambda * 45, 1, 1.5, 3600, 'job', true).drops).toBe(0);
    expect(budgetDrops(lambda, lambda * 45, 2, 1.5, 3600, 'job', true).drops).toBe(1);
    // Spent (2 misses today, 1.5 allowed) at 4 jobs/h: the rule's 5 % gives k = 1 (P = 4.9 %); the
    // tail the budget earns (0.6 × 5 % = 3 %) gives k = 2.
    let state = emptyWarmState(now);
    state = {
      ...state,
      refill: { samples: [60] },
      waits: { jobs: jobs.map(([id, t], i) => [id, t, i >= 48 ? 1 : 0] as [number, number, 0 | 1]) },
      arrivals: { ...state.arrivals, buckets: { [`h${now.getUTCHours()}`]: { rate: (4 / 3600) * 0.9, n: 3 } } },
    };
    const profile = { maxWarmAgents: 10, maxAgents: 10, timeZone: UTC, targetWaitSec: 15 };
    const rule = decideWarm(state, profile, now);
    expect(rule.budget.left).toBeLessThan(0);
    expect(rule.k).toBe(1);
    expect(decideWarm(state, profile, now, { ...DEFAULT_WARM_TUNING, budgetSpentTail: true }).k).toBe(2);
  });

  it('state written before the budget parses (no waits: nothing to spend); malformed entries are dropped', () => {
    const old = JSON.parse(JSON.stringify(emptyWarmState(at(0)))) as Record<string, unknown>;
    expect(parseWarmState(old)).toEqual(emptyWarmState(at(0)));
    expect(parseWarmState(old)!.waits).toBeUndefined();
    const withWaits = {
      ...old,
      waits: {
        jobs: [
          [1, T0, 1],
          [2, 'x', 0],
          [3, T0, 2],
          [4, T0 + 1, 0],
        ],
      },
    };
    expect(parseWarmState(withWaits)!.waits).toEqual({
      jobs: [
        [1, T0, 1],
        [4, T0 + 1, 0],
      ],
    });
  });

  it('a job feeds the budget of the profile whose agent took it, and only then', () => {
    const profiles = [profile({ name: 'docker', capabilities: { docker: '' } }), profile({ name: 'java' })];
    const jobs = [
      // Taken by our java agent after 40 s.
      {
        requestId: 1,
        queueTime: iso(0),
        assignTime: iso(40),
        reservedAgent: { id: 7, name: 'azp-java-abc' },
        demands: [],
      },
      // Taken by someone else's agent: counts as an arrival, but its wait is not ours.
      {
        requestId: 2,
        queueTime: iso(5),
        assignTime: iso(6),
        reservedAgent: { id: 8, name: 'self-hosted-1' },
        demands: ['docker'],
      },
      // Still queued.
      { requestId: 3, queueTime: iso(9), demands: ['docker'] },
    ];
    const by = arrivalsByProfile(jobs as never, profiles as never, new Map(), 'azp');
    expect(by.get('java')).toEqual([{ requestId: 1, queueTime: iso(0), assignTime: iso(40) }]);
    expect(by.get('docker')).toEqual([
      { requestId: 2, queueTime: iso(5) },
      { requestId: 3, queueTime: iso(9) },
    ]);
    expect(servedJobs(by.get('java')!)).toEqual([{ requestId: 1, queueTime: iso(0), assignTime: iso(40) }]);
    expect(servedJobs(by.get('docker')!)).toEqual([]);
  });
});
