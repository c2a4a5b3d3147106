/**
 * Proven ownership of registrations with no group behind them (issue 21, finding 3), through the
 * real pass and the real clients over HTTPS against the fakes. Agents "boot" from the environment
 * the real spec gave their container (as the fake ARM recorded it): the fake Azure DevOps reports
 * that environment as system capabilities the way the agent does (test/fakes/azdo.ts
 * `environmentCapabilities`), minus what start.sh removes before config.sh runs.
 *
 * A registration named `{prefix}-{profile}-{20 chars}` is no proof: another deployment with the
 * same prefix (other AUTOSCALER_ID, or another resource group), or a person, can have one. Only our
 * identity in its capabilities lets the pass disable, unregister or delete it.
 */
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { loadSettings } from '../../src/config/load.js';
import { reconcile, type PassResult, type ReconcileOptions } from '../../src/reconcile/pass.js';
import { memoryPoolStateStore } from '../../src/ports/index.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeArm } from '../fakes/arm.js';
import type { FakeAgent, FakeAzdo } from '../fakes/azdo.js';
import type { FakeCredential } from '../fakes/credential.js';
import { movableClock } from '../helpers/movable-clock.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import type { TestCert } from '../fakes/tls.js';

const PAT = 'canarypat-ownership-9b2e4c7a1d3f5e8b0c2a4d6f8e1b3c5a7d9f0e2b4c6a8d1f3e5';
const SUB = '00000000-0000-0000-0000-0000000000cc';
const RG = 'rg-ownership';

let stack: FakeStack;
let azdo: FakeAzdo;
let arm: FakeArm;
let credential: FakeCredential;
let dispatcher: Agent;
let cert: TestCert;

beforeAll(async () => {
  stack = await startFakeStack({ pat: PAT, subscriptionId: SUB, resourceGroup: RG });
  ({ azdo, arm, credential, dispatcher, cert } = stack);
});

afterAll(async () => {
  await stack.close();
});

afterEach(() => {
  arm.clearFaults();
  azdo.clearFaults();
});

/** A deployment (AUTOSCALER_ID, resource group) with one profile `linux` on `pool`. */
function deployment(id: string | undefined, pool: string, profile: Record<string, unknown> = {}, rg = RG) {
  const settings = loadSettings(
    stack.env({
      ...(id !== undefined ? { AUTOSCALER_ID: id } : {}),
      ACI_RESOURCE_GROUP: rg,
      POOLS: JSON.stringify([
        { name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, ...profile },
      ]),
    }),
    { requireAzure: true },
  );
  const log = memoryLogger();
  const { clock, advance } = movableClock();
  let entropy = 0;
  const deps = buildDeps(settings, log, {
    credential,
    azure: { ca: cert.cert, retryOptions: { maxRetries: 0 } },
    azdoDispatcher: dispatcher,
    clock,
    poolState: memoryPoolStateStore(),
    entropy: () => `${(id ?? 'default').replace(/[^a-z0-9]/g, '')}${(++entropy).toString(36)}`.padStart(12, '0'),
  });
  const options: ReconcileOptions = { ...reconcileOptions(settings), probeAfterSec: 3600 };
  return {
    settings,
    deps,
    log,
    options,
    pass: (): Promise<PassResult> => reconcile(options, deps),
    /** Move the controller's clock forward (the fakes keep real time). */
    advance,
  };
}

/**
 * The agent of a created group registers (offline, booting) with what its process sees: the
 * container's environment minus the secrets start.sh unsets, plus the VSO_AGENT_IGNORE it exports.
 */
function boot(pool: string, group: string, rg = RG): FakeAgent {
  const g = arm.group(group, rg);
  if (!g) throw new Error(`no group ${group}`);
  const env = { ...g.env };
  delete env.AZP_TOKEN;
  env.VSO_AGENT_IGNORE = 'AZP_TOKEN,AZP_TOKEN_FILE,AZP_SP_CLIENT_SECRET,AZP_SP_CLIENT_SECRET_FILE';
  return azdo.registerAgent(pool, group, {}, { status: 'offline', env });
}

