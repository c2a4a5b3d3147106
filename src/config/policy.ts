/**
 * The one conversion from a profile as the settings give it (`profileSchema`, src/config/schema.ts)
 * to the planner's view of it (`ProfilePolicy`, src/core/types.ts). Every field the planner reads is
 * copied here by name: a setting reaches the planner only when listed, and a field the planner
 * gains must be listed (or this does not compile); the image, its size, CPU, memory, subnet and
 * registry stay with the settings (the container spec reads them).
 */
import type { ProfilePolicy } from '../core/types.js';
import type { ProfileConfig } from './schema.js';

export function profilePolicy(p: ProfileConfig): ProfilePolicy {
  return {
    name: p.name,
    pool: p.pool,
    capabilities: p.capabilities,
    matchMode: p.matchMode,
    caseSensitive: p.caseSensitive,
    minAgents: p.minAgents,
    maxAgents: p.maxAgents,
    standby: p.standby,
    timeZone: p.timeZone,
    maxCreatePerPass: p.maxCreatePerPass,
    bootTimeoutSec: p.bootTimeoutSec,
    idleTimeoutSec: p.idleTimeoutSec,
    maxLifetimeSec: p.maxLifetimeSec,
    keepFailed: p.keepFailed,
    placeholder: p.placeholder,
    os: p.os,
    spot: p.spot,
    ...(p.env !== undefined ? { env: p.env } : {}),
    ...(p.targetWaitSec !== undefined ? { targetWaitSec: p.targetWaitSec } : {}),
    ...(p.maxWarmAgents !== undefined ? { maxWarmAgents: p.maxWarmAgents } : {}),
    ...(p.fallback !== undefined ? { fallback: p.fallback } : {}),
  };
}
