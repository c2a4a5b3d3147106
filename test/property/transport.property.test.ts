/**
 * Property (issue 21, "Show"): random schedules through the REAL pass (`reconcile()`), with the real
 * SDK clients (ARM, Key Vault) and the Azure DevOps client over HTTPS against test/fakes, and the
 * real blob lease on Azurite. Per request, at random: 429/503 with Retry-After, 500, slow answers,
 * answers after the client's timeout; Azure DevOps lists paged (small pages) or silently truncated;
 * ARM's list paged; a lease lost mid-pass (the instance's storage answers 503) with a second
 * instance taking the pool over; a person's agents and another deployment's agents in the pool,
 * named like ours; jobs landing on agents between the pass's reads and its writes.
 *
 * The test plays Azure DevOps and the agents between passes (our groups' agents register with the
 * container's environment, take queued jobs, finish them and exit) and races the pass from the
 * fakes' hooks (a job lands right after the agent list; an agent registers and takes a job while a
 * DELETE attempt is refused).
 *
 * Invariants, checked at every request:
 *   1. 0 busy agents killed: no container group deleted, and no registration unregistered, while its
 *      agent holds a job;
 *   2. our groups whose container may run ≤ maxAgents at every moment (checked at each create);
 *   3. 0 registrations that are not ours touched (PATCH/DELETE of a person's or a neighbour's agent);
 *   4. 0 write requests sent by an instance after it logged "pool lease lost" (recorded at the
 *      instance's HTTP transport, ARM and Azure DevOps alike).
 *
 * TRANSPORT_RUNS scales it (default 8, CI); TRANSPORT_SEED replays one schedule; TRANSPORT_REPORT=1
 * counts violations over every schedule instead of stopping at the first. TRANSPORT_OPEN=1
 * also injects the faults whose fixes belong to other parts of issue 21 (ARM list lag, a stale
 * single re-read, creates that land late: after the client gave up, or across a lease handover):
 * the figures of such a run say which invariant each of them breaks on the code as it stands.
 */
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createDefaultHttpClient, type HttpClient } from '@azure/core-rest-pipeline';
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';
import { Agent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { loadSettings } from '../../src/config/load.js';
import { fenceDeps, type Clock, type PoolLease } from '../../src/ports/index.js';
import { reconcile } from '../../src/reconcile/pass.js';
import { BlobPoolLock, poolBlobBase } from '../../src/storage/lock.js';
import { BlobPoolStateStore } from '../../src/storage/pool-state-store.js';
import { createLogger } from '../../src/util/log.js';
import type { ArmFault, FakeGroup } from '../fakes/arm.js';
import type { Fault, FakeAgent } from '../fakes/azdo.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, startAzurite, type Azurite } from '../helpers/azurite.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';

const RUNS = Number(process.env.TRANSPORT_RUNS ?? 8);
const SEED = process.env.TRANSPORT_SEED ? Number(process.env.TRANSPORT_SEED) : undefined;
/** TRANSPORT_SCHEDULE: one schedule's JSON, as a violation line in TRANSPORT_LOG prints it, replayed alone. */
const REPLAY = process.env.TRANSPORT_SCHEDULE ? (JSON.parse(process.env.TRANSPORT_SCHEDULE) as Schedule) : undefined;
const OPEN = process.env.TRANSPORT_OPEN === '1';
/** Count every schedule's violations instead of stopping at the first (large runs); still fails at the end. */
const REPORT = process.env.TRANSPORT_REPORT === '1';
const LOG = process.env.TRANSPORT_LOG;
const PAT = 'canarypat-transport-5d8b2c6a07f3e9c1b5a2d48e6b0c4f1a9d7e3b4b9c1a7f3e';
const SUB = '00000000-0000-0000-0000-0000000000d1';
const LOCKS = `transport-${process.pid}`;
const CLIENT_TIMEOUT_MS = 300;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let stack: FakeStack;
let azurite: Azurite;
let proxy: FaultProxy;

beforeAll(async () => {
  [stack, azurite] = await Promise.all([
    startFakeStack({ pat: PAT, subscriptionId: SUB, resourceGroup: 'rg-transport' }),
    startAzurite(),
  ]);
  proxy = await startFaultProxy({ host: '127.0.0.1', port: azurite.blobPort });
}, 60_000);
afterAll(async () => {
  await Promise.all([stack?.close(), proxy?.stop(), azurite?.stop()]);
});

// ----- schedules ------------------------------------------------------------------------------------

type ArmFaultKind = '429' | '503' | '500' | '504slow' | 'slow' | 'timeout';
type AzdoFaultKind = '429' | '503' | '500' | 'slow' | 'timeout' | 'stale';

interface Schedule {
  seed: number;
  /** Our jobs arriving at each step. */
  arrivals: number[];
  maxAgents: number;
  maxCreatePerPass: number;
  faultRate: number;
  /** Probability that a write (PUT/DELETE/PATCH) is answered with a fault. */
  writeFaultRate: number;
  armFaults: ArmFaultKind[];
  azdoFaults: AzdoFaultKind[];
  agentPage: number;
  jobPage: number;
  /** false: Azure DevOps cuts long lists without a token. */
  continuation: boolean;
  armPage: number;
  listLagMs: number;
  /**
   * Step whose pass loses the lease after this many of its requests, or at its first write
   * answered with a refusal (while that write would wait to be retried), if any.
   */
  handover: { step: number; afterRequests: number; atRefusedWrite: boolean } | undefined;
  person: number;
  neighbour: number;
  /** Probability of a job landing on an idle agent of ours right after the pass read the agent list. */
  raceRate: number;
}

const scheduleArb: fc.Arbitrary<Schedule> = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  arrivals: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 5 }),
  maxAgents: fc.integer({ min: 1, max: 4 }),
  maxCreatePerPass: fc.integer({ min: 1, max: 4 }),
  faultRate: fc.oneof(fc.constant(0), fc.double({ min: 0.05, max: 0.3, noNaN: true })),
  writeFaultRate: fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 0.6, noNaN: true })),
  armFaults: fc.subarray<ArmFaultKind>(['429', '503', '500', '504slow', 'slow', 'timeout'], { minLength: 1 }),
  azdoFaults: fc.subarray<AzdoFaultKind>(
    ['429', '503', '500', 'slow', 'timeout', ...(OPEN ? (['stale'] as const) : [])],
    { minLength: 1 },
  ),
  agentPage: fc.integer({ min: 2, max: 8 }),
  jobPage: fc.integer({ min: 2, max: 8 }),
  continuation: fc.boolean(),
  armPage: fc.integer({ min: 2, max: 5 }),
  listLagMs: OPEN ? fc.constantFrom(0, 0, 3_000) : fc.constant(0),
  handover: fc.option(
    fc.record({
      step: fc.integer({ min: 0, max: 2 }),
      afterRequests: fc.integer({ min: 1, max: 12 }),
      atRefusedWrite: fc.boolean(),
    }),
    { nil: undefined },
  ),
  person: fc.integer({ min: 0, max: 3 }),
  neighbour: fc.integer({ min: 0, max: 3 }),
  raceRate: fc.double({ min: 0, max: 0.6, noNaN: true }),
});

