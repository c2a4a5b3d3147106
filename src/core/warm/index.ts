/**
 * Warm agents from a queue-wait target: how many idle agents to keep so that a job rarely waits for
 * a create. Pure: no I/O, no clock (every function takes `now`), no environment.
 *
 *   - arithmetic.ts: the sizing rule, k = the smallest k with P(Poisson(λ·W) ≥ k) ≤ tail, capped;
 *   - state.ts: the serialisable estimator state (kept per profile beside the back-off state) and
 *     its parsing; tuning.ts: the tuning values, frozen;
 *   - arrivals.ts: λ (live EWMA, burst, learnt hour-of-week history); refill.ts: B from our creates;
 *   - bursts.ts: bursts learnt at the minute they come (a scheduled fan-out), warm agents just before them;
 *   - budget.ts: the miss budget (realized waits past the target);
 *   - decide.ts: the decision; explain.ts: its reason as `status` prints it.
 */
export * from './arithmetic.js';
export * from './arrivals.js';
export * from './budget.js';
export * from './bursts.js';
export * from './decide.js';
export * from './refill.js';
export * from './state.js';
export * from './tuning.js';
