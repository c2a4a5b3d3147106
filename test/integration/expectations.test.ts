/**
 * Expectations (issue 21, finding 4, first bullet): ARM's container-group list lags the writes
 * (test/fakes/arm.ts `setListLag`). Through the real ACI SDK over HTTPS against the fake ARM:
 * - creates we sent count as starting until a list shows them: 10 queued jobs, `maxAgents` 10 and
 *   a list 3 s behind make 10 groups, not one batch per pass (30 before expectations);
 * - a group whose DELETE was accepted is being deleted while the lagging list still shows it: it
 *   is not capacity (queued jobs get agents) and its DELETE is never sent again.
 */
import type { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { loadSettings } from '../../src/config/load.js';
import { memoryPoolStateStore } from '../../src/ports/index.js';
import { reconcile, type ReconcileDeps } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeArm } from '../fakes/arm.js';
import type { FakeAzdo } from '../fakes/azdo.js';
import { movableClock } from '../helpers/movable-clock.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { makeTestCert } from '../fakes/tls.js';

const PAT = 'canarypat-expect-7d2e9b4c1a6f3e8d5b0c2a7f4e1d9c6b3a8f5e2d';
let stack: FakeStack;
let azdo: FakeAzdo;
let arm: FakeArm;
let dispatcher: Agent;

beforeAll(async () => {
  stack = await startFakeStack({
    pat: PAT,
    subscriptionId: '00000000-0000-0000-0000-0000000000ee',
    resourceGroup: 'rg-exp',
  });
  ({ azdo, arm, dispatcher } = stack);
});
afterAll(async () => {
  await stack.close();
});
beforeEach(() => {
  arm.setListLag(0);
  arm.clearRequests();
  arm.clearFaults();
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function setup(pool: string, profile: Record<string, unknown> = {}, armRequestTimeoutMs?: number) {
  const settings = loadSettings(
    stack.env({
      AUTOSCALER_ID: pool,
      POOLS: JSON.stringify([
        { name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, ...profile },
      ]),
    }),
    { requireAzure: true },
  );
  const { clock, advance } = movableClock();
  let n = 0;
  const deps: ReconcileDeps = buildDeps(settings, memoryLogger(), {
    credential: stack.credential,
    azure: { ca: makeTestCert().cert, retryOptions: { maxRetries: 0 } },
    azdoDispatcher: dispatcher,
    poolState: memoryPoolStateStore(),
    entropy: () => (++n).toString(36).padStart(12, '0'),
    clock,
    ...(armRequestTimeoutMs !== undefined ? { armRequestTimeoutMs } : {}),
  });
  const opts = { ...reconcileOptions(settings), probeAfterSec: 0 };
  return { deps, pass: () => reconcile(opts, deps), advance };
}

const puts = (prefix: string) => arm.requests.filter((r) => r.method === 'PUT' && r.path.includes(prefix));
const deletes = (prefix: string) => arm.requests.filter((r) => r.method === 'DELETE' && r.path.includes(prefix));

describe('expectations: a list that lags our writes', () => {
  it('10 queued jobs, maxAgents 10, a list 3 s behind: 10 groups, not one batch per pass', async () => {
    azdo.addPool('lag');
    for (let i = 0; i < 10; i++) azdo.queueJob('lag', []);
    arm.setListLag(3000);
    const { pass } = setup('lag', { maxAgents: 10, maxCreatePerPass: 10 });
    for (let i = 0; i < 3; i++) {
      await pass();
      await sleep(700);
    }
    await sleep(3000); // the list has caught up: the groups are listed, the expectations met
    await pass();
    expect(puts('/azp-linux-').length).toBe(10);
    expect(arm.groups().filter((g) => g.tags['azp-pool'] === 'lag').length).toBeLessThanOrEqual(10);
  });

  it('a deleted group still listed is neither capacity nor deleted twice', async () => {
    azdo.addPool('lagdel');
    const jobs = Array.from({ length: 3 }, () => azdo.queueJob('lagdel', []));
    const { pass, advance } = setup('lagdel', { maxAgents: 10, bootTimeoutSec: 60 });
    await pass();
    const made = arm.groups().filter((g) => g.tags['azp-pool'] === 'lagdel');
    expect(made).toHaveLength(3);
    // The jobs went elsewhere; the containers exited without registering.
    for (const j of jobs) azdo.finishJob(j.requestId);
    for (const g of made) arm.setInstanceState(g.name, 'Succeeded', 0);
    arm.setListLag(2000);
    await sleep(2100); // the groups are old enough to be listed
    arm.clearRequests();
    await pass(); // terminated: each deleted once
    expect(deletes('/azp-linux-')).toHaveLength(3);
    // The list still shows the deleted groups. New jobs must get agents, and nothing is deleted again,
    // even once the groups are past their boot timeout.
    for (let i = 0; i < 3; i++) azdo.queueJob('lagdel', []);
    advance(120);
    arm.clearRequests();
    await pass();
    expect(deletes('/azp-linux-')).toHaveLength(0);
    expect(puts('/azp-linux-')).toHaveLength(3);
  });

  it('a create the client gave up on (timeout) that ARM still carried out counts as starting: never beyond maxAgents', async () => {
    azdo.addPool('lateput');
    for (let i = 0; i < 3; i++) azdo.queueJob('lateput', []);
    // ARM takes 1.5 s to answer each PUT, then creates the group; the client gives up after 300 ms.
    arm.inject({ match: { method: 'PUT', pathIncludes: '/azp-linux-' }, delayMs: 1500, times: 3 });
    const { pass } = setup('lateput', { maxAgents: 3, maxCreatePerPass: 3 }, 300);
    await pass();
    expect(puts('/azp-linux-')).toHaveLength(3);
    await sleep(1700); // the three creates have landed, but the list is 5 s behind
    arm.setListLag(5000);
    await pass();
    expect(arm.groups().filter((g) => g.tags['azp-pool'] === 'lateput').length).toBeLessThanOrEqual(3);
    expect(puts('/azp-linux-')).toHaveLength(3);
  });
});
