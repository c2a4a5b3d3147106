/**
 * The cost/wait frontier of one trace (`simulate --frontier`): one point per policy run, per wait
 * target of ours, per MDP Automatic preference, and the cheapest static standby schedule meeting
 * the target (src/sim/warm-baselines.ts). Every point is a run of the same seed and trace.
 */
import type { ProfileConfig } from '../config/schema.js';
import { withTargetWait } from './profiles.js';
import type { FrontierPoint } from './report.js';
import { runSimulation, type SimOptions, type SimResult } from './run.js';
import type { Trace } from './trace.js';
import {
  MDP_PREFERENCES,
  DEFAULT_MDP,
  mdpStandby,
  searchStatic,
  withStandby,
  type MdpPreference,
} from './warm-baselines.js';

export const FRONTIER_TARGETS = [0, 5, 15, 30, 60] as const;

const point = (policy: string, label: string, r: SimResult): FrontierPoint => ({
  policy,
  label,
  costUsd: r.summary.costUsd,
  p95WaitSec: r.summary.waitSec.p95,
});

export async function frontierFor(
  trace: Trace,
  profiles: readonly ProfileConfig[],
  seed: number,
  results: readonly SimResult[],
  targetWaitSec: number,
  /** The run's own world, span and prices (`--cold-model`, `--hours`, `--days`, `--live-prices`): every point uses them. */
  run: Partial<Pick<SimOptions, 'world' | 'hours' | 'days' | 'aciPrices'>> = {},
): Promise<FrontierPoint[]> {
  const base = profiles.map((p) => {
    const { targetWaitSec: _t, maxWarmAgents: _m, ...rest } = p;
    return rest;
  });
  const points: FrontierPoint[] = results.map((r) =>
    point(
      r.summary.policy,
      r.summary.policy === 'ours' && profiles.some((p) => p.targetWaitSec !== undefined)
        ? `ours ${targetWaitSec} s`
        : r.summary.policy,
      r,
    ),
  );
  for (const t of FRONTIER_TARGETS) {
    if (t === targetWaitSec && points.some((p) => p.label === `ours ${t} s`)) continue;
    points.push(
      point(
        'ours',
        `ours ${t} s`,
        await runSimulation({ ...run, trace, profiles: withTargetWait(base, t), policy: 'ours', seed }),
      ),
    );
  }
  for (const pref of Object.keys(MDP_PREFERENCES) as MdpPreference[]) {
    const r = await runSimulation({
      ...run,
      trace,
      profiles: withStandby(base, mdpStandby(trace, base, { ...DEFAULT_MDP, preference: pref })),
      policy: 'ours',
      seed,
    });
    points.push(point('mdp', `mdp ${pref}`, r));
  }
  const best = await searchStatic({ ...run, trace, seed }, base, targetWaitSec).catch(() => undefined);
  if (best)
    points.push(
      point(
        'static',
        `static ${Object.entries(best.counts)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')} (≤ ${targetWaitSec} s)`,
        best.result,
      ),
    );
  return points;
}
