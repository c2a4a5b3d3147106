/**
 * Warm agents from a queue-wait target: how many idle agents to keep so that a job rarely waits for
 * a create. Pure: no I/O, no clock (every function takes `now`), no environment.
 *
 * The rule: with jobs arriving at rate λ (per second), each taken warm agent replaced at once, and
 * refills (create accepted → agent online) still in flight past the target for W seconds on
 * average, a job finds a Poisson(λ·W) number of such refills (M/G/∞, PASTA). Keep the smallest k
 * with P(Poisson(λ·W) ≥ k) ≤ tail (5 %): at most one job in twenty finds no warm agent and waits
 * past the target. k is capped by the profile's `maxWarmAgents` (a cost ceiling) and `maxAgents`.
 *
 * The estimators fold what a pass already reads into a small serialisable state ({@link WarmState},
 * kept per profile beside the back-off state):
 *   - λ from the queue times of the job requests (and the webhook's arrivals): an EWMA that quiet
 *     periods decay, raised at once by a burst (the rate over the last few minutes), and, once
 *     there is history, by the rate learnt for this hour of this weekday (or of the day) and the
 *     next one, so warm agents come up ahead of a known daily ramp;
 *   - B from our own creates: a high percentile of create-accepted → agent-online durations.
 */
import { localTime } from './standby.js';
import type { WebhookArrival } from './types.js';

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

// ----- estimator state (serialisable; lives in the pool's back-off blob) -------------------------

/** A learnt hourly arrival rate: EWMA over the hours seen in this bucket, and how many were seen. */
export interface RateBucket {
  rate: number;
  n: number;
}

export interface ArrivalState {
  /** Smoothed arrival rate, jobs/s. */
  rate: number;
  /** ISO time of the last update. */
  updatedAt: string;
  /** Newest queue time counted so far (ISO). */
  lastQueueTime?: string;
  /** Written by versions before `counted`: the request ids at `lastQueueTime` (read once, then dropped). */
  lastIds?: number[];
  /**
   * The arrivals counted whose queue time is within the dedup window: key (`r<requestId>`,
   * `j<jobId>`) → queue time (epoch ms). A job the list and the webhook both show counts once,
   * whichever pass sees it first and in whatever order.
   */
  counted?: Record<string, number>;
  /** Queue times (epoch ms) within the burst window, for the burst rate. */
  recent: number[];
  /** The hour being counted: its start (epoch ms, local hour start as UTC instant) and arrivals so far. */
  hour?: { start: number; day: number; hour: number; count: number };
  /** Learnt rates by "d{weekday}h{hour}" (weekday 0 = Sunday) and by "h{hour}", local time. */
  buckets: Record<string, RateBucket>;
}

export interface RefillState {
  /** Recent create-accepted → agent-online durations, seconds, oldest first. */
  samples: number[];
  /** Newest agent-online time (ISO) already counted. */
  lastOnline?: string;
}

/**
 * The jobs our agents of the profile took, each counted once, for the miss budget: request id,
 * assign time (epoch ms) and whether it waited past the target (1) or not (0), oldest first.
 */
export interface WaitState {
  jobs: [number, number, 0 | 1][];
}

export interface WarmState {
  v: 1;
  arrivals: ArrivalState;
  refill: RefillState;
  /** Realized waits (absent in state written before the miss budget; then nothing is spent). */
  waits?: WaitState;
}

