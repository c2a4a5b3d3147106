/**
 * The webhook's durable hand-off on a real Azurite queue, with the real handlers the functions
 * register (service hook → `azp-reconcile` → queue trigger → coordinator → pass) against the HTTPS
 * fakes: 20 concurrent deliveries → 20 messages → one coalesced set of passes, exactly one create per
 * queued job; a queue outage → 503 and nothing lost once it is back; a webhook process killed
 * right after its 202 → the pass still runs from the queue.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { HttpRequest, InvocationContext, app } from '@azure/functions';
import { QueueServiceClient } from '@azure/storage-queue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeQueueHandler } from '../../src/app/queue-handler.js';
import { agentName, ownershipTags } from '../../src/core/names.js';
import { estimateArrivalRate } from '../../src/core/warm/index.js';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { StorageHandoffQueue, RECONCILE_QUEUE } from '../../src/storage/queue.js';
import { memoryLogger } from '../../src/util/log.js';
import { makeServiceHookHandler } from '../../src/webhook/http.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { makeTestCert } from '../fakes/tls.js';
import { startAzurite, azuriteConnectionString, type Azurite } from '../helpers/azurite.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { readContractJson } from '../helpers/contracts.js';

const PAT = 'canaryqueuepat0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5';
const USER = 'azp-hook';
const PASS = 'queue-test-webhook-password';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

let azurite: Azurite;
let stack: FakeStack;
let proxy: FaultProxy;
let seq = 0;

beforeAll(async () => {
  azurite = await startAzurite();
  stack = await startFakeStack({
    pat: PAT,
    subscriptionId: '00000000-0000-0000-0000-0000000000a1',
    resourceGroup: 'rg-agents',
  });
  proxy = await startFaultProxy({ host: '127.0.0.1', port: azurite.queuePort });
}, 60_000);

afterAll(async () => {
  await proxy?.stop();
  await stack?.close();
  await azurite?.stop();
});

function delivery(notificationId: number, jobId?: string): string {
  const body = structuredClone(
    readContractJson<Record<string, unknown> & { resource: { job: { state: string; result?: string } } }>(
      'servicehooks/job-state-changed.events-md.json',
    ),
  );
  body.notificationId = notificationId;
  body.resource.job.state = 'waiting';
  delete body.resource.job.result;
  if (jobId) (body.resource.job as Record<string, unknown>).id = jobId;
  // The sample names another organization's base URL; without one a payload is accepted as ours.
  delete (body as Record<string, unknown>).resourceContainers;
  return JSON.stringify(body);
}

/** A runtime of the real app (blob lease + reconcile queue in Azurite) against the fakes; its own pool and queue. */
function setup(opts: { queueEndpoint?: string; targetWaitSec?: number } = {}) {
  const pool = `q${process.pid}x${++seq}`;
  const queueName = `${RECONCILE_QUEUE}-t${seq}`;
  const env = stack.env({
    AzureWebJobsStorage: azurite.connectionString,
    WEBHOOK_USERNAME: USER,
    WEBHOOK_PASSWORD: PASS,
    POOLS: JSON.stringify([
      {
        name: 'linux',
        pool,
        image: 'contoso.azurecr.io/azp-agent:1',
        placeholder: false,
        maxAgents: 50,
        maxCreatePerPass: 50,
        ...(opts.targetWaitSec !== undefined ? { targetWaitSec: opts.targetWaitSec } : {}),
      },
    ]),
  });
  const queueConn = opts.queueEndpoint
    ? azuriteConnectionString(azurite.blobPort, azurite.queuePort, azurite.tablePort).replace(
        /QueueEndpoint=[^;]+/,
        `QueueEndpoint=${opts.queueEndpoint}`,
      )
    : azurite.connectionString;
  const service = QueueServiceClient.fromConnectionString(queueConn, {
    retryOptions: { maxTries: 1, tryTimeoutInMs: 3000 },
  });
  const handoff = StorageHandoffQueue.fromService(service, queueName, { timeoutMs: 3000 });
  const reader = QueueServiceClient.fromConnectionString(azurite.connectionString).getQueueClient(queueName);
  let entropy = 0;
  const runtime: Runtime = createRuntime(env, {
    logger: memoryLogger(),
    credential: stack.credential,
    azure: { ca: makeTestCert().cert, retryOptions: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 50 } },
    azdoDispatcher: stack.dispatcher,
    entropy: () => `${seq}z${(++entropy).toString(36)}`.padStart(12, '0'),
    handoff,
  });
  const webhook = makeServiceHookHandler(async () => runtime);
  const queueTrigger = makeQueueHandler(async () => runtime);
  const deliver = async (notificationId: number, body = delivery(notificationId)) => {
    const res = await webhook(
      new HttpRequest({
        method: 'POST',
        url: 'http://127.0.0.1/api/servicehook',
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        body: { string: body },
      }),
      new InvocationContext({ invocationId: `d${notificationId}`, functionName: 'servicehook', logHandler: () => {} }),
    );
    return res;
  };
  /** What the host does: take up to 32 messages, run the trigger for each at once, delete those that succeeded. */
  const drain = async (): Promise<number> => {
    let handled = 0;
    for (;;) {
      const got = await reader.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 60 });
      if (got.receivedMessageItems.length === 0) return handled;
      await Promise.all(
        got.receivedMessageItems.map(async (m) => {
          // The host decodes base64 and hands parsed JSON to a Node handler.
          const entry = JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as unknown;
          await queueTrigger(
            entry,
            new InvocationContext({
              invocationId: m.messageId,
              functionName: 'reconcileQueue',
              triggerMetadata: { dequeueCount: m.dequeueCount, id: m.messageId },
              logHandler: () => {},
            }),
          );
          await reader.deleteMessage(m.messageId, m.popReceipt);
          handled++;
        }),
      );
    }
  };
  const depth = async () => (await reader.getProperties()).approximateMessagesCount ?? 0;
  const ours = () =>
    new Set(
      stack.arm
        .groups()
        .filter((g) => g.tags['azp-pool'] === pool)
        .map((g) => g.name),
    );
  /** Container-group PUTs for this test's pool (a second PUT of one name would be a double create). */
  const creates = () => {
    const names = ours();
    return stack.arm.requests.filter((r) => r.method === 'PUT' && names.has(r.path.split('?')[0]!.split('/').pop()!));
  };
  return {
    pool,
    env,
    runtime,
    deliver,
    drain,
    depth,
    creates,
    handoff,
    ready: () => reader.createIfNotExists(),
  };
}

