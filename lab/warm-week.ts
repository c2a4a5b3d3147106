/**
 * Issue 16's figures over a working week instead of one day. The one-day runs end when the last job
 * is done, so what a policy leaves running after it is billed only until then: KEDA's agents that
 * lost their job to another agent stay idle (a `--once` agent waits for a job; the model keeps them
 * until one comes), and on a real pool they run through the night. Here each trace runs on
 * `--days` + 1 consecutive days (src/sim/trace.ts repeatTrace; one world, one controller, the warm
 * state carried as the blob carries it) and days 1…N are reported, each billed over its own 24
 * hours (the extra day gives the last reported day its night). Per seed: ours/KEDA p95 over the
 * reported days' jobs, and ours/KEDA cost of those days; also day 1 alone (nothing learnt yet) and
 * days 2…N (history learnt).
 *
 * `--static` also searches, per seed, the cheapest static standby schedule (searchStatic: a count ×
 * the profile's active hours of day 1, every day) whose p95 over the same days meets the target,
 * and prints ours/static cost.
 * `--no-schedule` drops the default docker profile's standby window (Mon–Fri 08:00–18:00, 1 agent)
 * from ours, so warm agents come from the wait target alone (KEDA has no standby either way).
 *
 * Run: npx tsx lab/warm-week.ts [--seeds 10] [--days 5] [--target 15] [--traces steady-day,mixed-profiles,nightly-batch] [--no-schedule] [--static] [--tuning '{…}']
 */
