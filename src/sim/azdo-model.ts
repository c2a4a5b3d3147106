/**
 * The simulated Azure DevOps organisation: pools, job requests, agent registrations, and dispatch
 * of queued jobs to idle matching agents.
 * - A job arrives (trace), is queued in the pool of the first profile whose capabilities satisfy
 *   it (else the first profile's pool). Azure DevOps rejects it at once if no registration of the
 *   pool (any status: the placeholder counts) satisfies its demands.
 * - Dispatch is event driven: when a job is queued or an agent becomes idle, FIFO queued jobs go to
 *   the longest-idle online, enabled, matching agent (subset matching, Agent.Version ignored).
 * The machine behind an agent (compute.ts) is told when its agent starts and finishes a job.
 */
import type { ProfileConfig } from '../config/schema.js';
import {
  agentOsCapability,
  indexCapabilities,
  matches,
  relevantDemands,
  type CapabilityIndex,
  type Demand,
} from '../core/demands.js';
import { poolKey } from '../core/pools.js';
import type { WebhookArrival } from '../core/types.js';
import type { VirtualClock } from './clock.js';
import type { TraceJob } from './trace.js';
import type { WorldOptions } from './world-options.js';

export interface SimJob {
  id: number;
  poolId: number;
  trace: TraceJob;
  demands: Demand[];
  queuedMs: number;
  assignedMs?: number;
  finishedMs?: number;
  agentId?: number;
  agentName?: string;
  /** succeeded | abandoned (agent killed) | rejected (no agent could ever serve it). */
  result?: 'succeeded' | 'abandoned' | 'rejected';
  /** How many agents took it (conservation: exactly 1 for a served job). */
  assignments: number;
}

export interface SimAgent {
  id: number;
  name: string;
  poolId: number;
  status: 'online' | 'offline';
  enabled: boolean;
  createdMs: number;
  statusChangedMs: number;
  assignedRequestId?: number;
  lastCompletedMs?: number;
  /** The request it completed last (includeLastCompletedRequest). */
  lastCompleted?: { requestId: number; queuedMs: number };
  caps: CapabilityIndex;
  /** The same, as reported (names in their case): includeCapabilities answers with it. */
  reported?: Record<string, string>;
  machine?: string;
  placeholder: boolean;
  /** Pre-registered by the operator (baselines' placeholder), never ours to delete. */
  manual: boolean;
}

export type WorldEvent = { type: 'queued' | 'running' | 'completed'; jobId: number; poolId: number; pool: string };

/** A simulated request's job id: a uuid made from its request id (what the list and the webhook both name). */
export function simJobId(requestId: number): string {
  return `00000000-0000-4000-8000-${requestId.toString(16).padStart(12, '0')}`;
}

/**
 * What the webhook handler (src/webhook/handler.ts arrivalOf) keeps of a job-state-changed delivery
 * for this event: the job id, and for a job that waits the event time as its queue time.
 */
export function simWebhookArrival(e: WorldEvent, atMs: number): WebhookArrival {
  const jobId = simJobId(e.jobId);
  return e.type === 'queued' ? { jobId, queueTime: new Date(atMs).toISOString() } : { jobId };
}

/** What Azure DevOps learns from, and tells, the machine an agent runs on. */
export interface AgentHost {
  /** When the agent's machine last became idle (longest idle is served first). */
  idleSince(agent: SimAgent): number | undefined;
  jobStarted(agent: SimAgent): void;
  /** After the job's completion was recorded (and announced). */
  jobFinished(agent: SimAgent, job: SimJob): void;
}

/**
 * What an agent of a profile advertises: env vars, the image's capabilities (`image`, see
 * WorldOptions.imageCapabilities; else the declared ones), Agent.OS, Agent.Name.
 */
export function reportedCapabilities(
  profile: ProfileConfig,
  name: string,
  image?: Record<string, string>,
): Record<string, string> {
  return {
    ...profile.env,
    ...(image ?? profile.capabilities),
    'Agent.OS': agentOsCapability(profile.os),
    'Agent.Name': name,
  };
}

export function capabilitiesOf(profile: ProfileConfig, name: string, image?: Record<string, string>): CapabilityIndex {
  return indexCapabilities(reportedCapabilities(profile, name, image), false);
}

