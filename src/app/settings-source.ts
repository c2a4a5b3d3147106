/**
 * Where the CLI finds its settings: the environment, plus `local.settings.json` Values the way
 * `func start` applies them (a variable already set in the environment wins).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export function settingsEnv(env: NodeJS.ProcessEnv, cwd: string, file?: string): { env: Record<string, string | undefined>; source?: string } {
  const candidate = file ? path.resolve(cwd, file) : path.join(cwd, 'local.settings.json');
  if (!existsSync(candidate)) {
    if (file) throw new Error(`settings file not found: ${file}`);
    return { env: { ...env } };
  }
  let values: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(readFileSync(candidate, 'utf8')) as { Values?: Record<string, unknown> };
    values = parsed.Values ?? {};
  } catch {
    throw new Error(`${path.basename(candidate)} is not valid JSON`);
  }
  const merged: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(values)) if (typeof v === 'string') merged[k] = v;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return { env: merged, source: candidate };
}
