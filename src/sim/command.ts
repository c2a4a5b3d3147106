/**
 * `azp-aci-autoscaler simulate [options]`: run the real controller and the baselines against the
 * simulated world and print a summary table (or JSON), optionally an HTML report.
 */
import { constants as fsConstants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ProfileConfig } from '../config/schema.js';
import { COLD_MODELS, type ColdModel } from './cold-path.js';
import { POLICIES, type PolicyName } from './controllers.js';
import { loadProfiles, profilesFor, withTargetWait } from './profiles.js';
import { frontierFor } from './frontier.js';
import { dayTable, htmlReport, summaryTable, type FrontierPoint } from './report.js';
import { runSimulation, type SimResult } from './run.js';
import { DEFAULT_TRACE, SAMPLE_TRACES, resolveTrace } from './trace.js';
import { fetchAciPrices } from '../pricing/retail-prices.js';
import type { AciPrices } from './billing.js';

export const SIMULATE_USAGE = `Usage: azp-aci-autoscaler simulate [options]

Runs the real reconcile pass against a simulated Azure DevOps org and ACI, next to models of
KEDA (ScaledJob) and VMSS elastic pools, and prints a summary per policy.

Options:
  --trace NAME|PATH     sample (${Object.keys(SAMPLE_TRACES).join(', ')}) or a .csv/.json file (default ${DEFAULT_TRACE})
  --policy P            ours | keda | vmss | all (default all)
  --seed N              seed for traces, latencies and failures (default 1)
  --hours H             simulate only H hours from the start
  --days N              run the trace on N consecutive days (a sample made anew each day from the
                        seed and the day, on weekdays for the working-day samples; default 1):
                        one controller throughout, so what it learns carries over; per-day p95/cost
  --profiles PATH       JSON array of pool profiles (default: built-in docker + java profiles;
                        mixed-os brings a Linux and a Windows profile)
  --target-wait SEC     set targetWaitSec (warm agents from a wait target) on every profile
  --cold-model M        published (default: create → online by OS and imageSizeMB) | legacy (one
                        distribution for every profile, as before issue 25)
  --json                print a machine-readable summary on stdout
  --html PATH           write a self-contained HTML report with charts
  --frontier            with --html: add the cost/p95-wait frontier (ours at targets 0/5/15/30/60 s,
                        MDP Automatic at each preference, the cheapest static standby meeting the target)
  --live-prices         bill ACI at the live Linux prices of --region from the public Azure Retail
                        Prices API (opt-in: the only network call; else the assumed prices of
                        src/sim/billing.ts, and those too when the API cannot be read)
  --region R            the region of --live-prices (default: ACI_LOCATION in the environment)
  -h, --help            this help
`;

/** The longest multi-day run (`--days`): four working weeks. */
export const MAX_DAYS = 28;

export interface SimulateIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Whether stderr is a terminal (progress bar) or not (plain lines). */
  isTty: boolean;
}

const defaultIo = (): SimulateIo => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  isTty: Boolean(process.stderr.isTTY),
});

function progressReporter(io: SimulateIo, label: string): (f: number) => void {
  let lastPlain = -1;
  return (f) => {
    const pct = Math.round(f * 100);
    if (io.isTty) {
      const width = 30;
      const full = Math.round(f * width);
      io.stderr(
        `\r${label.padEnd(6)} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(pct).padStart(3)}%${f >= 1 ? '\n' : ''}`,
      );
    } else if (pct >= lastPlain + 25 || (f >= 1 && lastPlain < 100)) {
      lastPlain = f >= 1 ? 100 : pct - (pct % 25);
      io.stderr(`simulate ${label}: ${f >= 1 ? 100 : lastPlain}%\n`);
    }
  };
}

export interface SimulateRun {
  trace: string;
  description: string;
  seed: number;
  results: SimResult[];
}

