/**
 * infra/README.md's cost figures are what `npm run cost` prints: the quoted block must be a
 * subset of the command's output, so a change of prices or formula shows up here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function cost(args: string[]): { code: number; out: string } {
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/cost.ts', ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
}

describe('npm run cost', () => {
  it('prints the figures infra/README.md quotes', () => {
    const readme = readFileSync(path.join(ROOT, 'infra', 'README.md'), 'utf8');
    const block = /```text\n\$ npm run cost\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'infra/README.md quotes `npm run cost`').toBeDefined();
    const out = cost([]).out.split('\n');
    for (const line of block!.trim().split('\n')) expect(out).toContain(line);
  });

  it('computes per 1,000 agent-hours and the idle month from the prices given', () => {
    const r = cost(['--cpu', '1', '--memory-gb', '2', '--vcpu-second', '0.00001', '--gb-second', '0.000001', '--registry-day', '0.1', '--flex-gb-second', '0.000026', '--flex-execution', '0.0000004', '--prices-date', '2026-12-01']);
    expect(r.code).toBe(0);
    // 3600 × (1 × 0.00001 + 2 × 0.000001) = 0.0432 per hour
    expect(r.out).toContain('per 1,000 agent-hours: $43.20');
    expect(r.out).toContain('dated 2026-12-01');
    // 43,200 passes × 0.5 s × 2.048 GB = 44,237 GB-s → $1.15 + $0.02; registry $3.00
    expect(r.out).toContain('$4.17');
  });

  it('refuses a price that is not a number, exit 2', () => {
    const r = cost(['--vcpu-second', 'cheap']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('--vcpu-second: must be a number');
  });
});
