/**
 * Pool profiles the simulator uses when `--profiles` is not given: two Linux profiles in one pool,
 * `docker` (first, so jobs without demands land there) and `java`. Parsed through the real
 * profile schema, so defaults are exactly those of a deployment.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { issueLine, jsonErrorWhere } from '../config/issues.js';
import { isPlaceholder } from '../config/placeholders.js';
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

/**
 * Samples that bring their own profiles (the others use the defaults above). `mixed-os`: a Linux
 * and a Windows profile in one pool; the Windows image gives no `imageSizeMB`, so the simulator's
 * cold path takes it as Server Core based (src/sim/cold-path.ts).
 */
export const SAMPLE_PROFILES_INPUT: Record<string, unknown[]> = {
  'mixed-os': [
    {
      name: 'linux',
      pool: 'aci-mixed',
      image: 'myregistry.azurecr.io/azp-agent:docker',
      capabilities: { docker: '' },
      cpu: 2,
      memoryGb: 4,
      maxAgents: 20,
      idleTimeoutSec: 300,
    },
    {
      name: 'windows',
      pool: 'aci-mixed',
      image: 'myregistry.azurecr.io/azp-agent:windows',
      os: 'Windows',
      cpu: 2,
      memoryGb: 4,
      maxAgents: 20,
      idleTimeoutSec: 300,
    },
  ],
};

/** The profiles a trace runs with when `--profiles` is not given: the sample's own, else the defaults. */
export function profilesFor(trace: { sample?: { name: string } }): ProfileConfig[] {
  const own = trace.sample ? SAMPLE_PROFILES_INPUT[trace.sample.name] : undefined;
  return own ? z.array(profileSchema).parse(own) : defaultProfiles();
}

export async function loadProfiles(path: string): Promise<ProfileConfig[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read profiles from ${path}: ${(err as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    const where = jsonErrorWhere(text, err);
    throw new Error(`cannot read profiles from ${path}: not valid JSON${where ? ` (${where})` : ''}`);
  }
  // The simulator pulls no image: a placeholder of the sample (YOUR-ACR...) is fine here, so it is
  // checked as a plain reference and kept as written. The CLI and the app still refuse it.
  const placeholders = new Map<number, string>();
  if (Array.isArray(data))
    data = data.map((p: unknown, i) => {
      const image = (p as { image?: unknown } | null)?.image;
      if (typeof image !== 'string' || !isPlaceholder(image)) return p;
      placeholders.set(i, image);
      return { ...(p as object), image: image.toLowerCase().replace(/your[-_]?/g, 'sim-') };
    });
  const schema = z.array(profileSchema).min(1, { message: 'must list at least one pool profile' });
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    // Named as the app and the CLI name them: POOLS[0].image.
    const lines = parsed.error.issues.flatMap((i) => issueLine(i, schema, ['POOLS']).map((l) => `  ${l}`));
    throw new Error(`invalid profiles in ${path} (a JSON array of pool profiles, as POOLS):\n${lines.join('\n')}`);
  }
  for (const [i, image] of placeholders) parsed.data[i]!.image = image;
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
