/**
 * Start and stop a private Azurite (blob + queue + table) on free loopback ports, in memory.
 *
 *   const azurite = await startAzurite();
 *   ... BlobServiceClient.fromConnectionString(azurite.connectionString) ...
 *   await azurite.stop();
 *
 * Runs `node node_modules/azurite/dist/src/azurite.js --inMemoryPersistence --skipApiVersionCheck`
 * with every host on 127.0.0.1, in a temporary working directory (no __azurite_db files in the
 * repo). `stop()` kills only the process it spawned; if this process exits or dies without calling
 * it, an exit hook and a parent watchdog inside the child end Azurite anyway. Set AZURITE_CONNECTION_STRING to reuse an
 * already running Azurite instead (e.g. one started by .ci/run); `stop()` is then a no-op.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The well-known Azurite development account (public, documented by Microsoft). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  /** Connection string with explicit endpoints: use as AzureWebJobsStorage. */
  connectionString: string;
  blobEndpoint: string;
  queueEndpoint: string;
  tableEndpoint: string;
  blobPort: number;
  queuePort: number;
  tablePort: number;
  /** PID of the spawned process (undefined when reusing AZURITE_CONNECTION_STRING). */
  pid: number | undefined;
  /** Output captured so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface StartAzuriteOptions {
  /** Milliseconds to wait for all three services to listen. Default 20000. */
  timeoutMs?: number;
  /** Attempts with fresh ports when a port was taken between probe and bind. Default 3. */
  attempts?: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const AZURITE_JS = path.join(repoRoot, 'node_modules', 'azurite', 'dist', 'src', 'azurite.js');

export function azuriteConnectionString(blobPort: number, queuePort: number, tablePort: number): string {
  return (
    [
      'DefaultEndpointsProtocol=http',
      `AccountName=${AZURITE_ACCOUNT}`,
      `AccountKey=${AZURITE_KEY}`,
      `BlobEndpoint=http://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT}`,
      `QueueEndpoint=http://127.0.0.1:${queuePort}/${AZURITE_ACCOUNT}`,
      `TableEndpoint=http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT}`,
    ].join(';') + ';'
  );
}

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function fromEnv(cs: string): Azurite {
  const part = (k: string) => new RegExp(`${k}=([^;]+)`, 'i').exec(cs)?.[1] ?? '';
  const port = (u: string) => Number(new URL(u || 'http://127.0.0.1:0').port);
  return {
    connectionString: cs,
    blobEndpoint: part('BlobEndpoint'),
    queueEndpoint: part('QueueEndpoint'),
    tableEndpoint: part('TableEndpoint'),
    blobPort: port(part('BlobEndpoint')),
    queuePort: port(part('QueueEndpoint')),
    tablePort: port(part('TableEndpoint')),
    pid: undefined,
    output: () => '',
    stop: async () => {},
  };
}

async function startOnce(timeoutMs: number): Promise<Azurite> {
  const [blobPort, queuePort, tablePort] = [await freePort(), await freePort(), await freePort()];
  const cwd = mkdtempSync(path.join(tmpdir(), 'azurite-'));
  // A watchdog wraps Azurite: it exits when this process is gone, even if it died without stop().
  const watchdog = [
    `const parent = ${process.pid};`,
    'setInterval(() => { try { process.kill(parent, 0); } catch { process.exit(0); } }, 1000).unref();',
    `process.argv.splice(1, 0, ${JSON.stringify(AZURITE_JS)});`,
    `require(${JSON.stringify(AZURITE_JS)});`,
  ].join('\n');
  const args = [
    '-e',
    watchdog,
    '--',
    '--inMemoryPersistence',
    '--skipApiVersionCheck',
    '--disableProductStyleUrl',
    '--disableTelemetry',
    '--silent',
    '--blobHost',
    '127.0.0.1',
    '--blobPort',
    String(blobPort),
    '--queueHost',
    '127.0.0.1',
    '--queuePort',
    String(queuePort),
    '--tableHost',
    '127.0.0.1',
    '--tablePort',
    String(tablePort),
  ];
  const child: ChildProcess = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  let exited = false;
  const exitedP = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const killOnExit = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (!exited && child.pid !== undefined) {
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!exited) child.kill('SIGKILL');
      }, 3000);
      await exitedP;
      clearTimeout(t);
    }
    rmSync(cwd, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  const ready = async () =>
    (await canConnect(blobPort)) && (await canConnect(queuePort)) && (await canConnect(tablePort));
  while (!exited && Date.now() < deadline) {
    // "successfully listening" lines come once per service; the TCP check is the real test.
    if ((out.match(/successfully listening/gi)?.length ?? 0) >= 3 && (await ready())) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (exited || Date.now() >= deadline) {
    await stop();
    throw new Error(`Azurite did not start (ports ${blobPort}/${queuePort}/${tablePort}):\n${out}`);
  }
  return {
    connectionString: azuriteConnectionString(blobPort, queuePort, tablePort),
    blobEndpoint: `http://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT}`,
    queueEndpoint: `http://127.0.0.1:${queuePort}/${AZURITE_ACCOUNT}`,
    tableEndpoint: `http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT}`,
    blobPort,
    queuePort,
    tablePort,
    pid: child.pid,
    output: () => out,
    stop,
  };
}

export async function startAzurite(options: StartAzuriteOptions = {}): Promise<Azurite> {
  const reuse = process.env.AZURITE_CONNECTION_STRING;
  if (reuse) return fromEnv(reuse);
  const attempts = options.attempts ?? 3;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await startOnce(options.timeoutMs ?? 20_000);
    } catch (err) {
      last = err;
    }
  }
  throw last instanceof Error ? last : new Error(String(last));
}
