/**
 * What the passes of a pool did, kept in the pool's shared state (the pool-state blob) so that
 * every instance's `/api/status` and `status` answer the same figures: counters since the state was
 * created and the newest decisions. Written by the pass that holds the pool's lease, with the
 * rest of the state (one writer). Pure.
 */
import { actionText } from './action-text.js';
import type { Action } from './types.js';

/** Newest decisions kept. */
export const HISTORY_DECISIONS = 10;

export interface PoolDecision {
  /** When the pass decided (ISO). */
  at: string;
  /** What it did, in words ("create …", "delete …"); empty: nothing to do. */
  actions: string[];
  /** Actions that failed, with their errors. */
  failed: string[];
}

export interface PoolHistory {
  /** Passes that acted on the pool (dry runs and passes that could not observe are not counted). */
  passes: number;
  created: number;
  deleted: number;
  failed: number;
  lastPassAt?: string;
  /** The last pass with no failed action. */
  lastOkAt?: string;
  lastError?: string;
  /** Newest first, at most HISTORY_DECISIONS. */
  recent: PoolDecision[];
}

export function emptyHistory(): PoolHistory {
  return { passes: 0, created: 0, deleted: 0, failed: 0, recent: [] };
}

interface Outcome {
  action: Action;
  status: string;
  error?: string;
}

/** The history after one pass that acted at `now` with these outcomes. */
export function recordPass(prev: PoolHistory | undefined, now: Date, outcomes: readonly Outcome[]): PoolHistory {
  const h = prev ?? emptyHistory();
  const done = (kind: string) => outcomes.filter((o) => o.status === 'done' && o.action.kind === kind).length;
  const failures = outcomes.filter((o) => o.status === 'failed');
  const at = now.toISOString();
  const decision: PoolDecision = {
    at,
    actions: outcomes.filter((o) => o.status !== 'skipped').map((o) => actionText(o.action)),
    failed: failures.map((o) => `${actionText(o.action)}: ${o.error ?? 'failed'}`),
  };
  return {
    passes: h.passes + 1,
    created: h.created + done('create'),
    deleted: h.deleted + done('delete'),
    failed: h.failed + failures.length,
    lastPassAt: at,
    ...(failures.length === 0 ? { lastOkAt: at } : h.lastOkAt ? { lastOkAt: h.lastOkAt } : {}),
    ...(failures.length > 0 ? { lastError: decision.failed[0]! } : h.lastError ? { lastError: h.lastError } : {}),
    // A pass that did nothing is counted, not listed: the list keeps what changed the pool.
    recent: decision.actions.length > 0 ? [decision, ...h.recent].slice(0, HISTORY_DECISIONS) : h.recent,
  };
}

/** A history read back from the blob; anything malformed is dropped (undefined). */
export function parseHistory(raw: unknown): PoolHistory | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const s = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const passes = n(r.passes);
  const created = n(r.created);
  const deleted = n(r.deleted);
  const failed = n(r.failed);
  if (passes === undefined || created === undefined || deleted === undefined || failed === undefined) return undefined;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const recent = (Array.isArray(r.recent) ? r.recent : [])
    .filter(
      (d): d is Record<string, unknown> =>
        Boolean(d) && typeof d === 'object' && typeof (d as { at?: unknown }).at === 'string',
    )
    .slice(0, HISTORY_DECISIONS)
    .map((d) => ({ at: d.at as string, actions: strings(d.actions), failed: strings(d.failed) }));
  const out: PoolHistory = { passes, created, deleted, failed, recent };
  const lastPassAt = s(r.lastPassAt);
  const lastOkAt = s(r.lastOkAt);
  const lastError = s(r.lastError);
  if (lastPassAt) out.lastPassAt = lastPassAt;
  if (lastOkAt) out.lastOkAt = lastOkAt;
  if (lastError) out.lastError = lastError;
  return out;
}

/**
 * A placement summary (`0:westeurope=3 1:northeurope/spot=2`, src/core/placements.ts) in words:
 * "3 in westeurope (own placement), 2 in northeurope as Spot (fallback 1)".
 */
export function placementsInWords(summary: string): string {
  return summary
    .split(' ')
    .filter(Boolean)
    .map((part) => {
      const [tag = '', count = '?'] = part.split('=');
      const [index = '0', where = ''] = tag.split(':');
      const [location, spot] = where.split('/');
      const place = `${count} in ${location || 'the default region'}${spot === 'spot' ? ' as Spot' : ''}`;
      return `${place} (${index === '0' ? 'own placement' : `fallback ${index}`})`;
    })
    .join(', ');
}
