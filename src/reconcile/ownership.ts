/**
 * Proven ownership in the pass (the rule: src/core/ownership.ts). A registration with no group of
 * ours behind it is touched only when its capabilities prove it ours:
 * - observe: each orphan candidate (named like ours, offline, no job, no group) is read once with
 *   `includeCapabilities=true` (one GET per candidate, at most `maxOwnershipReadsPerPass` per pass);
 *   the verdicts `theirs` and `unproven` are remembered per process (`deps.ownership`), so another
 *   deployment's or a person's registrations cost one GET each, once, not one per pass;
 * - act: a proven orphan goes disable → re-read → delete, like every registration whose container
 *   may still run (a group list that lags can hide its group); one found online or holding a job
 *   at the re-read is re-enabled and kept.
 * Steady state (no candidate): no call at all.
 */
import { ownershipOf, type DeploymentIdentity, type Ownership } from '../core/ownership.js';
import { orphanCandidates } from '../core/plan.js';
import type { Action, PoolSnapshot, ProfilePolicy } from '../core/types.js';
import type { AzureDevOpsPort, Logger } from '../ports/index.js';
import type { Outcome } from './types.js';

/** Capability reads for orphan candidates per pool per pass (the rest wait for the next pass). */
export const MAX_OWNERSHIP_READS_PER_PASS = 20;
/** Verdicts kept per process; the oldest go first beyond this. */
const VERDICTS_KEPT = 10_000;

export interface OwnershipContext {
  identity: DeploymentIdentity | undefined;
  prefix: string;
  profiles: readonly ProfilePolicy[];
  maxReads?: number;
  azdo: AzureDevOpsPort;
  /** Verdicts `theirs` / `unproven` per `poolId:agentId`, kept for the process. */
  verdicts: Map<string, Ownership>;
  /** True the first time a key is said in this process. */
  once: (key: string) => boolean;
  log: Logger;
}

/**
 * Ids of the pool's orphan candidates whose capabilities prove them ours. Without an identity (a
 * controller built without one) nothing is proven, so nothing is removed by name.
 */
export async function proveOrphans(
  snapshot: PoolSnapshot,
  poolId: number,
  now: Date,
  ctx: OwnershipContext,
): Promise<number[]> {
  const candidates = orphanCandidates(snapshot, { prefix: ctx.prefix, profiles: ctx.profiles }, now);
  const read = ctx.azdo.getAgentCapabilities;
  const identity = ctx.identity;
  if (candidates.length === 0 || !read || !identity) return [];
  const todo = candidates
    .filter((c) => !ctx.verdicts.has(`${poolId}:${c.agent.id}`))
    .slice(0, ctx.maxReads ?? MAX_OWNERSHIP_READS_PER_PASS);
  const proven: number[] = [];
  const unproven: string[] = [];
  const theirs: string[] = [];
  // One at a time: candidates are few (a steady state has none), and a burst of another
  // deployment's booting agents must not burst our Azure DevOps calls.
  for (const c of todo) {
    let caps: Record<string, string> | undefined;
    try {
      caps = await read.call(ctx.azdo, poolId, c.agent.id);
    } catch {
      continue; // not proven this pass; read again next pass
    }
    if (caps === undefined) continue; // gone meanwhile
    const v = ownershipOf(caps, c.agent.name, identity);
    if (v.verdict === 'ours') {
      proven.push(c.agent.id);
      continue;
    }
    remember(ctx.verdicts, `${poolId}:${c.agent.id}`, v.verdict);
    (v.verdict === 'theirs' ? theirs : unproven).push(c.agent.name);
  }
  if (theirs.length > 0)
    ctx.log.info('registrations named like ours belong to another deployment (their capabilities say so): left alone', {
      registrations: theirs.slice(0, 20),
      count: theirs.length,
    });
  if (unproven.length > 0 && ctx.once(`unproven:${poolId}:${unproven.join(',')}`))
    ctx.log.warn(
      'offline registrations named like ours carry no AZP_AUTOSCALER_ID capability: never removed by the autoscaler',
      {
        registrations: unproven.slice(0, 20),
        count: unproven.length,
        fix: "if they are this deployment's (made before its agents reported AZP_AUTOSCALER_ID), remove them in Organization settings > Agent pools > the pool > Agents; agents created from now on are proven by their capabilities",
      },
    );
  return proven;
}

function remember(verdicts: Map<string, Ownership>, key: string, v: Ownership): void {
  verdicts.set(key, v);
  if (verdicts.size > VERDICTS_KEPT) {
    const oldest = verdicts.keys().next();
    if (!oldest.done) verdicts.delete(oldest.value);
  }
}

type UnregisterAction = Extract<Action, { kind: 'unregister' }>;

/**
 * A proven orphan registration: disable → re-read → delete. Its group may only be hidden from a
 * lagging list, so an agent found online or holding a job at the re-read is re-enabled and kept.
 */
export async function unregisterOrphan(
  poolId: number,
  action: UnregisterAction,
  azdo: AzureDevOpsPort,
  log: Logger,
): Promise<Outcome> {
  await azdo.setAgentEnabled(poolId, action.agentId, false);
  const fresh = await azdo.getAgent(poolId, action.agentId);
  if (!fresh) return { action, status: 'done' };
  if (fresh.assignedRequestId !== undefined || fresh.status === 'online') {
    await azdo.setAgentEnabled(poolId, action.agentId, true);
    const why =
      fresh.assignedRequestId !== undefined
        ? `job ${fresh.assignedRequestId} assigned after the decision`
        : 'agent came online after the decision';
    log.info('orphan registration: its agent is alive after all; kept', { agent: action.agentName, why });
    return { action, status: 'skipped', why };
  }
  await azdo.deleteAgent(poolId, action.agentId);
  return { action, status: 'done' };
}
