import { readFileSync } from 'node:fs';
import { issueLine, jsonErrorWhere } from './issues.js';
import { AZURE_REQUIRED, settingsSchema, type Settings } from './schema.js';

/** Every problem with the settings, each naming the setting; values are never echoed. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      `Invalid settings (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadOptions {
  /** Require the settings that only a real Azure deployment needs (Key Vault, subscription, ...). */
  requireAzure?: boolean;
  /** Reads POOLS_FILE; injectable for tests. */
  readFile?: (path: string) => string;
  /** Problems that disable a feature but not the app (e.g. the webhook). */
  onWarning?: (message: string) => void;
}

/** The text App Service leaves in a setting whose Key Vault reference did not resolve. */
const UNRESOLVED_REFERENCE = /^@Microsoft\.KeyVault\(/i;

type Env = Record<string, string | undefined>;

/** Whether `path` names a value in `root` (an unset field is "required", a wrong one is not). */
function isPresent(root: unknown, path: readonly PropertyKey[]): boolean {
  let at: unknown = root;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return false;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at !== undefined;
}

/** JSON.parse's message quotes the input on Node 20+; keep only where it stopped. */
function jsonProblem(setting: string, text: string, err: unknown): string {
  const where = jsonErrorWhere(text, err);
  return `${setting}: is not valid JSON${where ? ` (${where})` : ''}`;
}

/** Parse the app settings (process.env or local.settings.json Values) once, at the edge. */
export function loadSettings(env: Env, options: LoadOptions = {}): Settings {
  const problems: string[] = [];
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) {
    // Empty app settings are common in portals and templates: treat them as unset.
    if (v !== undefined && v !== '') input[k] = v;
  }

  let pools: unknown = undefined;
  const poolsRaw = env.POOLS?.trim();
  const poolsFile = env.POOLS_FILE?.trim();
  if (poolsRaw && poolsFile) problems.push('POOLS_FILE: set either POOLS or POOLS_FILE, not both');
  if (poolsRaw) {
    try {
      pools = JSON.parse(poolsRaw);
    } catch (err) {
      problems.push(jsonProblem('POOLS', poolsRaw, err));
    }
  } else if (poolsFile) {
    let text: string | undefined;
    try {
      text = (options.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(poolsFile);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      problems.push(`POOLS_FILE: cannot read the file${code ? ` (${code})` : ''}`);
    }
    if (text !== undefined) {
      try {
        pools = JSON.parse(text);
      } catch (err) {
        problems.push(jsonProblem('POOLS_FILE', text, err));
      }
    }
  } else {
    problems.push('POOLS: is required (a JSON array of pool profiles), or set POOLS_FILE');
  }
  // An unresolved reference is readable, predictable text, never a password. Scaling goes on
  // (timer), the webhook refuses every delivery until the reference resolves.
  if (typeof input.WEBHOOK_PASSWORD === 'string' && UNRESOLVED_REFERENCE.test(input.WEBHOOK_PASSWORD.trim())) {
    delete input.WEBHOOK_PASSWORD;
    delete input.WEBHOOK_USERNAME;
    options.onWarning?.(
      "WEBHOOK_PASSWORD: the Key Vault reference did not resolve (check the secret and the identity's access); the webhook refuses deliveries until it does",
    );
  }
  // Checked here rather than in the schema so it is reported even when other settings are wrong.
  if (Boolean(input.WEBHOOK_USERNAME) !== Boolean(input.WEBHOOK_PASSWORD)) {
    problems.push('WEBHOOK_PASSWORD: WEBHOOK_USERNAME and WEBHOOK_PASSWORD must be set together');
  }
  delete input.POOLS_FILE;
  input.POOLS = pools ?? [];

  const result = settingsSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) {
      // The missing-POOLS problem is already reported above.
      if (issue.path[0] === 'POOLS' && issue.path.length === 1 && pools === undefined) continue;
      // zod does not keep the input in its issues (and must not: values are never echoed); look it up.
      const message = issue.code === 'invalid_type' && !isPresent(input, issue.path) ? 'is required' : issue.message;
      problems.push(...issueLine(issue, settingsSchema, [], message));
    }
  }
  if (options.requireAzure) {
    for (const key of AZURE_REQUIRED) {
      if (!input[key]) problems.push(`${key}: is required to run against Azure`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}
