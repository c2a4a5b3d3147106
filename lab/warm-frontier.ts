/**
 * What is reachable for warm agents: the cheapest cost at which a policy we can run keeps p95 wait
 * within the bound (targetWaitSec, default 15 s, and 0.3× KEDA's p95 on the same seed). Per trace
 * and seeds 1…N, the real pass in the simulator with fixed warm counts per profile:
 *  - `cap`: targetWaitSec on the profiles with jobs, `maxWarmAgents` = each grid value (inf = no
 *    cap), the default standby schedule removed (so k comes from the rule alone, capped);
 *  - `static`: a standby count per profile over its active hours (src/sim/warm-baselines.ts
 *    `activeWindow`, as `searchStatic` builds them; this grid holds its choices up to the counts);
 *  - `shipped`: ours as warm-figures runs it (targetWaitSec on every profile, default schedule kept).
 * For each point: the share of served jobs waiting past the bound, p95, ours/KEDA p95 and cost;
 * then the lower envelope (time-sharing two points, lab/analysis/envelope.ts), its cost at a 5 %
 * miss share, the cheapest mixture that keeps every seed's p95 within the bound, and the M/G/∞
 * figure per profile (λ per hour from the trace, W = E[(S − bound)+] from src/sim/world-options.ts)
 * next to the measured static one. The cheapest static mixture is run as an hourly schedule to
 * check the time-sharing arithmetic.
 *
 * Run: npx tsx lab/warm-frontier.ts [--seeds 10] [--target 15] [--traces steady-day,mixed-profiles]
 *        [--cap docker=1,2,3,inf --cap java=0,1,2,inf] [--static docker=0,1,2,3 --static java=0,1,2]
 */
import { parseArgs } from 'node:util';
import type { ProfileConfig } from '../src/config/schema.js';
import type { StandbyWindow } from '../src/core/types.js';
import { defaultProfiles, withTargetWait } from '../src/sim/profiles.js';
import { runSimulation, percentile } from '../src/sim/run.js';
import { sampleTrace, type Trace } from '../src/sim/trace.js';
import { activeWindow, profileOfJob, withStandby } from '../src/sim/warm-baselines.js';
import {
  analyticMiss,
  cheapestMixture,
  costAt,
  expectedExcess,
  lowerEnvelope,
  pointOf,
  type FrontierRun,
  type SeedOutcome,
} from './analysis/envelope.js';
import { DEFAULT_WORLD_OPTIONS as W0 } from '../src/sim/world-options.js';
import type { World } from '../src/sim/world.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    target: { type: 'string', default: '15' },
    'keda-ratio': { type: 'string', default: '0.3' },
    traces: { type: 'string', default: 'steady-day,mixed-profiles' },
    cap: { type: 'string', multiple: true, default: ['docker=1,2,3,inf', 'java=0,1,2,inf'] },
    static: { type: 'string', multiple: true, default: ['docker=0,1,2,3', 'java=0,1,2'] },
    budget: { type: 'string', default: '0.05' },
  },
});
const SEEDS = Number(values.seeds);
const TARGET = Number(values.target);
const KEDA_RATIO = Number(values['keda-ratio']);
const BUDGET = Number(values.budget);
const base = defaultProfiles();
const INF = Number.POSITIVE_INFINITY;

const grid = (specs: string[]): Map<string, number[]> =>
  new Map(
    specs.map((s) => {
      const [name, list] = s.split('=');
      return [name!, list!.split(',').map((v) => (v === 'inf' ? INF : Number(v)))];
    }),
  );
const CAPS = grid(values.cap);
const STATICS = grid(values.static);

/** Every combination of the grid's values over `names`. */
function combos(names: string[], g: Map<string, number[]>): Record<string, number>[] {
  let out: Record<string, number>[] = [{}];
  for (const n of names) out = out.flatMap((c) => (g.get(n) ?? [0]).map((v) => ({ ...c, [n]: v })));
  return out;
}
const label = (family: string, c: Record<string, number>) =>
  `${family} ${Object.entries(c)
    .map(([k, v]) => `${k}=${v === INF ? '∞' : v}`)
    .join(' ')}`;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f2 = (x: number) => x.toFixed(2);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// The refill an arriving job may wait for, from a job taking the last warm agent to that agent's
