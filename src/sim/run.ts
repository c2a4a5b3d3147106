/**
 * One simulation run: a trace, a set of profiles, a policy, a seed → a summary and time series.
 * Each policy runs in its own world built from the same seed and trace.
 */
import type { ProfileConfig } from '../config/schema.js';
import { VirtualClock } from './clock.js';
import {
  KedaController,
  OursController,
  VmssController,
  type Controller,
  type KedaOptions,
  type OursOptions,
  type PolicyName,
  type VmssOptions,
} from './controllers.js';
import { LeasedOursController, type InstancesOptions } from './instances.js';
import { checkFinalInvariants, checkPassInvariants, orphanRegistrations } from './invariants.js';
import { repeatTrace, type Trace, type TraceDay } from './trace.js';
import { bill, billWindow, type AciPrices } from './billing.js';
import type { Violation } from './violations.js';
import { World } from './world.js';
import type { WorldOptions } from './world-options.js';

/** The trace epoch: Monday 2026-03-02 00:00 UTC. Trace times are seconds after it. */
export const TRACE_EPOCH_MS = Date.UTC(2026, 2, 2);
const WARMUP_SEC = 15 * 60;
const DRAIN_SEC = 45 * 60;
const SAMPLE_SEC = 60;
/** Give up waiting for outstanding jobs this long after the last arrival. */
const MAX_OVERRUN_SEC = 8 * 3600;

export interface SimOptions {
  trace: Trace;
  profiles: readonly ProfileConfig[];
  policy: PolicyName;
  seed: number;
  /** Simulate only this many hours from the start (jobs arriving later are dropped). */
  hours?: number;
  /**
   * Run the trace on this many consecutive days (default 1; src/sim/trace.ts repeatTrace: a sample
   * is generated anew each day, on weekdays for the working-day samples). One world and one
   * controller run throughout, so state a deployment keeps (the warm-agent estimators in the
   * back-off store) carries from day to day; the summary gains a per-day breakdown.
   */
  days?: number;
  world?: Partial<WorldOptions>;
  ours?: Partial<OursOptions>;
  /** Run our controller as several instances sharing a simulated pool lease (src/sim/instances.ts). */
  instances?: (world: World, clock: VirtualClock) => InstancesOptions;
  keda?: Partial<KedaOptions>;
  vmss?: Partial<VmssOptions>;
  /** ACI unit prices (default ACI_PRICES of ./billing.ts; `simulate --live-prices` passes live ones). */
  aciPrices?: AciPrices;
  /** Check the pass invariants after every pass of our controller (default true). */
  checkInvariants?: boolean;
  onProgress?: (fraction: number) => void;
  /** Access to the world before it runs (tests). */
  onWorld?: (world: World, clock: VirtualClock) => void;
}

