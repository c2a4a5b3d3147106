/**
 * The controllers compared by the simulator, all acting on the same kind of simulated world:
 *  - ours: the REAL reconcile pass (src/reconcile/pass.ts), triggered by webhooks (job queued /
 *    completed, and running where a pool keeps standby agents, delivered after 1–3 s, coalesced: a trigger during a pass causes one more pass) and
 *    by a timer (every 60 s).
 *  - keda: a model of KEDA's azure-pipelines scaler driving one ScaledJob per profile.
 *  - vmss: a model of Azure DevOps' VMSS elastic pools (one scale set per profile).
 * The baselines' modelling assumptions are written down in src/sim/README.md.
 */
import type { Ownership } from '../core/ownership.js';
import type { ProfileConfig } from '../config/schema.js';
import { agentOsCapability } from '../core/demands.js';
import { poolKey } from '../core/pools.js';
import { keepsIdleAgents } from '../core/standby.js';
import { reconcile, type PassResult, type ReconcileOptions } from '../reconcile/pass.js';
import { createLogger } from '../util/log.js';
import { MemoryArrivalsInbox } from '../ports/index.js';
import type { VirtualClock } from './clock.js';
import { Rng, deriveSeed } from './rng.js';
import { blobShapedPoolStateStore } from './warm-store.js';
import type { World } from './world.js';
import { simWebhookArrival } from './azdo-model.js';

export type PolicyName = 'ours' | 'keda' | 'vmss';
export const POLICIES: readonly PolicyName[] = ['ours', 'keda', 'vmss'];

export interface Controller {
  readonly policy: PolicyName;
  /** Schedule its triggers from now on. */
  start(): void;
  passes: number;
  errors: number;
  /** A pass is under way (the run lets it finish before judging the end state). */
  passInFlight?(): boolean;
}

export interface OursOptions {
  prefix: string;
  timerSec: number;
  webhookDelaySec: readonly [number, number];
  /** Called after every pass (invariant checks, tracing). */
  onPass?: (result: PassResult) => void;
  /** Every log line of the pass (for --verbose). */
  onLog?: (level: string, line: string) => void;
  reconcile?: Partial<ReconcileOptions>;
}

export class OursController implements Controller {
  readonly policy = 'ours' as const;
  passes = 0;
  errors = 0;
  webhooks = 0;
  coalesced = 0;
  private running = false;
  private pending = false;
  private readonly rng: Rng;
  private entropy: number;
  /** What the controller already said once (see ReconcileDeps.notices). */
  private readonly notices = new Set<string>();
  /** Ownership verdicts kept across passes (see ReconcileDeps.ownership). */
  private readonly ownership = new Map<string, Ownership>();
  private readonly opts: ReconcileOptions;

  constructor(
    private readonly world: World,
    private readonly clock: VirtualClock,
    profiles: readonly ProfileConfig[],
    seed: number,
    private readonly o: OursOptions,
  ) {
    this.rng = new Rng(deriveSeed(seed, 'ours'));
    this.entropy = this.rng.int(36 ** 4);
    this.opts = simReconcileOptions(profiles, o);
  }

  start(): void {
    // As the production handler: 'running' only matters to pools that keep standby agents.
    const standbyPools = new Set(this.opts.profiles.filter(keepsIdleAgents).map((p) => poolKey(p.pool)));
    this.world.listener = (e) => {
      if (e.type === 'running' && !standbyPools.has(poolKey(e.pool))) return;
      this.webhooks++;
      // What the handler keeps of the delivery (job id; queue time when it waits) reaches the next
      // pass, as the reconcile queue's message does through the coordinator.
      const arrival = simWebhookArrival(e, this.clock.nowMs());
      this.clock.after(this.rng.uniform(this.o.webhookDelaySec[0], this.o.webhookDelaySec[1]) * 1000, () => {
        this.arrivals.add(e.pool, [arrival]);
        this.trigger();
      });
    };
    const tick = () => {
      this.trigger();
      this.clock.after(this.o.timerSec * 1000, tick);
    };
    tick();
  }

  passInFlight(): boolean {
    return this.running;
  }

