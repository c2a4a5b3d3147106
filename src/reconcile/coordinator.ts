/**
 * PassCoordinator: every trigger (timer, webhook, CLI) asks for a pass through `request(pool,
 * reason)`; the coordinator makes sure that, across every instance sharing the lock:
 *   - no two passes for one pool run at once (the pool's lease);
 *   - a trigger that arrives while a pass runs causes exactly one more pass after it;
 *   - no trigger is lost (but many triggers during one pass collapse into that one extra pass).
 *
 * Protocol (per pool):
 *   requester: bump the pool's generation, then try to take the lease. Lease taken → become the
 *              holder. Lease busy → return: the holder will see the bump.
 *   holder:    g = generation; run the pass; re-read the generation; changed → run again.
 *              Unchanged → release the lease, read the generation once more, and if it moved (a
 *              bump landed between the check and the release, whose requester saw the lease busy)
 *              take the lease again and loop.
 * Within one process, requests for a pool that is already being handled here do not touch the
 * storage at all: they mark the pool dirty and the running cycle does one more round for them.
 *
 * `request` never rejects: coordination failures (storage down) are logged and the pass is
 * skipped — failing closed keeps "one writer per pool"; the next timer tick tries again.
 */
import { poolKey } from '../core/pools.js';
import type { Fence, Logger, PoolLease, PoolLockPort } from '../ports/index.js';
import { errorText } from '../util/log.js';

/**
 * Runs one pass for one pool; `reasons` are the coalesced triggers (may be empty for remote ones).
 * `fence` is the pool's lease: every write of the pass must go through it (fenceDeps). What the
 * webhook deliveries named reaches the pass through its arrivals inbox (src/ports), not from here.
 */
export type PassRunner = (pool: string, reasons: readonly string[], fence: Fence) => Promise<unknown>;

export interface PassCoordinatorOptions {
  lock: PoolLockPort;
  run: PassRunner;
  logger: Logger;
  /** Shown in logs to tell instances apart (default: a short random id). */
  instance?: string;
  /** Reasons kept per pass in logs; the rest are counted. Default 10. */
  maxReasons?: number;
  /**
   * What happens after a pass that could not run, as logged: the app's timer tries again
   * (default 'the next trigger retries'); a one-off run (the CLI) says what the user can do.
   */
  retryNote?: string;
}

export interface PoolPassView {
  pool: string;
  /** A cycle (bump / acquire / pass) is in progress in this process. */
  active: boolean;
  /** Passes this process ran for the pool. */
  passes: number;
  /** Requests this process received for the pool. */
  requests: number;
  /** Requests handed over to another instance that held the lease. */
  handedOver: number;
  lastPassAt?: string;
  lastPassMs?: number;
  lastReasons?: string[];
  lastError?: string;
}

interface PoolState {
  view: PoolPassView;
  active: Promise<void> | undefined;
  /** A request arrived after the current round started. */
  dirty: boolean;
  reasons: string[];
}

export class PassCoordinator {
  readonly instance: string;
  private readonly lock: PoolLockPort;
  private readonly runner: PassRunner;
  private readonly logger: Logger;
  private readonly maxReasons: number;
  private readonly retryNote: string;
  private readonly pools = new Map<string, PoolState>();

  constructor(options: PassCoordinatorOptions) {
    this.lock = options.lock;
    this.runner = options.run;
    this.instance = options.instance ?? Math.random().toString(36).slice(2, 8);
    this.logger = options.logger.child({ instance: this.instance });
    this.maxReasons = options.maxReasons ?? 10;
    this.retryNote = options.retryNote ?? 'the next trigger retries';
  }

  /**
   * Ask for a pass of `pool`. Resolves once this request is covered: a pass that started after it
   * finished here, or it was handed to the instance holding the lease. Never rejects.
   */
  request(pool: string, reason: string): Promise<void> {
    const st = this.state(pool);
    st.view.requests++;
    st.reasons.push(reason);
    if (st.active) {
      st.dirty = true;
      return st.active;
    }
    st.active = this.cycle(pool, st);
    return st.active;
  }

