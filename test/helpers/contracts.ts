import { readFileSync } from 'node:fs';
import path from 'node:path';
import { contractsDir } from '../contract/paths.js';

/** Reads a JSON file of contracts/ (or CONTRACTS_DIR); strips a UTF-8 BOM. */
export function readContractJson<T = unknown>(relative: string): T {
  const text = readFileSync(path.join(contractsDir(), relative), 'utf8').replace(/^\uFEFF/, '');
  return JSON.parse(text) as T;
}
