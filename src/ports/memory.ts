/**
 * In-memory versions of the ports that hold state (tests, the CLI without storage, the simulator).
 * The storage adapters (src/storage) implement the same ports on blobs.
 */
import { randomUUID } from 'node:crypto';
import { poolKey } from '../core/pools.js';
import type { WebhookArrival } from '../core/types.js';
import { LeaseLost } from './fence.js';
import type { ArrivalsInbox, PoolLease, PoolLockPort, PoolState, PoolStateStore } from './types.js';

export function emptyPoolState(): PoolState {
  return { backoff: {}, warm: {} };
}

/** A copy one level deep: what a caller does to a loaded or saved state does not reach the store. */
function copyState(s: PoolState): PoolState {
  return {
    backoff: { ...s.backoff },
    warm: { ...s.warm },
    ...(s.history ? { history: structuredClone(s.history) } : {}),
  };
}

/**
 * Pool state in this process, per pool (poolKey). `roundTrip` passes each state through this
 * transform when it is saved (the simulator: JSON and the blob's parser, so nothing survives a
 * pass that a blob would drop).
 */
export function memoryPoolStateStore(roundTrip: (s: PoolState) => PoolState = copyState): PoolStateStore {
  const byPool = new Map<string, PoolState>();
  return {
    load: async (pool) => copyState(byPool.get(poolKey(pool)) ?? emptyPoolState()),
    save: async (pool, state) => void byPool.set(poolKey(pool), roundTrip(state)),
  };
}

/** Webhook arrivals kept per pool until a pass takes them (the oldest go first beyond it). */
export const MAX_PENDING_ARRIVALS = 1000;

/** The arrivals inbox in this process: the webhook's queue handler adds, the pass takes. */
export class MemoryArrivalsInbox implements ArrivalsInbox {
  private readonly byPool = new Map<string, WebhookArrival[]>();

  add(pool: string, arrivals: readonly WebhookArrival[]): void {
    if (arrivals.length === 0) return;
    this.keep(pool, [...(this.byPool.get(poolKey(pool)) ?? []), ...arrivals]);
  }

  take(pool: string): WebhookArrival[] {
    const out = this.byPool.get(poolKey(pool)) ?? [];
    this.byPool.delete(poolKey(pool));
    return out;
  }

  putBack(pool: string, arrivals: readonly WebhookArrival[]): void {
    if (arrivals.length === 0) return;
    this.keep(pool, [...arrivals, ...(this.byPool.get(poolKey(pool)) ?? [])]);
  }

  private keep(pool: string, all: WebhookArrival[]): void {
    this.byPool.set(poolKey(pool), all.slice(Math.max(0, all.length - MAX_PENDING_ARRIVALS)));
  }
}

/** No webhook arrivals (a pass asked for by the CLI, status, tests without webhooks). */
export const NULL_ARRIVALS: ArrivalsInbox = { take: () => [], putBack: () => undefined };

/**
 * The same protocol in one process (CLI, simulator, tests without storage). Leases never expire
 * here: a holder that never releases blocks the pool until the process ends.
 */
export class MemoryPoolLock implements PoolLockPort {
  private readonly gens = new Map<string, number>();
  private readonly held = new Map<string, string>();

  async bump(pool: string): Promise<number> {
    const k = poolKey(pool);
    const n = (this.gens.get(k) ?? 0) + 1;
    this.gens.set(k, n);
    return n;
  }

  async generation(pool: string): Promise<number> {
    return this.gens.get(poolKey(pool)) ?? 0;
  }

  async tryAcquire(pool: string): Promise<PoolLease | undefined> {
    const k = poolKey(pool);
    if (this.held.has(k)) return undefined;
    const leaseId = randomUUID();
    this.held.set(k, leaseId);
    let released = false;
    return {
      pool,
      leaseId,
      lost: false,
      held: () => !released,
      assert: () => {
        if (released) throw new LeaseLost(pool, 'released');
      },
      release: async () => {
        if (released) return;
        released = true;
        if (this.held.get(k) === leaseId) this.held.delete(k);
      },
    };
  }
}
