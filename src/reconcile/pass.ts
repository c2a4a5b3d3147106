/**
 * One reconcile pass: observe → plan → act, per pool, each pool isolated from the others.
 * Stateless: every pass rebuilds its view from Azure DevOps and ARM. Its only memory is the pool
 * state (back-off after quota/capacity errors, the warm-agent estimator): read once before the
 * plan, written once after acting — an optimisation, not truth.
 *
 * The parts: ./observe.ts (read and plan), ./delete.ts (removals first: they free capacity),
 * ./create.ts (creates with placement fallback). This file only orders them.
 */
import type { BackoffUpdate } from '../core/capacity.js';
import { profileOfKey } from '../core/placements.js';
import { recordPass } from '../core/pool-history.js';
import { distinctPools, samePool } from '../core/pools.js';
import type { OwnedGroup, Plan, WebhookArrival } from '../core/types.js';
import type { ProfileConfig } from '../config/schema.js';
import { errorKind, isLeaseLost, type Logger, type PoolState } from '../ports/index.js';
import { errorText } from '../util/log.js';
import { actCreates } from './create.js';
import { actRemovals } from './delete.js';
import { decisionLine, planPool, readPoolState } from './observe.js';
import {
  LEASE_LOST,
  once,
  skipLost,
  type ActState,
  type CreateAction,
  type Outcome,
  type PassResult,
  type PoolResult,
  type ReconcileDeps,
  type ReconcileOptions,
} from './types.js';

export { planPool } from './observe.js';
export {
  LEASE_LOST,
  type Outcome,
  type PassResult,
  type PoolResult,
  type ReconcileDeps,
  type ReconcileOptions,
} from './types.js';

/** The configured pools, one spelling each (pool names are case-insensitive). */
export function poolsOf(profiles: readonly ProfileConfig[]): string[] {
  return distinctPools(profiles.map((p) => p.pool));
}

/** Removals, then creates from the plan's back-off snapshot; a lost lease skips what is left. */
async function act(
  poolId: number,
  pool: string,
  p: Plan,
  backoff: Parameters<typeof actCreates>[2],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  log: Logger,
): Promise<Outcome[]> {
  const state: ActState = { leaseLost: false };
  // Deletes and unregistrations first: they free capacity and cost nothing to retry.
  const outcomes = await actRemovals(poolId, p, opts, deps, log, state);
  // A DELETE accepted is expected until no list shows the group (src/core/expectations.ts).
  const at = deps.clock.now().toISOString();
  for (const o of outcomes)
    if (o.status === 'done' && o.action.kind === 'delete') {
      backoff.state.expected.deletes[o.action.group] = at;
      delete backoff.state.expected.creates[o.action.group];
    }
  const creates = p.actions.filter((a): a is CreateAction => a.kind === 'create');
  if (creates.length === 0) return outcomes;
  if (state.leaseLost) return [...outcomes, ...creates.map((a) => skipLost(state, a))];
  return [...outcomes, ...(await actCreates(pool, creates, backoff, opts, deps, log, state))];
}

/** Writes what the groups seen this pass changed into the pass's back-off state, and says so. */
function applyBackoffUpdates(updates: readonly BackoffUpdate[], state: PoolState, log: Logger): void {
  for (const u of updates) {
    if (u.state) state.backoff[u.key] = u.state;
    else delete state.backoff[u.key];
    if (u.why === 'lateCapacity') {
      log.warn('profile backs off after a capacity error', {
        profile: profileOfKey(u.key),
        placement: u.key,
        groups: u.groups.join(','),
        until: u.state?.until,
        failures: u.state?.failures,
        error: u.state?.reason,
      });
    } else
      log.info('capacity back-off ends: a group created since was provisioned', {
        placement: u.key,
        group: u.groups[0],
      });
  }
}

/** Logs the plan's decisions and what it cannot serve. */
function logPlan(p: Plan, dryRun: boolean, log: Logger): void {
  for (const v of p.views) log.info(dryRun ? 'decision (dry run)' : 'decision', decisionLine(v, p.actions));
  if (p.unmatchedJobs.length > 0)
    log.warn('queued jobs no profile can serve', {
      requests: p.unmatchedJobs.slice(0, 20),
      count: p.unmatchedJobs.length,
    });
  if (p.parallel && p.parallel.waiting > 0) {
    log.info('queued jobs wait for a self-hosted parallel job: no agents made for them', {
      waiting: p.parallel.waiting,
      free: p.parallel.free,
      total: p.parallel.total,
      used: p.parallel.used,
    });
  }
}

/**
 * Saves the pass's pool state through the fence, one save at a time, each conditional on the
 * version the last one made. A state that could not be read is never saved over.
 */
function poolStateSaver(pool: string, state: PoolState, readable: boolean, deps: ReconcileDeps): () => Promise<void> {
  let chain: Promise<void> = Promise.resolve();
  return () => {
    const next = chain.then(async () => {
      if (!readable) throw new Error('the pool state could not be read this pass');
      const version = await deps.poolState.save(pool, state);
      if (version !== undefined) state.version = version;
    });
    chain = next.catch(() => undefined);
    return next;
  };
}

