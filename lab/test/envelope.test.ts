/** The arithmetic behind lab/warm-frontier.ts: envelope, time-sharing, the M/G/∞ figure. */
import { describe, expect, it } from 'vitest';
import {
  analyticMiss,
  cheapestMixture,
  costAt,
  expectedExcess,
  lowerEnvelope,
  pointOf,
  poissonAtLeast,
  type FrontierRun,
} from '../analysis/envelope.js';

/** A run over seeds with these miss counts (of 100 served jobs each) and cost ratios. */
const run = (label: string, misses: number[], costs: number[]): FrontierRun => ({
  label,
  seeds: misses.map((m, i) => ({ seed: i + 1, served: 100, misses: m, costRatio: costs[i]! })),
});

describe('lowerEnvelope / costAt', () => {
  const pts = [
    { label: 'k0', miss: 1, cost: 0.7 },
    { label: 'k1', miss: 0.3, cost: 0.9 },
    { label: 'k2', miss: 0.04, cost: 1.2 },
    { label: 'k3', miss: 0.005, cost: 1.5 },
    { label: 'above', miss: 0.3, cost: 1.1 }, // same miss as k1, dearer
    { label: 'inside', miss: 0.1, cost: 1.3 }, // above the chord k1–k2
    { label: 'dominated', miss: 1, cost: 0.9 },
  ];

  it('keeps the lower convex hull from the fewest misses to the cheapest point', () => {
    expect(lowerEnvelope(pts).map((p) => p.label)).toEqual(['k3', 'k2', 'k1', 'k0']);
  });

  it('drops a point above the chord of its neighbours', () => {
    const bent = [...pts, { label: 'bulge', miss: 0.02, cost: 1.4 }];
    // The chord k3–k2 at 0.02 costs 1.5 − (0.015/0.035)·0.3 ≈ 1.371 < 1.4: bulge is not on the envelope.
    expect(lowerEnvelope(bent).map((p) => p.label)).not.toContain('bulge');
    const dip = [...pts, { label: 'dip', miss: 0.02, cost: 1.3 }];
    expect(lowerEnvelope(dip).map((p) => p.label)).toContain('dip');
  });

  it('interpolates the cost between envelope points and is undefined below the fewest misses', () => {
    const env = lowerEnvelope(pts);
    expect(costAt(env, 0.04)).toBeCloseTo(1.2, 12);
    // Halfway between k2 (0.04, 1.2) and k1 (0.3, 0.9) in miss.
    expect(costAt(env, 0.17)).toBeCloseTo(1.05, 12);
    expect(costAt(env, 0.001)).toBeUndefined();
    expect(costAt(env, 1)).toBeCloseTo(0.7, 12);
  });
});

describe('pointOf', () => {
  it('pools misses over the served jobs of all seeds and averages the cost ratios', () => {
    const r: FrontierRun = {
      label: 'x',
      seeds: [
        { seed: 1, served: 100, misses: 10, costRatio: 1 },
        { seed: 2, served: 300, misses: 10, costRatio: 2 },
      ],
    };
    expect(pointOf(r)).toEqual({ label: 'x', miss: 20 / 400, cost: 1.5 });
  });
});

