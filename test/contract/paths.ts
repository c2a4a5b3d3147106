/**
 * Where the contracts live: CONTRACTS_DIR if set, else the repository's own `contracts/`
 * (see contracts/SOURCES.md), so a plain clone runs every test.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function contractsDir(): string {
  const dir = process.env.CONTRACTS_DIR ? resolve(process.env.CONTRACTS_DIR) : resolve(repoRoot, 'contracts');
  if (!existsSync(dir)) throw new Error(`contracts not found at ${dir}; set CONTRACTS_DIR`);
  return dir;
}