/** Writes (PATCH/PUT/DELETE) the pass sent for these registrations. */
const writesTo = (ids: readonly number[]) =>
  azdo.requests.filter((q) => q.method !== 'GET' && ids.some((i) => q.path.endsWith(`/agents/${i}`)));

const created = (r: PassResult) =>
  r.pools.flatMap((p) =>
    p.outcomes.flatMap((o) => (o.action.kind === 'create' && o.status === 'done' ? [o.group!] : [])),
  );

/**
 * Our own orphan on a new pool `pool`: a group deployment 'prod' created and whose agent booted, then
 * the group went away behind our back (the registration stayed); registered longer ago than the
 * boot timeout, and minAgents 0, so the next pass may remove it.
 */
async function ownOrphan(pool: string) {
  azdo.addPool(pool);
  const ours = deployment('prod', pool, { minAgents: 1, maxAgents: 1 });
  const [group] = created(await ours.pass());
  const agent = boot(pool, group!);
  await ours.pass(); // a list shows the group: no longer an expected create (src/core/expectations.ts)
  arm.startDeleting(group!, 0); // its group went away behind our back; the registration stayed
  await new Promise((r) => setTimeout(r, 20));
  ours.options.profiles[0]!.minAgents = 0;
  ours.advance(601); // registered longer ago than the boot timeout (600 s): not a group a list hides
  return { ours, agent };
}

