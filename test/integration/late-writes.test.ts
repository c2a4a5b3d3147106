/**
 * Late writes are harmless (issue 21, finding 2): a write can land after the lease it was sent
 * under. Two instances (createRuntime: real coordinator, real BlobPoolLock and pool-state blob on a
 * real Azurite, the real pass with the real ACI SDK against the HTTPS fake ARM). Instance A checks
 * the fence and sends 10 creates that ARM holds 20–30 s; as the first arrives A loses storage (its
 * lease cannot be renewed and expires); B takes the expired lease and lists no groups yet. Before:
 * B created 10 more, 20 groups for 10 jobs with `maxAgents` 10. Now A recorded its creates in the
 * pool's state before sending them, and B counts them as starting until a list shows them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { leasedInstance, type LeasedInstance } from '../helpers/leased-instance.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const PAT = 'canarypat-latewrite-4b9c1a7f3e5d8b2c6a07f3e9c1b5a27e3b5c8a2f';
const LEASE_SEC = 15;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let stack: FakeStack;
let azurite: Azurite;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  [stack, azurite] = await Promise.all([
    startFakeStack({ pat: PAT, subscriptionId: '00000000-0000-0000-0000-0000000000fa', resourceGroup: 'rg-late' }),
    startAzurite(),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), azurite?.stop(), proxy?.stop()]);
});

/** One instance; `storage` is the blob endpoint it reaches Azurite through. */
const instance = (pool: string, container: string, storage: string, tries: number): LeasedInstance =>
  leasedInstance(stack, {
    id: `late-${pool}`,
    pool,
    profile: { maxAgents: 10, maxCreatePerPass: 10 },
    container,
    storage,
    tries,
    leaseSeconds: LEASE_SEC,
  });

const ours = (pool: string) => stack.arm.groups().filter((g) => g.tags['azp-pool'] === pool);
const puts = (pool: string) =>
  stack.arm.requests.filter(
    (q) => q.method === 'PUT' && q.body !== undefined && JSON.stringify(q.body).includes(`"azp-pool":"${pool}"`),
  );

describe('late writes: creates that land after the lease they were sent under', () => {
  it(
    'A sends 10 creates ARM holds 20–30 s and loses its lease; B takes over: 10 groups, not 20',
    { timeout: 90_000 },
    async () => {
      const pool = 'late-creates';
      const container = `late-${process.pid}`;
      proxy = await startFaultProxy({ host: '127.0.0.1', port: azurite.blobPort });
      const { azdo, arm } = stack;
      azdo.addPool(pool);
      for (let i = 0; i < 10; i++) azdo.queueJob(pool);
      const a = instance(pool, container, proxy.url, 1);
      const b = instance(pool, container, `http://127.0.0.1:${azurite.blobPort}`, 3);

      // ARM holds A's 10 PUTs 20–30 s (then makes the group); A's storage breaks as the first arrives.
      for (let i = 0; i < 10; i++)
        arm.inject({
          match: { method: 'PUT', pathIncludes: '/containerGroups/azp-lin-' },
          delayMs: 20_000 + i * 1_000,
        });
      let cutAt = 0;
      const off = arm.onRequest((q) => {
        if (!cutAt && q.method === 'PUT') {
          cutAt = Date.now();
          proxy!.mode = 'hang';
        }
      });
      const passA = a.rt.coordinator.request(pool, 'test: instance A');
      while (!cutAt) await sleep(50);
      // B asks every half second and runs as soon as A's lease has expired, before A's creates land.
      while (b.results.length === 0) {
        await b.rt.coordinator.request(pool, 'test: instance B');
        if (b.results.length === 0) await sleep(500);
      }
      const tookOverAfterMs = Date.now() - cutAt;
      expect(tookOverAfterMs).toBeLessThan(20_000);
      // The takeover delay: the lease's expiry only (no wait for A's writes to land).
      console.log(`late writes: B took over ${tookOverAfterMs} ms after A's storage broke (lease ${LEASE_SEC} s)`);
      await passA;
      off();
      await sleep(Math.max(0, cutAt + 31_000 - Date.now())); // all of A's creates have landed, after its lease
      // B counted A's recorded creates as starting: it created none itself.
      const pb = b.results[0]?.pools.find((p) => p.pool === pool);
      expect(pb?.plan?.views[0]).toMatchObject({ starting: 10, queued: 10 });
      expect(puts(pool)).toHaveLength(10);
      expect(ours(pool)).toHaveLength(10);
      expect([...a.lines, ...b.lines].join('\n')).not.toContain(PAT);
    },
  );
});
