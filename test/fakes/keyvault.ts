/**
 * Fake Key Vault (secrets data plane) over HTTPS on 127.0.0.1.
 * An unauthenticated request gets exactly the recorded 401 challenge of
 * contracts/keyvault/examples/challenge-401.recorded.json; an authenticated
 * GET /secrets/{name}[/{version}] answers the GetSecret 200 shape (SecretBundle).
 * The SDK client must use `disableChallengeResourceVerification: true` (the challenge names
 * https://vault.azure.net, not 127.0.0.1) — src/azure/clients.ts does that for non-vault hosts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { contractsDir } from '../contract/paths.js';
import type { TestCert } from './tls.js';

interface Recorded {
  response: { status: number; body: unknown; headers: [string, string][] };
}

export function recordedChallenge(): Recorded['response'] {
  const file = `${contractsDir()}/keyvault/examples/challenge-401.recorded.json`;
  return (JSON.parse(readFileSync(file, 'utf8')) as Recorded).response;
}

export interface KvRequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Whether a Bearer token was sent (the token is never recorded). */
  authorized: boolean;
  time: number;
  status?: number;
}

export interface KvFault {
  /** 500/503 = vault down, 403 = access denied, 404, … */
  status: number;
  code?: string;
  message?: string;
  /** Default Infinity (until clearFaults). */
  times?: number;
  /** Also fault the unauthenticated challenge request (default false: the challenge still answers). */
  includeChallenge?: boolean;
}

export interface FakeKeyVault {
  /** https://127.0.0.1:PORT — use as KEY_VAULT_URL. */
  readonly url: string;
  readonly requests: KvRequestRecord[];
  /** Secret GETs that were answered 200 (i.e. real reads, not challenges). */
  secretReads(): number;
  /** `expires`: the secret's `exp` attribute (SecretAttributes.exp, seconds since 1970, in secrets.2026-04-01.json). */
  setSecret(name: string, value: string, opts?: { expires?: Date }): void;
  /** The requests that could change state (anything but GET). */
  writes(): KvRequestRecord[];
  deleteSecret(name: string): void;
  inject(fault: KvFault): void;
  clearFaults(): void;
  /** Simulate the vault being unreachable: every request's socket is destroyed. */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export interface FakeKeyVaultOptions {
  cert: TestCert;
  secrets?: Record<string, string>;
  /** When set, only this bearer token is accepted (401 challenge otherwise). */
  token?: string;
}

const SECRET_PATH = /^\/secrets\/([0-9a-zA-Z-]+)(?:\/([0-9a-f]{32}))?\/?$/;

export async function startFakeKeyVault(opts: FakeKeyVaultOptions): Promise<FakeKeyVault> {
  const challenge = recordedChallenge();
  const secrets = new Map<string, { value: string; version: string; created: number; exp?: number }>();
  const put = (name: string, value: string, o: { expires?: Date } = {}) =>
    secrets.set(name, {
      value,
      version: randomBytes(16).toString('hex'),
      created: Math.floor(Date.now() / 1000),
      ...(o.expires ? { exp: Math.floor(o.expires.getTime() / 1000) } : {}),
    });
  for (const [k, v] of Object.entries(opts.secrets ?? {})) put(k, v);
  const requests: KvRequestRecord[] = [];
  let faults: (KvFault & { left: number })[] = [];
  let down = false;
  let base = '';

  const server: Server = createServer({ key: opts.cert.key, cert: opts.cert.cert }, (req, res) => {
    const u = new URL(req.url ?? '/', 'https://127.0.0.1');
    const auth = req.headers.authorization ?? '';
    const rec: KvRequestRecord = {
      method: req.method ?? 'GET',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      authorized: /^Bearer \S+/.test(auth),
      time: Date.now(),
    };
    requests.push(rec);
    if (down) {
      rec.status = 0;
      req.socket.destroy();
      return;
    }
    const send = (status: number, body: unknown, headers: [string, string][] = []) => {
      rec.status = status;
      const text = JSON.stringify(body);
      const h: Record<string, string> = {
        'Content-Type': 'application/json; charset=utf-8',
        'x-ms-request-id': randomUUID(),
        'x-ms-keyvault-service-version': '1.9.0.0',
      };
      for (const [k, v] of headers) if (k.toLowerCase() !== 'content-length' && k.toLowerCase() !== 'date') h[k] = v;
      h['Content-Length'] = String(Buffer.byteLength(text));
      res.writeHead(status, h);
      res.end(text);
    };
    const fault = faults.find((f) => f.left > 0 && (rec.authorized || f.includeChallenge));
    req.resume();
    req.on('end', () => {
      if (fault) {
        fault.left -= 1;
        return send(fault.status, {
          error: {
            code: fault.code ?? (fault.status === 403 ? 'Forbidden' : 'InternalServerError'),
            message: fault.message ?? `Fault ${fault.status}`,
          },
        });
      }
      if (!rec.authorized || (opts.token && auth !== `Bearer ${opts.token}`)) {
        return send(challenge.status, challenge.body, challenge.headers);
      }
      if (!u.searchParams.get('api-version')) {
        return send(400, { error: { code: 'BadParameter', message: 'api-version is required' } });
      }
      const m = SECRET_PATH.exec(u.pathname);
      if (!m || rec.method !== 'GET')
        return send(404, { error: { code: 'NotFound', message: `No route for ${rec.method} ${u.pathname}` } });
      const name = m[1] ?? '';
      const s = secrets.get(name);
      if (!s || (m[2] && m[2] !== s.version)) {
        return send(404, {
          error: {
            code: 'SecretNotFound',
            message: `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
          },
        });
      }
      return send(200, {
        value: s.value,
        id: `${base}/secrets/${name}/${s.version}`,
        attributes: {
          enabled: true,
          created: s.created,
          updated: s.created,
          ...(s.exp !== undefined ? { exp: s.exp } : {}),
          recoveryLevel: 'Recoverable+Purgeable',
          recoverableDays: 90,
        },
        tags: {},
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    requests,
    secretReads: () => requests.filter((r) => r.status === 200).length,
    setSecret: put,
    writes: () => requests.filter((r) => r.method !== 'GET'),
    deleteSecret: (name) => {
      secrets.delete(name);
    },
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? Infinity });
    },
    clearFaults() {
      faults = [];
    },
    setDown(d) {
      down = d;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
