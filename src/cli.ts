#!/usr/bin/env node
/**
 * azp-aci-autoscaler command line.
 *   simulate [options]                 run the real controller against a simulated Azure DevOps + ACI
 *   reconcile [--dry-run] [--pool P]   one pass with the Functions app's settings
 *   status [--json]                    the per-profile view (observe + plan, acts on nothing)
 * Settings come from the environment and ./local.settings.json Values (as `func start` reads them).
 */
import { parseArgs } from 'node:util';
import { createRuntime, type PassResult, type Runtime } from './app/runtime.js';
import { settingsEnv } from './app/settings-source.js';
import { formatStatusTable } from './app/status.js';
import { ConfigError } from './config/load.js';
import { consoleSink, createLogger, errorText } from './util/log.js';

const USAGE = `usage: azp-aci-autoscaler <command> [options]

commands:
  simulate [--trace NAME|FILE] [--policy ours|keda|vmss|all] [--seed N] [--json] [--html FILE]
           run the real controller against a simulated Azure DevOps org and ACI (no Azure needed)
  reconcile [--dry-run] [--pool NAME] [--json] [--settings FILE]
           run one reconcile pass with the app settings (env + local.settings.json)
  status [--json] [--settings FILE]
           print the per-profile view: queued, running, idle, starting, busy, standby, back-off
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'simulate') {
    const { runSimulateCommand } = await import('./sim/command.js');
    return runSimulateCommand(rest);
  }
  if (command !== 'reconcile' && command !== 'status') {
    process.stderr.write(`unknown command '${command}'\n\n${USAGE}`);
    return 2;
  }
  let values: { 'dry-run'?: boolean; pool?: string[]; json?: boolean; settings?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: { 'dry-run': { type: 'boolean' }, pool: { type: 'string', multiple: true }, json: { type: 'boolean' }, settings: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${errorText(err)}\n\n${USAGE}`);
    return 2;
  }
  let env: Record<string, string | undefined>;
  try {
    ({ env } = settingsEnv(process.env, process.cwd(), values.settings));
  } catch (err) {
    process.stderr.write(`${errorText(err)}\n`);
    return 2;
  }
  const logger = createLogger(values.json ? (_l, line) => process.stderr.write(`${line}\n`) : consoleSink, { run: command });
  // The same runtime as the Functions app: per-pool lease and shared back-off state in
  // AzureWebJobsStorage when it is configured, so the CLI never acts alongside a deployment.
  const results: PassResult[] = [];
  let rt: Runtime;
  try {
    rt = createRuntime(env, { logger, localLeaseWithoutStorage: true, onPass: (r) => results.push(r) });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 2;
  }
  if (command === 'status') {
    const report = await rt.status();
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatusTable(report)}\n`);
    return report.error || report.pools.some((p) => !p.ok) ? 1 : 0;
  }
  if (values['dry-run'] === true || rt.settings.DRY_RUN) {
    const result = await rt.dryRun(values.pool);
    if (values.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return result.error || result.pools.some((p) => !p.ok) ? 1 : 0;
  }
  if (!rt.sharedLease) logger.warn('no AzureWebJobsStorage: this pass is not coordinated with a running deployment');
  await rt.coordinator.requestAll(values.pool ?? rt.pools, 'cli');
  const handedOver = rt.coordinator.views().filter((v) => v.handedOver > 0).map((v) => v.pool);
  if (handedOver.length > 0) logger.info('a running instance holds the lease: the pass was handed to it', { pools: handedOver });
  if (values.json) process.stdout.write(`${JSON.stringify({ results, handedOver }, null, 2)}\n`);
  const failed = results.some((r) => r.error || r.pools.some((p) => !p.ok)) || rt.coordinator.views().some((v) => v.lastError);
  return failed ? 1 : 0;
}

const invokedDirectly = process.argv[1] && /cli\.(ts|js)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`azp-aci-autoscaler: ${errorText(err)}\n`);
      process.exit(1);
    },
  );
}
