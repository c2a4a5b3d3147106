/**
 * Which profile a queued job belongs to. Pure.
 *
 * The server's answer first: every unfinished job request lists the agents Azure DevOps considers
 * able to run it (`matchedAgents`), and each profile's placeholder registration is made by the
 * real image, so it carries the image's real capabilities. A job belongs to a profile whose
 * placeholder id is in the job's `matchedAgents`. Only while a profile has no placeholder
 * registration (or the request carries no `matchedAgents`) are its declared capabilities used —
 * and then as the agent reports them: the declared ones, the profile's environment variables
 * (the agent's EnvironmentCapabilitiesProvider reports every environment variable) and
 * `Agent.OS` (AgentCapabilitiesProvider: `Linux` / `Windows_NT`), see microsoft/azure-pipelines-agent
 * src/Microsoft.VisualStudio.Services.Agent/Capabilities/{EnvironmentCapabilitiesProvider,AgentCapabilitiesProvider}.cs.
 * The operators are the server's (./demands.ts).
 */
import {
  agentOsCapability,
  indexCapabilities,
  matchesDeclared,
  relevantDemands,
  type CapabilityIndex,
} from './demands.js';
import type { JobRequest, ProfilePolicy } from './types.js';

/**
 * What an agent of the profile reports, as far as the settings know: environment variables, then
 * the declared capabilities, then `Agent.OS` (the agent's own providers run last and win).
 */
export function reportedByProfile(policy: Pick<ProfilePolicy, 'capabilities' | 'env' | 'os'>): Record<string, string> {
  return { ...(policy.env ?? {}), ...policy.capabilities, 'Agent.OS': agentOsCapability(policy.os ?? 'Linux') };
}

export interface CompiledProfile {
  policy: ProfilePolicy;
  /** What the agent reports (declared + env + Agent.OS): satisfies demands. */
  caps: CapabilityIndex;
  /** Only the declared capabilities: what the require-all match modes insist is demanded. */
  declared: CapabilityIndex;
  /** The id of the profile's placeholder registration, when it exists. */
  placeholderId?: number;
}

/** `placeholderIds`: profile name → id of its placeholder registration (absent: not registered). */
export function compileProfiles(
  profiles: readonly ProfilePolicy[],
  placeholderIds?: ReadonlyMap<string, number>,
): CompiledProfile[] {
  return profiles.map((policy) => {
    const c: CompiledProfile = {
      policy,
      caps: indexCapabilities(reportedByProfile(policy), policy.caseSensitive),
      declared: indexCapabilities(policy.capabilities, policy.caseSensitive),
    };
    const id = placeholderIds?.get(policy.name);
    if (id !== undefined) c.placeholderId = id;
    return c;
  });
}

/** How a profile was found to match a job: the server's `matchedAgents`, or the declared capabilities. */
export type MatchSource = 'server' | 'declared';

/**
 * The profiles that can serve the job, in configuration order. A profile with a placeholder
 * registration matches exactly when the server lists that placeholder for the job; one without
 * (or any profile, when the request carries no `matchedAgents`) matches on its declared capabilities.
 */
export function candidateProfiles(
  job: JobRequest,
  compiled: readonly CompiledProfile[],
): Array<{ profile: CompiledProfile; source: MatchSource }> {
  const matched = job.matchedAgentIds ? new Set(job.matchedAgentIds) : undefined;
  let demands: ReturnType<typeof relevantDemands> | undefined;
  const out: Array<{ profile: CompiledProfile; source: MatchSource }> = [];
  for (const p of compiled) {
    if (matched && p.placeholderId !== undefined) {
      if (matched.has(p.placeholderId)) out.push({ profile: p, source: 'server' });
      continue;
    }
    demands ??= relevantDemands(job.demands);
    if (matchesDeclared(demands, p.caps, p.declared, p.policy.matchMode)) out.push({ profile: p, source: 'declared' });
  }
  return out;
}

/** How the declared capabilities differ from what the placeholder reported (names compared ignoring case). */
export interface CapabilityDifference {
  /** Declared (or implied: env, Agent.OS) but not reported by the image. */
  missing: string[];
  /** Declared with a value the image reports differently: `name: declared ≠ reported`. */
  differing: string[];
}

export function capabilityDifference(
  declared: Record<string, string>,
  reported: Record<string, string>,
): CapabilityDifference {
  const have = new Map<string, string>();
  for (const [k, v] of Object.entries(reported)) have.set(k.toLowerCase(), v);
  const missing: string[] = [];
  const differing: string[] = [];
  for (const [k, v] of Object.entries(declared)) {
    const r = have.get(k.toLowerCase());
    if (r === undefined) missing.push(k);
    else if (v !== '' && v.toLowerCase() !== r.toLowerCase()) differing.push(`${k}: declared ${v} ≠ reported ${r}`);
  }
  return { missing, differing };
}
