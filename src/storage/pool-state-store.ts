/**
 * The pool's state (back-off, warm-agent estimator) shared by every instance of the app: one small
 * JSON blob per pool next to the pool's lease (`pools/<slug>-<hash>.backoff.json`, the name it had
 * when it held only back-off). A pass loads it once before it plans and saves it once after it
 * acted, under the pool's lease, so there is one writer per blob. A storage failure never stops a
 * pass: the state is an optimisation (fewer doomed creates, a learned λ), not truth.
 *
 * The format stays what older versions wrote and read: back-off entries at the top level keyed by
 * placement, the warm states under `_warm` (profile names cannot start with `_`).
 */
import type { ContainerClient } from '@azure/storage-blob';
import { profileOfKey } from '../core/placements.js';
import { parseHistory, type PoolHistory } from '../core/pool-history.js';
import { poolKey } from '../core/pools.js';
import type { BackoffState } from '../core/types.js';
import { parseWarmState, type WarmState } from '../core/warm/index.js';
import { poolBlobBase } from './lock.js';
import type { PoolState, PoolStateStore } from '../ports/index.js';

/** State is keyed by poolKey: a pool asked for under another spelling is the same pool. */
export class BlobPoolStateStore implements PoolStateStore {
  /** profile name → poolKey of its pool. */
  private readonly poolOf: Map<string, string>;
  /** A state whose save failed, per poolKey: the next load starts from it, not from the older blob. */
  private readonly unsaved = new Map<string, PoolState>();

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

  /** The pool's state; a missing or malformed blob is an empty state, a storage error throws. */
  async load(name: string): Promise<PoolState> {
    const pool = poolKey(name);
    const pending = this.unsaved.get(pool);
    if (pending) return { ...structuredClone(pending), backoff: { ...pending.backoff }, warm: { ...pending.warm } };
    const names = new Set([...this.poolOf].filter(([, p]) => p === pool).map(([n]) => n));
    try {
      const buf = await this.container.getBlockBlobClient(this.blobName(pool)).downloadToBuffer();
      return parsePoolState(buf.toString('utf8'), names);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return { backoff: {}, warm: {} };
      throw err;
    }
  }

  /** Writes the pool's state (only its own profiles' entries). */
  async save(name: string, state: PoolState): Promise<void> {
    const pool = poolKey(name);
    const mine = (key: string) => this.poolOf.get(profileOfKey(key)) === pool;
    const kept: PoolState = {
      backoff: Object.fromEntries(Object.entries(state.backoff).filter(([k]) => mine(k))),
      warm: Object.fromEntries(Object.entries(state.warm).filter(([k]) => mine(k))),
      ...(state.history ? { history: state.history } : {}),
    };
    const body = JSON.stringify({
      ...kept.backoff,
      ...(Object.keys(kept.warm).length > 0 ? { [WARM_KEY]: kept.warm } : {}),
      ...(kept.history ? { [HISTORY_KEY]: kept.history } : {}),
    });
    try {
      await this.container.getBlockBlobClient(this.blobName(pool)).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
      this.unsaved.delete(pool);
    } catch (err) {
      this.unsaved.set(pool, kept);
      throw err;
    }
  }
}

/** The blob's text as a pool state: only well-formed entries of profiles that still exist. */
export function parsePoolState(text: string, profiles: ReadonlySet<string>): PoolState {
  const history = parseHistoryOf(text);
  return { backoff: parse(text, profiles), warm: parseWarm(text, profiles), ...(history ? { history } : {}) };
}

const WARM_KEY = '_warm';
/** What the passes did (src/core/pool-history.ts): what every instance's status reports. */
const HISTORY_KEY = '_history';

function parseHistoryOf(text: string): PoolHistory | undefined {
  try {
    return parseHistory((JSON.parse(text) as Record<string, unknown> | null)?.[HISTORY_KEY]);
  } catch {
    return undefined;
  }
}

/** The warm-agent states of profiles that still exist; a malformed one starts afresh. */
function parseWarm(text: string, profiles: ReadonlySet<string>): Record<string, WarmState> {
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
function parse(text: string, profiles: ReadonlySet<string>): Record<string, BackoffState> {
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
