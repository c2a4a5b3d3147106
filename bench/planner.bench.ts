/**
 * Planner CPU time for a big pool: 1,000 job requests and 500 owned groups, 3 profiles.
 * Run: npm run bench   (prints percentiles; no assertion — the figure goes in the notes)
 */
import { performance } from 'node:perf_hooks';
import { plan } from '../src/core/plan.js';
import type { AgentRegistration, JobRequest, OwnedGroup, PoolSnapshot } from '../src/core/types.js';
import { profileSchema } from '../src/config/schema.js';

const now = new Date('2026-11-30T09:00:00Z');
const iso = (secAgo: number) => new Date(now.getTime() - secAgo * 1000).toISOString();
const profiles = ['docker', 'java', 'linux'].map((name, i) =>
  profileSchema.parse({
    name,
    pool: 'aci',
    image: 'x',
    capabilities: i === 2 ? [] : [name, 'git'],
    maxAgents: 400,
    standby: [{ days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', count: 5 }],
    timeZone: 'Europe/Berlin',
  }),
);

let seed = 42;
const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const jobs: JobRequest[] = [];
const agents: AgentRegistration[] = [];
const groups: OwnedGroup[] = [];
for (let i = 0; i < 500; i++) {
  const profile = profiles[i % 3]!.name;
  const name = `azp-${profile}-${i.toString(36).padStart(12, '0')}`;
  groups.push({ name, pool: 'aci', profile, createdAt: iso(60 + rnd() * 3000), provisioningState: 'Succeeded' });
  const r = rnd();
  if (r < 0.8)
    agents.push({
      id: i,
      name,
      status: 'online',
      enabled: true,
      createdOn: iso(50),
      ...(r < 0.6 ? { assignedRequestId: 10_000 + i } : {}),
    });
  else if (r < 0.9) agents.push({ id: i, name, status: 'offline', enabled: true, lastCompletedFinishTime: iso(5) });
}
for (let i = 0; i < 1000; i++) {
  const demands = [['docker', 'git'], ['java'], [], ['gpu']][i % 4]!.concat('Agent.Version -gtVersion 2.182.1');
  jobs.push({
    requestId: i,
    queueTime: iso(100),
    demands,
    ...(i < 300 ? { assignTime: iso(50), receiveTime: iso(49), reservedAgent: { id: i, name: `a${i}` } } : {}),
  });
}
const snapshot: PoolSnapshot = { pool: 'aci', jobs, agents, groups, backoff: {} };
const policy = { prefix: 'azp', profiles };

for (let i = 0; i < 20; i++) plan(snapshot, policy, now); // warm up
const samples: number[] = [];
const cpu0 = process.cpuUsage();
const runs = 200;
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  plan(snapshot, policy, now);
  samples.push(performance.now() - t);
}
const cpu = process.cpuUsage(cpu0);
samples.sort((a, b) => a - b);
const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!.toFixed(2);
const result = plan(snapshot, policy, now);
console.log(
  `planner: ${jobs.length} job requests, ${groups.length} groups, ${agents.length} agents, ${profiles.length} profiles, ${runs} runs`,
);
console.log(`wall ms  p50=${pct(50)} p95=${pct(95)} p99=${pct(99)} max=${samples[samples.length - 1]!.toFixed(2)}`);
console.log(
  `cpu ms per pass (user+system): ${((cpu.user + cpu.system) / 1000 / runs).toFixed(2)}  (target: well under 50 ms)`,
);
console.log(`actions: ${result.actions.length}  unmatched jobs: ${result.unmatchedJobs.length}`);