// replacement taking the next job: dispatch, the `running` webhook (1–3 s, src/sim/run.ts), the
// pass's reads, the PUT, provision + boot (lognormal), registered → online, dispatch again.
const webhookMeanSec = 2;
const passSec = (2 * W0.azdoLatencyMs + W0.armListLatencyMs) / 1000;
const overheadSec =
  2 * W0.dispatchDelaySec + webhookMeanSec + passSec + W0.armCreateLatencyMs / 1000 + W0.onlineDelaySec;
const provision = { median: W0.provisionMedianSec, sigma: W0.provisionSigma };
const boot = { median: W0.bootMedianSec, sigma: W0.bootSigma };
const W_BOOT_ONLY = expectedExcess(0, provision, boot, TARGET);
const W = expectedExcess(overheadSec, provision, boot, TARGET);

interface Run extends FrontierRun {
  family: 'cap' | 'static' | 'shipped' | 'timeshare';
  counts: Record<string, number>;
  p95: number[];
  p95Ratio: number[];
  met: number;
  /** Per profile (by the jobs' demands): served and missed, over all seeds. */
  byProfile: Map<string, { served: number; misses: number }>;
}

console.log(
  `warm agents, what is reachable: bound per seed = min(${TARGET} s, ${KEDA_RATIO} × KEDA p95), seeds 1–${SEEDS}` +
    ` (npx tsx lab/warm-frontier.ts --seeds ${SEEDS} --target ${TARGET})`,
);
console.log(
  `refill S = ${overheadSec.toFixed(1)} s overhead (2 × dispatch ${W0.dispatchDelaySec} s, webhook ~${webhookMeanSec} s, pass reads ${passSec.toFixed(1)} s, ` +
    `PUT ${W0.armCreateLatencyMs / 1000} s, online ${W0.onlineDelaySec} s) + provision lognormal(${provision.median}, ${provision.sigma}) + boot lognormal(${boot.median}, ${boot.sigma})`,
);
console.log(
  `W = E[(S − ${TARGET})+] = ${W.toFixed(1)} s (provision + boot alone: ${W_BOOT_ONLY.toFixed(1)} s); miss share budget ${pct(BUDGET)}\n`,
);

