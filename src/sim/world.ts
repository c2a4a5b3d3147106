/**
 * The simulated world, put together: an Azure DevOps organisation (azdo-model.ts), a compute
 * layer of ACI container groups and VMSS virtual machines (compute.ts, billed per billing.ts),
 * seeded latencies and injected faults (faults.ts), and the same ports as the real adapters
 * (adapters.ts), so the REAL `reconcile()` drives this world. The baselines act on the same world
 * through the same state. The model and its assumptions: src/sim/README.md.
 *
 * The world records what breaks the scale-down contract as it happens (violations.ts); the
 * invariant checker (invariants.ts) adds what it finds after each pass and at the end.
 */
import type { ProfileConfig } from '../config/schema.js';
import type { Demand } from '../core/demands.js';
import type { AzureDevOpsPort, ComputePort, SecretPort } from '../ports/index.js';
import { simAzdoPort, simComputePort, simSecretPort } from './adapters.js';
import { AzureDevOpsModel, type SimAgent, type SimJob, type WorldEvent } from './azdo-model.js';
import type { VirtualClock } from './clock.js';
import { ComputeModel, type Machine, type Recorder } from './compute.js';
import { Faults } from './faults.js';
import { Rng, deriveSeed } from './rng.js';
import type { TraceJob } from './trace.js';
import type { Violation } from './violations.js';
import { DEFAULT_WORLD_OPTIONS, type WorldOptions } from './world-options.js';

export { ACI_PRICES, VM_PRICE } from './billing.js';
export { capabilitiesOf, type SimAgent, type SimJob, type WorldEvent } from './azdo-model.js';
export { SimPortError } from './faults.js';
export type { Machine, MachineKind, MachinePhase } from './compute.js';
export type { Violation, ViolationKind } from './violations.js';
export { DEFAULT_WORLD_OPTIONS, type WorldOptions } from './world-options.js';

export class World implements Recorder {
  readonly opts: WorldOptions;
  readonly azdo: AzureDevOpsModel;
  readonly compute: ComputeModel;
  readonly violations: Violation[] = [];
  readonly calls = { azdo: {} as Record<string, number>, arm: {} as Record<string, number> };
  readonly counters: Record<string, number> = {};
  readonly canary: string;
  /** Pools the Azure DevOps adapter has resolved (the real one caches the id per process). */
  readonly resolvedPools = new Set<string>();

  constructor(
    readonly clock: VirtualClock,
    readonly profiles: readonly ProfileConfig[],
    seed: number,
    opts: Partial<WorldOptions> = {},
  ) {
    this.opts = { ...DEFAULT_WORLD_OPTIONS, ...opts };
    const latency = new Rng(deriveSeed(seed, 'world:latency'));
    this.canary = `sim-canary-${deriveSeed(seed, 'canary').toString(36)}-pat`;
    this.azdo = new AzureDevOpsModel(clock, this.opts, profiles, (c) => this.bump(c));
    this.compute = new ComputeModel(
      clock,
      this.opts,
      latency,
      new Faults(seed, this.opts),
      this.azdo,
      this,
      new Rng(deriveSeed(seed, 'world:cold')),
    );
    this.azdo.host = this.compute;
  }

  get jobs(): SimJob[] {
    return this.azdo.jobs;
  }

  get agents(): Map<number, SimAgent> {
    return this.azdo.agents;
  }

  get machines(): Map<string, Machine> {
    return this.compute.machines;
  }

  get allMachines(): Machine[] {
    return this.compute.allMachines;
  }

  /** Webhook-like notifications (job queued / running / completed). */
  get listener(): ((e: WorldEvent) => void) | undefined {
    return this.azdo.listener;
  }

  set listener(l: ((e: WorldEvent) => void) | undefined) {
    this.azdo.listener = l;
  }

  bump(counter: string): void {
    this.counters[counter] = (this.counters[counter] ?? 0) + 1;
  }

  violate(v: Omit<Violation, 'atMs'>): void {
    this.violations.push({ atMs: this.clock.nowMs(), ...v });
  }

  /** Count an API call (the port adapters, and the baselines, which talk to the world directly). */
  countCall(kind: 'azdo' | 'arm', op: string): void {
    this.calls[kind][op] = (this.calls[kind][op] ?? 0) + 1;
  }

  poolId(name: string): number {
    return this.azdo.poolId(name);
  }

  poolName(id: number): string | undefined {
    return this.azdo.poolName(id);
  }

  profileFor(demands: readonly Demand[]): ProfileConfig | undefined {
    return this.azdo.profileFor(demands);
  }

  scheduleTrace(jobs: readonly TraceJob[], epochMs: number): void {
    this.azdo.scheduleTrace(jobs, epochMs);
  }

  registerManualAgent(pool: string, name: string, profile: ProfileConfig): SimAgent {
    return this.azdo.registerManualAgent(pool, name, profile);
  }

  unregister(agentId: number): void {
    this.azdo.unregister(agentId);
  }

  queuedJobs(): SimJob[] {
    return this.azdo.queuedJobs();
  }

  unfinishedJobs(poolId: number): SimJob[] {
    return this.azdo.unfinishedJobs(poolId);
  }

  startMachine(...args: Parameters<ComputeModel['startMachine']>): Machine {
    return this.compute.startMachine(...args);
  }

  removeMachine(name: string, by: string): boolean {
    return this.compute.removeMachine(name, by);
  }

  liveMachines(owner?: string): Machine[] {
    return this.compute.liveMachines(owner);
  }

  checkCreate(owner: string, profile: ProfileConfig): void {
    this.compute.checkCreate(owner, profile);
  }

  azdoPort(): AzureDevOpsPort {
    return simAzdoPort(this);
  }

  /** The ACI port for the controller `owner` (only its groups are listed). */
  computePort(owner: string): ComputePort {
    return simComputePort(this, owner);
  }

  secretPort(): SecretPort {
    return simSecretPort(this);
  }
}
