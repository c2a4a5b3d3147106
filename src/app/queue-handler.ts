/**
 * The queue-triggered pass: each message on `azp-reconcile` (put there by the webhook) requests
 * passes for its pools through the coordinator, under the pool lease; many messages during one pass
 * coalesce into one more pass. A message that cannot be read, or whose handling throws, is retried
 * by the host up to host.json `extensions.queues.maxDequeueCount` times and then moved to
 * `azp-reconcile-poison` (counted in /api/status); the last attempt logs `azp_autoscaler.queue_poison`.
 */
import type { InvocationContext } from '@azure/functions';
import type { ReconcileRequest } from '../ports/index.js';
import { decodeRequest } from '../storage/queue.js';
import { errorText } from '../util/log.js';
import type { Runtime } from './runtime.js';
import type { Telemetry } from './telemetry.js';

/** host.json `extensions.queues.maxDequeueCount` (kept equal; test/unit/queue-handler.test.ts checks). */
export const MAX_DEQUEUE_COUNT = 5;

export interface QueueRuntime extends Pick<Runtime, 'requestFromQueue'> {
  telemetry: Pick<Telemetry, 'event' | 'flush'>;
}

export function makeQueueHandler(runtime: () => Promise<QueueRuntime>) {
  return async (entry: unknown, context: InvocationContext): Promise<void> => {
    const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1);
    let rt: QueueRuntime | undefined;
    try {
      rt = await runtime();
      let request: ReconcileRequest;
      try {
        request = decodeRequest(entry);
      } catch (err) {
        throw new Error(`unreadable reconcile message: ${errorText(err)}`);
      }
      const receivedAt = new Date(request.receivedAt);
      await rt.requestFromQueue(
        request.pools,
        request.reason,
        Number.isFinite(receivedAt.getTime()) ? receivedAt : new Date(),
        request.arrival ? [request.arrival] : [],
      );
    } catch (err) {
      const last = dequeueCount >= MAX_DEQUEUE_COUNT;
      context.error(
        `reconcile queue: attempt ${dequeueCount} of ${MAX_DEQUEUE_COUNT} failed${last ? '; the host moves the message to the poison queue' : ''}: ${errorText(err)}`,
      );
      if (last)
        rt?.telemetry.event('azp_autoscaler.queue_poison', 'error', {
          dequeueCount,
          messageId: String(context.triggerMetadata?.id ?? ''),
          error: errorText(err),
        });
      throw err;
    } finally {
      await rt?.telemetry.flush().catch(() => undefined);
    }
  };
}
