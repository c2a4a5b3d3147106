/**
 * How low can any controller push the p95 queue wait of a burst with the profiles' maxAgents? The
 * oracle schedule of lab/analysis/burst-oracle.ts (every slot warm from the start, clairvoyant
 * assignment, the simulator's boot time to refill a slot) against KEDA in the simulator.
 *
 * For each seed it prints the oracle's p95, KEDA's p95 (the simulator's KEDA model on the same
 * trace and seed) and their ratio, then the same with every maxAgents raised to the trace's job
 * count (the cap can no longer bind), KEDA at the raised caps too. With `--ours`, our controller
 * (targetWaitSec on every profile) runs at both caps as well.
 *
 * Run: npx tsx lab/burst-bound.ts [--seeds 10] [--traces monday-burst,nightly-batch] [--ours] [--target 15]
 */
import { parseArgs } from 'node:util';
import { oracleWaits } from './analysis/burst-oracle.js';
import { defaultProfiles, withTargetWait } from '../src/sim/profiles.js';
import { percentile, runSimulation } from '../src/sim/run.js';
import { sampleTrace } from '../src/sim/trace.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    traces: { type: 'string', default: 'monday-burst,nightly-batch' },
    ours: { type: 'boolean', default: false },
    target: { type: 'string', default: '15' },
  },
});
const SEEDS = Number(values.seeds);
const TARGET = Number(values.target);

const p95 = (xs: readonly number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    95,
  );
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f = (x: number) => x.toFixed(2);
const r1 = (x: number) => x.toFixed(1);

const base = defaultProfiles();
for (const name of String(values.traces).split(',')) {
  console.log(
    `== ${name} (seeds 1–${SEEDS}; npx tsx lab/burst-bound.ts --seeds ${SEEDS} --traces ${name}${values.ours ? ' --ours' : ''})`,
  );
  const rows: Record<'cap' | 'uncapped', { oracle: number[]; ours: number[] }> = {
    cap: { oracle: [], ours: [] },
    uncapped: { oracle: [], ours: [] },
  };
  for (let seed = 1; seed <= SEEDS; seed++) {
    const trace = sampleTrace(name, seed);
    const cells: string[] = [];
    for (const which of ['cap', 'uncapped'] as const) {
      const profiles =
        which === 'cap' ? base : base.map((p) => ({ ...p, maxAgents: Math.max(p.maxAgents, trace.jobs.length) }));
      const oracle = p95(oracleWaits(trace, profiles, seed));
      const keda = (await runSimulation({ trace, profiles, policy: 'keda', seed })).summary.waitSec.p95;
      rows[which].oracle.push(oracle / keda);
      let cell = `oracle ${r1(oracle)}s / keda ${r1(keda)}s = ${f(oracle / keda)}`;
      if (values.ours) {
        const ours = (await runSimulation({ trace, profiles: withTargetWait(profiles, TARGET), policy: 'ours', seed }))
          .summary.waitSec.p95;
        rows[which].ours.push(ours / keda);
        cell += `; ours ${r1(ours)}s = ${f(ours / keda)}`;
      }
      cells.push(cell.padEnd(values.ours ? 62 : 40));
    }
    console.log(
      `seed ${String(seed).padEnd(3)} maxAgents as configured: ${cells[0]}  | raised to ${trace.jobs.length}: ${cells[1]}`,
    );
  }
  for (const which of ['cap', 'uncapped'] as const) {
    const r = rows[which];
    const label = which === 'cap' ? 'maxAgents as configured' : 'maxAgents raised        ';
    console.log(
      `${label}: oracle/keda p95 mean ${f(mean(r.oracle))} (min ${f(Math.min(...r.oracle))}, max ${f(Math.max(...r.oracle))}), ` +
        `seeds above 0.80: ${r.oracle.filter((x) => x > 0.8).length}/${SEEDS}` +
        (values.ours
          ? `; ours/keda p95 mean ${f(mean(r.ours))} (seeds above 0.80: ${r.ours.filter((x) => x > 0.8).length}/${SEEDS})`
          : ''),
    );
  }
  console.log('');
}
