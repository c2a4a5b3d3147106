/**
 * Why do jobs wait longer than the target with warm agents? Runs ours with targetWaitSec on a
 * sample trace and, for every served job that waited longer than the target, prints the pool's
 * state just before it arrived (idle and starting agents of its profile, from the simulated world)
 * and the last pass's warm decision for that profile (λ, B, window, k).
 *
 * Run: npx tsx lab/warm-diagnose.ts [--trace steady-day] [--seeds 1-3] [--target 15] [--list]
 */
import { parseArgs } from 'node:util';
import { relevantDemands } from '../src/core/demands.js';
import type { PassResult } from '../src/reconcile/pass.js';
import { defaultProfiles, withTargetWait } from '../src/sim/profiles.js';
import { runSimulation, TRACE_EPOCH_MS } from '../src/sim/run.js';
import { sampleTrace } from '../src/sim/trace.js';
import type { World } from '../src/sim/world.js';
import type { VirtualClock } from '../src/sim/clock.js';

const { values } = parseArgs({
  options: {
    trace: { type: 'string', default: 'steady-day' },
    seeds: { type: 'string', default: '1-3' },
    target: { type: 'string', default: '15' },
    list: { type: 'boolean', default: false },
  },
});
const TARGET = Number(values.target);
const [s0, s1] = String(values.seeds).split('-').map(Number);
const profiles = withTargetWait(defaultProfiles(), TARGET);

interface Before {
  idle: number;
  starting: number;
  busy: number;
}
interface Decision {
  at: number;
  k: number;
  lambdaPerMin: number;
  refillSec: number;
  source: string;
  idle: number;
  starting: number;
  creates: number;
}

const buckets: Record<string, number> = {};
let late = 0;
let exhausted = 0; // no idle agent and at least k refills in flight when the job arrived
let servedAll = 0;
for (let seed = s0!; seed <= (s1 ?? s0!); seed++) {
  const trace = sampleTrace(String(values.trace), seed);
  let world!: World;
  let clock!: VirtualClock;
  const before = new Map<number, Before>(); // arrival index → state
  const decisions = new Map<string, Decision[]>();
  const onWorld = (w: World, c: VirtualClock) => {
    world = w;
    clock = c;
    trace.jobs.forEach((j, i) => {
      c.at(TRACE_EPOCH_MS + j.arrival * 1000 - 1, () => {
        const prof = world.profileFor(relevantDemands(j.demands))?.name;
        const ms = world.allMachines.filter(
          (m) => !m.placeholder && m.profile.name === prof && m.deletedMs === undefined,
        );
        before.set(i, {
          idle: ms.filter((m) => m.phase === 'idle' || m.phase === 'registered').length,
          starting: ms.filter((m) => m.phase === 'provisioning' || m.phase === 'booting').length,
          busy: ms.filter((m) => m.phase === 'busy').length,
        });
      });
    });
  };
  const onPass = (r: PassResult) => {
    for (const pool of r.pools)
      for (const v of pool.plan?.views ?? []) {
        if (!v.warm) continue;
        const list = decisions.get(v.profile) ?? [];
        list.push({
          at: clock.nowMs(),
          k: v.warm.k,
          lambdaPerMin: v.warm.lambdaPerMin,
          refillSec: v.warm.refillSec,
          source: v.warm.lambdaSource,
          idle: v.idle,
          starting: v.starting,
          creates: v.creates,
        });
        decisions.set(v.profile, list);
      }
  };
  const res = await runSimulation({ trace, profiles, policy: 'ours', seed, onWorld, ours: { onPass } });
  console.log(`== ${values.trace} seed ${seed}: p95 ${res.summary.waitSec.p95}s, cost $${res.summary.costUsd}`);
  // λ estimate against the arrivals that happened, per profile and hour (UTC).
  for (const [prof, ds] of decisions) {
    const perHour = new Map<number, { est: number[]; src: Record<string, number> }>();
    for (const d of ds) {
      const h = new Date(d.at).getUTCHours();
      const e = perHour.get(h) ?? { est: [], src: {} };
      e.est.push(d.lambdaPerMin);
      e.src[d.source] = (e.src[d.source] ?? 0) + 1;
      perHour.set(h, e);
    }
    const actual = new Map<number, number>();
    for (const j of world.jobs)
      if (j.agentName?.split('-')[1] === prof)
        actual.set(new Date(j.queuedMs).getUTCHours(), (actual.get(new Date(j.queuedMs).getUTCHours()) ?? 0) + 1);
    if (values.list)
      console.log(
        `  ${prof} λ/min by hour (mean estimate at passes | arrivals/60): ` +
          [...perHour]
            .map(
              ([h, e]) =>
                `${h}h ${(e.est.reduce((a, b) => a + b, 0) / e.est.length).toFixed(2)}|${((actual.get(h) ?? 0) / 60).toFixed(2)}`,
            )
            .join('  '),
      );
  }
  const byQueued = new Map(world.jobs.map((j) => [j.queuedMs, j]));
  trace.jobs.forEach((tj, i) => {
    const job = world.jobs.find((j) => j.trace === tj) ?? byQueued.get(TRACE_EPOCH_MS + tj.arrival * 1000);
    if (!job || job.result !== 'succeeded') return;
    servedAll++;
    const wait = ((job.assignedMs ?? job.queuedMs) - job.queuedMs) / 1000;
    if (wait <= TARGET) return;
    late++;
    const prof = job.agentName?.split('-')[1] ?? '?';
    const b = before.get(i)!;
    const d = [...(decisions.get(prof) ?? [])].reverse().find((x) => x.at <= job.queuedMs);
    if (d && b.idle === 0 && b.starting >= d.k) exhausted++;
    const key = `${prof} k=${d?.k ?? '-'} idle=${b.idle} starting=${b.starting}`;
    buckets[key] = (buckets[key] ?? 0) + 1;
    if (values.list)
      console.log(
        `  ${new Date(job.queuedMs).toISOString().slice(11, 19)} ${prof.padEnd(6)} wait ${wait.toFixed(0).padStart(4)}s  before: idle ${b.idle} starting ${b.starting} busy ${b.busy}` +
          (d
            ? `  last pass ${((job.queuedMs - d.at) / 1000).toFixed(0)}s earlier: λ=${d.lambdaPerMin}/min (${d.source}) B=${d.refillSec}s k=${d.k}`
            : '  no pass yet'),
      );
  });
}
console.log(
  `\n${late} of ${servedAll} served jobs waited > ${TARGET}s (${((late / servedAll) * 100).toFixed(1)} %); by profile, last k and the pool just before arrival:`,
);
console.log(
  `  ${exhausted} of them arrived with no idle agent and ≥ k refills already in flight (the warm agents used up, their replacements started)`,
);
for (const [k, n] of Object.entries(buckets).sort((a, b) => b[1] - a[1]))
  console.log(`  ${String(n).padStart(4)}  ${k}`);
