/**
 * Webhook arrivals survive a pass that could not use them: the pass takes them from its arrivals
 * inbox when it starts and gives back those of a pool it could not observe (no group list, or the
 * pool's reads failed), so the next pass of the pool folds them into λ.
 */
import { describe, expect, it } from 'vitest';
import type { WebhookArrival } from '../../src/core/types.js';
import { MAX_PENDING_ARRIVALS, MemoryArrivalsInbox, memoryPoolStateStore } from '../../src/ports/memory.js';
import type { AzureDevOpsPort, ComputePort } from '../../src/ports/index.js';
import { reconcile, type ReconcileDeps } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import { profile } from '../helpers/profiles.js';

const a1: WebhookArrival = { jobId: '00000000-0000-4000-8000-000000000001' };
const a2: WebhookArrival = { jobId: '00000000-0000-4000-8000-000000000002' };

type Step = 'noList' | 'noPool' | 'planned';

/** A pass over ports that fail as `steps` say, one step per pass; records the arrivals each pass planned with. */
function passes(steps: Step[]) {
  const inbox = new MemoryArrivalsInbox();
  let i = 0;
  const step = () => steps[i] ?? 'planned';
  const azdo = {
    resolvePoolId: async () => {
      if (step() === 'noPool') throw new Error('azdo down');
      return 1;
    },
    listJobRequests: async () => [],
    listAgents: async () => [],
  } as unknown as AzureDevOpsPort;
  const compute = {
    listGroups: async () => {
      if (step() === 'noList') throw new Error('arm down');
      return [];
    },
  } as unknown as ComputePort;
  const deps: ReconcileDeps = {
    azdo,
    compute,
    secrets: { getToken: async () => 'canary-unused', invalidate: () => undefined },
    clock: { now: () => new Date('2026-01-01T00:00:00Z'), sleep: async () => undefined },
    logger: memoryLogger(),
    poolState: memoryPoolStateStore(),
    arrivals: inbox,
    entropy: () => '000000000000',
  };
  const profiles = [profile({ name: 'lx', pool: 'Pool', placeholder: false })];
  const run = async (dryRun = false) => {
    const r = await reconcile({ prefix: 'azp', profiles, dryRun }, deps);
    i++;
    return r;
  };
  return { inbox, run };
}

describe('pass: webhook arrivals and failed passes', () => {
  it('gives the arrivals of a pass that could not list groups or observe the pool back to the next pass', async () => {
    const { inbox, run } = passes(['noList', 'noPool', 'planned']);
    inbox.add('Pool', [a1]);
    await run();
    inbox.add('pool', [a2]);
    await run();
    // Both failed passes gave them back, oldest first; the planned one took them.
    expect(inbox.take('POOL')).toEqual([a1, a2]);
    inbox.putBack('pool', [a1, a2]);
    const r = await run();
    expect(r.pools[0]!.plan).toBeDefined();
    expect(inbox.take('pool')).toEqual([]);
  });

  it('the inbox keeps the newest arrivals beyond its bound', async () => {
    const inbox = new MemoryArrivalsInbox();
    const many = Array.from({ length: MAX_PENDING_ARRIVALS + 5 }, (_, n) => ({
      jobId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    }));
    inbox.add('p', many);
    inbox.putBack('p', [a1]);
    const kept = inbox.take('p');
    expect(kept).toHaveLength(MAX_PENDING_ARRIVALS);
    expect(kept.at(-1)).toEqual(many.at(-1));
    expect(kept).not.toContainEqual(a1);
  });
});
