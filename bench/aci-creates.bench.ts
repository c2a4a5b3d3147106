/**
 * Wall time for 200 container-group creates against the HTTPS fake ARM with 1 s create latency
 * (PUT → Succeeded) and a PUT latency (how long ARM takes to answer the PUT itself), through the
 * real SDK.
 *   pass     = what a reconcile pass does: `mapLimit(creates, CREATE_CONCURRENCY, provider.createGroup)`
 *              (default 25, over a provider limiter of max(10, CREATE_CONCURRENCY), as src/app/deps.ts builds it)
 *   started  = AciComputeProvider.createGroup at concurrency 10 / 20 / 50 (1 request per create)
 *   awaited  = SDK beginCreateOrUpdateAndWait (poll to Succeeded, 250 ms poll interval) for comparison
 * With a PUT latency L and concurrency c, 200 creates need about ⌈200 / c⌉ · L.
 * Client and fake share one Node process, so at --put-latency-ms 0 the figures are CPU-bound.
 * Run: npx tsx bench/aci-creates.bench.ts [--put-latency-ms 1000] [--no-awaited]
 */
import { AciComputeProvider } from '../src/aci/provider.js';
import { buildContainerGroup, type SpecContext } from '../src/aci/spec.js';
import { createArmClient } from '../src/azure/clients.js';
import { profileSchema, settingsSchema } from '../src/config/schema.js';
import { agentName } from '../src/core/names.js';
import type { AgentLaunch } from '../src/ports/index.js';
import { mapLimit } from '../src/util/limit.js';
import { startFakeArm } from '../test/fakes/arm.js';
import { fakeCredential } from '../test/fakes/credential.js';
import { makeTestCert } from '../test/fakes/tls.js';

const N = 200;
const LATENCY_MS = 1000;
/** The default of CREATE_CONCURRENCY (src/config/schema.ts): the pass's creates in flight. */
const PASS_CONCURRENCY = settingsSchema.shape.CREATE_CONCURRENCY.parse(undefined);

function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${name} needs a number of milliseconds ≥ 0`);
  return v;
}
const SUB = '33333333-3333-3333-3333-333333333333';
const RG = 'rg-bench';
const ctx: SpecContext = { azpUrl: 'https://dev.azure.com/bench', location: 'westeurope', autoscalerId: 'bench' };
const profile = profileSchema.parse({ name: 'linux', pool: 'Bench', image: 'example/azp-agent:1' });

async function main(): Promise<void> {
  const withAwaited = !process.argv.includes('--no-awaited');
  const putLatencyMs = numberArg('--put-latency-ms', 1000);
  const cert = makeTestCert();
  const arm = await startFakeArm({ cert, createLatencyMs: LATENCY_MS, pageSize: 100 });
  const cred = fakeCredential();
  let seq = 0;
  const launches = (): AgentLaunch[] =>
    Array.from({ length: N }, () => {
      seq += 1;
      return {
        name: agentName('azp', 'linux', 1_700_000_000_000 + seq, String(seq).padStart(12, '0')),
        pool: 'Bench',
        profile,
        placeholder: false,
        token: 'bench-pat',
        createdAt: new Date().toISOString(),
      };
    });
  const rows: string[] = [];
  try {
    // Warm-up (module JIT, TLS session, token) so the first row is not a cold start.
    const warm = new AciComputeProvider({
      client: createArmClient(cred, SUB, { armEndpoint: arm.url, ca: cert.cert }),
      resourceGroup: RG,
      spec: ctx,
    });
    await Promise.all(
      launches()
        .slice(0, 50)
        .map((l) => warm.createGroup(l)),
    );
    arm.setPutLatency(putLatencyMs);

    {
      // The pass as src/app/deps.ts builds it: mapLimit(…, CREATE_CONCURRENCY) in front of a provider whose limiter lets it through.
      const provider = new AciComputeProvider({
        client: createArmClient(cred, SUB, { armEndpoint: arm.url, ca: cert.cert }),
        resourceGroup: RG,
        spec: ctx,
        concurrency: Math.max(10, PASS_CONCURRENCY),
      });
      arm.clearRequests();
      const t0 = performance.now();
      const results = await mapLimit(launches(), PASS_CONCURRENCY, (l) => provider.createGroup(l));
      const ms = performance.now() - t0;
      const failed = results.filter((r) => r.status === 'rejected').length;
      rows.push(
        `pass     concurrency=${String(PASS_CONCURRENCY).padStart(2)}  ${N} creates  ${ms.toFixed(0).padStart(6)} ms  ARM requests=${arm.requests.length}  failed=${failed}`,
      );
      console.log(rows[rows.length - 1]);
    }

    for (const concurrency of [10, 20, 50]) {
      const first = rows.length;
      const client = createArmClient(cred, SUB, { armEndpoint: arm.url, ca: cert.cert });
      const provider = new AciComputeProvider({ client, resourceGroup: RG, spec: ctx, concurrency });
      arm.clearRequests();
      const batch = launches();
      const t0 = performance.now();
      const results = await Promise.allSettled(batch.map((l) => provider.createGroup(l)));
      const ms = performance.now() - t0;
      const failed = results.filter((r) => r.status === 'rejected').length;
      rows.push(
        `started  concurrency=${String(concurrency).padStart(2)}  ${N} creates  ${ms.toFixed(0).padStart(6)} ms  ARM requests=${arm.requests.length}  failed=${failed}`,
      );

      if (withAwaited) {
        arm.clearRequests();
        const batch2 = launches();
        const t1 = performance.now();
        const res2 = await mapLimit(batch2, concurrency, (l) =>
          client.containerGroups.beginCreateOrUpdateAndWait(RG, l.name, buildContainerGroup(l, ctx), {
            updateIntervalInMs: 250,
          }),
        );
        const ms2 = performance.now() - t1;
        const failed2 = res2.filter((r) => r.status === 'rejected').length;
        rows.push(
          `awaited  concurrency=${String(concurrency).padStart(2)}  ${N} creates  ${ms2.toFixed(0).padStart(6)} ms  ARM requests=${arm.requests.length}  failed=${failed2}`,
        );
      }
      console.log(rows.slice(first).join('\n'));
    }
  } finally {
    await arm.close();
  }
  console.log(
    `\nfake ARM: PUT answered after ${putLatencyMs} ms, group Succeeded ${LATENCY_MS} ms after the PUT; Node ${process.version}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
