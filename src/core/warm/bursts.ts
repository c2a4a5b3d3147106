/**
 * Learnt bursts: jobs that come together at the same minute of the day, day after day (a scheduled
 * pipeline fanning out ten jobs at 10:30). The hour-of-week rate averages such a minute away — ten
 * jobs in one minute read as 10/h — so no warm agent waits when it comes. Here the burst is learnt
 * at the grain it happens: its start (local time of day, to the second), its size and its span, and
 * on the days it is expected, `size` warm agents are kept from one refill (plus the look-ahead)
 * before it until it has come. Pure: no I/O, no clock.
 *
 * - **Seen.** The queue times of the last 15 minutes (the arrival state's `recent`) are cut into
 *   clusters: arrivals less than `burstGapSec` (30 s) apart. A cluster that has closed (no arrival
 *   for `burstGapSec`), holds at least `burstMinJobs` (4) jobs, and that the background could not
 *   produce — P(Poisson(λ_bg · its length) ≥ its size) ≤ `burstAlpha` (0.1 %), λ_bg the largest of
 *   the live rate before the pass, the other recent arrivals over the window, and 1/h — is a burst
 *   (a busy pool's steady stream is one long cluster, but one its live rate explains). The arrivals
 *   less than two gaps before its first one are its start too (a fan-out that paused once for a
 *   little longer than the gap closed a first cluster too small to count). It joins the slot whose start is within
 *   `burstMatchSec` (10 min) of its own, or makes a new one.
 * - **Expected.** A slot is expected on every weekday except those where it was expected and did
 *   not come (so a working-day burst learns its weekend), from the day after it was first seen.
 * - **Forgotten.** A slot that does not come on `burstForgetAfter` (3) expected days in a row is
 *   dropped (a weekend alone does not drop a working-day burst: two misses, then Monday).
 *
 * The state is plain JSON in the arrival state (`bursts`); a blob without it reads as no bursts.
 */
import { localTime } from '../standby.js';
import { poissonTail } from './arithmetic.js';
import { MAX_BURST_SLOTS, type BurstSlot, type BurstState } from './state.js';

export interface BurstTuning {
  /** Learn bursts at all (default true; false = the rule before issue 25). */
  burstLearn: boolean;
  /** Arrivals less than this apart are one cluster, seconds (default 30). */
  burstGapSec: number;
  /** A cluster smaller than this is never a burst (default 4). */
  burstMinJobs: number;
  /** A cluster is a burst when the background makes one as large this rarely (default 0.001). */
  burstAlpha: number;
  /** A burst starting within this of a slot's start (time of day) is that slot, seconds (default 600). */
  burstMatchSec: number;
  /** Expected days in a row without the burst before its slot is dropped (default 3). */
  burstForgetAfter: number;
  /** Burst sizes kept per slot; the warm agents are the largest (default 5). */
  burstSizes: number;
}

export const DEFAULT_BURST_TUNING: Readonly<BurstTuning> = Object.freeze({
  burstLearn: true,
  burstGapSec: 30,
  burstMinJobs: 4,
  burstAlpha: 0.001,
  burstMatchSec: 600,
  burstForgetAfter: 3,
  burstSizes: 5,
});

const DAY_MS = 86_400_000;

/** Local midnight (epoch ms), weekday and seconds since midnight of an instant. */
export function localDay(t: number, timeZone: string): { mid: number; weekday: number; sec: number } {
  const d = new Date(t);
  const { day, minutes } = localTime(d, timeZone);
  const sec = minutes * 60 + d.getUTCSeconds() + d.getUTCMilliseconds() / 1000;
  return { mid: t - sec * 1000, weekday: day, sec };
}

const bit = (weekday: number) => 1 << weekday;

/** Whether the slot is expected on that weekday. */
export const expectedOn = (slot: BurstSlot, weekday: number): boolean => (slot.missed & bit(weekday)) === 0;

/** Warm agents a slot asks for: the largest of its recent bursts. */
export const slotSize = (slot: BurstSlot): number => Math.max(0, ...slot.sizes);

/** One occurrence of a slot: the window warm agents are held in, epoch ms. */
export interface BurstWindow {
  slot: BurstSlot;
  /** When the burst is expected to start. */
  at: number;
  /** From when warm agents are kept for it (start − jitter − lead) until when (start + jitter + span + gap). */
  from: number;
  to: number;
  weekday: number;
  mid: number;
}

function occurrence(
  slot: BurstSlot,
  mid: number,
  weekday: number,
  leadSec: number,
  t: Readonly<BurstTuning>,
): BurstWindow {
  const at = mid + slot.at * 1000;
  return {
    slot,
    at,
    from: at - (slot.jitter + leadSec) * 1000,
    to: at + (slot.jitter + slot.span + t.burstGapSec) * 1000,
    weekday,
    mid,
  };
}

