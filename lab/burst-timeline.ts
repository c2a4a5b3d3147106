/**
 * The burst minute by minute, KEDA beside ours: every 20 s from 09:00, the queue (and how many
 * queued jobs are demand-less) and each profile's busy / idle / starting agents in the simulated
 * world. Shows which profile serves what while the caps bind.
 *
 * Run: npx tsx lab/burst-timeline.ts [--seed 8] [--minutes 20] [--target 15]
 */
import { parseArgs } from 'node:util';
import type { VirtualClock } from '../src/sim/clock.js';
import { defaultProfiles, withTargetWait } from '../src/sim/profiles.js';
import { runSimulation, TRACE_EPOCH_MS } from '../src/sim/run.js';
import { sampleTrace } from '../src/sim/trace.js';
import type { World } from '../src/sim/world.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '8' },
    minutes: { type: 'string', default: '20' },
    target: { type: 'string', default: '15' },
  },
});
const seed = Number(values.seed);
const base = defaultProfiles();
const trace = sampleTrace('monday-burst', seed);
const STARTING = ['provisioning', 'booting', 'registered'];
const lines: Record<'keda' | 'ours', string[]> = { keda: [], ours: [] };
for (const policy of ['keda', 'ours'] as const) {
  const onWorld = (w: World, c: VirtualClock) => {
    for (let t = 9 * 3600; t < 9 * 3600 + Number(values.minutes) * 60; t += 20) {
      c.at(TRACE_EPOCH_MS + t * 1000, () => {
        const count = (profile: string, phases: readonly string[]) =>
          [...w.machines.values()].filter(
            (m) => !m.placeholder && m.owner === policy && m.profile.name === profile && phases.includes(m.phase),
          ).length;
        const queued = w.queuedJobs();
        const free = queued.filter((j) => j.demands.length === 0).length;
        const prof = (p: string) => `${count(p, ['busy'])}/${count(p, ['idle'])}/${count(p, STARTING)}`;
        lines[policy].push(
          `q ${String(queued.length).padStart(2)} (${String(free).padStart(2)} any)  ${base.map((p) => `${p.name} ${prof(p.name).padEnd(8)}`).join(' ')}`,
        );
      });
    }
  };
  const profiles = policy === 'ours' ? withTargetWait(base, Number(values.target)) : base;
  const r = await runSimulation({ trace, profiles, policy, seed, onWorld });
  console.log(`${policy}: p95 ${r.summary.waitSec.p95}s, p50 ${r.summary.waitSec.p50}s`);
}
console.log(`monday-burst seed ${seed}; per profile busy/idle/starting; "any": queued jobs without demands`);
console.log(`${'min'.padStart(5)}  ${'KEDA'.padEnd(48)}| ours (targetWaitSec ${values.target})`);
lines.keda.forEach((k, i) =>
  console.log(`${((i * 20) / 60).toFixed(1).padStart(5)}  ${k.padEnd(48)}| ${lines.ours[i]}`),
);
