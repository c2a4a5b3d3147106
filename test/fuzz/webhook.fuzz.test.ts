/**
 * Property-based fuzz of the service-hook endpoint: whatever a sender sends (method, headers,
 * content type, body, query), the handler never throws, never answers 5xx, and never requests a
 * pass without valid credentials. Seeds are printed by fast-check on failure; FUZZ_RUNS scales it.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { memoryLogger } from '../../src/util/log.js';
import { DedupCache } from '../../src/webhook/dedup.js';
import { handleServiceHook, type ServiceHookContext } from '../../src/webhook/handler.js';
import { makeServiceHookHandler } from '../../src/webhook/http.js';
import { readContractJson } from '../helpers/contracts.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const USER = 'azp-hook';
const PASS = 'fuzz-webhook-password-1';
const GOOD_AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const SENDER_STATUSES = new Set([200, 202, 400, 401, 405, 413, 415]);

const settings = loadSettings({
  AZP_URL: 'https://dev.azure.com/fabrikamfiber',
  WEBHOOK_USERNAME: USER,
  WEBHOOK_PASSWORD: PASS,
  POOLS: JSON.stringify([
    { name: 'lin', pool: 'Linux', image: 'example/agent:1' },
    { name: 'win', pool: 'windows', image: 'example/agent:1', os: 'Windows' },
  ]),
});

const samples = [
  'job-state-changed.events-md.json',
  'run-state-changed.events-md.json',
  'stage-state-changed.events-md.json',
].map((f) => readContractJson<Record<string, unknown>>(`servicehooks/${f}`));

/** Set `value` at a path inside a clone of `obj`, creating objects on the way. */
function setPath(obj: unknown, path: readonly string[], value: unknown): unknown {
  const root = structuredClone(obj) as Record<string, unknown>;
  let cur: Record<string, unknown> = root;
  path.forEach((k, i) => {
    if (i === path.length - 1) cur[k] = value;
    else {
      const next = cur[k];
      cur[k] = typeof next === 'object' && next !== null ? next : {};
      cur = cur[k] as Record<string, unknown>;
    }
  });
  return root;
}

const paths = fc.constantFrom(
  ['eventType'],
  ['id'],
  ['notificationId'],
  ['subscriptionId'],
  ['resource'],
  ['resource', 'job'],
  ['resource', 'job', 'state'],
  ['resource', 'run', 'state'],
  ['resource', 'stage'],
  ['resourceContainers'],
  ['resourceContainers', 'account', 'baseUrl'],
  ['resourceContainers', 'collection', 'baseUrl'],
  ['resourceContainers', 'account'],
  ['__proto__'],
  ['constructor', 'prototype'],
);

const mutatedSample = fc
  .tuple(fc.constantFrom(...samples), fc.array(fc.tuple(paths, fc.jsonValue({ maxDepth: 2 })), { maxLength: 3 }))
  .map(([s, muts]) => JSON.stringify(muts.reduce<unknown>((acc, [p, v]) => setPath(acc, p, v), s)));

const body = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  mutatedSample,
  mutatedSample.map((s) => s.slice(0, Math.floor(s.length / 2))), // truncated
  mutatedSample.map((s) => `\uFEFF${s}`),
  fc.constantFrom(...samples).map((s) => JSON.stringify(s)),
  fc.constant(JSON.stringify({ ...samples[0], padding: 'x'.repeat(300_000) })),
);

const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant(GOOD_AUTH),
  fc.constant(GOOD_AUTH.toLowerCase()),
  fc.string({ maxLength: 80 }),
  fc
    .tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 30 }))
    .map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
  fc.string({ maxLength: 40 }).map((p) => `Basic ${Buffer.from(`${USER}:${p}`).toString('base64')}`),
  fc.constant(`Bearer ${PASS}`),
);

const contentType = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/vnd.x+json',
    '',
  ),
  fc.string({ maxLength: 40 }),
);

