/** Timer trigger: every SCALE_SCHEDULE tick requests a pass for every configured pool. */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import { getRuntime, type Runtime } from '../app/runtime.js';
import { poolsOf } from '../reconcile/pass.js';
import { errorText } from '../util/log.js';

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
    await rt.coordinator.requestAll(pools, timer.isPastDue ? 'timer (past due)' : 'timer');
  };
}

export const timerHandler = makeTimerHandler(getRuntime);

app.timer('reconcileTimer', {
  schedule: '%SCALE_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  handler: timerHandler,
});
