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
import { ensureJobHooks, listProjects, shownUrl } from '../azdo/hooks.js';
import { problemText } from './report.js';
import { azdoClientFor, formatChecks, runDoctor } from './index.js';

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

export const SETUP_WEBHOOK_USAGE = `usage: azp-aci-autoscaler setup-webhook --url FUNCTION_URL [--project NAME]... [--settings FILE]

Creates or updates, in every project of the organization (or each --project), one service-hook
subscription: publisher "pipelines", event "Run job state changed"
(ms.vss-pipelines.job-state-changed-event), consumer Web Hooks (httpRequest) to FUNCTION_URL with
the Basic credentials WEBHOOK_USERNAME / WEBHOOK_PASSWORD (never printed). Run it again at will:
a project keeps one subscription; one of ours pointing elsewhere is corrected in place.
Needs the app settings (as doctor) and a PAT allowed to manage service hooks (or AZP_AUTH=entra).

options:
  --url URL          the servicehook function URL, https (with ?code=<function key> when the function needs it)
  --project NAME     only this project (repeatable)
  --settings FILE    a local.settings.json to read Values from (default ./local.settings.json)
  -h, --help         this help
exit: 0 done, 1 Azure DevOps or Key Vault refused or failed, 2 bad usage or settings
`;

export async function runSetupWebhookCommand(argv: string[], ctx: CommandContext = {}): Promise<number> {
  const usage = (msg: string) => {
    process.stderr.write(`azp-aci-autoscaler setup-webhook: ${msg}\n\n${SETUP_WEBHOOK_USAGE}`);
    return 2;
  };
  let values: { url?: string; project?: string[]; settings?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        project: { type: 'string', multiple: true },
        settings: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    return usage(err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    process.stdout.write(SETUP_WEBHOOK_USAGE);
    return 0;
  }
  if (!values.url) return usage('--url is required');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    return usage('--url is not a URL');
  }
  // Azure DevOps sends Basic credentials only over HTTPS (contracts/servicehooks/README.md).
  if (url.protocol !== 'https:')
    return usage('--url must be https (Azure DevOps sends Basic credentials only over HTTPS)');
  const loaded = load('setup-webhook', ctx, values.settings);
  if ('code' in loaded) return loaded.code;
  const { settings } = loaded;
  if (!settings.WEBHOOK_USERNAME || !settings.WEBHOOK_PASSWORD) {
    process.stderr.write(
      'azp-aci-autoscaler setup-webhook: WEBHOOK_USERNAME and WEBHOOK_PASSWORD must be set: the subscription sends them as Basic credentials\n',
    );
    return 2;
  }
  const rt = ctx.runtime ?? {};
  try {
    const azdo = await azdoClientFor(settings, {
      ...(rt.credential ? { credential: rt.credential } : {}),
      ...(rt.azure ? { azure: rt.azure } : {}),
      ...(rt.azdoDispatcher ? { dispatcher: rt.azdoDispatcher } : {}),
    });
    const all = await listProjects(azdo);
    let projects = all;
    if (values.project?.length) {
      const unknown = values.project.filter((n) => !all.some((p) => p.name.toLowerCase() === n.toLowerCase()));
      if (unknown.length > 0) {
        process.stderr.write(
          `azp-aci-autoscaler setup-webhook: unknown project ${unknown.map((n) => `'${n}'`).join(', ')}: the organization has ${all.map((p) => `'${p.name}'`).join(', ') || 'no project visible to this credential'}\n`,
        );
        return 2;
      }
      projects = all.filter((p) => values.project!.some((n) => n.toLowerCase() === p.name.toLowerCase()));
    }
    const results = await ensureJobHooks(azdo, projects, {
      url: values.url,
      username: settings.WEBHOOK_USERNAME,
      password: settings.WEBHOOK_PASSWORD,
    });
    const lines = results.map(
      (r) =>
        `setup-webhook: project '${r.project}': ${r.action === 'corrected' ? `corrected (pointed at ${r.was})` : r.action}` +
        `${r.removed > 0 ? `, ${r.removed} duplicate(s) removed` : ''}`,
    );
    lines.push(
      `setup-webhook: ${results.length} project(s): job-state-changed Web Hook to ${shownUrl(values.url)} with Basic user '${settings.WEBHOOK_USERNAME}'`,
    );
    process.stdout.write(`${scrub(lines.join('\n'))}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`azp-aci-autoscaler setup-webhook: ${problemText(err)}\n`);
    return 1;
  }
}
