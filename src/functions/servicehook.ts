/**
 * POST /api/servicehook — Azure DevOps service hooks (Web Hooks consumer). Function key + Basic auth;
 * acknowledges valid deliveries with 202 at once and requests passes in the background.
 * The logic lives in src/webhook (host-free, tested without the Functions host).
 */
import { app } from '@azure/functions';
import { serviceHookHandler } from '../app/handlers.js';

app.http('servicehook', {
  route: 'servicehook',
  // Every method is routed here so that a wrong one gets 405 (not the host's 404).
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  authLevel: 'function',
  handler: serviceHookHandler,
});