export class AzureDevOpsModel {
  readonly jobs: SimJob[] = [];
  readonly agents = new Map<number, SimAgent>();
  /** Webhook-like notifications (job queued / running / completed). */
  listener?: (e: WorldEvent) => void;
  host?: AgentHost;

  private readonly pools = new Map<string, number>();
  private readonly poolNames = new Map<number, string>();
  private readonly unfinished = new Map<number, Map<number, SimJob>>();
  private readonly queue: SimJob[] = [];
  private nextAgentId = 100;
  private nextJobId = 1000;
  private dispatchScheduled = false;
  private readonly profileIndex: { profile: ProfileConfig; caps: CapabilityIndex }[];

  constructor(
    private readonly clock: VirtualClock,
    private readonly opts: WorldOptions,
    private readonly profiles: readonly ProfileConfig[],
    private readonly bump: (counter: string) => void,
  ) {
    this.profileIndex = profiles.map((p) => ({ profile: p, caps: capabilitiesOf(p, '') }));
    for (const p of profiles) this.poolId(p.pool);
  }

  poolId(name: string): number {
    // Azure DevOps matches pool names case-insensitively.
    let id = this.pools.get(poolKey(name));
    if (id === undefined) {
      id = 10 + this.pools.size;
      this.pools.set(poolKey(name), id);
      this.poolNames.set(id, name);
      this.unfinished.set(id, new Map());
    }
    return id;
  }

  /** The id of an existing pool (case-insensitive), without creating it. */
  findPool(name: string): number | undefined {
    return this.pools.get(poolKey(name));
  }

  poolName(id: number): string | undefined {
    return this.poolNames.get(id);
  }

  /** The profile a job belongs to: first whose capabilities satisfy its demands (subset). */
  profileFor(demands: readonly Demand[]): ProfileConfig | undefined {
    return this.profileIndex.find((x) => matches(demands, x.caps, 'subset'))?.profile;
  }

  /** Schedule every job of a trace relative to `epochMs`. */
  scheduleTrace(jobs: readonly TraceJob[], epochMs: number): void {
    for (const tj of jobs) this.clock.at(epochMs + tj.arrival * 1000, () => this.arrive(tj));
  }

  private arrive(tj: TraceJob): void {
    const demands = relevantDemands(tj.demands);
    const profile = this.profileFor(demands) ?? this.profiles[0];
    const poolId = this.poolId(profile?.pool ?? 'default');
    const job: SimJob = {
      id: this.nextJobId++,
      poolId,
      trace: tj,
      demands,
      queuedMs: this.clock.nowMs(),
      assignments: 0,
    };
    this.jobs.push(job);
    // Azure DevOps refuses a job no registration of the pool could ever run.
    const anyCapable = [...this.agents.values()].some((a) => a.poolId === poolId && matches(demands, a.caps, 'subset'));
    if (!anyCapable) {
      job.result = 'rejected';
      job.finishedMs = job.queuedMs;
      this.bump('jobsRejected');
      return;
    }
    this.unfinished.get(poolId)!.set(job.id, job);
    this.queue.push(job);
    this.announce('queued', job);
    this.scheduleDispatch();
  }

  private announce(type: WorldEvent['type'], job: SimJob): void {
    this.listener?.({ type, jobId: job.id, poolId: job.poolId, pool: this.poolNames.get(job.poolId) ?? '' });
  }

