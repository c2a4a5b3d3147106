/**
 * The job-request list at N queued jobs × N agents (every agent matches every job, as in a pool
 * of identical agents): `matchedAgents` makes the payload quadratic. Each item is shaped exactly
 * like the recorded one (326 bytes). Measures, per N, in a child process of its own (so RSS is
 * that N's alone): the payload, the CPU of JSON.parse + the client's ids-only schema and of plan()
 * on the result, the same body with the earlier per-agent schema, and the RSS.
 * Run: npm run bench:matched   (or: npx tsx bench/matched-agents.bench.ts 1000)
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { agentReferenceSchema, jobRequestSchema, listOf } from '../src/azdo/wire.js';
import { plan } from '../src/core/plan.js';
import { profile } from '../test/helpers/profiles.js';

const MiB = 1024 * 1024;

/** The schema before: every matchedAgents item validated as a TaskAgentReference. */
const perAgentList = listOf(jobRequestSchema.extend({ matchedAgents: z.array(agentReferenceSchema).nullish() }));

/** A matchedAgents item exactly as recorded (contracts/azdo/examples, KEDA's capture): 326 bytes. */
function agentRef(id: number): string {
  return JSON.stringify({
    _links: { self: { href: `https://dev.azure.com/FOO/_apis/distributedtask/pools/44/agents/${id}` }, web: { href: `https://dev.azure.com/FOO/_settings/agentpools?view=jobs&poolId=44&agentId=${id}` } },
    id,
    name: `dotnet60-scaledjob-${String(id).padStart(5, '0')}-pkqvm`,
    version: '2.210.1',
    enabled: true,
    status: 'online',
    provisioningState: 'Provisioned',
  });
}

async function one(n: number): Promise<string> {
  const refs = `[${Array.from({ length: n }, (_, i) => agentRef(1000 + i)).join(',')}]`;
  const job = (i: number) =>
    `{"requestId":${900000 + i},"queueTime":"2026-11-28T10:00:00.000Z","serviceOwner":"00025394-6065-48ca-87d9-7f5672854ef7","planType":"Build","demands":["Agent.Version -gtVersion 2.182.1"],"matchedAgents":${refs},"poolId":44}`;
  const bytes = n * (Buffer.byteLength(refs) + 220);
  let text: string;
  try {
    text = `{"count":${n},"value":[${Array.from({ length: n }, (_, i) => job(i)).join(',')}]}`;
  } catch (err) {
    return `${String(n).padStart(5)} jobs × ${n} agents | payload ≈ ${(bytes / MiB).toFixed(0)} MiB | cannot be held as one JS string (${(err as Error).message}; V8's limit is 2^29 − 24 characters ≈ 512 MiB): the body must be read as a stream`;
  }
  const newList = (await import('../src/azdo/wire.js')).jobRequestListSchema;
  const { toListedJobRequest } = await import('../src/azdo/wire.js');
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rss0 = process.memoryUsage().rss / MiB;
  const c0 = process.cpuUsage();
  const jobs = newList.parse(JSON.parse(text)).value.map(toListedJobRequest);
  const newCpu = cpuMs(c0);
  const rssNew = process.memoryUsage().rss / MiB;
  const c1 = process.cpuUsage();
  const p = plan({ pool: 'aci', jobs, agents: [], groups: [], backoff: {} }, { prefix: 'azp', profiles: [profile({ maxAgents: 1000 })] }, new Date());
  const planCpu = cpuMs(c1);
  const ids = jobs.reduce((s, j) => s + (j.matchedAgentIds?.length ?? 0), 0);
  gc?.();
  const c2 = process.cpuUsage();
  const old = perAgentList.parse(JSON.parse(text));
  const oldCpu = cpuMs(c2);
  const oldIds = old.value.reduce((s, j) => s + (j.matchedAgents?.length ?? 0), 0);
  if (ids !== oldIds || ids !== n * n) throw new Error(`expected ${n * n} matched ids, got ${ids} (earlier schema: ${oldIds})`);
  return `${String(n).padStart(5)} jobs × ${n} agents | payload ${(Buffer.byteLength(text) / MiB).toFixed(1)} MiB | JSON.parse + ids-only schema ${newCpu.toFixed(0)} ms CPU (RSS ${rss0.toFixed(0)} → ${rssNew.toFixed(0)} MiB) | plan ${planCpu.toFixed(0)} ms CPU (queued ${p.views[0]!.queued}) | JSON.parse + earlier per-agent schema ${oldCpu.toFixed(0)} ms CPU | RSS after both ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB`;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

const arg = process.argv[2];
if (arg) {
  console.log(await one(Number(arg)));
} else {
  console.log('Job-request list with matchedAgents (every agent matches every job), one process per row:');
  const self = fileURLToPath(import.meta.url);
  for (const n of [1000, 2000]) {
    process.stdout.write(execFileSync(process.execPath, ['--expose-gc', '--max-old-space-size=6144', '--import', 'tsx', self, String(n)], { encoding: 'utf8', maxBuffer: 1 << 20 }));
  }
}
