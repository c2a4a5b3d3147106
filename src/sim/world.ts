/**
 * The simulated world: an Azure DevOps organisation (pools, job requests, agent registrations,
 * dispatch of queued jobs to idle matching agents) and a compute layer (ACI container groups, and
 * VMSS virtual machines for the VMSS baseline), with seeded latencies, failures, quota and billing.
 *
 * `azdoPort()` and `computePort()` implement the same ports as the real adapters, so the REAL
 * `reconcile()` drives this world. The baselines act on the same world through the same state.
 *
 * Behaviour (see src/sim/README.md for the model and its assumptions):
 * - A job arrives (trace), is queued in the pool of the first profile whose capabilities satisfy
 *   it (else the first profile's pool). Azure DevOps rejects it at once if no registration of the
 *   pool (any status: the placeholder counts) satisfies its demands.
 * - Dispatch is event driven: when a job is queued or an agent becomes idle, FIFO queued jobs go to
 *   the longest-idle online, enabled, matching agent (subset matching, Agent.Version ignored).
 * - ACI group: accepted → provisioning (lognormal) → container running → agent boot (lognormal) →
 *   registration (offline) → online a few seconds later → idle. Failures: image pull (provisioning
 *   Failed), crash before registering (instance Failed, exit 1). A `--once` agent runs one job, goes
 *   offline and its container exits (Succeeded); its registration stays for the controller to remove
 *   (the shipped start.sh no longer unregisters; `imageUnregisters` models the opt-in). A
 *   placeholder registers and exits without running jobs.
 * - ACI billing: vCPU-seconds and GB-seconds from ARM accepting the create until the container exits
 *   or the group is deleted (a terminated restartPolicy=Never group stops billing).
 * - VMSS VM: provisioning + agent extension, then idle; after each job it is reimaged (offline a few
 *   minutes, still billed) and comes back idle. Billed per started minute until deleted.
 */
import type { ProfileConfig } from '../config/schema.js';
import { agentOsCapability, indexCapabilities, matches, relevantDemands, type CapabilityIndex, type Demand } from '../core/demands.js';
import { poolKey } from '../core/pools.js';
import type { AgentRegistration, JobRequest, OwnedGroup } from '../core/types.js';
import type { AgentLaunch, AzureDevOpsPort, ComputePort, GroupDetail, SecretPort } from '../reconcile/ports.js';
import type { VirtualClock } from './clock.js';
import { Rng, deriveSeed } from './rng.js';
import type { TraceJob } from './trace.js';

/**
 * ACI Linux pay-as-you-go unit prices (USD). ASSUMPTION, not fetched live: the public price sheet
 * (azure.microsoft.com/pricing/details/container-instances, East US, standard Linux containers)
 * listed $0.0000135 per vCPU-second and $0.0000015 per GB-second when this was written
 * ($0.0486 per vCPU-hour, $0.0054 per GB-hour). Regions and dates differ: override with care.
 */
export const ACI_PRICES = { perVcpuSecond: 0.0000135, perGbSecond: 0.0000015 } as const;

/**
 * VM price for the VMSS baseline (USD per hour). ASSUMPTION: Standard_D2s_v3 (2 vCPU, 8 GiB) Linux
 * pay-as-you-go, East US, ~$0.096/h; OS disk and bandwidth ignored. Billed per started minute.
 */
export const VM_PRICE = { size: 'Standard_D2s_v3', perHour: 0.096 } as const;