/** Why the report cannot be written to `file` (a directory, a missing or read-only folder), or undefined. */
async function unwritable(file: string): Promise<string | undefined> {
  try {
    if ((await stat(file)).isDirectory()) return `${file} is a directory: name the report file`;
    await access(file, fsConstants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return `cannot write ${file} (${code ?? (err as Error).message})`;
  }
  try {
    await access(path.dirname(path.resolve(file)), fsConstants.W_OK);
    return undefined;
  } catch (err) {
    return `cannot write ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}: its folder does not exist or is not writable)`;
  }
}

/** Parse arguments and run; returns the exit code (0 ok, 1 invariant violations, 2 usage/input errors). */
export async function runSimulateCommand(argv: string[], io: SimulateIo = defaultIo()): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string' },
        policy: { type: 'string' },
        seed: { type: 'string' },
        hours: { type: 'string' },
        days: { type: 'string' },
        profiles: { type: 'string' },
        'target-wait': { type: 'string' },
        'cold-model': { type: 'string' },
        json: { type: 'boolean' },
        html: { type: 'string' },
        frontier: { type: 'boolean' },
        'live-prices': { type: 'boolean' },
        region: { type: 'string' },
        'prices-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${SIMULATE_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(SIMULATE_USAGE);
    return 0;
  }
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) {
    io.stderr(`--seed must be a non-negative integer (got ${String(values.seed)})\n`);
    return 2;
  }
  const hours = values.hours === undefined ? undefined : Number(values.hours);
  if (hours !== undefined && !(hours > 0 && hours <= 24 * 14)) {
    io.stderr(`--hours must be a number of hours between 0 and 336 (got ${String(values.hours)})\n`);
    return 2;
  }
  const days = values.days === undefined ? undefined : Number(values.days);
  if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= MAX_DAYS)) {
    io.stderr(`--days must be a whole number of days between 1 and ${MAX_DAYS} (got ${String(values.days)})\n`);
    return 2;
  }
  const policyArg = String(values.policy ?? 'all');
  if (policyArg !== 'all' && !POLICIES.includes(policyArg as PolicyName)) {
    io.stderr(`--policy must be ours, keda, vmss or all (got ${policyArg})\n`);
    return 2;
  }
  const targetWait = values['target-wait'] === undefined ? undefined : Number(values['target-wait']);
  if (targetWait !== undefined && !(Number.isInteger(targetWait) && targetWait >= 0 && targetWait <= 3600)) {
    io.stderr(`--target-wait must be whole seconds between 0 and 3600 (got ${String(values['target-wait'])})\n`);
    return 2;
  }
  const coldModel = values['cold-model'] === undefined ? undefined : String(values['cold-model']);
  if (coldModel !== undefined && !COLD_MODELS.includes(coldModel as ColdModel)) {
    io.stderr(`--cold-model must be ${COLD_MODELS.join(' or ')} (got ${coldModel})\n`);
    return 2;
  }
  // The report is written after the run: refuse a path it cannot be written to before running.
  if (typeof values.html === 'string') {
    const problem = await unwritable(values.html);
    if (problem) {
      io.stderr(`--html: ${problem}\n`);
      return 2;
    }
  }
  const policies: PolicyName[] = policyArg === 'all' ? [...POLICIES] : [policyArg as PolicyName];
  // Opt-in only: without --live-prices nothing leaves this machine.
  let aciPrices: AciPrices | undefined;
  let pricesLine = 'prices: ASSUMED ACI prices of src/sim/billing.ts (East US Linux, undated; not a quote)';
  if (values['live-prices']) {
    const region = typeof values.region === 'string' ? values.region : process.env.ACI_LOCATION;
    if (!region) {
      io.stderr('--live-prices: pass --region (or set ACI_LOCATION)\n');
      return 2;
    }
    try {
      const live = await fetchAciPrices({
        region,
        ...(typeof values['prices-url'] === 'string' ? { url: values['prices-url'] } : {}),
      });
      aciPrices = live;
      pricesLine = `prices: LIVE ${live.region} Linux ACI prices from ${live.source}, effective ${live.effective}, ${live.currency}`;
    } catch (err) {
      pricesLine = `prices: live prices for ${region} unavailable (${(err as Error).message}); ${pricesLine.slice('prices: '.length)}`;
    }
  }
  let run: SimulateRun;
  let frontier: FrontierPoint[] | undefined;
  try {
    const trace = await resolveTrace(String(values.trace ?? DEFAULT_TRACE), seed);
    const loaded: ProfileConfig[] =
      typeof values.profiles === 'string' ? await loadProfiles(values.profiles) : profilesFor(trace);
    const profiles = targetWait === undefined ? loaded : withTargetWait(loaded, targetWait);
    const results: SimResult[] = [];
    const shared = {
      hours,
      ...(days !== undefined ? { days } : {}),
      ...(coldModel !== undefined ? { world: { coldModel: coldModel as ColdModel } } : {}),
      ...(aciPrices ? { aciPrices } : {}),
    };
    for (const policy of policies) {
      results.push(
        await runSimulation({ trace, profiles, policy, seed, ...shared, onProgress: progressReporter(io, policy) }),
      );
    }
    run = { trace: trace.name, description: trace.description, seed, results };
    if (values.frontier && typeof values.html === 'string')
      frontier = await frontierFor(trace, profiles, seed, results, targetWait ?? 15, shared);
  } catch (err) {
    io.stderr(`simulate: ${(err as Error).message}\n`);
    return 2;
  }
  const command = ['npm run simulate --', ...argv].join(' ');
  if (values.json) {
    io.stdout(
      `${JSON.stringify({ trace: run.trace, description: run.description, seed, ...(values['live-prices'] ? { prices: pricesLine.slice('prices: '.length) } : {}), policies: run.results.map((r) => r.summary) }, null, 2)}\n`,
    );
  } else {
    io.stdout(`trace ${run.trace}: ${run.description} (seed ${seed})\n\n${summaryTable(run.results)}\n`);
    if (values['live-prices']) io.stdout(`${pricesLine}\n`);
    const perDay = dayTable(run.results);
    if (perDay)
      io.stdout(
        `\nper day (jobs that arrived that day; cost over its 24 hours, the last day to the end of the run):\n${perDay}\n`,
      );
    const ours = run.results.find((r) => r.summary.policy === 'ours')?.summary;
    if (ours) {
      for (const r of run.results) {
        if (r.summary.policy === 'ours') continue;
        const b = r.summary;
        const ratio = (a: number, c: number) => (c === 0 ? (a === 0 ? '1.00' : '∞') : (a / c).toFixed(2));
        io.stdout(
          `ours vs ${b.policy}: p95 wait ×${ratio(ours.waitSec.p95, b.waitSec.p95)}, cost ×${ratio(ours.costUsd, b.costUsd)}\n`,
        );
      }
    }
  }
  if (typeof values.html === 'string') {
    try {
      await writeFile(
        values.html,
        htmlReport(run.results, { trace: run.trace, description: run.description, seed, command }, frontier),
        'utf8',
      );
    } catch (err) {
      io.stderr(
        `--html: cannot write ${values.html} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})\n`,
      );
      return 2;
    }
    io.stderr(`HTML report written to ${values.html}\n`);
  }
  const violations = run.results.reduce((n, r) => n + (r.summary.policy === 'ours' ? r.summary.violations : 0), 0);
  if (violations > 0) {
    for (const r of run.results)
      for (const v of r.violations.slice(0, 10)) io.stderr(`violation (${r.summary.policy}) ${v.kind}: ${v.detail}\n`);
    return 1;
  }
  return 0;
}
