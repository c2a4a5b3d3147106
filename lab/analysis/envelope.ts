/**
 * What is reachable for warm agents (lab/warm-frontier.ts): pure arithmetic over simulator runs.
 *
 *  - Each policy run (a fixed warm count per profile, seeds 1…N) is a point (pooled share of served
 *    jobs waiting past the bound, mean cost / KEDA's). The lower convex envelope of the points is
 *    what time-sharing two of them reaches: running policy a for a share θ of the time and b for the
 *    rest waits and costs θ·a + (1 − θ)·b. For one average constraint (here: the miss share), an
 *    optimal policy needs to mix at most two pure ones (Ross, "Randomized and past-dependent
 *    policies for Markov decision processes with multiple constraints", Operations Research 37(3),
 *    1989: randomization in at most K states for K constraints; a round-robin, i.e. time-sharing,
 *    policy for K = 1). That the pure policies worth mixing are the base-stock ones (a fixed warm
 *    count, each taken agent replaced at once) is the assumption, standard for the (S − 1, S)
 *    inventory with Poisson demand.
 *  - `cheapestMixture` asks more: every seed's own miss share within the budget (so every seed's
 *    p95 stays under the bound), the per-seed miss shares of a mixture taken as the same θ-mix.
 *  - The analytic figure: with k warm agents and each taken one replaced at once, refills in flight
 *    form an M/G/∞ queue (Tijms, "A First Course in Stochastic Models", §1.1.3, the (S − 1, S)
 *    inventory; with a time-varying Poisson rate the count stays Poisson, "Extensions of Palm's
 *    theorem", Management Science 37(6), 1991). A job waits past the bound τ when at least k refills
 *    are in flight that will not be ready within τ: P(Poisson(λ·W) ≥ k), W = E[(S − τ)+].
 */
import { poissonTail } from '../../src/core/warm/index.js';

export interface SeedOutcome {
  seed: number;
  /** Served jobs. */
  served: number;
  /** Served jobs that waited longer than the bound. */
  misses: number;
  /** Cost of this run / KEDA's on the same seed. */
  costRatio: number;
}

export interface FrontierRun {
  label: string;
  seeds: readonly SeedOutcome[];
}

