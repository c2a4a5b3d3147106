/**
 * The service-hook endpoint: every status code, with the official sample payloads, through
 * HttpRequest / InvocationContext (no Functions host) and through the host-free handler.
 */
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import type { Settings } from '../../src/config/schema.js';
import { memoryLogger } from '../../src/util/log.js';
import { checkBasicAuth, parseBasic } from '../../src/webhook/auth.js';
import { DedupCache } from '../../src/webhook/dedup.js';
import {
  handleServiceHook,
  isJsonContentType,
  routeDelivery,
  selectPools,
  type ServiceHookContext,
} from '../../src/webhook/handler.js';
import { makeServiceHookHandler, makeStatusHandler, type WebhookRuntime } from '../../src/webhook/http.js';
import { matchOrg, orgKey } from '../../src/webhook/org.js';
import { envelopeSchema } from '../../src/webhook/schema.js';
import { readContractJson } from '../helpers/contracts.js';

const USER = 'azp-hook';
const PASS = 'S3cret-webhook-password!';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;

type Payload = Record<string, unknown> & {
  resource?: Record<string, Record<string, unknown>>;
  resourceContainers?: Record<string, Record<string, unknown>>;
};
const sample = (file: string): Payload => structuredClone(readContractJson<Payload>(`servicehooks/${file}`));
const jobSample = () => sample('job-state-changed.events-md.json');
const runSample = () => sample('run-state-changed.events-md.json');
const stageSample = () => sample('stage-state-changed.events-md.json');

function waitingJob(notificationId = 3): Payload {
  const p = jobSample();
  p.notificationId = notificationId;
  p.resource!.job!.state = 'waiting';
  delete p.resource!.job!.result;
  return p;
}

function settings(over: Record<string, string | undefined> = {}): Settings {
  return loadSettings({
    AZP_URL: 'https://dev.azure.com/fabrikamfiber',
    WEBHOOK_USERNAME: USER,
    WEBHOOK_PASSWORD: PASS,
    POOLS: JSON.stringify([
      { name: 'lin', pool: 'Linux', image: 'example/agent:1' },
      { name: 'lin-big', pool: 'Linux', image: 'example/agent:1', cpu: 4 },
      { name: 'win', pool: 'windows-pool', image: 'example/agent:1', os: 'Windows' },
    ]),
    ...over,
  });
}

function harness(
  opts: {
    settings?: Settings;
    getRuntime?: () => Promise<WebhookRuntime>;
    maxBodyBytes?: number;
    send?: WebhookRuntime['handoff']['send'];
  } = {},
) {
  const calls: { pools: readonly string[]; reason: string }[] = [];
  const logger = memoryLogger();
  const runtime: WebhookRuntime = {
    settings: opts.settings ?? settings(),
    logger,
    handoff: {
      send:
        opts.send ??
        (async ({ pools, reason }) => {
          calls.push({ pools, reason });
        }),
    },
  };
  const handler = makeServiceHookHandler(opts.getRuntime ?? (async () => runtime), {
    seen: new DedupCache(),
    ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  });
  const contextLines: string[] = [];
  const send = async (init: {
    method?: string;
    query?: string;
    headers?: Record<string, string>;
    body?: string | Payload;
  }): Promise<HttpResponseInit & { json: Record<string, unknown> }> => {
    const body =
      init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    const req = new HttpRequest({
      method: init.method ?? 'POST',
      url: `https://app.azurewebsites.net/api/servicehook${init.query ?? ''}`,
      headers: init.headers ?? { authorization: AUTH, 'content-type': 'application/json; charset=utf-8' },
      ...(body !== undefined ? { body: { string: body } } : {}),
    });
    const ctx = new InvocationContext({
      invocationId: 'test',
      functionName: 'servicehook',
      logHandler: (_l, ...args) => contextLines.push(args.map(String).join(' ')),
    });
    const res = await handler(req, ctx);
    return { ...res, json: res.jsonBody as Record<string, unknown> };
  };
  return { send, calls, logger, contextLines };
}

const json = { 'content-type': 'application/json' };

