/**
 * A controller clock at real time plus an offset the test moves forward. The fakes stamp with the
 * real clock, so "registered now" looks as old as the offset to the planner; `sleep` really waits.
 */
import type { Clock } from '../../src/ports/index.js';

export function movableClock() {
  let offsetMs = 0;
  const clock: Clock = {
    now: () => new Date(Date.now() + offsetMs),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  return {
    clock,
    /** Move the clock forward by `sec` seconds; returns the new offset (ms). */
    advance: (sec: number) => (offsetMs += sec * 1000),
    /** Clock time `sec` seconds ago, ISO (for created-at tags). */
    ago: (sec: number) => new Date(clock.now().getTime() - sec * 1000).toISOString(),
  };
}