export interface EnvelopePoint {
  label: string;
  /** Pooled miss share over the seeds. */
  miss: number;
  /** Mean cost ratio over the seeds. */
  cost: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export function pooledMiss(run: FrontierRun): number {
  const served = run.seeds.reduce((a, s) => a + s.served, 0);
  return served === 0 ? 0 : run.seeds.reduce((a, s) => a + s.misses, 0) / served;
}

export function meanCost(run: FrontierRun): number {
  return mean(run.seeds.map((s) => s.costRatio));
}

export const pointOf = (run: FrontierRun): EnvelopePoint => ({
  label: run.label,
  miss: pooledMiss(run),
  cost: meanCost(run),
});

const cross = (o: EnvelopePoint, a: EnvelopePoint, b: EnvelopePoint) =>
  (a.miss - o.miss) * (b.cost - o.cost) - (a.cost - o.cost) * (b.miss - o.miss);

/**
 * The efficient lower envelope: the lower convex hull of (miss, cost), from the fewest misses to
 * the cheapest point, each step cheaper and missing more (points that cost more and miss more than
 * another are dropped).
 */
export function lowerEnvelope(points: readonly EnvelopePoint[]): EnvelopePoint[] {
  const sorted = [...points].sort((a, b) => a.miss - b.miss || a.cost - b.cost);
  const hull: EnvelopePoint[] = [];
  for (const p of sorted) {
    if (hull.length > 0 && hull[hull.length - 1]!.miss === p.miss) continue; // same miss, dearer
    while (hull.length >= 2 && cross(hull[hull.length - 2]!, hull[hull.length - 1]!, p) <= 0) hull.pop();
    hull.push(p);
  }
  // Keep the part that falls in cost: past the cheapest point, missing more buys nothing.
  const cheapest = hull.reduce((i, p, j) => (p.cost < hull[i]!.cost ? j : i), 0);
  return hull.slice(0, cheapest + 1);
}

/** The envelope's cost at a miss share (linear between its points); undefined below its fewest misses. */
export function costAt(envelope: readonly EnvelopePoint[], miss: number): number | undefined {
  if (envelope.length === 0 || miss < envelope[0]!.miss) return undefined;
  for (let i = 0; i + 1 < envelope.length; i++) {
    const a = envelope[i]!;
    const b = envelope[i + 1]!;
    if (miss <= b.miss) return a.cost + ((miss - a.miss) / (b.miss - a.miss)) * (b.cost - a.cost);
  }
  return envelope[envelope.length - 1]!.cost;
}

export interface Mixture {
  a: string;
  b: string;
  /** Share of the time on a (1 = a alone). */
  theta: number;
  /** Mean over seeds of the mixed cost ratio. */
  cost: number;
  /** Pooled miss share of the mixture. */
  miss: number;
  /** The largest seed's miss share. */
  maxSeedMiss: number;
}

/**
 * The cheapest time-sharing of two runs (or one run alone) under which every seed's miss share is
 * at most `budget`. Runs must cover the same seeds in the same order. Per seed, the mixture's miss
 * share and cost are θ·a + (1 − θ)·b; each seed's bound cuts θ to an interval, the cost is linear in
 * θ, so the optimum is an end of the intersection.
 */
export function cheapestMixture(runs: readonly FrontierRun[], budget: number): Mixture | undefined {
  let best: Mixture | undefined;
  const share = (s: SeedOutcome) => (s.served === 0 ? 0 : s.misses / s.served);
  for (const a of runs) {
    for (const b of runs) {
      if (a.seeds.length !== b.seeds.length) throw new Error(`${a.label} and ${b.label} cover different seeds`);
      let lo = 0;
      let hi = 1;
      a.seeds.forEach((sa, i) => {
        const sb = b.seeds[i]!;
        if (sa.seed !== sb.seed) throw new Error(`${a.label} and ${b.label} cover different seeds`);
        // θ·fa + (1 − θ)·fb ≤ budget  ⇔  θ·(fa − fb) ≤ budget − fb
        const d = share(sa) - share(sb);
        const r = budget - share(sb);
        if (d > 0) hi = Math.min(hi, r / d);
        else if (d < 0) lo = Math.max(lo, r / d);
        else if (r < 0) hi = -1;
      });
      if (lo > hi) continue;
      const slope = mean(a.seeds.map((s, i) => s.costRatio - b.seeds[i]!.costRatio));
      const theta = slope > 0 ? lo : hi;
      const mixed: FrontierRun = {
        label: '',
        seeds: a.seeds.map((sa, i) => {
          const sb = b.seeds[i]!;
          return {
            seed: sa.seed,
            served: 1,
            misses: theta * share(sa) + (1 - theta) * share(sb),
            costRatio: theta * sa.costRatio + (1 - theta) * sb.costRatio,
          };
        }),
      };
      const cost = meanCost(mixed);
      if (!best || cost < best.cost - 1e-12) {
        const served = (s: SeedOutcome, t: SeedOutcome) => theta * s.served + (1 - theta) * t.served;
        const missed = a.seeds.reduce((acc, sa, i) => acc + theta * sa.misses + (1 - theta) * b.seeds[i]!.misses, 0);
        const total = a.seeds.reduce((acc, sa, i) => acc + served(sa, b.seeds[i]!), 0);
        best = {
          a: a.label,
          b: b.label,
          theta,
          cost,
          miss: total === 0 ? 0 : missed / total,
          maxSeedMiss: Math.max(...mixed.seeds.map((s) => s.misses)),
        };
      }
    }
  }
  return best;
}

/**
 * E[(X − tau)+] for X = c + lognormal(m1, s1) + lognormal(m2, s2) (independent), by a midpoint rule
 * over both standard normals on [−8, 8] (deterministic; `steps` per axis).
 */
export function expectedExcess(
  c: number,
  a: { median: number; sigma: number },
  b: { median: number; sigma: number },
  tau: number,
  steps = 800,
): number {
  const h = 16 / steps;
  const phi = (z: number) => Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
  let sum = 0;
  for (let i = 0; i < steps; i++) {
    const z1 = -8 + (i + 0.5) * h;
    const x1 = a.median * Math.exp(a.sigma * z1);
    const w1 = phi(z1) * h;
    for (let j = 0; j < steps; j++) {
      const z2 = -8 + (j + 0.5) * h;
      const excess = c + x1 + b.median * Math.exp(b.sigma * z2) - tau;
      if (excess > 0) sum += w1 * phi(z2) * h * excess;
    }
  }
  return sum;
}

/** P(Poisson(mean) ≥ k). */
export const poissonAtLeast = (mean: number, k: number): number =>
  k <= 0 ? 1 : mean > 0 ? poissonTail(mean, k - 1) : 0;

/**
 * The M/G/∞ miss share of a profile with `k` warm agents: arrivals counted per hour (`perHour`: jobs
 * in each hour, over `runs` runs of the trace), each hour's Poisson rate held over the hour, and the
 * share weighted by arrivals: Σ n_h · P(Poisson(n_h / (runs · 3600) · W) ≥ k) / Σ n_h.
 */
export function analyticMiss(perHour: ReadonlyMap<number, number>, runs: number, w: number, k: number): number {
  let jobs = 0;
  let missed = 0;
  for (const n of perHour.values()) {
    jobs += n;
    missed += n * poissonAtLeast((n / (runs * 3600)) * w, k);
  }
  return jobs === 0 ? 0 : missed / jobs;
}