/** The occurrences of a slot on the day before, of and after `t` (a window may cross midnight). */
function occurrencesAround(
  slot: BurstSlot,
  t: number,
  timeZone: string,
  leadSec: number,
  tuning: Readonly<BurstTuning>,
): BurstWindow[] {
  return [-1, 0, 1].map((d) => {
    const { mid, weekday } = localDay(t + d * DAY_MS, timeZone);
    return occurrence(slot, mid, weekday, leadSec, tuning);
  });
}

/** Clusters of sorted times: runs whose consecutive gaps are below `gapMs`. */
function clusters(times: readonly number[], gapMs: number): number[][] {
  const out: number[][] = [];
  for (const t of times) {
    const cur = out.at(-1);
    if (cur && t - cur.at(-1)! < gapMs) cur.push(t);
    else out.push([t]);
  }
  return out;
}

/** Signed difference of two times of day, seconds, in (−43200, 43200]. */
function todDiff(a: number, b: number): number {
  let d = (a - b) % 86400;
  if (d > 43200) d -= 86400;
  if (d <= -43200) d += 86400;
  return d;
}

/**
 * Folds this pass's view of the recent arrivals into the burst state: records the clusters that
 * closed since the last call as bursts (when they are ones), then counts the expected occurrences
 * whose window has passed without them, and drops slots that stopped coming.
 *
 * `recent`: the queue times (epoch ms, sorted) of the last `windowSec` seconds, this pass's
 * arrivals included (the arrival state's `recent`).
 */
export function observeBursts(...args: Parameters<typeof observeBurstClusters>): BurstState | undefined {
  return observeBurstClusters(...args).state;
}

/**
 * {@link observeBursts}, and the queue times of the clusters this call recorded as bursts (each
 * sorted): arrivals.ts takes them out of the rates and the hour history, since a burst that has
 * come says nothing of the jobs after it.
 */
export function observeBurstClusters(
  state: BurstState | undefined,
  recent: readonly number[],
  now: Date,
  timeZone: string,
  windowSec: number,
  /** The live arrival rate before this pass, jobs/s: a steady stream at it is no burst. */
  liveRate: number,
  tuning: Readonly<BurstTuning> = DEFAULT_BURST_TUNING,
): { state: BurstState | undefined; bursts: number[][] } {
  if (!tuning.burstLearn) return { state, bursts: [] };
  const nowMs = now.getTime();
  const gapMs = tuning.burstGapSec * 1000;
  let slots = (state?.slots ?? []).map((s) => ({ ...s, sizes: [...s.sizes] }));
  let last = state?.last;
  const bursts: number[][] = [];
  const fresh = recent.filter((t) => last === undefined || t > last);
  for (const c of clusters(fresh, gapMs)) {
    const end = c.at(-1)!;
    if (nowMs - end < gapMs) break; // still open: more arrivals may join it
    last = end;
    if (c.length < tuning.burstMinJobs) continue;
    const lengthSec = (end - c[0]!) / 1000 + tuning.burstGapSec;
    const background = Math.max(1 / 3600, liveRate, (recent.length - c.length) / windowSec);
    if (poissonTail(background * lengthSec, c.length - 1) > tuning.burstAlpha) continue;
    const burst = withLeadIn(c, recent, state?.explained ?? [], 2 * gapMs);
    slots = recordBurst(slots, burst, timeZone, tuning);
    bursts.push(burst);
  }
  slots = countMisses(slots, nowMs, timeZone, tuning);
  const windowStart = nowMs - windowSec * 1000;
  const explained = [...(state?.explained ?? []), ...bursts.flat()].filter((t) => t > windowStart);
  if (slots.length === 0 && last === undefined && explained.length === 0) return { state: undefined, bursts };
  return {
    state: {
      slots,
      ...(last !== undefined ? { last } : {}),
      ...(explained.length > 0 ? { explained } : {}),
    },
    bursts,
  };
}

/**
 * A burst with the arrivals just before it: a fan-out that paused for a little longer than the gap
 * (10 jobs over a minute, one pause of 36 s) closes a first cluster too small to be a burst, which
 * is still the burst's start. Walks back from its first arrival while the next earlier one (not
 * already a recorded burst's) is less than `maxGapMs` before.
 */
function withLeadIn(c: number[], recent: readonly number[], explained: readonly number[], maxGapMs: number): number[] {
  const taken = new Set(explained);
  const before: number[] = [];
  let first = c[0]!;
  for (let i = recent.indexOf(first) - 1; i >= 0; i--) {
    const t = recent[i]!;
    if (first - t >= maxGapMs || taken.has(t)) break;
    before.unshift(t);
    first = t;
  }
  return before.length > 0 ? [...before, ...c] : c;
}

