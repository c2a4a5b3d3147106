/**
 * The simulated images report their own capabilities (WorldOptions.imageCapabilities): a profile
 * that declares a capability its image lacks is visible as jobs that never start, the placeholder's
 * reported capabilities name the difference, and the default profiles still serve every job.
 */
import { describe, expect, it } from 'vitest';
import { defaultProfiles } from '../../src/sim/profiles.js';
import { runSmall, smallTrace } from '../helpers/sim-traces.js';
import type { Trace } from '../../src/sim/trace.js';

const profiles = defaultProfiles();

describe('what the simulated image reports', () => {
  it('default profiles (images report what they declare): every job served, the server lists each queued job', async () => {
    const { result: r, world } = await runSmall({ profiles });
    expect(r.summary.served).toBe(r.summary.jobs);
    expect(r.summary.unserved).toBe(0);
    expect(world.jobs.every((j) => j.assignments === 1)).toBe(true);
  });

  it("the docker profile's image lacks docker: docker jobs never start, and no agent is made for them beyond the standby one", async () => {
    const trace: Trace = { ...smallTrace(), jobs: smallTrace().jobs.map((j) => ({ ...j, demands: ['docker'] })) };
    const { result: r, world } = await runSmall({
      trace,
      profiles,
      world: { imageCapabilities: { docker: { git: '/usr/bin/git' } } },
    });
    expect(r.summary.served).toBe(0);
    expect(r.summary.rejected + r.summary.unserved).toBe(r.summary.jobs);
    // Besides placeholders only the docker profile's working-hours standby agent (1) was made: the
    // server matched no docker agent, so no job drove a create; none ran a job.
    const made = world.allMachines.filter((m) => !m.placeholder);
    expect(made.length).toBeLessThanOrEqual(1);
    expect(made.every((m) => m.busyMs === 0)).toBe(true);
  });
});