// ----- one instance of the autoscaler ---------------------------------------------------------------

interface Sent {
  method: string;
  url: string;
  at: number;
}

interface Instance {
  name: 'A' | 'B';
  lock: BlobPoolLock;
  deps: ReturnType<typeof buildDeps>;
  /** Writes as the instance's transport sent them. */
  writes: Sent[];
  /** When the instance logged "pool lease lost". */
  lostAt: number | undefined;
  dispatcher: Dispatcher;
}

const WRITE = (m: string) => m !== 'GET' && m !== 'HEAD';

function instance(
  name: 'A' | 'B',
  env: Record<string, string>,
  clock: Clock,
  storage: string,
  rng: () => number,
): Instance {
  const settings = loadSettings(env, { requireAzure: true });
  const inst: Partial<Instance> & { writes: Sent[] } = { name, writes: [], lostAt: undefined };
  const logger = createLogger((_level, line) => {
    if (REPLAY) console.log(`${name} ${line}`);
    if (line.includes('pool lease lost') && inst.lostAt === undefined) inst.lostAt = Date.now();
  });
  const service = new BlobServiceClient(
    `${storage}/${AZURITE_ACCOUNT}`,
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    { retryOptions: { maxTries: 1, tryTimeoutInMs: 1_000 } },
  );
  inst.lock = new BlobPoolLock(service.getContainerClient(LOCKS), {
    leaseSeconds: 15,
    renewEveryMs: 200,
    requestTimeoutMs: 500,
    logger,
  });
  // Every attempt, as the transport sends it (after every retry policy).
  const inner = createDefaultHttpClient();
  const armTransport: HttpClient = {
    sendRequest: (req) => {
      if (WRITE(req.method)) inst.writes.push({ method: req.method, url: req.url, at: Date.now() });
      return inner.sendRequest(req);
    },
  };
  const dispatcher = new Agent({ connect: { ca: stack.cert.cert } }).compose((dispatch) => (opts, handler) => {
    if (WRITE(opts.method)) inst.writes.push({ method: opts.method, url: String(opts.path), at: Date.now() });
    return dispatch(opts, handler);
  });
  inst.dispatcher = dispatcher;
  let entropy = 0;
  inst.deps = buildDeps(settings, logger, {
    credential: stack.credential,
    azure: {
      ca: stack.cert.cert,
      httpClient: armTransport,
      // Reads retry as in production, on a faster clock (writes are never retried, whatever the
      // timing); a Retry-After over 1 s surfaces at once.
      retryOptions: { retryDelayInMs: 50, maxRetryDelayInMs: 200 },
      maxRetryAfterMs: 1_000,
    },
    azdoDispatcher: dispatcher,
    // The pool state beside the lease, on the instance's own storage, as production wires it: what
    // one instance recorded before sending (expectations) is what the next holder counts.
    poolState: new BlobPoolStateStore(inst.lock.container, settings.POOLS),
    clock,
    entropy: () =>
      `${name.toLowerCase()}${(++entropy).toString(36)}${Math.floor(rng() * 36 ** 10).toString(36)}`
        .padEnd(12, '0')
        .slice(0, 12),
    armRequestTimeoutMs: CLIENT_TIMEOUT_MS,
    azdoTimeoutMs: CLIENT_TIMEOUT_MS,
    azdoSleep: (ms) => sleep(Math.min(ms, 200)),
  });
  return inst as Instance;
}

