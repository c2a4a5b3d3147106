/**
 * The figures of issue 16 (warm agents from a wait target), from the simulator running the real
 * pass. For steady-day, mixed-profiles and nightly-batch, seeds 1…N, with targetWaitSec on every
 * profile: ours/KEDA p95 wait and cost, MDP Automatic (Balanced) on the same pass, and the
 * cheapest static standby schedule (count × active window per profile) that meets the target —
 * or, when none does, that matches our p95. For monday-burst: ours/KEDA p95 and which limit bound
 * the burst's creates (maxCreatePerPass, maxAgents, ACI's group quota).
 *
 * Run: npx tsx lab/warm-figures.ts [--seeds 10] [--target 15] [--traces steady-day,mixed-profiles,nightly-batch] [--no-static] [--no-burst] [--tuning '{"budgetHorizonSec":0}']
 */
import { parseArgs } from 'node:util';
import { DEFAULT_WARM_TUNING, type WarmTuning } from '../src/core/warm/index.js';
import type { PassResult } from '../src/reconcile/pass.js';
import { defaultProfiles, withTargetWait } from '../src/sim/profiles.js';
import { runSimulation, type SimResult } from '../src/sim/run.js';
import { sampleTrace } from '../src/sim/trace.js';
import { DEFAULT_MDP, mdpStandby, searchStatic, withStandby } from '../src/sim/warm-baselines.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    target: { type: 'string', default: '15' },
    traces: { type: 'string', default: 'steady-day,mixed-profiles,nightly-batch' },
    'no-static': { type: 'boolean', default: false },
    'no-burst': { type: 'boolean', default: false },
    tuning: { type: 'string' },
  },
});
// `--tuning '{"budgetShare":0.6}'` overrides the warm rule's defaults (src/core/warm/tuning.ts WarmTuning) for
// this run, to measure a variant with the same command.
const warmTuning: Readonly<WarmTuning> = Object.freeze({
  ...DEFAULT_WARM_TUNING,
  ...(values.tuning ? (JSON.parse(values.tuning) as Partial<WarmTuning>) : {}),
});
const SEEDS = Number(values.seeds);
const TARGET = Number(values.target);
const base = defaultProfiles();
const ours = withTargetWait(base, TARGET);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
const stat = (xs: number[]) =>
  xs.length === 0
    ? 'n/a'
    : `${mean(xs).toFixed(2)} ± ${sd(xs).toFixed(2)} (min ${Math.min(...xs).toFixed(2)}, max ${Math.max(...xs).toFixed(2)})`;
const r2 = (a: number, b: number) => (b === 0 ? Number.POSITIVE_INFINITY : a / b);
const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '∞');

console.log(
  `warm agents, targetWaitSec ${TARGET} on every profile, seeds 1–${SEEDS} (npx tsx lab/warm-figures.ts --seeds ${SEEDS} --target ${TARGET}${values.tuning ? ` --tuning '${values.tuning}'` : ''})`,
);
console.log(
  'goal: ours/keda p95 ≤ 0.30 at cost ≤ 1.25, and cheaper than the best static standby meeting the same target\n',
);

