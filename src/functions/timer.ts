/** Timer trigger: every SCALE_SCHEDULE tick requests a pass for every configured pool (src/app/handlers.ts). */
import { app } from '@azure/functions';
import { timerHandler } from '../app/handlers.js';

app.timer('reconcileTimer', {
  schedule: '%SCALE_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  handler: timerHandler,
});