describe('servicehook: 202 accepted (official samples)', () => {
  it('job-state-changed (waiting) → 202 at once, passes for every pool of the org', async () => {
    const h = harness();
    const res = await h.send({ body: waitingJob() });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ accepted: true, pools: ['Linux', 'windows-pool'] });
    expect(String(res.json.note)).toMatch(/pass queued \(webhook job waiting #3\)/);
    expect(h.calls).toEqual([{ pools: ['Linux', 'windows-pool'], reason: 'webhook job waiting #3' }]);
  });

  it('job-state-changed (the sample as published: completed) → 202 (finished agents get cleaned up sooner)', async () => {
    const h = harness();
    const res = await h.send({ body: jobSample() });
    expect(res.status).toBe(202);
    expect(h.calls[0]?.reason).toBe('webhook job completed #3');
  });

  it('run-state-changed and stage-state-changed samples → 202', async () => {
    const h = harness();
    expect((await h.send({ body: runSample() })).status).toBe(202);
    expect((await h.send({ body: stageSample() })).status).toBe(202);
    expect(h.calls.map((c) => c.reason)).toEqual(['webhook run completed', 'webhook stage completed']);
  });

  it('?pool= selects pools (case-insensitive, comma-separated, repeated), unknown ones are noted', async () => {
    const h = harness();
    const res = await h.send({ query: '?code=abc&pool=linux,nope&pool=WINDOWS-POOL', body: waitingJob() });
    expect(res.status).toBe(202);
    expect(res.json.pools).toEqual(['Linux', 'windows-pool']);
    expect(String(res.json.note)).toContain('unknown pool(s) ignored: nope');
    expect(h.calls[0]?.pools).toEqual(['Linux', 'windows-pool']);
  });

  it('accepts a payload with resource details "none" and a BOM, and tolerates unknown fields', async () => {
    const h = harness();
    const p = waitingJob(9);
    delete p.resource;
    p.someFutureField = { nested: [1, 2, 3] };
    const res = await h.send({ body: `\uFEFF${JSON.stringify(p)}` });
    expect(res.status).toBe(202);
  });

  it('matching resourceContainers base URLs are ours (dev.azure.com and visualstudio.com forms)', async () => {
    const h = harness();
    const p = waitingJob(10);
    p.resourceContainers!.account!.baseUrl = 'https://fabrikamfiber.visualstudio.com/';
    p.resourceContainers!.collection!.baseUrl = 'https://dev.azure.com/FabrikamFiber/';
    expect((await h.send({ body: p })).status).toBe(202);
  });

  it('a queue that refuses the message → 503 + Retry-After (Azure DevOps retries), and the redelivery is not taken for a duplicate', async () => {
    let down = true;
    const h = harness({
      send: async () => {
        if (down) throw new Error('queue down');
      },
    });
    const res = await h.send({ body: waitingJob() });
    expect(res.status).toBe(503);
    expect(new Headers(res.headers as Record<string, string>).get('retry-after')).toBe('30');
    expect(h.logger.lines.some((l) => l.startsWith('error') && l.includes('queue down'))).toBe(true);
    down = false;
    expect((await h.send({ body: waitingJob() })).status).toBe(202);
  });

  it('answers only once the message is stored (no work after the answer)', async () => {
    let store!: () => void;
    const h = harness({ send: () => new Promise<void>((r) => (store = r)) });
    let answered = false;
    const pending = h.send({ body: waitingJob() }).then((r) => ((answered = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(answered).toBe(false);
    store();
    expect((await pending).status).toBe(202);
  });
});

describe('servicehook: 200 with a note (nothing to do)', () => {
  it('ignored event type', async () => {
    const h = harness();
    const p = waitingJob();
    p.eventType = 'git.push';
    const res = await h.send({ body: p });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accepted: false, pools: [] });
    expect(String(res.json.note)).toMatch(/ignored event type 'git.push'/);
    expect(h.calls).toHaveLength(0);
  });

  it('a job that started running needs no scaling without standby agents', async () => {
    const h = harness();
    const p = waitingJob();
    p.resource!.job!.state = 'running';
    const res = await h.send({ body: p });
    expect(res.status).toBe(200);
    expect(h.calls).toHaveLength(0);
  });

  it('a job that started running refills standby agents where a pool keeps them', async () => {
    const h = harness({
      settings: settings({
        POOLS: JSON.stringify([{ name: 'lin', pool: 'Linux', image: 'example/agent:1', minAgents: 1 }]),
      }),
    });
    const p = waitingJob();
    p.resource!.job!.state = 'running';
    const res = await h.send({ body: p });
    expect(res.status).toBe(202);
    expect(h.calls).toEqual([expect.objectContaining({ pools: ['Linux'] })]);
  });

  it('another organization', async () => {
    const h = harness();
    const p = waitingJob();
    p.resourceContainers!.account!.baseUrl = 'https://dev.azure.com/contoso/';
    const res = await h.send({ body: p });
    expect(res.status).toBe(200);
    expect(res.json.note).toMatch(/not our organization/);
    expect(h.calls).toHaveLength(0);
    expect(h.logger.lines.some((l) => l.includes('another organization'))).toBe(true);
  });

  it('only unknown pools', async () => {
    const h = harness();
    const res = await h.send({ query: '?pool=macos', body: waitingJob() });
    expect(res.status).toBe(200);
    expect(res.json.note).toMatch(/unknown pool\(s\) ignored: macos; configured: Linux, windows-pool/);
    expect(h.calls).toHaveLength(0);
  });

  it('a redelivered notification (same subscription + notification id) is not re-triggered', async () => {
    const h = harness();
    expect((await h.send({ body: waitingJob(42) })).status).toBe(202);
    const again = await h.send({ body: waitingJob(42) });
    expect(again.status).toBe(200);
    expect(again.json.note).toMatch(/duplicate delivery/);
    expect((await h.send({ body: waitingJob(43) })).status).toBe(202);
    // The same event for another pool (another subscription URL) is not a duplicate.
    expect((await h.send({ query: '?pool=linux', body: waitingJob(42) })).status).toBe(202);
    expect(h.calls).toHaveLength(3);
  });

  it('redelivery by event id when there is no notification id', async () => {
    const h = harness();
    expect((await h.send({ body: runSample() })).status).toBe(202);
    expect((await h.send({ body: runSample() })).status).toBe(200);
    // stage sample shares the run sample's id but is another event type
    expect((await h.send({ body: stageSample() })).status).toBe(202);
  });
});

describe('servicehook: 4xx a sender can fix', () => {
  it('401 without credentials, with WWW-Authenticate', async () => {
    const h = harness();
    const res = await h.send({ headers: json, body: waitingJob() });
    expect(res.status).toBe(401);
    expect(new Headers(res.headers as Record<string, string>).get('www-authenticate')).toBe(
      'Basic realm="azp-aci-autoscaler", charset="UTF-8"',
    );
    expect(h.calls).toHaveLength(0);
  });

  it.each([
    ['wrong password', `Basic ${Buffer.from(`${USER}:nope`).toString('base64')}`],
    ['wrong user', `Basic ${Buffer.from(`someone:${PASS}`).toString('base64')}`],
    ['password prefix', `Basic ${Buffer.from(`${USER}:${PASS.slice(0, -1)}`).toString('base64')}`],
    ['bearer scheme', `Bearer ${PASS}`],
    ['garbage', 'Basic !!!'],
    ['no colon', `Basic ${Buffer.from(`${USER}${PASS}`).toString('base64')}`],
  ])('401 for %s', async (_name, authorization) => {
    const h = harness();
    const res = await h.send({ headers: { ...json, authorization }, body: waitingJob() });
    expect(res.status).toBe(401);
    expect(h.calls).toHaveLength(0);
  });

  it.each([
    ['not set', { WEBHOOK_USERNAME: undefined, WEBHOOK_PASSWORD: undefined }],
    [
      'a Key Vault reference not resolved yet',
      { WEBHOOK_PASSWORD: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/hook/)' },
    ],
  ])('503 + Retry-After and a clear log line when the webhook credentials are %s', async (_name, over) => {
    const h = harness({ settings: settings(over) });
    const res = await h.send({ body: waitingJob() });
    expect(res.status).toBe(503);
    expect(new Headers(res.headers as Record<string, string>).get('retry-after')).toBe('30');
    expect(
      h.logger.lines.some(
        (l) => l.startsWith('error') && l.includes('WEBHOOK_USERNAME and WEBHOOK_PASSWORD are not set'),
      ),
    ).toBe(true);
    expect(h.calls).toHaveLength(0);
  });

  it('400 for malformed JSON, without echoing the body', async () => {
    const h = harness();
    const res = await h.send({ body: `{"eventType": "${PASS}", oops` });
    expect(res.status).toBe(400);
    expect(res.json.note).toMatch(/not valid JSON/);
    expect(JSON.stringify(res.json)).not.toContain(PASS);
  });

  it('400 for an empty body', async () => {
    const h = harness();
    expect((await h.send({ body: '' })).status).toBe(400);
    expect(h.calls).toHaveLength(0);
  });

  it.each([
    ['a JSON array', '[]'],
    ['a JSON string', '"hello"'],
    ['null', 'null'],
  ])('200 with a note for %s (valid credentials, a shape we do not know)', async (_name, body) => {
    const h = harness();
    const res = await h.send({ body });
    expect(res.status).toBe(200);
    expect(res.json.note).toMatch(/^ignored: /);
    expect(h.calls).toHaveLength(0);
  });

  it('200 with the failing fields named when the payload does not fit the schema (no probation for drift)', async () => {
    const h = harness();
    const p = waitingJob();
    delete p.eventType;
    (p.resource!.job as Record<string, unknown>).state = 42;
    const res = await h.send({ body: p });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accepted: false });
    expect(res.json.note).toMatch(/eventType: /);
    expect(res.json.note).toMatch(/resource\.job\.state: /);
    expect(h.calls).toHaveLength(0);
  });

  it('405 for other methods, with Allow: POST', async () => {
    const h = harness();
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const res = await h.send({ method, body: method === 'GET' ? undefined : waitingJob() });
      expect(res.status).toBe(405);
      expect(new Headers(res.headers as Record<string, string>).get('allow')).toBe('POST');
    }
    expect(h.calls).toHaveLength(0);
  });

  it('413 over the size limit by Content-Length (body not read) and by actual size', async () => {
    const h = harness({ maxBodyBytes: 4096 });
    const big = waitingJob();
    big.padding = 'x'.repeat(5000);
    const text = JSON.stringify(big);
    const byLength = await h.send({
      headers: { authorization: AUTH, ...json, 'content-length': String(Buffer.byteLength(text)) },
      body: text,
    });
    expect(byLength.status).toBe(413);
    const byBody = await h.send({ body: text });
    expect(byBody.status).toBe(413);
    expect(h.calls).toHaveLength(0);
    // The default limit is Azure DevOps' own (2 MiB): a 1.9 MiB payload is accepted.
    const large = waitingJob(77);
    large.padding = 'x'.repeat(1_990_000);
    expect((await harness().send({ body: large })).status).toBe(202);
    large.padding = 'x'.repeat(2 * 1024 * 1024);
    expect((await harness().send({ body: large })).status).toBe(413);
  });

  it('415 for a non-JSON or missing content type', async () => {
    const h = harness();
    const variants: Record<string, string>[] = [
      { authorization: AUTH, 'content-type': 'text/plain' },
      { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      { authorization: AUTH },
    ];
    for (const headers of variants) {
      const res = await h.send({ headers, body: JSON.stringify(waitingJob()) });
      expect(res.status).toBe(415);
    }
    expect(h.calls).toHaveLength(0);
  });
});

