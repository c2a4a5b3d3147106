/**
 * The pass coordinator with a real Azurite, several "Functions instances" (one BlobPoolLock +
 * PassCoordinator + webhook handler each, sharing one storage account), the fake Azure DevOps,
 * the REAL reconcile() and an in-memory compute port whose created groups are listed at once.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AzureDevOpsClient, patAuth } from '../../src/azdo/index.js';
import { loadSettings } from '../../src/config/load.js';
import type { Settings } from '../../src/config/schema.js';
import type { OwnedGroup } from '../../src/core/types.js';
import { PassCoordinator, type PassRunner } from '../../src/reconcile/coordinator.js';
import {
  fenceDeps,
  memoryPoolStateStore,
  NULL_ARRIVALS,
  MemoryPoolLock,
  type AgentLaunch,
  type ComputePort,
  type PoolLockPort,
} from '../../src/ports/index.js';
import { reconcile } from '../../src/reconcile/pass.js';
import { BlobPoolLock } from '../../src/storage/lock.js';
import { memoryLogger } from '../../src/util/log.js';
import { DedupCache } from '../../src/webhook/dedup.js';
import { makeServiceHookHandler } from '../../src/webhook/http.js';
import { startFakeAzdo, type FakeAzdo } from '../fakes/azdo.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { readContractJson } from '../helpers/contracts.js';

const USER = 'azp-hook';
const PASS = 'correct-horse-battery-staple';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let azurite: Azurite;
let azdo: FakeAzdo;
let containerSeq = 0;

beforeAll(async () => {
  [azurite, azdo] = await Promise.all([startAzurite(), startFakeAzdo()]);
  azdo.addPool('linux');
});
afterAll(async () => {
  await Promise.all([azurite?.stop(), azdo?.close()]);
});
beforeEach(() => {
  azdo.state.jobs = [];
  azdo.state.agents = [];
});

function memoryCompute(createDelayMs = 5) {
  const groups = new Map<string, OwnedGroup>();
  const creates: AgentLaunch[] = [];
  const port: ComputePort = {
    listGroups: async () => [...groups.values()].map((g) => ({ ...g })),
    getGroup: async (name) =>
      groups.has(name) ? { name, provisioningState: 'Succeeded', instanceState: 'Running' } : undefined,
    createGroup: async (l) => {
      await sleep(createDelayMs);
      creates.push(l);
      groups.set(l.name, {
        name: l.name,
        pool: l.pool,
        profile: l.profile.name,
        createdAt: l.createdAt,
        provisioningState: 'Creating',
        placeholder: l.placeholder,
      });
    },
    deleteGroup: async (name) => {
      groups.delete(name);
    },
  };
  return { port, creates, groups };
}

function settingsFor(): Settings {
  return loadSettings({
    AZP_URL: azdo.url,
    WEBHOOK_USERNAME: USER,
    WEBHOOK_PASSWORD: PASS,
    POOLS: JSON.stringify([
      { name: 'lin', pool: 'linux', image: 'example/agent:1', placeholder: false, maxAgents: 50 },
    ]),
  });
}

interface Instance {
  lock: BlobPoolLock;
  coordinator: PassCoordinator;
  deliver(notificationId: number): Promise<number>;
}

/** Shared tracking of passes across all instances: proves one writer per pool. */
function tracker() {
  const t = { active: 0, maxActive: 0, passes: 0 };
  const wrap =
    (run: PassRunner): PassRunner =>
    async (pool, reasons, fence) => {
      t.active++;
      t.maxActive = Math.max(t.maxActive, t.active);
      t.passes++;
      try {
        return await run(pool, reasons, fence);
      } finally {
        t.active--;
      }
    };
  return { t, wrap };
}

function makeInstances(
  n: number,
  run: PassRunner,
  settings: Settings,
  lockFor?: (lock: BlobPoolLock, i: number) => PoolLockPort,
): Instance[] {
  const container = `conc-${process.pid}-${++containerSeq}`;
  const jobSample = readContractJson<Record<string, unknown>>('servicehooks/job-state-changed.events-md.json');
  return Array.from({ length: n }, (_, i) => {
    const lock = BlobPoolLock.fromConnectionString(azurite.connectionString, {
      containerName: container,
      leaseSeconds: 15,
    });
    const coordinator = new PassCoordinator({
      lock: lockFor ? lockFor(lock, i) : lock,
      run,
      logger: memoryLogger(),
      instance: `i${i}`,
    });
    // The queue hand-off is tested in test/integration/reconcile-queue.test.ts; here each delivery
    // requests its pass directly, as the queue trigger does, to load the coordinator across instances.
    const handoff = {
      send: async (r: { pools: string[]; reason: string }) => void coordinator.requestAll(r.pools, r.reason),
    };
    const handler = makeServiceHookHandler(async () => ({ settings, handoff, logger: memoryLogger() }), {
      seen: new DedupCache(),
    });
    const deliver = async (notificationId: number) => {
      const body = structuredClone(jobSample) as Record<string, unknown> & {
        resource: { job: { state: string; result?: string } };
      };
      body.notificationId = notificationId;
      body.resource.job.state = 'waiting';
      delete body.resource.job.result;
      const res = await handler(
        new HttpRequest({
          method: 'POST',
          url: 'http://127.0.0.1/api/servicehook?pool=linux',
          headers: { authorization: AUTH, 'content-type': 'application/json; charset=utf-8' },
          body: { string: JSON.stringify(body) },
        }),
        new InvocationContext({
          invocationId: `d${notificationId}`,
          functionName: 'servicehook',
          logHandler: () => {},
        }),
      );
      return res.status ?? 200;
    };
    return { lock, coordinator, deliver };
  });
}

