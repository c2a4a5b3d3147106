/**
 * AzureDevOpsClient against the fake Azure DevOps server (HTTPS, self-signed cert), plus checks that
 * keep the fake honest against the contracts (OpenAPI definitions via ajv, KEDA job request fixtures).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import {
  AzureDevOpsClient,
  DEFAULT_TIMEOUT_MS,
  MAX_THROTTLE_DELAY_MS,
  type AzureDevOpsClientOptions,
  type RequestInfo,
} from '../../src/azdo/client.js';
import { AZDO_SCOPE, entraAuth, patAuth } from '../../src/azdo/auth.js';
import { AzdoError, AzdoPoolNotFoundError } from '../../src/azdo/errors.js';
import { startFakeAzdo, type FakeAzdo } from '../fakes/azdo.js';
import { makeTestCert } from '../fakes/tls.js';
import { contractsDir } from '../contract/paths.js';

const addFormats = addFormatsModule.default;
const CONTRACTS = `${contractsDir()}/azdo`;
const readContract = (rel: string): string => readFileSync(`${CONTRACTS}/${rel}`, 'utf8').replace(/^\uFEFF/, '');
const kedaList = readContract('examples/jobrequests.list.keda-testJobRequestResponse.json');

const CANARY = `canary-pat-${'x7Q9'.repeat(8)}`;
const CANARY2 = `canary-pat-rotated-${'k3Zt'.repeat(8)}`;
const CANARY_B64 = Buffer.from(`:${CANARY}`).toString('base64');

const { key, cert } = makeTestCert();
const dispatcher = new Agent({ connect: { ca: cert } });

let fake: FakeAzdo;
let sleeps: number[];
let calls: RequestInfo[];

function client(overrides: Partial<AzureDevOpsClientOptions> = {}): AzureDevOpsClient {
  return new AzureDevOpsClient({
    baseUrl: fake.url,
    auth: patAuth(async () => CANARY),
    dispatcher,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onRequest: (i) => calls.push(i),
    timeoutMs: 5000,
    ...overrides,
  });
}

async function caught(p: Promise<unknown>): Promise<AzdoError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AzdoError);
    return e as AzdoError;
  }
  throw new Error('expected the call to fail');
}

function expectNoSecret(err: unknown, ...secrets: string[]): void {
  const e = err as Error;
  const texts = [
    e.message,
    String(e),
    e.stack ?? '',
    JSON.stringify(e),
    JSON.stringify({ ...e }),
    JSON.stringify(Object.getOwnPropertyNames(e).map((k) => (e as unknown as Record<string, unknown>)[k])),
  ];
  for (const t of texts) for (const s of secrets) expect(t).not.toContain(s);
}

beforeAll(async () => {
  fake = await startFakeAzdo({ https: { key, cert }, org: 'contoso', pat: CANARY });
});
afterAll(async () => {
  await fake.close();
  await dispatcher.close();
});
beforeEach(() => {
  sleeps = [];
  calls = [];
  fake.clearFaults();
  fake.clearRequests();
  fake.state.pat = CANARY;
  fake.state.bom = false;
  fake.setServerApiVersion(undefined);
});
afterEach(() => {
  fake.clearFaults();
});

let poolSeq = 0;
function freshPool(): { name: string; id: number } {
  const name = `pool-${++poolSeq}`;
  return { name, id: fake.addPool(name).id };
}

describe('AzureDevOpsClient happy paths (https, self-signed CA)', () => {
  it('resolves a pool id with api-version 7.1 and Basic auth', async () => {
    const p = freshPool();
    const id = await client().resolvePoolId(p.name);
    expect(id).toBe(p.id);
    const r = fake.requests.at(-1)!;
    expect(r.method).toBe('GET');
    expect(r.path).toBe('/contoso/_apis/distributedtask/pools');
    expect(r.query).toEqual({ poolName: p.name, 'api-version': '7.1' });
    expect(r.headers.authorization).toBe(`Basic ${CANARY_B64}`);
    expect(r.headers.accept).toBe('application/json');
  });

  it('lists unfinished job requests: completedRequestCount=0, no $top, no api-version; maps to JobRequest', async () => {
    const p = freshPool();
    fake.registerAgent(p.name, 'azp-a-1', { docker: '' });
    fake.registerAgent(p.name, 'azp-b-1', { java: '' });
    const queued = fake.queueJob(p.name, ['docker', 'Agent.Version -gtVersion 2.182.1']);
    const running = fake.queueJob(p.name, ['java']);
    fake.assignJob(running.requestId, 'azp-b-1');
    const done = fake.queueJob(p.name, []);
    fake.assignJob(done.requestId, 'azp-a-1');
    fake.finishJob(done.requestId, 'succeeded');

    const jobs = await client().listJobRequests(p.id);
    const r = fake.requests.at(-1)!;
    expect(r.path).toBe(`/contoso/_apis/distributedtask/pools/${p.id}/jobrequests`);
    expect(r.query).toEqual({ completedRequestCount: '0' });
    expect(jobs.map((j) => j.requestId)).toEqual([queued.requestId, running.requestId]);
    const [q, run] = jobs;
    expect(q).toMatchObject({
      demands: ['docker', 'Agent.Version -gtVersion 2.182.1'],
      planType: 'Build',
      poolId: p.id,
    });
    expect(q!.matchedAgentIds).toEqual([fake.agent('azp-a-1', p.name)!.id]);
    expect(q!.receiveTime).toBeUndefined();
    expect(q!.result).toBeUndefined();
    expect(run!.reservedAgent).toEqual({ id: fake.agent('azp-b-1', p.name)!.id, name: 'azp-b-1' });
    expect(run!.receiveTime).toBeTypeOf('string');
    expect(run!.assignTime).toBeTypeOf('string');
  });

  it('lists agents with assigned and last completed requests', async () => {
    const p = freshPool();
    const a1 = fake.registerAgent(p.name, 'azp-a-1');
    const a2 = fake.registerAgent(p.name, 'azp-a-2', {}, { status: 'offline', enabled: false });
    const j1 = fake.queueJob(p.name);
    fake.assignJob(j1.requestId, 'azp-a-1');
    fake.finishJob(j1.requestId, 'failed');
    const j2 = fake.queueJob(p.name);
    fake.assignJob(j2.requestId, 'azp-a-1');

    const agents = await client().listAgents(p.id);
    const r = fake.requests.at(-1)!;
    expect(r.path).toBe(`/contoso/_apis/distributedtask/pools/${p.id}/agents`);
    expect(r.query).toEqual({
      includeAssignedRequest: 'true',
      includeLastCompletedRequest: 'true',
      'api-version': '7.1',
    });
    expect(agents).toEqual([
      {
        id: a1.id,
        name: 'azp-a-1',
        status: 'online',
        enabled: true,
        createdOn: a1.createdOn,
        statusChangedOn: a1.statusChangedOn,
        version: a1.version,
        assignedRequestId: j2.requestId,
        lastCompletedFinishTime: fake.job(j1.requestId)!.finishTime,
        lastCompletedRequest: { requestId: j1.requestId, jobId: j1.jobId, queueTime: j1.queueTime },
      },
      {
        id: a2.id,
        name: 'azp-a-2',
        status: 'offline',
        enabled: false,
        createdOn: a2.createdOn,
        statusChangedOn: a2.statusChangedOn,
        version: a2.version,
      },
    ]);
  });

  it('gets one agent with its assigned request; 404 gives undefined', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    const j = fake.queueJob(p.name);
    fake.assignJob(j.requestId, 'azp-a-1');
    const c = client();
    const got = await c.getAgent(p.id, a.id);
    expect(got).toMatchObject({ id: a.id, name: 'azp-a-1', assignedRequestId: j.requestId });
    expect(fake.requests.at(-1)!.query).toEqual({ includeAssignedRequest: 'true', 'api-version': '7.1' });
    expect(await c.getAgent(p.id, 999_999)).toBeUndefined();
    expect(fake.requests).toHaveLength(2);
  });

  it('finds one agent by name (agentName filter) with its assigned request; none gives undefined', async () => {
    const p = freshPool();
    fake.registerAgent(p.name, 'azp-a-10');
    const a = fake.registerAgent(p.name, 'azp-a-1');
    const j = fake.queueJob(p.name);
    fake.assignJob(j.requestId, 'azp-a-1');
    const c = client();
    expect(await c.findAgent(p.id, 'azp-a-1')).toMatchObject({
      id: a.id,
      name: 'azp-a-1',
      assignedRequestId: j.requestId,
    });
    expect(fake.requests.at(-1)!.path).toMatch(new RegExp(`/pools/${p.id}/agents$`));
    expect(fake.requests.at(-1)!.query).toMatchObject({
      agentName: 'azp-a-1',
      includeAssignedRequest: 'true',
      'api-version': '7.1',
    });
    expect(await c.findAgent(p.id, 'azp-a-2')).toBeUndefined();
  });

  it('disables and re-enables an agent with PATCH {id, enabled} as JSON', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    const c = client();
    await c.setAgentEnabled(p.id, a.id, false);
    expect(fake.agent(a.id)!.enabled).toBe(false);
    const r = fake.requests.at(-1)!;
    expect(r.method).toBe('PATCH');
    expect(r.path).toBe(`/contoso/_apis/distributedtask/pools/${p.id}/agents/${a.id}`);
    expect(r.query).toEqual({ 'api-version': '7.1' });
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toEqual({ id: a.id, enabled: false });
    await c.setAgentEnabled(p.id, a.id, true);
    expect(fake.agent(a.id)!.enabled).toBe(true);
  });

  it('deletes an agent; deleting a missing agent counts as done', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    const c = client();
    await c.deleteAgent(p.id, a.id);
    expect(fake.agent(a.id)).toBeUndefined();
    expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', query: { 'api-version': '7.1' } });
    await expect(c.deleteAgent(p.id, a.id)).resolves.toBeUndefined();
    expect(fake.requests).toHaveLength(2);
  });

  it('reports every HTTP attempt to onRequest', async () => {
    const p = freshPool();
    const c = client();
    await c.resolvePoolId(p.name);
    await c.listJobRequests(p.id);
    expect(calls.map((i) => [i.method, i.status, i.attempt])).toEqual([
      ['GET', 200, 1],
      ['GET', 200, 1],
    ]);
    expect(calls[1]!.path).toBe(`/_apis/distributedtask/pools/${p.id}/jobrequests?completedRequestCount=0`);
    expect(calls[1]!.rateLimitRemaining).toBe(200);
  });

  it('works against a Server collection URL over plain http', async () => {
    const server = await startFakeAzdo({ org: 'tfs/DefaultCollection', pat: CANARY });
    try {
      const p = server.addPool('Default');
      const c = new AzureDevOpsClient({ baseUrl: `${server.url}/`, auth: patAuth(async () => CANARY) });
      expect(await c.resolvePoolId('Default')).toBe(p.id);
      expect(server.requests[0]!.path).toBe('/tfs/DefaultCollection/_apis/distributedtask/pools');
    } finally {
      await server.close();
    }
  });
});

describe('wire format', () => {
  it('parses the KEDA fixture served verbatim: 2 queued requests with demands and matchedAgentIds', async () => {
    fake.inject({ match: { pathIncludes: '/jobrequests' }, status: 200, body: kedaList });
    const jobs = await client().listJobRequests(44);
    expect(jobs).toHaveLength(2);
    expect(jobs[0]).toEqual({
      requestId: 890659,
      queueTime: '2022-09-28T11:19:49.89Z',
      demands: ['kubectl', 'Agent.Version -gtVersion 2.182.1'],
      // In this list (no $top) a request without matchedAgents is one no agent matches.
      matchedAgentIds: [],
      planType: 'Build',
      poolId: 44,
    });
    expect(jobs[1]).toMatchObject({
      requestId: 890663,
      demands: ['dotnet60', 'java', 'cmake', 'Agent.Version -gtVersion 2.182.1'],
      matchedAgentIds: [1755, 11732, 11733, 11734],
    });
    expect(jobs.every((j) => !j.receiveTime && !j.result)).toBe(true);
  });

  it('strips a UTF-8 BOM (fixture and fake responses)', async () => {
    fake.inject({ match: { pathIncludes: '/jobrequests' }, status: 200, body: `\uFEFF${kedaList}` });
    expect(await client().listJobRequests(44)).toHaveLength(2);
    const p = freshPool();
    fake.state.bom = true;
    fake.registerAgent(p.name, 'azp-a-1');
    expect(await client().listAgents(p.id)).toHaveLength(1);
    const raw = await request(`${fake.url}/_apis/distributedtask/pools`, {
      dispatcher,
      headers: { authorization: `Basic ${CANARY_B64}` },
    });
    expect((await raw.body.arrayBuffer()).slice(0, 3)).toEqual(new Uint8Array([0xef, 0xbb, 0xbf]).buffer);
  });

  it('maps the KEDA running and finished items (reservedAgent, result)', async () => {
    const running = JSON.parse(readContract('examples/jobrequest.item.keda-assignedNotFinishedJob.json')) as unknown;
    const dead = JSON.parse(readContract('examples/jobrequest.item.keda-deadJob-completed.json')) as unknown;
    fake.inject({
      match: { pathIncludes: '/jobrequests' },
      status: 200,
      body: JSON.stringify({ count: 2, value: [running, dead] }),
    });
    const [r, d] = await client().listJobRequests(44);
    expect(r).toMatchObject({
      requestId: 890664,
      reservedAgent: { id: 11735, name: 'dotnet60-scaledjob-5nlph-kzpgf' },
      matchedAgentIds: [1755],
    });
    expect(r!.result).toBeUndefined();
    expect(d).toMatchObject({ requestId: 890659, result: 'succeeded', receiveTime: '2022-09-28T11:20:32.0530499Z' });
  });

  it('tolerates unknown fields and nulls; rejects a wrong shape with badResponse', async () => {
    fake.inject({
      match: { pathIncludes: '/jobrequests' },
      status: 200,
      body: JSON.stringify({
        count: 1,
        value: [{ requestId: 7, result: null, demands: [{ name: 'Agent.OS', value: 'Linux' }], brandNew: { x: 1 } }],
        extra: true,
      }),
    });
    expect(await client().listJobRequests(1)).toEqual([
      { requestId: 7, demands: ['Agent.OS -equals Linux'], matchedAgentIds: [] },
    ]);
    fake.inject({ match: { pathIncludes: '/jobrequests' }, status: 200, body: '{"value":[{"requestId":"nope"}]}' });
    const e = await caught(client().listJobRequests(1));
    expect(e.kind).toBe('badResponse');
    expect(e.message).toContain('value.0.requestId');
    fake.inject({ match: { pathIncludes: '/jobrequests' }, status: 200, body: '<html>sign in</html>' });
    expect((await caught(client().listJobRequests(1))).kind).toBe('badResponse');
  });
});

describe('the job-request list is read as a stream (src/azdo/jobrequests-stream.ts)', () => {
  it('a 203 sign-in page is still a refused credential (read as text, never scanned); a 200 page is badResponse, not retried', async () => {
    fake.inject({ match: { pathIncludes: '/jobrequests' }, status: 203, times: Infinity });
    const e = await caught(client().listJobRequests(1));
    expect(e).toMatchObject({ kind: 'unauthorized', status: 203 });
    expect(e.message).toContain('answered 203 with a sign-in page');
    fake.clearFaults();
    fake.clearRequests();
    fake.inject({
      match: { pathIncludes: '/jobrequests' },
      status: 200,
      body: '<!DOCTYPE html><html><body>Sign in</body></html>',
    });
    const bad = await caught(client().listJobRequests(1));
    expect(bad).toMatchObject({ kind: 'badResponse', status: 200 });
    expect(bad.message).toContain("body is not JSON (byte 0: unexpected '<')");
    expect(fake.requests).toHaveLength(1);
  });

  it('a body in small pieces over the wire; one that stalls halfway times out and the GET is retried, as before', async () => {
    const body = Buffer.from(kedaList);
    let attempts = 0;
    const server = createServer((_req, res) => {
      attempts++;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      if (attempts === 1) {
        res.write(body.subarray(0, body.length >> 1)); // then nothing: the attempt's timeout ends it
        return;
      }
      let at = 0;
      const next = (): void => {
        if (at >= body.length) return void res.end();
        res.write(body.subarray(at, (at += 97)), () => setImmediate(next));
      };
      next();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const c = new AzureDevOpsClient({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/org`,
        auth: patAuth(async () => CANARY),
        timeoutMs: 300,
        sleep: async (ms) => void sleeps.push(ms),
        onRequest: (i) => calls.push(i),
      });
      const jobs = await c.listJobRequests(44);
      expect(jobs.map((j) => [j.requestId, j.matchedAgentIds])).toEqual([
        [890659, []],
        [890663, [1755, 11732, 11733, 11734]],
      ]);
      expect(calls.map((i) => [i.status, i.attempt])).toEqual([
        [0, 1],
        [200, 2],
      ]);
      expect(sleeps).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('pool id resolution', () => {
  it('caches the pool id: the second resolve makes no request', async () => {
    const p = freshPool();
    const c = client();
    expect(await c.resolvePoolId(p.name)).toBe(p.id);
    expect(await c.resolvePoolId(p.name)).toBe(p.id);
    expect(await Promise.all([c.resolvePoolId(p.name), c.resolvePoolId(p.name)])).toEqual([p.id, p.id]);
    expect(fake.requests).toHaveLength(1);
  });

  it('a missing pool is a typed not-found error naming the pool (not cached)', async () => {
    const c = client();
    const e = await caught(c.resolvePoolId('no-such-pool'));
    expect(e).toBeInstanceOf(AzdoPoolNotFoundError);
    expect(e.kind).toBe('notFound');
    expect((e as AzdoPoolNotFoundError).poolName).toBe('no-such-pool');
    expect(e.message).toContain("'no-such-pool'");
    const p = fake.addPool('no-such-pool');
    expect(await c.resolvePoolId('no-such-pool')).toBe(p.id);
  });

  it('more than one match is an error', async () => {
    fake.inject({
      match: { pathIncludes: 'poolName=' },
      status: 200,
      body: JSON.stringify({
        count: 2,
        value: [
          { id: 1, name: 'x' },
          { id: 2, name: 'x' },
        ],
      }),
    });
    const e = await caught(client().resolvePoolId('x'));
    expect(e).toMatchObject({ kind: 'badResponse', code: 'AmbiguousPool' });
  });

  it('accepts the KEDA pools stub', async () => {
    fake.inject({
      match: { pathIncludes: 'poolName=' },
      status: 200,
      body: readContract('examples/pools.byName.keda-stub.json'),
    });
    expect(await client().resolvePoolId('stub')).toBe(1);
  });
});

describe('throttling and retries', () => {
  it('honours Retry-After (seconds) on 429 and succeeds', async () => {
    const p = freshPool();
    fake.inject({ match: { pathIncludes: '/jobrequests' }, status: 429, retryAfter: 2, times: 2 });
    expect(await client().listJobRequests(p.id)).toEqual([]);
    expect(sleeps).toEqual([2000, 2000]);
    expect(calls.map((i) => i.status)).toEqual([429, 429, 200]);
  });

  it('is bounded: gives up after maxRetries with a throttled error carrying TF400733', async () => {
    const p = freshPool();
    fake.inject({ match: { pathIncludes: '/agents' }, status: 429, retryAfter: 1, times: Infinity });
    const e = await caught(client({ maxRetries: 2 }).listAgents(p.id));
    expect(e).toMatchObject({ kind: 'throttled', status: 429, code: 'TF400733', retryAfterMs: 1000, attempts: 3 });
    expect(e.azdoMessage).toMatch(/^TF400733: The request has been canceled/);
    expect(e.typeKey).toBe('RequestBlockedException');
    expect(e.activityId).toBeTypeOf('string');
    expect(sleeps).toEqual([1000, 1000]);
    expect(fake.requests).toHaveLength(3);
  });

  it('fails fast when Retry-After exceeds maxRetryDelayMs', async () => {
    const p = freshPool();
    fake.inject({ status: 429, retryAfter: 120, times: Infinity });
    const e = await caught(client({ maxRetryDelayMs: 30_000 }).listJobRequests(p.id));
    expect(e).toMatchObject({ kind: 'throttled', retryAfterMs: 120_000, attempts: 1 });
    expect(e.message).toContain('retry after 120s');
    expect(sleeps).toEqual([]);
  });

  it('understands Retry-After as an HTTP date', async () => {
    const p = freshPool();
    fake.inject({ status: 429, headers: { 'retry-after': new Date(Date.now() + 10_000).toUTCString() } });
    await client().listJobRequests(p.id);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(7_000);
    expect(sleeps[0]).toBeLessThanOrEqual(10_000);
  });

  it('X-RateLimit-Delay says how long a request WAS delayed, not how long to wait', async () => {
    const p = freshPool();
    fake.inject({ status: 429, rateLimitDelay: 25 });
    await client().listJobRequests(p.id);
    expect(sleeps).toEqual([1000]); // the default first back-off, not 25 s
    // A delayed success is a success: reported, not retried.
    fake.inject({ headers: { 'x-ratelimit-delay': '2.5' } });
    await client().listJobRequests(p.id);
    expect(calls.at(-1)).toMatchObject({ status: 200, delayedMs: 2500, attempt: 1 });
    expect(sleeps).toEqual([1000]);
  });

  it('retries 503 for reads with exponential backoff when no header; a write is sent once and fails with the wait', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    fake.inject({ match: { method: 'GET' }, status: 503, times: 2 });
    expect(await client().listAgents(p.id)).toHaveLength(1);
    expect(sleeps).toEqual([1000, 2000]);
    fake.clearRequests();
    fake.inject({ match: { method: 'PATCH' }, status: 503, retryAfter: 2, times: 2 });
    expect(await caught(client().setAgentEnabled(p.id, a.id, false))).toMatchObject({
      kind: 'server',
      status: 503,
      attempts: 1,
      retryAfterMs: 2000,
    });
    expect(fake.requests.map((r) => r.method)).toEqual(['PATCH']);
    expect(fake.agent(a.id)!.enabled).toBe(true);
    expect(sleeps).toEqual([1000, 2000]);
  });

  it('a 500 is not retried (not 429/503, no Retry-After), a 500 with Retry-After is', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    fake.inject({ match: { method: 'GET' }, status: 500 });
    expect(await caught(client().listAgents(p.id))).toMatchObject({ kind: 'server', status: 500, attempts: 1 });
    fake.inject({ match: { method: 'GET' }, status: 500, retryAfter: 2 });
    expect(await client().listAgents(p.id)).toHaveLength(1);
    expect(sleeps).toEqual([2000]);
    fake.inject({ match: { method: 'DELETE' }, status: 500 });
    const e = await caught(client().deleteAgent(p.id, a.id));
    expect(e).toMatchObject({ kind: 'server', status: 500, code: 'TF246021', attempts: 1 });
    expect(fake.agent(a.id)).toBeDefined();
  });
});

/** A PAT source that reads CANARY until the client invalidates it, then the rotated CANARY2; counts the invalidations. */
function rotatedPat() {
  let current = CANARY;
  let invalidated = 0;
  const auth = patAuth(
    async () => current,
    () => {
      invalidated++;
      current = CANARY2;
    },
  );
  return { auth, invalidated: () => invalidated };
}

