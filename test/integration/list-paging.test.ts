/**
 * Issue 21, finding 4 (third bullet): lists read whole. Azure DevOps returns a long list in pages:
 * a page that does not hold every item carries `x-ms-continuationtoken`, which the next request
 * sends back as `continuationToken=` (test/fakes/azdo.ts FakePaging has the sources). The client
 * used to read the first page only.
 *   - agents, 1,000 per page: a person's 1,000 build hosts first, our 20 idle agents on page 2;
 *   - job requests, 200 per page (the cap kedacore/keda#6819 reports): 200 older requests for
 *     another pool's demands, then 30 newer queued jobs for our profile.
 * The real pass, the real clients over HTTPS against the fakes.
 */
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { AzureDevOpsClient } from '../../src/azdo/client.js';
import { patAuth } from '../../src/azdo/auth.js';
import { loadSettings } from '../../src/config/load.js';
import { memoryPoolStateStore, type Clock } from '../../src/ports/index.js';
import { reconcile, type PassResult } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeArm } from '../fakes/arm.js';
import type { FakeAzdo } from '../fakes/azdo.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { ownerTags } from '../helpers/owner-tags.js';

const PAT = 'canarypat-listpaging-9c1a7f3e5d8b2c6a07f3e9c1b5a2d48e6b0c4f1a9d7e3b';
const SUB = '00000000-0000-0000-0000-0000000000c2';
const RG = 'rg-list-paging';

let stack: FakeStack;
let azdo: FakeAzdo;
let arm: FakeArm;
let dispatcher: Agent;

beforeAll(async () => {
  stack = await startFakeStack({ pat: PAT, subscriptionId: SUB, resourceGroup: RG });
  ({ azdo, arm, dispatcher } = stack);
});
afterAll(async () => {
  await stack.close();
});
afterEach(() => {
  azdo.setPaging({ agents: 1000, jobRequests: 200, continuation: true });
});

