/**
 * Fencing: no write without the pool lease.
 *
 * Two "Functions instances" (createRuntime: real coordinator, real BlobPoolLock on a real Azurite,
 * real pass with the real ACI / Key Vault / Azure DevOps clients against the HTTPS fakes). Instance
 * A reaches storage through a fault proxy. Schedule: A takes the lease and starts its pass; right
 * when A lists the pool's agents, A's storage breaks (503 / connection refused / no answer) and the
 * fake holds A's agent list back; A's lease cannot be renewed and expires; B takes the lease and
 * runs its own pass (creates for the queued jobs); then A's agent list arrives and A goes on to act.
 * Before fencing, A created the same agents a second time: 6 groups for maxAgents 3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { leasedInstance, type LeasedInstance } from '../helpers/leased-instance.js';
import { startFaultProxy, type FaultProxy, type ProxyMode } from '../helpers/fault-proxy.js';

const PAT = 'canarypat-fencing-7e3b5c8a2f6d0e4b9c1a7f3e5d8b2c6a07f3e9c1b5a2';
const LEASE_SEC = 15;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let stack: FakeStack;
let azurite: Azurite;
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  [stack, azurite] = await Promise.all([
    startFakeStack({ pat: PAT, subscriptionId: '00000000-0000-0000-0000-0000000000fe', resourceGroup: 'rg-fencing' }),
    startAzurite(),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), azurite?.stop(), ...proxies.map((p) => p.stop())]);
});

/** One instance; `storage` is the blob endpoint it reaches Azurite through. */
const instance = (pool: string, container: string, storage: string, tries: number): LeasedInstance =>
  leasedInstance(stack, {
    id: `fence-${pool}`,
    pool,
    profile: { maxAgents: 3 },
    container,
    storage,
    tries,
    leaseSeconds: LEASE_SEC,
  });

const puts = (pool: string) =>
  stack.arm.requests.filter(
    (q) =>
      q.method === 'PUT' &&
      q.path.includes('/containerGroups/') &&
      q.body !== undefined &&
      JSON.stringify(q.body).includes(`"azp-pool":"${pool}"`),
  );

describe('fencing: a lost lease stops the pass (Azurite + fakes, two instances)', () => {
  it.concurrent(
    'a pass that outlives the lease duration keeps renewing it and completes its writes',
    { timeout: 60_000 },
    async () => {
      const pool = 'fence-long';
      const { azdo } = stack;
      const poolId = azdo.addPool(pool).id;
      azdo.queueJob(pool);
      azdo.queueJob(pool);
      const a = instance(pool, `fence-${process.pid}-long`, `http://127.0.0.1:${azurite.blobPort}`, 3);
      const b = instance(pool, `fence-${process.pid}-long`, `http://127.0.0.1:${azurite.blobPort}`, 3);
      azdo.inject({
        match: { method: 'GET', pathIncludes: `/pools/${poolId}/agents?` },
        delayMs: (LEASE_SEC + 3) * 1000,
      });
      const started = Date.now();
      const passA = a.rt.coordinator.request(pool, 'test: long pass');
      await sleep((LEASE_SEC + 1) * 1000);
      await b.rt.coordinator.request(pool, 'test: B during the long pass'); // the lease is still A's
      expect(b.results).toEqual([]);
      await passA;
      expect(Date.now() - started).toBeGreaterThan(LEASE_SEC * 1000);
      expect(a.results[0]?.pools[0]?.outcomes.map((o) => `${o.action.kind} ${o.status}`)).toEqual([
        'create done',
        'create done',
      ]);
      expect(a.lines.filter((l) => /lease lost/.test(l))).toEqual([]);
      expect(puts(pool)).toHaveLength(2);
    },
  );

  it.concurrent.each<ProxyMode>(['503', 'refuse', 'hang'])(
    'storage %s for the holder: its lease expires, the other instance runs, the first one writes nothing more',
    { timeout: 60_000 },
    async (mode) => {
      const pool = `fence-${mode}`;
      const container = `fence-${process.pid}-${mode}`;
      const proxy = await startFaultProxy({ host: '127.0.0.1', port: azurite.blobPort });
      proxies.push(proxy);
      const { azdo } = stack;
      const poolId = azdo.addPool(pool).id;
      for (let i = 0; i < 2; i++) azdo.queueJob(pool);

      const a = instance(pool, container, proxy.url, 1);
      const b = instance(pool, container, `http://127.0.0.1:${azurite.blobPort}`, 3);

      // A's agent list: storage breaks for A as it arrives, and the answer comes back late.
      const agentsPath = `/pools/${poolId}/agents`;
      let cutAt = 0;
      const off = azdo.onRequest((q) => {
        if (!cutAt && q.method === 'GET' && q.path.endsWith(agentsPath)) {
          cutAt = Date.now();
          proxy.mode = mode;
        }
      });
      azdo.inject({ match: { method: 'GET', pathIncludes: `${agentsPath}?` }, delayMs: (LEASE_SEC + 3) * 1000 });

      const passA = a.rt.coordinator.request(pool, 'test: instance A');
      while (!cutAt) await sleep(50);
      // B asks for a pass every half second; it runs one as soon as A's lease has expired.
      let tookOverAfterMs = 0;
      while (b.results.length === 0) {
        await b.rt.coordinator.request(pool, 'test: instance B');
        if (b.results.length === 0) await sleep(500);
        else tookOverAfterMs = Date.now() - cutAt;
      }
      expect(tookOverAfterMs).toBeGreaterThan((LEASE_SEC - 2) * 1000); // B waited for the expiry
      expect(puts(pool)).toHaveLength(2);
      await passA;
      off();

      // A wrote nothing: every planned action is skipped for the lost lease, and said so once.
      expect(puts(pool)).toHaveLength(2);
      const [ra] = a.results;
      const pa = ra?.pools.find((p) => p.pool === pool);
      expect(pa?.plan?.actions.filter((x) => x.kind === 'create')).toHaveLength(2); // A did plan the duplicates
      expect(pa?.outcomes.map((o) => (o.status === 'skipped' ? o.why : o.status))).toEqual([
        'lease lost',
        'lease lost',
      ]);
      expect(pa?.ok).toBe(false);
      expect(a.lines.filter((l) => /pool lease lost/.test(l))).toHaveLength(1);
      expect(a.lines.filter((l) => /action failed|create failed/.test(l))).toEqual([]);
      expect(proxy.seen[mode]).toBeGreaterThan(0);

      // The next trigger on A starts clean: storage is back, A takes a new lease and writes normally.
      proxy.mode = 'pass';
      azdo.queueJob(pool);
      await a.rt.coordinator.request(pool, 'test: A again');
      const again = a.results.at(-1)?.pools.find((p) => p.pool === pool);
      // 3 queued, 2 starting: one create, done.
      expect(again?.outcomes.map((o) => `${o.action.kind} ${o.status}`)).toEqual(['create done']);
      expect(puts(pool)).toHaveLength(3);
      expect([...a.lines, ...b.lines].join('\n')).not.toContain(PAT);
    },
  );
});