export interface WarmTuning {
  /** EWMA time constant of the live rate, seconds (default 900: quiet periods decay it in ~15 min). */
  tauSec: number;
  /** Burst window, seconds (default 900): the rate over it lifts λ at once (300 s let one arrival read as 0.2/min). */
  burstWindowSec: number;
  /**
   * With no arrival for this long (default 900 s), the live rate no longer counts (history still
   * does). The per-job rule keeps one warm agent for any λ > 0, and an EWMA never reaches 0. Equal
   * to the burst window, so both terms end together 15 min after the last arrival (1800 s held
   * warm agents 15 min longer than the burst; scripts/warm-cost.ts counts them).
   */
  quietSec: number;
  /**
   * Arrivals are told apart by id for this long after their queue time (default 900 s); an arrival
   * first seen later than that is not counted (it cannot be told from one counted before).
   */
  dedupWindowSec: number;
  /** Weight of a new hour in its history bucket (default 0.3). */
  historyWeight: number;
  /**
   * Look this much further than one refill ahead in the history for a known ramp, seconds (default
   * 120: two timer passes). decideWarm reads the learnt rate at now + B + lookaheadSec, so warm
   * agents are created one refill (and a pass or two) before a known ramp, not half an hour before
   * it (a fixed 1800 s kept k agents idle for ~30 min before every learnt ramp: scripts/warm-days.ts).
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
   * let p95 pass 15 s on 2 of 20 steady-day seeds: docs/design-notes.md). Low λ makes a dropped agent
   * cheap in misses, so the budget goes to quiet periods first. 0 turns the budget off.
   */
  budgetJobs: number;
  budgetShare: number;
  budgetHorizonSec: number;
  /**
   * When set, the burst rate counts only when its count over the burst window is unlikely under
   * the live rate: P(Poisson(live × window) ≥ count) ≤ this. Off when undefined.
   */
  burstSignificance?: number;
  /** Overspent by more than this many misses (left < −x): one agent more than the rule asks for. Off when undefined. */
  budgetTightenAfter?: number;
}

export const DEFAULT_WARM_TUNING: WarmTuning = {
  tauSec: 900,
  burstWindowSec: 900,
  quietSec: 900,
  dedupWindowSec: 900,
  historyWeight: 0.3,
  lookaheadSec: 120,
  refillSamples: 50,
  refillPercentile: 0.9,
  defaultRefillSec: 90,
  criterion: 'job',
  window: 'excess',
  budgetJobs: 200,
  budgetShare: 0.6,
  budgetHorizonSec: 3600,
};

export function emptyWarmState(now: Date): WarmState {
  return {
    v: 1,
    arrivals: { rate: 0, updatedAt: now.toISOString(), recent: [], counted: {}, buckets: {} },
    refill: { samples: [] },
  };
}

// ----- λ -----------------------------------------------------------------------------------------

/**
 * A job as the estimator needs it: its queue time and whatever ids it is known by — the request id
 * (job-request list, an agent's last completed request) and the job id (the same list, the webhook).
 */
export interface Arrival {
  requestId?: number;
  jobId?: string;
  queueTime: string;
  /** Set when one of our agents of the profile took the job: the wait it had is known (the miss budget). */
  assignTime?: string;
}

/** The ids an arrival is known by; job ids are uuids, compared without case. */
export function arrivalKeys(a: Pick<Arrival, 'requestId' | 'jobId'>): string[] {
  const keys: string[] = [];
  if (a.requestId !== undefined) keys.push(`r${a.requestId}`);
  if (a.jobId) keys.push(`j${a.jobId.toLowerCase()}`);
  return keys;
}

/** A job id as Azure DevOps writes it (a uuid); anything else is not one. */
export function isJobId(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v);
}

/** A webhook arrival read back from a queue message; undefined when it is not one. */
export function parseWebhookArrival(raw: unknown): WebhookArrival | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (!isJobId(r.jobId)) return undefined;
  return { jobId: r.jobId, ...(isIso(r.queueTime) ? { queueTime: new Date(r.queueTime).toISOString() } : {}) };
}

/** Counted ids kept in the state at most (the newest by queue time). */
const MAX_COUNTED = 2000;

/**
 * Folds the arrivals seen by one pass (the job requests' queue times, and the webhook's arrivals)
 * into the state, and decays it to `now`. Each job counts once: arrivals that share an id are one
 * job (the earliest queue time wins), and an id counted by an earlier pass within
 * `dedupWindowSec` of its queue time is not counted again.
 */