async function acquire(lock: BlobPoolLock, pool: string): Promise<PoolLease> {
  for (let i = 0; i < 100; i++) {
    const lease = await lock.tryAcquire(pool).catch(() => undefined);
    if (lease) return lease;
    await sleep(30);
  }
  throw new Error(`no lease for ${pool}`);
}

// ----- one schedule -----------------------------------------------------------------------------------

interface Outcome {
  violations: string[];
  /** Faults injected, by kind, and what the world did. */
  injected: Record<string, number>;
  handedOver: boolean;
}

const mulberry = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

let runNo = 0;
/** Azurite's blob service, not through the proxy (to free a lease the way its expiry would). */
const direct = () =>
  new BlobServiceClient(
    `http://127.0.0.1:${azurite.blobPort}/${AZURITE_ACCOUNT}`,
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
  );

async function runSchedule(s: Schedule): Promise<Outcome> {
  const { azdo, arm } = stack;
  const n = ++runNo;
  const id = `tp${process.pid}r${n}`;
  const pool = id;
  const rg = `rg-${id}`;
  const rng = mulberry(s.seed);
  const violations: string[] = [];
  const injected: Record<string, number> = {};
  const count = (k: string, by = 1) => (injected[k] = (injected[k] ?? 0) + by);
  let offsetMs = 0;
  const clock: Clock = { now: () => new Date(Date.now() + offsetMs), sleep: (ms) => sleep(ms) };
  const env = {
    ...stack.env({
      AUTOSCALER_ID: id,
      POOLS: JSON.stringify([
        {
          name: 'p',
          pool,
          image: 'contoso.azurecr.io/azp-agent:1',
          placeholder: false,
          capabilities: ['ours'],
          maxAgents: s.maxAgents,
          maxCreatePerPass: s.maxCreatePerPass,
          // With the open faults, the default boot timeout: an expected create is counted for a boot
          // timeout, and the test's clock jumps 30-90 s a pass while the list lags in real time, so a
          // 60 s bound would pass before a 3 s lag does (in production: 600 s against seconds).
          bootTimeoutSec: OPEN ? 600 : 60,
          idleTimeoutSec: 60,
        },
      ]),
    }),
    ACI_RESOURCE_GROUP: rg,
  };
  const p = azdo.addPool(pool);
  azdo.setPaging({ agents: s.agentPage, jobRequests: s.jobPage, continuation: s.continuation });
  arm.setPageSize(s.armPage);
  arm.setListLag(s.listLagMs);

  // A person's agents and another deployment's, named like ours (prefix-profile-20 chars).
  const foreign = new Set<number>();
  const likeOurs = () =>
    `azp-p-${Math.floor(rng() * 36 ** 10)
      .toString(36)
      .padStart(10, '0')}${'x'.repeat(10)}`;
  for (let i = 0; i < s.person; i++)
    foreign.add(azdo.registerAgent(pool, likeOurs(), {}, { status: rng() < 0.5 ? 'online' : 'offline' }).id);
  for (let i = 0; i < s.neighbour; i++) {
    const name = likeOurs();
    arm.seed(name, {
      resourceGroup: `rg-neighbour-${id}`,
      subscriptionId: SUB,
      tags: { 'managed-by': 'azp-aci-autoscaler', 'autoscaler-id': 'neighbour' },
    });
    foreign.add(
      azdo.registerAgent(
        pool,
        name,
        {},
        {
          status: rng() < 0.5 ? 'online' : 'offline',
          env: { AZP_AUTOSCALER_ID: 'neighbour', AZP_AUTOSCALER_SCOPE: '0123456789abcdef', AZP_AGENT_NAME: name },
        },
      ).id,
    );
  }

  const ours = (g: FakeGroup) =>
    g.resourceGroup === rg && g.tags['autoscaler-id'] === id && g.tags['azp-role'] !== 'placeholder';
  const agentOf = (name: string): FakeAgent | undefined =>
    azdo.state.agents.find((a) => a.poolId === p.id && a.name === name);
  const mayRun = (g: FakeGroup) =>
    g.provisioningState !== 'Deleting' &&
    g.provisioningState !== 'Failed' &&
    !['Succeeded', 'Failed', 'Stopped'].includes(g.instanceState ?? '');

  // ----- invariant hooks (at every request) -----
  const busyAtDelete = new Set<string>();
  // When the last write the fake ARM holds (slow, timeout) lands, in real time.
  let lateWriteUntil = 0;
  let refusedWrites = 0;
  const offArm = arm.onRequest((q) => {
    if (!q.path.toLowerCase().includes(`/resourcegroups/${rg}/`)) return;
    const name = q.path.split('/').pop() ?? '';
    // Faults, per request.
    let fault: ArmFault | undefined;
    if (rng() < (WRITE(q.method) ? s.writeFaultRate : s.faultRate)) {
      const kind = s.armFaults[Math.floor(rng() * s.armFaults.length)]!;
      const late = kind === 'slow' || kind === 'timeout' || kind === '504slow';
      // A create that lands late (after the client gave up, or after the next pass's list) is
      // counted by nobody until expectations land (issue 21's findings 2 and 4, another part):
      // 2,000 schedules with it broke "≤ maxAgents" in a few, every time after a timed-out PUT.
      if (!(late && q.method === 'PUT' && !OPEN)) {
        count(`arm ${kind}`);
        fault = {
          '429': { status: 429, retryAfter: rng() < 0.9 ? 0 : 1 },
          '503': { status: 503, retryAfter: rng() < 0.9 ? 0 : 1, code: 'ServerBusy' },
          '500': { status: 500 },
          '504slow': { status: 504, delayMs: 100 + Math.floor(rng() * 200), code: 'GatewayTimeout' },
          slow: { delayMs: 50 + Math.floor(rng() * 250) },
          timeout: { delayMs: CLIENT_TIMEOUT_MS + 100 + Math.floor(rng() * 200) },
        }[kind];
        arm.inject({ match: { method: q.method, pathIncludes: q.path }, ...fault });
        if (WRITE(q.method) && fault?.status) refusedWrites++;
        if (late && WRITE(q.method)) lateWriteUntil = Math.max(lateWriteUntil, Date.now() + (fault?.delayMs ?? 0) + 50);
      }
    }
    if (q.method === 'DELETE') {
      const refused = fault?.status !== undefined;
      // The retry race: while a DELETE attempt is refused, the group's agent registers and takes a job.
      const g = arm.group(name, rg);
      if (refused && g && !agentOf(name) && rng() < 0.5) {
        const job = azdo.state.jobs.find((j) => j.poolId === p.id && !j.assignTime && j.demands.includes('ours'));
        if (job) {
          azdo.registerAgent(pool, name, {}, { env: g.env });
          azdo.assignJob(job.requestId, name);
          count('race: registered at a refused DELETE');
        }
      }
      if (agentOf(name)?.assignedRequestId !== undefined) busyAtDelete.add(name);
    }
  });
  const offCreate = arm.onCreate((g) => {
    if (!ours(g)) return;
    const live = arm.groups().filter((x) => ours(x) && mayRun(x)).length;
    if (live > s.maxAgents)
      violations.push(`2: ${live} groups that may run > maxAgents ${s.maxAgents} (create ${g.name})`);
  });
  const offAzdo = azdo.onRequest((q) => {
    if (!q.path.includes(`/pools/${p.id}/`)) return;
    const m = /\/agents\/(\d+)$/.exec(q.path);
    const agentId = m ? Number(m[1]) : undefined;
    if (agentId !== undefined && WRITE(q.method) && foreign.has(agentId))
      violations.push(`3: ${q.method} on a registration not ours (${agentId})`);
    if (agentId !== undefined && q.method === 'DELETE') {
      const a = azdo.state.agents.find((x) => x.id === agentId);
      if (a?.assignedRequestId !== undefined) busyAtDelete.add(a.name);
    }
    if (rng() < (WRITE(q.method) ? s.writeFaultRate : s.faultRate)) {
      const kind = s.azdoFaults[Math.floor(rng() * s.azdoFaults.length)]!;
      const a = agentId !== undefined ? azdo.state.agents.find((x) => x.id === agentId) : undefined;
      let fault: Fault | undefined = {
        '429': { status: 429, retryAfter: Math.floor(rng() * 2) },
        '503': { status: 503, retryAfter: Math.floor(rng() * 2) },
        '500': { status: 500 },
        slow: { delayMs: 50 + Math.floor(rng() * 250) },
        timeout: { delayMs: CLIENT_TIMEOUT_MS + 100 + Math.floor(rng() * 200) },
        stale: undefined,
      }[kind];
      if (kind === 'stale' && q.method === 'GET' && a && a.assignedRequestId !== undefined) {
        // One read that has not seen the assignment (or the disable) yet.
        fault = {
          status: 200,
          body: JSON.stringify({
            id: a.id,
            name: a.name,
            version: a.version,
            status: a.status,
            enabled: true,
            createdOn: a.createdOn,
            statusChangedOn: a.statusChangedOn,
          }),
        };
      }
      if (fault) {
        count(`azdo ${kind}`);
        if (WRITE(q.method) && fault.status && fault.status >= 400) refusedWrites++;
        azdo.inject({
          match: { method: q.method, pathIncludes: `${q.path.slice(q.path.indexOf('/_apis'))}` },
          ...fault,
        });
      }
    }
  });
  /** An online, enabled agent of ours in the pool with no job. */
  const idleOfOurs = (a: (typeof azdo.state.agents)[number]) =>
    a.poolId === p.id && !foreign.has(a.id) && a.status === 'online' && a.enabled && a.assignedRequestId === undefined;
  // The job race: right after the pass read the agent list, a queued job lands on an idle agent of ours.
  const offAnswered = azdo.onAnswered((q) => {
    if (q.method !== 'GET' || !q.path.endsWith(`/pools/${p.id}/agents`) || q.query.agentName || rng() >= s.raceRate)
      return;
    const job = azdo.state.jobs.find((j) => j.poolId === p.id && !j.assignTime && j.demands.includes('ours'));
    const idle = azdo.state.agents.find(
      (a) => idleOfOurs(a) && arm.group(a.name, rg) !== undefined && mayRun(arm.group(a.name, rg)!),
    );
    if (job && idle) {
      azdo.assignJob(job.requestId, idle.name);
      count('race: job after the agent list');
    }
  });

  // ----- the world between passes: Azure DevOps and our agents -----
  const worldStep = (arrivals: number) => {
    for (let i = 0; i < arrivals; i++) azdo.queueJob(pool, ['ours']);
    for (const g of arm.groups().filter((x) => ours(x) && x.instanceState === 'Running')) {
      if (!agentOf(g.name) && rng() < 0.7) azdo.registerAgent(pool, g.name, {}, { env: g.env });
    }
    for (const j of azdo.state.jobs.filter((x) => x.poolId === p.id && x.assignTime && !x.result)) {
      if (rng() < 0.5) {
        const agent = azdo.state.agents.find((a) => a.assignedRequestId === j.requestId);
        azdo.finishJob(j.requestId);
        // --once: the agent exits; its container stops; the registration stays until we remove it.
        if (agent && !foreign.has(agent.id)) {
          azdo.setAgentStatus(agent.id, 'offline');
          if (arm.group(agent.name, rg)) arm.setInstanceState(agent.name, 'Succeeded', 0);
        }
      }
    }
    for (const j of azdo.state.jobs.filter((x) => x.poolId === p.id && !x.assignTime && x.demands.includes('ours'))) {
      const idle = azdo.state.agents.find(idleOfOurs);
      if (idle && rng() < 0.5) azdo.assignJob(j.requestId, idle.name);
    }
  };

  /** Invariant 4 for the lease the instance held last; then a new lease starts clean. */
  const checkLost = (inst: Instance) => {
    const lost = inst.lostAt;
    if (lost !== undefined)
      for (const w of inst.writes.filter((x) => x.at > lost))
        violations.push(`4: ${inst.name} sent ${w.method} ${w.url} ${w.at - lost} ms after "pool lease lost"`);
    inst.lostAt = undefined;
    inst.writes.length = 0;
  };
  const checkKills = () => {
    for (const name of busyAtDelete) {
      const gone = !arm.group(name, rg);
      const a = agentOf(name);
      const unregistered = !a;
      if (gone || unregistered)
        violations.push(`1: the busy agent ${name} was ${gone ? 'deleted (group)' : 'unregistered'}`);
    }
    busyAtDelete.clear();
  };

  const A = instance('A', env, clock, proxy.url, rng);
  const B = instance('B', env, clock, `http://127.0.0.1:${azurite.blobPort}`, rng);
  const options = reconcileOptions(loadSettings(env, { requireAzure: true }));
  let holder = A;
  let handedOver = false;
  proxy.mode = 'pass';
  try {
    for (let step = 0; step < s.arrivals.length; step++) {
      worldStep(s.arrivals[step]!);
      // The clock jumps 30-90 s a pass; real time lets a held write land first, as those seconds
      // would (a pass's 60 s probe of an unlisted create must not run before a 0.5 s hold ends).
      if (lateWriteUntil > Date.now()) await sleep(lateWriteUntil - Date.now());
      offsetMs += 30_000 + Math.floor(rng() * 60_000);
      if (s.handover?.step === step && holder === A) {
        // Lose A's lease after its k-th request; once A's fence has closed, the lease is free
        // (it would expire; breaking it stands for that) and B takes the pool over while A's pass goes on.
        const leaseA = await acquire(A.lock, pool);
        const sentBefore = azdo.requests.length + arm.requests.length;
        const refusedBefore = refusedWrites;
        let triggered: Promise<void> | undefined;
        const h = s.handover;
        const trigger = () => {
          const due = h.atRefusedWrite
            ? refusedWrites > refusedBefore
            : azdo.requests.length + arm.requests.length - sentBefore >= h.afterRequests;
          if (triggered || !due) return;
          triggered = (async () => {
            proxy.mode = '503';
            for (let i = 0; i < 100 && !leaseA.lost; i++) await sleep(20);
            await direct()
              .getContainerClient(LOCKS)
              .getBlobClient(`${poolBlobBase(pool)}.lock`)
              .getBlobLeaseClient()
              .breakLease(0);
            const leaseB = await acquire(B.lock, pool);
            try {
              await reconcile(options, fenceDeps(B.deps, leaseB), [pool]);
            } finally {
              await leaseB.release();
            }
          })();
        };
        const offT1 = azdo.onRequest(trigger);
        const offT2 = arm.onRequest(trigger);
        try {
          await reconcile(options, fenceDeps(A.deps, leaseA), [pool]);
        } finally {
          offT1();
          offT2();
          await leaseA.release();
        }
        if (triggered) {
          await triggered;
          holder = B;
          handedOver = true;
        }
        // Late answers of A's pass (slow, timed out) arrive before its writes are judged.
        await sleep(CLIENT_TIMEOUT_MS + 300);
        checkLost(A);
        checkLost(B);
      } else {
        const lease = await acquire(holder.lock, pool);
        try {
          await reconcile(options, fenceDeps(holder.deps, lease), [pool]);
        } finally {
          await lease.release();
        }
        checkLost(holder);
      }
      checkKills();
    }
    count(
      `writes: ARM PUT`,
      arm.requests.filter((q) => q.method === 'PUT' && q.path.toLowerCase().includes(rg)).length,
    );
    count(
      `writes: ARM DELETE`,
      arm.requests.filter((q) => q.method === 'DELETE' && q.path.toLowerCase().includes(rg)).length,
    );
    count(
      `writes: AzDO PATCH/DELETE`,
      azdo.requests.filter((q) => WRITE(q.method) && q.path.includes(`/pools/${p.id}/`)).length,
    );
    // Late answers land before the last checks.
    if (Object.keys(injected).some((k) => /slow|timeout/.test(k))) await sleep(CLIENT_TIMEOUT_MS + 300);
    checkKills();
    checkLost(A);
    checkLost(B);
  } finally {
    proxy.mode = 'pass';
    offArm();
    offCreate();
    offAzdo();
    offAnswered();
    arm.clearFaults();
    azdo.clearFaults();
    await Promise.all([A.dispatcher.close(), B.dispatcher.close()]);
    // Keep the fakes small across runs.
    azdo.state.agents = azdo.state.agents.filter((a) => a.poolId !== p.id);
    azdo.state.jobs = azdo.state.jobs.filter((j) => j.poolId !== p.id);
    arm.clearRequests();
    azdo.clearRequests();
  }
  return { violations, injected, handedOver };
}