import { parseArgs } from 'node:util';
import { DEFAULT_WARM_TUNING, type WarmTuning } from '../src/core/warm/index.js';
import { profilesFor, withTargetWait } from '../src/sim/profiles.js';
import { percentile, runSimulation, type SimResult } from '../src/sim/run.js';
import { sampleTrace } from '../src/sim/trace.js';
import { searchStatic } from '../src/sim/warm-baselines.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    days: { type: 'string', default: '5' },
    target: { type: 'string', default: '15' },
    traces: { type: 'string', default: 'steady-day,mixed-profiles,nightly-batch' },
    'no-schedule': { type: 'boolean', default: false },
    static: { type: 'boolean', default: false },
    tuning: { type: 'string' },
  },
});
// `--tuning '{"quietSec":600}'` overrides the warm rule's defaults (src/core/warm/tuning.ts WarmTuning), as in warm-figures.
const warmTuning: Readonly<WarmTuning> = Object.freeze({
  ...DEFAULT_WARM_TUNING,
  ...(values.tuning ? (JSON.parse(values.tuning) as Partial<WarmTuning>) : {}),
});
const SEEDS = Number(values.seeds);
const DAYS = Number(values.days);
const TARGET = Number(values.target);
if (!(DAYS >= 2)) throw new Error('--days must be at least 2 (day 1 has no history)');
// Each trace's own profiles (a sample's, else the defaults: src/sim/profiles.ts profilesFor).
const profilesOf = (trace: Parameters<typeof profilesFor>[0]) => {
  const base = profilesFor(trace);
  const ours = withTargetWait(base, TARGET).map((p) => (values['no-schedule'] ? { ...p, standby: [] } : p));
  return { base, ours };
};

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const stat = (xs: number[]) =>
  `${mean(xs).toFixed(2)} ± ${sd(xs).toFixed(2)} (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;

/** p95 of the waits of days [from, to) (0-based) and the cost billed to those days. */
function window(r: SimResult, from: number, to: number): { p95: number; cost: number; over: number; n: number } {
  const waits = (r.dayWaits ?? []).slice(from, to).flat();
  const sorted = [...waits].sort((a, b) => a - b);
  const cost = (r.summary.days ?? []).slice(from, to).reduce((a, d) => a + d.costUsd, 0);
  return { p95: percentile(sorted, 95), cost, over: waits.filter((w) => w > TARGET).length, n: waits.length };
}

console.log(
  `warm agents over ${DAYS} days, targetWaitSec ${TARGET}, seeds 1–${SEEDS} ` +
    `(npx tsx lab/warm-week.ts --seeds ${SEEDS} --days ${DAYS} --target ${TARGET}${values['no-schedule'] ? ' --no-schedule' : ''}${values.tuning ? ` --tuning '${values.tuning}'` : ''})`,
);
console.log('goal: ours/keda p95 ≤ 0.30 at cost ≤ 1.25 (each day billed over its own 24 hours)\n');
for (const name of String(values.traces).split(',')) {
  const all = { p95: [] as number[], cost: [] as number[] };
  const first = { p95: [] as number[], cost: [] as number[] };
  const later = { p95: [] as number[], cost: [] as number[] };
  const vsStatic: number[] = [];
  let met = 0;
  let over = 0;
  let served = 0;
  console.log(`== ${name}`);
  console.log(
    'seed  keda p95/$/day   ours p95/$/day   ours/keda p95  cost   >target  day 1: p95 cost  days 2–N: p95 cost',
  );
  for (let seed = 1; seed <= SEEDS; seed++) {
    const trace = sampleTrace(name, seed);
    const { base, ours } = profilesOf(trace);
    const keda = await runSimulation({ trace, profiles: base, policy: 'keda', seed, days: DAYS + 1 });
    const o = await runSimulation({
      trace,
      profiles: ours,
      policy: 'ours',
      seed,
      days: DAYS + 1,
      ours: { reconcile: { warmTuning } },
    });
    const [k, w] = [window(keda, 0, DAYS), window(o, 0, DAYS)];
    const [k1, w1] = [window(keda, 0, 1), window(o, 0, 1)];
    const [kl, wl] = [window(keda, 1, DAYS), window(o, 1, DAYS)];
    all.p95.push(w.p95 / k.p95);
    all.cost.push(w.cost / k.cost);
    first.p95.push(w1.p95 / k1.p95);
    first.cost.push(w1.cost / k1.cost);
    later.p95.push(wl.p95 / kl.p95);
    later.cost.push(wl.cost / kl.cost);
    let staticText = '';
    if (values.static) {
      const s = await searchStatic({ trace, seed, days: DAYS + 1 }, base, TARGET);
      if (!s) staticText = `  static: none ≤ ${TARGET}s`;
      else {
        const st = window(s.result, 0, DAYS);
        vsStatic.push(w.cost / st.cost);
        const c = Object.entries(s.counts)
          .map(([k2, v]) => `${k2}=${v}`)
          .join(' ');
        staticText = `  static ${c}: ${st.p95.toFixed(1)}s/$${(st.cost / DAYS).toFixed(2)}, ours/static ${vsStatic.at(-1)!.toFixed(2)}`;
      }
    }
    if (w.p95 <= TARGET) met++;
    over += w.over;
    served += w.n;
    console.log(
      `${String(seed).padEnd(4)}  ${`${k.p95.toFixed(1)}s/$${(k.cost / DAYS).toFixed(2)}`.padEnd(15)}  ` +
        `${`${w.p95.toFixed(1)}s/$${(w.cost / DAYS).toFixed(2)}`.padEnd(15)}  ${all.p95.at(-1)!.toFixed(2).padEnd(13)}  ` +
        `${all.cost.at(-1)!.toFixed(2).padEnd(5)}  ${`${((100 * w.over) / w.n).toFixed(1)}%`.padEnd(7)}  ` +
        `${first.p95.at(-1)!.toFixed(2)} ${first.cost.at(-1)!.toFixed(2)}        ${later.p95.at(-1)!.toFixed(2)} ${later.cost.at(-1)!.toFixed(2)}${staticText}`,
    );
  }
  console.log(`ours/keda p95 wait, days 1–${DAYS}: ${stat(all.p95)}`);
  console.log(`ours/keda cost,     days 1–${DAYS}: ${stat(all.cost)}`);
  console.log(`day 1 alone:    p95 ${stat(first.p95)}; cost ${stat(first.cost)}`);
  console.log(`days 2–${DAYS}:      p95 ${stat(later.p95)}; cost ${stat(later.cost)}`);
  if (vsStatic.length)
    console.log(
      `ours/static cost, days 1–${DAYS}: ${stat(vsStatic)}; ours cheaper on ${vsStatic.filter((x) => x < 1).length}/${vsStatic.length} seeds`,
    );
  console.log(
    `ours p95 ≤ ${TARGET}s on ${met}/${SEEDS} seeds; served jobs waiting > ${TARGET}s: ${((100 * over) / served).toFixed(2)} %\n`,
  );
}
