/** Traces, faults and the short run the simulator tests share. */
import { defaultProfiles } from '../../src/sim/profiles.js';
import { runSimulation, type SimOptions, type SimResult } from '../../src/sim/run.js';
import { sampleTrace, type Trace } from '../../src/sim/trace.js';
import type { World } from '../../src/sim/world.js';

/** Monday 09:00, in seconds from the trace epoch (no standby windows are configured, so the hour only places jobs). */
const MONDAY_0900 = 9 * 3600;

/** A short trace: the first 25 jobs of the Monday burst's first 10 minutes (seed 7), keeps each test fast. */
export function smallTrace(): Trace {
  const t = sampleTrace('monday-burst', 7);
  return {
    ...t,
    jobs: t.jobs.filter((j) => j.arrival >= MONDAY_0900 && j.arrival < MONDAY_0900 + 600).slice(0, 25),
  };
}

/** A generated trace: jobs at offsets (s) from Monday 09:00, sorted by arrival. */
export function generatedTrace(
  name: string,
  jobs: readonly { at: number; dur: number; demands: readonly string[] }[],
): Trace {
  return {
    name,
    description: 'generated',
    jobs: jobs
      .map((j) => ({ arrival: MONDAY_0900 + j.at, duration: j.dur, demands: [...j.demands] }))
      .sort((a, b) => a.arrival - b.arrival),
  };
}

/** An injected transient port failure (the pass treats it like a network error). */
export const transientFault = (what: string): Error =>
  Object.assign(new Error(`injected fault: ${what}`), { kind: 'transient' });

/** Our controller on the short trace (default profiles, seed 5) unless `o` says otherwise, with the world it ran in. */
export async function runSmall(o: Partial<SimOptions> = {}): Promise<{ result: SimResult; world: World }> {
  let world: World | undefined;
  const result = await runSimulation({
    trace: smallTrace(),
    profiles: defaultProfiles(),
    policy: 'ours',
    seed: 5,
    ...o,
    onWorld: (w, c) => {
      world = w;
      o.onWorld?.(w, c);
    },
  });
  return { result, world: world! };
}