  /** `request` for several pools at once (they run in parallel: different leases). */
  async requestAll(pools: readonly string[], reason: string): Promise<void> {
    await Promise.all(pools.map((p) => this.request(p, reason)));
  }

  /** Resolves when no cycle is in progress in this process. */
  async idle(): Promise<void> {
    for (;;) {
      const active = [...this.pools.values()].map((s) => s.active).filter((p): p is Promise<void> => p !== undefined);
      if (active.length === 0) return;
      await Promise.all(active);
    }
  }

  /** Per-pool counters of this process (for /api/status). */
  views(): PoolPassView[] {
    return [...this.pools.values()].map((s) => ({ ...s.view, active: s.active !== undefined }));
  }

  private state(pool: string): PoolState {
    const key = poolKey(pool);
    let st = this.pools.get(key);
    if (!st) {
      st = {
        view: { pool, active: false, passes: 0, requests: 0, handedOver: 0 },
        active: undefined,
        dirty: false,
        reasons: [],
      };
      this.pools.set(key, st);
    }
    return st;
  }

  private async cycle(pool: string, st: PoolState): Promise<void> {
    const log = this.logger.child({ pool });
    try {
      do {
        st.dirty = false;
        try {
          await this.lock.bump(pool);
          const lease = await this.lock.tryAcquire(pool);
          if (!lease) {
            st.view.handedOver += st.reasons.length;
            log.info('pass requested; another instance holds the pool and will run it', {
              reasons: this.reasonsOf(st.reasons.splice(0)),
            });
            continue;
          }
          await this.hold(pool, st, lease, log);
        } catch (err) {
          st.view.lastError = errorText(err);
          log.error(`cannot coordinate the pool (lock storage): no pass this time; ${this.retryNote}`, {
            error: errorText(err),
            reasons: this.reasonsOf(st.reasons.splice(0)),
          });
          break;
        }
      } while (st.dirty);
    } finally {
      st.active = undefined;
    }
  }

  private async hold(pool: string, st: PoolState, first: PoolLease, log: Logger): Promise<void> {
    let lease: PoolLease | undefined = first;
    let seen = 0;
    while (lease) {
      try {
        seen = await this.lock.generation(pool);
        for (;;) {
          st.dirty = false;
          await this.runPass(pool, st, lease, log);
          // Lost (the lease logged it once): leave the pool to its next holder. A later trigger
          // here starts clean with a new lease.
          if (!lease.held()) return;
          const now = await this.lock.generation(pool);
          if (now === seen && !st.dirty) break;
          seen = now;
        }
      } finally {
        await lease.release();
      }
      // A bump between the last check and the release found the lease busy: run for it.
      if ((await this.lock.generation(pool)) === seen) return;
      lease = await this.lock.tryAcquire(pool);
      if (!lease) log.info('more requests after the pass; another instance took the pool');
    }
  }

  private async runPass(pool: string, st: PoolState, fence: Fence, log: Logger): Promise<void> {
    const reasons = this.reasonsOf(st.reasons.splice(0));
    const started = Date.now();
    st.view.passes++;
    const n = st.view.passes;
    log.info('pass start', { pass: n, reasons: reasons.length ? reasons : ['requested by another instance'] });
    try {
      await this.runner(pool, reasons, fence);
      delete st.view.lastError;
    } catch (err) {
      st.view.lastError = errorText(err);
      log.error('pass failed', { pass: n, error: errorText(err) });
    }
    st.view.lastPassAt = new Date(started).toISOString();
    st.view.lastPassMs = Date.now() - started;
    st.view.lastReasons = reasons;
    log.info('pass end', { pass: n, ms: st.view.lastPassMs });
  }

  private reasonsOf(all: string[]): string[] {
    const unique = [...new Set(all)];
    if (unique.length <= this.maxReasons) return unique;
    return [...unique.slice(0, this.maxReasons), `+${unique.length - this.maxReasons} more`];
  }
}
