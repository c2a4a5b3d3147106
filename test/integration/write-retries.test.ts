/**
 * Issue 21, finding 1: retries below the fence. Every write *attempt* is fenced, not every call.
 *
 * The real pass with the real clients (ARM SDK with the production retry options, the Azure
 * DevOps client on undici) over HTTPS against the fakes, faults injected per request:
 *   (a) a group with no registration is re-read by name, then its DELETE gets 503 + Retry-After: 5;
 *       the agent registers and takes a job right after the first attempt;
 *   (b) the same with 500 twice;
 *   (c) the same with a 504 after a slow answer;
 *   (d) Azure DevOps PATCH/DELETE (429/503 waits, a timed-out PATCH) and an ARM PUT, each answered
 *       while the pool's lease is lost.
 * Invariants: 0 busy agents' containers deleted; 0 write requests reach a fake after the fence broke
 * ("pool lease lost" logged). Before the fix the SDK pipeline / client sent the write again.
 */
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { AzureDevOpsClient } from '../../src/azdo/client.js';
import { patAuth } from '../../src/azdo/auth.js';
import { loadSettings } from '../../src/config/load.js';
import { fenceDeps, LeaseGuard } from '../../src/ports/fence.js';
import { memoryPoolStateStore } from '../../src/ports/index.js';
import { reconcile, type Outcome, type PassResult, type ReconcileOptions } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeArm } from '../fakes/arm.js';
import type { FakeAzdo } from '../fakes/azdo.js';
import type { FakeCredential } from '../fakes/credential.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import type { TestCert } from '../fakes/tls.js';
import { movableClock } from '../helpers/movable-clock.js';
import { ownerTags } from '../helpers/owner-tags.js';

const PAT = 'canarypat-writeretries-4b9c1a7f3e5d8b2c6a07f3e9c1b5a2d48e6b0c4f1a9d';
const SUB = '00000000-0000-0000-0000-0000000000c1';
const RG = 'rg-write-retries';

let stack: FakeStack;
let azdo: FakeAzdo;
let arm: FakeArm;
let credential: FakeCredential;
let dispatcher: Agent;
let cert: TestCert;
const allLogLines: string[] = [];

beforeAll(async () => {
  stack = await startFakeStack({ pat: PAT, subscriptionId: SUB, resourceGroup: RG });
  ({ azdo, arm, credential, dispatcher, cert } = stack);
});
afterAll(async () => {
  await stack.close();
  expect(allLogLines.join('\n')).not.toContain(PAT);
});
afterEach(() => {
  arm.clearFaults();
  azdo.clearFaults();
});

const WRITES = new Set(['PUT', 'PATCH', 'DELETE', 'POST']);

/** One deployment with the production retry options (no override), a movable clock and a lease it can lose. */
function controller(id: string, profile: Record<string, unknown>, azdoTimeoutMs?: number) {
  const settings = loadSettings(
    stack.env({
      AUTOSCALER_ID: id,
      POOLS: JSON.stringify([{ image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, pool: id, ...profile }]),
    }),
    { requireAzure: true },
  );
  const log = memoryLogger();
  const { clock, advance, ago } = movableClock();
  let entropy = 0;
  const deps = buildDeps(settings, log, {
    credential,
    azure: { ca: cert.cert },
    azdoDispatcher: dispatcher,
    clock,
    poolState: memoryPoolStateStore(),
    entropy: () => (++entropy).toString(36).padStart(12, '0'),
  });
  let lostAt: number | undefined;
  const guard = new LeaseGuard(
    { pool: id, now: Date.now, leaseMs: 60_000, freshForMs: 30_000, logger: log, onLost: () => (lostAt = Date.now()) },
    Date.now(),
  );
  if (azdoTimeoutMs !== undefined) {
    deps.azdo = new AzureDevOpsClient({
      baseUrl: settings.AZP_URL,
      auth: patAuth(async () => PAT),
      dispatcher,
      timeoutMs: azdoTimeoutMs,
      // The lease is lost the moment an attempt timed out (the renewal failed meanwhile).
      onRequest: (i) => {
        if (i.status === 0 && WRITES.has(i.method)) guard.markLost('storage unreachable (test)');
      },
    });
  }
  const options: ReconcileOptions = { ...reconcileOptions(settings), probeAfterSec: 0 };
  const pass = async (): Promise<PassResult> => {
    const before = log.lines.length;
    const r = await reconcile(options, fenceDeps(deps, guard));
    allLogLines.push(...log.lines.slice(before));
    return r;
  };
  return {
    log,
    pass,
    guard,
    lostAt: () => lostAt,
    advance,
    ago,
  };
}

function seedOurs(id: string, name: string, profile: string, createdAt: string) {
  return arm.seed(name, {
    resourceGroup: RG,
    subscriptionId: SUB,
    tags: ownerTags({ id, pool: id, profile, createdAt }),
  });
}

const outcomesOf = (r: PassResult, pool: string): Outcome[] => r.pools.find((p) => p.pool === pool)?.outcomes ?? [];
const armDeletes = (name: string) =>
  arm.requests.filter((q) => q.method === 'DELETE' && q.path.endsWith(`/containerGroups/${name}`));
/** Write requests that reached either fake after `t` (the attempt during which the lease was lost arrived before). */
const writesAfter = (t: number) => [
  ...arm.requests.filter((q) => WRITES.has(q.method) && q.time > t).map((q) => `ARM ${q.method} ${q.path}`),
  ...azdo.requests.filter((q) => WRITES.has(q.method) && q.time > t).map((q) => `AzDO ${q.method} ${q.path}`),
];

