/**
 * Capacity that fails late (src/core/capacity.ts): each failed group steps its placement's
 * back-off once, however many passes see it; a placeholder recreated under its fixed name and
 * failing again is a new failure.
 */
import { describe, expect, it } from 'vitest';
import { backoffUpdates } from '../../src/core/capacity.js';
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