function controller(id: string, profile: Record<string, unknown>) {
  const settings = loadSettings(
    stack.env({
      AUTOSCALER_ID: id,
      POOLS: JSON.stringify([{ image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, pool: id, ...profile }]),
    }),
    { requireAzure: true },
  );
  const log = memoryLogger();
  const clock: Clock = { now: () => new Date(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
  let entropy = 0;
  const deps = buildDeps(settings, log, {
    credential: stack.credential,
    azure: { ca: stack.cert.cert },
    azdoDispatcher: dispatcher,
    clock,
    poolState: memoryPoolStateStore(),
    entropy: () => (++entropy).toString(36).padStart(12, '0'),
  });
  const options = { ...reconcileOptions(settings), probeAfterSec: 0 };
  return { log, pass: (): Promise<PassResult> => reconcile(options, deps) };
}

const ours = (id: string, profile: string, createdAt: string) => ({
  resourceGroup: RG,
  subscriptionId: SUB,
  tags: ownerTags({ id, pool: id, profile, createdAt }),
});
const writes = () => ({
  creates: arm.requests.filter((q) => q.method === 'PUT').length,
  armDeletes: arm.requests.filter((q) => q.method === 'DELETE').length,
  patches: azdo.requests.filter((q) => q.method === 'PATCH').length,
  unregisters: azdo.requests.filter((q) => q.method === 'DELETE').length,
});

describe('the agents list is read whole (continuation tokens)', () => {
  it('1,000 of a person’s agents on page 1, our 20 idle agents on page 2: no creates, no disables, no deletes', async () => {
    const id = 'pg-agents';
    const c = controller(id, { name: 'p', capabilities: ['ours'], bootTimeoutSec: 60, maxAgents: 40 });
    azdo.addPool(id);
    for (let i = 0; i < 1000; i++) azdo.registerAgent(id, `build-host-${String(i).padStart(4, '0')}`);
    const created = new Date(Date.now() - 600_000).toISOString(); // past the boot timeout
    for (let i = 0; i < 20; i++) {
      const name = `azp-p-${String(i).padStart(18, '0')}`;
      arm.seed(name, ours(id, 'p', created));
      azdo.registerAgent(id, name, { ours: '' });
    }
    for (let i = 0; i < 20; i++) azdo.queueJob(id, ['ours']);
    arm.clearRequests();
    azdo.clearRequests();
    const r = await c.pass();
    const view = r.pools.find((p) => p.pool === id)?.plan?.views[0];
    expect(writes()).toEqual({ creates: 0, armDeletes: 0, patches: 0, unregisters: 0 });
    expect(view).toMatchObject({ idle: 20, failedBoot: 0 });
    const lists = azdo.requests.filter((q) => q.method === 'GET' && /\/agents$/.test(q.path) && !q.query.agentName);
    expect(lists.map((q) => q.query.continuationToken ?? null)).toEqual([null, expect.any(String)]);
  }, 30_000);
});

describe('the job-request list is read whole (continuation tokens)', () => {
  it('200 older requests fill page 1; the 30 newer queued jobs of our profile on page 2 are served', async () => {
    const id = 'pg-jobs';
    const c = controller(id, { name: 'q', capabilities: ['ours'], maxAgents: 30, maxCreatePerPass: 30 });
    azdo.addPool(id);
    for (let i = 0; i < 200; i++) azdo.queueJob(id, ['windows-only']); // someone else's jobs
    for (let i = 0; i < 30; i++) azdo.queueJob(id, ['ours']);
    arm.clearRequests();
    azdo.clearRequests();
    const r = await c.pass();
    expect(r.pools.find((p) => p.pool === id)?.plan?.views[0]).toMatchObject({ queued: 30, creates: 30 });
    expect(writes().creates).toBe(30);
    const lists = azdo.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/jobrequests'));
    expect(lists.map((q) => q.query.continuationToken ?? null)).toEqual([null, expect.any(String)]);
  }, 30_000);
});

describe('a job-request list cut at 200 without a token', () => {
  it('200 older requests, 30 newer queued jobs of ours, no continuation token: a second read ($top) finds the 30', async () => {
    const id = 'pg-cut';
    const c = controller(id, { name: 'q', capabilities: ['ours'], maxAgents: 30, maxCreatePerPass: 30 });
    azdo.addPool(id);
    azdo.setPaging({ continuation: false });
    for (let i = 0; i < 200; i++) azdo.queueJob(id, ['windows-only']);
    for (let i = 0; i < 30; i++) azdo.queueJob(id, ['ours']);
    arm.clearRequests();
    azdo.clearRequests();
    const r = await c.pass();
    expect(r.pools.find((p) => p.pool === id)?.plan?.views[0]).toMatchObject({ queued: 30, creates: 30 });
    const lists = azdo.requests.filter((q) => q.method === 'GET' && q.path.endsWith('/jobrequests'));
    expect(lists.map((q) => q.query.$top ?? null)).toEqual([null, '200']);
  }, 30_000);

  it('fewer than 200 unfinished requests: one read, no second query', async () => {
    const p = azdo.addPool('pg-cut-small');
    azdo.setPaging({ continuation: false });
    for (let i = 0; i < 199; i++) azdo.queueJob(p.name, []);
    azdo.clearRequests();
    const c = new AzureDevOpsClient({ baseUrl: azdo.url, auth: patAuth(async () => PAT), dispatcher });
    expect(await c.listJobRequests(p.id)).toHaveLength(199);
    expect(azdo.requests).toHaveLength(1);
  });
});

describe('the client follows tokens and nothing else', () => {
  const client = () => new AzureDevOpsClient({ baseUrl: azdo.url, auth: patAuth(async () => PAT), dispatcher });

  it('2,500 agents in pages of 1,000: three requests, every agent once; one page: one request', async () => {
    const p = azdo.addPool('pg-client');
    for (let i = 0; i < 2500; i++) azdo.registerAgent(p.name, `h-${i}`);
    azdo.clearRequests();
    const all = await client().listAgents(p.id);
    expect(all).toHaveLength(2500);
    expect(new Set(all.map((a) => a.id)).size).toBe(2500);
    expect(azdo.requests).toHaveLength(3);
    azdo.setPaging({ agents: 5000 });
    azdo.clearRequests();
    expect(await client().listAgents(p.id)).toHaveLength(2500);
    expect(azdo.requests).toHaveLength(1);
  });

  it('450 job requests in pages of 200, matchedAgents ids kept: three requests, every request once', async () => {
    const p = azdo.addPool('pg-client-jobs');
    const a = azdo.registerAgent(p.name, 'placeholder', { java: '' }, { status: 'offline' });
    for (let i = 0; i < 450; i++) azdo.queueJob(p.name, i % 2 ? ['java'] : []);
    azdo.clearRequests();
    const jobs = await client().listJobRequests(p.id);
    expect(jobs).toHaveLength(450);
    expect(new Set(jobs.map((j) => j.requestId)).size).toBe(450);
    expect(jobs.every((j) => j.matchedAgentIds?.includes(a.id))).toBe(true);
    expect(azdo.requests).toHaveLength(3);
  });
});
