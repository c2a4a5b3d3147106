/**
 * The export path of docs/telemetry.md: the Azure Monitor OpenTelemetry distro in the worker, set up
 * once before the first function registers (src/setup.ts), only when Application Insights is
 * configured. Decision events are never sampled away: trace-based log sampling is off explicitly.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { useAzureMonitor } from '@azure/monitor-opentelemetry';

type Env = Record<string, string | undefined>;

let started = false;

/** Start the distro when APPLICATIONINSIGHTS_CONNECTION_STRING is set; true when it runs. */
export function startAzureMonitor(env: Env = process.env): boolean {
  const connectionString = env.APPLICATIONINSIGHTS_CONNECTION_STRING;
  if (started || !connectionString) return started;
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
