/**
 * BlobPoolLock against a real Azurite: acquire / block / renew / release, the generation counter
 * under concurrent bumps (ETag retries), and recovery after a holder that never releases.
 */
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseLost, MemoryPoolLock } from '../../src/ports/index.js';
import { BlobPoolLock, poolBlobBase } from '../../src/storage/lock.js';
import { memoryLogger } from '../../src/util/log.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../helpers/azurite.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';

let azurite: Azurite;
let n = 0;
const container = () => `locks-${process.pid}-${++n}`;

beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const lockOf = (name: string, opts: ConstructorParameters<typeof BlobPoolLock>[1] = {}) =>
  BlobPoolLock.fromConnectionString(azurite.connectionString, { containerName: name, leaseSeconds: 15, ...opts });

describe('poolBlobBase', () => {
  it('is case-insensitive, valid and distinct for any pool name', () => {
    expect(poolBlobBase('Linux')).toBe(poolBlobBase('linux'));
    expect(poolBlobBase('a b')).not.toBe(poolBlobBase('a-b'));
    expect(poolBlobBase('Пул/../%00')).toMatch(/^pools\/[a-z0-9-]+-[0-9a-f]{16}$/);
  });
});

describe('BlobPoolLock (Azurite)', () => {
  it('acquires, blocks a second acquirer, releases, and can be taken again', async () => {
    const name = container();
    const a = lockOf(name);
    const b = lockOf(name);
    const lease = await a.tryAcquire('linux');
    expect(lease).toBeDefined();
    expect(await b.tryAcquire('linux')).toBeUndefined();
    expect(await b.tryAcquire('LINUX')).toBeUndefined(); // same pool, other spelling
    expect(await b.tryAcquire('windows')).toBeDefined(); // other pools are independent
    await lease!.release();
    await lease!.release(); // idempotent
    const again = await b.tryAcquire('linux');
    expect(again).toBeDefined();
    await again!.release();
  });

  it('renews the lease while held (renewal timer) and reports it', async () => {
    const name = container();
    const a = lockOf(name, { renewEveryMs: 150 });
    const lease = await a.tryAcquire('linux');
    await new Promise((r) => setTimeout(r, 700));
    expect(a.renewals).toBeGreaterThanOrEqual(2);
    expect(lease!.lost).toBe(false);
    const props = await BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(name)
      .getBlockBlobClient(a.lockBlobName('linux'))
      .getProperties();
    expect(props.leaseState).toBe('leased');
    expect(props.leaseDuration).toBe('fixed');
    await lease!.release();
  });

  it('bumps the generation monotonically under 20 concurrent writers (ETag retries)', async () => {
    const name = container();
    const locks = Array.from({ length: 4 }, () => lockOf(name));
    expect(await locks[0]!.generation('linux')).toBe(0);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => locks[i % 4]!.bump('linux')));
    expect(new Set(results).size).toBe(20);
    expect(Math.max(...results)).toBe(20);
    expect(await locks[1]!.generation('linux')).toBe(20);
  });

  it('bumps while another instance holds the lease (separate generation blob)', async () => {
    const name = container();
    const a = lockOf(name);
    const b = lockOf(name);
    const lease = await a.tryAcquire('linux');
    expect(await b.bump('linux')).toBe(1);
    expect(await a.generation('linux')).toBe(1);
    await lease!.release();
  });

  it('rejects lease durations Azure does not allow', () => {
    expect(() => lockOf(container(), { leaseSeconds: 10 })).toThrow(RangeError);
    expect(() => lockOf(container(), { leaseSeconds: 61 })).toThrow(RangeError);
  });

  it(
    'stays held across the lease duration with auto-renewal, and a holder that died is recovered after expiry',
    { timeout: 40_000 },
    async () => {
      const name = container();
      const survivor = lockOf(name); // default renewal: every 5 s for a 15 s lease
      const held = await survivor.tryAcquire('held');
      // A "killed" holder: a raw 15 s lease that nobody renews or releases.
      const svc = BlobServiceClient.fromConnectionString(azurite.connectionString);
      const other = lockOf(name);
      await other.generation('dead'); // creates the blobs
      await svc
        .getContainerClient(name)
        .getBlockBlobClient(other.lockBlobName('dead'))
        .getBlobLeaseClient()
        .acquireLease(15);
      const started = Date.now();
      expect(await other.tryAcquire('dead')).toBeUndefined();

      let recovered: Awaited<ReturnType<BlobPoolLock['tryAcquire']>>;
      while (!(recovered = await other.tryAcquire('dead'))) {
        expect(Date.now() - started).toBeLessThan(25_000);
        await new Promise((r) => setTimeout(r, 500));
      }
      const waited = Date.now() - started;
      expect(waited).toBeGreaterThanOrEqual(13_000);
      // Meanwhile the renewed lease outlived its 15 s duration.
      expect(await other.tryAcquire('held')).toBeUndefined();
      expect(held!.lost).toBe(false);
      expect(survivor.renewals).toBeGreaterThanOrEqual(2);
      await recovered.release();
      await held!.release();
      expect(await other.tryAcquire('held')).toBeDefined();
    },
  );
});

