/**
 * Issue 25: a burst that comes every working day (`daily-burst`: 10 jobs within the same minute at
 * 10:30 on 4 jobs/h of sparse arrivals), day by day. Per seed and day: p95 wait of ours (bursts
 * learnt, and with `burstLearn: false` — the rule before issue 25), the burst's own slowest wait,
 * and KEDA's p95; then the week's cost (each day billed over its own 24 hours) against KEDA's.
 * Warm agents from the target alone (no standby window), as `lab/warm-week.ts --no-schedule`.
 *
 * Run: npx tsx lab/burst-week.ts [--seeds 3 | --seeds 11-20] [--no-before] [--days 5] [--target 15] [--trace daily-burst] [--tuning '{…}']
 */
import { parseArgs } from 'node:util';
import { DEFAULT_WARM_TUNING, type WarmTuning } from '../src/core/warm/index.js';
import { aciPerSecond } from '../src/sim/billing.js';
import { profilesFor, withTargetWait } from '../src/sim/profiles.js';
import { percentile, runSimulation, type SimResult } from '../src/sim/run.js';
import { sampleTrace } from '../src/sim/trace.js';
import type { World } from '../src/sim/world.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '3' },
    days: { type: 'string', default: '5' },
    target: { type: 'string', default: '15' },
    trace: { type: 'string', default: 'daily-burst' },
    tuning: { type: 'string' },
    'no-before': { type: 'boolean', default: false },
  },
});
/** `--seeds N` runs seeds 1–N; `--seeds A-B` runs A–B (to split a long run over processes). */
const [FIRST, LAST] = String(values.seeds).includes('-')
  ? (String(values.seeds).split('-').map(Number) as [number, number])
  : [1, Number(values.seeds)];
const NO_BEFORE = values['no-before'];
const DAYS = Number(values.days);
const TARGET = Number(values.target);
const extra = values.tuning ? (JSON.parse(values.tuning) as Partial<WarmTuning>) : {};
const tuned: Readonly<WarmTuning> = { ...DEFAULT_WARM_TUNING, ...extra };
const before: Readonly<WarmTuning> = { ...tuned, burstLearn: false };

/** p95 of every wait of the reported days. */
function weekP95(r: SimResult): number {
  return percentile(
    [...(r.dayWaits ?? []).slice(0, DAYS).flat()].sort((a, b) => a - b),
    95,
  );
}

const BURST_JOB = /^(d\d+-)?(win-)?burst-/;
/** The sample traces' working day (08:00–18:00) over which their sparse arrivals are Poisson, seconds. */
const WORKING_DAY_SEC = 10 * 3600;
/** The samples whose non-burst jobs are Poisson over that working day: the floor holds for them only. */
const FLOOR_TRACES = new Set(['daily-burst', 'mixed-os', 'steady-day']);
const withFloor = FLOOR_TRACES.has(String(values.trace));

/**
 * The floor under any policy's cost that meets the day's p95 without knowing when the next sparse
 * job comes: a job finds an agent ready (idle, or starting and online within the target) only if
 * one is, and Poisson arrivals see the time average (PASTA), so profile p's sparse jobs miss in
 * proportion to the time it has none ready. The day's p95 lets 5 % of its N jobs wait longer; the
 * cheapest way to spend those misses is on the profiles with the fewest jobs (each miss there saves
 * the most ready time). Floor = the jobs' own run time + Σ_p H × (1 − misses_p / n_p), at each
 * profile's price; the burst jobs cost no idle (an agent can come up just in time for them).
 */
function floorCost(world: World, date: string): number {
  const day = world.jobs.filter((j) => new Date(j.queuedMs).toISOString().slice(0, 10) === date);
  let cost = day.reduce((c, j) => {
    const p = world.profileFor(j.demands);
    return c + (p ? j.trace.duration * aciPerSecond(p) : 0);
  }, 0);
  const sparse = new Map<string, { n: number; price: number }>();
  for (const j of day) {
    if (BURST_JOB.test(j.trace.name ?? '')) continue;
    const p = world.profileFor(j.demands);
    if (!p) continue;
    const e = sparse.get(p.name) ?? { n: 0, price: aciPerSecond(p) };
    e.n++;
    sparse.set(p.name, e);
  }
  let misses = Math.floor(0.05 * day.length);
  for (const e of [...sparse.values()].sort((a, b) => a.n - b.n)) {
    const x = Math.min(e.n, misses);
    misses -= x;
    cost += WORKING_DAY_SEC * (1 - x / e.n) * e.price;
  }
  return cost;
}

