/**
 * The fence in isolation: LeaseGuard's freshness bound and latch on an injected clock, and
 * fencePorts (writes refused through a closed fence before reaching the port, reads untouched).
 */
import { describe, expect, it } from 'vitest';
import {
  fencePorts,
  isLeaseLost,
  LeaseGuard,
  LeaseLost,
  type AzureDevOpsPort,
  type ComputePort,
} from '../../src/ports/index.js';
import { memoryLogger } from '../../src/util/log.js';

describe('LeaseGuard', () => {
  it('stays open while renewed within the bound, closes at the bound, and never reopens', () => {
    let now = 1_000;
    const log = memoryLogger();
    let lostCalls = 0;
    const g = new LeaseGuard(
      { pool: 'p', now: () => now, leaseMs: 30_000, freshForMs: 20_000, logger: log, onLost: () => lostCalls++ },
      now,
    );
    now += 19_999;
    expect(g.held()).toBe(true);
    g.renewed(now);
    now += 19_999;
    expect(g.held()).toBe(true);
    now += 1;
    expect(g.held()).toBe(false);
    g.renewed(now); // a late success does not reopen it
    expect(g.held()).toBe(false);
    expect(() => g.assert()).toThrow(LeaseLost);
    expect(lostCalls).toBe(1);
    expect(log.lines.filter((l) => l.includes('pool lease lost'))).toHaveLength(1);
  });

  it('a failed renewal closes it at once; a release closes it without a log line', () => {
    const now = 0;
    const a = new LeaseGuard({ pool: 'p', now: () => now, leaseMs: 15_000, freshForMs: 10_000 }, now);
    a.markLost('renewal failed: 503');
    expect(a.held()).toBe(false);
    const log = memoryLogger();
    const b = new LeaseGuard({ pool: 'p', now: () => now, leaseMs: 15_000, freshForMs: 10_000, logger: log }, now);
    b.released();
    expect(b.held()).toBe(false);
    expect(log.lines).toEqual([]);
    expect(() => new LeaseGuard({ pool: 'p', now: () => 0, leaseMs: 15_000, freshForMs: 15_000 }, 0)).toThrow(
      RangeError,
    );
  });
});

describe('fencePorts', () => {
  it('refuses the four writes through a closed fence without calling the port; reads go through', async () => {
    const calls: string[] = [];
    const rec = (name: string) => async () => void calls.push(name);
    const azdo = {
      resolvePoolId: async () => (calls.push('resolvePoolId'), 1),
      listJobRequests: async () => (calls.push('listJobRequests'), []),
      listAgents: async () => (calls.push('listAgents'), []),
      getAgent: async () => (calls.push('getAgent'), undefined),
      listAgentRequests: async () => (calls.push('listAgentRequests'), []),
      findAgent: async () => (calls.push('findAgent'), undefined),
      setAgentEnabled: rec('setAgentEnabled'),
      deleteAgent: rec('deleteAgent'),
    } satisfies AzureDevOpsPort;
    const compute = {
      listGroups: async () => (calls.push('listGroups'), []),
      getGroup: async () => (calls.push('getGroup'), undefined),
      createGroup: rec('createGroup'),
      deleteGroup: rec('deleteGroup'),
    } satisfies ComputePort;
    let open = true;
    const f = fencePorts(
      { azdo, compute },
      {
        held: () => open,
        assert: () => {
          if (!open) throw new LeaseLost('p', 'test');
        },
      },
    );
    await f.compute.createGroup({} as never);
    await f.azdo.setAgentEnabled(1, 2, false);
    open = false;
    const refused = await Promise.allSettled([
      f.compute.createGroup({} as never),
      f.compute.deleteGroup('g'),
      f.azdo.setAgentEnabled(1, 2, true),
      f.azdo.deleteAgent(1, 2),
    ]);
    expect(refused.map((r) => r.status === 'rejected' && isLeaseLost(r.reason))).toEqual([true, true, true, true]);
    await Promise.all([
      f.azdo.resolvePoolId('p'),
      f.azdo.listJobRequests(1),
      f.azdo.listAgents(1),
      f.azdo.getAgent(1, 2),
      f.azdo.findAgent(1, 'g'),
      f.compute.listGroups(),
      f.compute.getGroup('g'),
    ]);
    expect(calls).toEqual([
      'createGroup',
      'setAgentEnabled',
      'resolvePoolId',
      'listJobRequests',
      'listAgents',
      'getAgent',
      'findAgent',
      'listGroups',
      'getGroup',
    ]);
  });
});
