/**
 * Warm agents from a queue-wait target (profile `targetWaitSec`): fold what this pass read into the
 * profile's WarmState (arrivals from the job requests' queue times, refill times from our own
 * groups: created-at tag → agent online) and size k with `decideWarm` (src/core/warm/). The
 * planner keeps max(standby schedule, k) idle agents; idle ones beyond it are trimmed by the
 * usual idle rule (safe path: disable → re-read → delete). Pure.
 */
import type { ClassifiedGroup } from '../classify.js';
import { indexCapabilities, matches, relevantDemands } from '../demands.js';
import type { AgentRegistration, JobRequest, ProfilePolicy, WebhookArrival } from '../types.js';
import {
  DEFAULT_WARM_TUNING,
  decideWarm,
  emptyWarmState,
  observeArrivals,
  observeRefills,
  observeWaits,
  type ServedJob,
  type Arrival,
  type CreateObservation,
  type WarmDecision,
  type WarmState,
  type WarmTuning,
} from '../warm/index.js';

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

/** A request as an arrival: its queue time and both its ids (the webhook knows the job id only). */
const arrivalOf = (j: Pick<JobRequest, 'requestId' | 'jobId'>, queueTime: string): Arrival => ({
  requestId: j.requestId,
  ...(j.jobId ? { jobId: j.jobId } : {}),
  queueTime,
});

/** Unfinished requests with a queue time, as arrivals (each job counts once across passes). */
export function arrivalsOf(jobs: readonly JobRequest[]): Arrival[] {
  return jobs.flatMap((j) => (j.queueTime ? [arrivalOf(j, j.queueTime)] : []));
}

/**
 * Arrivals per profile: a queued job counts for the profile it was assigned to this pass; a job
 * already given to one of our agents counts for that agent's profile (its name says which); any
 * other unfinished job for the first profile whose capabilities match its demands; the last job
 * each of our agents completed for that agent's profile (one that ran between two passes).
 *
 * The webhook's arrivals add the jobs the list no longer holds: one that queued, ran and finished
 * between two passes. The payload names no pool, demands or agent, so such a job counts only when
 * this pass can place it: the listed request with that job id (its reserved agent's name, else its
 * demands), else one of our agents whose last completed request is that job (the agent's name).
 * Otherwise it is skipped: nothing shows it ran in this pool (a project's subscription also
 * reports jobs of other pools). Its queue time is the request's, else the webhook's (a `waiting`
 * event); a job without either is skipped. Ids dedupe in observeArrivals: each job counts once.
 */
export function arrivalsByProfile(
  jobs: readonly JobRequest[],
  profiles: readonly ProfilePolicy[],
  queuedByProfile: ReadonlyMap<string, readonly JobRequest[]>,
  prefix: string,
  webhook: readonly WebhookArrival[] = [],
  agents: readonly AgentRegistration[] = [],
): Map<string, Arrival[]> {
  const out = new Map<string, Arrival[]>(profiles.map((p) => [p.name, []]));
  const assigned = new Map<number, string>();
  for (const [name, js] of queuedByProfile) for (const j of js) assigned.set(j.requestId, name);
  const caps = profiles.map((p) => ({ p, caps: indexCapabilities(p.capabilities, p.caseSensitive) }));
  const byAgent = (agent: string | undefined) =>
    agent ? profiles.find((p) => agent.startsWith(`${prefix}-${p.name}-`))?.name : undefined;
  const profileOf = (j: JobRequest) =>
    assigned.get(j.requestId) ??
    byAgent(j.reservedAgent?.name) ??
    caps.find((c) => matches(relevantDemands(j.demands), c.caps, c.p.matchMode))?.p.name;
  const counted = new Set<string>();
  for (const j of jobs) {
    if (!j.queueTime || j.result || j.finishTime) continue;
    const name = profileOf(j);
    if (!name) continue;
    // Only a job our agent of this profile took tells this profile's realized wait.
    const served = byAgent(j.reservedAgent?.name) === name && j.assignTime ? { assignTime: j.assignTime } : {};
    out.get(name)?.push({ ...arrivalOf(j, j.queueTime), ...served });
    if (j.jobId) counted.add(j.jobId.toLowerCase());
  }
  // Our agents' last completed requests: a job that queued, ran and finished between two passes
  // counts even when no webhook delivery named it (a lost delivery; Azure DevOps Server has no
  // job-state event). A job counted while it was listed is not counted again: observeArrivals
  // dedupes its ids, and drops a queue time older than its dedup window.
  for (const a of agents) {
    const last = a.lastCompletedRequest;
    const name = byAgent(a.name);
    if (!last?.queueTime || !name) continue;
    out
      .get(name)
      ?.push({ requestId: last.requestId, ...(last.jobId ? { jobId: last.jobId } : {}), queueTime: last.queueTime });
    if (last.jobId) counted.add(last.jobId.toLowerCase());
  }
  if (webhook.length > 0) addWebhookArrivals(out, webhook, jobs, agents, counted, profileOf, byAgent);
  return out;
}

