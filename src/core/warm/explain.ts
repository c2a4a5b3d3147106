/**
 * The warm decision in words: the reason `status` prints (λ × W, the k the rule asks for, the caps
 * and the miss budget). Pure.
 */
import { criterionProbability, type WarmCriterion, type WarmSizing } from './arithmetic.js';
import type { ArrivalEstimate } from './arrivals.js';
import type { SpentBudget } from './budget.js';
import type { RefillEstimate } from './refill.js';
import type { WarmTuning } from './tuning.js';

/** What decideWarm weighed, for its reason. */
export interface WarmReasonInput {
  lambda: ArrivalEstimate;
  refill: RefillEstimate;
  /** The window W the Poisson count used. */
  windowSec: number;
  /** The sizing kept (after the budget). */
  sizing: WarmSizing;
  /** k as the rule and the caps gave it, before the budget. */
  ruleK: number;
  budget: SpentBudget;
  target: number;
  tail: number;
  tuning: Readonly<WarmTuning>;
}

export function warmReason(i: WarmReasonInput): string {
  const { lambda, refill, windowSec, sizing, ruleK, target, tail, tuning } = i;
  const excess = windowSec !== Math.max(0, refill.refillSec - target);
  const pN = `p${Math.round(tuning.refillPercentile * 100)}`;
  const window = excess
    ? `(mean of (refill − target ${target}s)+ over ${refill.samples} creates; B=${refill.refillSec.toFixed(0)}s ${pN})`
    : `(B=${refill.refillSec.toFixed(0)}s ${refill.source === 'measured' ? `${pN} of ${refill.samples} creates` : 'default'}` +
      (target > 0 ? ` − target ${target}s)` : ')');
  const measure = CRITERION_TEXT[sizing.criterion];
  return (
    `λ=${(lambda.lambdaPerSec * 60).toFixed(2)}/min (${lambda.source}) × W=${windowSec.toFixed(0)}s ` +
    window +
    ` = ${sizing.mean.toFixed(2)} refills in flight past the target → k=${sizing.uncapped} ` +
    `(${measure}=${pct(criterionProbability(sizing.criterion, sizing.mean, sizing.uncapped))} ≤ ${pct(tail)})` +
    (sizing.cappedBy
      ? `, capped to ${ruleK} by ${sizing.cappedBy} (${measure}=${pct(criterionProbability(sizing.criterion, sizing.mean, ruleK))})`
      : '') +
    budgetText(i.budget, ruleK, sizing, target, tuning)
  );
}

function budgetText(
  b: SpentBudget,
  ruleK: number,
  sizing: WarmSizing,
  target: number,
  tuning: Readonly<WarmTuning>,
): string {
  if (!(tuning.budgetHorizonSec > 0)) return '';
  const head = `; miss budget: ${b.misses} of the last ${b.jobs} jobs waited > ${target}s, ${b.allowed.toFixed(1)} allowed`;
  if (b.drops > 0)
    return (
      `${head}, ${b.left.toFixed(1)} left → k=${sizing.k} (${b.expectedMisses.toFixed(1)} more misses expected over ` +
      `${Math.round(tuning.budgetHorizonSec / 60)} min; ${CRITERION_TEXT[sizing.criterion]}=${pct(sizing.tailProbability)})`
    );
  if (b.left <= 0) return `${head}, spent → k=${ruleK}`;
  return ruleK > 0 ? `${head}, ${b.left.toFixed(1)} left: too little for k=${ruleK - 1} at this λ` : `${head}`;
}

/** The learnt burst in words: the one being waited for now, and the next one expected. */
export function burstReason(
  burst: { k: number; size: number; at: string } | undefined,
  burstK: number,
  before: number,
  next: { at: string; from: string; agents: number } | undefined,
  /** The background's own agents the burst's come on top of. */
  background = 0,
): string {
  const hhmm = (iso: string) => iso.slice(11, 16);
  let out = '';
  if (burst)
    out +=
      `; learnt burst of ${burst.size} jobs at ${hhmm(burst.at)} UTC: ${burst.k} still to come` +
      (background > 0 ? ` + ${background} for the background at the learnt hour's rate` : '') +
      (burstK > before ? ` → k=${burstK}` : ` (k=${before} already covers ${burstK})`) +
      (burstK < burst.k + background ? ` (capped from ${burst.k + background})` : '');
  if (next && next.at !== burst?.at)
    out += `; next learnt burst ${next.at.slice(0, 10)} ${hhmm(next.at)} UTC: ${next.agents} warm agents from ${hhmm(next.from)}`;
  return out;
}

const pct = (p: number) => `${(p * 100).toFixed(1)}%`;
const CRITERION_TEXT: Record<WarmCriterion, string> = {
  job: 'jobs finding no warm agent',
  window: 'P(more)',
  shortfall: 'arrivals beyond k',
};
