/**
 * Errors a first run meets, each naming the setting or command that fixes it, printed once: an
 * unreachable AZP_URL, a mistyped vault (KEY_VAULT_URL), no Azure login (one line, not the whole
 * credential chain), `status` without an empty table or a reason repeated per create, and an
 * unwritable `simulate --html` path refused before the run. Real entry (`main`), real adapters,
 * local HTTPS fakes (harness as in cli-cases.test.ts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AggregateAuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { hintsFor } from '../../src/app/hints.js';
import { main, type CliContext } from '../../src/cli.js';
import { runSimulateCommand } from '../../src/sim/command.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';

const PAT = 'canary-pat-cli-8d41f0b7a93c25e6d1f4a8b0c7e92d35';
const WEBHOOK_PASSWORD = 'canary-secret-cli-hook-4e7a1c9b2f';
const POOL = 'aci-cli';
let stack: FakeStack;
let dir: string;

beforeAll(async () => {
  stack = await startFakeStack({
    pat: PAT,
    subscriptionId: '00000000-0000-0000-0000-0000000000c1',
    resourceGroup: 'rg-cli',
  });
  stack.azdo.addPool(POOL);
  dir = mkdtempSync(path.join(tmpdir(), 'azp-cli-cases-'));
});
afterAll(async () => {
  await stack?.close();
});

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  // console.* of the logger ends in process.stdout/stderr.write too.
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
});
afterEach(() => {
  vi.restoreAllMocks();
  stack.azdo.clearFaults();
  stack.kv.clearFaults();
  stack.credential.heal();
  stack.arm.clearFaults();
});

/** A settings file for the fakes; `extra` adds or overrides Values. */
function settingsFile(extra: Record<string, string> = {}): string {
  const file = path.join(dir, `settings-${Math.random().toString(36).slice(2)}.json`);
  const values = stack.env({
    POOLS: JSON.stringify([{ name: 'linux', pool: POOL, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false }]),
    WEBHOOK_USERNAME: 'azp-hook',
    WEBHOOK_PASSWORD,
    AUTOSCALER_ID: 'cli-cases',
    ...extra,
  });
  writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: values }));
  return file;
}

function ctx(extra: Partial<CliContext['runtime']> = {}): CliContext {
  return {
    env: {},
    cwd: dir,
    runtime: {
      credential: stack.credential,
      azure: { ca: stack.cert.cert, retryOptions: { maxRetries: 0 } },
      azdoDispatcher: stack.dispatcher,
      ...extra,
    },
  };
}

const text = () => `${out.join('')}${err.join('')}`;

/** The chain DefaultAzureCredential (@azure/identity 4.13.1) reports on a machine with no login, as recorded here. */
function credentialChainFailure(): Error {
  const tried = [
    'EnvironmentCredential is unavailable. No underlying credential could be used. To troubleshoot, visit https://aka.ms/azsdk/js/identity/environmentcredential/troubleshoot.',
    'ManagedIdentityCredential: Network unreachable. Message: network_error: See https://aka.ms/msal.js.errors#network_error for details',
    'Visual Studio Code Authentication is not available. Ensure you have have Azure Resources Extension installed in VS Code, signed into Azure via VS Code, installed the @azure/identity-vscode package, and properly configured the extension.',
    "Azure CLI could not be found. Please visit https://aka.ms/azure-cli for installation instructions and then, once installed, authenticate to your Azure account using 'az login'.",
    'Error: Unable to execute PowerShell. Ensure that it is installed in your system. To troubleshoot, visit https://aka.ms/azsdk/js/identity/powershellcredential/troubleshoot.',
  ];
  const errors = tried.map((m) => new CredentialUnavailableError(m));
  return new AggregateAuthenticationError(
    errors,
    `ChainedTokenCredential authentication failed.\n${errors.map((e) => `${e.name}: ${e.message}`).join('\n')}`,
  );
}

describe('errors name the setting to fix, once', () => {
  it('an unreachable AZP_URL: the failure once, and a hint naming AZP_URL', async () => {
    expect(
      await main(['reconcile', '--settings', settingsFile({ AZP_URL: 'https://127.0.0.1:9/contoso' })], ctx()),
    ).toBe(1);
    const all = text();
    expect(all).toMatch(/ECONNREFUSED/);
    // Printed once (it was in the log line and again in the summary).
    expect(all.match(/failed: network error/g)).toHaveLength(1);
    expect(all).toMatch(/hint: cannot reach Azure DevOps at AZP_URL/);
  });

  it('a mistyped vault (ENOTFOUND) names KEY_VAULT_URL; an unreachable one too', () => {
    const notFound =
      "SecretError: Key Vault yourvault-typo.vault.azure.net: reading secret 'azp-token' failed (ENOTFOUND): Key Vault is unreachable";
    expect(hintsFor(notFound).map((h) => h.text)).toEqual([
      expect.stringMatching(/^KEY_VAULT_URL: the vault's name does not resolve/),
    ]);
    const refused =
      "SecretError: Key Vault 127.0.0.1:9: reading secret 'azp-token' failed (ECONNREFUSED): Key Vault is unreachable";
    expect(hintsFor(refused).map((h) => h.id)).toEqual(['keyvault-unreachable']);
  });

  it('no Azure login: one line naming what was tried, and the az login hint', async () => {
    stack.credential.fail(credentialChainFailure());
    expect(await main(['status', '--settings', settingsFile()], ctx())).toBe(1);
    const all = text();
    expect(all).toMatch(
      /no Azure credential \(tried: EnvironmentCredential is unavailable; ManagedIdentityCredential: Network unreachable; .*; Azure CLI could not be found; /,
    );
    expect(all).not.toContain('To troubleshoot');
    expect(all).not.toContain('Ensure you have have');
    expect(all.match(/Azure CLI could not be found/g)).toHaveLength(1);
    expect(all).toMatch(/hint: no Azure credential: on a laptop run `az login`/);
  });

  it('status that observes nothing prints no empty table', async () => {
    stack.azdo.inject({ status: 401, times: Infinity });
    expect(await main(['status', '--settings', settingsFile()], ctx())).toBe(1);
    expect(out.join('')).not.toMatch(/^POOL\s+PROFILE/m);
    expect(out.join('')).toMatch(/cannot observe/);
  });

  it('status says a planned create once, with the count', async () => {
    for (let i = 0; i < 3; i++) stack.azdo.queueJob(POOL, []);
    expect(await main(['status', '--settings', settingsFile()], ctx())).toBe(0);
    const next = out
      .join('')
      .split('\n')
      .filter((l) => l.includes('next pass would'));
    expect(next).toEqual([
      expect.stringMatching(new RegExp(`^pool ${POOL}: next pass would create 3 × linux: queued 3 `)),
    ]);
  });
});

describe('simulate --html', () => {
  it('an unwritable path is refused before the run, exit 2 (usage/input), not 1 (invariant violations)', async () => {
    let sout = '';
    let serr = '';
    const io = { stdout: (s: string) => (sout += s), stderr: (s: string) => (serr += s), isTty: false };
    const missing = path.join(dir, 'no-such-dir', 'report.html');
    expect(await runSimulateCommand(['--policy', 'keda', '--html', missing], io)).toBe(2);
    expect(serr).toMatch(/--html: cannot write .*report\.html \(ENOENT/);
    expect(sout).toBe(''); // nothing ran
    expect(await runSimulateCommand(['--policy', 'keda', '--html', dir], io)).toBe(2);
    expect(serr).toMatch(/--html: .* is a directory/);
  });
});