for (const name of String(values.traces).split(',')) {
  const p95r: number[] = [];
  const costr: number[] = [];
  const mdpP95r: number[] = [];
  const mdpCostr: number[] = [];
  const vsStatic: number[] = [];
  const missShare: number[] = [];
  const p95s: number[] = [];
  let staticMet = 0;
  console.log(`== ${name}`);
  console.log(
    'seed  keda p95/$      ours p95/$      ours/keda p95  cost   >target  mdp p95/$       static (counts: p95/$, bound)            ours/static cost',
  );
  for (let seed = 1; seed <= SEEDS; seed++) {
    const trace = sampleTrace(name, seed);
    const run = (profiles: typeof base, policy: 'ours' | 'keda') =>
      runSimulation({ trace, profiles, policy, seed, ours: { reconcile: { warmTuning } } });
    const keda = (await run(base, 'keda')).summary;
    const oursRun = await run(ours, 'ours');
    const o = oursRun.summary;
    missShare.push((100 * oursRun.waits.filter((w) => w > TARGET).length) / Math.max(1, oursRun.waits.length));
    const mdp = (await run(withStandby(base, mdpStandby(trace, base, DEFAULT_MDP)), 'ours')).summary;
    p95r.push(r2(o.waitSec.p95, keda.waitSec.p95));
    p95s.push(o.waitSec.p95);
    costr.push(r2(o.costUsd, keda.costUsd));
    mdpP95r.push(r2(mdp.waitSec.p95, keda.waitSec.p95));
    mdpCostr.push(r2(mdp.costUsd, keda.costUsd));
    let staticText = 'skipped';
    if (!values['no-static']) {
      let bound = TARGET;
      let s = await searchStatic({ trace, seed }, base, TARGET);
      if (s) staticMet++;
      else {
        bound = o.waitSec.p95;
        s = await searchStatic({ trace, seed }, base, bound);
      }
      if (s) {
        const c = Object.entries(s.counts)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        staticText = `${c}: ${s.result.summary.waitSec.p95}s/$${s.result.summary.costUsd.toFixed(2)}, ≤${bound}s${bound === TARGET ? '' : ' (ours)'}`;
        vsStatic.push(r2(o.costUsd, s.result.summary.costUsd));
      } else staticText = `none ≤ ${bound}s within counts 0–8`;
    }
    console.log(
      `${String(seed).padEnd(4)}  ${`${keda.waitSec.p95}s/$${keda.costUsd.toFixed(2)}`.padEnd(14)}  ${`${o.waitSec.p95}s/$${o.costUsd.toFixed(2)}`.padEnd(14)}  ${f(p95r.at(-1)!).padEnd(13)}  ${f(costr.at(-1)!).padEnd(5)}  ${`${missShare.at(-1)!.toFixed(1)}%`.padEnd(7)}  ${`${mdp.waitSec.p95}s/$${mdp.costUsd.toFixed(2)}`.padEnd(14)}  ${staticText.padEnd(40)} ${vsStatic.length && !values['no-static'] ? f(vsStatic.at(-1)!) : ''}`,
    );
  }
  console.log(`ours/keda p95 wait: ${stat(p95r)}`);
  console.log(`ours/keda cost:     ${stat(costr)}`);
  console.log(
    `ours p95 ≤ ${TARGET}s on ${p95s.filter((x) => x <= TARGET).length}/${SEEDS} seeds; served jobs waiting > ${TARGET}s, % per seed: ${stat(missShare)}`,
  );
  console.log(`mdp-auto (Balanced)/keda p95: ${stat(mdpP95r)}; cost: ${stat(mdpCostr)}`);
  if (!values['no-static'])
    console.log(
      `static standby meeting p95 ≤ ${TARGET}s found for ${staticMet}/${SEEDS} seeds; ours/static cost: ${stat(vsStatic)}`,
    );
  console.log('');
}

if (!values['no-burst']) {
  console.log('== monday-burst (goal: ours/keda p95 ≤ 0.80)');
  const ratios: number[] = [];
  const binds = { maxCreatePerPass: 0, maxAgents: 0, quotaFailures: 0, throttled: 0, backoffPasses: 0 };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const trace = sampleTrace('monday-burst', seed);
    const keda = (await runSimulation({ trace, profiles: base, policy: 'keda', seed })).summary;
    const onPass = (r: PassResult) => {
      for (const pool of r.pools) {
        for (const v of pool.plan?.views ?? []) {
          const want = v.queued + v.standbyTarget - v.idle - v.starting;
          const room = v.maxAgents - v.live;
          const prof = ours.find((p) => p.name === v.profile)!;
          if (v.backoffUntil) binds.backoffPasses++;
          else if (v.creates < want && v.creates === prof.maxCreatePerPass && prof.maxCreatePerPass < room)
            binds.maxCreatePerPass++;
          else if (v.creates < want && room <= v.creates) binds.maxAgents++;
        }
        binds.quotaFailures += pool.outcomes.filter((x) => x.status === 'failed' && x.kind === 'quota').length;
        binds.throttled += pool.outcomes.filter((x) => x.status === 'failed' && x.kind === 'throttled').length;
      }
    };
    const o: SimResult = await runSimulation({
      trace,
      profiles: ours,
      policy: 'ours',
      seed,
      ours: { onPass, reconcile: { warmTuning } },
    });
    ratios.push(r2(o.summary.waitSec.p95, keda.waitSec.p95));
    console.log(
      `seed ${seed}: keda p95 ${keda.waitSec.p95}s, ours p95 ${o.summary.waitSec.p95}s, ours/keda ${f(ratios.at(-1)!)}, cost ×${f(r2(o.summary.costUsd, keda.costUsd))}`,
    );
  }
  console.log(`ours/keda p95 wait: ${stat(ratios)}`);
  console.log(
    `passes whose creates were cut by maxCreatePerPass: ${binds.maxCreatePerPass}; by maxAgents: ${binds.maxAgents}; ` +
      `creates refused by ACI's group quota: ${binds.quotaFailures}; creates throttled (429): ${binds.throttled}; ` +
      `passes backing off: ${binds.backoffPasses} (all seeds)`,
  );
}