describe('servicehook: 503 (+ Retry-After) only for our own trouble', () => {
  it('503 (transient for Azure DevOps, no probation) when the runtime cannot start', async () => {
    const h = harness({
      getRuntime: async () => Promise.reject(new Error('Invalid settings (1 problem): POOLS: is required')),
    });
    const res = await h.send({ body: waitingJob() });
    expect(res.status).toBe(503);
    expect(h.contextLines.join('\n')).toMatch(/POOLS: is required/);
  });

  it('503 when the handler itself breaks (e.g. a logger that throws)', async () => {
    const ctx: ServiceHookContext = {
      settings: settings(),
      seen: new DedupCache(),
      queue: { send: async () => {} },
      logger: {
        info: () => {
          throw new Error('sink down');
        },
        warn: () => {},
        error: () => {},
        child() {
          return this;
        },
      },
    };
    const res = await handleServiceHook(
      {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        query: {},
        bodyText: JSON.stringify(waitingJob()),
      },
      ctx,
    );
    expect(res.status).toBe(503);
  });
});

describe('no secrets in answers or logs', () => {
  it('neither the password nor the Authorization value appears anywhere', async () => {
    const h = harness();
    const bad = `Basic ${Buffer.from(`${USER}:${PASS}x`).toString('base64')}`;
    const bodies = [
      await h.send({ body: waitingJob() }),
      await h.send({ headers: { ...json, authorization: bad }, body: waitingJob() }),
      await h.send({ body: `{"x":"${PASS}"` }),
    ].map((r) => JSON.stringify(r));
    const all = [...bodies, ...h.logger.lines, ...h.contextLines].join('\n');
    expect(all).not.toContain(PASS);
    expect(all).not.toContain(AUTH.slice(6));
    expect(all).not.toContain(bad.slice(6));
  });
});

