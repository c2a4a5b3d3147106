/**
 * `simulate --frontier` draws its points in the run's own world: a `--cold-model legacy` run's
 * frontier is measured with the legacy cold path too (it used to run every point under the default
 * model, whatever the run was given, so a legacy report mixed two models).
 */
import { describe, expect, it } from 'vitest';
import { frontierFor } from '../../src/sim/frontier.js';
import { profilesFor } from '../../src/sim/profiles.js';
import { parseJsonTrace } from '../../src/sim/trace.js';

// One Windows job at 08:00 on mixed-os's profiles: its wait is the Windows cold path.
const trace = parseJsonTrace(
  JSON.stringify([{ arrival: 8 * 3600, duration: 300, demands: ['Agent.OS -equals Windows_NT'] }]),
  'one-windows-job.json',
);
const profiles = profilesFor({ sample: { name: 'mixed-os' } });

describe('the frontier runs in the run’s world', () => {
  it('measures every point with the cold model the run was given', async () => {
    const p95 = async (coldModel: 'legacy' | 'published') => {
      const points = await frontierFor(trace, profiles, 1, [], 15, { world: { coldModel } });
      const cold = points.find((p) => p.label === 'ours 60 s');
      expect(cold).toBeDefined();
      return cold!.p95WaitSec;
    };
    const legacy = await p95('legacy');
    const published = await p95('published');
    // A Server Core image pulled whole (~5 GB) takes minutes more than the legacy draw.
    expect(published - legacy).toBeGreaterThan(120);
  }, 120_000);
});
