/**
 * The CLI as npm installs it: `node_modules/.bin/azp-aci-autoscaler` is a symlink to the entry
 * file, so the process sees the symlink's path in argv[1], not `cli.js`. Run in a real child
 * process through a real symlink (tsx loads the TypeScript entry as node would load dist/src/cli.js).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
// tsx as an absolute URL: the child runs in a temp dir, where `--import tsx` would not resolve.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function runBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'azp-bin-'));
  const link = path.join(dir, 'azp-aci-autoscaler');
  symlinkSync(path.join(ROOT, 'src', 'cli.ts'), link);
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, link, ...args],
      { cwd: dir, env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('the installed bin (a symlink to the entry file)', () => {
  it('prints its help through the symlink', async () => {
    const r = await runBin(['--help']);
    expect(r.stdout).toMatch(/^usage: azp-aci-autoscaler <command>/);
    expect(r.code).toBe(0);
  });

  it('prints the package version with --version and -V', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await runBin([flag]);
      expect(r.stdout).toBe(`azp-aci-autoscaler ${VERSION}\n`);
      expect(r.code).toBe(0);
    }
  });

  it('exits 2 with the usage for an unknown command', async () => {
    const r = await runBin(['frobnicate']);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(r.code).toBe(2);
  });
});
