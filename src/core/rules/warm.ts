/**
 * Warm agents from a queue-wait target (profile `targetWaitSec`): fold what this pass read into the
 * profile's WarmState (arrivals from the job requests' queue times, refill times from our own
 * groups: created-at tag → agent online) and size k with `decideWarm` (src/core/warm.ts). The
 * planner keeps max(standby schedule, k) idle agents; idle ones beyond it are trimmed by the
 * usual idle rule (safe path: disable → re-read → delete). Pure.
 */
import type { ClassifiedGroup } from '../classify.js';
import { indexCapabilities, matches, relevantDemands } from '../demands.js';
import type { JobRequest, ProfilePolicy } from '../types.js';
import {
  decideWarm,
  emptyWarmState,
  observeArrivals,
  observeRefills,
  type Arrival,
  type CreateObservation,
  type WarmDecision,
  type WarmState,
} from '../warm.js';

/** What one profile's warm rule produced this pass: the state to keep and the decision with its reason. */
export interface WarmOutcome {
  state: WarmState;
  decision: WarmDecision;
}

/** A profile keeps warm agents only with a wait target. */
export const wantsWarm = (p: Pick<ProfilePolicy, 'targetWaitSec'>): boolean => p.targetWaitSec !== undefined;

/**
 * Our creates as the B estimator needs them: the group's created-at tag (the create was accepted
 * in that pass) and, for an agent online that has not run a job yet, the moment it came online
 * (`statusChangedOn` of an online registration). Placeholders never come online.
 */
export function createObservations(groups: readonly ClassifiedGroup[]): CreateObservation[] {
  return groups.flatMap((c) => {
    if (c.cls === 'placeholder' || !c.agent) return [];
    const a = c.agent;
    if (a.status !== 'online' || a.lastCompletedFinishTime || !a.statusChangedOn)
      return [{ acceptedAt: c.group.createdAt }];
    return [{ acceptedAt: c.group.createdAt, onlineAt: a.statusChangedOn }];
  });
}

/** Unfinished requests with a queue time, as arrivals (each request id counts once across passes). */
export function arrivalsOf(jobs: readonly JobRequest[]): Arrival[] {
  return jobs.flatMap((j) => (j.queueTime ? [{ requestId: j.requestId, queueTime: j.queueTime }] : []));
}

/**
 * Arrivals per profile: a queued job counts for the profile it was assigned to this pass; a job
 * already given to one of our agents counts for that agent's profile (its name says which); any
 * other unfinished job for the first profile whose capabilities match its demands. A job that
 * queued, ran and finished between two passes is never seen (the list holds unfinished requests).
 */
export function arrivalsByProfile(
  jobs: readonly JobRequest[],
  profiles: readonly ProfilePolicy[],
  queuedByProfile: ReadonlyMap<string, readonly JobRequest[]>,
  prefix: string,
): Map<string, Arrival[]> {
  const out = new Map<string, Arrival[]>(profiles.map((p) => [p.name, []]));
  const assigned = new Map<number, string>();
  for (const [name, js] of queuedByProfile) for (const j of js) assigned.set(j.requestId, name);
  const caps = profiles.map((p) => ({ p, caps: indexCapabilities(p.capabilities, p.caseSensitive) }));
  for (const j of jobs) {
    if (!j.queueTime || j.result || j.finishTime) continue;
    const agent = j.reservedAgent?.name;
    const byName = agent ? profiles.find((p) => agent.startsWith(`${prefix}-${p.name}-`))?.name : undefined;
    const name =
      assigned.get(j.requestId) ??
      byName ??
      caps.find((c) => matches(relevantDemands(j.demands), c.caps, c.p.matchMode))?.p.name;
    if (name) out.get(name)?.push({ requestId: j.requestId, queueTime: j.queueTime });
  }
  return out;
}

/**
 * The warm rule of one profile: update its state with this pass's arrivals and creates, then size
 * k so that at most 5 % of jobs find no warm agent (decideWarm: P(Poisson(λ·W) ≥ k) ≤ 5 %).
 */
export function warmRule(
  policy: ProfilePolicy,
  previous: WarmState | undefined,
  arrivals: readonly Arrival[],
  groups: readonly ClassifiedGroup[],
  now: Date,
): WarmOutcome {
  const base = previous ?? emptyWarmState(now);
  const state: WarmState = {
    v: 1,
    arrivals: observeArrivals(base.arrivals, arrivals, now, policy.timeZone),
    refill: observeRefills(base.refill, createObservations(groups)),
  };
  const decision = decideWarm(
    state,
    {
      maxWarmAgents: policy.maxWarmAgents ?? policy.maxAgents,
      maxAgents: policy.maxAgents,
      timeZone: policy.timeZone,
      targetWaitSec: policy.targetWaitSec ?? 0,
    },
    now,
  );
  return { state, decision };
}
