/**
 * In-memory versions of the ports that hold state (tests, the CLI without storage, the simulator).
 * The storage adapters (src/storage) implement the same ports on blobs.
 */
import { randomUUID } from 'node:crypto';
import { poolKey } from '../core/pools.js';
import { emptyExpectations } from '../core/expectations.js';
import type { WebhookArrival } from '../core/types.js';
import { LeaseLost } from './fence.js';
import type { ArrivalsInbox, PoolLease, PoolLockPort, PoolState, PoolStateStore } from './types.js';

export function emptyPoolState(): PoolState {
  return { backoff: {}, warm: {}, expected: emptyExpectations() };
}

/** A copy one level deep: what a caller does to a loaded or saved state does not reach the store. */
function copyState(s: PoolState): PoolState {
  return {
    backoff: { ...s.backoff },
    warm: { ...s.warm },
    ...(s.history ? { history: structuredClone(s.history) } : {}),
    expected: { creates: { ...s.expected.creates }, deletes: { ...s.expected.deletes } },
    ...(s.version !== undefined ? { version: s.version } : {}),
  };
}

/**
 * Pool state in this process, per pool (poolKey), versioned like the blob (a save over a state
 * saved since its load is refused). `roundTrip` passes each state through this transform when it
 * is saved (the simulator: JSON and the blob's parser, so nothing survives that a blob would drop).
 */
export function memoryPoolStateStore(roundTrip: (s: PoolState) => PoolState = copyState): PoolStateStore {
  const byPool = new Map<string, PoolState>();
  let versions = 0;
  return {
    load: async (pool) => copyState(byPool.get(poolKey(pool)) ?? emptyPoolState()),
    save: async (pool, state) => {
      const stored = byPool.get(poolKey(pool));
      if (stored?.version !== state.version) throw new PoolStateConflict(pool);
      const version = String(++versions);
      byPool.set(poolKey(pool), { ...roundTrip(state), version });
      return version;
    },
  };
}

/** The pool's state was saved by someone else since it was loaded: reload, never overwrite. */
export class PoolStateConflict extends Error {
  constructor(pool: string) {
    super(`the state of pool '${pool}' changed since it was read (another holder of the lease saved it)`);
    this.name = 'PoolStateConflict';
  }
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
