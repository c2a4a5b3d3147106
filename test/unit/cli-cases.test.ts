/**
 * The CLI's cases as a user meets them, through the real entry (`main`) with the real adapters
 * against the local HTTPS fakes: help on every subcommand, bad paths and unknown pools refused
 * with exit 2, credential failures in full with a hint, wording for a one-off run, `status`
 * without storage, and no secret in any output.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { BlobPoolLock } from '../../src/storage/index.js';
import { credentialChainFailure, PAT, POOL, useCliHarness, WEBHOOK_PASSWORD } from '../helpers/cli-harness.js';

const cli = useCliHarness();
const { out, err, text, settingsFile, ctx } = cli;

describe('cli: usage, paths and pools (exit 2, naming the problem)', () => {
  const cases: Array<{
    name: string;
    argv: () => string[];
    code: number;
    stdout?: RegExp;
    stderr?: RegExp;
    not?: RegExp;
  }> = [
    {
      name: 'reconcile --help',
      argv: () => ['reconcile', '--help'],
      code: 0,
      stdout: /usage: azp-aci-autoscaler reconcile[\s\S]*--pool NAME[\s\S]*needs: AZP_URL/,
      not: /TypeError/,
    },
    { name: 'reconcile -h', argv: () => ['reconcile', '-h'], code: 0, stdout: /usage: azp-aci-autoscaler reconcile/ },
    {
      name: 'status --help',
      argv: () => ['status', '--help'],
      code: 0,
      stdout: /usage: azp-aci-autoscaler status[\s\S]*writes nothing[\s\S]*BACKOFF column is "unknown"/,
      not: /TypeError/,
    },
    {
      name: 'an unknown option',
      argv: () => ['reconcile', '--bogus'],
      code: 2,
      stderr: /reconcile: Unknown option '--bogus'[\s\S]*usage: azp-aci-autoscaler reconcile/,
      not: /TypeError/,
    },
    {
      name: '--pool on status',
      argv: () => ['status', '--pool', POOL],
      code: 2,
      stderr: /status: Unknown option '--pool'/,
    },
    {
      name: '--settings a directory',
      argv: () => ['reconcile', '--settings', cli.dir],
      code: 2,
      stderr: /is a directory, not a settings file/,
      not: /not valid JSON/,
    },
    {
      name: '--settings a missing file',
      argv: () => ['status', '--settings', 'nope.json'],
      code: 2,
      stderr: /settings file not found: nope\.json/,
    },
    {
      name: '--settings broken JSON',
      argv: () => {
        const f = path.join(cli.dir, 'broken.json');
        writeFileSync(f, `{"Values": {"AZP_URL": "x", "WEBHOOK_PASSWORD": "${WEBHOOK_PASSWORD}",}}`);
        return ['status', '--settings', f];
      },
      code: 2,
      stderr: /broken\.json is not valid JSON \(.*position \d+/,
    },
    {
      name: '--settings without Values',
      argv: () => {
        const f = path.join(cli.dir, 'novalues.json');
        writeFileSync(f, JSON.stringify({ AZP_URL: 'https://dev.azure.com/x' }));
        return ['status', '--settings', f];
      },
      code: 2,
      stderr: /has no "Values" object/,
    },
    {
      name: 'an unknown pool',
      argv: () => ['reconcile', '--pool', 'typo', '--settings', settingsFile()],
      code: 2,
      stderr: new RegExp(`unknown pool 'typo': the settings configure '${POOL}'`),
    },
    {
      name: 'an unknown pool beside a known one',
      argv: () => [
        'reconcile',
        '--pool',
        POOL.toUpperCase(),
        '--pool',
        'typo',
        '--dry-run',
        '--settings',
        settingsFile(),
      ],
      code: 2,
      stderr: /unknown pool 'typo'/,
    },
  ];

  it.each(cases)('$name', async (c) => {
    const sub = path.join(cli.dir, 'sub');
    mkdirSync(sub, { recursive: true });
    const before = cli.stack.arm.requests.length + cli.stack.azdo.requests.length;
    expect(await main(c.argv(), ctx())).toBe(c.code);
    if (c.stdout) expect(out.join('')).toMatch(c.stdout);
    if (c.stderr) expect(err.join('')).toMatch(c.stderr);
    if (c.not) expect(text()).not.toMatch(c.not);
    // Refused input acts on nothing: not one request reached Azure DevOps or ARM.
    if (c.code === 2) expect(cli.stack.arm.requests.length + cli.stack.azdo.requests.length).toBe(before);
    expect(text()).not.toContain(WEBHOOK_PASSWORD);
  });
});

describe('cli: credential failures in full, with a hint', () => {
  const cases: Array<{
    name: string;
    argv: string[];
    setup: () => void;
    code: number;
    full: RegExp;
    hint: RegExp;
    notHint?: RegExp;
  }> = [
    {
      name: 'no Azure credential (DefaultAzureCredential chain), status',
      argv: ['status'],
      setup: () => cli.stack.credential.fail(credentialChainFailure()),
      code: 1,
      // One line: what each credential said, the Azure CLI's among them (it came after 400 characters).
      full: /cannot list container groups: ArmError: ARM list[^\n]*auth: no Azure credential \(tried: EnvironmentCredential is unavailable;[^\n]*; Azure CLI could not be found;[^\n]*\)$/m,
      hint: /hint: no Azure credential: on a laptop run `az login`/,
    },
    {
      name: 'Key Vault 403, reconcile',
      argv: ['reconcile'],
      setup: () =>
        cli.stack.kv.inject({
          status: 403,
          code: 'Forbidden',
          message: 'Caller is not authorized to perform action on resource.',
        }),
      code: 1,
      full: /pool aci-cli: cannot observe the pool: SecretError: Key Vault [^\n]*reading secret 'azp-token' failed \(status 403 Forbidden\): access denied/,
      hint: /hint: Key Vault refused the secret read: give the signed-in identity the "Key Vault Secrets User" role/,
    },
    {
      name: 'Azure DevOps 401, reconcile --dry-run',
      argv: ['reconcile', '--dry-run'],
      setup: () => cli.stack.azdo.inject({ status: 401, times: Infinity }),
      code: 1,
      full: /cannot observe the pool: AzdoError: Azure DevOps GET [^\n]*failed: 401 unauthorized[^\n]*TF400813/,
      hint: /hint: Azure DevOps refused the credential \(401\)/,
    },
    {
      name: 'Azure DevOps 203 sign-in page, status',
      argv: ['status'],
      setup: () => cli.stack.azdo.inject({ status: 203, times: Infinity }),
      code: 1,
      full: /cannot observe: AzdoError: Azure DevOps GET [^\n]*failed: 203 unauthorized[^\n]*answered 203 with a sign-in page/,
      hint: /hint: Azure DevOps answered with its sign-in page \(203\)/,
      notHint: /hint: Azure DevOps refused the credential \(401\)/,
    },
    {
      name: 'ARM 403 (no role on the resource group), status',
      argv: ['status'],
      setup: () =>
        cli.stack.arm.inject({
          status: 403,
          code: 'AuthorizationFailed',
          message:
            "The client does not have authorization to perform action 'Microsoft.ContainerInstance/containerGroups/read'.",
          times: Infinity,
        }),
      code: 1,
      full: /cannot list container groups: ArmError: ARM [^\n]*auth \(403 AuthorizationFailed\): The client does not have authorization/,
      hint: /hint: ARM refused the call: the identity needs the autoscaler's role/,
    },
  ];

  it.each(cases)('$name', async (c) => {
    c.setup();
    expect(await main([...c.argv, '--settings', settingsFile()], ctx())).toBe(c.code);
    expect(text()).toMatch(c.full);
    expect(text()).toMatch(c.hint);
    if (c.notHint) expect(text()).not.toMatch(c.notHint);
    expect(text()).not.toMatch(/next trigger/);
    for (const secret of [PAT, WEBHOOK_PASSWORD, cli.stack.credential.token]) expect(text()).not.toContain(secret);
  });
});

describe('cli: storage', () => {
  /** A real blob client against a port nothing listens on, one try per request. */
  function unreachableLock(): BlobPoolLock {
    const service = new BlobServiceClient('http://127.0.0.1:9/devstoreaccount1', undefined, {
      retryOptions: { maxTries: 1 },
    });
    return new BlobPoolLock(service.getContainerClient('azp-cli-cases'), { requestTimeoutMs: 2_000 });
  }

  it('status without AzureWebJobsStorage works read-only and says the back-off state is unavailable', async () => {
    cli.stack.azdo.queueJob(POOL, []);
    cli.stack.arm.clearRequests();
    cli.stack.azdo.clearRequests();
    expect(await main(['status', '--settings', settingsFile()], ctx())).toBe(0);
    const table = out.join('');
    expect(table).toMatch(new RegExp(`^${POOL}\\s+linux\\s+1\\s.*\\sunknown$`, 'm'));
    expect(table).toContain('back-off state unavailable: no AzureWebJobsStorage configured');
    expect(table).toContain(`pool ${POOL}: next pass would create linux`);
    // Read-only: no write reached ARM or Azure DevOps.
    expect([...cli.stack.arm.requests, ...cli.stack.azdo.requests].filter((r) => r.method !== 'GET')).toEqual([]);
  });

  it('status with storage it cannot read still shows the pools, the back-off column unknown, and why', async () => {
    expect(await main(['status', '--json', '--settings', settingsFile()], ctx({ lock: unreachableLock() }))).toBe(0);
    const report = JSON.parse(out.join('')) as {
      backoff: { available: boolean; note: string };
      pools: { ok: boolean }[];
      hints: { id: string }[];
    };
    expect(report.pools.map((p) => p.ok)).toEqual([true]);
    expect(report.backoff.available).toBe(false);
    expect(report.backoff.note).toMatch(
      /back-off state unavailable: cannot read it from AzureWebJobsStorage \(aci-cli: .*ECONNREFUSED/,
    );
    expect(report.hints.map((h) => h.id)).toContain('storage-unreachable');
  });

  it('reconcile with storage it cannot reach: no pass, wording for a one-off run, exit 1', async () => {
    expect(await main(['reconcile', '--settings', settingsFile()], ctx({ lock: unreachableLock() }))).toBe(1);
    expect(text()).toContain(
      'no pass this time; run the command again once the storage account (AzureWebJobsStorage) is reachable',
    );
    expect(err.join('')).toMatch(/reconcile: pool aci-cli: no pass ran: .*ECONNREFUSED/);
    expect(err.join('')).toMatch(/hint: AzureWebJobsStorage is not reachable/);
    expect(text()).not.toMatch(/next trigger/);
  });

  it('reconcile without storage runs the pass in this process and reports what it did', async () => {
    cli.stack.azdo.queueJob(POOL, []);
    cli.stack.arm.clearRequests();
    expect(await main(['reconcile', '--pool', POOL.toUpperCase(), '--settings', settingsFile()], ctx())).toBe(0);
    expect(cli.stack.arm.requests.filter((r) => r.method === 'PUT')).not.toHaveLength(0);
    expect(err.join('')).toMatch(/reconcile: pool aci-cli: ok; [1-9]\d* action\(s\) done/);
    expect(text()).toContain('no AzureWebJobsStorage: this pass is not coordinated with a running deployment');
    for (const secret of [PAT, WEBHOOK_PASSWORD, cli.stack.credential.token]) expect(text()).not.toContain(secret);
  });
});
