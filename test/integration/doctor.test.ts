/**
 * `azp-aci-autoscaler doctor` through the real entry (`main`) with the real adapters against the
 * local HTTPS fakes (Azure DevOps, ARM, Key Vault, a registry) and a real Azurite: a healthy world
 * passes (exit 0); each broken precondition fails (exit 1) with the problem named on a FAIL line
 * and a fix under it, no stack trace, no secret, and not one write to any fake or to storage.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main, type CliContext } from '../../src/cli.js';
import { startFakeRegistry, type FakeRegistry } from '../fakes/registry.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { azuriteConnectionString, startAzurite, type Azurite } from '../helpers/azurite.js';
import { captureOutput } from '../helpers/capture-output.js';
import { jobHookSubscription } from '../helpers/job-hook.js';

const PAT = 'canary-pat-doctor-5b1e9c2a7d3f48e6a0c4';
const WEBHOOK_PASSWORD = 'canary-secret-doctor-hook-7f2c';
const POOL = 'aci-doctor';
const APP_URL = 'https://func-azp.azurewebsites.net/api/servicehook';
const SUB = '00000000-0000-0000-0000-0000000000d0';
const IDENTITY = `/subscriptions/${SUB}/resourceGroups/rg-doctor/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-pull`;

let stack: FakeStack;
let registry: FakeRegistry;
let azurite: Azurite;
let dir: string;
let image: string;

beforeAll(async () => {
  stack = await startFakeStack({ pat: PAT, subscriptionId: SUB, resourceGroup: 'rg-doctor' });
  registry = await startFakeRegistry({ cert: stack.cert });
  azurite = await startAzurite();
  dir = mkdtempSync(path.join(tmpdir(), 'azp-doctor-'));
  image = `${registry.host}/azp-agent:4.269.0-0123456789ab`;
});
afterAll(async () => {
  await Promise.all([stack?.close(), registry?.close(), azurite?.stop()]);
});

/** The healthy world, before each test. */
beforeEach(() => {
  const a = stack.azdo;
  a.state.pools = [];
  a.state.projects = [];
  a.state.subscriptions = [];
  a.state.pat = PAT;
  a.state.unmanageablePools.clear();
  a.state.agentPackages = { 'linux-x64': '4.269.0', 'win-x64': '4.269.0' };
  a.addPool(POOL);
  for (const name of ['web', 'api']) {
    const p = a.addProject(name);
    a.state.subscriptions.push(
      jobHookSubscription(p.id, {
        url: `${APP_URL}?code=k`,
        basicAuthUsername: 'azp-hook',
        basicAuthPassword: WEBHOOK_PASSWORD,
      }),
    );
  }
  stack.kv.setSecret('azp-token', PAT, { expires: new Date(Date.now() + 90 * 86_400_000) });
  const s = stack.arm.subscriptionState;
  s.providerState = 'Registered';
  delete s.resourceGroups;
  s.permissions = [
    { actions: ['*'], notActions: ['Microsoft.Authorization/*/Write'], dataActions: [], notDataActions: [] },
  ];
  s.usages = {};
  s.cachedImages = {};
  registry.images.clear();
  registry.images.add('azp-agent:4.269.0-0123456789ab');
  registry.pullAllowed = true;
  registry.bakedVersions.clear();
  registry.layerSizes.clear();
  registry.os = 'linux';
  stack.azdo.clearRequests();
  stack.arm.clearRequests();
  stack.kv.requests.length = 0;
  registry.requests.length = 0;
});

const { out, err } = captureOutput();
afterEach(() => {
  stack.kv.clearFaults();
  stack.arm.clearFaults();
  stack.azdo.clearFaults();
});

function profile(extra: Record<string, unknown> = {}) {
  return { name: 'linux', pool: POOL, image, registry: { server: registry.host, identity: IDENTITY }, ...extra };
}

function ctx(values: Record<string, string> = {}): CliContext {
  return {
    env: stack.env({
      POOLS: JSON.stringify([profile()]),
      WEBHOOK_USERNAME: 'azp-hook',
      WEBHOOK_PASSWORD,
      AzureWebJobsStorage: azurite.connectionString,
      ...values,
    }),
    cwd: dir,
    runtime: {
      credential: stack.credential,
      azure: { ca: stack.cert.cert, retryOptions: { maxRetries: 0 } },
      azdoDispatcher: stack.dispatcher,
    },
  };
}

async function doctor(values: Record<string, string> = {}, args: string[] = ['--url', `${APP_URL}?code=k`]) {
  const code = await main(['doctor', ...args], ctx(values));
  const text = out.join('') + err.join('');
  return { code, text, lines: text.split('\n') };
}

