/** The per-profile view (`status` command, GET /api/status): observe + plan, act on nothing. */
import { actionText } from '../core/action-text.js';
import { placementsInWords, type PoolHistory } from '../core/pool-history.js';
import { samePool } from '../core/pools.js';
import type { ParallelJobsView, ProfileView } from '../core/types.js';
import { planPool, poolsOf, type ReconcileDeps, type ReconcileOptions } from '../reconcile/pass.js';
import { errorText } from '../util/log.js';

export interface PoolStatus {
  pool: string;
  ok: boolean;
  error?: string;
  views: ProfileView[];
  unmatchedJobs: number;
  /** Planned actions (what the next pass would do), with reasons. */
  next: string[];
  /** The organization's self-hosted parallel-job cap and where it came from (absent: not read). */
  parallel?: ParallelJobsView;
  /** Each of our groups and the placement it got (`index:location[/spot]`, tag `azp-placement`). */
  groups?: Array<{ name: string; profile: string; placement: string }>;
}

/** Whether the BACKOFF column shows the shared back-off state, and why not. */
export interface BackoffAvailability {
  available: boolean;
  note?: string;
}

/** A pool's history from the shared pool state: every instance reports the same (src/core/pool-history.ts). */
export interface PoolHistoryStatus extends PoolHistory {
  pool: string;
}

export interface StatusReport {
  generatedAt: string;
  pools: PoolStatus[];
  error?: string;
  backoff?: BackoffAvailability;
  /** Per pool, from AzureWebJobsStorage (absent without it): passes, counters, newest decisions. */
  history?: PoolHistoryStatus[];
}

export async function collectStatus(opts: ReconcileOptions, deps: ReconcileDeps): Promise<StatusReport> {
  const generatedAt = deps.clock.now().toISOString();
  let groups;
  try {
    groups = await deps.compute.listGroups();
  } catch (err) {
    return { generatedAt, pools: [], error: `cannot list container groups: ${errorText(err)}` };
  }
  const pools: PoolStatus[] = [];
  for (const pool of poolsOf(opts.profiles)) {
    try {
      const { plan, snapshot } = await planPool(
        pool,
        groups.filter((g) => samePool(g.pool, pool)),
        { ...opts, dryRun: true },
        deps,
      );
      pools.push({
        pool,
        ok: true,
        views: plan.views,
        unmatchedJobs: plan.unmatchedJobs.length,
        next: plan.actions.map(actionText),
        ...(plan.parallel ? { parallel: plan.parallel } : {}),
        groups: snapshot.groups.map((g) => ({ name: g.name, profile: g.profile, placement: g.placement ?? '0' })),
      });
    } catch (err) {
      pools.push({ pool, ok: false, error: errorText(err), views: [], unmatchedJobs: 0, next: [] });
    }
  }
  return { generatedAt, pools };
}

const COLUMNS: Array<[string, (v: ProfileView) => string]> = [
  ['POOL', (v) => v.pool],
  ['PROFILE', (v) => v.profile],
  ['QUEUED', (v) => String(v.queued)],
  ['RUNNING', (v) => String(v.running)],
  ['IDLE', (v) => String(v.idle)],
  ['STARTING', (v) => String(v.starting)],
  ['BUSY', (v) => String(v.busy)],
  ['FINISHED', (v) => String(v.finished)],
  ['FAILED', (v) => String(v.failedBoot)],
  ['STANDBY', (v) => String(v.standbyTarget)],
  ['LIVE/MAX', (v) => `${v.live}/${v.maxAgents}`],
  ['PLACEHOLDER', (v) => v.placeholder],
  ['BACKOFF', (v) => v.backoffUntil ?? '-'],
];

export function formatStatusTable(report: StatusReport): string {
  const unknownBackoff = report.backoff?.available === false;
  const cell = (h: string, f: (v: ProfileView) => string, v: ProfileView) =>
    h === 'BACKOFF' && unknownBackoff && !v.backoffUntil ? 'unknown' : f(v);
  const rows = report.pools.flatMap((p) => p.views.map((v) => COLUMNS.map(([h, f]) => cell(h, f, v))));
  const header = COLUMNS.map(([h]) => h);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  // No profile observed (every pool failed): no header over an empty table, the reasons below say why.
  const out = rows.length > 0 ? [line(header), ...rows.map(line)] : [];
  for (const p of report.pools) {
    if (!p.ok) out.push(`pool ${p.pool}: cannot observe: ${p.error}`);
    for (const v of p.views)
      if (v.warm)
        out.push(
          `pool ${p.pool}: ${v.profile} warm agents k=${v.warm.k} (λ ${v.warm.lambdaPerMin}/min from ${v.warm.lambdaSource}, B ${v.warm.refillSec}s, target ${v.warm.targetWaitSec}s): ${v.warm.reason}`,
        );
    for (const v of p.views)
      if (v.warm?.nextBurst)
        out.push(
          `pool ${p.pool}: ${v.profile} next learnt burst ${v.warm.nextBurst.at}: ${v.warm.nextBurst.agents} warm agent(s) from ${v.warm.nextBurst.from}`,
        );
    if (p.unmatchedJobs > 0) out.push(`pool ${p.pool}: ${p.unmatchedJobs} queued job(s) no profile can serve`);
    if (p.parallel) out.push(`pool ${p.pool}: ${parallelText(p.parallel)}`);
    // Where the groups went, once any went to a fallback placement (src/core/placements.ts).
    for (const v of p.views)
      if (v.placements && /(^| )[1-9]\d*:/.test(v.placements))
        out.push(`pool ${p.pool}: profile ${v.profile} groups: ${placementsInWords(v.placements)}`);
    for (const [n, count] of countSame(p.next))
      out.push(`pool ${p.pool}: next pass would ${count > 1 ? n.replace(/^(create|delete) /, `$1 ${count} × `) : n}`);
  }
  for (const h of report.history ?? []) out.push(...historyLines(h));
  if (report.backoff?.note) out.push(report.backoff.note);
  if (report.error) out.push(report.error);
  return out.join('\n');
}

/** Equal lines once each, with how many times they came (one planned create per agent, same reason). */
function countSame(lines: readonly string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const l of lines) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts];
}

/** The parallel-job cap in words: the cap, its source, and the queued jobs it holds back. */
export function parallelText(v: ParallelJobsView): string {
  if (v.source === 'unknown')
    return `self-hosted parallel jobs: unknown (${v.detail ?? 'not readable'}), no cap applied`;
  const cap = `self-hosted parallel jobs: ${v.free ?? '?'} free of ${v.total ?? '?'} (${v.used ?? 0} in use; source: Azure DevOps resourceusage)`;
  return v.waiting > 0 ? `${cap}; ${v.waiting} queued job(s) wait for a parallel job, no agent created for them` : cap;
}

/** A pool's shared history in lines (the same on every instance). */
export function historyLines(h: PoolHistoryStatus): string[] {
  const out = [
    `pool ${h.pool} (all instances): ${h.passes} pass(es), ${h.created} created, ${h.deleted} deleted, ${h.failed} failed` +
      `${h.lastPassAt ? `; last pass ${h.lastPassAt}` : ''}${h.lastOkAt && h.lastOkAt !== h.lastPassAt ? `, last without failure ${h.lastOkAt}` : ''}`,
  ];
  if (h.lastError) out.push(`pool ${h.pool}: last failure: ${h.lastError}`);
  for (const d of h.recent.slice(0, 5))
    out.push(`pool ${h.pool}: ${d.at} ${[...d.actions, ...d.failed.map((f) => `FAILED ${f}`)].join('; ')}`);
  return out;
}
