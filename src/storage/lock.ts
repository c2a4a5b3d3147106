/**
 * One writer per pool: a blob lease per pool in AzureWebJobsStorage (Azurite locally), plus a
 * per-pool "requested" generation that every trigger bumps.
 *
 * Two blobs per pool in one container (default `azp-autoscaler-locks`):
 *   `pools/{slug}-{hash}.lock`  the leased blob (empty). Holding its lease = the right to run a pass.
 *   `pools/{slug}-{hash}.gen`   metadata `requested` = a counter that only grows, written with
 *                               If-Match ETag conditions (412 → re-read and retry).
 * They are separate blobs because a leased blob refuses metadata writes without the lease id, and
 * requesters must bump the generation precisely while someone else holds the lease.
 *
 * Pool names are case-insensitive in Azure DevOps, so the blob name is derived from the lowercased
 * name: a readable slug plus a SHA-256 prefix (any pool name maps to a valid, unique blob name).
 *
 * A lease is acquired for `leaseSeconds` (15–60, Azure's limits) and renewed every third of that
 * while the holder works; a holder that crashes stops renewing and its lease expires on its own.
 * The lease is also the pass's fence (src/ports/fence.ts): a renewal that fails for any
 * reason (409, 5xx, unreachable, timeout) loses it at once, and so does a renewal older than
 * `freshForMs` (a renewal that hangs); a lost lease never comes back, and no write goes through it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { BlobServiceClient, type BlobLeaseClient, type ContainerClient } from '@azure/storage-blob';
import { poolKey } from '../core/pools.js';
import { LeaseGuard, type Logger, type PoolLease, type PoolLockPort } from '../ports/index.js';
import { errorText } from '../util/log.js';

export const DEFAULT_LOCK_CONTAINER = 'azp-autoscaler-locks';

export interface BlobPoolLockOptions {
  /** Lease duration in seconds, 15–60. Default 30. */
  leaseSeconds?: number;
  /** Renewal period in ms. Default a third of the lease duration; less than half of it. */
  renewEveryMs?: number;
  /**
   * A successful renewal keeps the fence open this long (ms). Default: two renewal periods, at most
   * the lease duration minus one period. Must lie between the renewal period and the lease duration.
   */
  freshForMs?: number;
  /**
   * Client-side limit on every storage request of the lock, ms (default 10 s; a renewal gets at most
   * the freshness bound). The SDK's `tryTimeoutInMs` did not end a request the server never
   * answered: such a connection held a renewal, a release and with them the pool's pass cycle
   * forever (test/integration/fencing.test.ts, mode 'hang').
   */
  requestTimeoutMs?: number;
  /** Attempts of a conditional generation write before giving up. Default 50. */
  maxBumpAttempts?: number;
  logger?: Logger;
}

/** A blob (or any) name for a pool: readable slug + hash of the lowercased name. */
export function poolBlobBase(pool: string): string {
  const lower = poolKey(pool);
  const slug =
    lower
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'pool';
  const hash = createHash('sha256').update(lower, 'utf8').digest('hex').slice(0, 16);
  return `pools/${slug}-${hash}`;
}

function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class BlobLease implements PoolLease {
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private taken = false;
  private renewing: Promise<void> | undefined;
  private readonly guard: LeaseGuard;

  constructor(
    readonly pool: string,
    readonly leaseId: string,
    private readonly client: BlobLeaseClient,
    acquiredAt: number,
    timing: { leaseMs: number; renewEveryMs: number; freshForMs: number },
    private readonly logger: Logger | undefined,
    private readonly onRenew: () => void,
    private readonly requestTimeoutMs: number,
  ) {
    this.guard = new LeaseGuard(
      {
        pool,
        now: Date.now,
        leaseMs: timing.leaseMs,
        freshForMs: timing.freshForMs,
        onLost: () => this.stop(),
        ...(logger ? { logger } : {}),
      },
      acquiredAt,
    );
    this.timer = setInterval(() => {
      if (this.renewing || this.released || this.guard.lost) return;
      this.renewing = this.renew().finally(() => (this.renewing = undefined));
    }, timing.renewEveryMs);
    this.timer.unref?.();
  }

  get lost(): boolean {
    return this.guard.lost;
  }

  held(): boolean {
    return this.guard.held();
  }

  assert(): void {
    this.guard.assert();
  }

  private async renew(): Promise<void> {
    const sentAt = Date.now();
    try {
      await this.client.renewLease({ abortSignal: AbortSignal.timeout(this.requestTimeoutMs) });
      this.guard.renewed(sentAt);
      this.onRenew();
    } catch (err) {
      if (this.released) return;
      // Any failure loses the lease: 409 = it expired and someone else took it (or it was broken);
      // a 5xx, a refused connection or a timeout leaves us unable to know, and the lease may expire
      // before the next tick gets through. Writes stop now; the next trigger takes a fresh lease.
      this.taken = statusOf(err) === 409;
      this.guard.markLost(`renewal failed: ${errorText(err)}`);
    }
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.guard.released();
    this.stop();
    await this.renewing?.catch(() => undefined);
    if (this.taken) return; // someone else holds it now
    try {
      await this.client.releaseLease({ abortSignal: AbortSignal.timeout(this.requestTimeoutMs) });
    } catch (err) {
      // It expires by itself; log so a slow pass shows up.
      this.logger?.warn('pool lease release failed (it will expire)', { pool: this.pool, error: errorText(err) });
    }
  }
}

