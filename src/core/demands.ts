/**
 * Azure Pipelines demand matching. A job's demands are strings on the wire:
 *   "java"                         the capability exists
 *   "Agent.OS -equals Linux"       the capability equals the value
 *   "Agent.Version -gtVersion 2.1" the capability is a version at least the value
 * The operators are the server's (actions/runner src/Sdk/DTWebApi/WebApi/DemandEquals.cs,
 * DemandMinimumVersion.cs, DemandExists.cs — the same DistributedTask.WebApi types Azure DevOps
 * uses): `-equals` compares values ignoring case; `-gtVersion` is satisfied when the demanded
 * version is less than or EQUAL to the capability's, each parsed as a .NET `System.Version`
 * (2 to 4 numeric parts) after cutting everything from the first `-` (`3.9.6-beta` → 3.9.6); a
 * value that does not parse counts as "no version", which is below every version.
 * `Agent.Version` demands are ignored (every agent we start runs a current agent).
 * Matching modes follow KEDA's azure-pipelines scaler:
 *   subset (KEDA default)       every demand of the job is satisfied by the profile's capabilities
 *   requireAll                  as subset, and the job demands every capability the profile declares
 *   requireAllAndIgnoreOthers   the job demands every capability the profile declares; others ignored
 */
import type { MatchMode } from './types.js';

export interface Demand {
  name: string;
  op: 'exists' | 'equals' | 'gtVersion';
  value?: string;
}

const OP = /^(\S+)\s+-(equals|gtVersion)\s+(.*)$/i;

export function parseDemand(raw: string): Demand {
  const text = raw.trim();
  const m = OP.exec(text);
  if (m) {
    const op = m[2]!.toLowerCase() === 'equals' ? 'equals' : 'gtVersion';
    return { name: m[1]!, op, value: m[3]!.trim() };
  }
  return { name: text, op: 'exists' };
}

export function isAgentVersionDemand(d: Demand): boolean {
  return d.name.toLowerCase() === 'agent.version';
}

/**
 * `System.Version.TryParse` after the server's `ParseVersion`: cut at the first `-` (when not the
 * first character), then 2–4 dot-separated non-negative int32 parts; anything else is undefined.
 */
export function parseServerVersion(text: string): number[] | undefined {
  let v = text;
  const dash = v.indexOf('-');
  if (dash > 0) v = v.slice(0, dash);
  const parts = v.trim().split('.');
  if (parts.length < 2 || parts.length > 4) return undefined;
  const nums: number[] = [];
  for (const part of parts) {
    const t = part.trim();
    if (!/^\+?\d+$/.test(t)) return undefined;
    const n = Number(t);
    if (n > 2147483647) return undefined;
    nums.push(n);
  }
  return nums;
}

/**
 * The server's `DemandMinimumVersion.CompareVersion(a, b)`: both missing → 0, only `a` missing →
 * −1, only `b` missing → 1, else `System.Version.CompareTo` (an absent build/revision part is
 * below any present one: 1.2 < 1.2.0).
 */
export function compareServerVersions(a: string, b: string): number {
  const va = parseServerVersion(a);
  const vb = parseServerVersion(b);
  if (!va && !vb) return 0;
  if (!va) return -1;
  if (!vb) return 1;
  for (let i = 0; i < 4; i++) {
    const x = va[i] ?? -1;
    const y = vb[i] ?? -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * The `Agent.OS` capability the real agent reports for a container OS: `Linux`, or `Windows_NT`
 * on Windows (what pipelines demand: `Agent.OS -equals Windows_NT`).
 */
export function agentOsCapability(os: 'Linux' | 'Windows'): string {
  return os === 'Windows' ? 'Windows_NT' : 'Linux';
}

export interface CapabilityIndex {
  /** normalised name -> value */
  values: Map<string, string>;
  caseSensitive: boolean;
}

export function indexCapabilities(capabilities: Record<string, string>, caseSensitive: boolean): CapabilityIndex {
  const values = new Map<string, string>();
  for (const [k, v] of Object.entries(capabilities)) values.set(caseSensitive ? k : k.toLowerCase(), v);
  return { values, caseSensitive };
}

const norm = (s: string, caseSensitive: boolean) => (caseSensitive ? s : s.toLowerCase());

export function demandSatisfied(d: Demand, caps: CapabilityIndex): boolean {
  const value = caps.values.get(norm(d.name, caps.caseSensitive));
  if (value === undefined) return false;
  switch (d.op) {
    case 'exists':
      return true;
    case 'equals':
      // Always ignoring case, whatever `caseSensitive` says about names (DemandEquals.IsSatisfied).
      return value.toLowerCase() === (d.value ?? '').toLowerCase();
    case 'gtVersion':
      // Satisfied when the demanded version <= the capability's (DemandMinimumVersion.IsSatisfied).
      return compareServerVersions(d.value ?? '', value) <= 0;
  }
}

/** Parsed demands without Agent.Version; parse once per job, match against many profiles. */
export function relevantDemands(demands: readonly string[]): Demand[] {
  return demands.map(parseDemand).filter((d) => d.name !== '' && !isAgentVersionDemand(d));
}

export function matches(demands: readonly Demand[], caps: CapabilityIndex, mode: MatchMode): boolean {
  return matchesDeclared(demands, caps, caps, mode);
}

/**
 * `matches` where what the agent reports (`caps`: satisfies demands) is wider than what the profile
 * declares (`declared`: the capabilities the require-all modes insist are demanded) — the implied
 * `Agent.OS` and environment variables satisfy demands without having to be demanded.
 */
export function matchesDeclared(
  demands: readonly Demand[],
  caps: CapabilityIndex,
  declared: CapabilityIndex,
  mode: MatchMode,
): boolean {
  switch (mode) {
    case 'subset':
      return demands.every((d) => demandSatisfied(d, caps));
    case 'requireAll': {
      if (!demands.every((d) => demandSatisfied(d, caps))) return false;
      const demanded = new Set(demands.map((d) => norm(d.name, declared.caseSensitive)));
      return [...declared.values.keys()].every((k) => demanded.has(k));
    }
    case 'requireAllAndIgnoreOthers': {
      const mine = demands.filter((d) => declared.values.has(norm(d.name, declared.caseSensitive)));
      if (!mine.every((d) => demandSatisfied(d, caps))) return false;
      const demanded = new Set(mine.map((d) => norm(d.name, declared.caseSensitive)));
      return [...declared.values.keys()].every((k) => demanded.has(k));
    }
  }
}
