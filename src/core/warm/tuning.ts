/**
 * The warm rule's tuning: the rule's values and the learnt bursts' seven (bursts.ts), frozen. A run that measures another value passes its own
 * WarmTuning in (the planner's PoolPolicy `warmTuning`, the simulator's `ours.reconcile`), never by
 * changing the default.
 */
import type { WarmCriterion } from './arithmetic.js';
import { DEFAULT_BURST_TUNING, type BurstTuning } from './bursts.js';

/** The rule's values and the learnt bursts' (bursts.ts: seven more). */
export interface WarmTuning extends BurstTuning {
  /** EWMA time constant of the live rate, seconds (default 900: quiet periods decay it in ~15 min). */
  tauSec: number;
  /** Burst window, seconds (default 900): the rate over it lifts λ at once (300 s let one arrival read as 0.2/min). */
  burstWindowSec: number;
  /**
   * With no arrival for this long (default 900 s), the live rate no longer counts (history still
   * does). The per-job rule keeps one warm agent for any λ > 0, and an EWMA never reaches 0. Equal
   * to the burst window, so both terms end together 15 min after the last arrival (1800 s held
   * warm agents 15 min longer than the burst; lab/warm-cost.ts counts them).
   */
  quietSec: number;
  /**
   * When set, a silence ends the live term only once a stream at the live rate would keep it this
   * rarely (e^(−rate·t) ≤ α), never before `quietSec` nor after `quietMaxSec`. Off when undefined.
   */
  quietAlpha?: number;
  quietMaxSec?: number;
  /**
   * Arrivals are told apart by id for this long after their queue time (default 900 s); an arrival
   * first seen later than that is not counted (it cannot be told from one counted before).
   */
  dedupWindowSec: number;
  /** Weight of a new hour in its history bucket (default 0.3). */
  historyWeight: number;
  /**
   * Within the hour being counted, take the learnt rate as what the learnt hour has left after the
   * arrivals already counted (default false). Off since issue 25: sparse Poisson arrivals do not
   * run out — an hour that learnt 4 jobs and has had 4 by :20 still brings 4/h — and on
   * daily-burst seed 9 it left 9 of the 15 jobs late after day 1 with no warm agent; the nightly batch
   * it was for is a learnt burst now, which asks for nothing once it has come. Kept so the figures
   * before can be reproduced (`--tuning '{"historyLeft":true}'`).
   */
  historyLeft: boolean;
  /**
   * Look this much further than one refill ahead in the history for a known ramp, seconds (default
   * 120: two timer passes). decideWarm reads the learnt rate at now + B + lookaheadSec, so warm
   * agents are created one refill (and a pass or two) before a known ramp, not half an hour before
   * it (a fixed 1800 s kept k agents idle for ~30 min before every learnt ramp: lab/warm-days.ts).
   */
  lookaheadSec: number;
  /** Refill samples kept (default 50) and the percentile used for B (default 0.9). */
  refillSamples: number;
  refillPercentile: number;
  /** B before any create was measured, seconds (default 90). */
  defaultRefillSec: number;
  /** What the tail bounds (default `job`: the share of jobs that find no warm agent). */
  criterion: WarmCriterion;
  /**
   * The window W the arrivals are counted over: `excess` (default) = the mean of (refill − target)+
   * over the measured refills, the M/G/∞ figure (refills in flight that will not be online within
   * the target are Poisson(λ·E[(S − target)+])); `percentile` = B − target with B the percentile.
   */
  window: 'excess' | 'percentile';
  /**
   * The miss budget: of the last `budgetJobs` jobs our agents took (default 200), a share
   * `budgetShare` (default 0.6) of the tail may wait past the target; the misses not yet spent may
   * buy one agent fewer than the rule asks for while the extra misses expected over
   * `budgetHorizonSec` (default 3600: λ × ΔP(miss) × horizon) fit in what is left (0.8 and 1800 s
   * let p95 pass 15 s on 2 of 20 steady-day seeds: docs/research.md). Low λ makes a dropped agent
   * cheap in misses, so the budget goes to quiet periods first. 0 turns the budget off.
   */
  budgetJobs: number;
  budgetShare: number;
  budgetHorizonSec: number;
  /**
   * Only the jobs assigned within this of now count in the budget, seconds (default 86400): the p95
   * is read per day, so a day's misses must fit a day's jobs. Without it the 200 jobs of a sparse
   * pool spanned four days, and the budget spent their allowance in one quiet afternoon (daily-burst:
   * 22 of the 74 jobs late after day 1 over seeds 1–10 found the k = 0 it had dropped to). Undefined: the
   * last `budgetJobs` alone.
   */
  budgetWindowSec?: number;
  /**
   * Measured, off by default (docs/research.md, "Issue 25, third stop"): count only the misses since
   * the pool's local midnight against the allowance of the last `budgetWindowSec` of jobs (a
   * day's), so yesterday's misses do not hold k up in the morning (`budgetDay`); never drop the last
   * warm agent while jobs arrive (`budgetKeepOne`); a spent budget sizes k for the tail it earns,
   * budgetShare × tail, not the rule's (`budgetSpentTail`). All three: daily-burst seeds 1–20 at
   * 1.00× KEDA (0.97× of the totals) but 74/80 days against 76/80, steady-day +3 % cost.
   */
  budgetDay?: boolean;
  budgetKeepOne?: boolean;
  budgetSpentTail?: boolean;
  /**
   * A learnt burst's agents come on top of the background's own: the rule's k at the learnt hour's
   * rate, which the explained bursts have left (default true). With the larger of the two instead,
   * a background job in the burst's window took one of its agents and a burst job waited a refill
   * (daily-burst, seeds 1–20: a burst job late on 5 of the 80 days after day 1, none with it).
   */
  burstOnBackground: boolean;
  /**
   * When set, an hour seen once (its hour-of-day bucket has one day in it), empty, reads as its
   * neighbours' mean rate, at most 3 jobs/h (what no arrival in an hour bounds with 95 %
   * confidence). One day cannot tell an empty hour of a Poisson stream (4 jobs/h: 1.8 % of hours)
   * from an hour off: daily-burst seeds 2 and 6 lose day 2 to an empty first or last working hour
   * on day 1, and this wins them back. Off by default: it keeps an agent on day 2 through every
   * empty hour next to a busy one, of every profile — +1–8 % of the week's cost on the other
   * samples (monday-burst 0.73 → 0.79× KEDA, mixed-profiles 0.72 → 0.74×, seeds 1–3) for one day
   * in 80 on daily-burst.
   */
  thinHours?: boolean;
  /**
   * When set, the burst rate counts only when its count over the burst window is unlikely under
   * the live rate: P(Poisson(live × window) ≥ count) ≤ this. Off when undefined.
   */
  burstSignificance?: number;
  /** Overspent by more than this many misses (left < −x): one agent more than the rule asks for. Off when undefined. */
  budgetTightenAfter?: number;
}

export const DEFAULT_WARM_TUNING: Readonly<WarmTuning> = Object.freeze({
  ...DEFAULT_BURST_TUNING,
  tauSec: 900,
  burstWindowSec: 900,
  quietSec: 900,
  dedupWindowSec: 900,
  historyWeight: 0.3,
  historyLeft: false,
  burstOnBackground: true,
  lookaheadSec: 120,
  refillSamples: 50,
  refillPercentile: 0.9,
  defaultRefillSec: 90,
  criterion: 'job',
  window: 'excess',
  budgetJobs: 200,
  budgetShare: 0.6,
  budgetHorizonSec: 3600,
  budgetWindowSec: 86400,
});
