/**
 * The warm-agent sizing rule against exact Poisson quantiles, and the λ / B estimators.
 *
 * Reference quantiles come from two places that share no code with src/core/warm.ts:
 *   - published cumulative Poisson tables (e.g. any statistics handbook's table of
 *     P(X ≤ k) for mean m): the smallest k with P(X ≤ k) ≥ 0.95;
 *   - an exact computation here: for a rational mean m = p/q, e^m · P(X ≤ k) = Σ m^i / i! is a
 *     rational number computed with BigInt, compared against 0.95 · e^m bracketed by a rational
 *     enclosure of e^m (Taylor series with an explicit remainder bound), so the comparison is exact.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_WARM_TUNING,
  decideWarm,
  emptyWarmState,
  estimateArrivalRate,
  estimateRefill,
  jobMissProbability,
  meanExcess,
  observeArrivals,
  observeRefills,
  parseWarmState,
  percentile,
  poissonQuantile,
  poissonTail,
  shortfallFraction,
  warmAgentCount,
  warmQuantile,
} from '../../src/core/warm.js';

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
    const e = estimateArrivalRate(s, at(2 * week + 2400), UTC);
    expect(e.live).toBeLessThan(1e-4);
    expect(e.source).toBe('ahead');
    expect(e.lambdaPerSec).toBeCloseTo(36 / 3600, 6);
    // Monday 11:30: the learnt rate there is 0.
    expect(estimateArrivalRate(s, at(2 * week + 3.5 * 3600), UTC).history).toBe(0);
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

  it('refuses malformed state', () => {
    expect(parseWarmState(null)).toBeUndefined();
    expect(parseWarmState({ v: 2 })).toBeUndefined();
    const good = JSON.parse(JSON.stringify(emptyWarmState(at(0)))) as Record<string, unknown>;
    expect(parseWarmState(good)).toBeDefined();
    expect(parseWarmState({ ...good, refill: { samples: ['x'] } })).toBeUndefined();
    expect(parseWarmState({ ...good, arrivals: { ...(good.arrivals as object), rate: -1 } })).toBeUndefined();
  });
});