function reconcileRunner(settings: Settings, compute: ComputePort): PassRunner {
  const azdoClient = new AzureDevOpsClient({ baseUrl: azdo.url, auth: patAuth(async () => 'fake-pat') });
  const deps = {
    azdo: azdoClient,
    compute,
    secrets: { getToken: async () => 'fake-pat', invalidate: () => {} },
    clock: { now: () => new Date(), sleep },
    logger: memoryLogger(),
    poolState: memoryPoolStateStore(),
    arrivals: NULL_ARRIVALS,
    entropy: (() => {
      let n = 0;
      return () => (n++).toString(36).padStart(12, '0');
    })(),
  };
  return (pool, _reasons, lease) =>
    reconcile({ prefix: 'azp', profiles: settings.POOLS, dryRun: false }, fenceDeps(deps, lease), [pool]);
}

const allIdle = (xs: Instance[]) => Promise.all(xs.map((x) => x.coordinator.idle()));

describe('PassCoordinator + webhook with Azurite (3 instances)', () => {
  it('20 concurrent deliveries + a timer pass for 5 queued jobs → exactly 5 creates, never two passes at once', async () => {
    const settings = settingsFor();
    for (let i = 0; i < 5; i++) azdo.queueJob('linux');
    const compute = memoryCompute(20);
    const { t, wrap } = tracker();
    const inst = makeInstances(3, wrap(reconcileRunner(settings, compute.port)), settings);

    const statuses = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => inst[i % 3]!.deliver(100 + i)),
      inst[0]!.coordinator.request('linux', 'timer').then(() => 202),
    ]);
    expect(statuses.every((s) => s === 202)).toBe(true);
    await allIdle(inst);

    expect(compute.creates).toHaveLength(5);
    expect(t.maxActive).toBe(1);
    expect(t.passes).toBeGreaterThanOrEqual(1);
    // Many triggers collapsed: far fewer passes than deliveries.
    expect(t.passes).toBeLessThan(21);

    // Level-triggered: another burst (redeliveries and new ids) changes nothing.
    await Promise.all([inst[1]!.deliver(100), inst[2]!.deliver(999), inst[0]!.coordinator.request('linux', 'timer')]);
    await allIdle(inst);
    expect(compute.creates).toHaveLength(5);
    expect(t.maxActive).toBe(1);
  });

  it('a delivery during a pass causes exactly one more pass (several deliveries on several instances collapse)', async () => {
    const settings = settingsFor();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    const { t, wrap } = tracker();
    const run = wrap(async () => {
      if (t.passes === 1) {
        started();
        await gate;
      }
    });
    const inst = makeInstances(3, run, settings);
    const first = inst[0]!.coordinator.request('linux', 'timer');
    await firstStarted;
    // During pass 1: deliveries to every instance (the holder's own one coalesces in-process).
    expect(
      await Promise.all([inst[1]!.deliver(1), inst[2]!.deliver(2), inst[0]!.deliver(3), inst[1]!.deliver(4)]),
    ).toEqual([202, 202, 202, 202]);
    await Promise.all([inst[1]!.coordinator.idle(), inst[2]!.coordinator.idle()]);
    expect(t.passes).toBe(1); // the other instances handed over: no pass of their own
    release();
    await first;
    await allIdle(inst);
    expect(t.passes).toBe(2);
    expect(t.maxActive).toBe(1);
  });

  it('a bump that lands between the final check and the release still gets its pass', async () => {
    const settings = settingsFor();
    const { t, wrap } = tracker();
    let injected = false;
    let others: Instance[] = [];
    // Instance 0's lease: just before releasing, another instance's request bumps and finds the lease busy.
    const inst = makeInstances(
      2,
      wrap(async () => {}),
      settings,
      (lock, i) =>
        i !== 0
          ? lock
          : {
              bump: (p) => lock.bump(p),
              generation: (p) => lock.generation(p),
              tryAcquire: async (p) => {
                const lease = await lock.tryAcquire(p);
                if (!lease) return lease;
                return {
                  pool: lease.pool,
                  leaseId: lease.leaseId,
                  get lost() {
                    return lease.lost;
                  },
                  held: () => lease.held(),
                  assert: () => lease.assert(),
                  release: async () => {
                    if (!injected) {
                      injected = true;
                      await others[1]!.coordinator.request(p, 'late webhook');
                    }
                    await lease.release();
                  },
                };
              },
            },
    );
    others = inst;
    await inst[0]!.coordinator.request('linux', 'timer');
    await allIdle(inst);
    expect(injected).toBe(true);
    expect(inst[1]!.coordinator.views()[0]?.handedOver).toBe(1);
    expect(t.passes).toBe(2);
    expect(t.maxActive).toBe(1);
  });

  it(
    'a killed holder (lease never released) → the next trigger after expiry recovers and creates',
    { timeout: 45_000 },
    async () => {
      const settings = settingsFor();
      azdo.queueJob('linux');
      azdo.queueJob('linux');
      const compute = memoryCompute();
      const { t, wrap } = tracker();
      const inst = makeInstances(2, wrap(reconcileRunner(settings, compute.port)), settings);
      // The crashed instance: took the lease (15 s), then died — no renewal, no release.
      await inst[0]!.lock.generation('linux');
      const crashedAt = Date.now();
      await inst[0]!.lock.container
        .getBlockBlobClient(inst[0]!.lock.lockBlobName('linux'))
        .getBlobLeaseClient()
        .acquireLease(15);

      expect(await inst[1]!.deliver(1)).toBe(202);
      await allIdle(inst);
      expect(t.passes).toBe(0);
      expect(compute.creates).toHaveLength(0);
      expect(await inst[1]!.lock.generation('linux')).toBeGreaterThan(0);

      // Timer ticks (every second here) until the lease expires and one of them runs the pass.
      while (compute.creates.length === 0) {
        expect(Date.now() - crashedAt).toBeLessThan(30_000);
        await inst[(t.passes + 1) % 2]!.coordinator.request('linux', 'timer');
        if (compute.creates.length === 0) await sleep(1000);
      }
      expect(Date.now() - crashedAt).toBeGreaterThanOrEqual(13_000);
      await allIdle(inst);
      expect(compute.creates).toHaveLength(2);
      expect(t.maxActive).toBe(1);
    },
  );
});

