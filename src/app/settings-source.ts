/**
 * Where the CLI finds its settings: the environment, plus `local.settings.json` Values the way
 * `func start` applies them (a variable already set in the environment wins).
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** A settings file that cannot be used; the message names the file and what is wrong with it. */
export class SettingsFileError extends Error {
  override readonly name = 'SettingsFileError';
}

export function settingsEnv(
  env: NodeJS.ProcessEnv,
  cwd: string,
  file?: string,
): { env: Record<string, string | undefined>; source?: string } {
  const candidate = file ? path.resolve(cwd, file) : path.join(cwd, 'local.settings.json');
  const shown = file ?? 'local.settings.json';
  let stat;
  try {
    stat = statSync(candidate);
  } catch {
    if (file) throw new SettingsFileError(`settings file not found: ${file} (looked at ${candidate})`);
    return { env: { ...env } };
  }
  if (stat.isDirectory())
    throw new SettingsFileError(
      `${shown} is a directory, not a settings file (give the path of a local.settings.json)`,
    );
  let text: string;
  try {
    text = readFileSync(candidate, 'utf8');
  } catch (err) {
    throw new SettingsFileError(`cannot read ${shown}: ${(err as NodeJS.ErrnoException).code ?? 'read failed'}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    // JSON.parse names the position, never more than a few characters of the text.
    const where =
      err instanceof SyntaxError ? / at position \d+.*$|line \d+ column \d+/.exec(err.message)?.[0] : undefined;
    throw new SettingsFileError(`${shown} is not valid JSON${where ? ` (${where.trim()})` : ''}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new SettingsFileError(`${shown} must be a JSON object like local.settings.sample.json`);
  const valuesRaw = (parsed as { Values?: unknown }).Values;
  if (valuesRaw === undefined)
    throw new SettingsFileError(
      `${shown} has no "Values" object (the app settings go there, as in local.settings.sample.json)`,
    );
  if (!valuesRaw || typeof valuesRaw !== 'object' || Array.isArray(valuesRaw))
    throw new SettingsFileError(`${shown}: "Values" must be an object of string settings`);
  const values = valuesRaw as Record<string, unknown>;
  const notStrings = Object.entries(values)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k]) => k);
  if (notStrings.length > 0)
    throw new SettingsFileError(
      `${shown}: every value in "Values" is a string, as func start reads them; not: ${notStrings.join(', ')}`,
    );
  const merged: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(values)) merged[k] = v as string;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return { env: merged, source: candidate };
}