describe('the reconcile queue (Azurite)', () => {
  it('20 concurrent deliveries → one message each, one coalesced set of passes, exactly one create per queued job', async () => {
    const s = setup();
    stack.azdo.addPool(s.pool);
    for (let i = 0; i < 20; i++) stack.azdo.queueJob(s.pool, []);
    const unsubscribe = stack.arm.onCreate((g) => {
      if (g.tags['azp-pool'] === s.pool) stack.azdo.registerAgent(s.pool, g.name);
    });
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => s.deliver(1000 + i)));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
      // 202 came after the enqueue and nothing ran in the webhook: 20 messages, no create yet.
      expect(await s.depth()).toBe(20);
      expect(s.creates()).toHaveLength(0);

      expect(await s.drain()).toBe(20);
      await s.runtime.coordinator.idle();
      const passes = s.runtime.coordinator.views().reduce((n, v) => n + v.passes, 0);
      console.log(`20 deliveries → 20 messages → ${passes} pass(es), ${s.creates().length} creates for 20 queued jobs`);
      expect(passes).toBeGreaterThanOrEqual(1);
      expect(passes).toBeLessThan(20);
      expect(s.creates()).toHaveLength(20);
      expect(await s.depth()).toBe(0);
      // The webhook → create latency was measured for the queue's pass.
      expect(s.runtime.telemetry.counts().pools[s.pool]?.profiles.linux?.webhookCreateLatencySec.count).toBe(20);
    } finally {
      unsubscribe();
    }
  }, 60_000);

  it('a job that queued, ran and finished between passes reaches λ once: from the agent that ran it, and once (not twice) with the webhook too', async () => {
    // Two pools, the same story: one of our agents ran a job that the job-request list no longer
    // holds. Pool `timerOnly` gets a pass without a delivery (the agent's last completed request
    // shows the job); pool `hooked` gets the delivery as well.
    const run = async (withDelivery: boolean) => {
      const s = setup({ targetWaitSec: 15 });
      await s.ready();
      stack.azdo.addPool(s.pool);
      const name = agentName('azp', 'linux', Date.now(), `${seq}abcdefghijkl`);
      stack.arm.seed(name, {
        subscriptionId: s.env.AZURE_SUBSCRIPTION_ID,
        resourceGroup: s.env.ACI_RESOURCE_GROUP,
        tags: ownershipTags({
          autoscalerId: s.runtime.settings.AUTOSCALER_ID,
          pool: s.pool,
          profile: 'linux',
          createdAt: new Date(Date.now() - 120_000).toISOString(),
          placeholder: false,
        }),
      });
      stack.azdo.registerAgent(s.pool, name);
      const job = stack.azdo.queueJob(s.pool, []);
      stack.azdo.assignJob(job.requestId, name);
      stack.azdo.finishJob(job.requestId);
      if (withDelivery) {
        expect((await s.deliver(5000 + seq, delivery(5000 + seq, job.jobId))).status).toBe(202);
        expect(await s.drain()).toBe(1);
      } else await s.runtime.coordinator.request(s.pool, 'timer');
      await s.runtime.coordinator.idle();
      // What the pass wrote to the blob, read back as the next pass would.
      const warm = (await s.runtime.deps.poolState.load(s.pool)).warm['linux'];
      return { job, warm };
    };
    const timerOnly = await run(false);
    expect(timerOnly.warm?.arrivals.recent).toEqual([Date.parse(timerOnly.job.queueTime)]);
    expect(estimateArrivalRate(timerOnly.warm!.arrivals, new Date(), 'UTC').lambdaPerSec).toBeGreaterThan(0);

    const hooked = await run(true);
    // Counted once, at the request's queue time, under both its ids.
    expect(hooked.warm?.arrivals.recent).toEqual([Date.parse(hooked.job.queueTime)]);
    expect(Object.keys(hooked.warm?.arrivals.counted ?? {}).sort()).toEqual(
      [`j${hooked.job.jobId.toLowerCase()}`, `r${hooked.job.requestId}`].sort(),
    );
    expect(estimateArrivalRate(hooked.warm!.arrivals, new Date(), 'UTC').lambdaPerSec).toBeGreaterThan(0);
  }, 60_000);

  it('a queue outage → 503 + Retry-After; Azure DevOps retries once it is back and nothing is lost', async () => {
    const s = setup({ queueEndpoint: `${proxy.url}/devstoreaccount1` });
    await s.ready();
    stack.azdo.addPool(s.pool);
    stack.azdo.queueJob(s.pool, []);
    proxy.mode = 'refuse';
    try {
      const down = await s.deliver(7);
      expect(down.status).toBe(503);
      expect(new Headers(down.headers as Record<string, string>).get('retry-after')).toBe('30');
      proxy.mode = '503';
      expect((await s.deliver(7)).status).toBe(503);
    } finally {
      proxy.mode = 'pass';
    }
    expect(await s.depth()).toBe(0);
    // Azure DevOps' retry of the same notification: not taken for a duplicate, stored, answered 202.
    expect((await s.deliver(7)).status).toBe(202);
    expect(await s.depth()).toBe(1);
    await s.drain();
    await s.runtime.coordinator.idle();
    expect(s.creates()).toHaveLength(1);
  }, 60_000);

  it('a webhook process killed right after its 202 → the pass still runs from the queue', async () => {
    const s = setup();
    await s.ready();
    stack.azdo.addPool(s.pool);
    stack.azdo.queueJob(s.pool, []);
    const queueName = (s.handoff as StorageHandoffQueue).queue.name;
    // The child uses the queue name of this runtime: AzureWebJobsStorage plus the test's queue.
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'test/integration/fixtures/deliver-and-hang.ts')],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ...stack.env({
            AzureWebJobsStorage: azurite.connectionString,
            WEBHOOK_USERNAME: USER,
            WEBHOOK_PASSWORD: PASS,
            POOLS: JSON.stringify([{ name: 'linux', pool: s.pool, image: 'contoso.azurecr.io/azp-agent:1' }]),
          }),
          RECONCILE_QUEUE_NAME: queueName,
          TEST_AUTH: AUTH,
          TEST_BODY: delivery(99),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const status = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the webhook process: ${err}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /status (\d+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid!, 'SIGKILL');
    await exited;
    expect(status).toBe('202');
    expect(s.creates()).toHaveLength(0);
    expect(await s.depth()).toBe(1);
    await s.drain();
    await s.runtime.coordinator.idle();
    expect(s.creates()).toHaveLength(1);
  }, 60_000);

  it('an unreadable message fails its attempt (the host retries, then moves it to the poison queue) and the last attempt says so', async () => {
    const s = setup();
    await s.ready();
    const events: string[] = [];
    const trigger = makeQueueHandler(async () => ({
      requestFromQueue: async () => {},
      telemetry: { event: (name: string) => void events.push(name), flush: async () => {} },
    }));
    const lines: string[] = [];
    const ctx = (n: number) =>
      new InvocationContext({
        invocationId: `p${n}`,
        functionName: 'reconcileQueue',
        triggerMetadata: { dequeueCount: n },
        logHandler: (_l, ...a) => lines.push(a.join(' ')),
      });
    await expect(trigger({ nope: true }, ctx(1))).rejects.toThrow(/unreadable reconcile message/);
    expect(events).toEqual([]);
    await expect(trigger('not base64 json', ctx(5))).rejects.toThrow(/unreadable/);
    expect(events).toEqual(['azp_autoscaler.queue_poison']);
    expect(lines.join('\n')).toMatch(/attempt 5 of 5 failed; the host moves the message to the poison queue/);
    // The poison queue's depth is on /api/status.
    await (s.handoff as StorageHandoffQueue).poison.createIfNotExists();
    await (s.handoff as StorageHandoffQueue).poison.sendMessage(Buffer.from('{}').toString('base64'));
    expect(await (s.handoff as StorageHandoffQueue).depth()).toMatchObject({ poison: 1 });
  }, 30_000);

  it('src/functions/reconcile-queue.ts registers the queue trigger on azp-reconcile with the AzureWebJobsStorage connection', async () => {
    const spy = vi.spyOn(app, 'storageQueue').mockImplementation(() => {});
    try {
      await import('../../src/functions/reconcile-queue.js');
      expect(spy).toHaveBeenCalledWith(
        'reconcileQueue',
        expect.objectContaining({
          queueName: 'azp-reconcile',
          connection: 'AzureWebJobsStorage',
          handler: expect.any(Function),
        }),
      );
    } finally {
      spy.mockRestore();
    }
  });
});
