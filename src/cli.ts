#!/usr/bin/env node
/**
 * azp-aci-autoscaler command line.
 *   simulate [options]                 run the real controller against a simulated Azure DevOps + ACI
 *   reconcile [--dry-run] [--pool P]   one pass with the Functions app's settings
 *   status [--json]                    the per-profile view (observe + plan, acts on nothing)
 * Settings come from the environment and ./local.settings.json Values (as `func start` reads them).
 */
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { doneLines, hintsOf, passProblems, problemLines, statusProblems, unknownPools } from './app/cli-report.js';
import { createRuntime, type PassResult, type Runtime, type RuntimeOverrides } from './app/runtime.js';
import { settingsEnv } from './app/settings-source.js';
import { formatStatusTable } from './app/status.js';
import { ConfigError } from './config/load.js';
import { consoleSink, createLogger, errorText } from './util/log.js';

const NEEDS = `needs: AZP_URL, POOLS (or POOLS_FILE), KEY_VAULT_URL, AZURE_SUBSCRIPTION_ID, ACI_RESOURCE_GROUP,
ACI_LOCATION (env or --settings / ./local.settings.json) and an Azure credential (az login).`;

const RECONCILE_USAGE = `usage: azp-aci-autoscaler reconcile [--dry-run] [--pool NAME]... [--json] [--settings FILE]

Runs one reconcile pass for every configured pool (or the --pool ones): creates and deletes
container groups, unless --dry-run or DRY_RUN=true (then it plans and acts on nothing).
With AzureWebJobsStorage it takes the same per-pool lease as the deployed app (Azurite must run
for UseDevelopmentStorage=true); without it the lease is held in this process only.
${NEEDS}

options:
  --dry-run          plan and log, act on nothing
  --pool NAME        only this pool (repeatable); must be a pool of POOLS
  --json             print the pass results as JSON on stdout (logs go to stderr)
  --settings FILE    a local.settings.json to read Values from (default ./local.settings.json)
  -h, --help         this help
exit: 0 ok, 1 a pass or action failed, 2 bad usage or settings
`;

const STATUS_USAGE = `usage: azp-aci-autoscaler status [--json] [--settings FILE]

Prints the per-profile view (queued, running, idle, starting, busy, standby, back-off) and what
the next pass would do. Reads only: it writes nothing to Azure or to storage. Without
AzureWebJobsStorage (or when it cannot be read) the BACKOFF column is "unknown" and says why.
${NEEDS}

options:
  --json             print the report as JSON
  --settings FILE    a local.settings.json to read Values from (default ./local.settings.json)
  -h, --help         this help
exit: 0 ok, 1 a pool could not be observed, 2 bad usage or settings
`;

const USAGE = `usage: azp-aci-autoscaler <command> [options]

commands:
  simulate [--trace NAME|FILE] [--policy ours|keda|vmss|all] [--seed N] [--json] [--html FILE]
           run the real controller against a simulated Azure DevOps org and ACI (no Azure needed)
  reconcile [--dry-run] [--pool NAME] [--json] [--settings FILE]
           run one reconcile pass with the app settings (env + local.settings.json)
  status [--json] [--settings FILE]
           print the per-profile view: queued, running, idle, starting, busy, standby, back-off
  doctor [--url FUNCTION_URL] [--json] [--settings FILE]
           check every precondition against the real services (writes nothing): ok / warn / FAIL
  setup-webhook --url FUNCTION_URL [--project NAME]... [--settings FILE]
           create or correct the job-state-changed service hook in every project (or the named ones)
  --version
           print the version

\`azp-aci-autoscaler <command> --help\` says what each command needs.
`;

/** Where the CLI reads its settings and how it reaches Azure (tests point it at local fakes). */
export interface CliContext {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  runtime?: RuntimeOverrides;
}

function usageError(command: string, message: string, usage: string): number {
  process.stderr.write(`azp-aci-autoscaler ${command}: ${message}\n\n${usage}`);
  return 2;
}

