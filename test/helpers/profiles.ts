import { profileSchema, type ProfileConfig } from '../../src/config/schema.js';

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