describe('authentication and secrets', () => {
  it('401 → invalidates the PAT once, re-reads it and succeeds', async () => {
    const p = freshPool();
    fake.state.pat = CANARY2;
    const { auth, invalidated } = rotatedPat();
    expect(await client({ auth }).resolvePoolId(p.name)).toBe(p.id);
    expect(invalidated()).toBe(1);
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual([
      `Basic ${CANARY_B64}`,
      `Basic ${Buffer.from(`:${CANARY2}`).toString('base64')}`,
    ]);
  });

  it('401 on a write → invalidates the PAT for the next call, the write is not sent a second time', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    fake.state.pat = CANARY2;
    const { auth, invalidated } = rotatedPat();
    const c = client({ auth });
    fake.clearRequests();
    expect(await caught(c.setAgentEnabled(p.id, a.id, false))).toMatchObject({ kind: 'unauthorized', attempts: 1 });
    expect(invalidated()).toBe(1);
    expect(fake.requests.map((r) => r.method)).toEqual(['PATCH']);
    await c.setAgentEnabled(p.id, a.id, false); // the next call carries the re-read PAT
    expect(fake.agent(a.id)!.enabled).toBe(false);
  });

  it('a persistent 401 is a clear unauthorized error without the token', async () => {
    const p = freshPool();
    fake.state.pat = 'some-other-pat';
    let invalidated = 0;
    const c = client({
      auth: patAuth(
        async () => CANARY,
        () => invalidated++,
      ),
    });
    const e = await caught(c.listJobRequests(p.id));
    expect(invalidated).toBe(1);
    expect(fake.requests).toHaveLength(2);
    expect(e).toMatchObject({ kind: 'unauthorized', status: 401, code: 'TF400813' });
    expect(e.message).toMatch(/401 unauthorized \(PAT expired, revoked or lacking Agent Pools scope/);
    expect(e.message).toContain('TF400813');
    expectNoSecret(e, CANARY, CANARY_B64, 'Basic ');
  });

  it('without an invalidate hook a 401 is not retried', async () => {
    const p = freshPool();
    fake.state.pat = 'some-other-pat';
    const e = await caught(client().listAgents(p.id));
    expect(e.kind).toBe('unauthorized');
    expect(fake.requests).toHaveLength(1);
    expectNoSecret(e, CANARY, CANARY_B64);
  });

  it('scrubs a token echoed back by the service from messages and properties', async () => {
    const p = freshPool();
    fake.inject({
      status: 500,
      body: JSON.stringify({
        $id: '1',
        message: `TF246021: bad header Basic ${CANARY_B64} for ${CANARY}`,
        typeKey: `Key${CANARY}`,
        errorCode: 0,
      }),
      headers: { activityid: CANARY },
      times: Infinity,
    });
    const e = await caught(client({ maxRetries: 1 }).listJobRequests(p.id));
    expect(e.kind).toBe('server');
    expect(e.azdoMessage).toContain('TF246021');
    expectNoSecret(e, CANARY, CANARY_B64);
  });

  it('scrubs partial echoes of the token (8+ characters: start, middle, end, URL-encoded, inside the Basic header)', async () => {
    const p = freshPool();
    const fragments = [
      CANARY.slice(0, 9),
      CANARY.slice(14, 26),
      CANARY.slice(-8),
      encodeURIComponent(CANARY.slice(5, 19)),
      CANARY_B64.slice(0, 12),
      CANARY_B64.slice(9, 30),
      CANARY_B64.slice(-10),
    ];
    const echo = fragments.map((f, i) => `part${i}=${f}`).join(' ');
    fake.inject({
      status: 500,
      body: JSON.stringify({
        $id: '1',
        message: `TF246021: header echo ${echo}`,
        typeKey: `Key${CANARY.slice(3, 15)}`,
        errorCode: 0,
      }),
      headers: { activityid: `id-${CANARY.slice(20, 30)}` },
      times: Infinity,
    });
    const e = await caught(client({ maxRetries: 1 }).listJobRequests(p.id));
    expect(e.azdoMessage).toContain('TF246021: header echo part0=');
    const windows = (f: string) => Array.from({ length: f.length - 7 }, (_, i) => f.slice(i, i + 8));
    expectNoSecret(e, ...[...fragments, CANARY.slice(3, 15), CANARY.slice(20, 30)].flatMap(windows));
  });

  it('never leaks the PAT in any error kind (timeout, network, throttled, notFound)', async () => {
    const p = freshPool();
    const errors: unknown[] = [];
    fake.inject({ delayMs: 1000 });
    errors.push(await caught(client({ timeoutMs: 100, maxRetries: 0 }).listJobRequests(p.id)));
    fake.inject({ status: 429, retryAfter: 999 });
    errors.push(await caught(client().listJobRequests(p.id)));
    errors.push(await caught(client().resolvePoolId('missing-pool')));
    errors.push(await caught(client({ baseUrl: 'https://127.0.0.1:1/contoso', maxRetries: 0 }).listAgents(1)));
    for (const e of errors) expectNoSecret(e, CANARY, CANARY_B64);
  });

  it('entra auth sends a Bearer token for the Azure DevOps scope', async () => {
    const p = freshPool();
    fake.state.bearer = 'entra-token-123';
    const scopes: (string | string[])[] = [];
    const credential: TokenCredential = {
      async getToken(scope: string | string[], _o?: GetTokenOptions): Promise<AccessToken> {
        scopes.push(scope);
        return { token: 'entra-token-123', expiresOnTimestamp: Date.now() + 3600_000 };
      },
    };
    const c = client({ auth: entraAuth(credential) });
    expect(await c.resolvePoolId(p.name)).toBe(p.id);
    await c.listAgents(p.id);
    expect(scopes).toEqual([AZDO_SCOPE]);
    expect(AZDO_SCOPE).toBe('499b84ac-1321-427f-aa17-267ca6975798/.default');
    expect(fake.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer entra-token-123',
      'Bearer entra-token-123',
    ]);
    delete fake.state.bearer;
  });
});

