/**
 * Errors a first run meets, each naming the setting or command that fixes it, printed once: an
 * unreachable AZP_URL, a mistyped vault (KEY_VAULT_URL), no Azure login (one line, not the whole
 * credential chain), `status` without an empty table or a reason repeated per create, and an
 * unwritable `simulate --html` path refused before the run. Real entry (`main`), real adapters,
 * local HTTPS fakes (harness: test/helpers/cli-harness.ts).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hintsFor } from '../../src/app/hints.js';
import { main } from '../../src/cli.js';
import { runSimulateCommand } from '../../src/sim/command.js';
import { credentialChainFailure, POOL, useCliHarness } from '../helpers/cli-harness.js';

const cli = useCliHarness();
const { out, text, settingsFile, ctx } = cli;

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
    cli.stack.credential.fail(credentialChainFailure());
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
    cli.stack.azdo.inject({ status: 401, times: Infinity });
    expect(await main(['status', '--settings', settingsFile()], ctx())).toBe(1);
    expect(out.join('')).not.toMatch(/^POOL\s+PROFILE/m);
    expect(out.join('')).toMatch(/cannot observe/);
  });

  it('status says a planned create once, with the count', async () => {
    for (let i = 0; i < 3; i++) cli.stack.azdo.queueJob(POOL, []);
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
    const missing = path.join(cli.dir, 'no-such-dir', 'report.html');
    expect(await runSimulateCommand(['--policy', 'keda', '--html', missing], io)).toBe(2);
    expect(serr).toMatch(/--html: cannot write .*report\.html \(ENOENT/);
    expect(sout).toBe(''); // nothing ran
    expect(await runSimulateCommand(['--policy', 'keda', '--html', cli.dir], io)).toBe(2);
    expect(serr).toMatch(/--html: .* is a directory/);
  });
});
