/**
 * Back-off state shared by every instance of the app: one small JSON blob per pool next to the
 * pool's lease (`pools/<slug>-<hash>.backoff.json`). A pass loads its pool's blob before it runs
 * and writes it back after, under the pool's lease, so there is one writer per blob. A storage
 * failure never stops a pass: the state is an optimisation (fewer doomed creates), not truth.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { profileOfKey } from '../core/placements.js';
import { poolKey } from '../core/pools.js';
import type { BackoffState } from '../core/types.js';
import { parseWarmState, type WarmState } from '../core/warm/index.js';
import { poolBlobBase } from './lock.js';
import type { BackoffStore } from '../ports/index.js';

/** State is keyed by poolKey: a pool asked for under another spelling is the same pool. */
export class BlobBackoffStore implements BackoffStore {
  /** profile name → poolKey of its pool. */
  private readonly poolOf: Map<string, string>;
  private readonly byPool = new Map<string, Record<string, BackoffState>>();
  /** poolKey → profile → warm-agent estimator state (the blob's `_warm` key; profile names cannot start with `_`). */
  private readonly warmByPool = new Map<string, Record<string, WarmState>>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly container: ContainerClient,
    /** profile name → pool name, from the settings. */
    profiles: ReadonlyArray<{ name: string; pool: string }>,
  ) {
    this.poolOf = new Map(profiles.map((p) => [p.name, poolKey(p.pool)]));
  }

  blobName(pool: string): string {
    return `${poolBlobBase(pool)}.backoff.json`;
  }

  /** `key`: a profile name, or `profile@i` for its fallback placement i (src/core/placements.ts). */
  get(key: string): BackoffState | undefined {
    const pool = this.poolOf.get(profileOfKey(key));
    return pool === undefined ? undefined : this.byPool.get(pool)?.[key];
  }

  set(profile: string, state: BackoffState | undefined): void {
    const pool = this.poolOf.get(profileOfKey(profile));
    if (pool === undefined) return;
    const entries = { ...this.byPool.get(pool) };
    if (state) entries[profile] = state;
    else delete entries[profile];
    this.byPool.set(pool, entries);
    this.dirty.add(pool);
  }

  getWarm(profile: string): WarmState | undefined {
    const pool = this.poolOf.get(profile);
    return pool === undefined ? undefined : this.warmByPool.get(pool)?.[profile];
  }

  setWarm(profile: string, state: WarmState): void {
    const pool = this.poolOf.get(profile);
    if (pool === undefined) return;
    this.warmByPool.set(pool, { ...this.warmByPool.get(pool), [profile]: state });
    this.dirty.add(pool);
  }

  all(): Record<string, BackoffState | undefined> {
    return Object.assign({}, ...this.byPool.values()) as Record<string, BackoffState | undefined>;
  }

  /** Reads the pool's state; a missing or unreadable blob means no back-off. */
  async load(name: string): Promise<void> {
    const pool = poolKey(name);
    if (this.dirty.has(pool)) return; // never overwrite what this process has not written yet
    try {
      const buf = await this.container.getBlockBlobClient(this.blobName(pool)).downloadToBuffer();
      const text = buf.toString('utf8');
      const names = new Set([...this.poolOf].filter(([, p]) => p === pool).map(([n]) => n));
      this.byPool.set(pool, parse(text, names));
      this.warmByPool.set(pool, parseWarm(text, names));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) {
        this.byPool.set(pool, {});
        this.warmByPool.set(pool, {});
      } else throw err;
    }
  }

  /** Writes the pool's state if this process changed it. */
  async flush(name: string): Promise<void> {
    const pool = poolKey(name);
    if (!this.dirty.has(pool)) return;
    const warm = this.warmByPool.get(pool);
    const body = JSON.stringify({
      ...this.byPool.get(pool),
      ...(warm && Object.keys(warm).length > 0 ? { [WARM_KEY]: warm } : {}),
    });
    await this.container.getBlockBlobClient(this.blobName(pool)).upload(body, Buffer.byteLength(body), {
      blobHTTPHeaders: { blobContentType: 'application/json' },
    });
    this.dirty.delete(pool);
  }
}

const WARM_KEY = '_warm';

/** The warm-agent states of profiles that still exist; a malformed one starts afresh. */
function parseWarm(text: string, profiles: Set<string>): Record<string, WarmState> {
  let raw: unknown;
  try {
    raw = (JSON.parse(text) as Record<string, unknown> | null)?.[WARM_KEY];
  } catch {
    return {};
  }
  if (!raw || typeof raw !== 'object') return {};
  const out: Record<string, WarmState> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const s = profiles.has(k) ? parseWarmState(v) : undefined;
    if (s) out[k] = s;
  }
  return out;
}

/** Keeps only well-formed entries of profiles that still exist. */
function parse(text: string, profiles: Set<string>): Record<string, BackoffState> {
  const out: Record<string, BackoffState> = {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return out;
  }
  if (!raw || typeof raw !== 'object') return out;
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const s = v as Partial<BackoffState> | null;
    if (
      profiles.has(profileOfKey(k)) &&
      s &&
      typeof s.until === 'string' &&
      typeof s.failures === 'number' &&
      typeof s.reason === 'string'
    ) {
      const counted = Array.isArray(s.counted) ? s.counted.filter((x): x is string => typeof x === 'string') : [];
      out[k] = {
        until: s.until,
        failures: s.failures,
        reason: s.reason,
        ...(typeof s.since === 'string' ? { since: s.since } : {}),
        ...(typeof s.at === 'string' ? { at: s.at } : {}),
        ...(counted.length ? { counted } : {}),
      };
    }
  }
  return out;
}