describe('PassCoordinator (memory lock)', () => {
  it('coalesces in-process requests during a pass into one more pass and logs the reasons', async () => {
    const logger = memoryLogger();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const seen: (readonly string[])[] = [];
    let started!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    const c = new PassCoordinator({
      lock: new MemoryPoolLock(),
      logger,
      instance: 'x',
      run: async (_pool, reasons) => {
        seen.push(reasons);
        if (seen.length === 1) {
          started();
          await gate;
        }
      },
    });
    const p1 = c.request('linux', 'timer');
    await firstStarted;
    const p2 = c.request('linux', 'webhook job waiting #1');
    const p3 = c.request('linux', 'webhook job waiting #2');
    release();
    await Promise.all([p1, p2, p3]);
    expect(seen).toEqual([['timer'], ['webhook job waiting #1', 'webhook job waiting #2']]);
    expect(logger.lines.filter((l) => l.includes('pass start'))).toHaveLength(2);
    expect(c.views()[0]).toMatchObject({ pool: 'linux', passes: 2, requests: 3, active: false });
  });

  it('never rejects: storage errors are logged and no pass runs (fail closed)', async () => {
    const logger = memoryLogger();
    let runs = 0;
    const broken: PoolLockPort = {
      bump: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:1');
      },
      generation: async () => 0,
      tryAcquire: async () => undefined,
    };
    const c = new PassCoordinator({ lock: broken, logger, run: async () => void runs++ });
    await expect(c.request('linux', 'timer')).resolves.toBeUndefined();
    expect(runs).toBe(0);
    expect(logger.lines.some((l) => l.startsWith('error') && l.includes('cannot coordinate'))).toBe(true);
  });

  it('a failing pass is logged and does not stop later passes', async () => {
    const logger = memoryLogger();
    let n = 0;
    const c = new PassCoordinator({
      lock: new MemoryPoolLock(),
      logger,
      run: async () => {
        if (++n === 1) throw new Error('boom');
      },
    });
    await c.request('linux', 'a');
    await c.request('linux', 'b');
    expect(n).toBe(2);
    expect(logger.lines.some((l) => l.includes('pass failed') && l.includes('boom'))).toBe(true);
    expect(c.views()[0]?.lastError).toBeUndefined();
  });
});
