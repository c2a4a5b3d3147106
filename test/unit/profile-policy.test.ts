/** The settings' profile reaches the planner through one explicit conversion (src/config/policy.ts). */
import { describe, expect, it } from 'vitest';
import { profilePolicy } from '../../src/config/policy.js';
import { profile } from '../helpers/profiles.js';

describe('profilePolicy', () => {
  it('copies what the planner reads and nothing of the container spec', () => {
    const p = profile({
      name: 'java',
      capabilities: ['java'],
      cpu: 2,
      memoryGb: 4,
      imageSizeMB: 900,
      targetWaitSec: 15,
      env: { FOO: 'bar' },
    });
    const policy = profilePolicy(p);
    expect(policy).toMatchObject({ name: 'java', pool: 'aci', capabilities: { java: '' }, targetWaitSec: 15 });
    expect(policy.env).toEqual({ FOO: 'bar' });
    for (const k of ['image', 'cpu', 'memoryGb', 'imageSizeMB', 'subnetId', 'registry'])
      expect(Object.keys(policy)).not.toContain(k);
    // Optional settings left out stay absent (not present as undefined).
    expect(Object.keys(profilePolicy(profile()))).not.toContain('targetWaitSec');
  });
});
