/**
 * Job traces: what arrives when, for how long, demanding what.
 *
 * Times are seconds from the trace epoch, which the simulator places on a Monday 00:00 UTC
 * (so 32400 = Monday 09:00). Two file formats, both documented in src/sim/README.md:
 *
 * CSV — a header line, then one job per line; `#` starts a comment line:
 *   arrival_s,duration_s,demands[,name]
 *   32400,420,docker;Agent.OS -equals Linux,build-api
 *   32410,90,,lint
 * JSON — an array of jobs, or {"name": "...", "jobs": [...]}; `demands` is a `;`-separated
 * string or an array of strings:
 *   {"name": "mine", "jobs": [{"arrival": 32400, "duration": 420, "demands": ["docker"]}]}
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { Rng, deriveSeed } from './rng.js';

export interface TraceJob {
  /** Seconds from the trace epoch (Monday 00:00 UTC). */
  arrival: number;
  /** Seconds the job runs once an agent took it. */
  duration: number;
  /** Demand strings as Azure DevOps sends them. */
  demands: string[];
  name?: string;
}

export interface Trace {
  name: string;
  description: string;
  jobs: TraceJob[];
  /** A built-in sample: its generator's name and the seed it was made from (a multi-day run makes each day anew). */
  sample?: { name: string; seed: number };
}

export class TraceError extends Error {
  override name = 'TraceError';
}

const MAX_SECONDS = 14 * 86400;

function parseNumber(raw: unknown, field: string, where: string, allowZero: boolean): number {
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : Number.NaN;
  if (!Number.isFinite(n))
    throw new TraceError(`${where}: ${field} must be a number of seconds (got ${JSON.stringify(raw)})`);
  if (n < 0 || (!allowZero && n === 0))
    throw new TraceError(`${where}: ${field} must be ${allowZero ? '>= 0' : '> 0'} (got ${n})`);
  if (n > MAX_SECONDS) throw new TraceError(`${where}: ${field} must be at most ${MAX_SECONDS} (14 days; got ${n})`);
  return n;
}

function parseDemands(raw: unknown, where: string): string[] {
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(';') : undefined;
  if (!list) throw new TraceError(`${where}: demands must be a ';'-separated string or an array of strings`);
  return list
    .map((d, i) => {
      if (typeof d !== 'string') throw new TraceError(`${where}: demand ${i + 1} must be a string`);
      return d.trim();
    })
    .filter((d) => d !== '');
}

function finish(name: string, description: string, jobs: TraceJob[]): Trace {
  if (jobs.length === 0) throw new TraceError(`${name}: the trace has no jobs`);
  jobs.sort((a, b) => a.arrival - b.arrival);
  return { name, description, jobs };
}

export function parseCsvTrace(text: string, name = 'trace.csv'): Trace {
  const lines = text.split(/\r?\n/);
  const jobs: TraceJob[] = [];
  let header: string[] | undefined;
  lines.forEach((line, i) => {
    const where = `${name}:${i + 1}`;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const cells = line.split(',');
    if (!header) {
      header = cells.map((c) => c.trim().toLowerCase());
      const expected = ['arrival_s', 'duration_s', 'demands'];
      if (expected.some((h, k) => header![k] !== h)) {
        throw new TraceError(
          `${where}: the header must start with 'arrival_s,duration_s,demands' (optional 4th column 'name'); got '${trimmed}'`,
        );
      }
      return;
    }
    if (cells.length < 2 || cells.length > 4) {
      throw new TraceError(
        `${where}: expected 2 to 4 comma-separated columns (arrival_s,duration_s,demands[,name]), got ${cells.length}`,
      );
    }
    const job: TraceJob = {
      arrival: parseNumber(cells[0], 'arrival_s', where, true),
      duration: parseNumber(cells[1], 'duration_s', where, false),
      demands: parseDemands(cells[2] ?? '', where),
    };
    const jobName = cells[3]?.trim();
    if (jobName) job.name = jobName;
    jobs.push(job);
  });
  if (!header) throw new TraceError(`${name}: empty file (expected a header 'arrival_s,duration_s,demands')`);
  return finish(basename(name, extname(name)), `user trace ${name}`, jobs);
}