const contentLength = fc.oneof(
  fc.constant(undefined),
  fc.nat().map(String),
  fc.string({ maxLength: 12 }),
  fc.constant('99999999999999999999'),
);

const method = fc.oneof(
  fc.constantFrom('POST', 'post', 'GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'),
  fc.string({ maxLength: 10 }),
);

const extraHeaders = fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 40 }), {
  maxKeys: 4,
});

const query = fc.record({
  pool: fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('linux', 'Linux,windows', ',,,', 'nope')), {
    nil: undefined,
  }),
});

const delivery = fc.record({ method, authorization, contentType, contentLength, extraHeaders, body, query });
type Delivery = typeof delivery extends fc.Arbitrary<infer T> ? T : never;

function headersOf(d: Delivery): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.extraHeaders)) h[k] = v;
  if (d.authorization !== undefined) h.authorization = d.authorization;
  if (d.contentType !== undefined) h['content-type'] = d.contentType;
  if (d.contentLength !== undefined) h['content-length'] = d.contentLength;
  return h;
}

describe('service hook fuzz', () => {
  it('handleServiceHook: never throws, never 5xx, never requests a pass without valid credentials', async () => {
    await fc.assert(
      fc.asyncProperty(delivery, async (d) => {
        const calls: string[][] = [];
        const ctx: ServiceHookContext = {
          settings,
          seen: new DedupCache(),
          logger: memoryLogger(),
          queue: { send: async ({ pools }) => void calls.push(pools) },
        };
        const res = await handleServiceHook(
          { method: d.method, headers: headersOf(d), query: d.query, bodyText: d.body },
          ctx,
        );
        expect(SENDER_STATUSES.has(res.status)).toBe(true);
        expect(typeof res.body.note).toBe('string');
        if (calls.length > 0) {
          expect(d.authorization).toBe(GOOD_AUTH);
          expect(res.status).toBe(202);
        }
        if (d.authorization !== GOOD_AUTH && d.method.toUpperCase() === 'POST') expect(res.status).toBe(401);
        if (res.status === 202) expect(calls).toHaveLength(1);
      }),
      { numRuns: RUNS },
    );
  });

  it('through HttpRequest/InvocationContext: never throws, never 5xx, no pass on bad auth', async () => {
    const calls: { pools: readonly string[] }[] = [];
    const handler = makeServiceHookHandler(async () => ({
      settings,
      logger: memoryLogger(),
      handoff: { send: async ({ pools }) => void calls.push({ pools }) },
    }));
    // Methods the Fetch Request constructor accepts with a body, and header names it accepts.
    const httpDelivery = delivery.filter(
      (d) =>
        /^(POST|PUT|PATCH|DELETE|GET)$/i.test(d.method) &&
        Object.keys(headersOf(d)).every((k) => /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)),
    );
    await fc.assert(
      fc.asyncProperty(httpDelivery, async (d) => {
        let req: HttpRequest;
        try {
          const m = d.method.toUpperCase();
          req = new HttpRequest({
            method: m,
            url: `https://app.example/api/servicehook?${new URLSearchParams(d.query.pool === undefined ? {} : { pool: d.query.pool }).toString()}`,
            headers: Object.fromEntries(
              Object.entries(headersOf(d)).filter(([k]) => k.toLowerCase() !== 'content-length'),
            ),
            ...(d.body !== undefined && m !== 'GET' ? { body: { string: d.body } } : {}),
          });
        } catch {
          return; // not representable as an HTTP request (invalid header value etc.)
        }
        const before = calls.length;
        const res = await handler(
          req,
          new InvocationContext({ invocationId: 'fuzz', functionName: 'servicehook', logHandler: () => {} }),
        );
        expect(SENDER_STATUSES.has(res.status ?? 200)).toBe(true);
        if (calls.length > before) expect(d.authorization).toBe(GOOD_AUTH);
      }),
      { numRuns: Math.ceil(RUNS / 5) },
    );
  });
});