export interface WorldOptions {
  /** Latency of one Azure DevOps REST call, ms. */
  azdoLatencyMs: number;
  armListLatencyMs: number;
  armGetLatencyMs: number;
  /** Until ARM accepts a PUT (201 + Azure-AsyncOperation), ms. */
  armCreateLatencyMs: number;
  armDeleteLatencyMs: number;
  /** Azure DevOps takes this long to hand a queued job to an idle agent, s. */
  dispatchDelaySec: number;
  /** ACI: create accepted → container running (image pull included): lognormal median/sigma, s. */
  provisionMedianSec: number;
  provisionSigma: number;
  /** ACI: container running → agent registered: lognormal median/sigma, s. */
  bootMedianSec: number;
  bootSigma: number;
  /** Registered (offline) → online, s. */
  onlineDelaySec: number;
  /** After its job: unregister + container exit, s. */
  cleanupSec: number;
  imagePullFailureRate: number;
  crashBeforeRegisterRate: number;
  /**
   * The image unregisters its own agent on exit (start.sh with AZP_UNREGISTER_ON_EXIT=1). Off by
   * default, as in the shipped image: the registration stays (offline) and the controller removes it.
   */
  imageUnregisters: boolean;
  /** With `imageUnregisters`: probability that the image's unregister fails. */
  cleanupFailureRate: number;
  /** Probability that an ARM create answers 429 (kind 'throttled'). */
  throttleRate: number;
  /** Container groups per region (quota): creates beyond it fail with kind 'quota'. */
  maxGroupsPerRegion: number;
  /** Optional per-profile group quota. */
  maxGroupsPerProfile?: number;
  /**
   * Offline blips of online idle agents (listener reconnect, agent self-update restart): expected
   * blips per idle agent-hour (exponential gaps); each lasts lognormal(offlineBlipMedianSec, 0.5) s.
   */
  offlineBlipsPerHour: number;
  offlineBlipMedianSec: number;
  /** Probability that an agent registers only after its profile's boot timeout (slow image pull). */
  lateRegistrationRate: number;
  /** Probability that an agent registers in time but comes online only after the boot timeout. */
  lateOnlineRate: number;
  /** A late agent registers (or comes online) uniformly within this many seconds past the boot timeout. */
  lateMaxSec: number;
  /** VMSS: VM provisioning + agent extension: lognormal median/sigma, s. */
  vmProvisionMedianSec: number;
  vmProvisionSigma: number;
  /** VMSS: reimage after each job (recycleAfterEachUse), s. */
  vmReimageMedianSec: number;
}

export const DEFAULT_WORLD_OPTIONS: WorldOptions = {
  azdoLatencyMs: 150,
  armListLatencyMs: 300,
  armGetLatencyMs: 150,
  armCreateLatencyMs: 500,
  armDeleteLatencyMs: 400,
  dispatchDelaySec: 2,
  provisionMedianSec: 35,
  provisionSigma: 0.35,
  bootMedianSec: 20,
  bootSigma: 0.3,
  onlineDelaySec: 3,
  cleanupSec: 4,
  imagePullFailureRate: 0.01,
  crashBeforeRegisterRate: 0.01,
  imageUnregisters: false,
  cleanupFailureRate: 0.05,
  throttleRate: 0.005,
  maxGroupsPerRegion: 100,
  // Off by default (the published figures stay comparable); the property test turns them on.
  offlineBlipsPerHour: 0,
  offlineBlipMedianSec: 20,
  lateRegistrationRate: 0,
  lateOnlineRate: 0,
  lateMaxSec: 60,
  vmProvisionMedianSec: 300,
  vmProvisionSigma: 0.25,
  vmReimageMedianSec: 240,
};

export type MachineKind = 'aci' | 'vm';
export type MachinePhase = 'provisioning' | 'booting' | 'registered' | 'idle' | 'busy' | 'reimaging' | 'exited' | 'failed' | 'deleted';

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
  caps: CapabilityIndex;
  machine?: string;
  placeholder: boolean;
  /** Pre-registered by the operator (baselines' placeholder), never ours to delete. */
  manual: boolean;
}

export interface Machine {
  name: string;
  kind: MachineKind;
  owner: string;
  pool: string;
  poolId: number;
  profile: ProfileConfig;
  placeholder: boolean;
  createdMs: number;
  createdAtTag: string;
  provisioningState: string;
  instanceState?: string;
  exitCode?: number;
  detail?: string;
  phase: MachinePhase;
  agentId?: number;
  billStartMs: number;
  billEndMs?: number;
  busyMs: number;
  idleMs: number;
  idleSinceMs?: number;
  jobsRun: number;
  deletedMs?: number;
  /** Late boot: the agent registers (or comes online) no earlier than this. */
  lateRegisterAtMs?: number;
  lateOnlineAtMs?: number;
  /** Counts idle stints, so a blip scheduled in one stint does not fire in the next. */
  idleStint?: number;
}