export function observeArrivals(
  state: ArrivalState,
  seen: readonly Arrival[],
  now: Date,
  timeZone: string,
  tuning: WarmTuning = DEFAULT_WARM_TUNING,
): ArrivalState {
  const nowMs = now.getTime();
  const { times, counted } = newArrivalTimes(state, seen, nowMs, tuning);
  const lastMs = state.lastQueueTime ? Date.parse(state.lastQueueTime) : -Infinity;
  let lastQueueMs = lastMs;
  for (const t of times) lastQueueMs = Math.max(lastQueueMs, t);

  // Live EWMA over the elapsed interval: the interval's observed rate, weighted by 1 - e^(-dt/τ).
  const prevMs = Date.parse(state.updatedAt);
  const dtSec = Number.isFinite(prevMs) ? Math.max(0, (nowMs - prevMs) / 1000) : 0;
  let rate = state.rate;
  if (dtSec > 0) {
    const alpha = 1 - Math.exp(-dtSec / tuning.tauSec);
    rate += alpha * (times.length / dtSec - rate);
  } else if (times.length > 0) {
    rate = Math.max(rate, times.length / tuning.burstWindowSec);
  }

  // Burst window.
  const windowStart = nowMs - tuning.burstWindowSec * 1000;
  const recent = [...state.recent, ...times].filter((t) => t > windowStart).sort((a, b) => a - b);

  return {
    rate,
    updatedAt: now.toISOString(),
    ...(Number.isFinite(lastQueueMs) ? { lastQueueTime: new Date(lastQueueMs).toISOString() } : {}),
    recent: recent.slice(-1000),
    counted: Object.fromEntries([...counted].sort((a, b) => a[1] - b[1]).slice(-MAX_COUNTED)),
    ...foldHours(state, times, now, timeZone, tuning),
  };
}

/**
 * The queue times (sorted) of this pass's jobs not counted before, and the counted ids to keep.
 * Arrivals that share an id are one job (and join jobs they link; the earliest queue time wins); a
 * job counted by an earlier pass within `dedupWindowSec` of its queue time is not counted again.
 */
function newArrivalTimes(
  state: ArrivalState,
  seen: readonly Arrival[],
  nowMs: number,
  tuning: WarmTuning,
): { times: number[]; counted: Map<string, number> } {
  const horizon = nowMs - tuning.dedupWindowSec * 1000;
  const counted = new Map(Object.entries(state.counted ?? {}).filter(([, t]) => t > horizon));
  // A state written before `counted` existed: its watermark still says what was counted.
  const legacy = state.counted === undefined;
  const lastMs = state.lastQueueTime ? Date.parse(state.lastQueueTime) : -Infinity;
  const lastIds = new Set((state.lastIds ?? []).map((id) => `r${id}`));

  type Job = { keys: Set<string>; t: number };
  const jobs = new Set<Job>();
  const byKey = new Map<string, Job>();
  for (const a of seen) {
    const t = Date.parse(a.queueTime);
    const keys = arrivalKeys(a);
    if (!Number.isFinite(t) || t > nowMs || keys.length === 0) continue;
    const hits = [...new Set(keys.flatMap((k) => byKey.get(k) ?? []))];
    const job: Job = hits[0] ?? { keys: new Set(), t };
    jobs.add(job);
    for (const other of [...hits.slice(1), { keys: new Set(keys), t }]) {
      job.t = Math.min(job.t, other.t);
      for (const k of other.keys) {
        job.keys.add(k);
        byKey.set(k, job);
      }
      if (other !== job) jobs.delete(other);
    }
  }
  const times: number[] = [];
  for (const job of jobs) {
    const keys = [...job.keys];
    const before = keys.find((k) => counted.has(k));
    if (before !== undefined) {
      // Counted already (by another of its ids, maybe): remember all its ids.
      for (const k of keys) counted.set(k, counted.get(before)!);
      continue;
    }
    if (job.t <= horizon) continue;
    for (const k of keys) counted.set(k, job.t);
    // Behind the old watermark: counted (or passed over) by the version that wrote it.
    if (legacy && (job.t < lastMs || (job.t === lastMs && keys.some((k) => lastIds.has(k))))) continue;
    times.push(job.t);
  }
  return { times: times.sort((a, b) => a - b), counted };
}

