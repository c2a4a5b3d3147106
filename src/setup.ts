/** Must be evaluated before any function registers (ES imports run in order). */
import { app } from '@azure/functions';
import { startAzureMonitor } from './app/monitor.js';

// Streams: the webhook authenticates before it reads a byte of the body, and reads at most 2 MiB.
app.setup({ enableHttpStream: true });
// OpenTelemetry through the Azure Monitor distro (docs/telemetry.md), when Application Insights is configured.
startAzureMonitor();
