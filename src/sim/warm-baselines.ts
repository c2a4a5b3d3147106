/**
 * Baselines for warm agents, all run on the same real pass (src/reconcile) so only the sizing
 * differs:
 *  - `mdp`: Managed DevOps Pools' "Automatic" predictive standby, exactly as docs/research.md
 *    records what its documentation says: per hour, the chosen percentile of the pool's queued
 *    sessions counted per five-minute period over the past three weeks becomes that hour's standby
 *    count (capped at maxAgents). What the docs leave open is a named parameter here, not a guess
 *    baked in: what a "queued session" count is (`countMode`), whether weekdays are separated
 *    (`byWeekday`), and the history (`historyWeeks` copies of the trace itself: the sample traces
 *    are one day, so "the past three weeks" are taken to look like the day simulated — the most
 *    favourable history a predictor can have).
 *  - `static`: a standby schedule of `count` agents per profile over one window of whole hours;
 *    `searchStatic` finds the cheapest one that meets a p95 wait.
 * Trace jobs are attributed to profiles as the pass does without a placeholder: the first profile
 * whose capabilities (and Agent.OS) satisfy the job's demands.
 */
import type { ProfileConfig } from '../config/schema.js';
import { agentOsCapability, indexCapabilities, matches, relevantDemands } from '../core/demands.js';
import type { StandbyWindow } from '../core/types.js';
import { runSimulation, type SimOptions, type SimResult } from './run.js';
import type { Trace, TraceJob } from './trace.js';

/** MDP's `predictionPreference` → the percentile its docs name. */
export const MDP_PREFERENCES = {
  MostCostEffective: 10,
  MoreCostEffective: 25,
  Balanced: 50,
  MorePerformance: 75,
  BestPerformance: 90,
} as const;
export type MdpPreference = keyof typeof MDP_PREFERENCES;

export interface MdpOptions {
  preference: MdpPreference;
  /** What a five-minute period counts: jobs queued in it ('arrivals'; the docs say "queued sessions"). */
  countMode: 'arrivals';
  /** Buckets by hour of the week (true) or hour of the day (false): the docs do not say. */
  byWeekday: boolean;
  /** Weeks of history (the docs: "past three weeks (if available)"); here copies of the trace. */
  historyWeeks: number;
}

export const DEFAULT_MDP: MdpOptions = {
  preference: 'Balanced',
  countMode: 'arrivals',
  byWeekday: true,
  historyWeeks: 3,
};

const DAY = 86_400;

/** The first profile serving each job (the order of the profiles, as a pass without placeholder would). */
export function profileOfJob(job: TraceJob, profiles: readonly ProfileConfig[]): ProfileConfig | undefined {
  const demands = relevantDemands(job.demands);
  return profiles.find((p) =>
    matches(
      demands,
      indexCapabilities({ ...p.capabilities, 'Agent.OS': agentOsCapability(p.os), ...p.env }, p.caseSensitive),
      p.matchMode,
    ),
  );
}

/** Nearest-rank percentile of integer counts. */
function pct(values: readonly number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1] ?? 0;
}

/**
 * MDP Automatic: the standby windows per profile (one per hour with a count > 0), from the trace
 * as history. Trace time 0 is Monday 00:00 in UTC (src/sim/run.ts TRACE_EPOCH_MS).
 */
export function mdpStandby(
  trace: Trace,
  profiles: readonly ProfileConfig[],
  o: MdpOptions = DEFAULT_MDP,
): Map<string, StandbyWindow[]> {
  const out = new Map<string, StandbyWindow[]>();
  const weekday = (sec: number) => (1 + Math.floor(sec / DAY)) % 7;
  const days = o.byWeekday ? [...new Set(trace.jobs.map((j) => weekday(j.arrival)))] : [undefined];
  for (const p of profiles) {
    const mine = trace.jobs.filter((j) => profileOfJob(j, profiles)?.name === p.name);
    const windows: StandbyWindow[] = [];
    for (const day of days) {
      for (let h = 0; h < 24; h++) {
        // Twelve five-minute periods per hour, per week of history (identical copies of the trace).
        const periods: number[] = [];
        for (let w = 0; w < o.historyWeeks; w++) {
          for (let q = 0; q < 12; q++) {
            periods.push(
              mine.filter((j) => {
                const inDay = day === undefined || weekday(j.arrival) === day;
                const sec = j.arrival % DAY;
                return inDay && sec >= h * 3600 + q * 300 && sec < h * 3600 + (q + 1) * 300;
              }).length,
            );
          }
        }
        // Without weekday buckets, days without jobs count as zero periods too.
        const count = Math.min(p.maxAgents, pct(periods, MDP_PREFERENCES[o.preference]));
        if (count > 0)
          windows.push({
            ...(day !== undefined ? { days: [day] } : {}),
            start: hhmm(h),
            end: hhmm((h + 1) % 24),
            count,
          });
      }
    }
    out.set(p.name, windows);
  }
  return out;
}