/**
 * Hour-of-week history: every hour that ended since the last pass is folded into its buckets
 * (hours without arrivals count as 0, up to a week of them); the open hour keeps counting.
 */
function foldHours(
  state: ArrivalState,
  times: readonly number[],
  now: Date,
  timeZone: string,
  tuning: WarmTuning,
): Pick<ArrivalState, 'hour' | 'buckets'> {
  const buckets = { ...state.buckets };
  const cur = hourOf(now, timeZone);
  const perHour = new Map<number, number>();
  for (const t of times) {
    const s = hourOf(new Date(t), timeZone).start;
    perHour.set(s, (perHour.get(s) ?? 0) + 1);
  }
  const close = (d: number, h: number, count: number) => {
    const obs = count / 3600;
    for (const key of [`d${d}h${h}`, `h${h}`]) {
      const b = buckets[key];
      buckets[key] = b ? { rate: b.rate + tuning.historyWeight * (obs - b.rate), n: b.n + 1 } : { rate: obs, n: 1 };
    }
  };
  let open = state.hour;
  if (open && open.start < cur.start) {
    close(open.day, open.hour, open.count + (perHour.get(open.start) ?? 0));
    for (let s = open.start + 3_600_000, i = 0; s < cur.start && i < 168; s += 3_600_000, i++) {
      const h = hourOf(new Date(s), timeZone);
      if (h.start >= cur.start) break;
      close(h.day, h.hour, perHour.get(h.start) ?? 0);
    }
    open = undefined;
  }
  const hour = open
    ? { ...open, count: open.count + (perHour.get(open.start) ?? 0) }
    : { ...cur, count: perHour.get(cur.start) ?? 0 };
  return { hour, buckets };
}

/** Local hour (in `timeZone`) that contains `now`: its weekday, hour and start instant. */
function hourOf(now: Date, timeZone: string): { start: number; day: number; hour: number } {
  const { day, minutes } = localTime(now, timeZone);
  const start = now.getTime() - (minutes % 60) * 60_000 - now.getUTCSeconds() * 1000 - now.getUTCMilliseconds();
  return { start, day, hour: Math.floor(minutes / 60) };
}

export interface ArrivalEstimate {
  /** λ used for sizing, jobs/s. */
  lambdaPerSec: number;
  live: number;
  burst: number;
  /**
   * Learnt rate for now and for `aheadSec` ahead (undefined without history). Within the hour being
   * counted, the learnt rate is what it leaves for the rest of the hour: (learnt count − arrivals
   * counted so far)+ spread over the time left, never more than the learnt rate — an hour whose
   * learnt jobs have all come (a nightly batch) keeps no warm agents for the rest of it.
   */
  history?: number;
  ahead?: number;
  /** Which term set λ. */
  source: 'live' | 'burst' | 'history' | 'ahead' | 'none';
}

/**
 * λ = max(live EWMA decayed to now (0 after `quietSec` without arrivals), burst rate, learnt rate
 * now and `aheadSec` ahead (default `lookaheadSec`; decideWarm passes B + `lookaheadSec`)).
 */
