/**
 * Does the warm rule's history (λ learnt by hour of the weekday, `history`/`ahead` in
 * src/core/warm/ estimateArrivalRate) help on the days after the first? Runs ours (targetWaitSec
 * on every profile) and KEDA on N days of a sample trace (`runSimulation({ days })`: one world and
 * one controller throughout, the warm state carried as the back-off blob carries it), seeds 1…S, and
 * prints, day 1 against days 2…N:
 *   - the p95 and mean wait of the first F jobs of each day (pooled over seeds), ours and KEDA;
 *   - the day's p95 and cost, ours/KEDA (mean over seeds; cost over the day's 24 hours — the runs
 *     go one day further than reported, so the last reported day has its night too);
 *   - the same days run alone (a fresh one-day run of that day's jobs: nothing learnt; its cost ends
 *     with the run's drain, so it lacks the night, and on nightly-batch the daytime standby);
 *   - whether history pre-warms: the pass before each day's first arrival (warm k, what set λ, the
 *     idle + starting agents), how long before it k first rose above what λ without history gives;
 *   - what history costs: warm agents held only because of it (k with history − k without, above
 *     the standby schedule), in agent-minutes and $ per day: before the first arrival, during the
 *     day, and after the day's last arrival.
 *
 * Run: npx tsx lab/warm-days.ts [--seeds 10] [--days 5] [--target 15] [--first 5]
 *                                   [--traces steady-day,nightly-batch] [--no-fresh] [--no-schedule]
 */
