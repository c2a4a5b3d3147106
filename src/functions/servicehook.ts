/**
 * POST /api/servicehook — Azure DevOps service hooks (Web Hooks consumer). Function key + Basic auth;
 * acknowledges valid deliveries with 202 at once and requests passes in the background.
 * The logic lives in src/webhook (host-free, tested without the Functions host).
 */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getRuntime } from '../app/runtime.js';
import { makeServiceHookHandler } from '../webhook/http.js';

const handle = makeServiceHookHandler(getRuntime);

export async function serviceHookHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handle(request, context);
}

app.http('servicehook', {
  route: 'servicehook',
  // Every method is routed here so that a wrong one gets 405 (not the host's 404).
  methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
  authLevel: 'function',
  handler: serviceHookHandler,
});