export interface Violation {
  atMs: number;
  kind: string;
  detail: string;
}

export class ArmLikeError extends Error {
  constructor(
    readonly kind: 'quota' | 'throttled' | 'notFound' | 'conflict',
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'ArmError';
  }
}

export type WorldEvent = { type: 'queued' | 'running' | 'completed'; jobId: number; poolId: number; pool: string };

export class World {
  readonly opts: WorldOptions;
  readonly jobs: SimJob[] = [];
  readonly agents = new Map<number, SimAgent>();
  readonly machines = new Map<string, Machine>();
  /** Machines ever created, deleted ones included (billing). */
  readonly allMachines: Machine[] = [];
  readonly violations: Violation[] = [];
  readonly calls = { azdo: {} as Record<string, number>, arm: {} as Record<string, number> };
  readonly counters: Record<string, number> = {};
  readonly canary: string;
  /** Webhook-like notifications (job queued / running / completed). */
  listener?: (e: WorldEvent) => void;

  private readonly pools = new Map<string, number>();
  private readonly poolNames = new Map<number, string>();
  private readonly unfinished = new Map<number, Map<number, SimJob>>();
  private readonly queue: SimJob[] = [];
  private readonly rng: Rng;
  private readonly failRng: Rng;
  /** Blips and late boots draw from their own stream: with their rates at 0 nothing else changes. */
  private readonly flakyRng: Rng;
  private readonly azdoCached = new Set<string>();
  private nextAgentId = 100;
  private nextJobId = 1000;
  private dispatchScheduled = false;
  private readonly profileIndex: { profile: ProfileConfig; caps: CapabilityIndex }[];

  constructor(
    readonly clock: VirtualClock,
    readonly profiles: readonly ProfileConfig[],
    seed: number,
    opts: Partial<WorldOptions> = {},
  ) {
    this.opts = { ...DEFAULT_WORLD_OPTIONS, ...opts };
    this.rng = new Rng(deriveSeed(seed, 'world:latency'));
    this.failRng = new Rng(deriveSeed(seed, 'world:failures'));
    this.flakyRng = new Rng(deriveSeed(seed, 'world:flaky'));
    this.canary = `sim-canary-${deriveSeed(seed, 'canary').toString(36)}-pat`;
    this.profileIndex = profiles.map((p) => ({ profile: p, caps: capabilitiesOf(p, '') }));
    for (const p of profiles) this.poolId(p.pool);
  }

  private count(kind: 'azdo' | 'arm', op: string): void {
    this.calls[kind][op] = (this.calls[kind][op] ?? 0) + 1;
  }

  bump(counter: string): void {
    this.counters[counter] = (this.counters[counter] ?? 0) + 1;
  }

