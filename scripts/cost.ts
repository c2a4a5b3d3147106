/**
 * Prints what agents cost per 1,000 agent-hours and what the deployment costs per month at idle,
 * from unit prices given on the command line (take them from the Azure Retail Prices API for your
 * region and date: infra/README.md, "Cost"). Without price options it uses the simulator's assumed
 * Linux prices (src/sim/billing.ts) and says so: those are not a quote.
 * `--live-prices` (opt-in: the only network call this script makes) reads the ACI prices of the
 * region (--region, else ACI_LOCATION of the settings) from the public Azure Retail Prices API
 * (src/pricing/retail-prices.ts); when it cannot, it says why and uses the assumed ones.
 *
 * `--os Windows` adds ACI's Windows software charge per vCPU-second (--windows-vcpu-second, else the
 * simulator's assumed one, ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND), which the Linux meters leave out.
 *
 *   npx tsx scripts/cost.ts [--cpu 2] [--memory-gb 4] [--os Linux|Windows] [--vcpu-second P] [--gb-second P]
 *                           [--registry-day P] [--timer-minutes 1] [--pass-seconds 0.5]
 *                           [--flex-gb-second P] [--flex-execution P] [--instance-memory-gb 2.048]
 *                           [--prices-date YYYY-MM-DD] [--live-prices [--region R]]
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { settingsEnv } from '../src/app/settings-source.js';
import { fetchAciPrices, type LiveAciPrices } from '../src/pricing/retail-prices.js';
import { ACI_PRICES, ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND, aciPerSecond } from '../src/sim/billing.js';

const USAGE = `Usage: npm run cost -- [options]   (unit prices from the Azure Retail Prices API; infra/README.md "Cost")
  --cpu N --memory-gb N           agent profile size (default 2 vCPU, 4 GB)
  --os Linux|Windows              Windows adds the Windows software charge per vCPU-second
  --windows-vcpu-second P         that charge (default: the simulator's assumed, undated one)
  --vcpu-second P --gb-second P   ACI prices (default: the simulator's assumed, undated prices)
  --registry-day P                container registry price per day
  --flex-gb-second P --flex-execution P   Flex Consumption on-demand prices
  --timer-minutes N --pass-seconds S --instance-memory-gb G   timer period, pass length, instance memory
  --prices-date YYYY-MM-DD        the date of the prices you pass
  --live-prices [--region R]      read the ACI prices of region R (default: ACI_LOCATION of the settings)
                                  from the public Azure Retail Prices API (opt-in; the only network call)`;

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      help: { type: 'boolean', short: 'h' },
      cpu: { type: 'string', default: '2' },
      'memory-gb': { type: 'string', default: '4' },
      os: { type: 'string', default: 'Linux' },
      'windows-vcpu-second': { type: 'string' },
      'vcpu-second': { type: 'string' },
      'gb-second': { type: 'string' },
      'registry-day': { type: 'string' },
      'timer-minutes': { type: 'string', default: '1' },
      'pass-seconds': { type: 'string', default: '0.5' },
      'flex-gb-second': { type: 'string' },
      'flex-execution': { type: 'string' },
      'instance-memory-gb': { type: 'string', default: '2.048' },
      'prices-date': { type: 'string' },
      'live-prices': { type: 'boolean' },
      region: { type: 'string' },
      // Tests point it at a local server with a recorded answer.
      'prices-url': { type: 'string' },
    },
  });
}
try {
  parsed = parse();
} catch (err) {
  console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(2);
}
if (parsed.values.help) {
  console.log(USAGE);
  process.exit(0);
}
const values = parsed.values;

function num(
  name: Exclude<keyof typeof values, 'help' | 'live-prices' | 'region' | 'prices-url' | 'os'>,
  fallback?: number,
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isFinite(n) || n < 0) {
    console.error(`--${name}: must be a number ≥ 0`);
    process.exit(2);
  }
  return n;
}

let live: LiveAciPrices | undefined;
let liveProblem: string | undefined;
const given = values['vcpu-second'] !== undefined && values['gb-second'] !== undefined;
if (values['live-prices'] && !given) {
  let region = values.region;
  if (!region) {
    try {
      region = settingsEnv(process.env, process.cwd()).env.ACI_LOCATION;
    } catch {
      region = undefined;
    }
  }
  if (!region) {
    console.error('--live-prices: pass --region (or set ACI_LOCATION in the environment or ./local.settings.json)');
    process.exit(2);
  }
  try {
    live = await fetchAciPrices({ region, ...(values['prices-url'] ? { url: values['prices-url'] } : {}) });
  } catch (err) {
    liveProblem = `live prices for ${region} unavailable (${err instanceof Error ? err.message : String(err)})`;
  }
}
const assumed = !given && !live;
const vcpuSecond = num('vcpu-second', live?.perVcpuSecond ?? ACI_PRICES.perVcpuSecond)!;
const gbSecond = num('gb-second', live?.perGbSecond ?? ACI_PRICES.perGbSecond)!;
const cpu = num('cpu')!;
const memoryGb = num('memory-gb')!;
if (values.os !== 'Linux' && values.os !== 'Windows') {
  console.error(`--os: must be Linux or Windows (got ${values.os})`);
  process.exit(2);
}
const windows = values.os === 'Windows';
const windowsSecond = windows ? num('windows-vcpu-second', ACI_WINDOWS_SOFTWARE_PER_VCPU_SECOND)! : 0;
const perAgentHour =
  3600 *
  aciPerSecond(
    { cpu, memoryGb, os: values.os },
    { perVcpuSecond: vcpuSecond, perGbSecond: gbSecond, perWindowsVcpuSecond: windowsSecond },
  );
const source = assumed
  ? `${liveProblem ? `${liveProblem}; ` : ''}ASSUMED prices of src/sim/billing.ts (East US Linux, undated; not a quote)`
  : live && !given
    ? `LIVE ${live.region} Linux prices from ${live.source}, effective ${live.effective}, ${live.currency}`
    : `prices given on the command line${values['prices-date'] ? `, dated ${values['prices-date']}` : ' (pass --prices-date)'}`;

console.log(`prices: ${source}`);
console.log(`ACI: $${vcpuSecond} per vCPU-second, $${gbSecond} per GB-second`);
if (windows)
  console.log(
    `Windows software: $${windowsSecond} per vCPU-second (${values['windows-vcpu-second'] !== undefined ? 'given' : 'ASSUMED, src/sim/billing.ts; not a quote'})`,
  );
console.log(`agent profile: ${cpu} vCPU, ${memoryGb} GB${windows ? ', Windows' : ''}`);
console.log(`per agent-hour: $${perAgentHour.toFixed(4)}`);
console.log(`per 1,000 agent-hours: $${(1000 * perAgentHour).toFixed(2)}`);

// At idle no agent runs: what is left is the registry, the timer's passes and small change.
const month = 30 * 24 * 3600;
const passes = month / (60 * num('timer-minutes')!);
const registryDay = num('registry-day');
const flexGbSecond = num('flex-gb-second');
const flexExecution = num('flex-execution');
const idle: string[] = [`timer passes per month: ${Math.round(passes)}`];
let total = 0;
let complete = true;
if (registryDay !== undefined) {
  total += 30 * registryDay;
  idle.push(`registry: $${(30 * registryDay).toFixed(2)}`);
} else complete = false;
if (flexGbSecond !== undefined && flexExecution !== undefined) {
  const gbs = passes * num('pass-seconds')! * num('instance-memory-gb')!;
  const fn = gbs * flexGbSecond + passes * flexExecution;
  total += fn;
  idle.push(`function executions: ${Math.round(gbs)} GB-s → $${fn.toFixed(2)}`);
} else complete = false;
console.log(`at idle per month: ${idle.join('; ')}`);
console.log(
  complete
    ? `at idle per month (registry + executions, before Key Vault, logs, storage): $${total.toFixed(2)}`
    : 'at idle per month: pass --registry-day, --flex-gb-second and --flex-execution (Retail Prices API) for a total',
);
