/**
 * A fake Azure DevOps organization that serves only what infra/agent/start.sh downloads:
 *
 * - `GET {org}/_apis/distributedtask/packages/agent?platform=…&top=1` with HTTP Basic auth
 *   (any user name, the PAT as password), answering in the shape of
 *   contracts/azdo/examples/packages.agent.linux-x64.captured-2018.json:
 *   `{count, value: [PackageMetadata]}`, newest first;
 * - the package itself at the `downloadUrl` it hands out (no auth, like the public CDN).
 *
 * It listens on 127.0.0.1 only and records every request (without credentials).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PackageVersion {
  major: number;
  minor: number;
  patch: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** `none`, `valid` (Basic with the expected PAT) or `invalid`. */
  auth: 'none' | 'valid' | 'invalid';
}

export interface FakeAzdo {
  /** The organization URL, e.g. http://127.0.0.1:PORT/fakeorg (what AZP_URL is set to). */
  orgUrl: string;
  /** Where the package is served. */
  downloadUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface FakeAzdoOptions {
  /** The PAT that the packages endpoint accepts. */
  token: string;
  /** The agent package (.tar.gz) to serve. */
  tarball: Buffer;
  version?: PackageVersion;
  platform?: string;
}

const ORG = 'fakeorg';

function classifyAuth(header: string | undefined, token: string): RecordedRequest['auth'] {
  if (!header) return 'none';
  const m = /^Basic\s+(\S+)$/i.exec(header);
  if (!m?.[1]) return 'invalid';
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && decoded.slice(colon + 1) === token ? 'valid' : 'invalid';
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export async function startFakeAzdo(options: FakeAzdoOptions): Promise<FakeAzdo> {
  const version = options.version ?? { major: 4, minor: 270, patch: 0 };
  const platform = options.platform ?? 'linux-x64';
  const v = `${version.major}.${version.minor}.${version.patch}`;
  const fileName = `vsts-agent-${platform}-${v}.tar.gz`;
  const packagePath = `/downloads/agent/${v}/${fileName}`;
  const requests: RecordedRequest[] = [];
  let origin = '';

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const auth = classifyAuth(req.headers.authorization, options.token);
    requests.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), auth });

    if (req.method === 'GET' && url.pathname === `/${ORG}/_apis/distributedtask/packages/agent`) {
      if (auth !== 'valid') {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="https://fake.invalid/"' });
        res.end();
        return;
      }
      const requested = url.searchParams.get('platform');
      const value =
        requested === platform
          ? [
              {
                type: 'agent',
                platform,
                createdOn: '2026-01-15T18:30:02.527Z',
                version,
                downloadUrl: `${origin}${packagePath}`,
                infoUrl: 'https://go.microsoft.com/fwlink/?LinkId=798199',
                filename: fileName,
              },
            ]
          : [];
      sendJson(res, 200, { count: value.length, value });
      return;
    }
    if (req.method === 'GET' && url.pathname === packagePath) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': options.tarball.length });
      res.end(options.tarball);
      return;
    }
    sendJson(res, 404, { message: `fake Azure DevOps: no route for ${req.method ?? ''} ${url.pathname}` });
  };

  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;

  return {
    orgUrl: `${origin}/${ORG}`,
    downloadUrl: `${origin}${packagePath}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
