/**
 * The export path of docs/telemetry.md: the Azure Monitor OpenTelemetry distro in the worker, set up
 * once before the first function registers (src/setup.ts), only when Application Insights is
 * configured. Decision events are never sampled away: trace-based log sampling is off explicitly.
 *
 * The distro is loaded by import() only then: it is half the deploy bundle and most of a cold
 * import, and without a connection string nothing of it runs (scripts/bundle.mjs puts it in a chunk
 * of its own; `npm run bench:cold` with and without `--telemetry`).
 */
import { ManagedIdentityCredential } from '@azure/identity';

type Env = Record<string, string | undefined>;

let started = false;

/** Start the distro when APPLICATIONINSIGHTS_CONNECTION_STRING is set; true when it runs. */
export async function startAzureMonitor(env: Env = process.env): Promise<boolean> {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  if (started || !connectionString) return started;
  const { useAzureMonitor } = await import('@azure/monitor-opentelemetry');
  // The component has local auth off: the function identity (Monitoring Metrics Publisher) signs in.
  const clientId = env.AZURE_CLIENT_ID;
  const credential = env.IDENTITY_ENDPOINT ? new ManagedIdentityCredential(clientId ? { clientId } : {}) : undefined;
  useAzureMonitor({
    azureMonitorExporterOptions: { connectionString, ...(credential ? { credential } : {}) },
    enableTraceBasedSamplingForLogs: false,
    enableLiveMetrics: false,
  });
  started = true;
  return true;
}
