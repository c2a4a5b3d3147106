/**
 * The `doctor` and `setup-webhook` commands: argument parsing, settings, output and exit codes.
 * src/cli.ts only dispatches here.
 */
import { parseArgs } from 'node:util';
import type { TokenCredential } from '@azure/core-auth';
import type { Dispatcher } from 'undici';
import { settingsEnv, SettingsFileError } from '../app/settings-source.js';
import type { AzureClientOptions } from '../azure/clients.js';
import { ConfigError, loadSettings } from '../config/load.js';
import type { Settings } from '../config/schema.js';
import { registerSecret, scrub } from '../util/log.js';
import { formatChecks, runDoctor } from './index.js';

/** What the CLI hands over: where settings come from and how to reach Azure (tests: the fakes). */
export interface CommandContext {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  runtime?: { credential?: TokenCredential; azure?: AzureClientOptions; azdoDispatcher?: Dispatcher };
}

export const DOCTOR_USAGE = `usage: azp-aci-autoscaler doctor [--url FUNCTION_URL] [--json] [--settings FILE]

Checks every precondition of a pass against the real services, with the settings a pass reads,
and writes nothing: the Azure DevOps URL and credential, each pool and the right to manage its
agents, the PAT's expiry (the Key Vault secret's expiry date), the Key Vault secret, the
Microsoft.ContainerInstance provider, this identity's permissions on the resource group, ACI quota
per region, the cached Windows base image, the agent image and its agent version, the service
hook of each project, the lease container and the reconcile queue.
One line per check: ok, warn or FAIL, with the fix under each problem.

options:
  --url URL          the function URL the service hooks must point at (else only their presence is checked)
  --json             print the checks as JSON
  --settings FILE    a local.settings.json to read Values from (default ./local.settings.json)
  -h, --help         this help
exit: 0 nothing failed, 1 a check failed, 2 bad usage or settings
`;

type Loaded = { settings: Settings } | { code: number };

function load(command: string, ctx: CommandContext, file: string | undefined): Loaded {
  try {
    const { env } = settingsEnv(ctx.env ?? process.env, ctx.cwd ?? process.cwd(), file);
    const settings = loadSettings(env, { requireAzure: true });
    registerSecret(settings.WEBHOOK_PASSWORD);
    return { settings };
  } catch (err) {
    if (!(err instanceof ConfigError) && !(err instanceof SettingsFileError)) throw err;
    process.stderr.write(`azp-aci-autoscaler ${command}: ${err.message}\n`);
    return { code: 2 };
  }
}

export async function runDoctorCommand(argv: string[], ctx: CommandContext = {}): Promise<number> {
  let values: { url?: string; json?: boolean; settings?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        json: { type: 'boolean' },
        settings: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(
      `azp-aci-autoscaler doctor: ${err instanceof Error ? err.message : String(err)}\n\n${DOCTOR_USAGE}`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write(DOCTOR_USAGE);
    return 0;
  }
  const loaded = load('doctor', ctx, values.settings);
  if ('code' in loaded) return loaded.code;
  const rt = ctx.runtime ?? {};
  const results = await runDoctor(loaded.settings, {
    ...(values.url ? { appUrl: values.url } : {}),
    ...(rt.credential ? { credential: rt.credential } : {}),
    ...(rt.azure ? { azure: rt.azure } : {}),
    ...(rt.azdoDispatcher ? { dispatcher: rt.azdoDispatcher } : {}),
  });
  if (values.json) process.stdout.write(`${scrub(JSON.stringify({ checks: results }, null, 2))}\n`);
  else process.stdout.write(`${formatChecks(results).join('\n')}\n`);
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}