export function parseJsonTrace(text: string, name = 'trace.json'): Trace {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new TraceError(`${name}: not valid JSON (${(err as Error).message})`);
  }
  const obj = Array.isArray(data) ? { jobs: data } : (data as Record<string, unknown> | null);
  if (!obj || typeof obj !== 'object' || !Array.isArray((obj as { jobs?: unknown }).jobs)) {
    throw new TraceError(`${name}: expected an array of jobs or an object with a "jobs" array`);
  }
  const raw = (obj as { jobs: unknown[] }).jobs;
  const jobs = raw.map((j, i): TraceJob => {
    const where = `${name}: jobs[${i}]`;
    if (!j || typeof j !== 'object' || Array.isArray(j))
      throw new TraceError(`${where}: must be an object {arrival, duration, demands}`);
    const r = j as Record<string, unknown>;
    for (const k of Object.keys(r)) {
      if (!['arrival', 'duration', 'demands', 'name'].includes(k))
        throw new TraceError(`${where}: unknown field '${k}' (allowed: arrival, duration, demands, name)`);
    }
    if (r.arrival === undefined) throw new TraceError(`${where}: arrival is required (seconds from Monday 00:00 UTC)`);
    if (r.duration === undefined) throw new TraceError(`${where}: duration is required (seconds)`);
    const job: TraceJob = {
      arrival: parseNumber(r.arrival, 'arrival', where, true),
      duration: parseNumber(r.duration, 'duration', where, false),
      demands: parseDemands(r.demands, where),
    };
    if (typeof r.name === 'string' && r.name) job.name = r.name;
    return job;
  });
  const traceName =
    typeof (obj as { name?: unknown }).name === 'string'
      ? String((obj as { name: string }).name)
      : basename(name, extname(name));
  return finish(traceName, `user trace ${name}`, jobs);
}

