/**
 * Capacity that fails late (src/core/capacity.ts): each failed group steps its placement's
 * back-off once, however many passes see it; a placeholder recreated under its fixed name and
 * failing again is a new failure.
 */
import { describe, expect, it } from 'vitest';
import { backoffUpdates, nextBackoff, throttleBackoff } from '../../src/core/capacity.js';
import type { BackoffState } from '../../src/core/types.js';

const CAUSE = "InsufficientCapacity.: The requested resource is not available in the location 'westeurope'";
const keyOf = (g: { profile: string }) => g.profile;

function apply(
  backoff: Record<string, BackoffState | undefined>,
  updates: ReturnType<typeof backoffUpdates>,
): Record<string, BackoffState | undefined> {
  const out = { ...backoff };
  for (const u of updates) out[u.key] = u.state;
  return out;
}

describe('backoffUpdates', () => {
  it('a failed group counts once across passes; the placeholder recreated under its name counts again', () => {
    const first = {
      name: 'azp-java-placeholder',
      profile: 'java',
      createdAt: '2026-03-02T08:45:00.000Z',
      provisioningState: 'Failed',
      capacityFailure: CAUSE,
    };
    let backoff: Record<string, BackoffState | undefined> = {};
    backoff = apply(backoff, backoffUpdates([first], keyOf, new Set(), backoff, new Date('2026-03-02T08:46:00.000Z')));
    expect(backoff.java?.failures).toBe(1);

    // The same group seen by the next pass (not yet deleted): no second step.
    expect(backoffUpdates([first], keyOf, new Set(), backoff, new Date('2026-03-02T08:47:00.000Z'))).toEqual([]);

    // Deleted and recreated after the back-off, failing again under the same name: a second step.
    const again = { ...first, createdAt: '2026-03-02T08:48:00.000Z' };
    const updates = backoffUpdates([again], keyOf, new Set(), backoff, new Date('2026-03-02T08:49:00.000Z'));
    expect(updates.map((u) => [u.key, u.why, u.state?.failures])).toEqual([['java', 'lateCapacity', 2]]);
    backoff = apply(backoff, updates);
    expect(Date.parse(backoff.java!.until) - Date.parse('2026-03-02T08:49:00.000Z')).toBe(120_000);
    expect(backoffUpdates([again], keyOf, new Set(), backoff, new Date('2026-03-02T08:50:00.000Z'))).toEqual([]);
  });
});

describe('throttleBackoff (ARM 429)', () => {
  const now = new Date('2026-12-01T10:00:00.000Z');
  const at = (sec: number) => new Date(now.getTime() + sec * 1000).toISOString();

  it('waits the Retry-After, not the capacity schedule, and does not count as a capacity failure', () => {
    const s = throttleBackoff(undefined, now, 'throttled: 429', 30_000);
    expect(s).toMatchObject({ failures: 0, until: at(30), reason: 'throttled: 429', since: now.toISOString() });
    // Two capacity failures before: the schedule would say 120 s; the 429 says 5 s and keeps the count.
    const prev = nextBackoff(nextBackoff(undefined, now, 'quota'), now, 'quota');
    expect(nextBackoff(prev, now, 'quota').until).toBe(at(240));
    const t = throttleBackoff(prev, now, 'throttled', 5_000);
    expect(t.failures).toBe(2);
    expect(t.until).toBe(at(5));
    expect(t.since).toBe(prev.since);
  });

  it('is bounded: at least a second, at most maxSec', () => {
    expect(throttleBackoff(undefined, now, 'r', 0).until).toBe(at(1));
    expect(throttleBackoff(undefined, now, 'r', 7_200_000, { maxSec: 600 }).until).toBe(at(600));
  });

  it('falls back to one capacity step without a usable Retry-After', () => {
    for (const ra of [undefined, Number.NaN, -1])
      expect(throttleBackoff(undefined, now, 'r', ra, { baseSec: 60 })).toEqual(
        nextBackoff(undefined, now, 'r', { baseSec: 60 }),
      );
  });
});