describe('BlobPoolLock as a fence (Azurite behind a fault proxy)', () => {
  const viaProxy = async (name: string, opts: ConstructorParameters<typeof BlobPoolLock>[1]) => {
    const proxy = await startFaultProxy({ host: '127.0.0.1', port: azurite.blobPort });
    const svc = new BlobServiceClient(
      `${proxy.url}/${AZURITE_ACCOUNT}`,
      new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      { retryOptions: { maxTries: 1 } },
    );
    const log = memoryLogger();
    return {
      proxy,
      log,
      lock: new BlobPoolLock(svc.getContainerClient(name), { leaseSeconds: 15, logger: log, ...opts }),
    };
  };

  it('a renewal that hangs closes the fence after the freshness bound, long before the lease expires, and it stays closed', async () => {
    // requestTimeoutMs 10 s: the hung renewal is still pending when the 1.5 s bound passes.
    const { proxy, log, lock } = await viaProxy(container(), {
      renewEveryMs: 500,
      freshForMs: 1_500,
      requestTimeoutMs: 10_000,
    });
    try {
      const lease = (await lock.tryAcquire('linux'))!;
      await new Promise((r) => setTimeout(r, 1_200));
      expect(lease.held()).toBe(true); // renewed meanwhile
      proxy.mode = 'hang';
      const cut = Date.now();
      while (lease.held()) await new Promise((r) => setTimeout(r, 50));
      const closedAfter = Date.now() - cut;
      expect(closedAfter).toBeLessThan(2_500);
      expect(() => lease.assert()).toThrow(LeaseLost);
      proxy.mode = 'pass';
      await new Promise((r) => setTimeout(r, 1_200));
      expect(lease.held()).toBe(false); // latched: storage is back, the lease is not
      expect(log.lines.filter((l) => l.includes('pool lease lost'))).toHaveLength(1);
      expect(log.lines.join('\n')).toMatch(/no successful renewal for \d+ ms/);
      await lease.release();
    } finally {
      await proxy.stop();
    }
  });

  it.each(['503', 'refuse'] as const)('one failed renewal (%s) loses the lease at once', async (mode) => {
    const { proxy, log, lock } = await viaProxy(container(), { renewEveryMs: 300 });
    try {
      const lease = (await lock.tryAcquire('linux'))!;
      proxy.mode = mode;
      const seen = proxy.seen[mode];
      while (proxy.seen[mode] === seen) await new Promise((r) => setTimeout(r, 20));
      while (!lease.lost) await new Promise((r) => setTimeout(r, 20));
      expect(lease.held()).toBe(false);
      expect(log.lines.filter((l) => l.includes('pool lease lost'))).toEqual([
        expect.stringContaining('renewal failed'),
      ]);
      await lease.release();
    } finally {
      await proxy.stop();
    }
  });

  it('a lease broken by someone else (409 on renewal) is lost, and release does not touch the new holder', async () => {
    const name = container();
    const a = lockOf(name, { renewEveryMs: 200 });
    const b = lockOf(name);
    const lease = (await a.tryAcquire('linux'))!;
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(name)
      .getBlockBlobClient(a.lockBlobName('linux'));
    await blob.getBlobLeaseClient().breakLease(0);
    const other = (await b.tryAcquire('linux'))!;
    while (!lease.lost) await new Promise((r) => setTimeout(r, 20));
    await lease.release();
    expect((await blob.getProperties()).leaseState).toBe('leased'); // still the new holder's
    expect(other.held()).toBe(true);
    await other.release();
  });

  it('refuses timings that would leave the fence open past the lease', () => {
    expect(() => lockOf(container(), { freshForMs: 15_000 })).toThrow(RangeError);
    expect(() => lockOf(container(), { renewEveryMs: 8_000 })).toThrow(RangeError);
    expect(() => lockOf(container(), { renewEveryMs: 1_000, freshForMs: 900 })).toThrow(RangeError);
  });
});

describe('MemoryPoolLock', () => {
  it('implements the same protocol in one process', async () => {
    const m = new MemoryPoolLock();
    expect(await m.bump('a')).toBe(1);
    expect(await m.generation('A')).toBe(1);
    const l = await m.tryAcquire('a');
    expect(await m.tryAcquire('A')).toBeUndefined();
    expect(l!.held()).toBe(true);
    await l!.release();
    expect(l!.held()).toBe(false);
    expect(() => l!.assert()).toThrow(LeaseLost);
    expect(await m.tryAcquire('a')).toBeDefined();
  });
});
