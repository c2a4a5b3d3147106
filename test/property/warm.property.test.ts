/**
 * Property: the warm-agent count never exceeds maxWarmAgents or maxAgents, and grows (never
 * shrinks) with λ·W, with the per-job bound met whenever no cap binds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobMissProbability, warmAgentCount } from '../../src/core/warm/index.js';

const rate = fc.double({ min: 0, max: 5, noNaN: true }); // jobs/s
const refill = fc.double({ min: 0, max: 600, noNaN: true }); // s
const cap = fc.integer({ min: 0, max: 300 });

describe('warmAgentCount properties', () => {
  it('k ≤ maxWarmAgents and k ≤ maxAgents; the tail bound holds when no cap binds', () => {
    fc.assert(
      fc.property(rate, refill, cap, cap, (lambdaPerSec, refillSec, maxWarmAgents, maxAgents) => {
        const s = warmAgentCount({ lambdaPerSec, refillSec, maxWarmAgents, maxAgents });
        expect(s.k).toBeLessThanOrEqual(maxWarmAgents);
        expect(s.k).toBeLessThanOrEqual(maxAgents);
        expect(s.k).toBeGreaterThanOrEqual(0);
        if (!s.cappedBy) {
          expect(s.k).toBe(s.uncapped);
          // The share of jobs that find no warm agent, P(Poisson(λ·W) ≥ k), is within 5 %; k − 1 would not be.
          expect(jobMissProbability(s.mean, s.k)).toBeLessThanOrEqual(0.05 + 1e-12);
          if (s.k > 0) expect(jobMissProbability(s.mean, s.k - 1)).toBeGreaterThan(0.05 - 1e-12);
        } else {
          expect(s.k).toBe(Math.min(s.uncapped, maxWarmAgents, maxAgents));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('is monotone in λ·B (both factors), with and without caps', () => {
    fc.assert(
      fc.property(
        rate,
        refill,
        fc.double({ min: 1, max: 4, noNaN: true }),
        cap,
        cap,
        (lambdaPerSec, refillSec, grow, maxWarmAgents, maxAgents) => {
          const a = warmAgentCount({ lambdaPerSec, refillSec, maxWarmAgents, maxAgents });
          const moreLambda = warmAgentCount({ lambdaPerSec: lambdaPerSec * grow, refillSec, maxWarmAgents, maxAgents });
          const moreRefill = warmAgentCount({ lambdaPerSec, refillSec: refillSec * grow, maxWarmAgents, maxAgents });
          expect(moreLambda.uncapped).toBeGreaterThanOrEqual(a.uncapped);
          expect(moreRefill.uncapped).toBeGreaterThanOrEqual(a.uncapped);
          expect(moreLambda.k).toBeGreaterThanOrEqual(a.k);
          expect(moreRefill.k).toBeGreaterThanOrEqual(a.k);
        },
      ),
      { numRuns: 500 },
    );
  });
});
