/**
 * In-memory versions of the ports that hold state (tests, the CLI without storage, the simulator).
 * The storage adapters (src/storage) implement the same ports on blobs.
 */
import { randomUUID } from 'node:crypto';
import { poolKey } from '../core/pools.js';
import type { BackoffState } from '../core/types.js';
import type { WarmState } from '../core/warm/index.js';
import { LeaseLost } from './fence.js';
import type { BackoffStore, PoolLease, PoolLockPort } from './index.js';

export function memoryBackoffStore(): BackoffStore {
  const m = new Map<string, BackoffState>();
  const warm = new Map<string, WarmState>();
  return {
    get: (p) => m.get(p),
    set: (p, s) => (s ? m.set(p, s) : m.delete(p)),
    all: () => Object.fromEntries(m),
    getWarm: (p) => warm.get(p),
    setWarm: (p, s) => void warm.set(p, s),
  };
}

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