  violate(kind: string, detail: string): void {
    this.violations.push({ atMs: this.clock.nowMs(), kind, detail });
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

  /** The profile a job belongs to: first whose capabilities satisfy its demands (subset). */
  profileFor(demands: readonly Demand[]): ProfileConfig | undefined {
    return this.profileIndex.find((x) => matches(demands, x.caps, 'subset'))?.profile;
  }

  // ------------------------------------------------------------------ Azure DevOps: jobs, agents

  /** Schedule every job of a trace relative to `epochMs`. */
  scheduleTrace(jobs: readonly TraceJob[], epochMs: number): void {
    for (const tj of jobs) this.clock.at(epochMs + tj.arrival * 1000, () => this.arrive(tj));
  }

  private arrive(tj: TraceJob): void {
    const demands = relevantDemands(tj.demands);
    const profile = this.profileFor(demands) ?? this.profiles[0];
    const poolId = this.poolId(profile?.pool ?? 'default');
    const job: SimJob = { id: this.nextJobId++, poolId, trace: tj, demands, queuedMs: this.clock.nowMs(), assignments: 0 };
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
    this.listener?.({ type: 'queued', jobId: job.id, poolId, pool: this.poolNames.get(poolId) ?? '' });
    this.scheduleDispatch();
  }

  private scheduleDispatch(): void {
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
    const idle = [...this.agents.values()].filter((a) => a.status === 'online' && a.enabled && a.assignedRequestId === undefined && !a.placeholder);
    if (idle.length === 0) return;
    idle.sort((a, b) => this.idleSince(a) - this.idleSince(b) || a.id - b.id);
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

  private idleSince(a: SimAgent): number {
    const m = a.machine ? this.machines.get(a.machine) : undefined;
    return m?.idleSinceMs ?? a.statusChangedMs;
  }

  private assign(job: SimJob, agent: SimAgent): void {
    const now = this.clock.nowMs();
    job.assignedMs = now;
    job.agentId = agent.id;
    job.agentName = agent.name;
    job.assignments++;
    agent.assignedRequestId = job.id;
    const m = agent.machine ? this.machines.get(agent.machine) : undefined;
    if (m) {
      this.leaveIdle(m);
      m.phase = 'busy';
    }
    this.clock.after(job.trace.duration * 1000, () => this.complete(job, agent));
    this.listener?.({ type: 'running', jobId: job.id, poolId: job.poolId, pool: this.poolNames.get(job.poolId) ?? '' });
  }

  private complete(job: SimJob, agent: SimAgent): void {
    if (job.result) return; // abandoned meanwhile
    const now = this.clock.nowMs();
    job.result = 'succeeded';
    job.finishedMs = now;
    this.unfinished.get(job.poolId)!.delete(job.id);
    agent.assignedRequestId = undefined;
    agent.lastCompletedMs = now;
    const m = agent.machine ? this.machines.get(agent.machine) : undefined;
    if (m) {
      m.busyMs += now - (job.assignedMs ?? now);
      m.jobsRun++;
    }
    this.listener?.({ type: 'completed', jobId: job.id, poolId: job.poolId, pool: this.poolNames.get(job.poolId) ?? '' });
    if (!m || m.phase === 'deleted') return;
    if (m.kind === 'vm') {
      // recycleAfterEachUse: offline while reimaging, then back idle with the same registration.
      this.setStatus(agent, 'offline');
      m.phase = 'reimaging';
      const reimage = this.rng.lognormal(this.opts.vmReimageMedianSec, 0.2) * 1000;
      this.clock.after(reimage, () => {
        if (m.phase !== 'reimaging') return;
        this.setStatus(agent, 'online');
        this.becomeIdle(m);
      });
      return;
    }
    // --once: the agent exits and goes offline; its registration stays for the controller to remove
    // (with `imageUnregisters`, the image removes it unless that fails); the container exits 0.
    this.setStatus(agent, 'offline');
    m.phase = 'exited';
    const cleanupFails = this.failRng.chance(this.opts.cleanupFailureRate);
    this.clock.after(this.opts.cleanupSec * 1000, () => {
      if (m.deletedMs !== undefined) return;
      if (!this.opts.imageUnregisters) {
        // the registration stays: the controller's job
      } else if (cleanupFails) this.bump('cleanupFailures');
      else if (this.agents.get(agent.id)) this.agents.delete(agent.id);
      this.exitContainer(m, 'Succeeded', 0);
    });
  }

  private setStatus(a: SimAgent, status: 'online' | 'offline'): void {
    if (a.status !== status) {
      a.status = status;
      a.statusChangedMs = this.clock.nowMs();
    }
  }

  private becomeIdle(m: Machine): void {
    m.phase = 'idle';
    m.idleSinceMs = this.clock.nowMs();
    m.idleStint = (m.idleStint ?? 0) + 1;
    this.scheduleBlip(m, m.idleStint);
    this.scheduleDispatch();
  }

  /** While idle, the agent may drop offline for a moment (listener reconnect, self-update) and come back. */
  private scheduleBlip(m: Machine, stint: number): void {
    if (this.opts.offlineBlipsPerHour <= 0 || m.placeholder) return;
    const gap = this.flakyRng.exponential(3600 / this.opts.offlineBlipsPerHour) * 1000;
    const length = this.flakyRng.lognormal(this.opts.offlineBlipMedianSec, 0.5) * 1000;
    const still = () => m.phase === 'idle' && m.idleStint === stint && m.deletedMs === undefined;
    this.clock.after(gap, () => {
      const agent = m.agentId !== undefined ? this.agents.get(m.agentId) : undefined;
      if (!still() || !agent || agent.status !== 'online' || agent.assignedRequestId !== undefined) return;
      this.bump('offlineBlips');
      this.setStatus(agent, 'offline');
      this.clock.after(length, () => {
        if (!still() || !this.agents.has(agent.id)) return;
        this.setStatus(agent, 'online');
        this.scheduleBlip(m, stint);
        this.scheduleDispatch();
      });
    });
  }

  private leaveIdle(m: Machine): void {
    if (m.idleSinceMs !== undefined) m.idleMs += this.clock.nowMs() - m.idleSinceMs;
    m.idleSinceMs = undefined;
  }

  private exitContainer(m: Machine, state: 'Succeeded' | 'Failed', exitCode: number): void {
    this.leaveIdle(m);
    m.instanceState = state;
    m.exitCode = exitCode;
    if (m.phase !== 'failed') m.phase = state === 'Succeeded' ? 'exited' : 'failed';
    if (m.kind === 'aci' && m.billEndMs === undefined) m.billEndMs = this.clock.nowMs();
  }

  /** An operator-registered agent (e.g. the placeholder KEDA's docs tell you to create). */
  registerManualAgent(pool: string, name: string, profile: ProfileConfig): SimAgent {
    const poolId = this.poolId(pool);
    const a: SimAgent = {
      id: this.nextAgentId++,
      name,
      poolId,
      status: 'offline',
      enabled: true,
      createdMs: this.clock.nowMs(),
      statusChangedMs: this.clock.nowMs(),
      caps: capabilitiesOf(profile, name),
      placeholder: true,
      manual: true,
    };
    this.agents.set(a.id, a);
    return a;
  }

  // ------------------------------------------------------------------ compute: ACI groups, VMs

  /** Start a machine (ACI group or VMSS VM). Quota and throttling are checked by the caller. */
  startMachine(kind: MachineKind, owner: string, name: string, pool: string, profile: ProfileConfig, placeholder: boolean, createdAtTag: string): Machine {
    const now = this.clock.nowMs();
    const m: Machine = {
      name,
      kind,
      owner,
      pool,
      poolId: this.poolId(pool),
      profile,
      placeholder,
      createdMs: now,
      createdAtTag,
      provisioningState: 'Creating',
      phase: 'provisioning',
      billStartMs: now,
      busyMs: 0,
      idleMs: 0,
      jobsRun: 0,
    };
    this.machines.set(name, m);
    this.allMachines.push(m);
    if (kind === 'vm') {
      const up = this.rng.lognormal(this.opts.vmProvisionMedianSec, this.opts.vmProvisionSigma) * 1000;
      this.clock.after(up, () => {
        if (m.phase === 'deleted') return;
        m.provisioningState = 'Succeeded';
        m.instanceState = 'Running';
        this.register(m, true);
      });
      return m;
    }
    const provision = this.rng.lognormal(this.opts.provisionMedianSec, this.opts.provisionSigma) * 1000;
    const boot = this.rng.lognormal(this.opts.bootMedianSec, this.opts.bootSigma) * 1000;
    const pullFails = this.failRng.chance(this.opts.imagePullFailureRate);
    const crashes = !placeholder && this.failRng.chance(this.opts.crashBeforeRegisterRate);
    if (!placeholder && this.opts.lateRegistrationRate > 0 && this.flakyRng.chance(this.opts.lateRegistrationRate)) {
      m.lateRegisterAtMs = now + (profile.bootTimeoutSec + this.flakyRng.uniform(0, this.opts.lateMaxSec)) * 1000;
    } else if (!placeholder && this.opts.lateOnlineRate > 0 && this.flakyRng.chance(this.opts.lateOnlineRate)) {
      m.lateOnlineAtMs = now + (profile.bootTimeoutSec + this.flakyRng.uniform(0, this.opts.lateMaxSec)) * 1000;
    }
    this.clock.after(provision, () => {
      if (m.phase === 'deleted') return;
      if (pullFails) {
        this.bump('imagePullFailures');
        m.provisioningState = 'Failed';
        m.phase = 'failed';
        m.detail = 'Failed to pull image: manifest unknown (injected)';
        m.billEndMs = this.clock.nowMs();
        return;
      }
      m.provisioningState = 'Succeeded';
      m.instanceState = 'Running';
      m.phase = 'booting';
      if (crashes) {
        this.clock.after(boot / 2, () => {
          if (m.phase === 'deleted') return;
          this.bump('crashesBeforeRegister');
          m.detail = 'agent configuration failed (injected crash)';
          m.phase = 'failed';
          this.exitContainer(m, 'Failed', 1);
        });
        return;
      }
      const late = m.lateRegisterAtMs !== undefined ? Math.max(0, m.lateRegisterAtMs - this.clock.nowMs()) : 0;
      if (late > boot) this.bump('lateRegistrations');
      this.clock.after(Math.max(boot, late), () => {
        if (m.phase !== 'booting') return;
        this.register(m, false);
      });
    });
    return m;
  }

  private register(m: Machine, vm: boolean): void {
    const now = this.clock.nowMs();
    const a: SimAgent = {
      id: this.nextAgentId++,
      name: m.name,
      poolId: m.poolId,
      status: 'offline',
      enabled: true,
      createdMs: now,
      statusChangedMs: now,
      caps: capabilitiesOf(m.profile, m.name),
      machine: m.name,
      placeholder: m.placeholder,
      manual: false,
    };
    // Re-registering the same name replaces the old registration (config.sh --replace).
    for (const old of this.agents.values()) if (old.name === a.name && old.poolId === a.poolId) this.agents.delete(old.id);
    this.agents.set(a.id, a);
    m.agentId = a.id;
    m.phase = 'registered';
    if (m.placeholder) {
      // Register and exit: the registration stays (offline) so jobs can queue at zero agents.
      this.clock.after(2000, () => {
        if (m.deletedMs === undefined) this.exitContainer(m, 'Succeeded', 0);
      });
      return;
    }
    const onlineAfter = (vm ? 1 : this.opts.onlineDelaySec) * 1000;
    const late = m.lateOnlineAtMs !== undefined ? Math.max(0, m.lateOnlineAtMs - now) : 0;
    if (late > onlineAfter) this.bump('lateOnline');
    this.clock.after(Math.max(onlineAfter, late), () => {
      if (m.phase !== 'registered' || !this.agents.has(a.id)) return;
      this.setStatus(a, 'online');
      this.becomeIdle(m);
    });
  }

  /** Remove a machine now. Killing an agent that holds a job is recorded as a violation. */
  removeMachine(name: string, by: string): boolean {
    const m = this.machines.get(name);
    if (!m) return false;
    const now = this.clock.nowMs();
    const agent = m.agentId !== undefined ? this.agents.get(m.agentId) : undefined;
    if (agent && agent.assignedRequestId !== undefined) {
      const job = this.jobs.find((j) => j.id === agent.assignedRequestId);
      this.violate('busyGroupDeleted', `${by} deleted ${name} while its agent ran job ${agent.assignedRequestId}`);
      if (job && !job.result) {
        job.result = 'abandoned';
        job.finishedMs = now;
        this.unfinished.get(job.poolId)!.delete(job.id);
        m.busyMs += now - (job.assignedMs ?? now);
        this.bump('jobsAbandoned');
      }
      agent.assignedRequestId = undefined;
    }
    if (agent) this.setStatus(agent, 'offline');
    this.leaveIdle(m);
    m.phase = 'deleted';
    m.deletedMs = now;
    if (m.billEndMs === undefined) m.billEndMs = now;
    this.machines.delete(name);
    return true;
  }

  /** Remove a registration (what Azure Pipelines does when it deletes a VMSS instance). */
  unregister(agentId: number): void {
    this.agents.delete(agentId);
  }

  /** Live machines (not deleted) that count against maxAgents: not a placeholder, not finished. */
  liveMachines(owner?: string): Machine[] {
    return [...this.machines.values()].filter(
      (m) => (!owner || m.owner === owner) && !m.placeholder && ['provisioning', 'booting', 'registered', 'idle', 'busy', 'reimaging'].includes(m.phase),
    );
  }

  queuedJobs(): SimJob[] {
    return this.queue.filter((j) => !j.result);
  }

  unfinishedJobs(poolId: number): SimJob[] {
    return [...(this.unfinished.get(poolId)?.values() ?? [])];
  }

  // ------------------------------------------------------------------ ports

  private async azdoCall(op: string): Promise<void> {
    this.count('azdo', op);
    await this.clock.sleep(this.opts.azdoLatencyMs);
  }

  private toJobRequest(j: SimJob): JobRequest {
    const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
    const r: JobRequest = { requestId: j.id, queueTime: iso(j.queuedMs), demands: j.trace.demands, poolId: j.poolId, planType: 'Build', jobName: j.trace.name ?? `job-${j.id}` };
    if (j.assignedMs !== undefined) {
      r.assignTime = iso(j.assignedMs);
      r.receiveTime = iso(j.assignedMs + 500);
      r.reservedAgent = { id: j.agentId!, name: j.agentName! };
    }
    return r;
  }

  private toRegistration(a: SimAgent): AgentRegistration {
    const r: AgentRegistration = {
      id: a.id,
      name: a.name,
      status: a.status,
      enabled: a.enabled,
      createdOn: new Date(a.createdMs).toISOString(),
      statusChangedOn: new Date(a.statusChangedMs).toISOString(),
      version: '4.260.0',
    };
    if (a.assignedRequestId !== undefined) r.assignedRequestId = a.assignedRequestId;
    if (a.lastCompletedMs !== undefined) r.lastCompletedFinishTime = new Date(a.lastCompletedMs).toISOString();
    return r;
  }

  azdoPort(): AzureDevOpsPort {
    return {
      resolvePoolId: async (poolName) => {
        // The real adapter caches the id: one call per pool per process.
        if (!this.azdoCached.has(poolName)) {
          this.azdoCached.add(poolName);
          await this.azdoCall('resolvePool');
        }
        const id = this.pools.get(poolKey(poolName));
        if (id === undefined) throw Object.assign(new Error(`pool '${poolName}' not found`), { kind: 'notFound' });
        return id;
      },
      listJobRequests: async (poolId) => {
        await this.azdoCall('listJobRequests');
        return this.unfinishedJobs(poolId).map((j) => this.toJobRequest(j));
      },
      listAgents: async (poolId) => {
        await this.azdoCall('listAgents');
        return [...this.agents.values()].filter((a) => a.poolId === poolId).map((a) => this.toRegistration(a));
      },
      getAgent: async (poolId, agentId) => {
        await this.azdoCall('getAgent');
        const a = this.agents.get(agentId);
        return a && a.poolId === poolId ? this.toRegistration(a) : undefined;
      },
      findAgent: async (poolId, agentName) => {
        await this.azdoCall('findAgent');
        const a = [...this.agents.values()].find((x) => x.poolId === poolId && x.name === agentName);
        return a ? this.toRegistration(a) : undefined;
      },
      setAgentEnabled: async (_poolId, agentId, enabled) => {
        await this.azdoCall('setAgentEnabled');
        const a = this.agents.get(agentId);
        if (!a) throw Object.assign(new Error(`agent ${agentId} not found`), { kind: 'notFound', status: 404 });
        a.enabled = enabled;
        if (enabled) this.scheduleDispatch();
      },
      deleteAgent: async (_poolId, agentId) => {
        await this.azdoCall('deleteAgent');
        const a = this.agents.get(agentId);
        if (!a) return;
        if (a.assignedRequestId !== undefined) this.violate('busyRegistrationDeleted', `registration ${a.name} deleted while it held job ${a.assignedRequestId}`);
        this.agents.delete(agentId);
      },
    };
  }

  /** The ACI port for the controller `owner` (only its groups are listed). */
  computePort(owner: string): ComputePort {
    return {
      listGroups: async () => {
        this.count('arm', 'listGroups');
        await this.clock.sleep(this.opts.armListLatencyMs);
        const out: OwnedGroup[] = [];
        for (const m of this.machines.values()) {
          if (m.owner !== owner || m.kind !== 'aci') continue;
          // A list item carries provisioningState but no instanceView.
          out.push({ name: m.name, pool: m.pool, profile: m.profile.name, createdAt: m.createdAtTag, provisioningState: m.provisioningState, placeholder: m.placeholder });
        }
        return out;
      },
      getGroup: async (name) => {
        this.count('arm', 'getGroup');
        await this.clock.sleep(this.opts.armGetLatencyMs);
        const m = this.machines.get(name);
        if (!m || m.owner !== owner) return undefined;
        const d: GroupDetail = { name, provisioningState: m.provisioningState };
        if (m.instanceState !== undefined) d.instanceState = m.instanceState;
        if (m.exitCode !== undefined) d.exitCode = m.exitCode;
        if (m.detail !== undefined) d.detail = m.detail;
        return d;
      },
      createGroup: async (launch: AgentLaunch) => {
        this.count('arm', 'createGroup');
        await this.clock.sleep(this.opts.armCreateLatencyMs);
        this.checkCreate(owner, launch.profile);
        if (launch.token !== this.canary) this.violate('wrongToken', `group ${launch.name} launched without the Key Vault PAT`);
        if (this.machines.has(launch.name)) {
          // ARM PUT on an existing name is an update, not a second group.
          this.bump('createOnExistingName');
          return;
        }
        this.startMachine('aci', owner, launch.name, launch.pool, launch.profile, launch.placeholder, launch.createdAt);
      },
      deleteGroup: async (name) => {
        this.count('arm', 'deleteGroup');
        await this.clock.sleep(this.opts.armDeleteLatencyMs);
        const m = this.machines.get(name);
        if (!m || m.owner !== owner) return; // 404 counts as done
        this.removeMachine(name, owner);
      },
      getLogs: async (name) => {
        this.count('arm', 'getLogs');
        await this.clock.sleep(this.opts.armGetLatencyMs);
        const m = this.machines.get(name);
        return m ? `Determining matching Azure Pipelines agent...\n${m.detail ?? 'no error'}` : undefined;
      },
    };
  }

  /** Quota and throttling for a create (ACI or a KEDA pod on virtual nodes). Throws like ArmError. */
  checkCreate(owner: string, profile: ProfileConfig): void {
    if (this.failRng.chance(this.opts.throttleRate)) {
      this.bump('throttled');
      throw new ArmLikeError('throttled', 429, 'Too many requests (injected throttling); retry after 30 s');
    }
    const live = [...this.machines.values()].filter((m) => m.kind === 'aci');
    if (live.length >= this.opts.maxGroupsPerRegion) {
      this.bump('quotaErrors');
      throw new ArmLikeError('quota', 409, `ContainerGroupQuotaReached: ${this.opts.maxGroupsPerRegion} container groups per region`);
    }
    const perProfile = this.opts.maxGroupsPerProfile;
    if (perProfile !== undefined && live.filter((m) => m.owner === owner && m.profile.name === profile.name).length >= perProfile) {
      this.bump('quotaErrors');
      throw new ArmLikeError('quota', 409, `ContainerGroupQuotaReached: ${perProfile} container groups for profile ${profile.name} (injected)`);
    }
  }

  /** Count an API call made by a baseline controller (which talks to the world directly). */
  countCall(kind: 'azdo' | 'arm', op: string): void {
    this.count(kind, op);
  }

  secretPort(): SecretPort {
    return { getToken: async () => this.canary, invalidate: () => undefined };
  }

  poolName(id: number): string | undefined {
    return this.poolNames.get(id);
  }
}

/** What an agent of a profile advertises: profile capabilities, env vars, Agent.OS, Agent.Name. */
export function capabilitiesOf(profile: ProfileConfig, name: string): CapabilityIndex {
  return indexCapabilities({ ...profile.env, ...profile.capabilities, 'Agent.OS': agentOsCapability(profile.os), 'Agent.Name': name }, false);
}
