/**
 * Against the HTTPS fakes with the real clients: the organization's self-hosted parallel jobs cap
 * the creates, an unreadable cap degrades with a warning, `status` says why, and a placeholder
 * whose image reports other capabilities than declared is named once and decides the matching.
 */
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { collectStatus, formatStatusTable } from '../../src/app/status.js';
import { loadSettings } from '../../src/config/load.js';
import { memoryPoolStateStore } from '../../src/ports/index.js';
import { reconcile } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeArm } from '../fakes/arm.js';
import type { FakeAzdo } from '../fakes/azdo.js';
import type { FakeCredential } from '../fakes/credential.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { makeTestCert } from '../fakes/tls.js';

const CANARY_PAT = 'canarypat0d9e8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1';
const SUB = '00000000-0000-0000-0000-0000000000cc';
const RG = 'rg-agents';

let stack: FakeStack;
let azdo: FakeAzdo;
let arm: FakeArm;
let credential: FakeCredential;
let dispatcher: Agent;

beforeAll(async () => {
  stack = await startFakeStack({ pat: CANARY_PAT, subscriptionId: SUB, resourceGroup: RG });
  ({ azdo, arm, credential, dispatcher } = stack);
});
afterAll(() => stack.close());
afterEach(() => {
  azdo.clearFaults();
  for (const a of [...azdo.state.agents]) azdo.removeAgent(a.id);
  azdo.state.jobs = [];
  azdo.state.parallelJobs = { total: 100 };
});

function setup(pools: Record<string, unknown>[]) {
  const settings = loadSettings(stack.env({ POOLS: JSON.stringify(pools) }), { requireAzure: true });
  const log = memoryLogger();
  let entropy = 0;
  const deps = buildDeps(settings, log, {
    credential,
    azure: { ca: makeTestCert().cert, retryOptions: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 50 } },
    azdoDispatcher: dispatcher,
    poolState: memoryPoolStateStore(),
    entropy: () => (++entropy).toString(36).padStart(12, '0'),
  });
  const opts = reconcileOptions(settings);
  return { deps, log, opts, pass: () => reconcile(opts, deps), status: () => collectStatus(opts, deps) };
}

const puts = () => arm.requests.filter((r) => r.method === 'PUT').length;

describe('self-hosted parallel jobs', () => {
  it('2 free parallel jobs and 5 queued: 2 agents created, status says why not 5', async () => {
    const pool = `par-${Date.now()}`;
    azdo.addPool(pool);
    azdo.state.parallelJobs = { total: 3, used: 1 };
    for (let i = 0; i < 5; i++) azdo.queueJob(pool, []);
    const { pass, status } = setup([
      { name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, maxAgents: 10 },
    ]);
    arm.clearRequests();

    const r = await pass();
    expect(r.pools[0]!.ok).toBe(true);
    expect(puts()).toBe(2);
    expect(r.pools[0]!.plan!.parallel).toEqual({ source: 'resourceusage', total: 3, used: 1, free: 2, waiting: 3 });
    expect(
      azdo.requests.some(
        (q) =>
          q.path.endsWith('/_apis/distributedtask/resourceusage') &&
          q.query.parallelismTag === 'Private' &&
          q.query.poolIsHosted === 'false',
      ),
    ).toBe(true);

    const text = formatStatusTable(await status());
    expect(text).toContain(
      `pool ${pool}: self-hosted parallel jobs: 2 free of 3 (1 in use; source: Azure DevOps resourceusage); 3 queued job(s) wait for a parallel job, no agent created for them`,
    );
  });

  it('the same 5 queued with the fake default (100 parallel jobs): 5 agents — the cap, not the queue, held them back', async () => {
    const pool = `par-${Date.now()}-b`;
    azdo.addPool(pool);
    for (let i = 0; i < 5; i++) azdo.queueJob(pool, []);
    const { pass } = setup([
      { name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, maxAgents: 10 },
    ]);
    arm.clearRequests();
    await pass();
    expect(puts()).toBe(5);
  });

  it('a PAT that cannot read resourceusage: unknown, one warning, creates uncapped', async () => {
    const pool = `par-${Date.now()}-c`;
    azdo.addPool(pool);
    azdo.state.parallelJobs = { total: 1, used: 1 };
    azdo.inject({ match: { pathIncludes: 'resourceusage' }, status: 403, times: Infinity });
    for (let i = 0; i < 3; i++) azdo.queueJob(pool, []);
    const { pass, status, log } = setup([
      { name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, maxAgents: 10 },
    ]);
    arm.clearRequests();
    const r = await pass();
    await pass();
    expect(puts()).toBe(3);
    expect(r.pools[0]!.plan!.parallel).toMatchObject({ source: 'unknown', waiting: 0 });
    expect(log.lines.filter((l) => l.includes('self-hosted parallel jobs unknown'))).toHaveLength(1);
    expect(formatStatusTable(await status())).toMatch(
      new RegExp(
        `pool ${pool}: self-hosted parallel jobs: unknown \\(cannot read resourceusage: .*403.*\\), no cap applied`,
      ),
    );
  });
});

describe('matching from the server against the fake', () => {
  it("a profile declaring 'docker' its image lacks: the server's matchedAgents decide, the difference is named once", async () => {
    const pool = `match-${Date.now()}`;
    azdo.addPool(pool);
    // The placeholders as the real images registered them: the "docker" image reports no docker.
    azdo.registerAgent(pool, 'azp-docker-placeholder', { java: '/usr/bin/java' }, { status: 'offline' });
    azdo.registerAgent(pool, 'azp-java-placeholder', { java: '/usr/bin/java', maven: '3.9' }, { status: 'offline' });
    azdo.queueJob(pool, ['docker']); // declared: docker profile; server: nobody
    azdo.queueJob(pool, ['maven -gtVersion 3.9']); // ≥ on the server: the java profile
    const { pass, log } = setup([
      {
        name: 'docker',
        pool,
        image: 'contoso.azurecr.io/azp-agent:docker',
        capabilities: ['docker', 'java'],
        maxAgents: 5,
      },
      {
        name: 'java',
        pool,
        image: 'contoso.azurecr.io/azp-agent:java',
        capabilities: { java: '', maven: '3.9' },
        maxAgents: 5,
      },
    ]);
    arm.clearRequests();
    const r = await pass();
    await pass();
    const views = Object.fromEntries(r.pools[0]!.plan!.views.map((v) => [v.profile, v.queued]));
    expect(views).toEqual({ docker: 0, java: 1 });
    expect(r.pools[0]!.plan!.unmatchedJobs).toHaveLength(1);
    const creates = arm.requests.filter((q) => q.method === 'PUT').map((q) => q.path);
    expect(creates.filter((p) => p.includes('azp-java-'))).toHaveLength(1);
    expect(creates.filter((p) => p.includes('azp-docker-') && !p.includes('placeholder'))).toHaveLength(0);
    const diff = log.lines.filter((l) => l.includes('declared capabilities differ'));
    expect(diff).toHaveLength(1);
    expect(diff[0]).toContain('profile=docker ');
    expect(diff[0]).toContain('notReported=["docker"]');
    // includeCapabilities is asked for the placeholders only, once each per process.
    const capReads = azdo.requests.filter((q) => q.query.includeCapabilities === 'true');
    expect(capReads).toHaveLength(2);
  });
});
