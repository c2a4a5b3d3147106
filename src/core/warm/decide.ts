/**
 * The warm decision of one profile: λ and B from its state, W the part of a refill past the wait
 * target, k from the sizing rule under the caps, then one agent fewer while the miss budget allows
 * it (or one more when overspent, with `budgetTightenAfter`). Pure: `now` is passed in.
 */
import { DEFAULT_TAIL, criterionProbability, warmAgentCount, type WarmSizing } from './arithmetic.js';
import { estimateArrivalRate, type ArrivalEstimate } from './arrivals.js';
import { budgetDrops, missBudget, type SpentBudget } from './budget.js';
import { warmReason } from './explain.js';
import { estimateRefill, meanExcess, type RefillEstimate } from './refill.js';
import type { WarmState } from './state.js';
import { DEFAULT_WARM_TUNING, type WarmTuning } from './tuning.js';

export interface WarmDecision extends WarmSizing {
  lambda: ArrivalEstimate;
  refill: RefillEstimate;
  /** The miss budget over the recent jobs, and the agents it dropped from the rule's k. */
  budget: SpentBudget;
  /** The window W the Poisson count used: mean (refill − target)+ (or B − target before any refill was measured). */
  windowSec: number;
  reason: string;
}

/** What decideWarm reads of the profile. */
export interface WarmProfile {
  maxWarmAgents: number;
  maxAgents: number;
  timeZone: string;
  tail?: number;
  targetWaitSec?: number;
}

export function decideWarm(
  state: WarmState,
  profile: WarmProfile,
  now: Date,
  tuning: Readonly<WarmTuning> = DEFAULT_WARM_TUNING,
): WarmDecision {
  const refill = estimateRefill(state.refill, tuning);
  // A known ramp is met by agents created one refill (and a pass or two) before it.
  const lambda = estimateArrivalRate(
    state.arrivals,
    now,
    profile.timeZone,
    tuning,
    refill.refillSec + tuning.lookaheadSec,
  );
  // A job may wait `targetWaitSec`: an agent that comes online within it still meets the target,
  // so only arrivals within the rest of a refill (B − target) need an agent already waiting.
  const target = profile.targetWaitSec ?? 0;
  const windowSec =
    tuning.window === 'excess' && state.refill.samples.length > 0
      ? meanExcess(state.refill.samples.slice(-tuning.refillSamples), target)
      : Math.max(0, refill.refillSec - target);
  const sizing = warmAgentCount({
    lambdaPerSec: lambda.lambdaPerSec,
    refillSec: windowSec,
    criterion: tuning.criterion,
    maxWarmAgents: profile.maxWarmAgents,
    maxAgents: profile.maxAgents,
    ...(profile.tail !== undefined ? { tail: profile.tail } : {}),
  });
  const tail = profile.tail ?? DEFAULT_TAIL;
  const ruleK = sizing.k;
  const mb = missBudget(state.waits, tail, tuning);
  const spend = budgetDrops(
    lambda.lambdaPerSec,
    sizing.mean,
    ruleK,
    mb.left,
    tuning.budgetHorizonSec,
    sizing.criterion,
  );
  const budget = { ...mb, ...spend };
  spendBudget(sizing, budget, profile, tuning);
  const reason = warmReason({ lambda, refill, windowSec, sizing, ruleK, budget, target, tail, tuning });
  return { ...sizing, lambda, refill, windowSec, budget, reason };
}

/**
 * Moves `sizing.k` by what the budget says: the agents it drops, or one more than the rule asks
 * for when overspent by more than `budgetTightenAfter` (below the caps, with arrivals).
 */
function spendBudget(
  sizing: WarmSizing,
  budget: SpentBudget,
  profile: WarmProfile,
  tuning: Readonly<WarmTuning>,
): void {
  const ruleK = sizing.k;
  if (budget.drops > 0) {
    sizing.k = ruleK - budget.drops;
    sizing.tailProbability = criterionProbability(sizing.criterion, sizing.mean, sizing.k);
  } else if (
    tuning.budgetTightenAfter !== undefined &&
    budget.left < -tuning.budgetTightenAfter &&
    sizing.mean > 0 &&
    ruleK < Math.min(Math.floor(profile.maxWarmAgents), Math.floor(profile.maxAgents))
  ) {
    sizing.k = ruleK + 1;
    sizing.tailProbability = criterionProbability(sizing.criterion, sizing.mean, sizing.k);
  }
}
