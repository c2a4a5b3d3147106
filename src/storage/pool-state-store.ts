/**
 * The pool's state (back-off, warm-agent estimator) shared by every instance of the app: one small
 * JSON blob per pool next to the pool's lease (`pools/<slug>-<hash>.backoff.json`, the name it had
 * when it held only back-off). A pass loads it once before it plans and saves it once after it
 * acted, under the pool's lease, so there is one writer per blob. A storage failure never stops a
 * pass: the state is an optimisation (fewer doomed creates, a learned λ), not truth.
 *
 * The format stays what older versions wrote and read: back-off entries at the top level keyed by
 * placement, the warm states under `_warm`, the pass history under `_history`, the expectations
 * under `_expected` (profile names
 * cannot start with `_`; older readers skip both). Saves are conditional on the ETag loaded.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { profileOfKey } from '../core/placements.js';
import { parseHistory, type PoolHistory } from '../core/pool-history.js';
import { poolKey } from '../core/pools.js';
import type { BackoffState } from '../core/types.js';
import { parseWarmState, type WarmState } from '../core/warm/index.js';
import { poolBlobBase } from './lock.js';
import { emptyPoolState, PoolStateConflict, type PoolState, type PoolStateStore } from '../ports/index.js';
import { emptyExpectations, type ExpectedCreate, type Expectations } from '../core/expectations.js';

/** State is keyed by poolKey: a pool asked for under another spelling is the same pool. */
export class BlobPoolStateStore implements PoolStateStore {
  /** profile name → poolKey of its pool. */
  private readonly poolOf: Map<string, string>;

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

  /** The pool's state and its ETag; a missing or malformed blob is an empty state, a storage error throws. */
  async load(name: string): Promise<PoolState> {
    const pool = poolKey(name);
    const names = new Set([...this.poolOf].filter(([, p]) => p === pool).map(([n]) => n));
    const blob = this.container.getBlockBlobClient(this.blobName(pool));
    try {
      const res = await blob.download();
      const text = res.readableStreamBody ? await readAll(res.readableStreamBody) : '';
      return { ...parsePoolState(text, names), ...(res.etag ? { version: res.etag } : {}) };
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return emptyPoolState();
      throw err;
    }
  }

  /**
   * Writes the pool's state (only its own profiles' entries) if the blob is still the version it
   * was loaded as (If-Match its ETag; If-None-Match * when there was none): a write that lands
   * late, or another holder's, is refused (412 → PoolStateConflict), never overwritten.
   */
  async save(name: string, state: PoolState): Promise<string | undefined> {
    const pool = poolKey(name);
    const mine = (key: string) => this.poolOf.get(profileOfKey(key)) === pool;
    const expected = {
      creates: Object.fromEntries(Object.entries(state.expected.creates).filter(([, c]) => mine(c.profile))),
      deletes: state.expected.deletes,
    };
    const body = JSON.stringify({
      ...Object.fromEntries(Object.entries(state.backoff).filter(([k]) => mine(k))),
      ...warmEntry(Object.fromEntries(Object.entries(state.warm).filter(([k]) => mine(k)))),
      ...(state.history ? { [HISTORY_KEY]: state.history } : {}),
      ...(Object.keys(expected.creates).length + Object.keys(expected.deletes).length > 0
        ? { [EXPECTED_KEY]: expected }
        : {}),
    });
    try {
      const res = await this.container.getBlockBlobClient(this.blobName(pool)).upload(body, Buffer.byteLength(body), {
        blobHTTPHeaders: { blobContentType: 'application/json' },
        conditions: state.version !== undefined ? { ifMatch: state.version } : { ifNoneMatch: '*' },
      });
      return res.etag;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 412 || status === 409) throw new PoolStateConflict(name);
      throw err;
    }
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

const warmEntry = (warm: Record<string, WarmState>) => (Object.keys(warm).length > 0 ? { [WARM_KEY]: warm } : {});

/** The blob's text as a pool state: only well-formed entries of profiles that still exist. */
export function parsePoolState(text: string, profiles: ReadonlySet<string>): PoolState {
  const history = parseHistoryOf(text);
  return {
    backoff: parse(text, profiles),
    warm: parseWarm(text, profiles),
    expected: parseExpected(text, profiles),
    ...(history ? { history } : {}),
  };
}

/** `_expected` (older blobs have none): well-formed creates of profiles that still exist, and deletes. */
function parseExpected(text: string, profiles: ReadonlySet<string>): Expectations {
  const out = emptyExpectations();
  let raw: unknown;
  try {
    raw = (JSON.parse(text) as Record<string, unknown> | null)?.[EXPECTED_KEY];
  } catch {
    return out;
  }
  const r = (raw ?? {}) as { creates?: Record<string, unknown>; deletes?: Record<string, unknown> };
  for (const [name, v] of Object.entries(r.creates ?? {})) {
    const c = v as Partial<ExpectedCreate> | null;
    if (!c || typeof c.pool !== 'string' || typeof c.at !== 'string' || typeof c.profile !== 'string') continue;
    if (!profiles.has(c.profile) || Number.isNaN(Date.parse(c.at))) continue;
    out.creates[name] = {
      pool: c.pool,
      profile: c.profile,
      at: c.at,
      ...(c.placeholder === true ? { placeholder: true } : {}),
      ...(typeof c.placement === 'string' ? { placement: c.placement } : {}),
    };
  }
  for (const [name, at] of Object.entries(r.deletes ?? {}))
    if (typeof at === 'string' && !Number.isNaN(Date.parse(at))) out.deletes[name] = at;
  return out;
}

const EXPECTED_KEY = '_expected';

const HISTORY_KEY = '_history';

function parseHistoryOf(text: string): PoolHistory | undefined {
  try {
    return parseHistory((JSON.parse(text) as Record<string, unknown> | null)?.[HISTORY_KEY]);
  } catch {
    return undefined;
  }
}

const WARM_KEY = '_warm';

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
