import { describe, expect, it } from 'vitest';
import { oracleWaits } from '../analysis/burst-oracle.js';
import { defaultProfiles } from '../../src/sim/profiles.js';
import type { Trace } from '../../src/sim/trace.js';
import { DEFAULT_WORLD_OPTIONS } from '../../src/sim/world-options.js';

// Boot times without spread: refill = 0.5 s (PUT) + 35 s + 20 s + 3 s (online) = 58.5 s.
const world = { ...DEFAULT_WORLD_OPTIONS, provisionSigma: 0, bootSigma: 0 };
const [docker, java] = defaultProfiles().map((p) => ({ ...p, maxAgents: 1 }));
const trace = (jobs: Array<[number, number, string[]]>): Trace => ({
  name: 't',
  description: 't',
  jobs: jobs.map(([arrival, duration, demands]) => ({ arrival, duration, demands })),
});

describe('oracleWaits', () => {
  it('a demand-less job takes the slot no later job depends on; a slot refills one boot after its job', () => {
    const waits = oracleWaits(
      trace([
        [0, 300, []],
        [1, 300, ['docker']],
        [2, 300, ['docker']],
      ]),
      [docker!, java!],
      1,
      world,
    );
    // Jobs 0 and 1 start on warm agents after the 2 s dispatch; job 2 waits for docker's slot:
    // job 1 ends at 303, the next agent is online at 361.5 and takes job 2 at 363.5.
    expect(waits).toEqual([2, 2, 361.5]);
  });

  it('jobs no profile can run are left out; with more slots nobody waits beyond the dispatch', () => {
    const t = trace([
      [0, 300, ['gpu']],
      [0, 300, ['docker']],
      [0, 300, ['docker']],
    ]);
    expect(oracleWaits(t, [{ ...docker!, maxAgents: 2 }, java!], 1, world)).toEqual([2, 2]);
  });
});
