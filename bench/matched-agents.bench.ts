/**
 * The job-request list at N queued jobs × N agents (every agent matches every job, as in a pool
 * of identical agents): `matchedAgents` makes the payload quadratic. Each matchedAgents item is
 * shaped exactly like the recorded one (326 bytes). Per N, a server process on 127.0.0.1 makes the
 * body lazily (it never exists whole anywhere) and one client process per way of reading it
 * measures its own CPU, RSS before the read and peak RSS (getrusage maxrss), so each row's memory
 * is that read's alone:
 * - text:   as the client read it before: the whole body as one string (undici body.text()),
 *           JSON.parse, the list schema (ids-only matchedAgents);
 * - stream: AzureDevOpsClient.listJobRequests as it is (src/azdo/jobrequests-stream.ts), with its
 *           default per-attempt timeout.
 * Then plan() on the jobs read. Run: npm run bench:matched   (one row: npx tsx bench/matched-agents.bench.ts measure 1000 stream PORT)
 */
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';

const MiB = 1024 * 1024;
const POOL = 44;

/** A matchedAgents item exactly as recorded (contracts/azdo/examples, KEDA's capture): 326 bytes. */
function agentRef(id: number): string {
  return JSON.stringify({
    _links: {
      self: { href: `https://dev.azure.com/FOO/_apis/distributedtask/pools/44/agents/${id}` },
      web: { href: `https://dev.azure.com/FOO/_settings/agentpools?view=jobs&poolId=44&agentId=${id}` },
    },
    id,
    name: `dotnet60-scaledjob-${String(id).padStart(5, '0')}-pkqvm`,
    version: '2.210.1',
    enabled: true,
    status: 'online',
    provisioningState: 'Provisioned',
  });
}

/** The body, piece by piece: `{"count":n,"value":[` then one job request per piece, then `]}`. */
function* bodyPieces(n: number): Generator<Buffer> {
  const refs = `[${Array.from({ length: n }, (_, i) => agentRef(1000 + i)).join(',')}]`;
  yield Buffer.from(`{"count":${n},"value":[`);
  for (let i = 0; i < n; i++) {
    yield Buffer.from(
      `${i ? ',' : ''}{"requestId":${900000 + i},"queueTime":"2026-11-28T10:00:00.000Z","serviceOwner":"00025394-6065-48ca-87d9-7f5672854ef7","planType":"Build","demands":["Agent.Version -gtVersion 2.182.1"],"matchedAgents":${refs},"poolId":${POOL}}`,
    );
  }
  yield Buffer.from(']}');
}

function payloadBytes(n: number): number {
  let total = 0;
  for (const p of bodyPieces(n)) total += p.length;
  return total;
}

/** Serves the list for any path, made lazily with back-pressure; prints the port. Stopped by its parent. */
async function serve(n: number): Promise<void> {
  const server = createServer(async (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    for (const piece of bodyPieces(n)) {
      if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
      if (res.destroyed) return;
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  console.log((server.address() as AddressInfo).port);
}

async function measure(n: number, mode: string, port: number): Promise<string> {
  const { jobRequestListSchema, toListedJobRequest } = await import('../src/azdo/wire.js');
  const { AzureDevOpsClient } = await import('../src/azdo/client.js');
  const { patAuth } = await import('../src/azdo/auth.js');
  const { plan } = await import('../src/core/plan.js');
  const { profile } = await import('../test/helpers/profiles.js');
  const base = `http://127.0.0.1:${port}/org`;
  const path = `/_apis/distributedtask/pools/${POOL}/jobrequests?completedRequestCount=0`;
  (globalThis as { gc?: () => void }).gc?.();
  const rss0 = process.memoryUsage().rss / MiB;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let jobs;
  try {
    if (mode === 'text') {
      const res = await request(base + path);
      jobs = jobRequestListSchema.parse(JSON.parse(await res.body.text())).value.map(toListedJobRequest);
    } else {
      const client = new AzureDevOpsClient({
        baseUrl: base,
        auth: patAuth(async () => 'bench-not-a-secret'),
        maxRetries: 0,
      });
      jobs = await client.listJobRequests(POOL);
    }
  } catch (err) {
    return `${mode.padEnd(6)} | cannot read it: ${(err as Error).message.slice(0, 160)} | CPU ${cpuMs(c0).toFixed(0)} ms | peak RSS ${peakMiB().toFixed(0)} MiB`;
  }
  const readCpu = cpuMs(c0);
  const wall = performance.now() - t0;
  const ids = jobs.reduce((s, j) => s + (j.matchedAgentIds?.length ?? 0), 0);
  if (ids !== n * n) throw new Error(`expected ${n * n} matched ids, got ${ids}`);
  const c1 = process.cpuUsage();
  const p = plan(
    { pool: 'aci', jobs, agents: [], groups: [], backoff: {} },
    { prefix: 'azp', profiles: [profile({ maxAgents: 1000 })] },
    new Date(),
  );
  return `${mode.padEnd(6)} | read ${readCpu.toFixed(0)} ms CPU (${(wall / 1000).toFixed(1)} s wall) | RSS before ${rss0.toFixed(0)} MiB, peak ${peakMiB().toFixed(0)} MiB | plan ${cpuMs(c1).toFixed(0)} ms CPU (queued ${p.views[0]!.queued})`;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

function peakMiB(): number {
  return (process.resourceUsage().maxRSS * 1024) / MiB;
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  console.log(
    'Job-request list with matchedAgents (every agent matches every job); server and each reader in a process of its own:',
  );
  for (const n of [1000, 2000]) {
    console.log(`${n} jobs × ${n} agents | payload ${(payloadBytes(n) / MiB).toFixed(1)} MiB`);
    const server = spawn(process.execPath, ['--import', 'tsx', self, 'serve', String(n)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        server.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
        server.once('exit', (code) => reject(new Error(`server exited (${code})`)));
      });
      for (const mode of ['text', 'stream']) {
        const args = [
          '--expose-gc',
          '--max-old-space-size=6144',
          '--import',
          'tsx',
          self,
          'measure',
          String(n),
          mode,
          port,
        ];
        process.stdout.write(`  ${execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 })}`);
      }
    } finally {
      server.kill(); // the server process this loop started, by its handle
    }
  }
}

const [cmd, a, b, c] = process.argv.slice(2);
if (cmd === 'serve') await serve(Number(a));
else if (cmd === 'measure') console.log(await measure(Number(a), b ?? 'stream', Number(c)));
else await main();
