/**
 * The CLI harness shared by test/unit/cli-cases.test.ts and test/unit/cli-errors.test.ts: the
 * HTTPS fake stack with one pool, a temp directory, stdout/stderr (and console.*) captured per
 * test, a settings file for the fakes, and the real adapters' runtime pointed at the fakes.
 * `useCliHarness()` registers the vitest hooks; call it once at the top of a test file.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AggregateAuthenticationError, CredentialUnavailableError } from '@azure/identity';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { CliContext } from '../../src/cli.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { captureOutput } from './capture-output.js';

export const PAT = 'canary-pat-cli-8d41f0b7a93c25e6d1f4a8b0c7e92d35';
export const WEBHOOK_PASSWORD = 'canary-secret-cli-hook-4e7a1c9b2f';
export const POOL = 'aci-cli';

export interface CliHarness {
  /** The fake stack (set in beforeAll). */
  readonly stack: FakeStack;
  /** The temp directory, the CLI's cwd (set in beforeAll). */
  readonly dir: string;
  /** What this test wrote to stdout (console.log included); emptied before each test. */
  readonly out: string[];
  /** What this test wrote to stderr (console.warn/error included); emptied before each test. */
  readonly err: string[];
  /** stdout then stderr. */
  text(): string;
  /** A settings file for the fakes; `extra` adds or overrides Values. */
  settingsFile(extra?: Record<string, string>): string;
  /** The CLI context: the fakes' credential, CA and dispatcher; `extra` overrides runtime parts. */
  ctx(extra?: Partial<CliContext['runtime']>): CliContext;
}

export function useCliHarness(): CliHarness {
  let stack: FakeStack | undefined;
  let dir: string | undefined;
  // console.* of the logger ends in process.stdout/stderr.write too.
  const { out, err } = captureOutput({ console: true });

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
  afterEach(() => {
    h.stack.azdo.clearFaults();
    h.stack.kv.clearFaults();
    h.stack.credential.heal();
    h.stack.arm.clearFaults();
  });

  const h: CliHarness = {
    get stack() {
      if (!stack) throw new Error('useCliHarness: the fake stack starts in beforeAll');
      return stack;
    },
    get dir() {
      if (!dir) throw new Error('useCliHarness: the directory is made in beforeAll');
      return dir;
    },
    out,
    err,
    text: () => `${out.join('')}${err.join('')}`,
    settingsFile(extra = {}) {
      const file = path.join(h.dir, `settings-${Math.random().toString(36).slice(2)}.json`);
      const values = h.stack.env({
        POOLS: JSON.stringify([
          { name: 'linux', pool: POOL, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false },
        ]),
        WEBHOOK_USERNAME: 'azp-hook',
        WEBHOOK_PASSWORD,
        AUTOSCALER_ID: 'cli-cases',
        ...extra,
      });
      writeFileSync(file, JSON.stringify({ IsEncrypted: false, Values: values }));
      return file;
    },
    ctx(extra = {}) {
      return {
        env: {},
        cwd: h.dir,
        runtime: {
          credential: h.stack.credential,
          azure: { ca: h.stack.cert.cert, retryOptions: { maxRetries: 0 } },
          azdoDispatcher: h.stack.dispatcher,
          ...extra,
        },
      };
    },
  };
  return h;
}

/** The chain DefaultAzureCredential (@azure/identity 4.13.1) reports on a machine with no login, as recorded here. */
export function credentialChainFailure(): Error {
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