/**
 * The webhook's arrivals the list and our agents did not already count, each for the profile this
 * pass can place it in (see arrivalsByProfile); `counted` (job ids, lower case) grows with them.
 */
function addWebhookArrivals(
  out: Map<string, Arrival[]>,
  webhook: readonly WebhookArrival[],
  jobs: readonly JobRequest[],
  agents: readonly AgentRegistration[],
  counted: Set<string>,
  profileOf: (j: JobRequest) => string | undefined,
  byAgent: (agent: string | undefined) => string | undefined,
): void {
  const listed = new Map(jobs.flatMap((j) => (j.jobId ? [[j.jobId.toLowerCase(), j] as const] : [])));
  const ranOn = new Map(
    agents.flatMap((a) => {
      const id = a.lastCompletedRequest?.jobId?.toLowerCase();
      return id ? [[id, a] as const] : [];
    }),
  );
  for (const w of webhook) {
    const id = w.jobId.toLowerCase();
    if (counted.has(id)) continue;
    const j = listed.get(id);
    const agent = j ? undefined : ranOn.get(id);
    const name = j ? profileOf(j) : byAgent(agent?.name);
    const queueTime = j?.queueTime ?? agent?.lastCompletedRequest?.queueTime ?? w.queueTime;
    if (!name || !queueTime) continue;
    const requestId = j?.requestId ?? agent?.lastCompletedRequest?.requestId;
    out.get(name)?.push({ ...(requestId !== undefined ? { requestId } : {}), jobId: w.jobId, queueTime });
    counted.add(id);
  }
}

/** The arrivals one of our agents of the profile already took: their waits feed the miss budget. */
export const servedJobs = (arrivals: readonly Arrival[]): ServedJob[] =>
  arrivals.flatMap((a) =>
    a.assignTime && a.requestId !== undefined
      ? [{ requestId: a.requestId, queueTime: a.queueTime, assignTime: a.assignTime }]
      : [],
  );

/**
 * The warm rule of one profile: update its state with this pass's arrivals and creates, then size
 * k so that at most 5 % of jobs find no warm agent (decideWarm: P(Poisson(λ·W) ≥ k) ≤ 5 %), one
 * fewer while the miss budget of the recent jobs (realized waits past the target) allows it.
 */
export function warmRule(
  policy: ProfilePolicy,
  previous: WarmState | undefined,
  arrivals: readonly Arrival[],
  groups: readonly ClassifiedGroup[],
  now: Date,
  tuning: Readonly<WarmTuning> = DEFAULT_WARM_TUNING,
): WarmOutcome {
  const base = previous ?? emptyWarmState(now);
  const state: WarmState = {
    v: 1,
    arrivals: observeArrivals(base.arrivals, arrivals, now, policy.timeZone, tuning),
    refill: observeRefills(base.refill, createObservations(groups), tuning),
    waits: observeWaits(base.waits, servedJobs(arrivals), policy.targetWaitSec ?? 0, tuning),
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
    tuning,
  );
  return { state, decision };
}