describe('a registration with no group of ours is touched only when proven ours', () => {
  it("another deployment's booting agents (other AUTOSCALER_ID, same default prefix): 0 of 9 touched", async () => {
    azdo.addPool('own-1');
    const theirs = deployment('staging', 'own-1', { minAgents: 9, maxAgents: 9, maxCreatePerPass: 9 });
    const ours = deployment('prod', 'own-1');
    const made = created(await theirs.pass());
    expect(made).toHaveLength(9);
    const agents = made.map((g) => boot('own-1', g));
    // Older than the boot timeout: without proof they would be taken for our orphans.
    ours.advance(601);
    azdo.clearRequests();
    const r = await ours.pass();
    expect(r.pools[0]!.ok).toBe(true);
    expect(writesTo(agents.map((a) => a.id))).toEqual([]);
    expect(agents.every((a) => azdo.agent(a.id)?.enabled === true)).toBe(true);
    // Each was read once to learn whose it is, and not again on the next pass.
    const reads = () => azdo.requests.filter((q) => q.query.includeCapabilities === 'true').length;
    expect(reads()).toBe(9);
    await ours.pass();
    expect(reads()).toBe(9);
    expect(writesTo(agents.map((a) => a.id))).toEqual([]);
  });

  it('another deployment in another resource group, both keeping the default AUTOSCALER_ID: 0 touched', async () => {
    azdo.addPool('own-2');
    const theirs = deployment(undefined, 'own-2', { minAgents: 3, maxAgents: 3 }, 'rg-other-team');
    const ours = deployment(undefined, 'own-2');
    const made = created(await theirs.pass());
    expect(made).toHaveLength(3);
    const agents = made.map((g) => boot('own-2', g, 'rg-other-team'));
    ours.advance(601);
    azdo.clearRequests();
    await ours.pass();
    expect(writesTo(agents.map((a) => a.id))).toEqual([]);
  });

  it("a person's agents named like ours (no identity capability): 0 of 6 touched, said once with the fix", async () => {
    azdo.addPool('own-3');
    const ours = deployment('prod', 'own-3');
    const humans = Array.from({ length: 6 }, (_, i) =>
      azdo.registerAgent(
        'own-3',
        `azp-linux-${String(i).padStart(20, 'h')}`,
        {},
        {
          status: 'offline',
          env: { HOME: '/home/builder', PATH: '/usr/bin' },
        },
      ),
    );
    ours.advance(601);
    azdo.clearRequests();
    await ours.pass();
    await ours.pass();
    expect(writesTo(humans.map((a) => a.id))).toEqual([]);
    const warned = ours.log.lines.filter((l) => l.includes('carry no AZP_AUTOSCALER_ID capability'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('Agent pools');
  });

  it('one named like ours that takes a job right after the agents list: untouched', async () => {
    azdo.addPool('own-4');
    const ours = deployment('prod', 'own-4');
    const busy = azdo.registerAgent('own-4', 'azp-linux-bbbbbbbbbbbbbbbbbbbb', {}, { status: 'offline' });
    const next = azdo.queueJob('own-4', []);
    ours.advance(601);
    const off = azdo.onAnswered((q) => {
      if (q.method === 'GET' && q.path.endsWith('/agents') && azdo.agent(busy.id)?.assignedRequestId === undefined) {
        azdo.setAgentStatus(busy.id, 'online');
        azdo.assignJob(next.requestId, busy.name);
      }
    });
    azdo.clearRequests();
    try {
      await ours.pass();
    } finally {
      off();
    }
    expect(writesTo([busy.id])).toEqual([]);
    expect(azdo.agent(busy.id)?.assignedRequestId).toBe(next.requestId);
  });

  it('our own orphan, proven by its capabilities: disabled, re-read, removed', async () => {
    const { ours, agent } = await ownOrphan('own-5');
    azdo.clearRequests();
    const r = await ours.pass();
    expect(r.pools[0]!.outcomes).toEqual([
      expect.objectContaining({
        status: 'done',
        action: expect.objectContaining({ kind: 'unregister', agentId: agent.id }),
      }),
    ]);
    expect(azdo.agent(agent.id)).toBeUndefined();
    expect(writesTo([agent.id]).map((q) => q.method)).toEqual(['PATCH', 'DELETE']);
  });

  it('our own proven orphan that takes a job after the decision: re-enabled and kept', async () => {
    const { ours, agent } = await ownOrphan('own-6');
    const job = azdo.queueJob('own-6', []);
    const off = azdo.onRequest((q) => {
      if (
        q.method === 'PATCH' &&
        q.path.endsWith(`/agents/${agent.id}`) &&
        azdo.job(job.requestId)?.assignTime === undefined
      ) {
        azdo.setAgentStatus(agent.id, 'online');
        azdo.assignJob(job.requestId, agent.name); // the server had already picked it
      }
    });
    try {
      await ours.pass();
    } finally {
      off();
    }
    expect(azdo.agent(agent.id)).toMatchObject({ enabled: true, assignedRequestId: job.requestId });
  });
  it('our own booting agent whose group the list does not show (yet): untouched until the boot timeout', async () => {
    // ARM's list can lag a create: a fresh registration of ours with no listed group may be one of
    // our booting agents. Within the profile's boot timeout it is left alone, like a starting group.
    azdo.addPool('own-7');
    const ours = deployment('prod', 'own-7', { minAgents: 1, maxAgents: 1 });
    const [group] = created(await ours.pass());
    const agent = boot('own-7', group!);
    arm.startDeleting(group!, 0); // stands for "not listed yet"
    await new Promise((r) => setTimeout(r, 20));
    ours.options.profiles[0]!.minAgents = 0;
    azdo.clearRequests();
    await ours.pass();
    expect(writesTo([agent.id])).toEqual([]);
    expect(azdo.agent(agent.id)?.enabled).toBe(true);
    ours.advance(601);
    await ours.pass();
    expect(azdo.agent(agent.id)).toBeUndefined();
  });
  it("another deployment's placeholder under our placeholder's name: said once, never touched", async () => {
    // Same prefix and profile name: one placeholder name for two deployments. Jobs are then matched
    // against their image's capabilities, and ours is never created; only the operator can fix it.
    azdo.addPool('own-8');
    const ours = deployment('prod', 'own-8', { placeholder: true });
    const name = 'azp-linux-placeholder';
    const ph = azdo.registerAgent(
      'own-8',
      name,
      {},
      {
        status: 'offline',
        env: { AZP_AUTOSCALER_ID: 'staging', AZP_AGENT_NAME: name, AZP_RUN_MODE: 'placeholder' },
      },
    );
    azdo.clearRequests();
    await ours.pass();
    await ours.pass();
    expect(writesTo([ph.id])).toEqual([]);
    const said = ours.log.lines.filter((l) => l.includes('placeholder registration belongs to another deployment'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain('AGENT_NAME_PREFIX');
  });
});