/** The last save of a pass; a lost lease or a storage error only loses this pass's learning. */
async function saveAtEnd(record: () => Promise<void>, pool: string, log: Logger): Promise<void> {
  try {
    await record();
  } catch (err) {
    // A pass that lost the lease does not overwrite the new holder's state.
    if (!isLeaseLost(err))
      log.warn('pool state: save failed; the pass goes on without it', { pool, error: errorText(err) });
  }
}

/** Reconcile one pool. Never throws: a failure is reported and acts on nothing. */
export async function reconcilePool(
  pool: string,
  groups: OwnedGroup[],
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  arrivals?: readonly WebhookArrival[],
): Promise<PoolResult> {
  const log = deps.logger.child({ pool });
  const { state, readable } = await readPoolState(pool, deps, log);
  let planned: Awaited<ReturnType<typeof planPool>>;
  try {
    planned = await planPool(pool, groups, opts, deps, { state, ...(arrivals ? { arrivals } : {}) });
  } catch (err) {
    if (errorKind(err) === 'notReady') {
      // A person still has to provide something (the PAT, first deployment): said once, not every pass.
      const what = err instanceof Error ? err.message : String(err);
      if (once(deps, `notReady:${what}`)) log.warn(what);
      return { pool, ok: false, waiting: true, error: what, outcomes: [], probes: 0 };
    }
    log.error('cannot observe the pool: acting on nothing this pass', { error: errorText(err), kind: errorKind(err) });
    return { pool, ok: false, error: errorText(err), outcomes: [], probes: 0 };
  }
  const { plan: p, poolId, probes, snapshot } = planned;
  const base = { pool, plan: p, probes, jobs: snapshot.jobs };
  logPlan(p, opts.dryRun, log);
  if (opts.dryRun)
    return { ...base, ok: true, outcomes: p.actions.map((a) => ({ action: a, status: 'skipped', why: 'dry run' })) };
  applyBackoffUpdates(planned.backoffUpdates, state, log);
  // The warm-agent estimators learn from every pass that acts (kept with the back-off state).
  Object.assign(state.warm, p.warm ?? {});
  const record = poolStateSaver(pool, state, readable, deps);
  const outcomes = await act(poolId, pool, p, { planned: snapshot.backoff, state, record }, opts, deps, log);
  // What every instance's status reports for the pool (src/core/pool-history.ts).
  state.history = recordPass(state.history, deps.clock.now(), outcomes);
  if (readable) await saveAtEnd(record, pool, log);
  const backoff = { backoff: { ...state.backoff } };
  if (outcomes.some((o) => o.status === 'skipped' && o.why === LEASE_LOST)) {
    const error = 'pool lease lost: the pass stopped before its remaining writes';
    return { ...base, ...backoff, ok: false, error, outcomes, leaseLost: true };
  }
  return { ...base, ...backoff, ok: outcomes.every((o) => o.status !== 'failed'), outcomes };
}

/** The whole pass: one group list for the resource group, then every pool in isolation. */
export async function reconcile(
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  onlyPools?: readonly string[],
): Promise<PassResult> {
  const startedAt = deps.clock.now().toISOString();
  const configured = poolsOf(opts.profiles);
  // The webhook arrivals are taken when the pass starts; a pool it could not observe gives them back.
  const inbox = new Map(
    configured.filter((p) => !onlyPools || listed(p, onlyPools)).map((p) => [p, deps.arrivals.take(p)] as const),
  );
  const giveBack = (results: readonly PoolResult[]) => {
    for (const [p, arrivals] of inbox)
      if (!results.some((r) => samePool(r.pool, p) && r.plan)) deps.arrivals.putBack(p, arrivals);
  };
  let groups: OwnedGroup[];
  try {
    groups = await deps.compute.listGroups();
  } catch (err) {
    giveBack([]);
    deps.logger.error('cannot list container groups: acting on nothing this pass', {
      error: errorText(err),
      kind: errorKind(err),
    });
    return {
      startedAt,
      finishedAt: deps.clock.now().toISOString(),
      dryRun: opts.dryRun,
      pools: [],
      error: errorText(err),
    };
  }
  // Pools that only our groups still name (their profiles were removed from the settings) are
  // swept too, so their groups go once idle instead of leaking. With a pool filter, the pass of
  // the first configured pool does the sweep (under that pool's lease: still one writer).
  const unconfigured = distinctPools(groups.map((g) => g.pool)).filter((p) => !listed(p, configured));
  const sweep = !onlyPools || (configured[0] !== undefined && listed(configured[0], onlyPools));
  const pools = [...configured.filter((p) => !onlyPools || listed(p, onlyPools)), ...(sweep ? unconfigured : [])];
  const results: PoolResult[] = [];
  for (const pool of pools) {
    results.push(
      await reconcilePool(
        pool,
        groups.filter((g) => samePool(g.pool, pool)),
        opts,
        deps,
        [...inbox].find(([p]) => samePool(p, pool))?.[1],
      ),
    );
  }
  giveBack(results);
  return { startedAt, finishedAt: deps.clock.now().toISOString(), dryRun: opts.dryRun, pools: results };
}

/**
 * Pool names compare case-insensitively: a group tagged under another spelling, or a pass asked
 * for under another spelling (--pool, ?pool=), is the configured pool.
 */
function listed(p: string, names: readonly string[]): boolean {
  return names.some((n) => samePool(n, p));
}
