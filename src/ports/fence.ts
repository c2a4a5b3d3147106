/**
 * Fencing: no write without the pool lease.
 *
 * A `Fence` answers one question before every write of a pass (create, delete, disable/enable,
 * unregister): is the pool's lease still ours, and was it renewed recently enough that it cannot
 * have expired? `fenceDeps` wraps the write methods of the ports in one place; a write through a
 * closed fence throws `LeaseLost` without reaching the service, and the pass stops on it (its
 * remaining actions report 'lease lost'). Reads are never fenced.
 *
 * `LeaseGuard` is the bookkeeping shared by every lease implementation (blob, simulated): it
 * latches. Once a renewal failed for any reason, or the last successful renewal is older than
 * `freshForMs` (shorter than the lease duration, so a renewal that hangs closes the fence before
 * the lease can expire), the lease is lost for good and the fence stays closed; it says so in one
 * log line. The next trigger takes a new lease and starts clean.
 */
import { errorKind, PortError } from './errors.js';
import type { AzureDevOpsPort, ComputePort, Fence, Logger, PoolStateStore } from './types.js';

export class LeaseLost extends PortError {
  readonly kind = 'leaseLost';
  constructor(
    readonly pool: string,
    readonly why?: string,
  ) {
    super(`pool lease lost for '${pool}'${why ? ` (${why})` : ''}: no further writes this pass`);
    this.name = 'LeaseLost';
  }
}

export function isLeaseLost(err: unknown): err is LeaseLost {
  return errorKind(err) === 'leaseLost';
}

/** A fence that is always open: callers that hold no lease (dry runs, the single-instance simulator, tests). */
export const OPEN_FENCE: Fence = { held: () => true, assert: () => undefined };

export interface LeaseGuardOptions {
  pool: string;
  /** Milliseconds since the epoch (Date.now, or a virtual clock). */
  now: () => number;
  /** The lease duration. */
  leaseMs: number;
  /** How long a renewal keeps the fence open; must be shorter than leaseMs. */
  freshForMs: number;
  logger?: Logger;
  /** Called once when the lease becomes lost (stop the renewal timer). */
  onLost?: () => void;
}

/** The freshness / lost-latch bookkeeping of one held lease. */
export class LeaseGuard implements Fence {
  private renewedAt: number;
  private lostCause: string | undefined;
  private done = false;

  constructor(
    private readonly o: LeaseGuardOptions,
    /** When the acquire request was sent (validity is counted from before the server's answer). */
    acquiredAt: number,
  ) {
    if (!(o.freshForMs > 0 && o.freshForMs < o.leaseMs))
      throw new RangeError('freshForMs must be positive and shorter than the lease duration');
    this.renewedAt = acquiredAt;
  }

  get lost(): boolean {
    return this.lostCause !== undefined;
  }

  /** A renewal sent at `sentAt` succeeded. */
  renewed(sentAt: number): void {
    if (!this.lost) this.renewedAt = Math.max(this.renewedAt, sentAt);
  }

  /** The lease is gone (renewal failed, stale, or taken). Idempotent; logs once. */
  markLost(cause: string): void {
    if (this.lost || this.done) return;
    this.lostCause = cause;
    this.o.logger?.error('pool lease lost: the pass stops writing; the next trigger starts clean', {
      pool: this.o.pool,
      cause,
    });
    this.o.onLost?.();
  }

  /** Released on purpose: no longer held, nothing to log. */
  released(): void {
    this.done = true;
  }

  held(): boolean {
    if (this.lost || this.done) return false;
    const age = this.o.now() - this.renewedAt;
    if (age >= this.o.freshForMs)
      this.markLost(
        `no successful renewal for ${Math.round(age)} ms (bound ${this.o.freshForMs} ms, lease ${this.o.leaseMs} ms)`,
      );
    return !this.lost;
  }

  assert(): void {
    if (!this.held()) throw new LeaseLost(this.o.pool, this.lostCause ?? 'released');
  }
}

/** The ports with every write fenced; reads pass through untouched. Built once per pass. */
export function fencePorts(
  ports: { azdo: AzureDevOpsPort; compute: ComputePort },
  fence: Fence,
): { azdo: AzureDevOpsPort; compute: ComputePort } {
  const { azdo, compute } = ports;
  return {
    azdo: {
      resolvePoolId: (n) => azdo.resolvePoolId(n),
      listJobRequests: (id) => azdo.listJobRequests(id),
      listAgents: (id) => azdo.listAgents(id),
      getAgent: (id, a) => azdo.getAgent(id, a),
      listAgentRequests: (id, a) => azdo.listAgentRequests(id, a),
      findAgent: (id, name) => azdo.findAgent(id, name),
      ...(azdo.getAgentCapabilities
        ? { getAgentCapabilities: (id: number, a: number) => azdo.getAgentCapabilities!(id, a) }
        : {}),
      ...(azdo.getParallelJobs ? { getParallelJobs: () => azdo.getParallelJobs!() } : {}),
      setAgentEnabled: async (id, a, enabled) => {
        fence.assert();
        return azdo.setAgentEnabled(id, a, enabled);
      },
      deleteAgent: async (id, a) => {
        fence.assert();
        return azdo.deleteAgent(id, a);
      },
    },
    compute: {
      listGroups: () => compute.listGroups(),
      getGroup: (n) => compute.getGroup(n),
      ...(compute.getLogs ? { getLogs: (n: string) => compute.getLogs!(n) } : {}),
      createGroup: async (l) => {
        fence.assert();
        return compute.createGroup(l);
      },
      deleteGroup: async (n) => {
        fence.assert();
        return compute.deleteGroup(n);
      },
    },
  };
}

/** `deps` with fenced write ports (any object carrying `azdo` and `compute`, e.g. ReconcileDeps); its pool state, if any, is saved only under the lease. */
export function fenceDeps<D extends { azdo: AzureDevOpsPort; compute: ComputePort; poolState?: PoolStateStore }>(
  deps: D,
  fence: Fence,
): D {
  const store = deps.poolState;
  const poolState: PoolStateStore | undefined = store && {
    load: (pool) => store.load(pool),
    save: async (pool, state) => {
      fence.assert();
      return store.save(pool, state);
    },
  };
  return { ...deps, ...fencePorts(deps, fence), ...(poolState ? { poolState } : {}) };
}
