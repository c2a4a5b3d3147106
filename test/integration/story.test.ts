/**
 * The whole story with the real SDK clients (ACI, Key Vault) and the real Azure DevOps client
 * against the local HTTPS fakes: 3 queued jobs → 3 groups → agents run the jobs → they finish and
 * unregister → the next pass deletes the 3 groups; nothing else is touched; the PAT never leaks.
 */
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { loadSettings } from '../../src/config/load.js';
import { memoryPoolStateStore } from '../../src/ports/index.js';
import { reconcile, type PassResult, type ReconcileDeps } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import { validateContainerGroupPut } from '../contract/aci-schema.js';
import type { FakeArm } from '../fakes/arm.js';
import type { FakeAzdo } from '../fakes/azdo.js';
import type { FakeCredential } from '../fakes/credential.js';
import type { FakeKeyVault } from '../fakes/keyvault.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { makeTestCert } from '../fakes/tls.js';

const CANARY_PAT = 'canarypat7f3e9c1b5a2d48e6b0c4f1a9d7e3b5c8a2f6d0e4b9c1a7f3e5d8b2c6a0';
const SUB = '00000000-0000-0000-0000-0000000000aa';
const RG = 'rg-agents';

let stack: FakeStack;
let azdo: FakeAzdo;
let arm: FakeArm;
let kv: FakeKeyVault;
let credential: FakeCredential;
let dispatcher: Agent;
const allLogLines: string[] = [];

beforeAll(async () => {
  // The secret carries a trailing newline, as `az keyvault secret set --file` leaves it.
  stack = await startFakeStack({
    pat: CANARY_PAT,
    kvSecret: `${CANARY_PAT}\n`,
    subscriptionId: SUB,
    resourceGroup: RG,
  });
  ({ azdo, arm, kv, credential, dispatcher } = stack);
});

afterAll(async () => {
  await stack.close();
  // The canary PAT never appears in any log line the controller wrote in this file.
  expect(allLogLines.join('\n')).not.toContain(CANARY_PAT);
});

function setup(profileOverrides: Record<string, unknown> = {}, extraProfiles: Record<string, unknown>[] = []) {
  const settings = loadSettings(
    stack.env({
      POOLS: JSON.stringify([
        {
          name: 'linux',
          pool: 'aci',
          image: 'contoso.azurecr.io/azp-agent:1',
          placeholder: false,
          ...profileOverrides,
        },
        ...extraProfiles,
      ]),
    }),
    { requireAzure: true },
  );
  const log = memoryLogger();
  let entropy = 0;
  const deps: ReconcileDeps = buildDeps(settings, log, {
    credential,
    azure: { ca: makeTestCert().cert, retryOptions: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 50 } },
    azdoDispatcher: dispatcher,
    poolState: memoryPoolStateStore(),
    entropy: () => (++entropy).toString(36).padStart(12, '0'),
  });
  const opts = { ...reconcileOptions(settings), probeAfterSec: 0 };
  const pass = async (): Promise<PassResult> => {
    const r = await reconcile(opts, deps);
    allLogLines.push(...log.lines);
    return r;
  };
  return { settings, deps, log, pass };
}

const mutating = () => arm.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE');