for (const name of String(values.traces).split(',')) {
  const traces: Trace[] = [];
  const keda: { p95: number; cost: number; bound: number }[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const trace = sampleTrace(name, seed);
    traces.push(trace);
    const k = (await runSimulation({ trace, profiles: base, policy: 'keda', seed })).summary;
    keda.push({ p95: k.waitSec.p95, cost: k.costUsd, bound: Math.min(TARGET, KEDA_RATIO * k.waitSec.p95) });
  }
  const active = base.filter((p) => traces.some((t) => activeWindow(t, p.name, base))).map((p) => p.name);
  const perHour = new Map(active.map((n) => [n, new Map<number, number>()]));
  for (const t of traces)
    for (const j of t.jobs) {
      const p = profileOfJob(j, base)?.name;
      const m = p !== undefined ? perHour.get(p) : undefined;
      if (m) m.set(Math.floor(j.arrival / 3600), (m.get(Math.floor(j.arrival / 3600)) ?? 0) + 1);
    }

  const runPoint = async (
    family: Run['family'],
    counts: Record<string, number>,
    profilesFor: (trace: Trace) => ProfileConfig[],
    text = label(family, counts),
  ): Promise<Run> => {
    const seeds: SeedOutcome[] = [];
    const run: Run = { label: text, family, counts, seeds, p95: [], p95Ratio: [], met: 0, byProfile: new Map() };
    for (let seed = 1; seed <= SEEDS; seed++) {
      const trace = traces[seed - 1]!;
      let world!: World;
      const r = await runSimulation({
        trace,
        profiles: profilesFor(trace),
        policy: 'ours',
        seed,
        onWorld: (w) => (world = w),
      });
      const { bound, p95: kp95, cost: kcost } = keda[seed - 1]!;
      const served = world.jobs.filter((j) => j.result === 'succeeded');
      const waits = served.map((j) => ((j.assignedMs ?? j.queuedMs) - j.queuedMs) / 1000);
      const p95 = percentile(
        [...waits].sort((a, b) => a - b),
        95,
      );
      seeds.push({
        seed,
        served: served.length,
        misses: waits.filter((w) => w > bound).length,
        costRatio: r.summary.costUsd / kcost,
      });
      run.p95.push(p95);
      run.p95Ratio.push(p95 / kp95);
      if (p95 <= bound) run.met++;
      served.forEach((j, i) => {
        const p = profileOfJob(j.trace, base)?.name ?? '?';
        const e = run.byProfile.get(p) ?? { served: 0, misses: 0 };
        e.served++;
        if (waits[i]! > bound) e.misses++;
        run.byProfile.set(p, e);
      });
    }
    return run;
  };

  const staticWindows = (trace: Trace, counts: Record<string, number>) =>
    new Map(
      active.map((n) => {
        const w = activeWindow(trace, n, base);
        const c = Math.min(counts[n] ?? 0, base.find((p) => p.name === n)!.maxAgents);
        return [n, w && c > 0 ? [{ ...w, count: c }] : []];
      }),
    );

  const runs: Run[] = [];
  runs.push(await runPoint('shipped', {}, () => withTargetWait(base, TARGET), 'shipped (ours, default schedule kept)'));
  for (const c of combos(active, CAPS)) {
    runs.push(
      await runPoint('cap', c, () =>
        base.map((p) => {
          const { maxWarmAgents: _m, ...rest } = p;
          if (!active.includes(p.name)) return { ...rest, standby: [] };
          const cap = c[p.name]!;
          return { ...rest, standby: [], targetWaitSec: TARGET, ...(cap === INF ? {} : { maxWarmAgents: cap }) };
        }),
      ),
    );
  }
  for (const c of combos(active, STATICS))
    runs.push(await runPoint('static', c, (trace) => withStandby(base, staticWindows(trace, c))));

  console.log(
    `== ${name}: profiles with jobs ${active.join(', ')}; KEDA p95 ${f2(mean(keda.map((k) => k.p95)))} s mean, bound ${
      keda.every((k) => k.bound === TARGET) ? `${TARGET} s on every seed` : keda.map((k) => k.bound).join('/')
    }`,
  );
  console.log(
    `${'point'.padEnd(38)} ${'miss'.padStart(6)} ${'(seed max)'.padStart(10)}  ${'p95 s mean (max)'.padEnd(17)} ${'p95≤bound'.padEnd(9)} ${'ours/KEDA p95'.padEnd(13)} ${'cost×KEDA (max)'.padEnd(15)}  per profile: measured | M/G/∞`,
  );
  const printRow = (r: Run) => {
    const seedMax = Math.max(...r.seeds.map((s) => s.misses / s.served));
    const profs = [...r.byProfile.entries()]
      .filter(([p]) => active.includes(p))
      .map(([p, e]) => {
        const measured = pct(e.misses / e.served);
        const k = r.counts[p];
        return r.family === 'static' && k !== undefined
          ? `${p} ${measured} | ${pct(analyticMiss(perHour.get(p)!, SEEDS, W, k))}`
          : `${p} ${measured}`;
      })
      .join('; ');
    console.log(
      `${r.label.padEnd(38)} ${pct(pointOf(r).miss).padStart(6)} ${`(${pct(seedMax)})`.padStart(10)}  ${`${mean(r.p95).toFixed(1)} (${Math.max(...r.p95).toFixed(1)})`.padEnd(17)} ${`${r.met}/${SEEDS}`.padEnd(9)} ${`${f2(mean(r.p95Ratio))} (${f2(Math.max(...r.p95Ratio))})`.padEnd(13)} ${`${f2(pointOf(r).cost)} (${f2(Math.max(...r.seeds.map((s) => s.costRatio)))})`.padEnd(15)}  ${profs}`,
    );
  };
  runs.forEach(printRow);

  // searchStatic's answer per seed (with hindsight of that seed), read off the static grid.
  const statics = runs.filter((r) => r.family === 'static');
  const bestStatic = traces.map((_, i) => {
    const ok = statics.filter((r) => r.p95[i]! <= keda[i]!.bound);
    return ok.length ? Math.min(...ok.map((r) => r.seeds[i]!.costRatio)) : undefined;
  });
  const found = bestStatic.filter((c): c is number => c !== undefined);
  const shipped = runs[0]!;
  const cheaper = bestStatic.filter((c, i) => c !== undefined && shipped.seeds[i]!.costRatio < c).length;
  console.log(
    `cheapest static point meeting the bound, per seed (as searchStatic, with hindsight): found on ${found.length}/${SEEDS}, ` +
      `${found.length ? f2(mean(found)) : 'n/a'}× KEDA mean; shipped is cheaper on ${cheaper}/${found.length}`,
  );
  const env = lowerEnvelope(runs.map(pointOf));
  console.log(
    `lower envelope (miss → cost×KEDA): ${env.map((p) => `${p.label} ${pct(p.miss)} → ${f2(p.cost)}`).join('  |  ')}`,
  );
  const at = costAt(env, BUDGET);
  console.log(
    `cheapest cost at a pooled ${pct(BUDGET)} miss share (time-sharing on the envelope): ${at === undefined ? 'none (every point misses more)' : `${f2(at)}× KEDA`}`,
  );
  const say = (what: string, pool: Run[]) => {
    const m = cheapestMixture(pool, BUDGET);
    if (!m) {
      console.log(`${what}: none within the grid`);
      return m;
    }
    const how = m.theta >= 1 ? m.a : m.theta <= 0 ? m.b : `${f2(m.theta)} × ${m.a} + ${f2(1 - m.theta)} × ${m.b}`;
    console.log(
      `${what}: ${how}: ${f2(m.cost)}× KEDA, pooled miss ${pct(m.miss)} (largest seed ${pct(m.maxSeedMiss)})`,
    );
    return m;
  };
  say(`cheapest with every seed's miss ≤ ${pct(BUDGET)} (p95 ≤ bound on ${SEEDS}/${SEEDS}), any points`, runs);
  const sm = say(
    '  the same, static points only (a schedule we can write down)',
    runs.filter((r) => r.family === 'static'),
  );

  // Check the arithmetic: the static mixture as an hourly schedule (hours alternate by Bresenham).
  if (sm && sm.theta > 0 && sm.theta < 1) {
    const a = runs.find((r) => r.label === sm.a)!;
    const b = runs.find((r) => r.label === sm.b)!;
    const ts = await runPoint(
      'timeshare',
      {},
      (trace) =>
        withStandby(
          base,
          new Map(
            active.map((n) => {
              const w = activeWindow(trace, n, base);
              if (!w) return [n, []];
              const first = Number(w.start.slice(0, 2));
              const last = Number(w.end.slice(0, 2)) || 24;
              const out: StandbyWindow[] = [];
              for (let h = first; h < last; h++) {
                const i = h - first;
                const onA = Math.floor((i + 1) * sm.theta) > Math.floor(i * sm.theta);
                const c = (onA ? a : b).counts[n] ?? 0;
                const hh = (x: number) => `${String(x % 24).padStart(2, '0')}:00`;
                if (c > 0) out.push({ start: hh(h), end: hh(h + 1), count: c });
              }
              return [n, out];
            }),
          ),
        ),
      `timeshare hourly ${f2(sm.theta)}:${f2(1 - sm.theta)}`,
    );
    printRow(ts);
  }
  console.log('');
}