const hhmm = (h: number) => `${String(h).padStart(2, '0')}:00`;

/** Profiles with these standby windows (and no wait target): the schedule-driven baselines. */
export function withStandby(
  profiles: readonly ProfileConfig[],
  windows: ReadonlyMap<string, StandbyWindow[]>,
): ProfileConfig[] {
  return profiles.map((p) => {
    const { targetWaitSec: _t, maxWarmAgents: _m, ...rest } = p;
    return { ...rest, standby: windows.get(p.name) ?? [] };
  });
}

/** The whole hours of the trace's arrivals of one profile: [first arrival's hour, last arrival's hour + 1). */
export function activeWindow(
  trace: Trace,
  profile: string,
  profiles: readonly ProfileConfig[],
): StandbyWindow | undefined {
  const mine = trace.jobs.filter((j) => profileOfJob(j, profiles)?.name === profile);
  if (mine.length === 0) return undefined;
  const first = Math.floor((mine[0]!.arrival % DAY) / 3600);
  const last = Math.floor((mine[mine.length - 1]!.arrival % DAY) / 3600);
  return { start: hhmm(first), end: hhmm((last + 1) % 24), count: 0 };
}

export interface StaticChoice {
  /** Count per profile (over its active window). */
  counts: Record<string, number>;
  result: SimResult;
  runs: number;
}

/**
 * The cheapest static standby schedule (count × active window per profile with jobs, counts
 * 0…maxCount) whose p95 wait is at most `p95Sec`; undefined when none within the search does.
 * p95 falls and cost rises with each count, so the search walks the staircase of the smallest
 * counts that meet the bound (one profile: the first count that meets it; two: for each count of
 * the first, the smallest of the second) and keeps the cheapest run.
 */
export async function searchStatic(
  base: Omit<SimOptions, 'profiles' | 'policy'>,
  profiles: readonly ProfileConfig[],
  p95Sec: number,
  maxCount = 8,
): Promise<StaticChoice | undefined> {
  const active = profiles.flatMap((p) => {
    const w = activeWindow(base.trace, p.name, profiles);
    return w ? [{ p, w }] : [];
  });
  if (active.length === 0 || active.length > 2)
    throw new Error(`static standby search handles 1 or 2 profiles with jobs (got ${active.length})`);
  let runs = 0;
  let best: StaticChoice | undefined;
  const cache = new Map<string, SimResult>();
  const meets = async (counts: number[]): Promise<boolean> => {
    const key = counts.join(',');
    let result = cache.get(key);
    if (!result) {
      runs++;
      const windows = new Map(
        active.map(({ p, w }, i) => [
          p.name,
          counts[i]! > 0 ? [{ ...w, count: Math.min(counts[i]!, p.maxAgents) }] : [],
        ]),
      );
      result = await runSimulation({ ...base, profiles: withStandby(profiles, windows), policy: 'ours' });
      cache.set(key, result);
    }
    const ok = result.summary.waitSec.p95 <= p95Sec;
    if (ok && (!best || result.summary.costUsd < best.result.summary.costUsd)) {
      best = { counts: Object.fromEntries(active.map(({ p }, i) => [p.name, counts[i]!])), result, runs: 0 };
    }
    return ok;
  };
  const max = active.map(({ p }) => Math.min(maxCount, p.maxAgents));
  if (active.length === 1) {
    for (let n = 0; n <= max[0]!; n++) if (await meets([n])) break;
  } else {
    let j = max[1]!;
    for (let d = 0; d <= max[0]!; d++) {
      if (!(await meets([d, j]))) continue;
      while (j > 0 && (await meets([d, j - 1]))) j--;
      if (j === 0) break;
    }
  }
  const found = best as StaticChoice | undefined;
  return found ? { ...found, runs } : undefined;
}
