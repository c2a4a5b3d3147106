/**
 * The delete part of the pass: unregistrations and group deletes, each the way `deleteModeFor`
 * (src/core/delete.ts) decided. Principle 4 lives here: no group whose container may still run is
 * deleted without a read, after the last moment its agent could take a job, showing it idle.
 */
import type { Plan } from '../core/types.js';
import { errorKind, isLeaseLost, type Logger } from '../ports/index.js';
import { mapLimit } from '../util/limit.js';
import { errorText } from '../util/log.js';
import { unregisterOrphan } from './ownership.js';
import {
  settledOutcomes,
  skipLost,
  type ActState,
  type DeleteAction,
  type Outcome,
  type ReconcileDeps,
  type ReconcileOptions,
} from './types.js';

/** Causes whose agent, found online at the re-read, has recovered: keep it rather than delete a working agent. */
const RECOVERABLE = new Set<DeleteAction['cause']>(['failedBoot', 'lost']);

/**
 * Deletes one group the way `deleteModeFor` (src/core/delete.ts) decided. No group whose container may
 * still run is deleted without a read, after the last moment its agent could take a job, showing
 * that agent idle and unable to take one.
 */
async function deleteGroup(poolId: number, action: DeleteAction, deps: ReconcileDeps, log: Logger): Promise<Outcome> {
  switch (action.mode) {
    case 'safe':
      return action.agentId === undefined
        ? recheckDelete(poolId, action, deps, log)
        : safeDelete(poolId, action, action.agentId, deps, log);
    case 'recheck':
      return recheckDelete(poolId, action, deps, log);
    case 'direct':
      return directDelete(poolId, action, deps, log);
  }
}

/** Safe delete: disable → re-read (the agent and its requests) → delete only if both show it idle, else re-enable and keep. */
async function safeDelete(
  poolId: number,
  action: DeleteAction,
  agentId: number,
  deps: ReconcileDeps,
  log: Logger,
): Promise<Outcome> {
  await deps.azdo.setAgentEnabled(poolId, agentId, false);
  // Two reads from two sides, either of which sees a job: the agent (its assigned request) and the
  // requests reserved for it. One stale read cannot let a kill through (issue 21, finding 4).
  const [fresh, requests] = await Promise.all([
    deps.azdo.getAgent(poolId, agentId),
    deps.azdo.listAgentRequests(poolId, agentId),
  ]);
  const job = fresh?.assignedRequestId ?? requests[0]?.requestId;
  if (job !== undefined) {
    await deps.azdo.setAgentEnabled(poolId, agentId, true);
    log.info('scale-down: a job landed on the agent between decision and delete; kept', {
      group: action.group,
      request: job,
    });
    return { action, status: 'skipped', why: `job ${job} assigned after the decision` };
  }
  if (fresh && fresh.status === 'online' && RECOVERABLE.has(action.cause)) {
    await deps.azdo.setAgentEnabled(poolId, agentId, true);
    log.info('scale-down: the agent came online between decision and delete; kept', {
      group: action.group,
      cause: action.cause,
    });
    return { action, status: 'skipped', why: 'agent came online after the decision' };
  }
  // Disabled and seen idle: it can take no job now, so the evidence may be gathered first.
  if (action.cause === 'failedBoot') log.warn('failed boot', await failedBootEvidence(action, deps));
  await deps.compute.deleteGroup(action.group);
  await deps.azdo.deleteAgent(poolId, agentId);
  return { action, status: 'done', group: action.group };
}

/** No registration was seen: read the agent by name right before the DELETE; one found goes the safe way. */
async function recheckDelete(poolId: number, action: DeleteAction, deps: ReconcileDeps, log: Logger): Promise<Outcome> {
  // Evidence first: nothing may sit between the re-read and the DELETE.
  const evidence = action.cause === 'failedBoot' ? await failedBootEvidence(action, deps) : undefined;
  const found = await deps.azdo.findAgent(poolId, action.group);
  if (found && found.assignedRequestId !== undefined) {
    log.info('scale-down: the agent registered and took a job between decision and delete; kept', {
      group: action.group,
      request: found.assignedRequestId,
    });
    return {
      action,
      status: 'skipped',
      why: `agent registered and took job ${found.assignedRequestId} after the decision`,
    };
  }
  if (found) return safeDelete(poolId, { ...action, agentId: found.id }, found.id, deps, log);
  await deps.compute.deleteGroup(action.group);
  if (evidence) log.warn('failed boot', evidence);
  return { action, status: 'done', group: action.group };
}

/** Container seen terminated (or a placeholder): nothing can run a job; the group and any registration go. */
async function directDelete(poolId: number, action: DeleteAction, deps: ReconcileDeps, log: Logger): Promise<Outcome> {
  if (action.cause === 'failedBoot') log.warn('failed boot', await failedBootEvidence(action, deps));
  await deps.compute.deleteGroup(action.group);
  if (action.agentId !== undefined) await deps.azdo.deleteAgent(poolId, action.agentId);
  return { action, status: 'done', group: action.group };
}

/** Why a boot failed, read before the evidence is deleted (logged once, only when the group goes). */
async function failedBootEvidence(action: DeleteAction, deps: ReconcileDeps): Promise<Record<string, unknown>> {
  const detail = await deps.compute.getGroup(action.group).catch(() => undefined);
  const logs = deps.compute.getLogs ? await deps.compute.getLogs(action.group).catch(() => undefined) : undefined;
  return {
    profile: action.profile,
    group: action.group,
    provisioningState: detail?.provisioningState,
    state: detail?.instanceState,
    exitCode: detail?.exitCode,
    detail: detail?.detail,
    logTail: logs?.split('\n').slice(-5).join(' | '),
  };
}

/** Deletes and unregistrations first: they free capacity and cost nothing to retry. */
export async function actRemovals(
  poolId: number,
  p: Plan,
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  log: Logger,
  state: ActState,
): Promise<Outcome[]> {
  const removals = p.actions.filter((a) => a.kind !== 'create');
  const settled = await mapLimit(removals, opts.concurrency ?? 8, async (a): Promise<Outcome> => {
    if (state.leaseLost) return skipLost(state, a);
    try {
      if (a.kind === 'unregister') return await unregisterOrphan(poolId, a, deps.azdo, log);
      if (a.kind === 'delete') return await deleteGroup(poolId, a, deps, log);
      return { action: a, status: 'skipped', why: 'not a removal' };
    } catch (err) {
      if (isLeaseLost(err)) return skipLost(state, a);
      log.error('action failed', {
        action: a.kind,
        group: a.kind === 'delete' ? a.group : undefined,
        error: errorText(err),
      });
      return { action: a, status: 'failed', error: errorText(err), kind: errorKind(err) };
    }
  });
  return settledOutcomes(removals, settled);
}