export async function loadTraceFile(path: string): Promise<Trace> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TraceError(
      `cannot read trace file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return parseCsvTrace(text, path);
  if (ext === '.json') return parseJsonTrace(text, path);
  throw new TraceError(`trace file ${path}: unknown extension '${ext}' (use .csv or .json)`);
}

// ---------------------------------------------------------------------------------------------
// Built-in samples, generated by seeded code (the run's seed; same seed → same trace).

const H = 3600;
const M = 60;

/** Typical CI job durations: lognormal, median `median` seconds, clamped to [30 s, 2 h]. */
function duration(rng: Rng, median: number, sigma = 0.6): number {
  return Math.round(Math.min(2 * H, Math.max(30, rng.lognormal(median, sigma))));
}

/** Poisson arrivals at `perHour` between `from` and `to` (seconds). */
function poisson(rng: Rng, from: number, to: number, perHour: number): number[] {
  const out: number[] = [];
  let t = from + rng.exponential(H / perHour);
  while (t < to) {
    out.push(Math.round(t));
    t += rng.exponential(H / perHour);
  }
  return out;
}

const LINUX_DEMANDS: readonly string[][] = [
  ['docker'],
  ['docker', 'Agent.OS -equals Linux'],
  [],
  ['docker', 'Agent.Version -gtVersion 3.220.0'],
];

function steadyDay(rng: Rng): Trace {
  // A working day 08:00–18:00 with a lunch dip; ~20 jobs/hour, median 6 minutes.
  const jobs: TraceJob[] = [];
  for (const [from, to, rate] of [
    [8 * H, 12 * H, 22],
    [12 * H, 13 * H, 10],
    [13 * H, 18 * H, 22],
  ] as const) {
    for (const at of poisson(rng, from, to, rate))
      jobs.push({ arrival: at, duration: duration(rng, 6 * M), demands: rng.pick(LINUX_DEMANDS) });
  }
  return {
    name: 'steady-day',
    description: 'Poisson arrivals over a working day (08:00–18:00, ~20 jobs/h, lunch dip), median job 6 min',
    jobs,
  };
}

function mondayBurst(rng: Rng): Trace {
  // Background from 08:00 to 12:00 at 8 jobs/h, then a burst of 60 jobs within 5 minutes at 09:00
  // (a monorepo merge train: every pipeline of the week's merges starts at once).
  const jobs: TraceJob[] = [];
  for (const at of poisson(rng, 8 * H, 12 * H, 8))
    jobs.push({ arrival: at, duration: duration(rng, 6 * M), demands: rng.pick(LINUX_DEMANDS) });
  for (let i = 0; i < 60; i++) {
    jobs.push({
      arrival: Math.round(9 * H + rng.uniform(0, 5 * M)),
      duration: duration(rng, 8 * M, 0.5),
      demands: rng.pick(LINUX_DEMANDS),
      name: `burst-${i}`,
    });
  }
  return {
    name: 'monday-burst',
    description: 'Monday 09:00: 60 jobs within 5 minutes on top of 8 jobs/h background (08:00–12:00)',
    jobs,
  };
}

function nightlyBatch(rng: Rng): Trace {
  // Scheduled pipelines at 02:00 (40 long jobs fired within a minute), a few stragglers at 02:30,
  // and nothing else: a pool idle for most of the night.
  const jobs: TraceJob[] = [];
  for (let i = 0; i < 40; i++)
    jobs.push({
      arrival: Math.round(2 * H + rng.uniform(0, 60)),
      duration: duration(rng, 25 * M, 0.4),
      demands: ['docker'],
      name: `nightly-${i}`,
    });
  for (let i = 0; i < 8; i++)
    jobs.push({
      arrival: Math.round(2.5 * H + rng.uniform(0, 120)),
      duration: duration(rng, 10 * M, 0.4),
      demands: ['docker'],
      name: `report-${i}`,
    });
  return {
    name: 'nightly-batch',
    description: '02:00 scheduled batch: 40 jobs of ~25 min within a minute, 8 more at 02:30',
    jobs,
  };
}

function mixedProfiles(rng: Rng): Trace {
  // Two Linux profiles in one pool: docker builds and java/maven builds, some jobs without demands
  // (any profile can serve them: one job must drive one agent), and a few GPU jobs nobody serves.
  const jobs: TraceJob[] = [];
  const kinds: readonly string[][] = [
    ['docker'],
    ['docker'],
    ['java', 'maven'],
    ['java'],
    [],
    ['Agent.OS -equals Linux'],
  ];
  for (const at of poisson(rng, 9 * H, 13 * H, 30))
    jobs.push({ arrival: at, duration: duration(rng, 5 * M), demands: rng.pick(kinds) });
  for (let i = 0; i < 3; i++)
    jobs.push({
      arrival: Math.round(10 * H + i * 20 * M + rng.uniform(0, 60)),
      duration: 600,
      demands: ['gpu', 'cuda -equals 12'],
      name: `gpu-${i}`,
    });
  return {
    name: 'mixed-profiles',
    description:
      'two Linux profiles (docker, java) in one pool, 30 jobs/h 09:00–13:00, 3 GPU jobs no profile can serve',
    jobs,
  };
}

/** `count` jobs within the minute from `at` (seconds): a scheduled pipeline's fan-out. */
function fanOut(rng: Rng, at: number, count: number, demands: string[], label: string): TraceJob[] {
  return Array.from({ length: count }, (_, i) => ({
    arrival: Math.round(at + rng.uniform(0, M)),
    duration: duration(rng, 8 * M, 0.5),
    demands,
    name: `${label}-${i}`,
  }));
}

function dailyBurst(rng: Rng): Trace {
  // Sparse arrivals over a working day (4 jobs/h, 08:00–18:00) and, every working day, a scheduled
  // pipeline that fans out 10 jobs within the same minute at 10:30 (issue 25): the hour-of-week
  // rate averages such a minute away.
  const jobs: TraceJob[] = [];
  for (const at of poisson(rng, 8 * H, 18 * H, 4))
    jobs.push({ arrival: at, duration: duration(rng, 6 * M), demands: rng.pick(LINUX_DEMANDS) });
  jobs.push(...fanOut(rng, 10.5 * H, 10, ['docker'], 'burst'));
  return {
    name: 'daily-burst',
    description:
      'sparse arrivals (4 jobs/h, 08:00–18:00) and 10 jobs within the same minute at 10:30 every working day',
    jobs,
  };
}

function mixedOs(rng: Rng): Trace {
  // One pool, a Linux and a Windows profile (SAMPLE_PROFILES_INPUT in profiles.ts): sparse Linux
  // and Windows jobs, and a scheduled Windows pipeline fanning out 8 jobs within a minute at 13:00.
  const jobs: TraceJob[] = [];
  for (const at of poisson(rng, 8 * H, 18 * H, 4))
    jobs.push({ arrival: at, duration: duration(rng, 6 * M), demands: rng.pick(LINUX_DEMANDS) });
  for (const at of poisson(rng, 8 * H, 18 * H, 3))
    jobs.push({ arrival: at, duration: duration(rng, 10 * M), demands: ['Agent.OS -equals Windows_NT'] });
  jobs.push(...fanOut(rng, 13 * H, 8, ['Agent.OS -equals Windows_NT'], 'win-burst'));
  return {
    name: 'mixed-os',
    description:
      'a Linux and a Windows profile in one pool: 4 Linux and 3 Windows jobs/h (08:00–18:00), 8 Windows jobs within a minute at 13:00',
    jobs,
  };
}

export const SAMPLE_TRACES: Record<string, (rng: Rng) => Trace> = {
  'monday-burst': mondayBurst,
  'steady-day': steadyDay,
  'nightly-batch': nightlyBatch,
  'mixed-profiles': mixedProfiles,
  'daily-burst': dailyBurst,
  'mixed-os': mixedOs,
};

export const DEFAULT_TRACE = 'monday-burst';

export function sampleTrace(name: string, seed: number): Trace {
  const gen = SAMPLE_TRACES[name];
  if (!gen)
    throw new TraceError(
      `unknown sample trace '${name}' (samples: ${Object.keys(SAMPLE_TRACES).join(', ')}; or pass a .csv/.json path)`,
    );
  const t = gen(new Rng(deriveSeed(seed, `trace:${name}`)));
  return { ...finish(t.name, t.description, t.jobs), sample: { name, seed } };
}

/** A sample name or a file path (anything ending in .csv/.json or containing a path separator). */
export async function resolveTrace(nameOrPath: string, seed: number): Promise<Trace> {
  if (SAMPLE_TRACES[nameOrPath]) return sampleTrace(nameOrPath, seed);
  if (/\.(csv|json)$/i.test(nameOrPath) || nameOrPath.includes('/')) return loadTraceFile(nameOrPath);
  return sampleTrace(nameOrPath, seed);
}

// ---------------------------------------------------------------------------------------------
// Several days of one trace (`simulate --days N`).

const DAY = 86_400;

/**
 * Which days a sample repeats on: the working-day traces on weekdays (Monday–Friday, then the next
 * Monday), the nightly batch on every day (scheduled pipelines run at weekends too). A trace file
 * repeats on every day.
 */
export const SAMPLE_CALENDAR: Record<string, 'weekdays' | 'daily'> = {
  'monday-burst': 'weekdays',
  'steady-day': 'weekdays',
  'nightly-batch': 'daily',
  'mixed-profiles': 'weekdays',
  'daily-burst': 'weekdays',
  'mixed-os': 'weekdays',
};

/** The seed of day `index` (0-based) of a multi-day run: the run's seed on day 1, then one derived from it and the day. */
export function daySeed(seed: number, index: number): number {
  return index === 0 ? seed : deriveSeed(seed, `day:${index}`);
}

/** One day of a multi-day trace. */
export interface TraceDay {
  /** 0-based position among the run's days. */
  index: number;
  /** Seconds from the trace epoch (Monday 00:00 UTC) to this day's 00:00. */
  offsetSec: number;
  /** 0 = Sunday … 6 = Saturday (the epoch is a Monday). */
  weekday: number;
  /** The seed its jobs were generated from (files: the run's seed, the jobs are repeated as they are). */
  seed: number;
  jobs: number;
}

export interface MultiDayTrace {
  trace: Trace;
  days: TraceDay[];
}

/** Calendar offsets (in days from the epoch Monday) of `count` days on a calendar. */
export function dayOffsets(count: number, calendar: 'weekdays' | 'daily'): number[] {
  return Array.from({ length: count }, (_, i) => (calendar === 'daily' ? i : Math.floor(i / 5) * 7 + (i % 5)));
}

/**
 * The trace on `count` consecutive days: a sample is generated anew for each day (same generator,
 * seed {@link daySeed}(its seed, day)), so day 1 is the one-day trace; a file's jobs are repeated
 * as they are (they must all arrive within the first day). Jobs keep their names, prefixed `dN-`
 * from day 2 on.
 */
export function repeatTrace(trace: Trace, count: number): MultiDayTrace {
  if (!Number.isInteger(count) || count < 1) throw new TraceError(`days must be a whole number ≥ 1 (got ${count})`);
  if (count === 1)
    return {
      trace,
      days: [{ index: 0, offsetSec: 0, weekday: 1, seed: trace.sample?.seed ?? 0, jobs: trace.jobs.length }],
    };
  const last = trace.jobs[trace.jobs.length - 1]!.arrival;
  if (!trace.sample && last >= DAY)
    throw new TraceError(
      `${trace.name}: a multi-day run repeats one day, but a job arrives ${(last / 3600).toFixed(1)} h after the start`,
    );
  const calendar = trace.sample ? (SAMPLE_CALENDAR[trace.sample.name] ?? 'daily') : 'daily';
  const jobs: TraceJob[] = [];
  const days: TraceDay[] = dayOffsets(count, calendar).map((d, index) => {
    const seed = trace.sample ? daySeed(trace.sample.seed, index) : 0;
    const one = index === 0 || !trace.sample ? trace : sampleTrace(trace.sample.name, seed);
    for (const j of one.jobs) {
      const job: TraceJob = { ...j, arrival: j.arrival + d * DAY, demands: [...j.demands] };
      if (index > 0 && j.name) job.name = `d${index + 1}-${j.name}`;
      jobs.push(job);
    }
    return { index, offsetSec: d * DAY, weekday: (d + 1) % 7, seed, jobs: one.jobs.length };
  });
  const where = calendar === 'weekdays' ? 'weekdays' : 'consecutive days';
  return {
    trace: {
      ...finish(trace.name, `${trace.description}; ${count} ${where}`, jobs),
      ...(trace.sample ? { sample: trace.sample } : {}),
    },
    days,
  };
}

export function traceToCsv(trace: Trace): string {
  const rows = trace.jobs.map((j) => `${j.arrival},${j.duration},${j.demands.join(';')}${j.name ? `,${j.name}` : ''}`);
  return ['# ' + trace.description, 'arrival_s,duration_s,demands,name', ...rows, ''].join('\n');
}
