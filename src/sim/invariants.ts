/**
 * Invariants of the scale-down contract, checked against the simulated world after every pass and
 * at the end of a run. Reusable by any test that drives the world (e.g. the scale-down property tests).
 *
 * After every pass:
 *  1. no busy agent's group was ever deleted (the world records such a deletion as it happens);
 *  2. never more than maxAgents live groups per profile (live = provisioning, booting, registered,
 *     idle or busy; placeholders and finished/failed groups excluded);
 *  3. once the first pass ran, every profile with `placeholder: true` has its placeholder
 *     registration, or a placeholder group on its way;
 *  4. the agent PAT was only ever handed over as the Key Vault value and never logged (world records).
 * At the end (after a drain period):
 *  5. no group left but placeholders and idle agents up to the standby target;
 *  6. no orphan registration (our naming, offline, no group) left;
 *  7. every job that some profile can serve was served exactly once.
 */
import type { ProfileConfig } from '../config/schema.js';
import { placeholderName } from '../core/names.js';
import { standbyTarget } from '../core/standby.js';
import type { Violation } from './violations.js';
import type { World } from './world.js';

export interface InvariantOptions {
  /** Which controller's groups to check ('ours' for the real reconcile pass). */
  owner: string;
  /** AGENT_NAME_PREFIX of the controller under test. */
  prefix: string;
}

/** World-recorded violations: busy deletions, wrong token, secret in a log line. */
export function recordedViolations(world: World): Violation[] {
  return [...world.violations];
}

export function checkPassInvariants(
  world: World,
  profiles: readonly ProfileConfig[],
  opts: InvariantOptions & { firstPassDone: boolean },
): Violation[] {
  const now = world.clock.nowMs();
  const out: Violation[] = recordedViolations(world);
  const live = world.liveMachines(opts.owner);
  for (const p of profiles) {
    const n = live.filter((m) => m.profile.name === p.name).length;
    if (n > p.maxAgents)
      out.push({
        atMs: now,
        kind: 'maxAgentsExceeded',
        profile: p.name,
        count: n,
        limit: p.maxAgents,
        detail: `profile ${p.name}: ${n} live groups > maxAgents ${p.maxAgents}`,
      });
    if (opts.firstPassDone && p.placeholder) {
      const name = placeholderName(opts.prefix, p.name);
      const registered = [...world.agents.values()].some((a) => a.name === name);
      const creating = world.machines.has(name);
      // A placeholder group ARM failed (image pull, capacity) is deleted by the pass that sees it
      // and recreated by the next one: that one pass without a placeholder is expected.
      const last = world.allMachines.filter((m) => m.name === name).at(-1);
      const replacing =
        last?.provisioningState === 'Failed' && last.deletedMs !== undefined && now - last.deletedMs < 60_000;
      if (!registered && !creating && !replacing)
        out.push({
          atMs: now,
          kind: 'placeholderMissing',
          profile: p.name,
          agent: name,
          detail: `profile ${p.name}: no placeholder registration and none being created`,
        });
    }
  }
  return out;
}

/** Offline registrations named like a controller's agents whose group is gone. */
export function orphanRegistrations(world: World, owner?: string): string[] {
  const out: string[] = [];
  for (const a of world.agents.values()) {
    if (a.manual || a.placeholder || a.status !== 'offline' || a.assignedRequestId !== undefined) continue;
    const m = world.machines.get(a.name);
    if (m) continue;
    const origin = world.allMachines.find((x) => x.name === a.name);
    if (owner && origin && origin.owner !== owner) continue;
    out.push(a.name);
  }
  return out;
}

export function checkFinalInvariants(
  world: World,
  profiles: readonly ProfileConfig[],
  opts: InvariantOptions,
): Violation[] {
  const nowMs = world.clock.nowMs();
  const now = new Date(nowMs);
  const out: Violation[] = recordedViolations(world);
  for (const p of profiles) {
    const left = [...world.machines.values()].filter(
      (m) => m.owner === opts.owner && m.profile.name === p.name && !m.placeholder,
    );
    const idle = left.filter((m) => m.phase === 'idle');
    const other = left.filter((m) => m.phase !== 'idle');
    const target = standbyTarget(p.minAgents, p.standby, p.timeZone, now);
    if (other.length > 0)
      out.push({
        atMs: nowMs,
        kind: 'groupLeft',
        profile: p.name,
        names: other.map((m) => m.name),
        count: other.length,
        detail: `profile ${p.name}: ${other.map((m) => `${m.name}(${m.phase})`).join(', ')} left after the drain`,
      });
    if (idle.length > target)
      out.push({
        atMs: nowMs,
        kind: 'idleBeyondStandby',
        profile: p.name,
        count: idle.length,
        limit: target,
        detail: `profile ${p.name}: ${idle.length} idle agents left, standby target ${target}`,
      });
  }
  const orphans = orphanRegistrations(world, opts.owner);
  if (orphans.length > 0)
    out.push({
      atMs: nowMs,
      kind: 'orphanRegistration',
      names: orphans,
      count: orphans.length,
      detail: `${orphans.length} orphan registration(s): ${orphans.slice(0, 5).join(', ')}`,
    });
  for (const j of world.jobs) {
    if (j.result === 'rejected') continue;
    if (j.result !== 'succeeded' || j.assignments !== 1) {
      out.push({
        atMs: nowMs,
        kind: 'jobNotServedOnce',
        job: j.id,
        count: j.assignments,
        detail: `job ${j.id} (${j.trace.name ?? 'unnamed'}): result ${j.result ?? 'none'}, taken ${j.assignments} time(s)`,
      });
    }
  }
  return out;
}
