import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shared contracts folder: ../shared/contracts beside the clone, or CONTRACTS_DIR. */
export const contractsDir = process.env.CONTRACTS_DIR ?? path.resolve(repoRoot, '../shared/contracts');

export function readContractJson<T = unknown>(relative: string): T {
  const text = readFileSync(path.join(contractsDir, relative), 'utf8').replace(/^\uFEFF/, '');
  return JSON.parse(text) as T;
}
