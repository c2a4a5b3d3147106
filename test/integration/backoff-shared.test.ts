/**
 * Back-off after a quota error is shared by every instance through AzureWebJobsStorage (Azurite):
 * instance A hits the quota; instance B's status shows the back-off and B's pass sends no create
 * for that profile, while the other profile keeps scaling.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyWarmState } from '../../src/core/warm/index.js';
import { BlobPoolStateStore } from '../../src/storage/pool-state-store.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { stackRuntime } from '../helpers/stack-runtime.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';

const PAT = 'canarypat-backoff-5b2d48e6b0c4f1a9d7e3b5c8a2f6d0e4b9c1a7f3';
let stack: FakeStack;
let azurite: Azurite;

beforeAll(async () => {
  [stack, azurite] = await Promise.all([
    startFakeStack({ pat: PAT, subscriptionId: '00000000-0000-0000-0000-0000000000cc', resourceGroup: 'rg-backoff' }),
    startAzurite(),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), azurite?.stop()]);
});

const BO_POOLS = [
  { name: 'big', pool: 'bo', image: 'contoso.azurecr.io/azp-agent:1', capabilities: ['big'], placeholder: false },
  { name: 'small', pool: 'bo', image: 'contoso.azurecr.io/azp-agent:1', capabilities: ['small'], placeholder: false },
];
const instance = (pools: unknown[] = BO_POOLS) => stackRuntime(stack, azurite, { id: 'shared-backoff', pools });

describe('shared back-off (Azurite)', () => {
  it("the warm state one instance's pass writes is what the next pass, on another instance, folds into", async () => {
    const pools = [
      {
        name: 'lx',
        pool: 'warmshared',
        image: 'contoso.azurecr.io/azp-agent:1',
        placeholder: false,
        targetWaitSec: 15,
      },
    ];
    const [a, b] = [instance(pools), instance(pools)];
    stack.azdo.addPool('warmshared');
    const j1 = stack.azdo.queueJob('warmshared', []);
    const j2 = stack.azdo.queueJob('warmshared', []);
    await a.coordinator.request('warmshared', 'timer');
    // j1 leaves the list before B's pass; j2 is listed again; j3 is new.
    stack.azdo.finishJob(j1.requestId);
    const j3 = stack.azdo.queueJob('warmshared', []);
    await b.coordinator.request('warmshared', 'timer');
    const warm = (await a.deps.poolState.load('warmshared')).warm['lx'];
    // j1 only A saw, j2 both (once), j3 only B: B started from A's state, read from the blob.
    expect(warm?.arrivals.recent).toEqual([j1, j2, j3].map((j) => Date.parse(j.queueTime)).sort((x, y) => x - y));
    expect(warm?.arrivals.hour?.count).toBe(3);
    expect(Object.keys(warm?.arrivals.counted ?? {}).filter((k) => k.startsWith('r'))).toHaveLength(3);
  });

  it('a quota error on one instance backs the profile off on every instance', async () => {
    const { azdo, arm } = stack;
    azdo.addPool('bo');
    azdo.queueJob('bo', ['big']);
    arm.inject({
      match: { method: 'PUT', pathIncludes: 'azp-big-' },
      status: 409,
      code: 'ContainerGroupQuotaReached',
      message: 'quota reached',
      times: Infinity,
    });
    const a = instance();
    await a.coordinator.request('bo', 'test A');
    expect(arm.requests.filter((r) => r.method === 'PUT' && r.path.includes('azp-big-'))).toHaveLength(1);

    const b = instance();
    const status = await b.status();
    const big = status.pools[0]!.views.find((v) => v.profile === 'big')!;
    expect(big.backoffUntil).toBeDefined();
    expect(Date.parse(big.backoffUntil!)).toBeGreaterThan(Date.now());

    arm.clearRequests();
    azdo.queueJob('bo', ['small']);
    await b.coordinator.request('bo', 'test B');
    expect(arm.requests.filter((r) => r.method === 'PUT' && r.path.includes('azp-big-'))).toHaveLength(0);
    expect(arm.requests.filter((r) => r.method === 'PUT' && r.path.includes('azp-small-'))).toHaveLength(1);
    expect([...a.lines, ...b.lines].join('\n')).not.toContain(PAT);
  });

  it('a pool asked for under another spelling (CLI --pool) reads and writes the same state', async () => {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      'backoff-case',
    );
    await container.createIfNotExists();
    const a = new BlobPoolStateStore(container, [{ name: 'p1', pool: 'Linux' }]);
    const state = await a.load('linux');
    state.backoff['p1'] = { until: '2030-01-01T00:00:00.000Z', failures: 1, reason: 'quota' };
    await a.save('LINUX', state);
    const b = new BlobPoolStateStore(container, [{ name: 'p1', pool: 'Linux' }]);
    expect((await b.load('linux')).backoff['p1']).toEqual({
      until: '2030-01-01T00:00:00.000Z',
      failures: 1,
      reason: 'quota',
    });
  });

  it('an unreadable or foreign state blob means no back-off, never a failed pass', async () => {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      'backoff-garbage',
    );
    await container.createIfNotExists();
    const store = new BlobPoolStateStore(container, [{ name: 'p1', pool: 'x' }]);
    const put = (text: string) =>
      container.getBlockBlobClient(store.blobName('x')).upload(text, Buffer.byteLength(text));
    await put('{not json');
    expect(await store.load('x')).toMatchObject({ backoff: {}, warm: {} });
    await put(JSON.stringify({ p1: { until: 5 }, gone: { until: 'x', failures: 1, reason: 'r' } }));
    const state = await store.load('x');
    expect(state).toMatchObject({ backoff: {}, warm: {} });
    state.backoff['p1'] = { until: '2030-01-01T00:00:00.000Z', failures: 2, reason: 'quota' };
    await store.save('x', state);
    const again = new BlobPoolStateStore(container, [{ name: 'p1', pool: 'x' }]);
    expect((await again.load('x')).backoff['p1']).toEqual({
      until: '2030-01-01T00:00:00.000Z',
      failures: 2,
      reason: 'quota',
    });
  });

  it('placement back-off keys (profile@i) and the warm-agent state (_warm) share the blob without reading each other', async () => {
    const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
      'backoff-placements-warm',
    );
    await container.createIfNotExists();
    const profiles = [{ name: 'p1', pool: 'pw' }];
    const a = new BlobPoolStateStore(container, profiles);
    const p0 = { until: '2030-01-01T00:00:00.000Z', failures: 1, reason: 'quota: p0' };
    const p1 = {
      until: '2030-01-01T00:05:00.000Z',
      failures: 3,
      reason: 'lateCapacity: p1',
      since: '2029-12-31T23:00:00.000Z',
    };
    const warm = emptyWarmState(new Date('2029-12-31T23:30:00.000Z'));
    await a.save('pw', { backoff: { p1: p0, 'p1@1': p1 }, warm: { p1: warm }, expected: { creates: {}, deletes: {} } });

    const blob = JSON.parse(
      (await container.getBlockBlobClient(a.blobName('pw')).downloadToBuffer()).toString('utf8'),
    ) as Record<string, unknown>;
    expect(Object.keys(blob).sort()).toEqual(['_warm', 'p1', 'p1@1']);

    const b = new BlobPoolStateStore(container, profiles);
    const read = await b.load('pw');
    expect(read.backoff['p1']).toEqual(p0);
    expect(read.backoff['p1@1']).toEqual(p1);
    expect(read.warm['p1']).toEqual(warm);
    // The warm state is not a back-off entry, and a placement key is not a profile's warm state.
    expect(Object.keys(read.backoff).sort()).toEqual(['p1', 'p1@1']);
    expect(read.warm['p1@1']).toBeUndefined();

    // A back-off-shaped `_warm@1` is not a placement, a warm entry under a placement key is not
    // warm state, and a removed profile's placement is dropped.
    const text = JSON.stringify({ ...blob, '_warm@1': p1, 'gone@1': p1, _warm: { p1: warm, 'p1@1': warm } });
    await container.getBlockBlobClient(b.blobName('pw')).upload(text, Buffer.byteLength(text));
    const c = new BlobPoolStateStore(container, profiles);
    const third = await c.load('pw');
    expect(Object.keys(third.backoff).sort()).toEqual(['p1', 'p1@1']);
    expect(third.warm['p1']).toEqual(warm);
    expect(third.warm['p1@1']).toBeUndefined();
    await c.save('pw', third);
    const written = JSON.parse(
      (await container.getBlockBlobClient(c.blobName('pw')).downloadToBuffer()).toString('utf8'),
    ) as Record<string, unknown>;
    expect(Object.keys(written).sort()).toEqual(['_warm', 'p1', 'p1@1']);
    expect(Object.keys(written._warm as object)).toEqual(['p1']);
  });
});
