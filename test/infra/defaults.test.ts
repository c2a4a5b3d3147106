/**
 * The profiles a user deploys without editing (infra/main.parameters.json, local.settings.sample.json)
 * advertise only what the agent image has: a capability the image lacks (docker: no engine in the
 * image, no privileged containers on ACI) draws jobs that demand it onto agents that cannot run them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../contract/paths.js';

const read = (f: string) => readFileSync(join(repoRoot, f), 'utf8');
type Profile = { name: string; capabilities?: Record<string, string> | string[] };
const names = (p: Profile) => (Array.isArray(p.capabilities) ? p.capabilities : Object.keys(p.capabilities ?? {}));

/** Capability names the image gives a job: Agent.* (the agent's own) and the tools it installs. */
function imageHas(capability: string): boolean {
  if (capability.startsWith('Agent.')) return true;
  const installs = /apt-get install[^&]*/.exec(read('infra/agent/Dockerfile'))?.[0] ?? '';
  return new RegExp(`\\b${capability}\\b`).test(installs);
}

describe('default profiles advertise only what the image has', () => {
  const parameters = JSON.parse(read('infra/main.parameters.json')) as {
    parameters: { pools: { value: Profile[] } };
  };
  const sample = JSON.parse(read('local.settings.sample.json')) as { Values: { POOLS: string } };
  const defaults: Array<[string, Profile]> = [
    ...parameters.parameters.pools.value.map((p): [string, Profile] => [`main.parameters.json ${p.name}`, p]),
    ...(JSON.parse(sample.Values.POOLS) as Profile[]).map((p): [string, Profile] => [`sample ${p.name}`, p]),
  ];

  it.each(defaults)('%s', (_where, profile) => {
    expect(names(profile).filter((c) => !imageHas(c))).toEqual([]);
  });

  it('the check can fail: docker is not in the image', () => {
    expect(imageHas('docker')).toBe(false);
    expect(imageHas('git')).toBe(true);
  });

  it('the README says what ACI agents cannot do and where to go instead', () => {
    const readme = read('README.md');
    expect(readme).toMatch(/What an ACI agent cannot do: run Docker[\s\S]{0,400}privileged[\s\S]{0,600}infra\/agent\/aks/);
  });
});
