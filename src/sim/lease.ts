/**
 * The pool lease in virtual time, shared by several simulated instances of the autoscaler: the
 * same protocol as BlobPoolLock (acquire for a fixed duration, renew every period, release; a
 * generation counter per pool) and the same fence (LeaseGuard from src/ports/fence.ts), with
 * the storage faults the fencing issue is about:
 *   - a storage call of an instance fails with probability `failRate` (a 5xx, a refused
 *     connection, a timeout: the caller only sees an error);
 *   - outage windows per instance, during which every storage call of that instance fails;
 *   - every call takes `latencyMs` of virtual time.
 * Expiry follows Azure: a lease past its duration can be taken by anyone; its old holder may
 * still renew it as long as nobody did. `holds(instance, pool)` is the truth the property test
 * audits every write against.
 */
import { randomUUID } from 'node:crypto';
import { poolKey } from '../core/pools.js';
import { LeaseGuard, type Logger, type PoolLease, type PoolLockPort } from '../ports/index.js';
import type { VirtualClock } from './clock.js';
import type { Rng } from './rng.js';

export interface SimLeaseOptions {
  leaseMs: number;
  renewEveryMs: number;
  /** Fence bound (shorter than leaseMs). */
  freshForMs: number;
  latencyMs: number;
  failRate: number;
  outages: readonly { instance: number; fromMs: number; toMs: number }[];
}

interface Held {
  leaseId: string;
  instance: number;
  expiresMs: number;
}

const storageError = (what: string) =>
  Object.assign(new Error(`injected storage failure: ${what}`), { statusCode: 503 });

export class SimPoolLock {
  private readonly held = new Map<string, Held>();
  private readonly gens = new Map<string, number>();
  /** Storage calls that failed, by operation. */
  readonly failures: Record<string, number> = {};
  /** Leases that were lost while held (renewal failed or went stale). */
  lostLeases = 0;

  constructor(
    private readonly clock: VirtualClock,
    private readonly rng: Rng,
    readonly o: SimLeaseOptions,
  ) {}

  private key(pool: string): string {
    return poolKey(pool);
  }

  /** True when `instance` holds an unexpired lease on `pool` right now. */
  holds(instance: number, pool: string): boolean {
    const h = this.held.get(this.key(pool));
    return h !== undefined && h.instance === instance && this.clock.nowMs() < h.expiresMs;
  }

  private async call(instance: number, op: string): Promise<void> {
    await this.clock.sleep(this.o.latencyMs);
    const now = this.clock.nowMs();
    const down = this.o.outages.some((w) => w.instance === instance && now >= w.fromMs && now < w.toMs);
    if (down || this.rng.chance(this.o.failRate)) {
      this.failures[op] = (this.failures[op] ?? 0) + 1;
      throw storageError(op);
    }
  }

  /** The lock as instance `instance` sees it. */
  forInstance(instance: number, logger?: Logger): PoolLockPort {
    return {
      bump: async (pool) => {
        await this.call(instance, 'bump');
        const n = (this.gens.get(this.key(pool)) ?? 0) + 1;
        this.gens.set(this.key(pool), n);
        return n;
      },
      generation: async (pool) => {
        await this.call(instance, 'generation');
        return this.gens.get(this.key(pool)) ?? 0;
      },
      tryAcquire: async (pool) => {
        const sentAt = this.clock.nowMs();
        await this.call(instance, 'acquire');
        const k = this.key(pool);
        const cur = this.held.get(k);
        if (cur && this.clock.nowMs() < cur.expiresMs) return undefined;
        const h: Held = { leaseId: randomUUID(), instance, expiresMs: this.clock.nowMs() + this.o.leaseMs };
        this.held.set(k, h);
        return this.lease(pool, h, sentAt, logger);
      },
    };
  }

  private lease(pool: string, h: Held, acquiredAt: number, logger: Logger | undefined): PoolLease {
    const k = this.key(pool);
    let released = false;
    const guard = new LeaseGuard(
      {
        pool,
        now: () => this.clock.nowMs(),
        leaseMs: this.o.leaseMs,
        freshForMs: this.o.freshForMs,
        onLost: () => this.lostLeases++,
        ...(logger ? { logger } : {}),
      },
      acquiredAt,
    );
    const renew = async () => {
      if (released || guard.lost) return;
      const sentAt = this.clock.nowMs();
      try {
        await this.call(h.instance, 'renew');
        const cur = this.held.get(k);
        if (!cur || cur.leaseId !== h.leaseId)
          throw Object.assign(new Error('LeaseIdMismatchWithLeaseOperation'), { statusCode: 409 });
        cur.expiresMs = this.clock.nowMs() + this.o.leaseMs;
        guard.renewed(sentAt);
      } catch (err) {
        if (!released) guard.markLost(`renewal failed: ${(err as Error).message}`);
      }
      if (!released && !guard.lost) this.clock.after(this.o.renewEveryMs, () => void renew());
    };
    this.clock.after(this.o.renewEveryMs, () => void renew());
    return {
      pool,
      leaseId: h.leaseId,
      get lost() {
        return guard.lost;
      },
      held: () => guard.held(),
      assert: () => guard.assert(),
      release: async () => {
        if (released) return;
        released = true;
        guard.released();
        try {
          await this.call(h.instance, 'release');
          if (this.held.get(k)?.leaseId === h.leaseId) this.held.delete(k);
        } catch {
          // It expires by itself.
        }
      },
    };
  }
}
