/**
 * Issue 25: a burst that comes every working day (`daily-burst`: 10 jobs within the same minute at
 * 10:30 on 4 jobs/h of sparse arrivals), day by day. Per seed and day: p95 wait of ours (bursts
 * learnt, and with `burstLearn: false` — the rule before issue 25), the burst's own slowest wait,
 * and KEDA's p95; then the week's cost (each day billed over its own 24 hours) against KEDA's.
 * Warm agents from the target alone (no standby window), as `lab/warm-week.ts --no-schedule`.
 *
 * Run: npx tsx lab/burst-week.ts [--seeds 3] [--days 5] [--target 15] [--trace daily-burst] [--tuning '{…}']
 */
import { parseArgs } from 'node:util';
import { DEFAULT_WARM_TUNING, type WarmTuning } from '../src/core/warm/index.js';
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
  },
});
const SEEDS = Number(values.seeds);
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

/** Per day: p95 of the day's waits, the slowest wait of its burst jobs, its cost. */
function perDay(r: SimResult, world: World): { p95: number; burstMax: number; cost: number }[] {
  const days = r.summary.days ?? [];
  return days.slice(0, DAYS).map((d, i) => {
    const waits = [...(r.dayWaits?.[i] ?? [])].sort((a, b) => a - b);
    const burst = world.jobs.filter(
      (j) =>
        /^(d\d+-)?(win-)?burst-/.test(j.trace.name ?? '') &&
        j.assignedMs !== undefined &&
        new Date(j.queuedMs).toISOString().slice(0, 10) === d.date,
    );
    const burstMax = Math.max(0, ...burst.map((j) => (j.assignedMs! - j.queuedMs) / 1000));
    return { p95: percentile(waits, 95), burstMax, cost: d.costUsd };
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
    `(npx tsx lab/burst-week.ts --seeds ${SEEDS} --days ${DAYS} --target ${TARGET} --trace ${values.trace}${values.tuning ? ` --tuning '${values.tuning}'` : ''})`,
);
console.log('per day: p95 wait s (slowest burst job s); cost: the days summed');
const fmt = (d: { p95: number; burstMax: number }) => `${d.p95.toFixed(0)} (${d.burstMax.toFixed(0)})`.padEnd(10);
let met = 0;
let days = 0;
let metBefore = 0;
const ratio: number[] = [];
const ratioBefore: number[] = [];
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const p95s = { after: [] as number[], before: [] as number[], keda: [] as number[] };
for (let seed = 1; seed <= SEEDS; seed++) {
  const [after, was, keda] = [await run(seed, 'ours', tuned), await run(seed, 'ours', before), await run(seed, 'keda')];
  const sum = (xs: { cost: number }[]) => xs.reduce((a, d) => a + d.cost, 0);
  ratio.push(sum(after) / sum(keda));
  ratioBefore.push(sum(was) / sum(keda));
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
      `$/day ours ${(sum(after) / DAYS).toFixed(2)}, before ${(sum(was) / DAYS).toFixed(2)}, keda ${(sum(keda) / DAYS).toFixed(2)}`,
  );
}
console.log(
  `week p95 mean: ours ${mean(p95s.after).toFixed(1)}s, before ${mean(p95s.before).toFixed(1)}s, keda ${mean(p95s.keda).toFixed(1)}s`,
);
console.log(
  `days 2–${DAYS} with p95 ≤ ${TARGET}s: ${met}/${days} (before: ${metBefore}/${days}); ` +
    `week cost ours/KEDA ${mean(ratio).toFixed(2)} (max ${Math.max(...ratio).toFixed(2)}), before ${mean(ratioBefore).toFixed(2)}`,
);
