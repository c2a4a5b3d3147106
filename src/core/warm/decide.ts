/**
 * The warm decision of one profile: λ and B from its state, W the part of a refill past the wait
 * target, k from the sizing rule under the caps, then one agent fewer while the miss budget allows
 * it (or one more when overspent, with `budgetTightenAfter`). Pure: `now` is passed in.
 */
import { DEFAULT_TAIL, criterionProbability, warmAgentCount, warmQuantile, type WarmSizing } from './arithmetic.js';
import { estimateArrivalRate, type ArrivalEstimate } from './arrivals.js';
import { budgetDrops, missBudget, type SpentBudget } from './budget.js';
import { burstTarget, nextBurst } from './bursts.js';
import { burstReason, warmReason } from './explain.js';
import { estimateRefill, meanExcess, type RefillEstimate } from './refill.js';
import type { WarmState } from './state.js';
import { DEFAULT_WARM_TUNING, type WarmTuning } from './tuning.js';

export interface WarmDecision extends WarmSizing {
  /**
   * A learnt burst whose window holds now: the agents it asks for (its size less the arrivals
   * already counted in its window), its size and when it is expected. k is at least `k` plus the
   * background's own agents (capped).
   */
  burst?: { k: number; size: number; at: string };
  /** The next learnt burst expected: when, from when its agents are kept, and how many (its size and the background's own at its hour, capped). */
  nextBurst?: { at: string; from: string; agents: number };
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
  const mb = missBudget(state.waits, tail, tuning, now, profile.timeZone);
  const spend = budgetDrops(
    lambda.lambdaPerSec,
    sizing.mean,
    ruleK,
    mb.left,
    tuning.budgetHorizonSec,
    sizing.criterion,
    tuning.budgetKeepOne === true,
  );
  const budget = { ...mb, ...spend };
  spendBudget(sizing, budget, profile, tuning);
  const reason = warmReason({ lambda, refill, windowSec, sizing, ruleK, budget, target, tail, tuning });
  // The background's own agents while a learnt burst's window holds: the rule's k at the learnt
  // hour's rate (explained bursts are out of it), not at the live rate the burst itself lifts.
  const background = (rate: number) =>
    tuning.burstOnBackground
      ? warmAgentCount({
          lambdaPerSec: rate,
          refillSec: windowSec,
          criterion: tuning.criterion,
          maxWarmAgents: profile.maxWarmAgents,
          maxAgents: profile.maxAgents,
          ...(profile.tail !== undefined ? { tail: profile.tail } : {}),
        }).k
      : 0;
  const leadSec = refill.refillSec + tuning.lookaheadSec;
  const bursts = learntBursts(state, sizing, profile, now, leadSec, tuning, {
    now: background(Math.max(lambda.history ?? 0, lambda.ahead ?? 0)),
    // What the next burst will get, for `status`: its size on top of the background at its hour.
    at: (at: Date) => background(estimateArrivalRate(state.arrivals, at, profile.timeZone, tuning, 0).history ?? 0),
  });
  return {
    ...sizing,
    ...(bursts.burst ? { burst: bursts.burst } : {}),
    ...(bursts.next ? { nextBurst: bursts.next } : {}),
    lambda,
    refill,
    windowSec,
    budget,
    reason: reason + bursts.text,
  };
}

/**
 * A learnt burst: its size in warm agents from one refill B (and the look-ahead) before it until it
 * has come, on top of `background` (the background's own agents), within maxWarmAgents and
 * maxAgents; the rule and the budget never lower it. B is the profile's own measured refill, so a
 * slow profile's agents start earlier. Moves `sizing.k`.
 */
function learntBursts(
  state: WarmState,
  sizing: WarmSizing,
  profile: WarmProfile,
  now: Date,
  leadSec: number,
  tuning: Readonly<WarmTuning>,
  background: { now: number; at: (at: Date) => number },
): { burst?: WarmDecision['burst']; next?: WarmDecision['nextBurst']; text: string } {
  const { bursts, recent } = state.arrivals;
  const cap = Math.max(0, Math.min(Math.floor(profile.maxWarmAgents), Math.floor(profile.maxAgents)));
  const bt = burstTarget(bursts, recent, now, profile.timeZone, leadSec, tuning);
  const burst = bt && bt.k > 0 ? { k: bt.k, size: bt.size, at: new Date(bt.window.at).toISOString() } : undefined;
  const burstK = Math.min(burst ? burst.k + background.now : 0, cap);
  const before = sizing.k;
  if (burstK > sizing.k) {
    sizing.k = burstK;
    sizing.tailProbability = criterionProbability(sizing.criterion, sizing.mean, sizing.k);
  }
  const nb = nextBurst(bursts, now, profile.timeZone, leadSec, tuning);
  const next = nb
    ? { at: nb.at.toISOString(), from: nb.from.toISOString(), agents: Math.min(nb.size + background.at(nb.at), cap) }
    : undefined;
  return {
    ...(burst ? { burst } : {}),
    ...(next ? { next } : {}),
    text: burstReason(burst, burstK, before, next, burst ? background.now : 0),
  };
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
  } else if (tuning.budgetSpentTail && budget.misses > 0 && budget.left <= 0 && sizing.mean > 0) {
    const cap = Math.min(Math.floor(profile.maxWarmAgents), Math.floor(profile.maxAgents));
    const k = Math.min(
      cap,
      warmQuantile(sizing.mean, tuning.budgetShare * (profile.tail ?? DEFAULT_TAIL), sizing.criterion),
    );
    if (k > ruleK) {
      sizing.k = k;
      sizing.tailProbability = criterionProbability(sizing.criterion, sizing.mean, sizing.k);
    }
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