function recordBurst(
  slots: BurstSlot[],
  c: readonly number[],
  timeZone: string,
  tuning: Readonly<BurstTuning>,
): BurstSlot[] {
  const start = localDay(c[0]!, timeZone);
  const span = (c.at(-1)! - c[0]!) / 1000;
  const match = slots
    .map((s) => ({ s, d: todDiff(start.sec, s.at) }))
    .filter((m) => Math.abs(m.d) <= tuning.burstMatchSec)
    .sort((a, b) => Math.abs(a.d) - Math.abs(b.d))[0];
  if (!match) {
    const slot: BurstSlot = {
      at: Math.round(start.sec),
      jitter: 0,
      span,
      sizes: [c.length],
      seen: bit(start.weekday),
      missed: 0,
      misses: 0,
      day: start.mid,
    };
    // The most recently seen slots are kept.
    return [...slots, slot].sort((a, b) => b.day - a.day).slice(0, MAX_BURST_SLOTS);
  }
  const s = match.s;
  if (s.day === start.mid) {
    // A second cluster of the same burst on the same day (a pause longer than the gap): one burst.
    s.sizes[s.sizes.length - 1] = (s.sizes.at(-1) ?? 0) + c.length;
    s.span = Math.max(s.span, (c.at(-1)! - (start.mid + s.at * 1000)) / 1000);
    return slots;
  }
  s.jitter = Math.max(Math.abs(match.d), s.jitter / 2);
  s.at = Math.round((((s.at + match.d / 2) % 86400) + 86400) % 86400);
  s.span = Math.max(span, ...(s.sizes.length > 0 ? [s.span / 2] : []));
  s.sizes = [...s.sizes, c.length].slice(-tuning.burstSizes);
  s.seen |= bit(start.weekday);
  s.missed &= ~bit(start.weekday);
  s.misses = 0;
  s.day = start.mid;
  return slots;
}

/** Each expected occurrence whose window ended without its burst counts once as a miss. */
function countMisses(slots: BurstSlot[], nowMs: number, timeZone: string, tuning: Readonly<BurstTuning>): BurstSlot[] {
  const kept: BurstSlot[] = [];
  for (const s of slots) {
    for (const w of occurrencesAround(s, nowMs, timeZone, 0, tuning)) {
      if (w.to > nowMs || w.mid <= s.day) continue; // not over yet, or already seen / counted
      s.day = w.mid;
      if (!expectedOn(s, w.weekday)) continue;
      s.misses += 1;
      s.missed |= bit(w.weekday);
    }
    const allMissed = (s.missed & 0x7f) === 0x7f;
    if (s.misses < tuning.burstForgetAfter && !allMissed) kept.push(s);
  }
  return kept;
}

/** The warm agents learnt bursts ask for now, and the burst it is for. */
export interface BurstTarget {
  /** Agents still to come: its size less the arrivals counted since its earliest expected start. */
  k: number;
  size: number;
  window: BurstWindow;
}

/**
 * The learnt burst whose window holds `now` on a day it is expected (the largest if several): it
 * asks for its size (the largest of its recent bursts) less the arrivals already counted since its
 * earliest expected start (`recent`, epoch ms), so once it has come it asks for nothing more.
 */
export function burstTarget(
  state: BurstState | undefined,
  recent: readonly number[],
  now: Date,
  timeZone: string,
  leadSec: number,
  tuning: Readonly<BurstTuning> = DEFAULT_BURST_TUNING,
): BurstTarget | undefined {
  if (!tuning.burstLearn || !state) return undefined;
  const nowMs = now.getTime();
  let best: BurstTarget | undefined;
  for (const s of state.slots) {
    for (const w of occurrencesAround(s, nowMs, timeZone, leadSec, tuning)) {
      // Not on the day it was first seen (it has come), nor where it is not expected.
      if (w.from > nowMs || w.to < nowMs || w.mid <= s.day || !expectedOn(s, w.weekday)) continue;
      const size = slotSize(s);
      // Its jobs that came: from its earliest expected start (a job before that is another one, and
      // took a warm agent of its own).
      const start = w.at - (s.jitter + tuning.burstGapSec) * 1000;
      const came = recent.filter((t) => t >= start && t <= nowMs).length;
      const k = Math.max(0, size - came);
      if (!best || k > best.k) best = { k, size, window: w };
    }
  }
  return best;
}

/** The next learnt burst expected after `now`: when, from when its agents are kept, and how many it asks for. */
export function nextBurst(
  state: BurstState | undefined,
  now: Date,
  timeZone: string,
  leadSec: number,
  tuning: Readonly<BurstTuning> = DEFAULT_BURST_TUNING,
): { at: Date; from: Date; size: number } | undefined {
  if (!tuning.burstLearn || !state) return undefined;
  const nowMs = now.getTime();
  let best: BurstWindow | undefined;
  for (const s of state.slots)
    for (let d = 0; d <= 7; d++) {
      const { mid, weekday } = localDay(nowMs + d * DAY_MS, timeZone);
      const w = occurrence(s, mid, weekday, leadSec, tuning);
      if (w.at <= nowMs || w.mid <= s.day || !expectedOn(s, weekday)) continue;
      if (!best || w.at < best.at) best = w;
      break;
    }
  return best ? { at: new Date(best.at), from: new Date(best.from), size: slotSize(best.slot) } : undefined;
}
