import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { settingsEnv } from '../../src/app/settings-source.js';
import { formatStatusTable, type StatusReport } from '../../src/app/status.js';
import { main } from '../../src/cli.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  return { out, err };
}

afterEach(() => vi.restoreAllMocks());

describe('cli', () => {
  it('usage errors exit 2 with the usage text', async () => {
    const { err } = capture();
    expect(await main(['frobnicate'])).toBe(2);
    expect(err.join('')).toMatch(/unknown command 'frobnicate'[\s\S]*usage: azp-aci-autoscaler/);
    expect(await main(['reconcile', '--bogus'])).toBe(2);
  });

  it('reconcile with bad settings exits 2 naming every bad setting, without values', async () => {
    const { err } = capture();
    const dir = mkdtempSync(path.join(tmpdir(), 'azp-cli-'));
    const file = path.join(dir, 'settings.json');
    writeFileSync(
      file,
      JSON.stringify({ Values: { AZP_URL: 'http://example.com', POOLS: '[]', AZP_AUTH: 'canary-secret-value-123' } }),
    );
    expect(await main(['reconcile', '--settings', file])).toBe(2);
    const text = err.join('');
    expect(text).toContain('AZP_URL: must be an https URL');
    expect(text).toContain('POOLS: must list at least one pool profile');
    expect(text).toContain('KEY_VAULT_URL: is required to run against Azure');
    expect(text).not.toContain('canary-secret-value-123');
  });

  it('reads local.settings.json Values like func start; the environment wins', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'azp-cli-'));
    writeFileSync(
      path.join(dir, 'local.settings.json'),
      JSON.stringify({ Values: { AZP_URL: 'https://dev.azure.com/a', DRY_RUN: 'true' } }),
    );
    const { env, source } = settingsEnv({ AZP_URL: 'https://dev.azure.com/b' }, dir);
    expect(source).toBe(path.join(dir, 'local.settings.json'));
    expect(env).toMatchObject({ AZP_URL: 'https://dev.azure.com/b', DRY_RUN: 'true' });
    expect(settingsEnv({ X: '1' }, mkdtempSync(path.join(tmpdir(), 'azp-cli-'))).env).toEqual({ X: '1' });
    expect(() => settingsEnv({}, dir, 'missing.json')).toThrow(/settings file not found/);
  });

  it('status table: one row per profile and what the next pass would do', () => {
    const report: StatusReport = {
      generatedAt: '2026-11-28T10:00:00Z',
      pools: [
        {
          pool: 'aci',
          ok: true,
          unmatchedJobs: 1,
          next: ['create linux: queued 1'],
          views: [
            {
              pool: 'aci',
              profile: 'linux',
              queued: 1,
              running: 2,
              idle: 0,
              starting: 1,
              busy: 2,
              finished: 0,
              failedBoot: 0,
              standbyTarget: 0,
              live: 3,
              maxAgents: 10,
              creates: 1,
              deletes: 0,
              placeholder: 'present',
            },
          ],
        },
        { pool: 'down', ok: false, error: 'AzdoError: 401', views: [], unmatchedJobs: 0, next: [] },
      ],
    };
    const lines = formatStatusTable(report).split('\n');
    expect(lines[0]).toMatch(/^POOL\s+PROFILE\s+QUEUED\s+RUNNING\s+IDLE\s+STARTING\s+BUSY/);
    expect(lines[1]).toMatch(/^aci\s+linux\s+1\s+2\s+0\s+1\s+2\s+0\s+0\s+0\s+3\/10\s+present\s+-$/);
    expect(lines).toContain('pool down: cannot observe: AzdoError: 401');
    expect(lines).toContain('pool aci: 1 queued job(s) no profile can serve');
    expect(lines).toContain('pool aci: next pass would create linux: queued 1');
  });
});
