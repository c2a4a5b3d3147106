/** Must be evaluated before any function registers (ES imports run in order). */
import { app } from '@azure/functions';
import { startAzureMonitor } from './app/monitor.js';

// Streams: the webhook authenticates before it reads a byte of the body, and reads at most 2 MiB.
app.setup({ enableHttpStream: true });
// OpenTelemetry through the Azure Monitor distro (docs/telemetry.md), when Application Insights is
// configured; loaded by import() then only. Top-level await: in the bundle (one module scope) the
// registrations below wait for it; unbundled, the worker awaits the whole entry before any invocation.
await startAzureMonitor();
