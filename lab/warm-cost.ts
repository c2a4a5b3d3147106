/**
 * Where do warm agents' extra agent-minutes go? Runs ours (targetWaitSec on every profile) and
 * KEDA on a sample trace and, sampling the simulated world every 10 s, splits each profile's
 * non-busy agent-minutes (starting: provisioning/booting/registered; idle) by when they happen —
 * before the profile's first arrival, between its arrivals, after its last arrival — and counts
 * idle agent-minutes beyond the k of the last warm decision (excess over k).
 *
 * Run: npx tsx lab/warm-cost.ts [--trace steady-day] [--seeds 1-3] [--target 15]
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
  },
});
const TARGET = Number(values.target);
const [s0, s1] = String(values.seeds).split('-').map(Number);
const base = defaultProfiles();
const STEP = 10;
type Row = Record<string, number>;
const add = (r: Row, k: string, sec: number) => (r[k] = (r[k] ?? 0) + sec / 60);

for (const policy of ['keda', 'ours'] as const) {
  const tot: Row = {};
  for (let seed = s0!; seed <= (s1 ?? s0!); seed++) {
    const trace = sampleTrace(String(values.trace), seed);
    let world!: World;
    let clock!: VirtualClock;
    const lastK = new Map<string, number>();
    const span = new Map<string, { first: number; last: number }>();
    const onWorld = (w: World, c: VirtualClock) => {
      world = w;
      clock = c;
      for (const j of trace.jobs) {
        const prof = w.profileFor(relevantDemands(j.demands))?.name ?? '?';
        const t = TRACE_EPOCH_MS + j.arrival * 1000;
        const s = span.get(prof) ?? { first: t, last: t };
        span.set(prof, { first: Math.min(s.first, t), last: Math.max(s.last, t) });
      }
      const tick = () => {
        const now = c.nowMs();
        const idleBy = new Map<string, number>();
        for (const m of w.machines.values()) {
          if (m.placeholder || m.deletedMs !== undefined) continue;
          const prof = m.profile.name;
          const s = span.get(prof);
          const when = !s ? 'no-jobs' : now < s.first ? 'before-first' : now > s.last ? 'after-last' : 'between';
          if (m.phase === 'busy') add(tot, 'busy', STEP);
          else if (m.phase === 'idle') {
            add(tot, `idle ${when}`, STEP);
            idleBy.set(prof, (idleBy.get(prof) ?? 0) + 1);
          } else add(tot, `starting ${when}`, STEP);
        }
        for (const [prof, n] of idleBy) {
          const k = lastK.get(prof);
          if (k !== undefined && n > k) add(tot, 'idle beyond k', (n - k) * STEP);
        }
        c.after(STEP * 1000, tick);
      };
      c.at(c.nowMs(), tick);
    };
    const onPass = (r: PassResult) => {
      for (const pool of r.pools) for (const v of pool.plan?.views ?? []) if (v.warm) lastK.set(v.profile, v.warm.k);
    };
    const profiles = policy === 'ours' ? withTargetWait(base, TARGET) : base;
    const res = await runSimulation({
      trace,
      profiles,
      policy,
      seed,
      onWorld,
      ...(policy === 'ours' ? { ours: { onPass } } : {}),
    });
    add(tot, 'billed (bill)', res.summary.agentMinutesBilled * 60);
    add(tot, 'cost $ ×60', res.summary.costUsd * 60 * 60);
    add(tot, 'p95 sum', res.summary.waitSec.p95 * 60);
    void world;
    void clock;
  }
  const n = (s1 ?? s0!) - s0! + 1;
  console.log(`== ${values.trace} ${policy} seeds ${s0}-${s1 ?? s0}: agent-minutes per seed`);
  for (const [k, v] of Object.entries(tot).sort()) console.log(`  ${k.padEnd(24)} ${(v / n).toFixed(1)}`);
}