/** PoolLockPort on Azure Blob Storage leases. */
export class BlobPoolLock implements PoolLockPort {
  readonly leaseSeconds: number;
  readonly renewEveryMs: number;
  readonly freshForMs: number;
  readonly requestTimeoutMs: number;
  /** Count of successful renewals (tests, status). */
  renewals = 0;
  private readonly maxBumpAttempts: number;
  private readonly logger: Logger | undefined;
  private containerReady: Promise<void> | undefined;
  private readonly blobsReady = new Map<string, Promise<void>>();

  constructor(
    readonly container: ContainerClient,
    options: BlobPoolLockOptions = {},
  ) {
    const lease = options.leaseSeconds ?? 30;
    if (!Number.isInteger(lease) || lease < 15 || lease > 60)
      throw new RangeError('leaseSeconds must be a whole number from 15 to 60');
    this.leaseSeconds = lease;
    this.renewEveryMs = options.renewEveryMs ?? Math.floor((lease * 1000) / 3);
    if (!(this.renewEveryMs > 0 && this.renewEveryMs < (lease * 1000) / 2))
      throw new RangeError('renewEveryMs must be positive and less than half the lease duration');
    this.freshForMs = options.freshForMs ?? Math.min(2 * this.renewEveryMs, lease * 1000 - this.renewEveryMs);
    if (!(this.freshForMs > this.renewEveryMs && this.freshForMs < lease * 1000))
      throw new RangeError('freshForMs must lie between renewEveryMs and the lease duration');
    this.maxBumpAttempts = options.maxBumpAttempts ?? 50;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.logger = options.logger;
  }

  /** From an AzureWebJobsStorage connection string (Azurite's included). */
  static fromConnectionString(
    connectionString: string,
    options: BlobPoolLockOptions & { containerName?: string } = {},
  ): BlobPoolLock {
    const service = BlobServiceClient.fromConnectionString(connectionString, {
      retryOptions: { maxTries: 3, tryTimeoutInMs: 10_000 },
    });
    return new BlobPoolLock(service.getContainerClient(options.containerName ?? DEFAULT_LOCK_CONTAINER), options);
  }

  private signal(): { abortSignal: AbortSignal } {
    return { abortSignal: AbortSignal.timeout(this.requestTimeoutMs) };
  }

  lockBlobName(pool: string): string {
    return `${poolBlobBase(pool)}.lock`;
  }

  generationBlobName(pool: string): string {
    return `${poolBlobBase(pool)}.gen`;
  }

  private ensureContainer(): Promise<void> {
    if (!this.containerReady) {
      this.containerReady = this.container.createIfNotExists(this.signal()).then(() => undefined);
      this.containerReady.catch(() => (this.containerReady = undefined));
    }
    return this.containerReady;
  }

  /** Create the pool's two blobs unless they exist (once per process and pool). */
  private ensureBlobs(pool: string): Promise<void> {
    const key = poolBlobBase(pool);
    let p = this.blobsReady.get(key);
    if (!p) {
      p = (async () => {
        await this.ensureContainer();
        await Promise.all([
          this.createIfAbsent(this.lockBlobName(pool), { pool: encodeURIComponent(pool) }),
          this.createIfAbsent(this.generationBlobName(pool), { pool: encodeURIComponent(pool), requested: '0' }),
        ]);
      })();
      this.blobsReady.set(key, p);
      p.catch(() => this.blobsReady.delete(key));
    }
    return p;
  }

  private async createIfAbsent(name: string, metadata: Record<string, string>): Promise<void> {
    try {
      await this.container
        .getBlockBlobClient(name)
        .upload('', 0, { metadata, conditions: { ifNoneMatch: '*' }, ...this.signal() });
    } catch (err) {
      const s = statusOf(err);
      // 409 BlobAlreadyExists; 412 when it exists and is leased.
      if (s !== 409 && s !== 412) throw err;
    }
  }

  async generation(pool: string): Promise<number> {
    await this.ensureBlobs(pool);
    const props = await this.container.getBlockBlobClient(this.generationBlobName(pool)).getProperties(this.signal());
    return parseGeneration(props.metadata?.requested);
  }

  async bump(pool: string): Promise<number> {
    await this.ensureBlobs(pool);
    const blob = this.container.getBlockBlobClient(this.generationBlobName(pool));
    for (let attempt = 1; ; attempt++) {
      const props = await blob.getProperties(this.signal());
      const next = parseGeneration(props.metadata?.requested) + 1;
      try {
        await blob.setMetadata(
          { ...props.metadata, requested: String(next) },
          { conditions: { ifMatch: props.etag }, ...this.signal() },
        );
        return next;
      } catch (err) {
        if (statusOf(err) !== 412 || attempt >= this.maxBumpAttempts) throw err;
        // Lost the race: someone else bumped. Back off a little (jittered) and re-read.
        await sleep(Math.floor(Math.random() * Math.min(50, 2 * attempt)));
      }
    }
  }

  async tryAcquire(pool: string): Promise<PoolLease | undefined> {
    await this.ensureBlobs(pool);
    const leaseId = randomUUID();
    const client = this.container.getBlockBlobClient(this.lockBlobName(pool)).getBlobLeaseClient(leaseId);
    const sentAt = Date.now();
    try {
      await client.acquireLease(this.leaseSeconds, this.signal());
    } catch (err) {
      // 409 LeaseAlreadyPresent: another holder.
      if (statusOf(err) === 409) return undefined;
      throw err;
    }
    const timing = { leaseMs: this.leaseSeconds * 1000, renewEveryMs: this.renewEveryMs, freshForMs: this.freshForMs };
    return new BlobLease(
      pool,
      leaseId,
      client,
      sentAt,
      timing,
      this.logger?.child({ pool }),
      () => this.renewals++,
      Math.min(this.requestTimeoutMs, this.freshForMs),
    );
  }
}

function parseGeneration(v: string | undefined): number {
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}