export async function main(argv: string[], ctx: CliContext = {}): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-V') {
    process.stdout.write(`azp-aci-autoscaler ${packageVersion()}\n`);
    return 0;
  }
  if (command === 'simulate') {
    const { runSimulateCommand } = await import('./sim/command.js');
    return runSimulateCommand(rest);
  }
  if (command === 'doctor') {
    const { runDoctorCommand } = await import('./doctor/command.js');
    return runDoctorCommand(rest, ctx);
  }
  if (command === 'setup-webhook') {
    const { runSetupWebhookCommand } = await import('./doctor/command.js');
    return runSetupWebhookCommand(rest, ctx);
  }
  if (command !== 'reconcile' && command !== 'status') {
    process.stderr.write(`unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  const usage = command === 'reconcile' ? RECONCILE_USAGE : STATUS_USAGE;
  let values: { 'dry-run'?: boolean; pool?: string[]; json?: boolean; settings?: string; help?: boolean };
  try {
    const common = {
      help: { type: 'boolean', short: 'h' },
      json: { type: 'boolean' },
      settings: { type: 'string' },
    } as const;
    const reconcileOnly = { 'dry-run': { type: 'boolean' }, pool: { type: 'string', multiple: true } } as const;
    ({ values } =
      command === 'reconcile'
        ? parseArgs({ args: rest, options: { ...common, ...reconcileOnly }, strict: true })
        : parseArgs({ args: rest, options: common, strict: true }));
  } catch (err) {
    return usageError(command, err instanceof Error ? err.message : String(err), usage);
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  let env: Record<string, string | undefined>;
  try {
    ({ env } = settingsEnv(ctx.env ?? process.env, ctx.cwd ?? process.cwd(), values.settings));
  } catch (err) {
    process.stderr.write(`azp-aci-autoscaler ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const logger = errorsInSummary(
    createLogger(values.json ? (_l, line) => process.stderr.write(`${line}\n`) : consoleSink, { run: command }),
  );
  // The same runtime as the Functions app: per-pool lease and shared back-off state in
  // AzureWebJobsStorage when it is configured, so the CLI never acts alongside a deployment.
  const results: PassResult[] = [];
  let rt: Runtime;
  try {
    rt = createRuntime(env, {
      logger,
      localLeaseWithoutStorage: true,
      oneOff: true,
      ...ctx.runtime,
      onPass: (r) => results.push(r),
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`azp-aci-autoscaler ${command}: ${err.message}\n`);
    return 2;
  }
  if (command === 'status') {
    const report = await rt.status();
    const problems = statusProblems(report);
    const hints = hintsOf(problems);
    if (values.json) process.stdout.write(`${JSON.stringify({ ...report, hints }, null, 2)}\n`);
    else process.stdout.write(`${[formatStatusTable(report), ...hints.map((h) => `hint: ${h.text}`)].join('\n')}\n`);
    return report.error || report.pools.some((p) => !p.ok) ? 1 : 0;
  }
  const unknown = unknownPools(values.pool ?? [], rt.pools);
  if (unknown.length > 0) {
    const msg = `unknown pool${unknown.length > 1 ? 's' : ''} ${unknown.map((p) => `'${p}'`).join(', ')}: the settings configure ${rt.pools.map((p) => `'${p}'`).join(', ')}`;
    process.stderr.write(`azp-aci-autoscaler reconcile: ${msg}\n`);
    return 2;
  }
  if (values['dry-run'] === true || rt.settings.DRY_RUN) {
    const result = await rt.dryRun(values.pool);
    return report(values.json === true, [result], rt);
  }
  if (!rt.sharedLease) logger.warn('no AzureWebJobsStorage: this pass is not coordinated with a running deployment');
  await rt.coordinator.requestAll(values.pool ?? rt.pools, 'cli');
  const handedOver = rt.coordinator
    .views()
    .filter((v) => v.handedOver > 0)
    .map((v) => v.pool);
  if (handedOver.length > 0)
    logger.info('a running instance holds the lease: the pass was handed to it', { pools: handedOver });
  return report(values.json === true, results, rt, handedOver);
}

/** The end of a reconcile: JSON on stdout, or a summary on stderr; every failure with its hints. */
function report(json: boolean, results: PassResult[], rt: Runtime, handedOver: string[] = []): number {
  const problems = passProblems(results, rt.coordinator.views());
  const hints = hintsOf(problems);
  if (json) process.stdout.write(`${JSON.stringify({ results, handedOver, problems, hints }, null, 2)}\n`);
  else {
    const lines = [
      ...doneLines(results).map((l) => `reconcile: ${l}`),
      ...handedOver.map((p) => `reconcile: pool ${p}: handed to the instance that holds its lease`),
    ];
    lines.push(...problemLines('reconcile', problems));
    if (lines.length > 0) process.stderr.write(`${lines.join('\n')}\n`);
  }
  return problems.length > 0 || results.some((r) => r.error || r.pools.some((p) => !p.ok)) ? 1 : 0;
}

type Logger = ReturnType<typeof createLogger>;

/** A pass's failures are printed in full once, in the summary with their hints: log lines name
 * them without repeating the text (the same error was printed twice). */
function errorsInSummary(inner: Logger): Logger {
  const brief =
    (log: Logger['warn']): Logger['warn'] =>
    (msg, fields) =>
      log(msg, fields?.error === undefined ? fields : { ...fields, error: '(in the summary below)' });
  return {
    info: inner.info,
    warn: brief(inner.warn),
    error: brief(inner.error),
    child: (fields) => errorsInSummary(inner.child(fields)),
  };
}

/** The version in our package.json: the nearest one above this file (src/ or dist/src/). */
function packageVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'azp-aci-autoscaler' && pkg.version) return pkg.version;
    } catch {
      // no package.json here: look one level up
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/** Whether node was started on this file: npm installs the bin as a symlink (node_modules/.bin/
 * azp-aci-autoscaler), so argv[1] is compared with this module's path after resolving links. */
function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`azp-aci-autoscaler: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
