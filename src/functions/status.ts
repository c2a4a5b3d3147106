/** GET /api/status (function key): the per-profile view and this instance's pass counters as JSON. */
import { app } from '@azure/functions';
import { statusHandler } from '../app/handlers.js';

app.http('status', {
  route: 'status',
  methods: ['GET'],
  authLevel: 'function',
  handler: statusHandler,
});