/** Per day: p95 of the day's waits, the slowest wait of its burst jobs, its cost, the floor. */
function perDay(r: SimResult, world: World): { p95: number; burstMax: number; cost: number; floor: number }[] {
  const days = r.summary.days ?? [];
  return days.slice(0, DAYS).map((d, i) => {
    const waits = [...(r.dayWaits?.[i] ?? [])].sort((a, b) => a - b);
    const burst = world.jobs.filter(
      (j) =>
        BURST_JOB.test(j.trace.name ?? '') &&
        j.assignedMs !== undefined &&
        new Date(j.queuedMs).toISOString().slice(0, 10) === d.date,
    );
    const burstMax = Math.max(0, ...burst.map((j) => (j.assignedMs! - j.queuedMs) / 1000));
    return { p95: percentile(waits, 95), burstMax, cost: d.costUsd, floor: floorCost(world, d.date) };
  });
}

async function run(seed: number, policy: 'ours' | 'keda', tuning?: Readonly<WarmTuning>) {
  const trace = sampleTrace(String(values.trace), seed);
  const base = profilesFor(trace);
  const profiles = policy === 'ours' ? withTargetWait(base, TARGET).map((p) => ({ ...p, standby: [] })) : base;
  let world: World | undefined;
  const r = await runSimulation({
    trace,
    profiles,
    policy,
    seed,
    days: DAYS + 1,
    ...(tuning ? { ours: { reconcile: { warmTuning: tuning } } } : {}),
    onWorld: (w) => (world = w),
  });
  return Object.assign(perDay(r, world!), { p95: weekP95(r) });
}

console.log(
  `${values.trace}, targetWaitSec ${TARGET}, ${DAYS} working days, warm agents from the target alone ` +
    `(npx tsx lab/burst-week.ts --seeds ${values.seeds} --days ${DAYS} --target ${TARGET} --trace ${values.trace}${values.tuning ? ` --tuning '${values.tuning}'` : ''})`,
);
console.log('per day: p95 wait s (slowest burst job s); cost: the days summed');
const fmt = (d: { p95: number; burstMax: number }) => `${d.p95.toFixed(0)} (${d.burstMax.toFixed(0)})`.padEnd(10);
let met = 0;
let days = 0;
let metBefore = 0;
const ratio: number[] = [];
const ratioBefore: number[] = [];
const floorRatio: number[] = [];
const oursFloor: number[] = [];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const p95s = { after: [] as number[], before: [] as number[], keda: [] as number[] };
for (let seed = FIRST; seed <= LAST; seed++) {
  const after = await run(seed, 'ours', tuned);
  const was = NO_BEFORE ? after : await run(seed, 'ours', before);
  const keda = await run(seed, 'keda');
  const sum = (xs: { cost: number }[]) => xs.reduce((a, d) => a + d.cost, 0);
  ratio.push(sum(after) / sum(keda));
  ratioBefore.push(sum(was) / sum(keda));
  const floor = keda.reduce((a, d) => a + d.floor, 0);
  floorRatio.push(floor / sum(keda));
  oursFloor.push(sum(after) / floor);
  p95s.after.push(after.p95);
  p95s.before.push(was.p95);
  p95s.keda.push(keda.p95);
  for (let i = 1; i < DAYS; i++) {
    days++;
    if (after[i]!.p95 <= TARGET) met++;
    if (was[i]!.p95 <= TARGET) metBefore++;
  }
  console.log(`seed ${seed}`);
  console.log(`  ours, bursts learnt  ${after.map(fmt).join(' ')}  cost ${ratio.at(-1)!.toFixed(2)}× KEDA`);
  console.log(`  ours, before         ${was.map(fmt).join(' ')}  cost ${ratioBefore.at(-1)!.toFixed(2)}× KEDA`);
  console.log(`  keda                 ${keda.map(fmt).join(' ')}`);
  console.log(
    `  week p95: ours ${after.p95.toFixed(1)}s, before ${was.p95.toFixed(1)}s, keda ${keda.p95.toFixed(1)}s; ` +
      `$/day ours ${(sum(after) / DAYS).toFixed(2)}, before ${(sum(was) / DAYS).toFixed(2)}, keda ${(sum(keda) / DAYS).toFixed(2)}` +
      (withFloor ? `, floor ${(floor / DAYS).toFixed(2)}` : ''),
  );
}
console.log(
  `week p95 mean: ours ${mean(p95s.after).toFixed(1)}s, before ${mean(p95s.before).toFixed(1)}s, keda ${mean(p95s.keda).toFixed(1)}s`,
);
console.log(
  `days 2–${DAYS} with p95 ≤ ${TARGET}s: ${met}/${days} (before: ${metBefore}/${days}); ` +
    `week cost ours/KEDA ${mean(ratio).toFixed(2)} (max ${Math.max(...ratio).toFixed(2)}), before ${mean(ratioBefore).toFixed(2)}`,
);
if (withFloor)
  console.log(
    `floor (any policy meeting each day's p95 without knowing the next sparse arrival; see floorCost): ` +
      `${mean(floorRatio).toFixed(2)}× KEDA (min ${Math.min(...floorRatio).toFixed(2)}); ours ${mean(oursFloor).toFixed(2)}× the floor`,
  );
