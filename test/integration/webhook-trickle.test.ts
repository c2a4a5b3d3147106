/**
 * An authenticated service-hook body that trickles in over a real socket (issue 21, finding 5):
 * the body read has a deadline, and the answer is 408, which Azure DevOps retries without putting
 * the subscription on probation (contracts/servicehooks/README.md: 408/502/503/504 are transient).
 *
 * A loopback HTTP server hands each request, its body as the socket's stream, to the real handler
 * through the real HttpRequest of @azure/functions; the client is a raw TCP socket that sends the
 * headers and then one byte every 100 ms.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import type { ReconcileRequest } from '../../src/ports/index.js';
import { memoryLogger } from '../../src/util/log.js';
import { makeServiceHookHandler } from '../../src/webhook/http.js';

const USER = 'azp-hook';
const PASS = 'trickle-test-webhook-password';
const AUTH = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;
const settings = loadSettings({
  AZP_URL: 'https://dev.azure.com/fabrikamfiber',
  WEBHOOK_USERNAME: USER,
  WEBHOOK_PASSWORD: PASS,
  POOLS: JSON.stringify([{ name: 'lin', pool: 'Linux', image: 'example/agent:1' }]),
});
const BODY = JSON.stringify({
  id: '6872b2c4-3f5b-4c35-9c53-9b4a5e0f7c10',
  eventType: 'ms.vss-pipelines.job-state-changed-event',
  publisherId: 'pipelines',
  resource: { job: { id: 'f4f2a2f0-2c7e-4a3f-9a53-0a0e7e3c7d11', state: 'waiting' } },
  resourceContainers: { account: { baseUrl: 'https://dev.azure.com/fabrikamfiber/' } },
  createdDate: '2026-12-07T10:00:00Z',
});

const sent: ReconcileRequest[] = [];
let server: http.Server;
let port: number;

beforeAll(async () => {
  const handler = makeServiceHookHandler(
    async () => ({ settings, logger: memoryLogger(), handoff: { send: async (r) => void sent.push(r) } }),
    { bodyTimeoutMs: 1000 },
  );
  server = http.createServer((req, res) => {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    const nativeRequest = new Request(`http://127.0.0.1${req.url ?? '/'}`, {
      method: req.method,
      headers,
      body: Readable.toWeb(req) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit);
    void handler(
      new HttpRequest({ nativeRequest } as unknown as ConstructorParameters<typeof HttpRequest>[0]),
      new InvocationContext({ invocationId: 't', functionName: 'servicehook', logHandler: () => {} }),
    ).then((r) => {
      res.writeHead(r.status ?? 200, { 'content-type': 'application/json', ...(r.headers as Record<string, string>) });
      res.end(JSON.stringify(r.jsonBody ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** POSTs BODY over a raw socket, `delayMs` between bytes (0: all at once); its status, or 'no answer' after `waitMs`. */
function trickle(delayMs: number, waitMs: number): Promise<{ status: string; at: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1');
    let timer: NodeJS.Timeout | undefined;
    let answer = '';
    const done = (status: string) => {
      clearTimeout(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ status, at: Date.now() - started });
    };
    const deadline = setTimeout(() => done('no answer'), waitMs);
    socket.on('data', (d) => {
      answer += d.toString('latin1');
      const line = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (line) done(line[1]!);
    });
    socket.on('error', () => undefined);
    socket.write(
      `POST /api/servicehook HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
        `authorization: ${AUTH}\r\ncontent-length: ${Buffer.byteLength(BODY)}\r\n\r\n`,
    );
    if (delayMs === 0) {
      socket.write(BODY);
      return;
    }
    let i = 0;
    const next = () => {
      if (i >= BODY.length || socket.destroyed) return;
      socket.write(BODY[i++]!);
      timer = setTimeout(next, delayMs);
    };
    next();
  });
}

describe('a trickling authenticated body', () => {
  it('is answered 408 (retried without probation) once its deadline passes; nothing is queued', async () => {
    const r = await trickle(100, 5000);
    expect(r.status).toBe('408');
    expect(r.at).toBeLessThan(4000);
    expect(sent).toHaveLength(0);
  });

  it('a body that arrives at once is still accepted (202)', async () => {
    const r = await trickle(0, 5000);
    expect(r.status).toBe('202');
    expect(sent).toHaveLength(1);
  });
});
