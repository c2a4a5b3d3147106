/**
 * What the warm agents cost, by why they were kept: runs ours on a sample over a working week (warm
 * agents from the target alone, as lab/burst-week.ts) and, every 30 s of the days after the first,
 * splits each profile's agent-minutes into busy, starting and idle, and the idle ones by the warm
 * decision of the last pass (decideWarm re-run on the state that pass wrote, same instant):
 *   - the first warm agent (k ≥ 1),
 *   - more agents for a learnt burst,
 *   - more agents the rule asked for (k ≥ 2), by which λ term set the rate (live EWMA, 15-min window,
 *     the learnt hour, the hour ahead) and whether the miss budget was spent or too small to drop one,
 *   - idle agents beyond k (waiting out idleTimeoutSec).
 *
 * Run: npx tsx lab/warm-k-sources.ts [--trace daily-burst] [--seeds 1-4] [--days 5] [--target 15] [--tuning '{…}']
 */
import { parseArgs } from 'node:util';
import { DEFAULT_WARM_TUNING, decideWarm, type WarmDecision, type WarmTuning } from '../src/core/warm/index.js';
import type { PassResult } from '../src/reconcile/pass.js';
import { aciPerSecond } from '../src/sim/billing.js';
import type { VirtualClock } from '../src/sim/clock.js';
import { profilesFor, withTargetWait } from '../src/sim/profiles.js';
import { runSimulation } from '../src/sim/run.js';
import { sampleTrace } from '../src/sim/trace.js';
import type { World } from '../src/sim/world.js';

const { values } = parseArgs({
  options: {
    trace: { type: 'string', default: 'daily-burst' },
    seeds: { type: 'string', default: '1-4' },
    days: { type: 'string', default: '5' },
    target: { type: 'string', default: '15' },
    tuning: { type: 'string' },
  },
});
const DAYS = Number(values.days);
const TARGET = Number(values.target);
const [FIRST, LAST] = String(values.seeds).split('-').map(Number) as [number, number?];
const tuning: Readonly<WarmTuning> = {
  ...DEFAULT_WARM_TUNING,
  ...(values.tuning ? (JSON.parse(values.tuning) as Partial<WarmTuning>) : {}),
};
const STEP = 30;

/** Agent-minutes (and $) per row, summed over the days after the first of every seed. */
const minutes = new Map<string, number>();
const dollars = new Map<string, number>();
let dayCount = 0;
/** This seed's samples by UTC date: [row, agent-seconds, $]. */
let byDate = new Map<string, [string, number, number][]>();
const add = (date: string, row: string, agents: number, price: number) => {
  if (agents <= 0) return;
  const rows = byDate.get(date) ?? [];
  rows.push([row, agents * STEP, agents * STEP * price]);
  byDate.set(date, rows);
};

const SOURCE: Record<WarmDecision['lambda']['source'], string> = {
  live: 'the live EWMA',
  burst: 'the 15-min window',
  history: 'the learnt hour',
  ahead: 'the learnt hour ahead',
  none: 'nothing',
};

/** Why the agents beyond the first were kept. */
function extraRow(d: WarmDecision): string {
  if (d.burst) return 'idle: more for a learnt burst';
  const budget = d.budget.left <= 0 ? 'budget spent' : 'budget too small to drop one';
  return `idle: rule k ≥ 2, λ from ${SOURCE[d.lambda.source]}, ${budget}`;
}

for (let seed = FIRST; seed <= (LAST ?? FIRST); seed++) {
  const trace = sampleTrace(String(values.trace), seed);
  const profiles = withTargetWait(profilesFor(trace), TARGET).map((p) => ({ ...p, standby: [] }));
  const last = new Map<string, WarmDecision>();
  let clock: VirtualClock | undefined;
  byDate = new Map();
  const onWorld = (w: World, c: VirtualClock) => {
    clock = c;
    const tick = () => {
      const date = new Date(c.nowMs()).toISOString().slice(0, 10);
      for (const p of profiles) {
        const ms = [...w.machines.values()].filter(
          (m) => !m.placeholder && m.deletedMs === undefined && m.profile.name === p.name,
        );
        const price = aciPerSecond(p);
        const n = (phases: readonly string[]) => ms.filter((m) => phases.includes(m.phase)).length;
        add(date, 'busy', n(['busy']), price);
        add(date, 'starting', n(['provisioning', 'booting', 'registered']), price);
        const idle = n(['idle']);
        const d = last.get(p.name);
        const k = d?.k ?? 0;
        add(date, 'idle: the first warm agent', Math.min(idle, Math.min(k, 1)), price);
        if (d && k > 1) add(date, extraRow(d), Math.min(idle, k) - 1, price);
        add(date, 'idle: beyond k (waiting out idleTimeoutSec)', idle - Math.min(idle, k), price);
      }
      c.after(STEP * 1000, tick);
    };
    c.at(c.nowMs(), tick);
  };
  const onPass = (r: PassResult) => {
    const now = new Date(clock!.nowMs());
    for (const pool of r.pools)
      for (const p of profiles) {
        const state = pool.plan?.warm?.[p.name];
        if (!state) continue;
        last.set(
          p.name,
          decideWarm(
            state,
            {
              maxWarmAgents: p.maxWarmAgents ?? p.maxAgents,
              maxAgents: p.maxAgents,
              timeZone: p.timeZone ?? 'UTC',
              targetWaitSec: TARGET,
            },
            now,
            tuning,
          ),
        );
      }
  };
  const res = await runSimulation({
    trace,
    profiles,
    policy: 'ours',
    seed,
    days: DAYS + 1,
    ours: { onPass, reconcile: { warmTuning: tuning } },
    onWorld,
  });
  // The simulated working days after the first (each billed over its own 24 hours, as burst-week).
  for (const d of (res.summary.days ?? []).slice(1, DAYS)) {
    dayCount++;
    for (const [row, sec, usd] of byDate.get(d.date) ?? []) {
      minutes.set(row, (minutes.get(row) ?? 0) + sec / 60);
      dollars.set(row, (dollars.get(row) ?? 0) + usd);
    }
  }
}

console.log(
  `${values.trace}, days 2–${DAYS}, seeds ${values.seeds}, targetWaitSec ${TARGET}: agent-minutes and $ per day, by why ` +
    `(npx tsx lab/warm-k-sources.ts --trace ${values.trace} --seeds ${values.seeds} --days ${DAYS}` +
    `${values.tuning ? ` --tuning '${values.tuning}'` : ''})`,
);
const rows = [...minutes.keys()].sort();
const total = [...dollars.values()].reduce((a, b) => a + b, 0);
for (const r of rows)
  console.log(
    `  ${r.padEnd(70)} ${(minutes.get(r)! / dayCount).toFixed(1).padStart(7)} min  $${(dollars.get(r)! / dayCount).toFixed(3)}`,
  );
console.log(`  ${'total'.padEnd(70)} ${''.padStart(11)}  $${(total / dayCount).toFixed(3)}`);
