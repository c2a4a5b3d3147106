/**
 * Pool names are case-insensitive in Azure DevOps (`pools?poolName=` matches any case), so one
 * pool reached under two spellings must stay one pool: one job → one agent. Through the real pass
 * with the real clients against the local HTTPS fakes.
 */
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { loadSettings } from '../../src/config/load.js';
import { memoryPoolStateStore } from '../../src/ports/index.js';
import { poolsOf, reconcile, type ReconcileOptions } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeArm } from '../fakes/arm.js';
import type { FakeAzdo } from '../fakes/azdo.js';
import type { FakeCredential } from '../fakes/credential.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import type { TestCert } from '../fakes/tls.js';
import { ownerTags } from '../helpers/owner-tags.js';

const PAT = 'canarypat-poolcase-0c4f1a9d7e3b5c8a2f6d0e4b9c1a7f3e5d8b2c6a07f3';
const SUB = '00000000-0000-0000-0000-0000000000dd';
const RG = 'rg-pool-case';

let stack: FakeStack;
let azdo: FakeAzdo;
let arm: FakeArm;
let credential: FakeCredential;
let dispatcher: Agent;
let cert: TestCert;

beforeAll(async () => {
  stack = await startFakeStack({ pat: PAT, subscriptionId: SUB, resourceGroup: RG });
  ({ azdo, arm, credential, dispatcher, cert } = stack);
});
afterAll(async () => {
  await stack.close();
});

function controller(id: string, pool: string) {
  const settings = loadSettings(
    stack.env({
      AUTOSCALER_ID: id,
      POOLS: JSON.stringify([{ name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false }]),
    }),
    { requireAzure: true },
  );
  const log = memoryLogger();
  let n = 0;
  const deps = buildDeps(settings, log, {
    credential,
    azure: { ca: cert.cert, retryOptions: { maxRetries: 0 } },
    azdoDispatcher: dispatcher,
    poolState: memoryPoolStateStore(),
    entropy: () => (++n).toString(36).padStart(12, '0'),
  });
  const options: ReconcileOptions = { ...reconcileOptions(settings), probeAfterSec: 3600 };
  return { deps, options, log };
}

const ours = (id: string, pool: string, createdAt: string) => ownerTags({ id, pool, profile: 'linux', createdAt });
const puts = (id: string) =>
  arm.requests.filter(
    (r) =>
      r.method === 'PUT' &&
      r.path.includes('/containerGroups/azp-linux-') &&
      JSON.stringify(r.body ?? {}).includes(`"${id}"`),
  );
const deletes = () => arm.requests.filter((r) => r.method === 'DELETE');

describe('pool names differ only in case', () => {
  it('a group tagged with another spelling of the pool counts for it: no second agent for the job, no sweep as an unconfigured pool', async () => {
    azdo.addPool('CaseA');
    azdo.queueJob('CaseA', []);
    // Booting for the queued job, created while the settings spelled the pool 'casea'.
    arm.seed('azp-linux-booting0000000001', {
      resourceGroup: RG,
      subscriptionId: SUB,
      tags: ours('case-a', 'casea', new Date().toISOString()),
    });
    arm.clearRequests();
    const c = controller('case-a', 'CaseA');
    const r = await reconcile(c.options, c.deps);
    expect(r.pools.map((p) => p.pool)).toEqual(['CaseA']);
    const view = r.pools[0]!.plan!.views[0]!;
    expect(view).toMatchObject({ queued: 1, starting: 1, creates: 0, deletes: 0 });
    expect(puts('case-a')).toHaveLength(0);
    expect(deletes()).toHaveLength(0);
  });

  it('a pass asked for another spelling (CLI --pool, webhook ?pool=) runs the configured pool', async () => {
    azdo.addPool('CaseB');
    azdo.queueJob('CaseB', []);
    arm.clearRequests();
    const c = controller('case-b', 'CaseB');
    const r = await reconcile(c.options, c.deps, ['caseb']);
    expect(r.pools.map((p) => p.pool)).toEqual(['CaseB']);
    expect(r.pools[0]!.plan!.views[0]).toMatchObject({ queued: 1, creates: 1 });
  });

  it('poolsOf keeps one spelling per pool', () => {
    const profiles = ['Linux', 'linux', 'LINUX', 'Other'].map((pool, i) => ({
      ...controller(`x${i}`, pool).options.profiles[0]!,
      name: `p${i}`,
    }));
    expect(poolsOf(profiles)).toEqual(['Linux', 'Other']);
  });
});