  /** A trigger during a pass causes exactly one more pass. */
  trigger(): void {
    if (this.running) {
      if (this.pending) this.coalesced++;
      this.pending = true;
      return;
    }
    void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    this.passes++;
    const canary = this.world.canary;
    const logger = createLogger((level, line) => {
      if (line.includes(canary))
        this.world.violate({ kind: 'secretLogged', by: 'ours', detail: 'the agent PAT appeared in a log line' });
      if (level === 'error') this.errors++;
      this.o.onLog?.(level, line);
    });
    const result = await reconcile(this.opts, {
      azdo: this.world.azdoPort(),
      compute: this.world.computePort('ours'),
      secrets: this.world.secretPort(),
      clock: this.clock,
      logger,
      poolState: this.poolState,
      arrivals: this.arrivals,
      // Unique, deterministic entropy for agent names (a seeded counter, 12 base-36 characters).
      entropy: () => (++this.entropy).toString(36).padStart(12, '0'),
      notices: this.notices,
      ownership: this.ownership,
    });
    this.running = false;
    this.o.onPass?.(result);
    if (this.pending) {
      this.pending = false;
      void this.run();
    }
  }

  /** Carries the warm-agent state as the pool's state blob does (JSON, parsed back each pass). */
  private readonly poolState = blobShapedPoolStateStore();
  /** Webhook arrivals per pool delivered since the last pass started (the pass takes them). */
  private readonly arrivals = new MemoryArrivalsInbox();
}

// ------------------------------------------------------------------------------------------ KEDA

export interface KedaOptions {
  pollingIntervalSec: number;
  /** targetPipelinesQueueLength (default 1). */
  targetQueueLength: number;
}

/** KEDA's demand check: every job demand (Agent.Version stripped) must equal one of the scaler's demand strings. */
export function kedaDemandsMatch(jobDemands: readonly string[], scalerDemands: readonly string[]): boolean {
  const job = jobDemands.filter((d) => !d.startsWith('Agent.Version'));
  let count = 0;
  for (const d of job) for (const s of scalerDemands) if (d === s) count++;
  return count === job.length;
}

/** The `demands` string a user would give each ScaledJob: the profile's capabilities, both forms. */
export function kedaScalerDemands(p: ProfileConfig): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries({ ...p.capabilities, 'Agent.OS': agentOsCapability(p.os) })) {
    out.push(k);
    if (v) out.push(`${k} -equals ${v}`);
  }
  return out;
}

/**
 * A baseline that samples every profile on its own period (first sample at a random phase), after
 * registering one offline agent per profile so jobs can queue at zero agents.
 */
abstract class PeriodicController<O> implements Controller {
  abstract readonly policy: 'keda' | 'vmss';
  passes = 0;
  errors = 0;
  protected seq = 0;
  private readonly rng: Rng;

  constructor(
    protected readonly world: World,
    protected readonly clock: VirtualClock,
    protected readonly profiles: readonly ProfileConfig[],
    seed: number,
    protected readonly o: O,
    salt: 'keda' | 'vmss',
  ) {
    this.rng = new Rng(deriveSeed(seed, salt));
  }

  protected every(
    periodSec: number,
    registration: (p: ProfileConfig) => string,
    tick: (p: ProfileConfig) => void,
  ): void {
    for (const p of this.profiles) this.world.registerManualAgent(p.pool, registration(p), p);
    for (const p of this.profiles) {
      const run = () => {
        tick(p);
        this.clock.after(periodSec * 1000, run);
      };
      this.clock.after(this.rng.uniform(0, periodSec) * 1000, run);
    }
  }

  abstract start(): void;
}

export class KedaController extends PeriodicController<KedaOptions> {
  readonly policy = 'keda' as const;

  constructor(world: World, clock: VirtualClock, profiles: readonly ProfileConfig[], seed: number, o: KedaOptions) {
    super(world, clock, profiles, seed, o, 'keda');
  }

  start(): void {
    // The documented setup: one offline agent registered by hand per ScaledJob, so jobs can queue.
    this.every(
      this.o.pollingIntervalSec,
      (p) => `keda-${p.name}-template`,
      (p) => void this.poll(p),
    );
  }