describe('cheapestMixture', () => {
  it('moves from the cheapest run within the budget towards a cheaper one until a seed reaches the budget', () => {
    const a = run('a', [3, 4], [1.2, 1.3]);
    const b = run('b', [30, 40], [0.9, 0.9]);
    const c = run('c', [1, 1], [1.5, 1.5]);
    const m = cheapestMixture([a, b, c], 0.05)!;
    // a with b: seed 2 allows θ·0.04 + (1 − θ)·0.40 ≤ 0.05 → θ ≥ 35/36; seed 1: θ ≥ 25/27.
    expect(m.a).toBe('a');
    expect(m.b).toBe('b');
    expect(m.theta).toBeCloseTo(35 / 36, 12);
    expect(m.maxSeedMiss).toBeCloseTo(0.05, 12);
    const cost = (35 / 36) * 1.25 + (1 / 36) * 0.9;
    expect(m.cost).toBeCloseTo(cost, 12);
  });

  it('is bound by the worst seed, not by the pooled share', () => {
    // Pooled, b misses 5 % (0 + 10 of 200), but seed 2 misses 10 %: b alone is not allowed.
    const a = run('a', [0, 0], [2, 2]);
    const b = run('b', [0, 10], [1, 1]);
    const m = cheapestMixture([a, b], 0.05)!;
    expect(m.theta).toBeCloseTo(0.5, 12); // seed 2: (1 − θ)·0.10 ≤ 0.05
    expect(m.cost).toBeCloseTo(1.5, 12);
    expect(m.miss).toBeCloseTo(0.025, 12);
  });

  it('mixes two runs that each break the budget on a different seed', () => {
    // Seed 1: θ·0.06 ≤ 0.05 → θ ≤ 5/6; seed 2: (1 − θ)·0.07 ≤ 0.05 → θ ≥ 2/7. a costs less: θ = 5/6.
    const m = cheapestMixture([run('a', [6, 0], [1, 1]), run('b', [0, 7], [2, 2])], 0.05)!;
    expect([m.a, m.b, m.theta]).toEqual(['a', 'b', expect.closeTo(5 / 6, 12)]);
  });

  it('finds nothing when no mixture keeps every seed within the budget', () => {
    expect(cheapestMixture([run('a', [6, 6], [1, 1]), run('b', [9, 7], [1, 1])], 0.05)).toBeUndefined();
  });
});

describe('the M/G/∞ figure', () => {
  it('P(Poisson ≥ k) against exact values', () => {
    expect(poissonAtLeast(0.5, 0)).toBe(1);
    expect(poissonAtLeast(0.5, 1)).toBeCloseTo(1 - Math.exp(-0.5), 12);
    expect(poissonAtLeast(0.5, 2)).toBeCloseTo(1 - Math.exp(-0.5) * 1.5, 12);
    expect(poissonAtLeast(0, 1)).toBe(0);
  });

  it('E[(X − τ)+] of a sum of lognormals against its closed form where τ ≤ 0 and a one-lognormal formula', () => {
    const a = { median: 35, sigma: 0.35 };
    const b = { median: 20, sigma: 0.3 };
    // τ below every outcome: E[X] = c + m1·e^{σ1²/2} + m2·e^{σ2²/2}.
    const mean = 5 + 35 * Math.exp(0.35 ** 2 / 2) + 20 * Math.exp(0.3 ** 2 / 2);
    expect(expectedExcess(5, a, b, 0)).toBeCloseTo(mean, 3);
    // A degenerate second term (σ = 0): E[(c + L − τ)+] with L lognormal has the Black–Scholes form.
    const phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
    const k = 40; // τ − c − m2
    const d1 = (Math.log(35 / k) + 0.35 ** 2) / 0.35;
    const d2 = d1 - 0.35;
    const closed = 35 * Math.exp(0.35 ** 2 / 2) * phi(d1) - k * phi(d2);
    expect(expectedExcess(5, a, { median: 20, sigma: 0 }, 65)).toBeCloseTo(closed, 3);
  });

  it('weights each hour’s miss by its arrivals', () => {
    // 2 runs; hour 9 has 72 jobs (36/h per run = 0.01/s), hour 10 none, hour 11 has 7.2 per run.
    const perHour = new Map([
      [9, 72],
      [11, 14.4],
    ]);
    const w = 50;
    const exp = (72 * poissonAtLeast(0.5, 1) + 14.4 * poissonAtLeast(0.1, 1)) / 86.4;
    expect(analyticMiss(perHour, 2, w, 1)).toBeCloseTo(exp, 12);
    expect(analyticMiss(perHour, 2, w, 0)).toBe(1);
    expect(analyticMiss(new Map(), 2, w, 1)).toBe(0);
  });
});

/** erf by Simpson's rule (accurate to ~1e-12 here). */
function erf(x: number): number {
  const n = 20_000;
  const h = x / n;
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const t = i * h;
    const wgt = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
    s += wgt * Math.exp(-t * t);
  }
  return ((2 / Math.sqrt(Math.PI)) * s * h) / 3;
}