export function estimateArrivalRate(
  state: ArrivalState,
  now: Date,
  timeZone: string,
  tuning: WarmTuning = DEFAULT_WARM_TUNING,
  aheadSec: number = tuning.lookaheadSec,
): ArrivalEstimate {
  const nowMs = now.getTime();
  const prevMs = Date.parse(state.updatedAt);
  const dtSec = Number.isFinite(prevMs) ? Math.max(0, (nowMs - prevMs) / 1000) : 0;
  const lastMs = state.lastQueueTime ? Date.parse(state.lastQueueTime) : Number.NEGATIVE_INFINITY;
  const live = nowMs - lastMs > tuning.quietSec * 1000 ? 0 : state.rate * Math.exp(-dtSec / tuning.tauSec);
  const windowStart = nowMs - tuning.burstWindowSec * 1000;
  const burstCount = state.recent.filter((t) => t > windowStart && t <= nowMs).length;
  const significant =
    tuning.burstSignificance === undefined ||
    live === 0 ||
    poissonTail(live * tuning.burstWindowSec, burstCount - 1) <= tuning.burstSignificance;
  const burst = significant ? burstCount / tuning.burstWindowSec : 0;
  const learnt = (at: Date): number | undefined => {
    const hour = hourOf(at, timeZone);
    const rate = (state.buckets[`d${hour.day}h${hour.hour}`] ?? state.buckets[`h${hour.hour}`])?.rate;
    if (rate === undefined || state.hour?.start !== hour.start) return rate;
    // The hour being counted: what the learnt hour has left after the arrivals already counted.
    const leftSec = (hour.start + 3_600_000 - at.getTime()) / 1000;
    const left = Math.max(0, rate * 3600 - state.hour.count);
    return leftSec > 0 ? Math.min(rate, left / leftSec) : 0;
  };
  const history = learnt(now);
  const ahead = learnt(new Date(nowMs + Math.max(0, aheadSec) * 1000));
  const candidates: [ArrivalEstimate['source'], number | undefined][] = [
    ['live', live],
    ['burst', burst],
    ['history', history],
    ['ahead', ahead],
  ];
  let source: ArrivalEstimate['source'] = 'none';
  let lambda = 0;
  for (const [s, v] of candidates) {
    if (v !== undefined && v > lambda) {
      lambda = v;
      source = s;
    }
  }
  return {
    lambdaPerSec: lambda,
    live,
    burst,
    ...(history !== undefined ? { history } : {}),
    ...(ahead !== undefined ? { ahead } : {}),
    source,
  };
}

// ----- B -----------------------------------------------------------------------------------------

/** One of our creates: when ARM accepted it and when its agent came online (if it did). */
export interface CreateObservation {
  acceptedAt: string;
  onlineAt?: string;
}

/** Adds the creates whose agent came online since the last call (each counts once). */
export function observeRefills(
  state: RefillState,
  creates: readonly CreateObservation[],
  tuning: WarmTuning = DEFAULT_WARM_TUNING,
): RefillState {
  const lastMs = state.lastOnline ? Date.parse(state.lastOnline) : -Infinity;
  const fresh = creates
    .flatMap((c) => {
      if (!c.onlineAt) return [];
      const on = Date.parse(c.onlineAt);
      const acc = Date.parse(c.acceptedAt);
      if (!Number.isFinite(on) || !Number.isFinite(acc) || on <= lastMs || on < acc) return [];
      return [{ on, sec: (on - acc) / 1000 }];
    })
    .sort((a, b) => a.on - b.on);
  if (fresh.length === 0) return state;
  const samples = [...state.samples, ...fresh.map((f) => f.sec)].slice(-tuning.refillSamples);
  return { samples, lastOnline: new Date(fresh[fresh.length - 1]!.on).toISOString() };
}

export interface RefillEstimate {
  refillSec: number;
  samples: number;
  source: 'measured' | 'default';
}

/** B = the configured percentile (nearest rank) of the recent samples; the default before any. */
export function estimateRefill(state: RefillState, tuning: WarmTuning = DEFAULT_WARM_TUNING): RefillEstimate {
  if (state.samples.length === 0) return { refillSec: tuning.defaultRefillSec, samples: 0, source: 'default' };
  return {
    refillSec: percentile(state.samples, tuning.refillPercentile),
    samples: state.samples.length,
    source: 'measured',
  };
}

