/**
 * Our controller as several instances sharing one pool lease (a Functions app scaled out, or the
 * app plus a CLI `reconcile`): each instance has its own PassCoordinator over the simulated lease
 * (src/sim/lease.ts), its own timer, and receives a share of the webhooks; every pass is the REAL
 * reconcile pass, its writes fenced by the instance's lease exactly as src/app/runtime.ts does.
 *
 * Every write is audited against the lease's truth: a create, delete, disable/enable or unregister
 * made while the instance does not hold an unexpired lease is recorded as a `writeWithoutLease`
 * violation (counted per operation in `world.counters`). `fencing: false` runs the same instances
 * without the fence (writes unchecked against the lease), as a control that the audit can fail.
 */
import type { ProfileConfig } from '../config/schema.js';
import { keepsIdleAgents } from '../core/standby.js';
import { PassCoordinator } from '../reconcile/coordinator.js';
import {
  fenceDeps,
  MemoryArrivalsInbox,
  memoryPoolStateStore,
  type AzureDevOpsPort,
  type PoolStateStore,
  type ComputePort,
} from '../ports/index.js';
import { poolsOf, reconcile, type ReconcileOptions } from '../reconcile/pass.js';
import { createLogger } from '../util/log.js';
import type { VirtualClock } from './clock.js';
import { simReconcileOptions, type Controller, type OursOptions } from './controllers.js';
import type { SimPoolLock } from './lease.js';
import { Rng, deriveSeed } from './rng.js';
import { simWebhookArrival } from './azdo-model.js';
import type { World } from './world.js';

export interface InstancesOptions {
  lock: SimPoolLock;
  count: number;
  /** Fence the writes with the lease (default true). */
  fencing?: boolean;
}

export class LeasedOursController implements Controller {
  readonly policy = 'ours' as const;
  passes = 0;
  errors = 0;
  /** Passes whose pool result reported a lost lease. */
  leaseLostPasses = 0;
  private readonly rng: Rng;
  private readonly opts: ReconcileOptions;
  private readonly coordinators: PassCoordinator[] = [];
  private readonly poolStates: PoolStateStore[];
  private readonly inboxes: MemoryArrivalsInbox[];
  private readonly entropy: number[];

  constructor(
    private readonly world: World,
    private readonly clock: VirtualClock,
    profiles: readonly ProfileConfig[],
    seed: number,
    private readonly o: OursOptions & { instances: InstancesOptions },
  ) {
    this.rng = new Rng(deriveSeed(seed, 'ours:instances'));
    this.opts = simReconcileOptions(profiles, o);
    this.poolStates = Array.from({ length: o.instances.count }, () => memoryPoolStateStore());
    this.inboxes = Array.from({ length: o.instances.count }, () => new MemoryArrivalsInbox());
    // Disjoint entropy per instance: names made in the same millisecond never collide.
    this.entropy = Array.from({ length: o.instances.count }, (_, i) => i * 36 ** 10);
  }

  private logger(instance: number) {
    const canary = this.world.canary;
    return createLogger(
      (level, line) => {
        if (line.includes(canary))
          this.world.violate({
            kind: 'secretLogged',
            by: 'ours',
            instance,
            detail: 'the agent PAT appeared in a log line',
          });
        if (level === 'error') this.errors++;
        this.o.onLog?.(level, line);
      },
      { instance },
    );
  }

  /** Records any write made while `instance` does not hold the pool's lease. */
  private audited(instance: number, pool: string) {
    const lock = this.o.instances.lock;
    const check = (op: string, what: string) => {
      if (lock.holds(instance, pool)) return;
      this.world.bump(`writeWithoutLease.${op}`);
      this.world.violate({
        kind: 'writeWithoutLease',
        by: 'ours',
        instance,
        pool,
        op,
        target: what,
        detail: `instance ${instance}: ${op} ${what} without holding the lease of pool ${pool}`,
      });
    };
    const azdo: AzureDevOpsPort = this.world.azdoPort();
    const compute: ComputePort = this.world.computePort('ours');
    return {
      azdo: {
        ...azdo,
        setAgentEnabled: async (p, a, enabled) => (
          check('setAgentEnabled', `agent ${a}`),
          azdo.setAgentEnabled(p, a, enabled)
        ),
        deleteAgent: async (p, a) => (check('deleteAgent', `agent ${a}`), azdo.deleteAgent(p, a)),
      } satisfies AzureDevOpsPort,
      compute: {
        ...compute,
        createGroup: async (l) => (check('createGroup', l.name), compute.createGroup(l)),
        deleteGroup: async (n) => (check('deleteGroup', n), compute.deleteGroup(n)),
      } satisfies ComputePort,
    };
  }

  start(): void {
    const pools = poolsOf(this.opts.profiles);
    const n = this.o.instances.count;
    for (let i = 0; i < n; i++) {
      const logger = this.logger(i);
      this.coordinators.push(
        new PassCoordinator({
          lock: this.o.instances.lock.forInstance(i, logger),
          logger,
          instance: `i${i}`,
          run: async (pool, _reasons, lease) => {
            this.passes++;
            const deps = {
              ...this.audited(i, pool),
              secrets: this.world.secretPort(),
              clock: this.clock,
              logger,
              poolState: this.poolStates[i]!,
              arrivals: this.inboxes[i]!,
              // A seeded counter per instance, 12 base-36 characters, disjoint ranges.
              entropy: () => (this.entropy[i] = this.entropy[i]! + 1).toString(36).padStart(12, '0'),
            };
            const result = await reconcile(
              this.opts,
              this.o.instances.fencing === false ? deps : fenceDeps(deps, lease),
              [pool],
            );
            if (result.pools.some((p) => p.leaseLost)) this.leaseLostPasses++;
            this.o.onPass?.(result);
            return result;
          },
        }),
      );
    }
    const standbyPools = new Set(this.opts.profiles.filter(keepsIdleAgents).map((p) => p.pool));
    this.world.listener = (e) => {
      if (e.type === 'running' && !standbyPools.has(e.pool)) return;
      const i = this.rng.int(n);
      const target = this.coordinators[i]!;
      const arrival = simWebhookArrival(e, this.clock.nowMs());
      this.clock.after(this.rng.uniform(this.o.webhookDelaySec[0], this.o.webhookDelaySec[1]) * 1000, () => {
        this.inboxes[i]!.add(e.pool, [arrival]);
        void target.requestAll([e.pool], 'webhook');
      });
    };
    this.coordinators.forEach((c, i) => {
      const tick = () => {
        void c.requestAll(pools, 'timer');
        this.clock.after(this.o.timerSec * 1000, tick);
      };
      this.clock.after((i * this.o.timerSec * 1000) / n, tick);
    });
  }
}