describe('timeouts and network errors', () => {
  it('a response slower than timeoutMs is a timeout error', async () => {
    const p = freshPool();
    fake.inject({ delayMs: 1500, times: Infinity });
    const started = Date.now();
    const e = await caught(client({ timeoutMs: 200, maxRetries: 0 }).listAgents(p.id));
    expect(Date.now() - started).toBeLessThan(1200);
    expect(e).toMatchObject({ kind: 'timeout', attempts: 1 });
    expect(e.status).toBeUndefined();
    expect(e.message).toContain('200 ms');
    expect(calls[0]!.status).toBe(0);
  });

  it('GETs are retried after a timeout; a PATCH is read back, never resent (applied → done, else the timeout)', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    fake.inject({ delayMs: 1500 });
    expect(await client({ timeoutMs: 200 }).listAgents(p.id)).toHaveLength(1);
    expect(sleeps).toEqual([1000]);

    // Applied, but the answer came too late: the re-read shows it applied; no second PATCH.
    const off = fake.onRequest((r) => {
      if (r.method === 'PATCH') fake.setAgentEnabled(a.id, false, p.name);
    });
    fake.inject({ match: { method: 'PATCH' }, delayMs: 1500, status: 503 });
    await client({ timeoutMs: 200 }).setAgentEnabled(p.id, a.id, false);
    off();
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    expect(fake.requests.at(-1)!.method).toBe('GET');
    expect(fake.agent(a.id)!.enabled).toBe(false);

    // Not applied (the answer never came): the re-read shows it; the timeout goes up, nothing resent
    // (the call's one attempt was fenced; the next pass plans the write again).
    fake.clearRequests();
    fake.inject({ match: { method: 'PATCH' }, delayMs: 1500, status: 503 });
    expect(await caught(client({ timeoutMs: 200 }).setAgentEnabled(p.id, a.id, true))).toMatchObject({
      kind: 'timeout',
    });
    expect(fake.requests.map((r) => r.method)).toEqual(['PATCH', 'GET']);
    expect(fake.agent(a.id)!.enabled).toBe(false);
  });

  it('a DELETE that timed out is not resent when the re-read finds the agent gone', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    const off = fake.onRequest((r) => {
      if (r.method === 'DELETE') fake.removeAgent(a.id, p.name);
    });
    fake.inject({ match: { method: 'DELETE' }, delayMs: 1500, status: 503 });
    await client({ timeoutMs: 200 }).deleteAgent(p.id, a.id);
    off();
    expect(fake.requests.map((r) => r.method)).toEqual(['DELETE', 'GET']);
  });

  it('connection refused is a network error, retried for GET', async () => {
    const e = await caught(client({ baseUrl: 'https://127.0.0.1:1/contoso', maxRetries: 2 }).listAgents(1));
    expect(e).toMatchObject({ kind: 'network', attempts: 3 });
    expect(e.message).toContain('ECONNREFUSED');
    expect(sleeps).toEqual([1000, 2000]);
  });
});

