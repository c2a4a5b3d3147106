/**
 * In-memory LRU with a TTL for delivery ids: a redelivered notification is recognised and not
 * re-triggered. Best effort only (per instance, lost on restart) — correctness never depends on
 * it, because passes are level-triggered and serialized per pool by the lease.
 */
export interface DedupOptions {
  /** Entries kept at most (oldest evicted first). Default 5000. */
  max?: number;
  /** How long an id is remembered, ms. Default 1 hour (Azure DevOps retries within ~36 h on
   * probation, but those retries follow failures we never cause for valid deliveries). */
  ttlMs?: number;
  now?: () => number;
}

export class DedupCache {
  private readonly map = new Map<string, number>();
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: DedupOptions = {}) {
    this.max = Math.max(1, options.max ?? 5000);
    this.ttlMs = options.ttlMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.map.size;
  }

  /** True when `key` was seen within the TTL. */
  has(key: string): boolean {
    const at = this.map.get(key);
    if (at === undefined) return false;
    if (this.now() - at >= this.ttlMs) {
      this.map.delete(key);
      return false;
    }
    return true;
  }

  add(key: string): void {
    this.map.delete(key);
    this.map.set(key, this.now());
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      this.map.delete(oldest.value);
    }
  }

  /** Record `key`; returns true when it was already present (a duplicate). */
  seen(key: string): boolean {
    if (this.has(key)) return true;
    this.add(key);
    return false;
  }
}