/** E[(S − t)+] over the samples: the mean time a refill is still in flight after t seconds. */
export function meanExcess(samples: readonly number[], t: number): number {
  if (samples.length === 0) return 0;
  return samples.reduce((a, s) => a + Math.max(0, s - t), 0) / samples.length;
}

/** Nearest-rank percentile (p in (0, 1]). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] ?? 0;
}

// ----- the miss budget: realized waits past the target -------------------------------------------

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
  tuning: WarmTuning = DEFAULT_WARM_TUNING,
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

export function missBudget(
  state: WaitState | undefined,
  tail = DEFAULT_TAIL,
  tuning: WarmTuning = DEFAULT_WARM_TUNING,
): MissBudget {
  const jobs = state?.jobs.length ?? 0;
  const misses = state?.jobs.reduce((n, [, , late]) => n + late, 0) ?? 0;
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
): { drops: number; expectedMisses: number } {
  let drops = 0;
  let spent = 0;
  if (!(horizonSec > 0) || !(left > 0) || !(lambdaPerSec > 0)) return { drops, expectedMisses: spent };
  while (k - drops > 0) {
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

// ----- the decision, with the reason `status` prints ---------------------------------------------

export interface WarmDecision extends WarmSizing {
  lambda: ArrivalEstimate;
  refill: RefillEstimate;
  /** The miss budget over the recent jobs, and the agents it dropped from the rule's k. */
  budget: MissBudget & { drops: number; expectedMisses: number };
  /** The window W the Poisson count used: mean (refill − target)+ (or B − target before any refill was measured). */
  windowSec: number;
  reason: string;
}

export function decideWarm(
  state: WarmState,
  profile: { maxWarmAgents: number; maxAgents: number; timeZone: string; tail?: number; targetWaitSec?: number },
  now: Date,
  tuning: WarmTuning = DEFAULT_WARM_TUNING,
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
  if (spend.drops > 0) {
    sizing.k = ruleK - spend.drops;
    sizing.tailProbability = criterionProbability(sizing.criterion, sizing.mean, sizing.k);
  } else if (
    tuning.budgetTightenAfter !== undefined &&
    mb.left < -tuning.budgetTightenAfter &&
    sizing.mean > 0 &&
    ruleK < Math.min(Math.floor(profile.maxWarmAgents), Math.floor(profile.maxAgents))
  ) {
    sizing.k = ruleK + 1;
    sizing.tailProbability = criterionProbability(sizing.criterion, sizing.mean, sizing.k);
  }
  const excess = windowSec !== Math.max(0, refill.refillSec - target);
  const reason =
    `λ=${(lambda.lambdaPerSec * 60).toFixed(2)}/min (${lambda.source}) × W=${windowSec.toFixed(0)}s ` +
    (excess
      ? `(mean of (refill − target ${target}s)+ over ${refill.samples} creates; B=${refill.refillSec.toFixed(0)}s p${Math.round(tuning.refillPercentile * 100)})`
      : `(B=${refill.refillSec.toFixed(0)}s ${refill.source === 'measured' ? `p${Math.round(tuning.refillPercentile * 100)} of ${refill.samples} creates` : 'default'}` +
        (target > 0 ? ` − target ${target}s)` : ')')) +
    ` = ${sizing.mean.toFixed(2)} refills in flight past the target → k=${sizing.uncapped} ` +
    `(${CRITERION_TEXT[sizing.criterion]}=${pct(criterionProbability(sizing.criterion, sizing.mean, sizing.uncapped))} ≤ ${pct(tail)})` +
    (sizing.cappedBy
      ? `, capped to ${ruleK} by ${sizing.cappedBy} (${CRITERION_TEXT[sizing.criterion]}=${pct(criterionProbability(sizing.criterion, sizing.mean, ruleK))})`
      : '') +
    budgetText(budget, ruleK, sizing, target, tuning);
  return { ...sizing, lambda, refill, windowSec, budget, reason };
}

