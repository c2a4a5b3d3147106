import { profileSchema, type ProfileConfig } from '../../src/config/schema.js';
import type { PoolSnapshot } from '../../src/core/types.js';

/** A fully defaulted profile, as the settings parser would produce it. */
export function profile(overrides: Record<string, unknown> = {}): ProfileConfig {
  return profileSchema.parse({
    name: 'linux',
    pool: 'aci',
    image: 'example.azurecr.io/agent:1',
    placeholder: false,
    ...overrides,
  });
}

/** The simulator tests' `docker` or `java` profile in pool `aci`: that capability, its own image, then `overrides`. */
export function simProfile(kind: 'docker' | 'java', overrides: Record<string, unknown> = {}): ProfileConfig {
  return profileSchema.parse({
    name: kind,
    pool: 'aci',
    image: `example.azurecr.io/agent:${kind}`,
    capabilities: [kind],
    ...overrides,
  });
}

/** A snapshot of pool `aci` with nothing in it but `s`. */
export const poolSnapshot = (s: Partial<PoolSnapshot>): PoolSnapshot => ({
  pool: 'aci',
  jobs: [],
  agents: [],
  groups: [],
  backoff: {},
  ...s,
});
