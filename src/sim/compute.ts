/**
 * The simulated compute: ACI container groups (and VMSS virtual machines for the VMSS baseline),
 * their boot, their agent's life, quota and throttling.
 * - ACI group: accepted → provisioning (lognormal) → container running → agent boot (lognormal) →
 *   registration (offline) → online a few seconds later → idle. Failures (faults.ts): image pull
 *   (provisioning Failed), crash before registering (instance Failed, exit 1). A `--once` agent runs
 *   one job, goes offline and its container exits (Succeeded); its registration stays for the
 *   controller to remove (the shipped start.sh no longer unregisters; `imageUnregisters` models the
 *   opt-in). A placeholder registers and exits without running jobs.
 * - VMSS VM: provisioning + agent extension, then idle; after each job it is reimaged (offline a few
 *   minutes, still billed) and comes back idle.
 * Billing (billing.ts) runs from ARM accepting the create until the container exits or the group
 * is deleted (a terminated restartPolicy=Never group stops billing; a VM bills until deleted).
 */
import type { ProfileConfig } from '../config/schema.js';
import { IDENTITY_ENV_NAME, identityEnv } from '../core/ownership.js';
import {
  capabilitiesOf,
  reportedCapabilities,
  type AgentHost,
  type AzureDevOpsModel,
  type SimAgent,
  type SimJob,
} from './azdo-model.js';
import type { VirtualClock } from './clock.js';
import { SimPortError, type Faults } from './faults.js';
import { coldExtra } from './cold-path.js';
import type { Rng } from './rng.js';
import type { Violation } from './violations.js';
import type { WorldOptions } from './world-options.js';

export type MachineKind = 'aci' | 'vm';
export type MachinePhase =
  'provisioning' | 'booting' | 'registered' | 'idle' | 'busy' | 'reimaging' | 'exited' | 'failed' | 'deleted';

/** Billing stops now unless it already has (a terminated restartPolicy=Never group, a deleted one). */
function stopBilling(m: Machine, nowMs: number): void {
  if (m.billEndMs === undefined) m.billEndMs = nowMs;
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
  /** The placement tag the group was created with (`index:location[/spot]`). */
  placement?: string;
}

/** Where compute reports what it counts and what breaks the contract. */
export interface Recorder {
  bump(counter: string): void;
  violate(v: Omit<Violation, 'atMs'>): void;
}

/** The Retry-After (ms) of an injected ARM 429. */
const THROTTLE_RETRY_AFTER_MS = 30_000;

const LIVE_PHASES: readonly MachinePhase[] = ['provisioning', 'booting', 'registered', 'idle', 'busy', 'reimaging'];

export class ComputeModel implements AgentHost {
  readonly machines = new Map<string, Machine>();
  /** Machines ever created, deleted ones included (billing). */
  readonly allMachines: Machine[] = [];

  constructor(
    private readonly clock: VirtualClock,
    private readonly opts: WorldOptions,
    /** Latencies and boot times. */
    private readonly rng: Rng,
    private readonly faults: Faults,
    private readonly azdo: AzureDevOpsModel,
    private readonly record: Recorder,
    /** The cold path's own draws (image pull, Windows network: cold-path.ts), apart from the latencies. */
    private readonly coldRng: Rng,
  ) {}