function budgetText(
  b: WarmDecision['budget'],
  ruleK: number,
  sizing: WarmSizing,
  target: number,
  tuning: WarmTuning,
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

const pct = (p: number) => `${(p * 100).toFixed(1)}%`;
const CRITERION_TEXT: Record<WarmCriterion, string> = {
  job: 'jobs finding no warm agent',
  window: 'P(more)',
  shortfall: 'arrivals beyond k',
};

// ----- reading the state back (it comes from a blob another version may have written) ------------

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isIso = (v: unknown): v is string => typeof v === 'string' && Number.isFinite(Date.parse(v));

/** Validates a parsed JSON value; anything malformed gives undefined (start afresh). */
export function parseWarmState(raw: unknown): WarmState | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (r.v !== 1) return undefined;
  const a = r.arrivals as Record<string, unknown> | undefined;
  const f = r.refill as Record<string, unknown> | undefined;
  if (!a || typeof a !== 'object' || !f || typeof f !== 'object') return undefined;
  if (!isNum(a.rate) || a.rate < 0 || !isIso(a.updatedAt) || !Array.isArray(a.recent) || !a.recent.every(isNum))
    return undefined;
  if (a.lastQueueTime !== undefined && !isIso(a.lastQueueTime)) return undefined;
  if (a.lastIds !== undefined && !(Array.isArray(a.lastIds) && a.lastIds.every(isNum))) return undefined;
  const counted = a.counted as Record<string, unknown> | undefined;
  if (
    counted !== undefined &&
    !(counted && typeof counted === 'object' && !Array.isArray(counted) && Object.values(counted).every(isNum))
  )
    return undefined;
  const buckets: Record<string, RateBucket> = {};
  if (!a.buckets || typeof a.buckets !== 'object') return undefined;
  for (const [k, v] of Object.entries(a.buckets as Record<string, unknown>)) {
    const b = v as Partial<RateBucket> | null;
    if (/^(d[0-6])?h([0-9]|1[0-9]|2[0-3])$/.test(k) && b && isNum(b.rate) && b.rate >= 0 && isNum(b.n))
      buckets[k] = { rate: b.rate, n: b.n };
  }
  const h = a.hour as Record<string, unknown> | undefined;
  const hour =
    h && isNum(h.start) && isNum(h.day) && isNum(h.hour) && isNum(h.count)
      ? { start: h.start, day: h.day, hour: h.hour, count: h.count }
      : undefined;
  if (!Array.isArray(f.samples) || !f.samples.every((s) => isNum(s) && s >= 0)) return undefined;
  if (f.lastOnline !== undefined && !isIso(f.lastOnline)) return undefined;
  // Waits came later: state without them parses (nothing to spend yet); malformed entries are dropped.
  const w = r.waits as { jobs?: unknown } | undefined;
  const waitJobs = Array.isArray(w?.jobs)
    ? (w.jobs as unknown[]).filter(
        (e): e is [number, number, 0 | 1] =>
          Array.isArray(e) && e.length === 3 && isNum(e[0]) && isNum(e[1]) && (e[2] === 0 || e[2] === 1),
      )
    : undefined;
  return {
    v: 1,
    arrivals: {
      rate: a.rate,
      updatedAt: a.updatedAt,
      ...(a.lastQueueTime !== undefined ? { lastQueueTime: a.lastQueueTime } : {}),
      ...(a.lastIds !== undefined ? { lastIds: a.lastIds as number[] } : {}),
      ...(counted !== undefined ? { counted: counted as Record<string, number> } : {}),
      recent: a.recent as number[],
      ...(hour ? { hour } : {}),
      buckets,
    },
    refill: { samples: f.samples as number[], ...(f.lastOnline !== undefined ? { lastOnline: f.lastOnline } : {}) },
    ...(waitJobs
      ? { waits: { jobs: waitJobs.map(([id, at, late]) => [id, at, late] as [number, number, 0 | 1]) } }
      : {}),
  };
}
