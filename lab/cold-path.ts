/**
 * Issue 25: the simulated cold path by OS and image size, and what it costs in warm agents.
 *
 * 1. Create → agent online under each cold model (src/sim/cold-path.ts), drawn from the model as
 *    the simulator draws it (ARM accept 0.5 s + provisioning + pull + agent boot + Windows network
 *    + 3 s to online; faults aside): p50 / p95 / p99 over 20 000 draws.
 * 2. The same trace (`daily-burst` made without Agent.OS demands, every day) with one profile, Linux or Windows
 *    (same size, same target), over `--days` working days, seeds 1…N: the p95 wait of days 2…N,
 *    cost per day, the idle agent-minutes per day (what the warm agents cost) and KEDA beside it.
 *
 * Run: npx tsx lab/cold-path.ts [--seeds 3] [--days 5] [--target 15] [--cold-model published|legacy]
 */
import { parseArgs } from 'node:util';
import type { ProfileConfig } from '../src/config/schema.js';
import { coldExtra, type ColdModel } from '../src/sim/cold-path.js';
import { defaultProfiles, withTargetWait } from '../src/sim/profiles.js';
import { Rng } from '../src/sim/rng.js';
import { percentile, runSimulation, type SimResult } from '../src/sim/run.js';
import { SAMPLE_CALENDAR, SAMPLE_TRACES, sampleTrace } from '../src/sim/trace.js';
import { DEFAULT_WORLD_OPTIONS as W } from '../src/sim/world-options.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    days: { type: 'string', default: '5' },
    target: { type: 'string', default: '15' },
    'cold-model': { type: 'string', default: 'published' },
  },
});
const SEEDS = Number(values.seeds);
const DAYS = Number(values.days);
const TARGET = Number(values.target);
const MODEL = values['cold-model'] as ColdModel;

// ----- 1. the model's create → online ---------------------------------------------------------------
const cases: [string, ColdModel, Pick<ProfileConfig, 'os' | 'imageSizeMB'>][] = [
  ['legacy, any profile', 'legacy', { os: 'Windows' }],
  ['Linux, no imageSizeMB', 'published', { os: 'Linux' }],
  ['Linux, 44 MB', 'published', { os: 'Linux', imageSizeMB: 44 }],
  ['Linux, 900 MB', 'published', { os: 'Linux', imageSizeMB: 900 }],
  ['Windows, 1000 MB on a cached base', 'published', { os: 'Windows', imageSizeMB: 1000 }],
  ['Windows, no imageSizeMB (5000 MB)', 'published', { os: 'Windows' }],
];
console.log('create → agent online, seconds (20 000 draws; faults aside)  (npx tsx lab/cold-path.ts)');
console.log('case                                   p50     p95     p99');
for (const [label, model, profile] of cases) {
  const rng = new Rng(1);
  const cold = new Rng(2);
  const xs: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const extra = coldExtra(model, profile, cold);
    xs.push(
      W.armCreateLatencyMs / 1000 +
        rng.lognormal(W.provisionMedianSec, W.provisionSigma) +
        extra.provisionSec +
        rng.lognormal(W.bootMedianSec, W.bootSigma) +
        extra.bootSec +
        W.onlineDelaySec,
    );
  }
  xs.sort((a, b) => a - b);
  const p = (q: number) => percentile(xs, q).toFixed(1).padStart(6);
  console.log(`${label.padEnd(36)} ${p(50)}  ${p(95)}  ${p(99)}`);
}

// ----- 2. Linux vs Windows on the same trace -----------------------------------------------------------
/**
 * daily-burst without the Agent.OS demands, so one profile of either OS serves every job — as a
 * sample of its own (this script's), so a multi-day run makes every day without them too.
 */
const ANY_OS = 'daily-burst-any-os';
SAMPLE_TRACES[ANY_OS] = (rng) => {
  const t = SAMPLE_TRACES['daily-burst']!(rng);
  return {
    ...t,
    name: ANY_OS,
    jobs: t.jobs.map((j) => ({ ...j, demands: j.demands.filter((d) => !d.startsWith('Agent.OS')) })),
  };
};
SAMPLE_CALENDAR[ANY_OS] = 'weekdays';
const docker = defaultProfiles().filter((p) => p.name === 'docker');
const linux = docker.map((p) => ({ ...p, standby: [] }));
const windows = linux.map((p) => ({ ...p, os: 'Windows' as const }));

function window(r: SimResult, from: number, to: number) {
  const waits = (r.dayWaits ?? []).slice(from, to).flat();
  const sorted = [...waits].sort((a, b) => a - b);
  const days = (r.summary.days ?? []).slice(from, to);
  return {
    p95: percentile(sorted, 95),
    cost: days.reduce((a, d) => a + d.costUsd, 0) / days.length,
    over: waits.filter((w) => w > TARGET).length / Math.max(1, waits.length),
  };
}

console.log(
  `\ndaily-burst (Agent.OS demands dropped), one docker profile, targetWaitSec ${TARGET}, ${DAYS} working days, cold model ${MODEL}` +
    ` (npx tsx lab/cold-path.ts --seeds ${SEEDS} --days ${DAYS} --target ${TARGET} --cold-model ${MODEL})`,
);
console.log('os       seed  day 1 p95  days 2–N p95  >target  $/day   idle agent-min/day   keda: p95  $/day');
for (const [os, profiles] of [
  ['Linux', linux],
  ['Windows', windows],
] as const) {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const trace = sampleTrace(ANY_OS, seed);
    const world = { coldModel: MODEL };
    const o = await runSimulation({
      trace,
      profiles: withTargetWait(profiles, TARGET),
      policy: 'ours',
      seed,
      days: DAYS + 1,
      world,
    });
    const k = await runSimulation({ trace, profiles, policy: 'keda', seed, days: DAYS + 1, world });
    const [o1, ol, oa, ka] = [window(o, 0, 1), window(o, 1, DAYS), window(o, 0, DAYS), window(k, 0, DAYS)];
    const idle = o.summary.idleAgentMinutes / (DAYS + 1);
    console.log(
      `${os.padEnd(8)} ${String(seed).padEnd(4)}  ${o1.p95.toFixed(1).padStart(8)}s  ${ol.p95.toFixed(1).padStart(11)}s  ` +
        `${(100 * oa.over).toFixed(1).padStart(6)}%  ${oa.cost.toFixed(2).padStart(5)}  ${idle.toFixed(0).padStart(19)}   ` +
        `${ka.p95.toFixed(1).padStart(8)}s  ${ka.cost.toFixed(2)}`,
    );
  }
}