describe('transport-level property: retries, handovers and neighbours', () => {
  it(
    `${RUNS} random schedules: 0 busy agents killed, ≤ maxAgents, 0 foreign registrations touched, 0 writes after "lease lost"`,
    async () => {
      const totals: Record<string, number> = {};
      const broken: Record<string, number> = {};
      let schedules = 0;
      let handovers = 0;
      const t0 = Date.now();
      await fc.assert(
        fc.asyncProperty(REPLAY ? fc.constant(REPLAY) : scheduleArb, async (s) => {
          const out = await runSchedule(s);
          schedules++;
          if (out.handedOver) handovers++;
          for (const [k, v] of Object.entries(out.injected)) totals[k] = (totals[k] ?? 0) + v;
          for (const v of out.violations) {
            const key = v.slice(0, v.indexOf(':'));
            broken[key] = (broken[key] ?? 0) + 1;
          }
          // Large runs: running figures every 50 schedules, to a file named by TRANSPORT_LOG.
          if (LOG && (schedules % 50 === 0 || out.violations.length))
            appendFileSync(
              LOG,
              `${new Date().toISOString()} ${schedules} schedules, ${handovers} handovers, broken ${JSON.stringify(broken)}` +
                `${out.violations.length ? ` ${out.violations.join(' | ')} ${JSON.stringify(out.injected)} ${JSON.stringify(s)}` : ''}\n`,
            );
          if (out.violations.length && !OPEN && !REPORT)
            throw new Error(`${out.violations.join('\n')}\nschedule ${JSON.stringify(s)}`);
        }),
        { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}), endOnFailure: true },
      );
      console.log(
        `transport property: ${schedules} schedules (${handovers} lease handovers) in ${((Date.now() - t0) / 1000).toFixed(0)} s; ` +
          `invariants broken: ${JSON.stringify(broken)}; injected: ${JSON.stringify(totals)}`,
      );
      if (!OPEN) expect(broken).toEqual({});
    },
    120_000 + RUNS * 10_000,
  );
});
