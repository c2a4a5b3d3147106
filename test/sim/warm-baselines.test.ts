/** MDP Automatic standby as its docs describe it: per hour, a percentile of the per-5-minute counts of queued jobs. */
import { describe, expect, it } from 'vitest';
import { defaultProfiles } from '../../src/sim/profiles.js';
import type { Trace } from '../../src/sim/trace.js';
import { DEFAULT_MDP, activeWindow, mdpStandby } from '../../src/sim/warm-baselines.js';

const profiles = defaultProfiles();
/** Monday 09:00–10:00: period q (0–11) gets q docker jobs (0+1+…+11 = 66), and one java job at 10:30. */
function trace(): Trace {
  const jobs = [];
  for (let q = 0; q < 12; q++)
    for (let i = 0; i < q; i++) jobs.push({ arrival: 9 * 3600 + q * 300 + i, duration: 60, demands: ['docker'] });
  jobs.push({ arrival: 10 * 3600 + 1800, duration: 60, demands: ['java'] });
  return { name: 't', description: 't', jobs };
}

describe('mdpStandby', () => {
  it.each([
    ['MostCostEffective', 1], // 10th percentile of 0..11 (nearest rank 2 of 12) = 1
    ['MoreCostEffective', 2], // 25th: rank 3 = 2
    ['Balanced', 5], // 50th: rank 6 = 5
    ['MorePerformance', 8], // 75th: rank 9 = 8
    ['BestPerformance', 10], // 90th: rank 11 = 10
  ] as const)('%s keeps the documented percentile of the hour’s five-minute counts', (preference, count) => {
    const w = mdpStandby(trace(), profiles, { ...DEFAULT_MDP, preference });
    expect(w.get('docker')).toEqual([{ days: [1], start: '09:00', end: '10:00', count }]);
    // One java job in twelve periods: below every percentile but the 90th (rank 11 of 12 is 0 too).
    expect(w.get('java')).toEqual([]);
  });

  it('caps the count at maxAgents and uses whole hours for the static window', () => {
    const small = profiles.map((p) => ({ ...p, maxAgents: 3 }));
    expect(
      mdpStandby(trace(), small, { ...DEFAULT_MDP, preference: 'BestPerformance' }).get('docker')?.[0]?.count,
    ).toBe(3);
    expect(activeWindow(trace(), 'java', profiles)).toEqual({ start: '10:00', end: '11:00', count: 0 });
    expect(activeWindow(trace(), 'docker', profiles)).toEqual({ start: '09:00', end: '10:00', count: 0 });
  });
});
