/**
 * The sizing rule's arithmetic: Poisson tails and quantiles in log space, the three readings of the
 * tail bound (WarmCriterion), and k = the smallest count meeting it under the profile's caps. Pure.
 *
 * With jobs arriving at rate λ (per second), each taken warm agent replaced at once, and refills
 * (create accepted → agent online) still in flight past the target for W seconds on average, a job
 * finds a Poisson(λ·W) number of such refills (M/G/∞, PASTA). Keep the smallest k with
 * P(Poisson(λ·W) ≥ k) ≤ tail (5 %): at most one job in twenty finds no warm agent and waits past
 * the target. k is capped by the profile's `maxWarmAgents` (a cost ceiling) and `maxAgents`.
 */

/** Default tail bound: at most 5 % of refill windows see more arrivals than warm agents. */
export const DEFAULT_TAIL = 0.05;

// ----- the sizing rule -------------------------------------------------------------------------

/**
 * P(Poisson(mean) > k), summing the pmf in log space (exact to double precision for any mean,
 * also where e^-mean underflows).
 */
export function poissonTail(mean: number, k: number): number {
  if (!(mean > 0)) return 0;
  if (k < 0) return 1;
  return Math.max(0, 1 - poissonCdf(mean, Math.floor(k)));
}

/** P(Poisson(mean) ≤ k) as exp(logsumexp(log pmf(0..k))). */
function poissonCdf(mean: number, k: number): number {
  const logMean = Math.log(mean);
  let logPmf = -mean; // log pmf(0)
  let max = logPmf;
  const terms: number[] = [logPmf];
  for (let i = 1; i <= k; i++) {
    logPmf += logMean - Math.log(i);
    terms.push(logPmf);
    if (logPmf > max) max = logPmf;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return Math.min(1, Math.exp(max + Math.log(sum)));
}

/** The smallest k ≥ 0 with P(Poisson(mean) > k) ≤ tail. */
export function poissonQuantile(mean: number, tail = DEFAULT_TAIL): number {
  if (!(mean > 0)) return 0;
  if (!(tail > 0 && tail < 1)) throw new RangeError(`tail must be in (0, 1), got ${tail}`);
  // Walk up the pmf in log space, keeping the CDF as a scaled sum so it never underflows.
  const logMean = Math.log(mean);
  let logPmf = -mean;
  let logCdf = logPmf;
  let k = 0;
  while (1 - Math.exp(logCdf) > tail) {
    k += 1;
    logPmf += logMean - Math.log(k);
    logCdf = logAddExp(logCdf, logPmf);
    if (k > mean + 50 * Math.sqrt(mean) + 50) break; // far past any 5 % tail; guards rounding
  }
  return k;
}

function logAddExp(a: number, b: number): number {
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/**
 * How the tail bound is read:
 *   - `job` (default): the fraction of jobs that find no warm agent. With each taken agent replaced
 *     at once, the refills in flight form an M/G/∞ queue, so an arriving job sees (PASTA) a
 *     Poisson(λ·W) number of refills that will not be online within the target; it waits longer
 *     than the target when that number is ≥ k. k = the smallest k with P(N ≥ k) ≤ tail: the p95
 *     wait meets the target when tail = 5 %.
 *   - `shortfall`: E[(N − k)+] / E[N] ≤ tail, the share of one window's arrivals beyond k.
 *   - `window`: P(N > k) ≤ tail, the share of refill windows with more arrivals than k (the first
 *     rule; it bounds windows, not jobs: with k = 1 every job that arrives during a refill waits).
 */
export type WarmCriterion = 'job' | 'window' | 'shortfall';

/** P(N ≥ k), N ~ Poisson(mean): the chance that a job finds k or more refills still in flight. */
export function jobMissProbability(mean: number, k: number): number {
  if (!(mean > 0)) return 0; // no arrivals: no job misses
  return poissonTail(mean, k - 1);
}

/** E[(N − k)+] / E[N], N ~ Poisson(mean): the share of a window's arrivals beyond k. */
export function shortfallFraction(mean: number, k: number): number {
  if (!(mean > 0)) return 0;
  if (k <= 0) return 1;
  // E[(N − k)+] = mean − k + Σ_{n<k} (k − n) pmf(n), pmf in log space.
  const logMean = Math.log(mean);
  let logPmf = -mean;
  let under = 0;
  for (let n = 0; n < k; n++) {
    if (n > 0) logPmf += logMean - Math.log(n);
    under += (k - n) * Math.exp(logPmf);
  }
  return Math.max(0, mean - k + under) / mean;
}

/** The tail measure a criterion bounds, for a given k. */
export function criterionProbability(criterion: WarmCriterion, mean: number, k: number): number {
  if (criterion === 'window') return poissonTail(mean, k);
  if (criterion === 'shortfall') return shortfallFraction(mean, k);
  return jobMissProbability(mean, k);
}

/** The smallest k ≥ 0 whose criterion probability is ≤ tail (k = 0 without arrivals). */
export function warmQuantile(mean: number, tail = DEFAULT_TAIL, criterion: WarmCriterion = 'job'): number {
  if (!(mean > 0)) return 0;
  const q = poissonQuantile(mean, tail);
  if (criterion === 'window') return q;
  if (criterion === 'job') return q + 1; // P(N ≥ k) = P(N > k − 1)
  let k = 0;
  while (shortfallFraction(mean, k) > tail && k <= q + 1) k++; // shortfall(q + 1) ≤ P(N > q) ≤ tail
  return k;
}

export interface WarmSizingInput {
  /** Arrival rate, jobs per second. */
  lambdaPerSec: number;
  /** Refill time B, seconds. */
  refillSec: number;
  /** Tail bound (default 5 %). */
  tail?: number;
  /** What the tail bounds (default `job`). */
  criterion?: WarmCriterion;
  maxWarmAgents: number;
  maxAgents: number;
}

export interface WarmSizing {
  /** Warm idle agents to keep. */
  k: number;
  /** λ·B, the expected arrivals within one refill. */
  mean: number;
  /** k before the caps. */
  uncapped: number;
  /** Which cap bound k, if any. */
  cappedBy?: 'maxWarmAgents' | 'maxAgents';
  /** The criterion's probability for the k kept (above the tail when a cap bound). */
  tailProbability: number;
  criterion: WarmCriterion;
}

/** k = the smallest k meeting the criterion (default: P(Poisson(λ·B) ≥ k) ≤ tail), capped by maxWarmAgents and maxAgents. */
export function warmAgentCount(input: WarmSizingInput): WarmSizing {
  const lambda = Number.isFinite(input.lambdaPerSec) && input.lambdaPerSec > 0 ? input.lambdaPerSec : 0;
  const refill = Number.isFinite(input.refillSec) && input.refillSec > 0 ? input.refillSec : 0;
  const mean = lambda * refill;
  const criterion = input.criterion ?? 'job';
  const uncapped = warmQuantile(mean, input.tail ?? DEFAULT_TAIL, criterion);
  const maxWarm = Math.max(0, Math.floor(input.maxWarmAgents));
  const maxAgents = Math.max(0, Math.floor(input.maxAgents));
  let k = uncapped;
  let cappedBy: WarmSizing['cappedBy'];
  if (k > maxWarm) {
    k = maxWarm;
    cappedBy = 'maxWarmAgents';
  }
  if (k > maxAgents) {
    k = maxAgents;
    cappedBy = 'maxAgents';
  }
  return {
    k,
    mean,
    uncapped,
    ...(cappedBy ? { cappedBy } : {}),
    tailProbability: mean > 0 ? criterionProbability(criterion, mean, k) : 0,
    criterion,
  };
}
