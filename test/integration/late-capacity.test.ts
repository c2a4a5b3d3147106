/**
 * Capacity that fails late, with the real ACI SDK client against the fake ARM: ARM accepts the
 * create (201) and fails the group afterwards with InsufficientCapacity (test/fakes/arm.ts
 * `failCapacityLate`). The pass reads that from the Failed group's events, backs the placement off
 * like a synchronous capacity error and never recreates in the same pass; a profile with a fallback
 * placement creates there instead, under a new group name.
 */
import type { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { collectStatus, formatStatusTable } from '../../src/app/status.js';
import { loadSettings } from '../../src/config/load.js';
import { memoryPoolStateStore, type Clock } from '../../src/ports/index.js';
import { reconcile, type ReconcileDeps } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeArm } from '../fakes/arm.js';
import type { FakeAzdo } from '../fakes/azdo.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { makeTestCert } from '../fakes/tls.js';

const PAT = 'canarypat-late-3c9e1f7a5b2d48e6b0c4f1a9d7e3b5c8a2f6d0e4';
let stack: FakeStack;
let azdo: FakeAzdo;
let arm: FakeArm;
let dispatcher: Agent;

beforeAll(async () => {
  stack = await startFakeStack({
    pat: PAT,
    subscriptionId: '00000000-0000-0000-0000-0000000000dd',
    resourceGroup: 'rg-late',
  });
  ({ azdo, arm, dispatcher } = stack);
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  arm.failCapacityLate(undefined);
  arm.clearRequests();
});

/** A back-off entry of the pool's state, as the next pass reads it. */
async function backoffOf(deps: ReconcileDeps, pool: string, key: string) {
  return (await deps.poolState.load(pool)).backoff[key];
}

/** A pass every `stepSec` on a clock we move; ARM's own timing is real (create latency 0). */
function setup(pool: string, profile: Record<string, unknown>) {
  const settings = loadSettings(
    stack.env({
      AUTOSCALER_ID: pool,
      POOLS: JSON.stringify([
        { name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, ...profile },
      ]),
    }),
    { requireAzure: true },
  );
  let t = Date.now();
  const clock: Clock = { now: () => new Date(t), sleep: () => Promise.resolve() };
  const log = memoryLogger();
  let n = 0;
  const deps: ReconcileDeps = buildDeps(settings, log, {
    credential: stack.credential,
    azure: { ca: makeTestCert().cert, retryOptions: { maxRetries: 0 } },
    azdoDispatcher: dispatcher,
    poolState: memoryPoolStateStore(),
    entropy: () => (++n).toString(36).padStart(12, '0'),
    clock,
  });
  const opts = { ...reconcileOptions(settings), probeAfterSec: 0 };
  return {
    deps,
    log,
    opts,
    advance: (sec: number) => (t += sec * 1000),
    pass: () => reconcile(opts, deps),
  };
}

const puts = (pathIncludes = '') => arm.requests.filter((r) => r.method === 'PUT' && r.path.includes(pathIncludes));