describe('the whole story against the fakes', () => {
  beforeEach(() => {
    arm.clearRequests();
    azdo.clearRequests();
  });
  afterEach(() => {
    arm.clearFaults();
    azdo.clearFaults();
    kv.setDown(false);
    kv.clearFaults();
  });

  it('3 queued jobs → 3 groups → jobs run → agents unregister → 3 groups deleted, nothing else touched', async () => {
    azdo.addPool('aci');
    const foreignAgent = azdo.registerAgent('aci', 'build-vm-01', {}, { status: 'offline' });
    arm.seed('someone-elses-group', { resourceGroup: RG, subscriptionId: SUB, tags: { team: 'data' } });
    arm.seed('other-deployment', {
      resourceGroup: RG,
      subscriptionId: SUB,
      tags: {
        'managed-by': 'azp-aci-autoscaler',
        'autoscaler-id': 'staging',
        'azp-pool': 'aci',
        'azp-profile': 'linux',
        'created-at': new Date(0).toISOString(),
      },
    });
    const jobs = [
      azdo.queueJob('aci', ['Agent.Version -gtVersion 2.182.1']),
      azdo.queueJob('aci', []),
      azdo.queueJob('aci', []),
    ];
    const unsubscribe = arm.onCreate((g) => azdo.registerAgent('aci', g.name));
    const { pass } = setup();

    const first = await pass();
    expect(first.pools[0]!.ok).toBe(true);
    const ours = arm.groups().filter((g) => g.name.startsWith('azp-linux-'));
    expect(ours).toHaveLength(3);
    for (const g of ours) {
      expect(validateContainerGroupPut(g.body)).toEqual([]);
      expect(g.env).toMatchObject({
        AZP_URL: azdo.url,
        AZP_POOL: 'aci',
        AZP_AGENT_NAME: g.name,
        AZP_TOKEN: CANARY_PAT,
        AZP_RUN_MODE: 'once',
      });
      // The PAT travels only as a secureValue, exactly once in the body.
      const body = JSON.stringify(g.body);
      expect(body.split(CANARY_PAT)).toHaveLength(2);
      expect(body).toContain(`"secureValue":"${CANARY_PAT}"`);
      expect(g.tags).toMatchObject({
        'managed-by': 'azp-aci-autoscaler',
        'autoscaler-id': 'default',
        'azp-pool': 'aci',
        'azp-profile': 'linux',
      });
      expect(g.body).toMatchObject({ properties: { restartPolicy: 'Never', osType: 'Linux' } });
    }
    // Creates are started, not awaited: one ARM request per create.
    expect(arm.requests.filter((r) => r.method === 'PUT')).toHaveLength(3);

    ours.forEach((g, i) => azdo.assignJob(jobs[i]!.requestId, g.name));
    const second = await pass();
    expect(second.pools[0]!.plan!.views[0]).toMatchObject({ queued: 0, busy: 3, running: 3 });
    expect(mutating().filter((r) => r.time > 0 && r.method === 'DELETE')).toHaveLength(0);

    for (const [i, g] of ours.entries()) {
      azdo.finishJob(jobs[i]!.requestId, 'succeeded');
      azdo.removeAgent(g.name, 'aci'); // the image's cleanup unregisters the --once agent
      arm.setInstanceState(g.name, 'Succeeded', 0);
    }
    arm.clearRequests();
    const third = await pass();
    expect(third.pools[0]!.outcomes.filter((o) => o.status === 'done' && o.action.kind === 'delete')).toHaveLength(3);
    const deleted = arm.requests.filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').pop());
    expect(deleted.sort()).toEqual(ours.map((g) => g.name).sort());
    expect(arm.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
    expect(arm.group('someone-elses-group')).toBeDefined();
    expect(arm.group('other-deployment')).toBeDefined();
    expect(azdo.agent(foreignAgent.id)).toBeDefined();
    expect(azdo.requests.filter((r) => r.method !== 'GET')).toHaveLength(0);
    unsubscribe();
  });

  it('faults: ARM 429 and a quota error back off one profile while the other keeps scaling', async () => {
    azdo.addPool('faults');
    for (let i = 0; i < 2; i++) azdo.queueJob('faults', ['java']);
    for (let i = 0; i < 2; i++) azdo.queueJob('faults', ['docker']);
    const { pass, deps, log } = setup({ name: 'java', pool: 'faults', capabilities: ['java'] }, [
      {
        name: 'docker',
        pool: 'faults',
        image: 'contoso.azurecr.io/azp-agent:1',
        capabilities: ['docker'],
        placeholder: false,
      },
    ]);
    arm.inject({
      match: { method: 'PUT', pathIncludes: 'azp-java-' },
      status: 409,
      code: 'ContainerGroupQuotaReached',
      message: 'Resource type Microsoft.ContainerInstance/containerGroups has reached its quota limit.',
      times: Infinity,
    });
    const r = await pass();
    const outcomes = r.pools.find((p) => p.pool === 'faults')!.outcomes;
    expect(
      outcomes.filter((o) => o.action.kind === 'create' && o.action.profile === 'docker' && o.status === 'done'),
    ).toHaveLength(2);
    const javaCreates = outcomes.filter((o) => o.action.kind === 'create' && o.action.profile === 'java');
    expect(javaCreates.length).toBe(2);
    // Creates already in flight fail too; once one fails the rest of the profile's creates are skipped.
    expect(javaCreates.every((o) => (o.status === 'failed' && o.kind === 'quota') || o.status === 'skipped')).toBe(
      true,
    );
    expect((await deps.poolState.load('faults')).backoff['java']).toMatchObject({ failures: 1 });
    expect(
      log.lines.some((l) => l.includes('profile backs off after a capacity error') && l.includes('profile=java')),
    ).toBe(true);
    // The next pass makes no create attempt for the backed-off profile.
    arm.clearRequests();
    const again = await pass();
    expect(arm.requests.filter((q) => q.method === 'PUT' && q.path.includes('azp-java-'))).toHaveLength(0);
    expect(
      again.pools.find((p) => p.pool === 'faults')!.plan!.views.find((v) => v.profile === 'java')!.backoffUntil,
    ).toBeDefined();

    // 429 with Retry-After on the docker profile: classified as throttled, backs off too.
    arm.clearFaults();
    azdo.queueJob('faults', ['docker']);
    azdo.queueJob('faults', ['docker']);
    azdo.queueJob('faults', ['docker']);
    arm.inject({
      match: { method: 'PUT', pathIncludes: 'azp-docker-' },
      status: 429,
      retryAfter: 120,
      times: Infinity,
    });
    const throttled = await pass();
    const dockerFails = throttled.pools
      .find((p) => p.pool === 'faults')!
      .outcomes.filter((o) => o.action.kind === 'create' && o.status === 'failed');
    expect(dockerFails.length).toBeGreaterThan(0);
    expect(dockerFails.every((o) => o.status === 'failed' && o.kind === 'throttled')).toBe(true);
    // The wait ARM asked for (Retry-After: 120), not the capacity schedule (60 s first step), and
    // not a capacity failure.
    const docker = (await deps.poolState.load('faults')).backoff['docker']!;
    expect(docker.failures).toBe(0);
    expect(Date.parse(docker.until) - Date.parse(docker.at!)).toBe(120_000);
  });

  it('Key Vault down: no creates, no deletes of running work, a clear log line', async () => {
    azdo.addPool('kv');
    azdo.queueJob('kv', []);
    const running = azdo.queueJob('kv', []);
    const busyName = 'azp-kvp-000000000001';
    arm.seed(busyName, {
      resourceGroup: RG,
      subscriptionId: SUB,
      tags: {
        'managed-by': 'azp-aci-autoscaler',
        'autoscaler-id': 'default',
        'azp-pool': 'kv',
        'azp-profile': 'kvp',
        'created-at': new Date().toISOString(),
      },
    });
    azdo.registerAgent('kv', busyName);
    azdo.assignJob(running.requestId, busyName);
    kv.setDown(true);

    // AZP_AUTH=pat: the controller itself needs the PAT, so the pool is not even observed.
    const patRun = setup({ pool: 'kv', name: 'kvp' });
    const r1 = await patRun.pass();
    expect(r1.pools.find((p) => p.pool === 'kv')).toMatchObject({ ok: false, outcomes: [] });
    expect(
      patRun.log.lines.some((l) => l.startsWith('error cannot observe the pool') && /Key Vault|vault/i.test(l)),
    ).toBe(true);

    // AZP_AUTH=entra: observed and planned, but no agent is created without its PAT.
    azdo.state.bearer = credential.token;
    try {
      const entraRun = setup({ pool: 'kv', name: 'kvp' });
      const deps = buildDeps({ ...entraRun.settings, AZP_AUTH: 'entra' }, entraRun.log, {
        credential,
        azure: { ca: makeTestCert().cert },
        azdoDispatcher: dispatcher,
      });
      const r2 = await reconcile({ ...reconcileOptions(entraRun.settings), probeAfterSec: 0 }, deps);
      allLogLines.push(...entraRun.log.lines);
      const pool = r2.pools.find((p) => p.pool === 'kv')!;
      expect(pool.plan!.views[0]).toMatchObject({ queued: 1, busy: 1 });
      expect(pool.outcomes).toEqual([expect.objectContaining({ status: 'failed', kind: 'secret' })]);
      expect(
        entraRun.log.lines.some((l) =>
          l.startsWith('error cannot read the agent PAT from Key Vault: no agents created this pass'),
        ),
      ).toBe(true);
    } finally {
      azdo.state.bearer = undefined;
    }
    // (Groups of the other tests' pools are swept as unconfigured here; the kv pool is untouched.)
    expect(
      arm.requests.filter((q) => (q.method === 'PUT' || q.method === 'DELETE') && q.path.includes('azp-kvp-')),
    ).toHaveLength(0);
    expect(arm.group(busyName)).toBeDefined();
  });

  it('Azure DevOps 401: nothing is done for the pool, the error is clear and carries no token', async () => {
    azdo.addPool('unauth');
    azdo.queueJob('unauth', []);
    const { pass, log } = setup({ pool: 'unauth', name: 'ua' });
    azdo.inject({ status: 401, times: Infinity });
    const r = await pass();
    const pool = r.pools.find((p) => p.pool === 'unauth')!;
    expect(pool.ok).toBe(false);
    expect(pool.error).toMatch(/401|unauthori[sz]ed/i);
    expect(arm.requests.filter((q) => q.method === 'PUT' || q.method === 'DELETE')).toHaveLength(0);
    expect(log.lines.join('\n')).not.toContain(CANARY_PAT);
    // The PAT was re-read from Key Vault once (rotation), then the pass gave up on this pool.
    expect(kv.secretReads()).toBeGreaterThanOrEqual(1);
  });
});
