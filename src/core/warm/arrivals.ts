/**
 * λ, the arrival rate: each job counted once (by any of its ids), an EWMA that quiet periods decay,
 * raised at once by a burst (the rate over the last few minutes), and, once there is history, by
 * the rate learnt for this hour of this weekday (or of the day) and the one a refill ahead, so warm
 * agents come up ahead of a known daily ramp. Pure: every function takes `now`.
 */
import { localTime } from '../standby.js';
import { poissonTail } from './arithmetic.js';
import { observeBurstClusters } from './bursts.js';
import type { ArrivalState } from './state.js';
import { DEFAULT_WARM_TUNING, type WarmTuning } from './tuning.js';

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
  tuning: Readonly<WarmTuning> = DEFAULT_WARM_TUNING,
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

  // Bursts at the minute they come: the clusters of the recent arrivals (bursts.ts). A burst that
  // has come is explained: its jobs leave the live rate (what they added to it, decayed to now) and
  // the hour history, so the rate after it is the background's, not the burst's.
  const kept = recent.slice(-1000);
  const observed = observeBurstClusters(state.bursts, kept, now, timeZone, tuning.burstWindowSec, state.rate, tuning);
  const bursts = observed.state;
  const explained = observed.bursts.flat();
  for (const t of explained) rate -= Math.exp(-Math.max(0, nowMs - t) / 1000 / tuning.tauSec) / tuning.tauSec;
  rate = Math.max(0, rate);
  return {
    rate,
    updatedAt: now.toISOString(),
    ...(Number.isFinite(lastQueueMs) ? { lastQueueTime: new Date(lastQueueMs).toISOString() } : {}),
    recent: kept,
    counted: Object.fromEntries([...counted].sort((a, b) => a[1] - b[1]).slice(-MAX_COUNTED)),
    ...foldHours(state, times, explained, now, timeZone, tuning),
    ...(bursts ? { bursts } : {}),
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
  tuning: Readonly<WarmTuning>,
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
  /** Arrivals counted by earlier passes that turned out to be a burst's: taken back out. */
  explained: readonly number[],
  now: Date,
  timeZone: string,
  tuning: Readonly<WarmTuning>,
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
  for (const t of explained) {
    const h = hourOf(new Date(t), timeZone);
    if (h.start === hour.start) {
      hour.count = Math.max(0, hour.count - 1);
      continue;
    }
    // Its hour closed already (the burst closed after it ended): take its share out of the last fold.
    for (const key of [`d${h.day}h${h.hour}`, `h${h.hour}`]) {
      const b = buckets[key];
      if (b) buckets[key] = { ...b, rate: Math.max(0, b.rate - (b.n === 1 ? 1 : tuning.historyWeight) / 3600) };
    }
  }
  return { hour, buckets };
}

/** Local hour (in `timeZone`) that contains `now`: its weekday, hour and start instant. */
function hourOf(now: Date, timeZone: string): { start: number; day: number; hour: number } {
  const { day, minutes } = localTime(now, timeZone);
  const start = now.getTime() - (minutes % 60) * 60_000 - now.getUTCSeconds() * 1000 - now.getUTCMilliseconds();
  return { start, day, hour: Math.floor(minutes / 60) };
}

/**
 * How long a silence ends the live term, ms: `quietSec`, or with `quietAlpha` the silence a stream at
 * the live rate keeps only that often (P(no arrival in t) = e^(−rate·t) ≤ α), within `quietMaxSec`.
 */
function quietMs(rate: number, tuning: Readonly<WarmTuning>): number {
  if (tuning.quietAlpha === undefined || !(rate > 0)) return tuning.quietSec * 1000;
  const significant = -Math.log(tuning.quietAlpha) / rate;
  return Math.max(tuning.quietSec, Math.min(significant, tuning.quietMaxSec ?? Infinity)) * 1000;
}

/**
 * An hour seen once, empty, read as its neighbours' mean rate, but no more than an empty hour allows:
 * one day cannot tell an empty hour of a Poisson stream (4 jobs/h: e^−4 ≈ 1.8 % of hours) from an
 * hour off, and zero arrivals in one hour bound the rate at 3 jobs/h with 95 % confidence (the
 * "rule of three": e^−3 ≈ 5 %). A second day decides.
 */
function thinHour(state: ArrivalState, hour: number): number {
  const at = (h: number) => state.buckets[`h${(h + 24) % 24}`]?.rate ?? 0;
  return Math.min((at(hour - 1) + at(hour + 1)) / 2, EMPTY_HOUR_BOUND);
}

/** The 95 % upper confidence bound of a Poisson rate with no arrival in one hour, jobs/s: −ln 0.05 ≈ 3 per hour. */
const EMPTY_HOUR_BOUND = -Math.log(0.05) / 3600;

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
  tuning: Readonly<WarmTuning> = DEFAULT_WARM_TUNING,
  aheadSec: number = tuning.lookaheadSec,
): ArrivalEstimate {
  const nowMs = now.getTime();
  const prevMs = Date.parse(state.updatedAt);
  const dtSec = Number.isFinite(prevMs) ? Math.max(0, (nowMs - prevMs) / 1000) : 0;
  const lastMs = state.lastQueueTime ? Date.parse(state.lastQueueTime) : Number.NEGATIVE_INFINITY;
  const live = nowMs - lastMs > quietMs(state.rate, tuning) ? 0 : state.rate * Math.exp(-dtSec / tuning.tauSec);
  const windowStart = nowMs - tuning.burstWindowSec * 1000;
  const inWindow = (t: number) => t > windowStart && t <= nowMs;
  // The jobs of bursts that have come are explained (bursts.ts): they do not lift the window rate.
  const burstCount = Math.max(
    0,
    state.recent.filter(inWindow).length - (state.bursts?.explained ?? []).filter(inWindow).length,
  );
  const significant =
    tuning.burstSignificance === undefined ||
    live === 0 ||
    poissonTail(live * tuning.burstWindowSec, burstCount - 1) <= tuning.burstSignificance;
  const burst = significant ? burstCount / tuning.burstWindowSec : 0;
  const learnt = (at: Date): number | undefined => {
    const hour = hourOf(at, timeZone);
    let rate = (state.buckets[`d${hour.day}h${hour.hour}`] ?? state.buckets[`h${hour.hour}`])?.rate;
    if (rate === 0 && tuning.thinHours && (state.buckets[`h${hour.hour}`]?.n ?? 0) <= 1)
      rate = thinHour(state, hour.hour);
    if (rate === undefined || state.hour?.start !== hour.start || !tuning.historyLeft) return rate;
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
