/**
 * Azure Pipelines demand matching. A job's demands are strings on the wire:
 *   "java"                         the capability exists
 *   "Agent.OS -equals Linux"       the capability equals the value
 *   "Agent.Version -gtVersion 2.1" the capability is a version greater than the value
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

function compareVersions(a: string, b: string): number | undefined {
  const pa = a.split('.').map((x) => Number.parseInt(x, 10));
  const pb = b.split('.').map((x) => Number.parseInt(x, 10));
  if (pa.some(Number.isNaN) || pb.some(Number.isNaN)) return undefined;
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
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
      return norm(value, caps.caseSensitive) === norm(d.value ?? '', caps.caseSensitive);
    case 'gtVersion': {
      const c = compareVersions(value, d.value ?? '');
      return c !== undefined && c > 0;
    }
  }
}

/** Parsed demands without Agent.Version; parse once per job, match against many profiles. */
export function relevantDemands(demands: readonly string[]): Demand[] {
  return demands.map(parseDemand).filter((d) => d.name !== '' && !isAgentVersionDemand(d));
}

export function matches(demands: readonly Demand[], caps: CapabilityIndex, mode: MatchMode): boolean {
  switch (mode) {
    case 'subset':
      return demands.every((d) => demandSatisfied(d, caps));
    case 'requireAll': {
      if (!demands.every((d) => demandSatisfied(d, caps))) return false;
      const demanded = new Set(demands.map((d) => norm(d.name, caps.caseSensitive)));
      return [...caps.values.keys()].every((k) => demanded.has(k));
    }
    case 'requireAllAndIgnoreOthers': {
      const mine = demands.filter((d) => caps.values.has(norm(d.name, caps.caseSensitive)));
      if (!mine.every((d) => demandSatisfied(d, caps))) return false;
      const demanded = new Set(mine.map((d) => norm(d.name, caps.caseSensitive)));
      return [...caps.values.keys()].every((k) => demanded.has(k));
    }
  }
}
