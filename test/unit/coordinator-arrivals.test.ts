/**
 * Webhook arrivals survive a pass that could not use them: the coordinator hands them to the next
 * pass of the pool when the runner threw or reported the pool unobserved (no plan).
 */
import { describe, expect, it } from 'vitest';
import type { WebhookArrival } from '../../src/core/types.js';
import { MemoryPoolLock } from '../../src/ports/memory.js';
import { PassCoordinator } from '../../src/reconcile/coordinator.js';
import { memoryLogger } from '../../src/util/log.js';

const a1: WebhookArrival = { jobId: '00000000-0000-4000-8000-000000000001' };
const a2: WebhookArrival = { jobId: '00000000-0000-4000-8000-000000000002' };

function coordinator(outcomes: Array<'throw' | 'unobserved' | 'planned' | 'opaque'>) {
  const seen: WebhookArrival[][] = [];
  const c = new PassCoordinator({
    lock: new MemoryPoolLock(),
    logger: memoryLogger(),
    run: async (pool, _reasons, _fence, arrivals) => {
      seen.push([...arrivals]);
      const o = outcomes[seen.length - 1] ?? 'planned';
      if (o === 'throw') throw new Error('observe failed');
      if (o === 'opaque') return undefined;
      return {
        pools: [{ pool, ok: o === 'planned', outcomes: [], probes: 0, ...(o === 'planned' ? { plan: {} } : {}) }],
      };
    },
  });
  return { c, seen };
}

describe('coordinator: webhook arrivals and failed passes', () => {
  it('keeps the arrivals of a pass that threw or could not observe the pool for the next pass', async () => {
    const { c, seen } = coordinator(['throw', 'unobserved', 'planned', 'planned']);
    await c.request('Pool', 'webhook', [a1]);
    await c.request('pool', 'webhook', [a2]);
    await c.request('pool', 'timer');
    await c.request('pool', 'timer');
    expect(seen).toEqual([[a1], [a1, a2], [a1, a2], []]);
  });

  it('a runner that reports no pass result has used them', async () => {
    const { c, seen } = coordinator(['opaque']);
    await c.request('pool', 'webhook', [a1]);
    await c.request('pool', 'timer');
    expect(seen).toEqual([[a1], []]);
  });
});
