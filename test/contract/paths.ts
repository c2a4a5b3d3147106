/**
 * Where ../shared/contracts lives: CONTRACTS_DIR, else `<repo root>/../shared/contracts`
 * (CI clones the repo with shared/ beside it).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export function contractsDir(): string {
  const dir = process.env.CONTRACTS_DIR ? resolve(process.env.CONTRACTS_DIR) : resolve(repoRoot, '../shared/contracts');
  if (!existsSync(dir)) throw new Error(`contracts not found at ${dir}; set CONTRACTS_DIR`);
  return dir;
}