describe('throttling: Azure DevOps delays a throttled request by up to 30 s', () => {
  // Time scaled 1:100 (25 s → 250 ms) so no test waits 25 s.
  const SCALE = 100;
  it('the default per-attempt timeout outlasts the documented maximum delay', () => {
    expect(DEFAULT_TIMEOUT_MS).toBeGreaterThan(MAX_THROTTLE_DELAY_MS);
  });

  it('a GET and a PATCH delayed 25 s complete on their first attempt under the default timeout', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    const delayed = { delayMs: 25_000 / SCALE, headers: { 'x-ratelimit-delay': '25' }, times: 2 };
    fake.inject(delayed);
    const c = client({ timeoutMs: DEFAULT_TIMEOUT_MS / SCALE });
    expect(await c.listAgents(p.id)).toHaveLength(1);
    await c.setAgentEnabled(p.id, a.id, false);
    expect(fake.requests.map((r) => r.method)).toEqual(['GET', 'PATCH']);
    expect(calls.map((i) => [i.status, i.delayedMs])).toEqual([
      [200, 25_000],
      [200, 25_000],
    ]);
    expect(sleeps).toEqual([]);
  });

  it('the old 15 s timeout aborted the same delayed GET and retried it (why the default moved)', async () => {
    const p = freshPool();
    fake.registerAgent(p.name, 'azp-a-1');
    fake.inject({ delayMs: 25_000 / SCALE, headers: { 'x-ratelimit-delay': '25' } });
    expect(await client({ timeoutMs: 15_000 / SCALE }).listAgents(p.id)).toHaveLength(1);
    expect(calls.map((i) => i.status)).toEqual([0, 200]);
  });
});

