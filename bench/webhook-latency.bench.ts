/**
 * Latency from a service-hook delivery to the first ARM create request, through the REAL runtime
 * (createRuntime: settings, Azure DevOps client, Key Vault PAT provider, ACI provider, blob pool
 * lease, pass coordinator) and the REAL servicehook handler, against local fakes:
 * fake Azure DevOps (HTTP), fake Key Vault + fake ARM (HTTPS, self-signed), Azurite (blob lease).
 *
 * Each delivery: queue one job → POST the job-state-changed sample (state waiting) to the handler
 * → time until the fake ARM receives the container-group PUT. Then the group is deleted and the
 * job dropped, so every delivery starts from the same state. 5 warm-up deliveries are not counted.
 * Everything shares one Node process and one CPU thread; real Azure adds its own network latency.
 *
 * Run: npx tsx bench/webhook-latency.bench.ts [--deliveries N] [--memory-lock]
 *   --memory-lock  use the in-process lock instead of Azurite (shows the lease's share of the time)
 */
import { performance } from 'node:perf_hooks';
import functions from '@azure/functions';
import { createRuntime, type Runtime } from '../src/app/runtime.js';
import { MemoryPoolLock } from '../src/ports/index.js';
import { createLogger } from '../src/util/log.js';
import { makeServiceHookHandler } from '../src/webhook/http.js';
import { startFakeArm } from '../test/fakes/arm.js';
import { startFakeAzdo } from '../test/fakes/azdo.js';
import { fakeCredential } from '../test/fakes/credential.js';
import { startFakeKeyVault } from '../test/fakes/keyvault.js';
import { makeTestCert } from '../test/fakes/tls.js';
import { startAzurite } from '../test/helpers/azurite.js';
import { readContractJson } from '../test/helpers/contracts.js';

// CommonJS package: its classes are not visible as ESM named exports under plain Node/tsx.
const { HttpRequest, InvocationContext } = functions;

const arg = (name: string) => process.argv.indexOf(name);
const N = arg('--deliveries') > 0 ? Number(process.argv[arg('--deliveries') + 1]) : 200;
const WARMUP = 5;
const memoryLock = arg('--memory-lock') > 0;
const USER = 'bench-hook';
const PASS = 'bench-webhook-password';
const PAT = 'bench-pat-value-0123456789';

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  const cert = makeTestCert();
  const [azdo, arm, kv, azurite] = await Promise.all([
    startFakeAzdo({ pat: PAT }),
    startFakeArm({ cert }),
    startFakeKeyVault({ cert, secrets: { 'azp-token': PAT } }),
    memoryLock ? Promise.resolve(undefined) : startAzurite(),
  ]);
  azdo.addPool('Bench');
  try {
    const env = {
      AZP_URL: azdo.url,
      KEY_VAULT_URL: kv.url,
      AZURE_SUBSCRIPTION_ID: '44444444-4444-4444-4444-444444444444',
      ACI_RESOURCE_GROUP: 'rg-bench',
      ACI_LOCATION: 'westeurope',
      ARM_ENDPOINT: arm.url,
      WEBHOOK_USERNAME: USER,
      WEBHOOK_PASSWORD: PASS,
      AUTOSCALER_ID: 'bench',
      ...(azurite ? { AzureWebJobsStorage: azurite.connectionString } : {}),
      POOLS: JSON.stringify([
        { name: 'lin', pool: 'Bench', image: 'example/azp-agent:1', placeholder: false, maxAgents: 100 },
      ]),
    };
    const logLines: string[] = [];
    const runtime: Runtime = createRuntime(env, {
      credential: fakeCredential(),
      azure: { ca: cert.cert },
      logger: createLogger((level, line) => (level !== 'info' ? logLines.push(`${level} ${line}`) : undefined)),
      ...(memoryLock ? { lock: new MemoryPoolLock() } : {}),
      // The queue hop is left out: each stored message is handed to the queue trigger's path at once.
      // In Azure the host's queue polling (host.json maxPollingInterval, 2 s) adds to this figure.
      handoff: { send: async (r) => void runtime.requestFromQueue(r.pools, r.reason, new Date(r.receivedAt)) },
    });
    const handler = makeServiceHookHandler(async () => runtime);
    const sample = readContractJson<Record<string, unknown> & { resource: { job: Record<string, unknown> } }>(
      'servicehooks/job-state-changed.events-md.json',
    );
    const auth = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;

    let waiter: ((t: number) => void) | undefined;
    arm.onCreate(() => waiter?.(performance.now()));

    const latencies: number[] = [];
    const acks: number[] = [];
    for (let i = 0; i < WARMUP + N; i++) {
      azdo.queueJob('Bench');
      const body = structuredClone(sample);
      body.notificationId = 1000 + i;
      body.resource.job.state = 'waiting';
      delete body.resource.job.result;
      const created = new Promise<number>((resolve, reject) => {
        waiter = resolve;
        setTimeout(
          () => reject(new Error(`no create within 10 s for delivery ${i}:\n${logLines.slice(-5).join('\n')}`)),
          10_000,
        ).unref();
      });
      const t0 = performance.now();
      const res = await handler(
        new HttpRequest({
          method: 'POST',
          url: 'https://bench.local/api/servicehook?code=x&pool=Bench',
          headers: { authorization: auth, 'content-type': 'application/json; charset=utf-8' },
          body: { string: JSON.stringify(body) },
        }),
        new InvocationContext({ invocationId: `b${i}`, functionName: 'servicehook', logHandler: () => {} }),
      );
      const tAck = performance.now();
      if (res.status !== 202) throw new Error(`delivery ${i}: status ${res.status} ${JSON.stringify(res.jsonBody)}`);
      const t1 = await created;
      await runtime.coordinator.idle();
      if (i >= WARMUP) {
        latencies.push(t1 - t0);
        acks.push(tAck - t0);
      }
      // Reset: the job is gone, the group deleted (DELETE is immediate on the fake).
      azdo.state.jobs = [];
      for (const g of arm.groups()) await runtime.deps.compute.deleteGroup(g.name);
    }
    const creates = arm.requests.filter((r) => r.method === 'PUT').length;
    const sorted = [...latencies].sort((a, b) => a - b);
    const ackSorted = [...acks].sort((a, b) => a - b);
    const f = (x: number) => `${x.toFixed(1)} ms`;
    console.log(
      `webhook → first ARM create, ${N} deliveries (+${WARMUP} warm-up), lock: ${memoryLock ? 'in-memory' : 'Azurite blob lease'}`,
    );
    console.log(
      `  p50 ${f(pct(sorted, 50))}  p90 ${f(pct(sorted, 90))}  p99 ${f(pct(sorted, 99))}  max ${f(sorted[sorted.length - 1] ?? NaN)}  min ${f(sorted[0] ?? NaN)}`,
    );
    console.log(`  202 ack: p50 ${f(pct(ackSorted, 50))}  p99 ${f(pct(ackSorted, 99))}`);
    console.log(`  ARM PUTs: ${creates} (expected ${WARMUP + N}); warnings/errors logged: ${logLines.length}`);
    if (creates !== WARMUP + N) process.exitCode = 1;
  } finally {
    await Promise.all([azdo.close(), arm.close(), kv.close(), azurite?.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