describe('a DELETE is never retried below the by-name re-read (0 busy agents killed)', () => {
  /**
   * A group past its boot timeout with nothing registered: the pass reads the agent by name (none),
   * sends the DELETE; when the first attempt arrives, the agent registers and takes the queued job.
   */
  async function raceOnFirstDelete(id: string, fault: Parameters<FakeArm['inject']>[0]) {
    const c = controller(id, { name: 'p', bootTimeoutSec: 60 });
    azdo.addPool(id);
    const name = `azp-p-${id.padEnd(12, '0').slice(0, 12)}`;
    seedOurs(id, name, 'p', c.ago(300));
    const job = azdo.queueJob(id, []);
    arm.inject({ match: { method: 'DELETE', pathIncludes: name }, ...fault });
    let raced = false;
    const off = arm.onRequest((q) => {
      if (raced || q.method !== 'DELETE' || !q.path.endsWith(name)) return;
      raced = true;
      azdo.registerAgent(id, name); // registered and connected just after the by-name read…
      azdo.assignJob(job.requestId, name); // …and Azure DevOps handed it the queued job
    });
    arm.clearRequests();
    const r = await c.pass();
    off();
    expect(raced).toBe(true);
    // The busy agent's container is still there: the DELETE went out exactly once, and was refused.
    expect(arm.group(name)).toBeDefined();
    expect(armDeletes(name)).toHaveLength(1);
    expect(azdo.agent(name, id)).toMatchObject({ assignedRequestId: job.requestId });
    expect(outcomesOf(r, id).find((o) => o.action.kind === 'delete')).toMatchObject({ status: 'failed' });
  }

  it('(a) first DELETE attempt answered 503 + Retry-After: 5', async () => {
    await raceOnFirstDelete('wr-a', { status: 503, retryAfter: 5, code: 'ServerBusy' });
  }, 20_000);

  it('(b) 500 twice', async () => {
    await raceOnFirstDelete('wr-b', { status: 500, times: 2 });
  }, 20_000);

  it('(c) a 504 after a slow answer', async () => {
    await raceOnFirstDelete('wr-c', { status: 504, delayMs: 1_500, code: 'GatewayTimeout' });
  }, 20_000);
});

describe('(d) no write reaches a service after "pool lease lost"', () => {
  /** Registered idle agents past the idle timeout: the pass disables (PATCH), re-reads, deletes group and registration. */
  function idleAgents(id: string, n: number, azdoTimeoutMs?: number) {
    const c = controller(id, { name: 'q', idleTimeoutSec: 60, minAgents: 0 }, azdoTimeoutMs);
    azdo.addPool(id);
    const names = Array.from({ length: n }, (_, i) => `azp-q-${id}-${String(i).padStart(6, '0')}`.slice(0, 30));
    for (const name of names) {
      seedOurs(id, name, 'q', c.ago(0));
      azdo.registerAgent(id, name);
    }
    c.advance(3600);
    return { c, names };
  }
  /** Loses the lease while the fake handles the first request matching `pred` (its answer is the injected fault). */
  function loseLeaseOnRequest(c: ReturnType<typeof controller>, pred: (method: string, path: string) => boolean) {
    return azdo.onRequest((q) => {
      if (pred(q.method, q.path)) c.guard.markLost('renewal failed (test)');
    });
  }
  const expectNoWriteAfterLoss = (c: ReturnType<typeof controller>) => {
    const lost = c.lostAt();
    expect(lost).toBeDefined();
    expect(c.log.lines.some((l) => l.includes('pool lease lost'))).toBe(true);
    expect(writesAfter(lost!)).toEqual([]);
  };

  it('Azure DevOps PATCH answered 429 + Retry-After: 2 while the lease is lost: not re-sent', async () => {
    const { c } = idleAgents('wr-d1', 1);
    azdo.inject({ match: { method: 'PATCH' }, status: 429, retryAfter: 2 });
    const off = loseLeaseOnRequest(c, (m) => m === 'PATCH');
    await c.pass();
    off();
    expectNoWriteAfterLoss(c);
  }, 20_000);

  it('Azure DevOps DELETE (unregister) answered 503 + Retry-After: 1 while the lease is lost: not re-sent', async () => {
    const { c, names } = idleAgents('wr-d2', 1);
    azdo.inject({ match: { method: 'DELETE' }, status: 503, retryAfter: 1 });
    const off = loseLeaseOnRequest(c, (m) => m === 'DELETE');
    await c.pass();
    off();
    expectNoWriteAfterLoss(c);
    expect(arm.group(names[0]!)).toBeUndefined(); // the group went before the lease was lost
  }, 20_000);

  it('Azure DevOps PATCH that timed out while the lease was lost: read, never re-sent', async () => {
    const { c } = idleAgents('wr-d3', 1, 500);
    azdo.inject({ match: { method: 'PATCH' }, delayMs: 1_500, status: 503 });
    await c.pass();
    expectNoWriteAfterLoss(c);
  }, 20_000);

  it('ARM PUT answered 503 + Retry-After: 2 while the lease is lost: not re-sent', async () => {
    const id = 'wr-d4';
    const c = controller(id, { name: 'r', maxAgents: 2 });
    azdo.addPool(id);
    azdo.queueJob(id, []);
    arm.inject({ match: { method: 'PUT', pathIncludes: 'azp-r-' }, status: 503, retryAfter: 2, code: 'ServerBusy' });
    const off = arm.onRequest((q) => {
      if (q.method === 'PUT' && q.path.includes('azp-r-')) c.guard.markLost('renewal failed (test)');
    });
    const before = Date.now();
    await c.pass();
    off();
    const lost = c.lostAt();
    expect(lost).toBeDefined();
    // The one PUT that was sent under the lease arrived; nothing after it.
    expect(arm.requests.filter((q) => q.method === 'PUT' && q.time >= before)).toHaveLength(1);
    expect(writesAfter(lost!)).toEqual([]);
  }, 20_000);
});