import { parseArgs } from 'node:util';
import { relevantDemands } from '../src/core/demands.js';
import { standbyTarget } from '../src/core/standby.js';
import { decideWarm, type WarmState } from '../src/core/warm/index.js';
import type { PassResult } from '../src/reconcile/pass.js';
import { aciPerSecond } from '../src/sim/billing.js';
import type { VirtualClock } from '../src/sim/clock.js';
import { defaultProfiles, withTargetWait } from '../src/sim/profiles.js';
import { percentile, runSimulation, TRACE_EPOCH_MS, type SimResult } from '../src/sim/run.js';
import type { World } from '../src/sim/world.js';
import { dayOffsets, daySeed, sampleTrace, SAMPLE_CALENDAR } from '../src/sim/trace.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '10' },
    days: { type: 'string', default: '5' },
    target: { type: 'string', default: '15' },
    first: { type: 'string', default: '5' },
    traces: { type: 'string', default: 'steady-day,nightly-batch' },
    'no-fresh': { type: 'boolean', default: false },
    'no-schedule': { type: 'boolean', default: false },
  },
});
const SEEDS = Number(values.seeds);
const DAYS = Number(values.days);
const TARGET = Number(values.target);
const FIRST = Number(values.first);
// --no-schedule: without the default docker profile's standby window (Mon–Fri 08:00–18:00, 1 agent),
// so warm agents come from the wait target alone (and a nightly pool pays no daytime standby).
const base = defaultProfiles().map((p) => (values['no-schedule'] ? { ...p, standby: [] } : p));
const ours = withTargetWait(base, TARGET);

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const p95 = (xs: readonly number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    95,
  );
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const sec = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)}s` : 'n/a');
/** $ per agent-minute of a profile (ACI, per second). */
const perMin = (name: string) => {
  const p = ours.find((x) => x.name === name)!;
  return 60 * aciPerSecond(p);
};

/** One pass's warm decision for one profile, with the k history added. */
interface Pass {
  at: number;
  profile: string;
  k: number;
  /** k from the same state without the learnt buckets (live + burst only). */
  kLive: number;
  scheduled: number;
  source: string;
  idle: number;
  starting: number;
}

function recorder(clockRef: { clock?: VirtualClock; world?: World }, passes: Pass[]) {
  return (r: PassResult) => {
    const now = clockRef.clock!.now();
    for (const pool of r.pools) {
      for (const v of pool.plan?.views ?? []) {
        const state: WarmState | undefined = pool.plan?.warm?.[v.profile];
        if (!v.warm || !state) continue;
        const p = ours.find((x) => x.name === v.profile)!;
        const noHistory: WarmState = { ...state, arrivals: { ...state.arrivals, buckets: {} } };
        const live = decideWarm(
          noHistory,
          {
            maxWarmAgents: p.maxWarmAgents ?? p.maxAgents,
            maxAgents: p.maxAgents,
            timeZone: p.timeZone,
            targetWaitSec: TARGET,
          },
          now,
        );
        passes.push({
          at: now.getTime(),
          profile: v.profile,
          k: v.warm.k,
          kLive: live.k,
          scheduled: standbyTarget(p.minAgents, p.standby, p.timeZone, now),
          source: v.warm.lambdaSource,
          idle: v.idle,
          starting: v.starting,
        });
      }
    }
  };
}

interface DayRow {
  day: number;
  firstOurs: number[];
  firstKeda: number[];
  firstFresh: number[];
  firstFreshKeda: number[];
  /** The day's p95 wait and cost in the multi-day run (ours, KEDA) and run alone (NaN for day 1). */
  p95: { ours: number; keda: number; alone: number; kedaAlone: number };
  cost: { ours: number; keda: number; alone: number; kedaAlone: number };
  /** Pass before the first arrival, for the first arrival's profile. */
  atFirst?: Pass;
  /** Minutes before the first arrival that k first exceeded kLive and the schedule (history pre-warm); undefined = it did not. */
  prewarmMin?: number;
  extraMin: { before: number; during: number; after: number };
  extraUsd: number;
}

console.log(
  `warm history over ${DAYS} days, targetWaitSec ${TARGET}, seeds 1–${SEEDS}, first ${FIRST} jobs of each day ` +
    `(npx tsx lab/warm-days.ts --seeds ${SEEDS} --days ${DAYS} --target ${TARGET} --first ${FIRST} --traces ${values.traces}${values['no-fresh'] ? ' --no-fresh' : ''}${values['no-schedule'] ? ' --no-schedule' : ''})\n`,
);

for (const name of String(values.traces).split(',')) {
  const rows: DayRow[] = [];
  const offsets = dayOffsets(DAYS + 1, SAMPLE_CALENDAR[name] ?? 'daily');
  for (let seed = 1; seed <= SEEDS; seed++) {
    const trace = sampleTrace(name, seed);
    // One day more than reported, so the last reported day has its night too (the run ends after
    // the last day's drain).
    const keda = await runSimulation({ trace, profiles: base, policy: 'keda', seed, days: DAYS + 1 });
    const ref: { clock?: VirtualClock; world?: World } = {};
    const passes: Pass[] = [];
    const o: SimResult = await runSimulation({
      trace,
      profiles: ours,
      policy: 'ours',
      seed,
      days: DAYS + 1,
      onWorld: (w, c) => {
        ref.world = w;
        ref.clock = c;
      },
      ours: { onPass: recorder(ref, passes) },
    });
    for (let d = 0; d < DAYS; d++) {
      const oDay = o.summary.days![d]!;
      const kDay = keda.summary.days![d]!;
      const dayTrace = d === 0 ? trace : sampleTrace(name, daySeed(seed, d));
      let fresh: SimResult | undefined;
      if (!values['no-fresh'] && d > 0) {
        fresh = await runSimulation({ trace: dayTrace, profiles: ours, policy: 'ours', seed });
      }
      const freshKeda =
        fresh && d > 0 ? await runSimulation({ trace: dayTrace, profiles: base, policy: 'keda', seed }) : undefined;
      const midnight = TRACE_EPOCH_MS + offsets[d]! * 86_400_000;
      const firstMs = midnight + dayTrace.jobs[0]!.arrival * 1000;
      const lastMs = midnight + dayTrace.jobs[dayTrace.jobs.length - 1]!.arrival * 1000;
      const nextMidnight = midnight + 86_400_000;
      const fromMs = d === 0 ? Number.NEGATIVE_INFINITY : midnight;
      // History's warm agents: max(schedule, k) − max(schedule, k without history), pass to pass.
      const extraMin = { before: 0, during: 0, after: 0 };
      let extraUsd = 0;
      let prewarmMin: number | undefined;
      const byProfile = new Map<string, Pass[]>();
      for (const p of passes) byProfile.set(p.profile, [...(byProfile.get(p.profile) ?? []), p]);
      for (const [profile, ps] of byProfile) {
        for (let i = 0; i + 1 < ps.length; i++) {
          const p = ps[i]!;
          if (p.at < fromMs || p.at >= nextMidnight) continue;
          const extra = Math.max(0, Math.max(p.scheduled, p.k) - Math.max(p.scheduled, p.kLive));
          if (extra === 0) continue;
          const min = (extra * (ps[i + 1]!.at - p.at)) / 60_000;
          extraUsd += min * perMin(profile);
          if (p.at < firstMs) {
            extraMin.before += min;
            const ahead = (firstMs - p.at) / 60_000;
            if (ahead <= 180) prewarmMin = Math.max(prewarmMin ?? 0, ahead);
          } else if (p.at <= lastMs) extraMin.during += min;
          else extraMin.after += min;
        }
      }
      const firstName = ref.world!.profileFor(relevantDemands(dayTrace.jobs[0]!.demands))?.name;
      const firstProfile = passes.filter((p) => p.at < firstMs && p.profile === firstName).at(-1);
      rows.push({
        day: d + 1,
        firstOurs: o.dayWaits![d]!.slice(0, FIRST),
        firstKeda: keda.dayWaits![d]!.slice(0, FIRST),
        firstFresh: fresh ? fresh.waits.slice(0, FIRST) : [],
        firstFreshKeda: freshKeda ? freshKeda.waits.slice(0, FIRST) : [],
        p95: {
          ours: oDay.waitSec.p95,
          keda: kDay.waitSec.p95,
          alone: fresh?.summary.waitSec.p95 ?? Number.NaN,
          kedaAlone: freshKeda?.summary.waitSec.p95 ?? Number.NaN,
        },
        cost: {
          ours: oDay.costUsd,
          keda: kDay.costUsd,
          alone: fresh?.summary.costUsd ?? Number.NaN,
          kedaAlone: freshKeda?.summary.costUsd ?? Number.NaN,
        },
        ...(firstProfile ? { atFirst: firstProfile } : {}),
        ...(prewarmMin !== undefined ? { prewarmMin } : {}),
        extraMin,
        extraUsd,
      });
    }
    process.stderr.write(`${name} seed ${seed} done\n`);
  }

  console.log(
    `== ${name} (${SAMPLE_CALENDAR[name]}; ours = targetWaitSec ${TARGET}${values['no-schedule'] ? ', no standby schedule' : ' + the docker standby schedule'})`,
  );
  const groups: [string, DayRow[]][] = [
    ['day 1', rows.filter((r) => r.day === 1)],
    [`days 2–${DAYS}`, rows.filter((r) => r.day > 1)],
  ];
  const pw = (xs: number[]) => (xs.length ? `${f(p95(xs), 1)}s / ${f(mean(xs), 1)}s` : '–');
  console.log(
    `waits of the first ${FIRST} jobs of each day, pooled over seeds (p95 / mean); "alone" = that day run on its own (nothing learnt)`,
  );
  console.log(
    `days        ${'ours'.padStart(15)}  ${'keda'.padStart(15)}  ${'ours alone'.padStart(15)}  ${'keda alone'.padStart(15)}`,
  );
  for (const [label, rs] of groups) {
    const cols = [
      rs.flatMap((r) => r.firstOurs),
      rs.flatMap((r) => r.firstKeda),
      rs.flatMap((r) => r.firstFresh),
      rs.flatMap((r) => r.firstFreshKeda),
    ];
    console.log(`${label.padEnd(10)}  ${cols.map((c) => pw(c).padStart(15)).join('  ')}`);
  }
  console.log('\nthe day: p95 wait and cost (mean over seeds; ratios are means of per-day ratios)');
  console.log(
    `days        ${'ours p95'.padStart(9)} ${'keda p95'.padStart(9)} ${'ours/keda'.padStart(9)}  ${'ours $'.padStart(7)} ${'keda $'.padStart(7)} ${'ours/keda'.padStart(9)} | alone: ${'ours p95'.padStart(9)} ${'ours $'.padStart(7)} ${'keda $'.padStart(7)} ${'ours/keda $'.padStart(11)}`,
  );
  for (const [label, rs] of groups) {
    const m = (g: (r: DayRow) => number) => mean(rs.map(g));
    const cells = [
      sec(m((r) => r.p95.ours)).padStart(9),
      sec(m((r) => r.p95.keda)).padStart(9),
      f(m((r) => r.p95.ours / r.p95.keda)).padStart(9),
      ' ' + f(m((r) => r.cost.ours)).padStart(7),
      f(m((r) => r.cost.keda)).padStart(7),
      f(m((r) => r.cost.ours / r.cost.keda)).padStart(9),
      '|       ',
      sec(m((r) => r.p95.alone)).padStart(9),
      f(m((r) => r.cost.alone)).padStart(7),
      f(m((r) => r.cost.kedaAlone)).padStart(7),
      f(m((r) => r.cost.alone / r.cost.kedaAlone)).padStart(11),
    ];
    console.log(`${label.padEnd(10)}  ${cells.join(' ')}`);
  }
  console.log('\npre-warm and what history costs, per day (mean over seeds):');
  console.log(
    'day  history pre-warmed   min before 1st job   k / idle+starting at 1st job   λ source at 1st job        history agent-min before/during/after   $',
  );
  for (let d = 1; d <= DAYS; d++) {
    const rs = rows.filter((r) => r.day === d);
    const pre = rs.filter((r) => r.prewarmMin !== undefined);
    const src: Record<string, number> = {};
    for (const r of rs) if (r.atFirst) src[r.atFirst.source] = (src[r.atFirst.source] ?? 0) + 1;
    console.log(
      `${String(d).padEnd(3)}  ${`${pre.length}/${rs.length} seeds`.padEnd(19)}  ${(pre.length ? f(mean(pre.map((r) => r.prewarmMin!)), 0) : '–').padStart(19)}   ` +
        `${`${f(mean(rs.flatMap((r) => (r.atFirst ? [r.atFirst.k] : []))), 1)} / ${f(mean(rs.flatMap((r) => (r.atFirst ? [r.atFirst.idle + r.atFirst.starting] : []))), 1)}`.padStart(28)}   ` +
        `${Object.entries(src)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ')
          .padEnd(
            25,
          )}  ${`${f(mean(rs.map((r) => r.extraMin.before)), 0)} / ${f(mean(rs.map((r) => r.extraMin.during)), 0)} / ${f(mean(rs.map((r) => r.extraMin.after)), 0)}`.padStart(38)}   ${f(mean(rs.map((r) => r.extraUsd)))}`,
    );
  }
  console.log('');
}