  scheduleDispatch(): void {
    if (this.dispatchScheduled || this.queue.length === 0) return;
    this.dispatchScheduled = true;
    this.clock.after(this.opts.dispatchDelaySec * 1000, () => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  /** FIFO: each queued job to the longest-idle online, enabled, matching agent of its pool. */
  private dispatch(): void {
    if (this.queue.length === 0) return;
    const idle = [...this.agents.values()].filter(
      (a) => a.status === 'online' && a.enabled && a.assignedRequestId === undefined && !a.placeholder,
    );
    if (idle.length === 0) return;
    const since = (a: SimAgent) => this.host?.idleSince(a) ?? a.statusChangedMs;
    idle.sort((a, b) => since(a) - since(b) || a.id - b.id);
    const remaining: SimJob[] = [];
    for (const job of this.queue) {
      if (job.result) continue;
      const k = idle.findIndex((a) => a.poolId === job.poolId && matches(job.demands, a.caps, 'subset'));
      if (k < 0) {
        remaining.push(job);
        continue;
      }
      const agent = idle.splice(k, 1)[0]!;
      this.assign(job, agent);
    }
    this.queue.length = 0;
    this.queue.push(...remaining);
  }

  private assign(job: SimJob, agent: SimAgent): void {
    const now = this.clock.nowMs();
    job.assignedMs = now;
    job.agentId = agent.id;
    job.agentName = agent.name;
    job.assignments++;
    agent.assignedRequestId = job.id;
    this.host?.jobStarted(agent);
    this.clock.after(job.trace.duration * 1000, () => this.complete(job, agent));
    this.announce('running', job);
  }

  private complete(job: SimJob, agent: SimAgent): void {
    if (job.result) return; // abandoned meanwhile
    const now = this.clock.nowMs();
    job.result = 'succeeded';
    job.finishedMs = now;
    this.unfinished.get(job.poolId)!.delete(job.id);
    agent.assignedRequestId = undefined;
    agent.lastCompletedMs = now;
    agent.lastCompleted = { requestId: job.id, queuedMs: job.queuedMs };
    this.announce('completed', job);
    this.host?.jobFinished(agent, job);
  }

  /** The agent's job ends unfinished: its machine was killed under it. */
  abandon(job: SimJob): void {
    const now = this.clock.nowMs();
    job.result = 'abandoned';
    job.finishedMs = now;
    this.unfinished.get(job.poolId)!.delete(job.id);
    this.bump('jobsAbandoned');
  }

  setStatus(a: SimAgent, status: 'online' | 'offline'): void {
    if (a.status !== status) {
      a.status = status;
      a.statusChangedMs = this.clock.nowMs();
    }
  }

  /**
   * A new registration (offline), as `config.sh --replace` makes it: an old registration of the
   * same name in the pool is replaced.
   */
  register(
    name: string,
    poolId: number,
    caps: CapabilityIndex,
    o: { machine?: string; placeholder: boolean; manual: boolean },
  ): SimAgent {
    const now = this.clock.nowMs();
    const a: SimAgent = {
      id: this.nextAgentId++,
      name,
      poolId,
      status: 'offline',
      enabled: true,
      createdMs: now,
      statusChangedMs: now,
      caps,
      ...o,
    };
    if (o.machine !== undefined)
      for (const old of this.agents.values())
        if (old.name === a.name && old.poolId === a.poolId) this.agents.delete(old.id);
    this.agents.set(a.id, a);
    return a;
  }

  /** An operator-registered agent (e.g. the placeholder KEDA's docs tell you to create). */
  registerManualAgent(pool: string, name: string, profile: ProfileConfig): SimAgent {
    const a = this.register(name, this.poolId(pool), capabilitiesOf(profile, name, this.imageOf(profile)), {
      placeholder: true,
      manual: true,
    });
    a.reported = reportedCapabilities(profile, name, this.imageOf(profile));
    return a;
  }

  /** What the profile's image reports instead of its declared capabilities (undefined: the declared ones). */
  imageOf(profile: ProfileConfig): Record<string, string> | undefined {
    return this.opts.imageCapabilities?.[profile.name];
  }

  /** Ids of the pool's registrations (any status, like the server) that can run the job. */
  matchedAgentIds(job: SimJob): number[] {
    const ids: number[] = [];
    for (const a of this.agents.values())
      if (a.poolId === job.poolId && matches(job.demands, a.caps, 'subset')) ids.push(a.id);
    return ids;
  }

  /** Remove a registration (what Azure Pipelines does when it deletes a VMSS instance). */
  unregister(agentId: number): void {
    this.agents.delete(agentId);
  }

  queuedJobs(): SimJob[] {
    return this.queue.filter((j) => !j.result);
  }

  unfinishedJobs(poolId: number): SimJob[] {
    return [...(this.unfinished.get(poolId)?.values() ?? [])];
  }
}