  /** Start a machine (ACI group or VMSS VM). Quota and throttling are checked by the caller. */
  startMachine(
    kind: MachineKind,
    owner: string,
    name: string,
    pool: string,
    profile: ProfileConfig,
    placeholder: boolean,
    createdAtTag: string,
    where?: { location: string; placement: string },
  ): Machine {
    const now = this.clock.nowMs();
    const m: Machine = {
      name,
      kind,
      owner,
      pool,
      poolId: this.azdo.poolId(pool),
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
    if (where) m.placement = where.placement;
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
    const extra = coldExtra(this.opts.coldModel, profile, this.coldRng);
    const provision =
      (this.rng.lognormal(this.opts.provisionMedianSec, this.opts.provisionSigma) + extra.provisionSec) * 1000;
    const boot = (this.rng.lognormal(this.opts.bootMedianSec, this.opts.bootSigma) + extra.bootSec) * 1000;
    const { pullFails, crashes, lateRegisterAtMs, lateOnlineAtMs } = this.faults.groupFate(
      placeholder,
      profile.bootTimeoutSec,
      now,
    );
    const noCapacity = where !== undefined && this.faults.capacityFailsLate(where.location);
    if (lateRegisterAtMs !== undefined) m.lateRegisterAtMs = lateRegisterAtMs;
    if (lateOnlineAtMs !== undefined) m.lateOnlineAtMs = lateOnlineAtMs;
    this.clock.after(provision, () => {
      if (m.phase === 'deleted') return;
      if (noCapacity) {
        // Accepted, then failed by ARM: the group is Failed with ACI's InsufficientCapacity event.
        this.record.bump('lateCapacityFailures');
        m.provisioningState = 'Failed';
        m.phase = 'failed';
        m.detail = `InsufficientCapacity.: The requested resource is not available in the location '${where.location}' at this moment. Please retry with a different resource request or in another location. (simulated)`;
        stopBilling(m, this.clock.nowMs());
        return;
      }
      if (pullFails) {
        this.record.bump('imagePullFailures');
        m.provisioningState = 'Failed';
        m.phase = 'failed';
        m.detail = 'Failed to pull image: manifest unknown (injected)';
        stopBilling(m, this.clock.nowMs());
        return;
      }
      m.provisioningState = 'Succeeded';
      m.instanceState = 'Running';
      m.phase = 'booting';
      if (crashes) {
        this.clock.after(boot / 2, () => {
          if (m.phase === 'deleted') return;
          this.record.bump('crashesBeforeRegister');
          m.detail = 'agent configuration failed (injected crash)';
          m.phase = 'failed';
          this.exitContainer(m, 'Failed', 1);
        });
        return;
      }
      const late = m.lateRegisterAtMs !== undefined ? Math.max(0, m.lateRegisterAtMs - this.clock.nowMs()) : 0;
      if (late > boot) this.record.bump('lateRegistrations');
      this.clock.after(Math.max(boot, late), () => {
        if (m.phase !== 'booting') return;
        this.register(m, false);
      });
    });
    return m;
  }

  private register(m: Machine, vm: boolean): void {
    const now = this.clock.nowMs();
    const image = this.azdo.imageOf(m.profile);
    const a = this.azdo.register(m.name, m.poolId, capabilitiesOf(m.profile, m.name, image), {
      machine: m.name,
      placeholder: m.placeholder,
      manual: false,
    });
    // Like the real spec (src/aci/spec.ts): the owner's identity and the agent name are in the
    // container's environment, which the agent reports as system capabilities.
    a.reported = {
      ...reportedCapabilities(m.profile, m.name, image),
      ...identityEnv({ autoscalerId: m.owner }),
      [IDENTITY_ENV_NAME]: m.name,
    };
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
    if (late > onlineAfter) this.record.bump('lateOnline');
    this.clock.after(Math.max(onlineAfter, late), () => {
      if (m.phase !== 'registered' || !this.azdo.agents.has(a.id)) return;
      this.azdo.setStatus(a, 'online');
      this.becomeIdle(m);
    });
  }

  private machineOf(agent: SimAgent): Machine | undefined {
    return agent.machine ? this.machines.get(agent.machine) : undefined;
  }

  idleSince(agent: SimAgent): number | undefined {
    return this.machineOf(agent)?.idleSinceMs;
  }

  jobStarted(agent: SimAgent): void {
    const m = this.machineOf(agent);
    if (!m) return;
    this.leaveIdle(m);
    m.phase = 'busy';
  }

  jobFinished(agent: SimAgent, job: SimJob): void {
    const m = this.machineOf(agent);
    if (!m) return;
    m.busyMs += (job.finishedMs ?? this.clock.nowMs()) - (job.assignedMs ?? this.clock.nowMs());
    m.jobsRun++;
    if (m.kind === 'vm') {
      // recycleAfterEachUse: offline while reimaging, then back idle with the same registration.
      this.azdo.setStatus(agent, 'offline');
      m.phase = 'reimaging';
      const reimage = this.rng.lognormal(this.opts.vmReimageMedianSec, 0.2) * 1000;
      this.clock.after(reimage, () => {
        if (m.phase !== 'reimaging') return;
        this.azdo.setStatus(agent, 'online');
        this.becomeIdle(m);
      });
      return;
    }
    // --once: the agent exits and goes offline; its registration stays for the controller to remove
    // (with `imageUnregisters`, the image removes it unless that fails); the container exits 0.
    this.azdo.setStatus(agent, 'offline');
    m.phase = 'exited';
    const cleanupFails = this.faults.cleanupFails();
    this.clock.after(this.opts.cleanupSec * 1000, () => {
      if (m.deletedMs !== undefined) return;
      if (!this.opts.imageUnregisters) {
        // the registration stays: the controller's job
      } else if (cleanupFails) this.record.bump('cleanupFailures');
      else if (this.azdo.agents.get(agent.id)) this.azdo.unregister(agent.id);
      this.exitContainer(m, 'Succeeded', 0);
    });
  }

  private becomeIdle(m: Machine): void {
    m.phase = 'idle';
    m.idleSinceMs = this.clock.nowMs();
    m.idleStint = (m.idleStint ?? 0) + 1;
    this.scheduleBlip(m, m.idleStint);
    this.azdo.scheduleDispatch();
  }

  /** While idle, the agent may drop offline for a moment (listener reconnect, self-update) and come back. */
  private scheduleBlip(m: Machine, stint: number): void {
    if (m.placeholder) return;
    const blip = this.faults.nextBlip();
    if (!blip) return;
    const still = () => m.phase === 'idle' && m.idleStint === stint && m.deletedMs === undefined;
    this.clock.after(blip.gapMs, () => {
      const agent = m.agentId !== undefined ? this.azdo.agents.get(m.agentId) : undefined;
      if (!still() || !agent || agent.status !== 'online' || agent.assignedRequestId !== undefined) return;
      this.record.bump('offlineBlips');
      this.azdo.setStatus(agent, 'offline');
      this.clock.after(blip.lengthMs, () => {
        if (!still() || !this.azdo.agents.has(agent.id)) return;
        this.azdo.setStatus(agent, 'online');
        this.scheduleBlip(m, stint);
        this.azdo.scheduleDispatch();
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
    if (m.kind === 'aci') stopBilling(m, this.clock.nowMs());
  }

  /** Remove a machine now (`by`: the controller deleting it). Killing an agent that holds a job is a violation. */
  removeMachine(name: string, by: string): boolean {
    const m = this.machines.get(name);
    if (!m) return false;
    const now = this.clock.nowMs();
    const agent = m.agentId !== undefined ? this.azdo.agents.get(m.agentId) : undefined;
    if (agent && agent.assignedRequestId !== undefined) {
      const jobId = agent.assignedRequestId;
      const job = this.azdo.jobs.find((j) => j.id === jobId);
      this.record.violate({
        kind: 'busyGroupDeleted',
        by,
        profile: m.profile.name,
        group: name,
        agent: agent.name,
        job: jobId,
        detail: `${by} deleted ${name} while its agent ran job ${jobId}`,
      });
      if (job && !job.result) {
        this.azdo.abandon(job);
        m.busyMs += now - (job.assignedMs ?? now);
      }
      agent.assignedRequestId = undefined;
    }
    if (agent) this.azdo.setStatus(agent, 'offline');
    this.leaveIdle(m);
    m.phase = 'deleted';
    m.deletedMs = now;
    stopBilling(m, now);
    this.machines.delete(name);
    return true;
  }

  /** Live machines (not deleted) that count against maxAgents: not a placeholder, not finished. */
  liveMachines(owner?: string): Machine[] {
    return [...this.machines.values()].filter(
      (m) => (!owner || m.owner === owner) && !m.placeholder && LIVE_PHASES.includes(m.phase),
    );
  }

  /** Quota and throttling for a create (ACI or a KEDA pod on virtual nodes). Throws like ArmError. */
  checkCreate(owner: string, profile: ProfileConfig): void {
    if (this.faults.throttled()) {
      this.record.bump('throttled');
      // ARM's 429 "includes a Retry-After value, which specifies the number of seconds your
      // application should wait" (learn.microsoft.com, azure-resource-manager/management/request-limits-and-throttling).
      throw new SimPortError(
        'throttled',
        429,
        'Too many requests (injected throttling); retry after 30 s',
        'ArmError',
        THROTTLE_RETRY_AFTER_MS,
      );
    }
    const live = [...this.machines.values()].filter((m) => m.kind === 'aci');
    if (live.length >= this.opts.maxGroupsPerRegion) {
      this.record.bump('quotaErrors');
      throw new SimPortError(
        'quota',
        409,
        `ContainerGroupQuotaReached: ${this.opts.maxGroupsPerRegion} container groups per region`,
      );
    }
    const perProfile = this.opts.maxGroupsPerProfile;
    if (
      perProfile !== undefined &&
      live.filter((m) => m.owner === owner && m.profile.name === profile.name).length >= perProfile
    ) {
      this.record.bump('quotaErrors');
      throw new SimPortError(
        'quota',
        409,
        `ContainerGroupQuotaReached: ${perProfile} container groups for profile ${profile.name} (injected)`,
      );
    }
  }
}
