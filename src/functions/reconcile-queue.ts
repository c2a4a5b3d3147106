/** Queue trigger on `azp-reconcile`: the webhook's deliveries become passes (src/app/queue-handler.ts). */
import { app } from '@azure/functions';
import { queueHandler, RECONCILE_QUEUE } from '../app/handlers.js';

app.storageQueue('reconcileQueue', {
  queueName: RECONCILE_QUEUE,
  connection: 'AzureWebJobsStorage',
  handler: queueHandler,
});