describe('Azure DevOps Server versions', () => {
  it.each([
    ['Server 2022', '7.0'],
    ['Server 2020', '6.0'],
  ])('%s: one refused 7.1 request, then every call at %s', async (_name, version) => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    fake.setServerApiVersion(version);
    const c = client();
    expect(await c.resolvePoolId(p.name)).toBe(p.id);
    expect(await c.listAgents(p.id)).toHaveLength(1);
    await c.setAgentEnabled(p.id, a.id, false);
    await c.listJobRequests(p.id);
    expect(c.restApiVersion).toBe(version);
    expect(fake.requests.map((r) => `${r.method} ${r.query['api-version'] ?? '-'}`)).toEqual([
      'GET 7.1',
      `GET ${version}`,
      `GET ${version}`,
      `PATCH ${version}`,
      'GET -',
    ]);
    expect(fake.agent(a.id)!.enabled).toBe(false);
  });

  it('Server 2020: the placeholder capability read follows the discovered version; resourceusage keeps 7.1-preview.2, is refused, and moves nothing', async () => {
    const p = freshPool();
    const a = fake.registerAgent(p.name, 'azp-a-1');
    fake.setServerApiVersion('6.0');
    const c = client();
    expect(await c.getAgentCapabilities(p.id, a.id)).toBeDefined();
    expect(c.restApiVersion).toBe('6.0');
    const e = await caught(c.getParallelJobs());
    expect(e).toMatchObject({ kind: 'badResponse', status: 400, code: 'VssVersionOutOfRangeException' });
    expect(c.restApiVersion).toBe('6.0');
    expect(fake.requests.map((r) => `${r.method} ${r.query['api-version'] ?? '-'}`)).toEqual([
      'GET 7.1',
      'GET 6.0',
      'GET 7.1-preview.2',
    ]);
  });

  it('AZP_API_VERSION is used as given: no discovery; a server refusing it is an error naming the version it supports', async () => {
    const p = freshPool();
    fake.setServerApiVersion('6.0');
    expect(await client({ apiVersion: '6.0' }).listAgents(p.id)).toEqual([]);
    expect(fake.requests.map((r) => r.query['api-version'])).toEqual(['6.0']);
    const e = await caught(client({ apiVersion: '7.0' }).listAgents(p.id));
    expect(e).toMatchObject({ kind: 'badResponse', status: 400, code: 'VssVersionOutOfRangeException' });
    expect(e.message).toContain('supports is 6.0');
  });

  it('the cloud takes 7.1 (no refused request)', async () => {
    const p = freshPool();
    const c = client();
    await c.listAgents(p.id);
    expect(c.restApiVersion).toBe('7.1');
    expect(fake.requests.map((r) => r.query['api-version'])).toEqual(['7.1']);
  });
});