  private async poll(p: ProfileConfig): Promise<void> {
    this.passes++;
    const poolId = this.world.poolId(p.pool);
    this.world.countCall('azdo', 'listJobRequests');
    await this.clock.sleep(this.world.opts.azdoLatencyMs);
    const demands = kedaScalerDemands(p);
    // KEDA counts every job request without a result (queued AND running) whose demands match.
    const queueLength = this.world
      .unfinishedJobs(poolId)
      .filter((j) => !j.result && kedaDemandsMatch(j.trace.demands, demands)).length;
    const mine = [...this.world.machines.values()].filter((m) => m.owner === 'keda' && m.profile.name === p.name);
    // Finished Kubernetes jobs are removed by the history limits; completed pods do not bill.
    for (const m of mine) {
      if (m.instanceState === 'Succeeded' || m.instanceState === 'Failed' || m.provisioningState === 'Failed') {
        this.world.countCall('arm', 'k8sDeleteJob');
        this.world.removeMachine(m.name, 'keda');
      }
    }
    // Active Kubernetes jobs: pods pending or running, idle agents included.
    const running = this.world.liveMachines('keda').filter((m) => m.profile.name === p.name).length;
    const maxScale = Math.min(Math.ceil(queueLength / this.o.targetQueueLength), p.maxAgents);
    // ScaledJob default scaling strategy: maxScale − runningJobCount, within maxReplicaCount.
    const create = Math.max(0, Math.min(maxScale - running, p.maxAgents - running));
    for (let i = 0; i < create; i++) {
      this.world.countCall('arm', 'k8sCreateJob');
      try {
        this.world.checkCreate('keda', p);
      } catch {
        this.errors++;
        break;
      }
      const name = `keda-${p.name}-${(this.seq++).toString(36).padStart(5, '0')}`;
      this.world.startMachine('aci', 'keda', name, p.pool, p, false, this.clock.now().toISOString());
    }
  }
}

// ------------------------------------------------------------------------------------------ VMSS

export interface VmssOptions {
  sampleIntervalSec: number;
  /** "Delay in minutes before deleting excess idle agents" (default 30). */
  idleDelayMin: number;
  /** Scale-out increment as a fraction of the maximum pool size (assumed 25%). */
  stepFraction: number;
}

export class VmssController extends PeriodicController<VmssOptions> {
  readonly policy = 'vmss' as const;

  constructor(world: World, clock: VirtualClock, profiles: readonly ProfileConfig[], seed: number, o: VmssOptions) {
    super(world, clock, profiles, seed, o, 'vmss');
  }

  /** Standby agents: elastic pools have one number; take the profile's largest standby count. */
  static standby(p: ProfileConfig): number {
    return Math.max(p.minAgents, ...p.standby.map((w) => w.count));
  }

  start(): void {
    // An elastic pool accepts jobs at zero agents; model that with an offline registration.
    this.every(
      this.o.sampleIntervalSec,
      (p) => `vmss-${p.name}-pool`,
      (p) => this.sample(p),
    );
  }

  private sample(p: ProfileConfig): void {
    this.passes++;
    this.world.countCall('azdo', 'listAgents');
    this.world.countCall('azdo', 'listJobRequests');
    const now = this.clock.nowMs();
    const vms = [...this.world.machines.values()].filter((m) => m.owner === 'vmss' && m.profile.name === p.name);
    const idle = vms.filter((m) => m.phase === 'idle');
    const queued = this.world.queuedJobs().filter((j) => this.world.profileFor(j.demands)?.name === p.name).length;
    const standby = VmssController.standby(p);
    if (idle.length < standby || (queued > 0 && idle.length === 0)) {
      const step = Math.max(standby - idle.length, Math.ceil(this.o.stepFraction * p.maxAgents));
      const add = Math.min(step, p.maxAgents - vms.length);
      if (add <= 0) return;
      this.world.countCall('arm', 'vmssScaleOut');
      for (let i = 0; i < add; i++) {
        const name = `vmss-${p.name}-${(this.seq++).toString(36).padStart(5, '0')}`;
        this.world.startMachine('vm', 'vmss', name, p.pool, p, false, new Date(now).toISOString());
      }
      return;
    }
    if (idle.length > standby) {
      const stale = idle
        .filter((m) => m.idleSinceMs !== undefined && now - m.idleSinceMs >= this.o.idleDelayMin * 60_000)
        .sort((a, b) => (a.idleSinceMs ?? 0) - (b.idleSinceMs ?? 0))
        .slice(0, idle.length - standby);
      if (stale.length === 0) return;
      this.world.countCall('arm', 'vmssDeleteInstances');
      for (const m of stale) {
        const agentId = m.agentId;
        this.world.removeMachine(m.name, 'vmss');
        if (agentId !== undefined) this.world.unregister(agentId);
      }
    }
  }
}

/** The reconcile options our simulated controller runs with, one instance or several. */
export function simReconcileOptions(profiles: readonly ProfileConfig[], o: OursOptions): ReconcileOptions {
  return {
    prefix: o.prefix,
    // The simulated agents report their owner as AZP_AUTOSCALER_ID (src/sim/compute.ts `register`).
    identity: { autoscalerId: 'ours' },
    profiles,
    dryRun: false,
    concurrency: 8,
    createConcurrency: 25,
    ...o.reconcile,
  };
}
