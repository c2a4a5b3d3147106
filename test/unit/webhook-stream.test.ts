/**
 * Authentication before any byte of the body, and a streaming size limit: a 30 MB chunked body
 * (produced lazily, as a socket would) through the real HttpRequest with a stream body. Prints the
 * heap and RSS deltas; asserts on bytes pulled from the stream (deterministic), not on timings.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { memoryLogger } from '../../src/util/log.js';
import { makeServiceHookHandler } from '../../src/webhook/http.js';

const USER = 'azp-hook';
const PASS = 'stream-test-webhook-password';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const TOTAL = 30 * 1024 * 1024;
const CHUNK = 64 * 1024;

const settings = loadSettings({
  AZP_URL: 'https://dev.azure.com/fabrikamfiber',
  WEBHOOK_USERNAME: USER,
  WEBHOOK_PASSWORD: PASS,
  POOLS: JSON.stringify([{ name: 'lin', pool: 'Linux', image: 'example/agent:1' }]),
});

/** A 30 MB body made chunk by chunk on demand; `pulled` counts what the reader took. */
function lazyBody() {
  const counter = { pulled: 0 };
  const chunk = new Uint8Array(CHUNK).fill(0x20);
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled >= TOTAL) return controller.close();
      counter.pulled += CHUNK;
      controller.enqueue(chunk.slice());
    },
  });
  return { stream, counter };
}

async function post(headers: Record<string, string>) {
  const { stream, counter } = lazyBody();
  const sent: unknown[] = [];
  const handler = makeServiceHookHandler(async () => ({
    settings,
    logger: memoryLogger(),
    handoff: { send: async (r) => void sent.push(r) },
  }));
  const nativeRequest = new Request('https://app.example/api/servicehook', {
    method: 'POST',
    headers,
    body: stream,
    duplex: 'half',
  } as RequestInit);
  global.gc?.();
  const before = process.memoryUsage();
  const res = await handler(
    new HttpRequest({ nativeRequest } as unknown as ConstructorParameters<typeof HttpRequest>[0]),
    new InvocationContext({ invocationId: 's', functionName: 'servicehook', logHandler: () => {} }),
  );
  const after = process.memoryUsage();
  return {
    res,
    pulled: counter.pulled,
    heapDelta: after.heapUsed - before.heapUsed,
    rssDelta: after.rss - before.rss,
    sent,
  };
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MB`;

describe('servicehook body streaming', () => {
  it('an unauthenticated 30 MB chunked body: 401 before a byte is read', async () => {
    const r = await post({ 'content-type': 'application/json' });
    console.log(
      `unauthenticated 30 MB body: status ${r.res.status}, read ${mb(r.pulled)}, heap delta ${mb(r.heapDelta)}, rss delta ${mb(r.rssDelta)}`,
    );
    expect(r.res.status).toBe(401);
    // The Request may prefetch a chunk or two into its queue; the handler reads none.
    expect(r.pulled).toBeLessThan(1024 * 1024);
    expect(r.sent).toHaveLength(0);
  });

  it('an authenticated 30 MB chunked body: 413 after at most the 2 MiB limit plus one chunk', async () => {
    const r = await post({ 'content-type': 'application/json', authorization: AUTH });
    console.log(
      `authenticated 30 MB body: status ${r.res.status}, read ${mb(r.pulled)}, heap delta ${mb(r.heapDelta)}, rss delta ${mb(r.rssDelta)}`,
    );
    expect(r.res.status).toBe(413);
    expect(r.pulled).toBeLessThanOrEqual(2 * 1024 * 1024 + 2 * CHUNK);
    expect(r.sent).toHaveLength(0);
  });

  it('a declared Content-Length over the limit: 413 without reading', async () => {
    const r = await post({ 'content-type': 'application/json', authorization: AUTH, 'content-length': String(TOTAL) });
    expect(r.res.status).toBe(413);
    expect(r.pulled).toBeLessThan(1024 * 1024);
  });
});
