/**
 * Service-hook payloads (Web Hooks consumer, pipelines publisher), after the samples in
 * contracts/servicehooks. Tolerant: unknown fields pass, and resource details are
 * optional because a subscription may send "minimal" or "none" resource details. Known fields must
 * have the right type when present, so a garbled body is a clear 400, not a silent no-op.
 */
import { z } from 'zod';

export const JOB_STATE_CHANGED = 'ms.vss-pipelines.job-state-changed-event';
export const RUN_STATE_CHANGED = 'ms.vss-pipelines.run-state-changed-event';
export const STAGE_STATE_CHANGED = 'ms.vss-pipelines.stage-state-changed-event';
export const SUPPORTED_EVENTS = [JOB_STATE_CHANGED, RUN_STATE_CHANGED, STAGE_STATE_CHANGED] as const;

const str = z.string().max(4096);
const optStr = str.nullish();

const container = z.looseObject({ id: optStr, baseUrl: optStr }).nullish();

const stateful = z.looseObject({
  id: z.union([str, z.number()]).nullish(),
  name: optStr,
  state: optStr,
  result: optStr,
});

export const envelopeSchema = z.looseObject({
  /** Event id (GUID); the same on every delivery of one event. */
  id: optStr,
  eventType: str.min(1),
  publisherId: optStr,
  subscriptionId: optStr,
  /** Per-subscription notification id; the same on a redelivery. */
  notificationId: z.union([z.number(), str]).nullish(),
  resourceVersion: optStr,
  createdDate: optStr,
  resource: z
    .looseObject({
      job: stateful.nullish(),
      stage: stateful.nullish(),
      run: stateful.nullish(),
    })
    .nullish(),
  resourceContainers: z
    .looseObject({
      collection: container,
      account: container,
      project: container,
    })
    .nullish(),
});

export type ServiceHookEnvelope = z.output<typeof envelopeSchema>;

/** First issues of a zod error as "path: message" lines; values are never quoted. */
export function describeIssues(error: z.ZodError, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}
