/**
 * An oracle schedule for a trace: how low any controller could push queue waits with the profiles'
 * maxAgents. Optimistic on purpose; pure (no clock, no I/O), seeded:
 *  - every slot (maxAgents per profile) holds an agent that is already online when the trace starts;
 *  - a job can run on a profile when the simulator's dispatcher would give it to that profile's
 *    agent (its demands against what the agent reports, subset match: src/sim/azdo-model.ts);
 *  - jobs are served in queue order (as Azure DevOps dispatches), each on the compatible slot that
 *    frees first; among slots already free it takes the profile the fewest later jobs depend on
 *    (clairvoyant: a demand-less job leaves docker's slots to docker-only jobs);
 *  - Azure DevOps hands a job to an agent `dispatchDelaySec` after it can (as in the simulator);
 *  - when a job ends, its slot's next agent is online after one draw of the simulator's own
 *    create → online time: ARM accepts the PUT (armCreateLatencyMs), provisioning
 *    lognormal(provisionMedianSec, provisionSigma), agent boot lognormal(bootMedianSec, bootSigma),
 *    onlineDelaySec — no image-pull failure, crash or throttling.
 * The assignment is greedy, so this is a strong schedule rather than a proof of the best one;
 * it ignores cost entirely (every slot is warm from the start).
 */
import type { ProfileConfig } from '../../src/config/schema.js';
import { matches, relevantDemands } from '../../src/core/demands.js';
import { capabilitiesOf } from '../../src/sim/azdo-model.js';
import { Rng, deriveSeed } from '../../src/sim/rng.js';
import type { Trace } from '../../src/sim/trace.js';
import { DEFAULT_WORLD_OPTIONS, type WorldOptions } from '../../src/sim/world-options.js';

/** Create accepted → agent online, seconds: one draw of the simulator's boot (src/sim/compute.ts). */
export function refillSec(rng: Rng, o: WorldOptions = DEFAULT_WORLD_OPTIONS): number {
  return (
    o.armCreateLatencyMs / 1000 +
    rng.lognormal(o.provisionMedianSec, o.provisionSigma) +
    rng.lognormal(o.bootMedianSec, o.bootSigma) +
    o.onlineDelaySec
  );
}

/** The oracle's waits (seconds, one per job with a compatible profile) for a trace and profiles. */
export function oracleWaits(
  trace: Trace,
  profiles: readonly ProfileConfig[],
  seed: number,
  o: WorldOptions = DEFAULT_WORLD_OPTIONS,
): number[] {
  const rng = new Rng(deriveSeed(seed, 'burst-bound:refill'));
  const caps = profiles.map((p) => capabilitiesOf(p, ''));
  const jobs = [...trace.jobs]
    .sort((a, b) => a.arrival - b.arrival)
    .map((j) => {
      const demands = relevantDemands(j.demands);
      return { ...j, fits: profiles.flatMap((_, i) => (matches(demands, caps[i]!, 'subset') ? [i] : [])) };
    })
    .filter((j) => j.fits.length > 0);
  // Later jobs that only profile i can serve: a job about to be placed leaves those profiles alone when it can.
  const onlyHere = profiles.map((_, i) => jobs.filter((j) => j.fits.length === 1 && j.fits[0] === i).length);
  // Every slot's next agent is online at `free` (seconds from the epoch); all online at the start.
  const slots = profiles.map((p) => new Array<number>(p.maxAgents).fill(Number.NEGATIVE_INFINITY));
  const waits: number[] = [];
  for (const job of jobs) {
    if (job.fits.length === 1) onlyHere[job.fits[0]!]!--;
    let best: { p: number; s: number; start: number } | undefined;
    for (const p of job.fits) {
      slots[p]!.forEach((free, s) => {
        const start = Math.max(free, job.arrival);
        const better =
          !best ||
          start < best.start ||
          (start === best.start &&
            onlyHere[p]! / Math.max(1, slots[p]!.length) < onlyHere[best.p]! / Math.max(1, slots[best.p]!.length));
        if (better) best = { p, s, start };
      });
    }
    const b = best!;
    const start = b.start + o.dispatchDelaySec;
    waits.push(start - job.arrival);
    slots[b.p]![b.s] = start + job.duration + refillSec(rng, o);
  }
  return waits;
}