function noWrites(): void {
  expect(stack.azdo.writes()).toEqual([]);
  expect(stack.arm.writes()).toEqual([]);
  expect(stack.kv.writes()).toEqual([]);
  expect(registry.writes()).toEqual([]);
}

function clean(text: string): void {
  expect(text).not.toMatch(/\n\s+at [\w.<]+ \(|node:internal|\.ts:\d+:\d+/); // no stack trace
  expect(text).not.toContain(PAT);
  expect(text).not.toContain(WEBHOOK_PASSWORD);
}

function failLine(lines: string[], pattern: RegExp): number {
  const i = lines.findIndex((l) => l.startsWith('FAIL') && pattern.test(l));
  expect(i, `a FAIL line matching ${String(pattern)} in:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  expect(lines[i + 1]).toMatch(/^ {5}fix: \S/);
  return i;
}

describe('doctor', () => {
  it('passes a healthy world, one ok line per check, and writes nothing (not even storage)', async () => {
    const { code, text, lines } = await doctor();
    expect(code, text).toBe(0);
    expect(text).not.toMatch(/^FAIL/m);
    for (const what of [
      /^ok {3}AZP_URL .* names an organization/,
      /^ok {3}Key Vault secret 'azp-token' is readable/,
      /^ok {3}the PAT expires on \d{4}-\d\d-\d\d/,
      /^ok {3}Azure DevOps accepts the PAT/,
      new RegExp(`^ok {3}pool '${POOL}' \\(id \\d+\\) exists and this credential may manage its agents`),
      /^ok {3}image .* bakes agent 4\.269\.0, the current one/,
      /^ok {3}project 'web': job-state-changed Web Hook to https:\/\/func-azp\.azurewebsites\.net\/api\/servicehook\?… with Basic auth/,
      /^ok {3}project 'api': /,
      /^ok {3}resource provider Microsoft\.ContainerInstance is Registered/,
      /^ok {3}this identity may list, create and delete container groups in 'rg-doctor'/,
      /^ok {3}ACI quota in westeurope covers maxAgents/,
      /^ok {3}image .* exists and this identity can read it/,
      /^ok {3}lease container 'azp-autoscaler-locks' is reachable/,
      /^ok {3}queue 'azp-reconcile' is reachable/,
      /^doctor: all \d+ checks passed/,
    ])
      expect(
        lines.some((l) => what.test(l)),
        `${String(what)} in:\n${text}`,
      ).toBe(true);
    clean(text);
    noWrites();
    // Storage: read only, so the container and the queue a pass would create are still absent.
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString);
    expect(await blob.getContainerClient('azp-autoscaler-locks').exists()).toBe(false);
    const queue = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient('azp-reconcile');
    expect(await queue.exists()).toBe(false);
  });

  const broken: [string, () => void | Record<string, string>, RegExp][] = [
    ['the PAT is refused', () => void (stack.azdo.state.pat = 'another-pat'), /Azure DevOps refuses the credential/],
    [
      'the PAT has expired',
      () => stack.kv.setSecret('azp-token', PAT, { expires: new Date(Date.now() - 86_400_000) }),
      /the PAT expired on \d{4}-/,
    ],
    [
      'the secret does not exist',
      () => stack.kv.deleteSecret('azp-token'),
      /reading secret 'azp-token' failed .*404.*secret not found/,
    ],
    [
      'the secret is not readable',
      () => stack.kv.inject({ status: 403 }),
      /reading secret 'azp-token' failed .*403.*access denied/,
    ],
    ['the pool does not exist', () => void (stack.azdo.state.pools = []), new RegExp(`pool '${POOL}': not found`)],
    [
      'the pool cannot be managed',
      () => void stack.azdo.state.unmanageablePools.add(stack.azdo.pool(POOL).id),
      /may not manage its agents/,
    ],
    [
      'the provider is not registered',
      () => void (stack.arm.subscriptionState.providerState = 'NotRegistered'),
      /Microsoft\.ContainerInstance is NotRegistered/,
    ],
    [
      'the identity may only read the resource group',
      () =>
        void (stack.arm.subscriptionState.permissions = [
          { actions: ['*/read'], notActions: [], dataActions: [], notDataActions: [] },
        ]),
      /may not Microsoft\.ContainerInstance\/containerGroups\/write, Microsoft\.ContainerInstance\/containerGroups\/delete/,
    ],
    [
      'the region has no ACI cores left',
      () =>
        void (stack.arm.subscriptionState.usages.westeurope = [
          { name: 'ContainerGroups', currentValue: 3, limit: 100 },
          { name: 'StandardCores', currentValue: 10, limit: 10 },
        ]),
      /ACI quota in westeurope is used up \(StandardCores: 0 free, one agent needs 2\)/,
    ],
    ['the image does not exist', () => registry.images.clear(), /image .*: the registry has no such manifest \(404\)/],
    [
      'the image cannot be pulled',
      () => void (registry.pullAllowed = false),
      /refuses to let this identity read it \(401\)/,
    ],
    [
      'no service hook exists',
      () => void (stack.azdo.state.subscriptions = []),
      /no "Run job state changed" Web Hook points at/,
    ],
    [
      "a project's service hook points elsewhere",
      () =>
        void (stack.azdo.state.subscriptions[0]!.consumerInputs.url = 'https://old-func.example.net/api/servicehook'),
      /project 'web': its job-state-changed Web Hook points at https:\/\/old-func\.example\.net\/api\/servicehook, not at this app/,
    ],
    [
      'the resource group does not exist',
      () => void (stack.arm.subscriptionState.resourceGroups = new Set(['rg-other'])),
      /resource group 'rg-doctor' not found: 404 ResourceGroupNotFound/,
    ],
    [
      "a project's service hook was disabled by Azure DevOps",
      () => void (stack.azdo.state.subscriptions[1]!.status = 'disabledBySystem'),
      /project 'api': the Web Hook is disabledBySystem/,
    ],
    [
      "a project's service hook sends no Basic credentials",
      () => void delete stack.azdo.state.subscriptions[0]!.consumerInputs.basicAuthUsername,
      /project 'web': the Web Hook sends no Basic credentials/,
    ],
    [
      'storage is unreachable',
      () => ({ AzureWebJobsStorage: azuriteConnectionString(1, 1, 1) }),
      /lease container 'azp-autoscaler-locks': /,
    ],
  ];
  it.each(broken)('fails when %s: named, with its fix, no stack, no write', async (_name, breakIt, problem) => {
    const values = breakIt() ?? {};
    const { code, text, lines } = await doctor(values);
    expect(code, text).toBe(1);
    failLine(lines, problem);
    expect(text).toMatch(/^doctor: \d+ check\(s\) failed/m);
    clean(text);
    noWrites();
  });

  const warned: [string, () => void, RegExp][] = [
    [
      'the PAT expires within 14 days',
      () => stack.kv.setSecret('azp-token', PAT, { expires: new Date(Date.now() + 5 * 86_400_000 + 3_600_000) }),
      /^warn the PAT expires in 5 day\(s\), on \d{4}-/m,
    ],
    [
      'the ACI quota is below maxAgents',
      () =>
        void (stack.arm.subscriptionState.usages.westeurope = [
          { name: 'ContainerGroups', currentValue: 95, limit: 100 },
          { name: 'StandardCores', currentValue: 0, limit: 100 },
        ]),
      /^warn ACI quota in westeurope is below maxAgents \(ContainerGroups: 5 free, maxAgents needs 10\)/m,
    ],
    [
      'a project has no service hook',
      () => void stack.azdo.state.subscriptions.splice(1, 1),
      /^warn project 'api': no job-state-changed Web Hook \(fine if its pipelines do not use these pools\)/m,
    ],
  ];
  it.each(warned)('warns (exit 0) when %s, with its fix', async (_name, breakIt, line) => {
    breakIt();
    const { code, text } = await doctor();
    expect(code, text).toBe(0);
    expect(text).toMatch(line);
    expect(text).toMatch(/^ {5}fix: \S/m);
    clean(text);
    noWrites();
  });

  it('warns (exit 0) when the baked agent is older than the one the organization offers', async () => {
    stack.azdo.state.agentPackages['linux-x64'] = '4.270.1';
    const { code, text } = await doctor();
    expect(code, text).toBe(0);
    expect(text).toMatch(/^warn image .* bakes agent 4\.269\.0 \(by its tag\); the organization offers 4\.270\.1/m);
    expect(text).toMatch(/^ {5}fix: set ARG AGENT_VERSION=4\.270\.1/m);
  });

  it('reads the baked agent version from the image config (AZP_AGENT_BAKED_VERSION) before the tag', async () => {
    registry.bakedVersions.set('azp-agent:4.269.0-0123456789ab', '4.268.0');
    const older = await doctor();
    expect(older.code, older.text).toBe(0);
    expect(older.text).toMatch(
      /^warn image .* bakes agent 4\.268\.0 \(by its image config\); the organization offers 4\.269\.0/m,
    );
    // An unversioned tag: the config alone says it (manifest index → manifest → config blob behind a 307).
    out.length = 0;
    registry.images.add('azp-agent:latest');
    registry.bakedVersions.set('azp-agent:latest', '4.269.0');
    const latest = await doctor({ POOLS: JSON.stringify([profile({ image: `${registry.host}/azp-agent:latest` })]) });
    expect(latest.code, latest.text).toBe(0);
    expect(latest.text).toMatch(
      /^ok {3}image .*azp-agent:latest bakes agent 4\.269\.0, the current one \(4\.269\.0; by its image config\)/m,
    );
    expect(registry.requests.some((r) => r.path.startsWith('/_storage/sha256:'))).toBe(true);
    noWrites();
  });

  it('says how much a pull downloads, from the manifest’s layer sizes, and warns an imageSizeMB below it', async () => {
    // Three layers and a config, 312 MB compressed as the registry stores them.
    registry.layerSizes.set('azp-agent:4.269.0-0123456789ab', [29_000_000, 180_000_000, 103_000_000]);
    const unset = await doctor();
    expect(unset.code, unset.text).toBe(0);
    expect(unset.text).toMatch(
      /^ok {3}image .*azp-agent:4\.269\.0-0123456789ab exists and this identity can read it; a pull downloads 312 MB \(compressed layers\); imageSizeMB is not set$/m,
    );
    // imageSizeMB is the unpacked size (`docker images`), at least the download: one below it is warned.
    out.length = 0;
    const below = await doctor({ POOLS: JSON.stringify([profile({ imageSizeMB: 100 })]) });
    expect(below.code, below.text).toBe(0);
    expect(below.text).toMatch(
      /^warn image .*; a pull downloads 312 MB \(compressed layers\), more than the profile's imageSizeMB 100$/m,
    );
    expect(below.text).toMatch(
      /^ {5}fix: set "imageSizeMB" on profile linux to the size `docker images` shows for it \(at least 312\)/m,
    );
    out.length = 0;
    const unpacked = await doctor({ POOLS: JSON.stringify([profile({ imageSizeMB: 780 })]) });
    expect(unpacked.text).toMatch(/^ok {3}image .*; a pull downloads 312 MB \(compressed layers\)$/m);
    noWrites();
  });

  it('warns when a Windows profile’s base image is not cached in the region', async () => {
    stack.arm.subscriptionState.cachedImages.westeurope = [{ osType: 'Linux', image: 'ubuntu:22.04' }];
    const { code, text } = await doctor({
      POOLS: JSON.stringify([profile({ os: 'Windows', cpu: 2, memoryGb: 4 })]),
    });
    expect(code, text).toBe(0);
    expect(text).toMatch(/^warn Windows Server Core ltsc2022 is not among ACI's cached images in westeurope/m);
    stack.arm.subscriptionState.cachedImages = {};
    out.length = 0;
    const healthy = await doctor({ POOLS: JSON.stringify([profile({ os: 'Windows', cpu: 2, memoryGb: 4 })]) });
    expect(healthy.text).toMatch(/^ok {3}Windows Server Core ltsc2022 is cached by ACI in westeurope/m);
  });

  it('--json: one object per check with its id, status and fix', async () => {
    stack.arm.subscriptionState.providerState = 'NotRegistered';
    const { code, text } = await doctor({}, ['--json', '--url', `${APP_URL}?code=k`]);
    expect(code).toBe(1);
    const { checks } = JSON.parse(out.join('')) as { checks: { id: string; status: string; fix?: string }[] };
    expect(checks.find((c) => c.id === 'arm.provider')).toMatchObject({
      status: 'fail',
      fix: expect.stringMatching(/az provider register/),
    });
    expect(checks.filter((c) => c.status === 'fail')).toHaveLength(1);
    clean(text);
  });

  it('exits 2 for bad settings, naming the setting', async () => {
    const { code, text } = await doctor({ POOLS: '[{"name":"Bad Name"}]' });
    expect(code).toBe(2);
    expect(text).toMatch(/POOLS\[0\]\.name/);
  });

  it('storage that is not configured is a warning, not a failure', async () => {
    const c = ctx();
    delete c.env!.AzureWebJobsStorage;
    const code = await main(['doctor'], c);
    const text = out.join('');
    expect(code, text).toBe(0);
    expect(text).toMatch(/^warn no AzureWebJobsStorage/m);
  });
});
