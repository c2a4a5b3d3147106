/**
 * An HTTP proxy on 127.0.0.1 in front of one service (Azurite in the fencing tests), whose answers
 * can be broken on purpose, the way storage fails for one instance in production:
 *   'pass'    forward every request unchanged (the default);
 *   'refuse'  close the connection without an answer (unreachable / reset);
 *   '503'     answer 503 ServerBusy in Azure Storage's error format, without forwarding;
 *   'hang'    accept the request and never answer (a timeout; the client gives up).
 * The mode applies to requests as they arrive. `stop()` closes the server and every socket it holds.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | '503' | 'hang';

export interface FaultProxy {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  mode: ProxyMode;
  /** Requests seen per mode (what the client actually went through). */
  seen: Record<ProxyMode, number>;
  stop(): Promise<void>;
}

const SERVER_BUSY =
  '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is currently unable to receive requests. Please retry your request.</Message></Error>';

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const hung: ServerResponse[] = [];
  const proxy: FaultProxy = {
    url: '',
    port: 0,
    mode: 'pass',
    seen: { pass: 0, refuse: 0, '503': 0, hang: 0 },
    stop: async () => {},
  };

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const mode = proxy.mode;
    proxy.seen[mode]++;
    if (mode === 'refuse') {
      req.socket.destroy();
      return;
    }
    if (mode === 'hang') {
      req.resume();
      hung.push(res);
      return;
    }
    if (mode === '503') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'x-ms-error-code': 'ServerBusy' }).end(SERVER_BUSY);
      return;
    }
    const upstream = http.request(
      { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  proxy.port = (server.address() as AddressInfo).port;
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  proxy.stop = async () => {
    for (const r of hung) r.destroy();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
