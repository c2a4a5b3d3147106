/**
 * Zod schemas of the Azure DevOps distributedtask wire format (see contracts/azdo) and the
 * mapping to the domain types. Unknown fields are tolerated (loose objects); nulls count as absent.
 */
import { z } from 'zod';
import type { AgentRegistration, JobRequest } from '../core/types.js';
import { isJobId } from '../core/types.js';

const optStr = z.string().nullish();
const optInt = z.number().int().nullish();

/** `{count, value}` — every Azure DevOps list response. */
export const listOf = <T extends z.ZodType>(item: T) =>
  z.looseObject({ count: z.number().int().nullish(), value: z.array(item) });

export const agentReferenceSchema = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  version: optStr,
  enabled: z.boolean().nullish(),
  status: optStr,
});

/** Demands are strings on the wire ("java", "Agent.OS -equals Linux"); the spec models {name,value}. */
export const demandSchema = z.union([
  z.string(),
  z
    .looseObject({ name: z.string(), value: z.string().nullish() })
    .transform((d) => (d.value ? `${d.name} -equals ${d.value}` : d.name)),
]);

function matchedIds(v: unknown): number[] | undefined {
  if (!Array.isArray(v)) return undefined;
  const ids: number[] = [];
  for (const a of v as unknown[]) {
    const id = (a as { id?: unknown } | null)?.id;
    if (typeof id === 'number' && Number.isInteger(id)) ids.push(id);
  }
  return ids;
}

export const jobRequestSchema = z.looseObject({
  /** int64 on the wire; exact as a JS number up to 2^53. */
  requestId: z.number().int(),
  /** The job's id (uuid, "ID of the job resulting from this request"): what service hooks name the job by. */
  jobId: optStr,
  queueTime: optStr,
  assignTime: optStr,
  receiveTime: optStr,
  finishTime: optStr,
  lockedUntil: optStr,
  result: optStr,
  demands: z.array(demandSchema).nullish(),
  reservedAgent: agentReferenceSchema.nullish(),
  /**
   * Only the ids: every unfinished request lists every agent able to run it (jobs × agents objects
   * per response), so the items are not validated one by one; a non-array or an item without a
   * numeric id contributes nothing.
   */
  matchedAgents: z.unknown().transform(matchedIds).optional(),
  planType: optStr,
  jobName: optStr,
  poolId: optInt,
});
export type WireJobRequest = z.output<typeof jobRequestSchema>;

export const agentSchema = agentReferenceSchema.extend({
  createdOn: optStr,
  statusChangedOn: optStr,
  assignedRequest: jobRequestSchema.nullish(),
  lastCompletedRequest: jobRequestSchema.nullish(),
});
export type WireAgent = z.output<typeof agentSchema>;

/** TaskAgent with includeCapabilities=true: what the agent reported (system) and what was added (user). */
export const agentCapabilitiesSchema = z.looseObject({
  id: z.number().int(),
  systemCapabilities: z.record(z.string(), z.string().nullable()).nullish(),
  userCapabilities: z.record(z.string(), z.string().nullable()).nullish(),
});

/** ResourceUsage (taskAgent.7.1.json definitions ResourceUsage / ResourceLimit): only what the cap reads. */
export const resourceUsageSchema = z.looseObject({
  resourceLimit: z
    .looseObject({ totalCount: z.number().int().nullish(), parallelismTag: optStr, isHosted: z.boolean().nullish() })
    .nullish(),
  usedCount: z.number().int().nullish(),
});

export const poolSchema = z.looseObject({ id: z.number().int(), name: optStr });

export const poolListSchema = listOf(poolSchema);
export const jobRequestListSchema = listOf(jobRequestSchema);
export const agentListSchema = listOf(agentSchema);

/** How a response that does not fit its schema is described: the first three issues, by path. */
export function shapeDetail(error: z.ZodError): string {
  const where = error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
  return `unexpected shape (${where})`;
}

/** The JSON error body Azure DevOps sends with most non-2xx answers. */
export const errorBodySchema = z.looseObject({
  message: z.string().nullish(),
  typeKey: z.string().nullish(),
  typeName: z.string().nullish(),
  errorCode: z.number().nullish(),
  eventId: z.number().nullish(),
});

const def = <T>(v: T | null | undefined): T | undefined => (v === null ? undefined : v);

/**
 * For an item of the unfinished-requests list without `$top`: the service the unfinished-requests list without `$top`, where the service
 * sends `matchedAgents` for every request some agent matches and leaves it out when none does (the
 * recorded list: the [kubectl] request has no field, the other lists four agents). There an absent
 * field means "no agent matches"; elsewhere (an agent's assignedRequest) it means "not sent" (toJobRequest).
 */
export function toListedJobRequest(w: WireJobRequest): JobRequest {
  const j = toJobRequest(w);
  if (!j.matchedAgentIds) j.matchedAgentIds = [];
  return j;
}

export function toJobRequest(w: WireJobRequest): JobRequest {
  const j: JobRequest = { requestId: w.requestId, demands: w.demands ?? [] };
  // Only a uuid is a job id a webhook can name (sanitized captures say "xxx"): it keys λ's dedup.
  if (isJobId(w.jobId)) j.jobId = w.jobId;
  if (w.queueTime) j.queueTime = w.queueTime;
  if (w.assignTime) j.assignTime = w.assignTime;
  if (w.receiveTime) j.receiveTime = w.receiveTime;
  if (w.finishTime) j.finishTime = w.finishTime;
  if (w.result) j.result = w.result;
  if (w.reservedAgent) j.reservedAgent = { id: w.reservedAgent.id, name: w.reservedAgent.name };
  if (w.matchedAgents) j.matchedAgentIds = w.matchedAgents;
  if (w.planType) j.planType = w.planType;
  if (w.jobName) j.jobName = w.jobName;
  const poolId = def(w.poolId);
  if (poolId !== undefined) j.poolId = poolId;
  return j;
}

export function toAgentRegistration(w: WireAgent): AgentRegistration {
  const a: AgentRegistration = {
    id: w.id,
    name: w.name,
    status: w.status?.toLowerCase() === 'online' ? 'online' : 'offline',
    enabled: w.enabled ?? true,
  };
  if (w.createdOn) a.createdOn = w.createdOn;
  if (w.statusChangedOn) a.statusChangedOn = w.statusChangedOn;
  if (w.version) a.version = w.version;
  if (w.assignedRequest) a.assignedRequestId = w.assignedRequest.requestId;
  const last = w.lastCompletedRequest;
  if (last?.finishTime) a.lastCompletedFinishTime = last.finishTime;
  if (last)
    a.lastCompletedRequest = {
      requestId: last.requestId,
      ...(isJobId(last.jobId) ? { jobId: last.jobId } : {}),
      ...(last.queueTime ? { queueTime: last.queueTime } : {}),
    };
  return a;
}
