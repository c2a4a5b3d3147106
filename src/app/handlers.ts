/**
 * The Functions handlers over the process-wide runtime. src/functions/* register these with
 * `app.*` and hold no logic; the HTTP ones live host-free in src/webhook.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import { poolsOf } from '../reconcile/pass.js';
import { errorText } from '../util/log.js';
import { makeServiceHookHandler, makeStatusHandler } from '../webhook/http.js';
import { makeQueueHandler } from './queue-handler.js';
import { getRuntime, type Runtime } from './runtime.js';
import { renderStatusHtml } from './status-html.js';

export { RECONCILE_QUEUE } from '../storage/queue.js';

/** Every SCALE_SCHEDULE tick requests a pass for every configured pool. */
export function makeTimerHandler(runtime: () => Promise<Runtime>) {
  return async (timer: Timer, context: InvocationContext): Promise<void> => {
    let rt: Runtime;
    try {
      rt = await runtime();
    } catch (err) {
      // Invalid settings: say exactly which, every tick, and fail the invocation so it shows up.
      context.error(`reconcile timer: cannot start: ${errorText(err)}`);
      throw err;
    }
    const pools = poolsOf(rt.settings.POOLS);
    try {
      await rt.coordinator.requestAll(pools, timer.isPastDue ? 'timer (past due)' : 'timer');
    } finally {
      await rt.flush?.().catch(() => undefined);
    }
  };
}

export const timerHandler = makeTimerHandler(getRuntime);
export const serviceHookHandler = makeServiceHookHandler(getRuntime);
export const statusHandler = makeStatusHandler(async () => ({ ...(await getRuntime()), statusHtml: renderStatusHtml }));
export const queueHandler = makeQueueHandler(getRuntime);