describe('the fake stays honest', () => {
  const spec = JSON.parse(readContract('spec/agentpools-subset.7.1.json')) as { definitions: Record<string, unknown> };
  // The spec models Demand as {name, value}; on the wire demands are strings (KEDA captures).
  spec.definitions.Demand = { type: 'string' };
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  addFormats(ajv);
  for (const f of ['int32', 'int64', 'JTokenType', 'JContainer']) ajv.addFormat(f, true);
  ajv.addSchema({ ...spec, $id: 'azdo' });
  const listOfRef = (def: string) =>
    ajv.compile({
      type: 'object',
      required: ['count', 'value'],
      properties: { count: { type: 'integer' }, value: { type: 'array', items: { $ref: `azdo#/definitions/${def}` } } },
    });
  const agentList = listOfRef('TaskAgent');
  const poolList = listOfRef('TaskAgentPool');
  const agentOne = ajv.compile({ $ref: 'azdo#/definitions/TaskAgent' });
  const jobRequestProps = Object.keys(
    (spec.definitions.TaskAgentJobRequest as { properties: Record<string, unknown> }).properties,
  );

  async function get(path: string): Promise<unknown> {
    const res = await request(`${fake.url}${path}`, { dispatcher, headers: { authorization: `Basic ${CANARY_B64}` } });
    expect(res.statusCode).toBe(200);
    return res.body.json();
  }

  function populated(): { id: number; busy: number; idle: number; jobs: number[] } {
    const p = freshPool();
    const busy = fake.registerAgent(p.name, 'azp-busy', { docker: '' });
    const idle = fake.registerAgent(p.name, 'azp-idle', { docker: '', java: '17' });
    const j1 = fake.queueJob(p.name, ['docker']);
    fake.assignJob(j1.requestId, 'azp-busy');
    fake.finishJob(j1.requestId);
    const j2 = fake.queueJob(p.name, ['docker', 'Agent.Version -gtVersion 2.182.1']);
    fake.assignJob(j2.requestId, 'azp-busy');
    const j3 = fake.queueJob(p.name, ['java -equals 17']);
    return { id: p.id, busy: busy.id, idle: idle.id, jobs: [j1.requestId, j2.requestId, j3.requestId] };
  }

  it('agents and pools responses validate against the 7.1 OpenAPI definitions', async () => {
    const p = populated();
    const all = (await get(
      `/_apis/distributedtask/pools/${p.id}/agents?includeCapabilities=true&includeAssignedRequest=true&includeLastCompletedRequest=true&api-version=7.1`,
    )) as { value: Record<string, unknown>[] };
    expect(agentList(all), JSON.stringify(agentList.errors)).toBe(true);
    const busy = all.value.find((a) => a.id === p.busy)!;
    expect(busy.assignedRequest).toMatchObject({ requestId: p.jobs[1] });
    expect(busy.lastCompletedRequest).toMatchObject({ requestId: p.jobs[0], result: 'succeeded' });
    expect(busy.systemCapabilities).toMatchObject({ 'Agent.Name': 'azp-busy' });

    const plain = (await get(`/_apis/distributedtask/pools/${p.id}/agents?api-version=7.1`)) as {
      value: Record<string, unknown>[];
    };
    expect(agentList(plain)).toBe(true);
    for (const a of plain.value) {
      expect(Object.keys(a)).not.toContain('assignedRequest');
      expect(Object.keys(a)).not.toContain('lastCompletedRequest');
      expect(Object.keys(a)).not.toContain('systemCapabilities');
    }
    const one = await get(
      `/_apis/distributedtask/pools/${p.id}/agents/${p.busy}?includeAssignedRequest=true&api-version=7.1`,
    );
    expect(agentOne(one), JSON.stringify(agentOne.errors)).toBe(true);
    const pools = await get('/_apis/distributedtask/pools?api-version=7.1');
    expect(poolList(pools), JSON.stringify(poolList.errors)).toBe(true);
  });

  it('job requests have the KEDA fixture shapes (queued, running, finished)', async () => {
    const p = populated();
    const fixtures = {
      queued: [
        JSON.parse(readContract('examples/jobrequest.item.keda-queuedJob.json')),
        ...(JSON.parse(kedaList) as { value: unknown[] }).value,
      ] as Record<string, unknown>[],
      running: [JSON.parse(readContract('examples/jobrequest.item.keda-assignedNotFinishedJob.json'))] as Record<
        string,
        unknown
      >[],
      finished: [JSON.parse(readContract('examples/jobrequest.item.keda-deadJob-completed.json'))] as Record<
        string,
        unknown
      >[],
    };
    const all = (await get(`/_apis/distributedtask/pools/${p.id}/jobrequests`)) as {
      count: number;
      value: Record<string, unknown>[];
    };
    expect(all.count).toBe(3);
    const byId = new Map(all.value.map((j) => [j.requestId as number, j]));
    const cases: [Record<string, unknown>, Record<string, unknown>[]][] = [
      [byId.get(p.jobs[0]!)!, fixtures.finished],
      [byId.get(p.jobs[1]!)!, fixtures.running],
      [byId.get(p.jobs[2]!)!, fixtures.queued],
    ];
    for (const [item, refs] of cases) {
      const known = new Map<string, string>();
      for (const r of refs) for (const [k, v] of Object.entries(r)) known.set(k, Array.isArray(v) ? 'array' : typeof v);
      for (const [k, v] of Object.entries(item)) {
        // keys beyond the captures must at least be TaskAgentJobRequest properties (e.g. finishTime)
        expect(
          known.has(k) || jobRequestProps.includes(k),
          `fake emits '${k}' that neither the KEDA captures nor the spec have`,
        ).toBe(true);
        if (known.has(k)) expect(Array.isArray(v) ? 'array' : typeof v, k).toBe(known.get(k));
      }
      // everything the captures always carry, the fake carries too
      for (const k of Object.keys(refs[0]!)) expect(item, k).toHaveProperty(k);
    }
    const queued = byId.get(p.jobs[2]!)!;
    expect(queued).not.toHaveProperty('receiveTime');
    expect(queued.matchedAgents).toEqual([expect.objectContaining({ id: p.idle, name: 'azp-idle' })]);
    const running = byId.get(p.jobs[1]!)!;
    expect(byId.get(p.jobs[0]!)!.finishTime).toBeTypeOf('string');
    expect(running.reservedAgent).toMatchObject({
      id: p.busy,
      name: 'azp-busy',
      _links: { self: { href: expect.stringContaining(`/agents/${p.busy}`) } },
    });

    const unfinished = (await get(`/_apis/distributedtask/pools/${p.id}/jobrequests?completedRequestCount=0`)) as {
      value: unknown[];
    };
    expect(unfinished.value).toHaveLength(2);
    const top = (await get(`/_apis/distributedtask/pools/${p.id}/jobrequests?$top=10`)) as {
      value: Record<string, unknown>[];
    };
    expect(top.value.every((j) => !('matchedAgents' in j))).toBe(true);
  });

  it('a wrong credential gets a 401 that does not echo it', async () => {
    const res = await request(`${fake.url}/_apis/distributedtask/pools`, {
      dispatcher,
      headers: { authorization: `Basic ${Buffer.from(':wrong-canary-pat-zzz').toString('base64')}` },
    });
    expect(res.statusCode).toBe(401);
    const body = await res.body.text();
    expect(body + JSON.stringify(res.headers)).not.toContain('wrong-canary-pat-zzz');
    expect(body + JSON.stringify(res.headers)).not.toContain(Buffer.from(':wrong-canary-pat-zzz').toString('base64'));
  });
});
