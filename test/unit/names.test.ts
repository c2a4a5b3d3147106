/**
 * Agent / container group names: unique within a pass even when a whole burst of creates shares
 * one millisecond, valid ACI group names, and recognisable as ours (also the shorter names of
 * earlier versions, so their leftover registrations are still cleaned up).
 */
import { describe, expect, it } from 'vitest';
import { randomAgentEntropy } from '../../src/app/deps.js';
import { settingsSchema } from '../../src/config/schema.js';
import {
  AGENT_NAME_RANDOM_CHARS,
  agentName,
  isOurAgentName,
  isValidGroupName,
  placeholderName,
} from '../../src/core/names.js';

const STAMP = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

/** Bursts of `size` creates in one pass (same millisecond) that reuse a name, with production entropy. */
function burstCollisions(bursts: number, size: number): number {
  let collided = 0;
  for (let b = 0; b < bursts; b++) {
    const names = new Set<string>();
    for (let i = 0; i < size; i++) names.add(agentName('azp', 'linux', STAMP, randomAgentEntropy()));
    if (names.size < size) collided++;
  }
  return collided;
}

describe('agent names', () => {
  it('carry at least 12 random base-36 characters', () => {
    expect(AGENT_NAME_RANDOM_CHARS).toBeGreaterThanOrEqual(12);
    const r = randomAgentEntropy();
    expect(r).toMatch(new RegExp(`^[a-z0-9]{${AGENT_NAME_RANDOM_CHARS}}$`));
    const a = agentName('azp', 'linux', STAMP, r);
    expect(a.endsWith(r)).toBe(true);
    // Two names of one millisecond differ exactly where the randomness differs.
    expect(agentName('azp', 'linux', STAMP, 'a'.repeat(AGENT_NAME_RANDOM_CHARS))).not.toBe(
      agentName('azp', 'linux', STAMP, `${'a'.repeat(AGENT_NAME_RANDOM_CHARS - 1)}b`),
    );
  });

  it('refuses entropy that is too short or not base-36 (the name would lose its uniqueness or validity)', () => {
    expect(() => agentName('azp', 'linux', STAMP, 'abc')).toThrow(/random/);
    expect(() => agentName('azp', 'linux', STAMP, 'ABCDEFGHIJKLMNOP')).toThrow(/random/);
  });

  it('500-create bursts in one millisecond never reuse a name (2,000 bursts; bench/agent-names.bench.ts runs 10,000)', () => {
    const bursts = 2000;
    const collided = burstCollisions(bursts, 500);
    console.log(
      `agent names: ${collided}/${bursts} bursts of 500 creates reused a name (${((100 * collided) / bursts).toFixed(3)} %)`,
    );
    expect(collided).toBe(0);
  });

  it('stay valid ACI group names at the longest prefix and profile the settings allow', () => {
    const name = agentName('abcdefghij', 'p'.repeat(20), STAMP, randomAgentEntropy());
    expect(name.length).toBeLessThanOrEqual(63);
    expect(isValidGroupName(name)).toBe(true);
    const s = settingsSchema.safeParse({
      AZP_URL: 'https://dev.azure.com/contoso',
      AGENT_NAME_PREFIX: 'abcdefghij',
      POOLS: [{ name: 'p'.repeat(20), pool: 'Linux', image: 'img' }],
    });
    expect(s.success).toBe(true);
  });

  it('are recognised as ours (current and earlier 12-character suffixes), placeholders and foreign names are not', () => {
    const name = agentName('azp', 'linux', STAMP, randomAgentEntropy());
    expect(isOurAgentName(name, 'azp', 'linux')).toBe(true);
    expect(isOurAgentName('azp-linux-mk1x2y3z0a1b', 'azp', 'linux')).toBe(true); // earlier versions: 8 time + 4 random
    expect(isOurAgentName(name, 'azp', 'java')).toBe(false);
    expect(isOurAgentName(name, 'xyz', 'linux')).toBe(false);
    expect(isOurAgentName(placeholderName('azp', 'linux'), 'azp', 'linux')).toBe(false);
    expect(isOurAgentName(`${name}x`, 'azp', 'linux')).toBe(false);
    expect(isOurAgentName('azp-linux-big-mk1x2y3z0a1b', 'azp', 'linux')).toBe(false);
  });
});
