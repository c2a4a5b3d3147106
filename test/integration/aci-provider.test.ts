/**
 * AciComputeProvider with the real @azure/arm-containerinstance client against the HTTPS fake ARM.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AciComputeProvider } from '../../src/aci/provider.js';
import { ArmError } from '../../src/aci/errors.js';
import type { SpecContext } from '../../src/aci/spec.js';
import { armCredentialScope, createArmClient, type AzureClientOptions } from '../../src/azure/clients.js';
import { profileSchema } from '../../src/config/schema.js';
import { agentName, ownershipTags } from '../../src/core/names.js';
import type { AgentLaunch } from '../../src/ports/index.js';
import { validateContainerGroupPut } from '../contract/aci-schema.js';
import { startFakeArm, type FakeArm } from '../fakes/arm.js';
import { fakeCredential, type FakeCredential } from '../fakes/credential.js';
import { makeTestCert } from '../fakes/tls.js';

const SUB = '22222222-2222-2222-2222-222222222222';
const RG = 'rg-agents';
const CANARY = 'canary-pat-0d9e8f7a6b5c4d3e2f1a';
const ctx: SpecContext = { azpUrl: 'https://dev.azure.com/contoso', location: 'westeurope', autoscalerId: 'prod-1' };
const profile = profileSchema.parse({ name: 'linux', pool: 'Default', image: 'contoso.azurecr.io/azp-agent:1.0' });
const cert = makeTestCert();

let arm: FakeArm;
let cred: FakeCredential;
let seq = 0;

function launch(over: Partial<AgentLaunch> = {}): AgentLaunch {
  seq += 1;
  return {
    name: agentName('azp', 'linux', Date.UTC(2026, 0, 1) + seq, String(seq).padStart(12, '0')),
    pool: 'Default',
    profile,
    placeholder: false,
    token: CANARY,
    createdAt: new Date(Date.UTC(2026, 0, 1)).toISOString(),
    ...over,
  };
}

function provider(over: { concurrency?: number; requestTimeoutMs?: number; client?: AzureClientOptions } = {}) {
  const client = createArmClient(cred, SUB, { armEndpoint: arm.url, ca: cert.cert, ...over.client });
  return new AciComputeProvider({
    client,
    resourceGroup: RG,
    spec: ctx,
    ...(over.concurrency ? { concurrency: over.concurrency } : {}),
    ...(over.requestTimeoutMs ? { requestTimeoutMs: over.requestTimeoutMs } : {}),
  });
}

async function armError(p: Promise<unknown>): Promise<ArmError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ArmError);
    return e as ArmError;
  }
  throw new Error('expected an ArmError');
}

const ours = (createdAt = '2026-01-01T00:00:00.000Z', placeholder = false) =>
  ownershipTags({ autoscalerId: 'prod-1', pool: 'Default', profile: 'linux', createdAt, placeholder });

beforeAll(async () => {
  arm = await startFakeArm({ cert, pageSize: 2 });
});
afterAll(async () => {
  await arm.close();
});
afterEach(() => {
  arm.clearFaults();
  arm.clearRequests();
  arm.setCreateLatency(0);
});

describe('listGroups', () => {
  it('pages through the resource group once and returns only groups this deployment owns', async () => {
    cred = fakeCredential();
    for (let i = 0; i < 5; i++)
      arm.seed(`azp-linux-list${i}`, { subscriptionId: SUB, resourceGroup: RG, tags: ours() });
    arm.seed('azp-linux-phold', { subscriptionId: SUB, resourceGroup: RG, tags: ours(undefined, true) });
    arm.seed('azp-linux-other', {
      subscriptionId: SUB,
      resourceGroup: RG,
      tags: { ...ours(), 'autoscaler-id': 'staging' },
    });
    arm.seed('unrelated-web', { subscriptionId: SUB, resourceGroup: RG });
    arm.seed('half-tagged', {
      subscriptionId: SUB,
      resourceGroup: RG,
      tags: { 'managed-by': 'azp-aci-autoscaler', 'autoscaler-id': 'prod-1' },
    });
    arm.seed('azp-linux-elsewhere', { subscriptionId: SUB, resourceGroup: 'rg-other', tags: ours() });

    const groups = await provider().listGroups();

    expect(groups.map((g) => g.name).sort()).toEqual([
      'azp-linux-list0',
      'azp-linux-list1',
      'azp-linux-list2',
      'azp-linux-list3',
      'azp-linux-list4',
      'azp-linux-phold',
    ]);
    expect(groups.find((g) => g.name === 'azp-linux-phold')).toMatchObject({
      placeholder: true,
      pool: 'Default',
      profile: 'linux',
    });
    expect(groups[0]).toMatchObject({
      pool: 'Default',
      profile: 'linux',
      createdAt: '2026-01-01T00:00:00.000Z',
      provisioningState: 'Succeeded',
    });
    // list items carry no instanceView
    expect(groups.every((g) => g.instanceState === undefined)).toBe(true);
    // 9 groups in the RG, page size 2 → 5 GETs, all list calls, nothing else
    expect(arm.requests.map((r) => `${r.method} ${r.query.$skiptoken ?? 0}`)).toEqual([
      'GET 0',
      'GET 2',
      'GET 4',
      'GET 6',
      'GET 8',
    ]);
    expect(arm.requests.every((r) => r.query['api-version'] === '2023-05-01' && r.authorized)).toBe(true);
    expect(cred.scopes()).toEqual([`${arm.url}/.default`]);
  });
});

describe('createGroup', () => {
  it('costs exactly one ARM request (the PUT), valid against the OpenAPI, token only as secureValue', async () => {
    cred = fakeCredential();
    arm.setCreateLatency(60_000);
    const l = launch();
    await provider().createGroup(l);

    expect(arm.requests.map((r) => r.method)).toEqual(['PUT']);
    const put = arm.requests[0]!;
    expect(put.path).toBe(
      `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.ContainerInstance/containerGroups/${l.name}`,
    );
    expect(put.query['api-version']).toBe('2023-05-01');
    expect(validateContainerGroupPut(put.body)).toEqual([]);
    const text = JSON.stringify(put.body);
    expect(text.split(CANARY)).toHaveLength(2);
    expect(text).toContain(`{"name":"AZP_TOKEN","secureValue":"${CANARY}"}`);

    const g = arm.group(l.name)!;
    expect(g.provisioningState).toBe('Creating');
    expect(g.env).toMatchObject({
      AZP_AGENT_NAME: l.name,
      AZP_TOKEN: CANARY,
      AZP_RUN_MODE: 'once',
      AZP_POOL: 'Default',
    });

    // still creating: listed as ours with provisioningState Creating
    const listed = (await provider().listGroups()).find((x) => x.name === l.name);
    expect(listed?.provisioningState).toBe('Creating');
  });

  it('the fake never echoes secureValue back (GET)', async () => {
    cred = fakeCredential();
    const l = launch();
    const p = provider();
    await p.createGroup(l);
    const client = createArmClient(cred, SUB, { armEndpoint: arm.url, ca: cert.cert });
    const got = await client.containerGroups.get(RG, l.name);
    expect(JSON.stringify(got)).not.toContain(CANARY);
    expect(got.containers[0]?.environmentVariables?.find((e) => e.name === 'AZP_TOKEN')).toEqual({ name: 'AZP_TOKEN' });
  });

  it('runs the onCreate hook (agents can "register")', async () => {
    cred = fakeCredential();
    const seen: string[] = [];
    const off = arm.onCreate((g) => seen.push(`${g.name}:${g.env.AZP_RUN_MODE}`));
    const l = launch({ placeholder: true });
    await provider().createGroup(l);
    off();
    expect(seen).toEqual([`${l.name}:placeholder`]);
  });

  it('bounds concurrency for a burst', async () => {
    cred = fakeCredential();
    arm.inject({ match: { method: 'PUT' }, delayMs: 150, times: 12 });
    const p = provider({ concurrency: 4 });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 12 }, () => p.createGroup(launch())));
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(3 * 150 - 20);
    expect(took).toBeLessThan(12 * 150);
    expect(arm.requests.filter((r) => r.method === 'PUT')).toHaveLength(12);
  });
});

describe('getGroup', () => {
  it('reads instanceView: state, exit code, events', async () => {
    cred = fakeCredential();
    const l = launch();
    const p = provider();
    await p.createGroup(l);
    expect(await p.getGroup(l.name)).toMatchObject({
      name: l.name,
      provisioningState: 'Succeeded',
      instanceState: 'Running',
    });

    arm.setInstanceState(l.name, 'Succeeded', 0);
    expect(await p.getGroup(l.name)).toMatchObject({
      instanceState: 'Succeeded',
      exitCode: 0,
      detail: expect.stringContaining('Terminated') as unknown,
    });

    arm.addEvent(l.name, {
      name: 'Failed',
      type: 'Warning',
      message: 'Failed to pull image "contoso.azurecr.io/azp-agent:1.0"',
    });
    arm.setInstanceState(l.name, 'Failed', 2);
    const d = await p.getGroup(l.name);
    expect(d).toMatchObject({ instanceState: 'Failed', exitCode: 2 });
    expect(d?.detail).toContain('Failed to pull image');
    expect(arm.requests.filter((r) => r.method === 'GET').every((r) => !r.query.$skiptoken)).toBe(true);
  });

  it('undefined when the group is gone or belongs to another deployment', async () => {
    cred = fakeCredential();
    const p = provider();
    expect(await p.getGroup('azp-linux-missing0000')).toBeUndefined();
    arm.seed('azp-linux-theirs', {
      subscriptionId: SUB,
      resourceGroup: RG,
      tags: { ...ours(), 'autoscaler-id': 'staging' },
    });
    expect(await p.getGroup('azp-linux-theirs')).toBeUndefined();
  });

  it('getLogs returns the tail of the agent container log', async () => {
    cred = fakeCredential();
    const l = launch();
    const p = provider();
    await p.createGroup(l);
    arm.setLogs(l.name, Array.from({ length: 80 }, (_, i) => `line ${i}`).join('\n'));
    const logs = await p.getLogs(l.name);
    expect(logs?.split('\n')).toHaveLength(50);
    expect(logs?.endsWith('line 79')).toBe(true);
    expect(arm.requests.at(-1)?.query.tail).toBe('50');
    expect(await p.getLogs('azp-linux-missing0001')).toBeUndefined();
  });
});

describe('deleteGroup', () => {
  it('starts the delete with one request; the group goes away', async () => {
    cred = fakeCredential();
    const l = launch();
    const p = provider();
    await p.createGroup(l);
    arm.clearRequests();
    await p.deleteGroup(l.name);
    expect(arm.requests.map((r) => r.method)).toEqual(['DELETE']);
    expect(arm.requests[0]?.status).toBe(202);
    expect(arm.group(l.name)).toBeUndefined();
  });

  it('a missing group (204) or a 404 counts as done', async () => {
    cred = fakeCredential();
    const p = provider();
    await p.deleteGroup('azp-linux-never000000');
    arm.inject({ match: { method: 'DELETE' }, status: 404, code: 'ResourceNotFound' });
    await p.deleteGroup('azp-linux-never000001');
    expect(arm.requests.map((r) => r.status)).toEqual([204, 404]);
  });
});

describe('errors', () => {
  it('429 with a short Retry-After on a read: bounded SDK retries (3 attempts), then throttled; the next call fails fast', async () => {
    cred = fakeCredential();
    arm.inject({ match: { method: 'GET' }, status: 429, retryAfter: 1, times: 10 });
    const p = provider();
    const t0 = Date.now();
    const err = await armError(p.listGroups());
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(err).toMatchObject({ kind: 'throttled', status: 429, retryAfterMs: 1000 });
    expect(arm.requests.filter((r) => r.method === 'GET')).toHaveLength(3);

    const again = await armError(p.createGroup(launch()));
    expect(again.kind).toBe('throttled');
    expect(arm.requests.filter((r) => r.method === 'PUT')).toHaveLength(0);
  });

  it('a write is one attempt: 429 with a short Retry-After, 503, 500 and 504 on a PUT/DELETE are sent once (issue 21)', async () => {
    cred = fakeCredential();
    arm.inject({ match: { method: 'PUT' }, status: 429, retryAfter: 1, times: 10 });
    const t0 = Date.now();
    expect(await armError(provider().createGroup(launch()))).toMatchObject({ kind: 'throttled', retryAfterMs: 1000 });
    expect(Date.now() - t0).toBeLessThan(900);
    expect(arm.requests.filter((r) => r.method === 'PUT')).toHaveLength(1);
    arm.clearFaults();
    for (const status of [503, 500, 504]) {
      arm.clearRequests();
      arm.inject({ match: { method: 'DELETE' }, status, times: 10 });
      await armError(provider().deleteGroup('azp-x-000000000001'));
      expect(arm.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
      arm.clearFaults();
    }
  });

  it('429 with a long Retry-After surfaces at once (1 request), with retryAfterMs', async () => {
    cred = fakeCredential();
    arm.inject({ match: { method: 'PUT' }, status: 429, retryAfter: 120, times: 10 });
    const t0 = Date.now();
    const err = await armError(provider().createGroup(launch()));
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(err).toMatchObject({ kind: 'throttled', status: 429, retryAfterMs: 120_000 });
    expect(arm.requests).toHaveLength(1);
  });

  it.each([
    [
      409,
      'ContainerGroupQuotaReached',
      "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded in region 'westeurope'. Limit: '10', Usage: '10' Requested: '2'.",
    ],
    [
      409,
      'ServiceUnavailable',
      "The requested resource is not available in the location 'westeurope' at this moment. Please retry with a different resource request or in another location.",
    ],
    [400, 'SkuNotAvailable', 'The requested VM size is not available in the current region.'],
  ])('%i %s → quota', async (status, code, message) => {
    cred = fakeCredential();
    arm.inject({ match: { method: 'PUT' }, status, code, message });
    const err = await armError(provider().createGroup(launch()));
    expect(err).toMatchObject({ kind: 'quota', status, code });
    expect(arm.requests).toHaveLength(1);
  });

  it.each([
    ['InvalidImage', "The image 'contoso.azurecr.io/nope:1' in container group is not accessible."],
    ['InaccessibleImage', 'The image is not accessible. Please check the image and registry credential.'],
    ['InvalidContainerGroupSpec', 'The container group spec is invalid: cpu 200 exceeds the maximum.'],
  ])('400 %s → validation (not retried)', async (code, message) => {
    cred = fakeCredential();
    arm.inject({ match: { method: 'PUT' }, status: 400, code, message });
    const err = await armError(provider().createGroup(launch()));
    expect(err).toMatchObject({ kind: 'validation', status: 400, code });
    expect(err.message).toContain(code);
    expect(arm.requests).toHaveLength(1);
  });

  it('5xx is retried by the SDK (bounded), then transient', async () => {
    cred = fakeCredential();
    arm.inject({ match: { method: 'GET' }, status: 500, times: 10 });
    const err = await armError(
      provider({ client: { retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 20 } } }).listGroups(),
    );
    expect(err).toMatchObject({ kind: 'transient', status: 500 });
    expect(arm.requests).toHaveLength(3);
  });

  it('a slow ARM hits the request timeout → transient', async () => {
    cred = fakeCredential();
    arm.inject({ match: { method: 'GET' }, delayMs: 1500, times: 3 });
    const err = await armError(
      provider({
        requestTimeoutMs: 200,
        client: { retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 20 } },
      }).getGroup('azp-linux-slow00000000'),
    );
    expect(err.kind).toBe('transient');
  });

  it('403 → auth; errors never carry the token (even if ARM echoes it)', async () => {
    cred = fakeCredential();
    arm.inject({
      match: { method: 'PUT' },
      status: 403,
      code: 'AuthorizationFailed',
      message: 'The client does not have authorization.',
    });
    expect((await armError(provider().createGroup(launch()))).kind).toBe('auth');
    arm.inject({
      match: { method: 'PUT' },
      status: 400,
      code: 'InvalidRequestContent',
      message: `Could not parse value '${CANARY}' at properties.containers[0]`,
    });
    const err = await armError(provider().createGroup(launch()));
    expect(err.kind).toBe('validation');
    const everything = `${err.message} ${JSON.stringify(err)} ${String(err.stack)}`;
    expect(everything).not.toContain(CANARY);
    expect(everything).not.toContain(cred.token);
    expect(err).not.toHaveProperty('cause');
  });

  it('sovereign clouds: the token scope follows the ARM endpoint', () => {
    expect(armCredentialScope('https://management.usgovcloudapi.net/')).toBe(
      'https://management.usgovcloudapi.net/.default',
    );
    expect(armCredentialScope('https://management.chinacloudapi.cn')).toBe(
      'https://management.chinacloudapi.cn/.default',
    );
    expect(armCredentialScope('https://management.azure.com')).toBe('https://management.azure.com/.default');
  });
});