describe('capacity that fails late', () => {
  it('one create per back-off step, not one per pass', async () => {
    azdo.addPool('late');
    azdo.queueJob('late', []);
    arm.failCapacityLate(() => true);
    const { deps, log, advance, pass } = setup('late', {});
    const creates: number[] = [];
    const failures: number[] = [];
    for (let sec = 0; sec <= 300; sec += 10) {
      const before = puts().length;
      const r = await pass();
      expect(r.pools[0]!.ok || r.pools[0]!.outcomes.every((o) => o.status !== 'failed')).toBe(true);
      if (puts().length > before) creates.push(sec);
      // No pass that reads a late failure creates the replacement in the same pass.
      if (((await backoffOf(deps, 'late', 'linux'))?.failures ?? 0) > failures.length) {
        failures.push(sec);
        expect(puts().length).toBe(before);
      }
      advance(10);
    }
    // Back-off 60 s, 120 s, 240 s from the pass that saw the failure: creates at 0, 70, 200.
    expect(creates).toEqual([0, 70, 200]);
    expect(failures).toEqual([10, 80, 210]);
    expect(await backoffOf(deps, 'late', 'linux')).toMatchObject({ failures: 3 });
    expect((await backoffOf(deps, 'late', 'linux'))!.reason).toMatch(/not available in the location 'westeurope'/);
    expect(log.lines.filter((l) => l.includes('profile backs off after a capacity error')).length).toBe(3);
    // Each failed group was deleted once (the evidence was read first); none was deleted twice.
    const deletes = arm.requests.filter((r) => r.method === 'DELETE').map((r) => r.path);
    expect(new Set(deletes).size).toBe(deletes.length);
    expect(deletes.length).toBe(3);
  });

  it('a group ARM provisions after the back-off ends it', async () => {
    azdo.addPool('recover');
    azdo.queueJob('recover', []);
    azdo.queueJob('recover', []);
    arm.failCapacityLate(() => true);
    const { deps, advance, pass, opts } = setup('recover', { maxCreatePerPass: 1 });
    await pass();
    advance(10);
    await pass();
    expect(await backoffOf(deps, 'recover', 'linux')).toMatchObject({ failures: 1 });
    arm.failCapacityLate(undefined);
    advance(60);
    await pass(); // the back-off expired: one create, accepted and provisioned
    expect(await backoffOf(deps, 'recover', 'linux')).toBeDefined();
    advance(10);
    await pass(); // that group is Succeeded: the back-off (and its failure count) ends
    expect(await backoffOf(deps, 'recover', 'linux')).toBeUndefined();
    expect(opts.dryRun).toBe(false);
  });

  it('falls back to the next placement under a new group name, and status shows where each group went', async () => {
    azdo.addPool('fallback');
    azdo.queueJob('fallback', []);
    azdo.queueJob('fallback', []);
    // westeurope has no capacity (late); northeurope has.
    arm.failCapacityLate((body) => body.location === 'westeurope');
    const { deps, advance, pass } = setup('fallback', { maxCreatePerPass: 2, fallback: [{ location: 'northeurope' }] });
    await pass();
    expect(puts().map((r) => (r.body as { location: string }).location)).toEqual(['westeurope', 'westeurope']);
    advance(10);
    await pass(); // both failed late: placement 0 backs off (one step); the replacements go to northeurope
    expect(await backoffOf(deps, 'fallback', 'linux')).toMatchObject({ failures: 1 });
    expect(await backoffOf(deps, 'fallback', 'linux@1')).toBeUndefined();
    const second = puts().slice(2);
    expect(second.map((r) => (r.body as { location: string }).location)).toEqual(['northeurope', 'northeurope']);
    // New names: no name is ever deployed in two regions.
    const names = puts().map((r) => r.path.split('/').pop());
    expect(new Set(names).size).toBe(names.length);
    expect(
      second.every((r) => (r.body as { tags: Record<string, string> }).tags['azp-placement'] === '1:northeurope'),
    ).toBe(true);

    const status = await collectStatus(
      {
        ...reconcileOptions(
          loadSettings(
            stack.env({
              AUTOSCALER_ID: 'fallback',
              POOLS: JSON.stringify([
                {
                  name: 'linux',
                  pool: 'fallback',
                  image: 'contoso.azurecr.io/azp-agent:1',
                  placeholder: false,
                  fallback: [{ location: 'northeurope' }],
                },
              ]),
            }),
            { requireAzure: true },
          ),
        ),
      },
      deps,
    );
    expect(status.pools[0]!.views[0]!.placements).toBe('1:northeurope=2');
    expect(status.pools[0]!.groups!.map((g) => g.placement)).toEqual(['1:northeurope', '1:northeurope']);
    expect(formatStatusTable(status)).toContain('pool fallback: profile linux groups: 2 in northeurope (fallback 1)');
  });

  it('a synchronous quota error at placement 0 retries at the fallback in the same pass (Spot → regular)', async () => {
    azdo.addPool('spot');
    azdo.queueJob('spot', []);
    arm.inject({
      match: { method: 'PUT' },
      status: 409,
      code: 'ServiceUnavailable',
      message:
        "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardSpotCores' exceeded in region 'westeurope'.",
      times: 1,
    });
    const { deps, pass } = setup('spot', { spot: true, fallback: [{ spot: false }] });
    const r = await pass();
    expect(r.pools[0]!.outcomes.filter((o) => o.action.kind === 'create').map((o) => o.status)).toEqual(['done']);
    const bodies = puts().map((q) => q.body as { properties: { priority?: string }; tags: Record<string, string> });
    expect(bodies.map((b) => b.properties.priority ?? 'Regular')).toEqual(['Spot', 'Regular']);
    expect(bodies[1]!.tags['azp-placement']).toBe('1:westeurope');
    expect(new Set(puts().map((q) => q.path)).size).toBe(2);
    expect(await backoffOf(deps, 'spot', 'linux')).toMatchObject({ failures: 1 });
  });
});
