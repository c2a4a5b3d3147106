/**
 * The warm rule's estimator state, per profile (kept beside the back-off state, in the pool's
 * blob): serialisable, and read back by {@link parseWarmState} from a blob another version may have
 * written. Pure.
 */

export interface BurstSlot {
  /** Local time of day the burst starts, seconds after local midnight. */
  at: number;
  /** How far its start strays from `at`, seconds (the larger of the last deviation and half the previous jitter). */
  jitter: number;
  /** Seconds from its first to its last arrival (the largest of the recent bursts). */
  span: number;
  /** Sizes of the last bursts seen, oldest first (at most `burstSizes`). */
  sizes: number[];
  /** Weekdays it was seen on (bit 1 << weekday, local; 0 = Sunday). */
  seen: number;
  /** Weekdays it was expected on and did not come (cleared for a weekday it comes on again). */
  missed: number;
  /** Expected days in a row it did not come. */
  misses: number;
  /** Local midnight (epoch ms) of the last day it was seen or counted as missed. */
  day: number;
}

/** Bursts learnt at the minute they come (bursts.ts). */
export interface BurstState {
  slots: BurstSlot[];
  /** Queue time (epoch ms) of the last arrival of the last closed cluster: later clusters start after it. */
  last?: number;
  /**
   * Queue times (epoch ms, within the burst window) of the jobs of bursts that have come: they are
   * explained, so the live and window rates and the hour history leave them out (arrivals.ts).
   */
  explained?: number[];
}

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
  /** Bursts learnt at the minute they come (bursts.ts); absent in state written before them. */
  bursts?: BurstState;
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

export function emptyWarmState(now: Date): WarmState {
  return {
    v: 1,
    arrivals: { rate: 0, updatedAt: now.toISOString(), recent: [], counted: {}, buckets: {} },
    refill: { samples: [] },
  };
}

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
  // Bursts came later: state without them parses (none learnt); a malformed burst state is dropped.
  const bursts = a.bursts === undefined ? undefined : parseBurstState(a.bursts);
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
      ...(bursts ? { bursts } : {}),
    },
    refill: { samples: f.samples as number[], ...(f.lastOnline !== undefined ? { lastOnline: f.lastOnline } : {}) },
    ...(waitJobs
      ? { waits: { jobs: waitJobs.map(([id, at, late]) => [id, at, late] as [number, number, 0 | 1]) } }
      : {}),
  };
}

/** Burst slots kept at most (bursts.ts keeps the most recently seen). */
export const MAX_BURST_SLOTS = 24;

// ----- reading it back (a blob another version may have written) -----------------------------------

const isMask = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0x7f;

/** Validates the burst state; malformed slots are dropped, anything else malformed gives undefined. */
export function parseBurstState(raw: unknown): BurstState | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (!Array.isArray(r.slots)) return undefined;
  const slots = (r.slots as unknown[]).flatMap((v): BurstSlot[] => {
    const s = v as Partial<BurstSlot> | null;
    if (!s || typeof s !== 'object') return [];
    const ok =
      isNum(s.at) &&
      s.at >= 0 &&
      s.at < 86400 &&
      isNum(s.jitter) &&
      s.jitter >= 0 &&
      isNum(s.span) &&
      s.span >= 0 &&
      Array.isArray(s.sizes) &&
      s.sizes.every((n) => Number.isInteger(n) && n > 0) &&
      isMask(s.seen) &&
      isMask(s.missed) &&
      Number.isInteger(s.misses) &&
      (s.misses as number) >= 0 &&
      isNum(s.day);
    return ok
      ? [
          {
            at: s.at!,
            jitter: s.jitter!,
            span: s.span!,
            sizes: [...s.sizes!],
            seen: s.seen!,
            missed: s.missed!,
            misses: s.misses!,
            day: s.day!,
          },
        ]
      : [];
  });
  const explained =
    Array.isArray(r.explained) && r.explained.every(isNum) ? { explained: [...(r.explained as number[])] } : {};
  return { slots: slots.slice(0, MAX_BURST_SLOTS), ...(isNum(r.last) ? { last: r.last } : {}), ...explained };
}