export interface Sample {
  /** Minutes since the run started. */
  t: number;
  queued: number;
  starting: number;
  idle: number;
  busy: number;
  other: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

/** One day of a multi-day run: jobs that arrived that day, and what the compute cost over its 24 hours. */
export interface DaySummary {
  /** 1-based. */
  day: number;
  /** Local date in the trace's UTC calendar (YYYY-MM-DD) and weekday. */
  date: string;
  weekday: string;
  /** The seed this day's jobs were generated from. */
  seed: number;
  jobs: number;
  served: number;
  waitSec: Percentiles;
  agentMinutesBilled: number;
  costUsd: number;
}

export interface PolicySummary {
  policy: PolicyName;
  trace: string;
  seed: number;
  jobs: number;
  served: number;
  /** Rejected by Azure DevOps: no registration of the pool could serve the demands. */
  rejected: number;
  /** Cut off mid-job (agent killed). */
  abandoned: number;
  /** Still waiting when the run ended. */
  unserved: number;
  waitSec: Percentiles;
  agentsCreated: number;
  agentMinutesBilled: number;
  busyAgentMinutes: number;
  idleAgentMinutes: number;
  costUsd: number;
  apiCalls: { azdo: number; arm: number; azdoByKind: Record<string, number>; armByKind: Record<string, number> };
  errors: number;
  passes: number;
  injected: Record<string, number>;
  orphanRegistrations: number;
  violations: number;
  violationKinds: Record<string, number>;
  simulatedHours: number;
  /** Multi-day runs only: one entry per day (the fields above cover the whole run). */
  days?: DaySummary[];
}

export interface SimResult {
  summary: PolicySummary;
  samples: Sample[];
  /** Queue wait of every served job, seconds, in job order. */
  waits: number[];
  violations: Violation[];
  startMs: number;
  /** Multi-day runs only: the queue waits of each day's served jobs, seconds, in arrival order. */
  dayWaits?: number[][];
}

/** Nearest-rank percentile over a sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export async function runSimulation(o: SimOptions): Promise<SimResult> {
  const multi = o.days !== undefined && o.days > 1 ? repeatTrace(o.trace, o.days) : undefined;
  const jobsAll = multi ? multi.trace.jobs : o.trace.jobs;
  const first = jobsAll[0]!.arrival;
  const startMs = TRACE_EPOCH_MS + (Math.floor(first / 60) * 60 - WARMUP_SEC) * 1000;
  const horizonMs = o.hours !== undefined ? startMs + o.hours * 3600_000 : Number.POSITIVE_INFINITY;
  const jobs = jobsAll.filter((j) => TRACE_EPOCH_MS + j.arrival * 1000 < horizonMs);
  if (jobs.length === 0)
    throw new Error(`no job of trace '${o.trace.name}' arrives within ${o.hours} hour(s) of the start`);
  const lastArrivalMs = TRACE_EPOCH_MS + jobs[jobs.length - 1]!.arrival * 1000;
  const longest = Math.max(...jobs.map((j) => j.duration));

  const clock = new VirtualClock(startMs);
  const world = new World(clock, o.profiles, o.seed, o.world);
  o.onWorld?.(world, clock);
  world.scheduleTrace(jobs, TRACE_EPOCH_MS);

  const violations = new Map<string, Violation>();
  const addViolations = (vs: Violation[]) => {
    for (const v of vs) {
      const key = `${v.kind}|${v.detail}`;
      if (!violations.has(key)) violations.set(key, v);
    }
  };

  let controller: Controller;
  const prefix = o.ours?.prefix ?? 'azp';
  if (o.policy === 'ours') {
    let firstPassDone = false;
    const userOnPass = o.ours?.onPass;
    const oursOptions: OursOptions = {
      prefix,
      timerSec: 60,
      webhookDelaySec: [1, 3],
      ...o.ours,
      onPass: (r) => {
        firstPassDone = true;
        if (o.checkInvariants !== false)
          addViolations(checkPassInvariants(world, o.profiles, { owner: 'ours', prefix, firstPassDone }));
        userOnPass?.(r);
      },
    };
    controller = o.instances
      ? new LeasedOursController(world, clock, o.profiles, o.seed, {
          ...oursOptions,
          instances: o.instances(world, clock),
        })
      : new OursController(world, clock, o.profiles, o.seed, oursOptions);
  } else if (o.policy === 'keda') {
    controller = new KedaController(world, clock, o.profiles, o.seed, {
      pollingIntervalSec: 30,
      targetQueueLength: 1,
      ...o.keda,
    });
  } else {
    controller = new VmssController(world, clock, o.profiles, o.seed, {
      sampleIntervalSec: 300,
      idleDelayMin: 30,
      stepFraction: 0.25,
      ...o.vmss,
    });
  }

  const samples: Sample[] = [];
  const sample = () => {
    const s: Sample = {
      t: round((clock.nowMs() - startMs) / 60_000, 2),
      queued: world.queuedJobs().length,
      starting: 0,
      idle: 0,
      busy: 0,
      other: 0,
    };
    for (const m of world.machines.values()) {
      if (m.placeholder) continue;
      if (m.phase === 'provisioning' || m.phase === 'booting' || m.phase === 'registered') s.starting++;
      else if (m.phase === 'idle') s.idle++;
      else if (m.phase === 'busy') s.busy++;
      else s.other++;
    }
    samples.push(s);
  };
  const sampler = () => {
    sample();
    clock.after(SAMPLE_SEC * 1000, sampler);
  };
  clock.at(startMs, sampler);
  controller.start();

  const expectedEnd = lastArrivalMs + (longest + DRAIN_SEC + 15 * 60) * 1000;
  let lastReported = -1;
  const onTick = o.onProgress
    ? (now: number) => {
        const f = Math.min(0.99, (now - startMs) / (expectedEnd - startMs));
        if (f - lastReported >= 0.01) {
          lastReported = f;
          o.onProgress!(f);
        }
      }
    : undefined;

  await clock.runUntil(lastArrivalMs, onTick);
  const outstanding = () => world.jobs.some((j) => !j.result);
  const capMs = lastArrivalMs + MAX_OVERRUN_SEC * 1000;
  while (outstanding() && clock.nowMs() < capMs) await clock.runUntil(clock.nowMs() + 10 * 60_000, onTick);
  await clock.runUntil(clock.nowMs() + DRAIN_SEC * 1000, onTick);
  // A pass cut off mid-action (a group deleted, its registration not yet) is not a leak: let it end.
  for (let i = 0; i < 600 && controller.passInFlight?.(); i++) await clock.runUntil(clock.nowMs() + 1000, onTick);
  sample();
  const endMs = clock.nowMs();
  if (o.policy === 'ours' && o.checkInvariants !== false)
    addViolations(checkFinalInvariants(world, o.profiles, { owner: 'ours', prefix }));
  else addViolations([...world.violations]);
  o.onProgress?.(1);

  // Metrics.
  const served = world.jobs.filter((j) => j.result === 'succeeded');
  const waits = served.map((j) => ((j.assignedMs ?? j.queuedMs) - j.queuedMs) / 1000);
  const sorted = [...waits].sort((a, b) => a - b);
  const { billedSec, busySec, idleSec, costUsd: cost } = bill(world.allMachines, endMs, o.aciPrices);
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const kinds: Record<string, number> = {};
  for (const v of violations.values()) kinds[v.kind] = (kinds[v.kind] ?? 0) + 1;
  const sortKeys = (r: Record<string, number>) =>
    Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));
  const summary: PolicySummary = {
    policy: o.policy,
    trace: o.trace.name,
    seed: o.seed,
    jobs: world.jobs.length,
    served: served.length,
    rejected: world.jobs.filter((j) => j.result === 'rejected').length,
    abandoned: world.jobs.filter((j) => j.result === 'abandoned').length,
    unserved: world.jobs.filter((j) => !j.result).length,
    waitSec: {
      p50: round(percentile(sorted, 50), 1),
      p95: round(percentile(sorted, 95), 1),
      p99: round(percentile(sorted, 99), 1),
      max: round(sorted[sorted.length - 1] ?? 0, 1),
      mean: round(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0, 1),
    },
    agentsCreated: world.allMachines.filter((m) => !m.placeholder).length,
    agentMinutesBilled: round(billedSec / 60, 1),
    busyAgentMinutes: round(busySec / 60, 1),
    idleAgentMinutes: round(idleSec / 60, 1),
    costUsd: round(cost, 3),
    apiCalls: {
      azdo: sum(world.calls.azdo),
      arm: sum(world.calls.arm),
      azdoByKind: sortKeys(world.calls.azdo),
      armByKind: sortKeys(world.calls.arm),
    },
    errors: controller.errors,
    passes: controller.passes,
    injected: sortKeys(world.counters),
    orphanRegistrations: orphanRegistrations(world).length,
    violations: violations.size,
    violationKinds: sortKeys(kinds),
    simulatedHours: round((endMs - startMs) / 3600_000, 2),
  };
  if (!multi) return { summary, samples, waits, violations: [...violations.values()], startMs };
  const perDay = daySummaries(multi.days, world, startMs, endMs, o.aciPrices);
  summary.days = perDay.map((d) => d.summary);
  return {
    summary,
    samples,
    waits,
    violations: [...violations.values()],
    startMs,
    dayWaits: perDay.map((d) => d.waits),
  };
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

function percentiles(waits: readonly number[]): Percentiles {
  const sorted = [...waits].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50), 1),
    p95: round(percentile(sorted, 95), 1),
    p99: round(percentile(sorted, 99), 1),
    max: round(sorted[sorted.length - 1] ?? 0, 1),
    mean: round(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0, 1),
  };
}

/**
 * Per day: the jobs that arrived from its midnight to the next day's, and the compute billed over
 * its 24 hours (the first day from the run's start if that is earlier, the last day to the run's
 * end). Days on a daily calendar add up to the run; a weekend between working days is in no day.
 */
function daySummaries(
  days: readonly TraceDay[],
  world: World,
  startMs: number,
  endMs: number,
  prices?: AciPrices,
): { summary: DaySummary; waits: number[] }[] {
  const bounds = days.map((d, i) => {
    const midnight = TRACE_EPOCH_MS + d.offsetSec * 1000;
    const next = days[i + 1];
    return {
      from: i === 0 ? Math.min(startMs, midnight) : midnight,
      to: next ? Math.min(TRACE_EPOCH_MS + next.offsetSec * 1000, midnight + 86_400_000) : Math.max(endMs, midnight),
    };
  });
  return days.map((d, i) => {
    const { from, to } = bounds[i]!;
    const first = i === 0;
    const last = i === days.length - 1;
    const jobs = world.jobs.filter((j) => (first || j.queuedMs >= from) && (last || j.queuedMs < to));
    // (Jobs are placed by the trace, so none arrives on a weekend between working days.)
    const served = jobs.filter((j) => j.result === 'succeeded');
    const waits = served.map((j) => ((j.assignedMs ?? j.queuedMs) - j.queuedMs) / 1000);
    const billed = billWindow(world.allMachines, from, to, endMs, prices);
    return {
      summary: {
        day: i + 1,
        date: new Date(TRACE_EPOCH_MS + d.offsetSec * 1000).toISOString().slice(0, 10),
        weekday: WEEKDAYS[d.weekday]!,
        seed: d.seed,
        jobs: jobs.length,
        served: served.length,
        waitSec: percentiles(waits),
        agentMinutesBilled: round(billed.billedSec / 60, 1),
        costUsd: round(billed.costUsd, 3),
      },
      waits,
    };
  });
}
