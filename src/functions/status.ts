/** GET /api/status (function key): the per-profile view and this instance's pass counters as JSON. */
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { getRuntime } from '../app/runtime.js';
import { makeStatusHandler } from '../webhook/http.js';

const handle = makeStatusHandler(getRuntime);

export async function statusHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return handle(request, context);
}

app.http('status', {
  route: 'status',
  methods: ['GET'],
  authLevel: 'function',
  handler: statusHandler,
});
