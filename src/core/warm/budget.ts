/**
 * The miss budget: the realized waits of the jobs our agents took, and how many agents fewer than
 * the rule asks for the misses not yet spent can buy. Pure.
 */
import { DEFAULT_TAIL, criterionProbability, type WarmCriterion } from './arithmetic.js';
import { localDay } from './bursts.js';
import type { WaitState } from './state.js';
import { DEFAULT_WARM_TUNING, type WarmTuning } from './tuning.js';

/** A job request one of our agents of the profile took: when it queued and when it was assigned. */
export interface ServedJob {
  requestId: number;
  queueTime: string;
  assignTime: string;
}

/**
 * Adds the jobs assigned since the last call (each request id counts once) with whether each
 * waited longer than `targetSec`, and keeps the newest `budgetJobs`. A job assigned before the
 * oldest one kept is not counted again once the window has moved past it.
 */
export function observeWaits(
  state: WaitState | undefined,
  served: readonly ServedJob[],
  targetSec: number,
  tuning: Readonly<WarmTuning> = DEFAULT_WARM_TUNING,
): WaitState {
  const jobs = state?.jobs ?? [];
  const seen = new Set(jobs.map(([id]) => id));
  const oldest = jobs.length >= tuning.budgetJobs ? (jobs[0]?.[1] ?? -Infinity) : -Infinity;
  const fresh: [number, number, 0 | 1][] = [];
  for (const j of served) {
    const q = Date.parse(j.queueTime);
    const a = Date.parse(j.assignTime);
    if (!Number.isFinite(q) || !Number.isFinite(a) || a < q || a < oldest || seen.has(j.requestId)) continue;
    seen.add(j.requestId);
    fresh.push([j.requestId, a, (a - q) / 1000 > targetSec ? 1 : 0]);
  }
  if (fresh.length === 0 && state) return state;
  const all = [...jobs, ...fresh].sort((x, y) => x[1] - y[1] || x[0] - y[0]);
  return { jobs: all.slice(-Math.max(0, tuning.budgetJobs)) };
}

export interface MissBudget {
  /** Jobs in the window and how many of them waited past the target. */
  jobs: number;
  misses: number;
  /** budgetShare × tail × jobs: the misses the window may hold. */
  allowed: number;
  /** allowed − misses: what is left to spend (negative when overspent). */
  left: number;
}

/** The miss budget and what decideWarm spent of it: the agents dropped and the misses they are expected to add. */
export type SpentBudget = MissBudget & { drops: number; expectedMisses: number };

export function missBudget(
  state: WaitState | undefined,
  tail = DEFAULT_TAIL,
  tuning: Readonly<WarmTuning> = DEFAULT_WARM_TUNING,
  /** With `budgetWindowSec`: only the jobs assigned within it of now count. */
  now?: Date,
  timeZone?: string,
): MissBudget {
  const since = now && tuning.budgetWindowSec !== undefined ? now.getTime() - tuning.budgetWindowSec * 1000 : -Infinity;
  const kept = (state?.jobs ?? []).filter(([, at]) => at >= since);
  const jobs = kept.length;
  const dayStart = now && tuning.budgetDay && timeZone ? localDay(now.getTime(), timeZone).mid : -Infinity;
  const misses = kept.reduce((n, [, at, late]) => n + (at >= dayStart ? late : 0), 0);
  const allowed = tuning.budgetShare * tail * jobs;
  return { jobs, misses, allowed, left: allowed - misses };
}

/**
 * Agents the budget drops from k: one fewer while the extra misses expected over the horizon,
 * λ × (P(miss | k − 1) − P(miss | k)) × horizon, summed over the agents dropped, fit in `left`.
 */
export function budgetDrops(
  lambdaPerSec: number,
  mean: number,
  k: number,
  left: number,
  horizonSec: number,
  criterion: WarmCriterion = 'job',
  keepOne = false,
): { drops: number; expectedMisses: number } {
  let drops = 0;
  let spent = 0;
  if (!(horizonSec > 0) || !(left > 0) || !(lambdaPerSec > 0)) return { drops, expectedMisses: spent };
  while (k - drops > (keepOne ? 1 : 0)) {
    const kk = k - drops;
    const extra =
      lambdaPerSec *
      horizonSec *
      (criterionProbability(criterion, mean, kk - 1) - criterionProbability(criterion, mean, kk));
    if (spent + extra > left) break;
    spent += extra;
    drops++;
  }
  return { drops, expectedMisses: spent };
}