describe('the servicehook and status handlers the functions register', () => {
  it('serviceHookHandler answers through getRuntime() from the app settings', async () => {
    const env = {
      AZP_URL: 'https://dev.azure.com/fabrikamfiber',
      KEY_VAULT_URL: 'https://kv-test.vault.azure.net',
      AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000001',
      ACI_RESOURCE_GROUP: 'rg-agents',
      ACI_LOCATION: 'westeurope',
      WEBHOOK_USERNAME: USER,
      WEBHOOK_PASSWORD: PASS,
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      POOLS: JSON.stringify([{ name: 'lin', pool: 'Linux', image: 'example/agent:1' }]),
    };
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    try {
      const { serviceHookHandler } = await import('../../src/app/handlers.js');
      const ctx = () => new InvocationContext({ invocationId: 'w', functionName: 'servicehook', logHandler: () => {} });
      const get = await serviceHookHandler(new HttpRequest({ method: 'GET', url: 'https://x/api/servicehook' }), ctx());
      expect(get.status).toBe(405);
      const unauth = await serviceHookHandler(
        new HttpRequest({
          method: 'POST',
          url: 'https://x/api/servicehook',
          headers: json,
          body: { string: JSON.stringify(waitingJob()) },
        }),
        ctx(),
      );
      expect(unauth.status).toBe(401);
      const unknownPool = await serviceHookHandler(
        new HttpRequest({
          method: 'POST',
          url: 'https://x/api/servicehook?pool=other',
          headers: { ...json, authorization: AUTH },
          body: { string: JSON.stringify(waitingJob()) },
        }),
        ctx(),
      );
      expect(unknownPool.status).toBe(200);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('status returns runtime.status() as JSON, 503 when it fails', async () => {
    const logger = memoryLogger();
    const ctx = new InvocationContext({ invocationId: 's', functionName: 'status', logHandler: () => {} });
    const req = new HttpRequest({ method: 'GET', url: 'https://x/api/status' });
    const ok = await makeStatusHandler(async () => ({
      logger,
      status: async () => ({ pools: [{ pool: 'Linux', queued: 2 }] }),
    }))(req, ctx);
    expect(ok).toMatchObject({ status: 200, jsonBody: { pools: [{ pool: 'Linux', queued: 2 }] } });
    const bad = await makeStatusHandler(async () => ({
      logger,
      status: async () => {
        throw new Error('azdo down');
      },
    }))(req, ctx);
    expect(bad.status).toBe(503);
  });
});

describe('helpers', () => {
  it('parseBasic / checkBasicAuth', () => {
    expect(parseBasic(AUTH)).toEqual({ username: USER, password: PASS });
    expect(parseBasic(`basic   ${Buffer.from('a:b:c').toString('base64')}  `)).toEqual({
      username: 'a',
      password: 'b:c',
    });
    expect(parseBasic(undefined)).toBeUndefined();
    expect(checkBasicAuth(AUTH, { username: USER, password: PASS })).toBe('ok');
    expect(checkBasicAuth(undefined, { username: USER, password: PASS })).toBe('missing');
    expect(checkBasicAuth(AUTH, { username: USER })).toBe('unconfigured');
    expect(checkBasicAuth('Basic Og==', { username: USER, password: PASS })).toBe('invalid');
  });

  it('orgKey / matchOrg', () => {
    expect(orgKey('https://dev.azure.com/Org/')).toBe('dev.azure.com/org');
    expect(orgKey('https://org.visualstudio.com/')).toBe('dev.azure.com/org');
    expect(orgKey('https://vssps.dev.azure.com/org/')).toBe('dev.azure.com/org');
    expect(orgKey('https://tfs.example.com/tfs/DefaultCollection/')).toBe('tfs.example.com/tfs/defaultcollection');
    expect(matchOrg('https://dev.azure.com/org', [undefined, null])).toBe('unknown');
    expect(matchOrg('https://dev.azure.com/org', ['https://org.visualstudio.com/'])).toBe('ours');
    expect(matchOrg('https://dev.azure.com/org', ['https://dev.azure.com/other/'])).toBe('other');
    expect(matchOrg('https://tfs.example.com/tfs/Coll', ['https://tfs.example.com/tfs/coll/'])).toBe('ours');
  });

  it('isJsonContentType / selectPools', () => {
    expect(isJsonContentType('application/json; charset=utf-8')).toBe(true);
    expect(isJsonContentType('application/vnd.azure+json')).toBe(true);
    expect(isJsonContentType('text/plain')).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
    expect(selectPools(['A', 'b'], undefined)).toEqual({ pools: ['A', 'b'], unknown: [] });
    expect(selectPools(['A', 'b'], ' a , ,B,a,zz')).toEqual({ pools: ['A', 'b'], unknown: ['zz'] });
  });

  it('DedupCache expires after the TTL and evicts the oldest beyond max', () => {
    let now = 0;
    const d = new DedupCache({ max: 2, ttlMs: 1000, now: () => now });
    expect(d.seen('a')).toBe(false);
    expect(d.seen('a')).toBe(true);
    now = 1000;
    expect(d.seen('a')).toBe(false); // expired, recorded again
    d.add('b');
    d.add('c');
    expect(d.size).toBe(2);
    expect(d.has('a')).toBe(false); // evicted
    expect(d.has('c')).toBe(true);
  });
});

describe('routeDelivery (pure: which pools a delivery is for, or why none)', () => {
  const envelope = (p: Payload) => envelopeSchema.parse(p);

  it('queues a waiting job for the pools ?pool= names, with the unknown ones noted and logged', () => {
    const r = routeDelivery(envelope(waitingJob()), 'linux,nope', settings());
    expect(r).toMatchObject({ queue: true, pools: ['Linux'], state: 'waiting' });
    expect(r.queue && r.unknownNote).toBe('unknown pool(s) ignored: nope; configured: Linux, windows-pool');
    expect(r.logs).toEqual([
      {
        level: 'warn',
        message: 'service hook names pools that are not configured',
        fields: { unknown: ['nope'], configured: ['Linux', 'windows-pool'] },
      },
    ]);
  });

  it('answers without a pass: a running job where no pool keeps standby agents, another organization', () => {
    const running = jobSample();
    running.resource!.job!.state = 'running';
    expect(routeDelivery(envelope(running), undefined, settings())).toMatchObject({
      queue: false,
      pools: ['Linux', 'windows-pool'],
      note: "job state 'running' needs no scaling (no standby agents configured)",
      logs: [],
    });
    const elsewhere = waitingJob();
    elsewhere.resourceContainers!.account!.baseUrl = 'https://dev.azure.com/contoso/';
    const other = routeDelivery(envelope(elsewhere), undefined, settings());
    expect(other).toMatchObject({ queue: false, pools: [], logs: [{ level: 'warn' }] });
  });
});
