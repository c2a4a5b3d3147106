/**
 * Pool profiles the simulator uses when `--profiles` is not given: two Linux profiles in one pool,
 * `docker` (first, so jobs without demands land there) and `java`. Parsed through the real
 * profile schema, so defaults are exactly those of a deployment.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { profileSchema, type ProfileConfig } from '../config/schema.js';

export const DEFAULT_PROFILES_INPUT = [
  {
    name: 'docker',
    pool: 'aci-linux',
    image: 'myregistry.azurecr.io/azp-agent:docker',
    capabilities: { docker: '' },
    cpu: 2,
    memoryGb: 4,
    maxAgents: 30,
    // One warm agent during working hours (Mon–Fri 08:00–18:00 UTC).
    standby: [{ days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', count: 1 }],
    idleTimeoutSec: 300,
  },
  {
    name: 'java',
    pool: 'aci-linux',
    image: 'myregistry.azurecr.io/azp-agent:java',
    capabilities: { java: '', maven: '' },
    cpu: 2,
    memoryGb: 4,
    maxAgents: 10,
    idleTimeoutSec: 300,
  },
];

export function defaultProfiles(): ProfileConfig[] {
  return z.array(profileSchema).parse(DEFAULT_PROFILES_INPUT);
}

export async function loadProfiles(path: string): Promise<ProfileConfig[]> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read profiles from ${path}: ${(err as Error).message}`);
  }
  const parsed = z.array(profileSchema).min(1).safeParse(data);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid profiles in ${path} (a JSON array of pool profiles):\n${lines.join('\n')}`);
  }
  const names = new Set<string>();
  for (const p of parsed.data) {
    if (names.has(p.name)) throw new Error(`invalid profiles in ${path}: duplicate profile name '${p.name}'`);
    names.add(p.name);
  }
  return parsed.data;
}

/** The same profiles with a wait target (`--target-wait`): every profile keeps warm agents sized from λ and B. */
export function withTargetWait(profiles: readonly ProfileConfig[], targetWaitSec: number): ProfileConfig[] {
  return profiles.map((p) => ({ ...p, targetWaitSec }));
}
