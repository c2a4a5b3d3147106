/**
 * The one place that builds Azure SDK clients. Everything else receives a client (or a port) and
 * never constructs one, so tests point the real SDKs at local HTTPS fakes by endpoint + CA, not by
 * mocking modules.
 *
 * Retry policy (deliberate, see DESIGN "SDK facts"): the Azure pipeline retries 429/503 with
 * Retry-After by itself (3 times by default, waiting the full Retry-After each time, uncapped).
 * We allow at most 2 retries (3 attempts), exponential 500 ms → 4 s for 5xx/network errors, and a
 * Retry-After is only honoured in-process when it is at most `maxRetryAfterMs` (5 s by default).
 * A longer Retry-After is hidden from the SDK's retry strategy (moved to `x-azp-retry-after-ms`)
 * so the error surfaces at once and the caller backs off until the next pass instead of holding
 * the pass (and the pool lease) for minutes. Worst case per ARM read: ~3 × 5 s.
 *
 * Writes are never retried inside the pipeline (`readsOnlyRetryPolicy`): a PUT/DELETE/PATCH/POST
 * goes out exactly once per call, whatever comes back (429/503 with Retry-After, 5xx, a timeout, a
 * reset). The fence (src/ports/fence.ts) and, for a delete, the re-read of the agent are checked
 * before each call, so one call = one attempt = one fenced, re-read write. A write that failed is
 * planned again by the next pass from fresh reads under a fresh fence check (DESIGN principle 4).
 */
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { TokenCredential } from '@azure/core-auth';
import {
  defaultRetryPolicy,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRetryOptions,
} from '@azure/core-rest-pipeline';
import { DefaultAzureCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { delayHeaderMs } from '../util/http-hints.js';

export const DEFAULT_ARM_ENDPOINT = 'https://management.azure.com';
/** Header carrying a Retry-After that was too long to wait for in-process (milliseconds). */
export const DEFERRED_RETRY_AFTER_HEADER = 'x-azp-retry-after-ms';
export const DEFAULT_RETRY_OPTIONS: Readonly<Required<PipelineRetryOptions>> = Object.freeze({
  maxRetries: 2,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 4_000,
});
export const DEFAULT_MAX_RETRY_AFTER_MS = 5_000;

export interface AzureClientOptions {
  /** ARM endpoint (ARM_ENDPOINT); default https://management.azure.com. */
  armEndpoint?: string;
  /**
   * Token scope for ARM. Default: `<origin of armEndpoint>/.default`, which is right for the public
   * cloud and the sovereign clouds (management.chinacloudapi.cn, management.usgovcloudapi.net, …).
   */
  armScope?: string;
  /** Extra trusted CA (PEM) for local fakes. Adds to, never replaces, the default store's use by others. */
  ca?: string;
  /** Overrides DEFAULT_RETRY_OPTIONS field by field. */
  retryOptions?: PipelineRetryOptions;
  /** Longest Retry-After waited for inside one call; longer ones surface as a throttled error. */
  maxRetryAfterMs?: number;
  /** Custom transport (tests / wire capture). */
  httpClient?: HttpClient;
  /** Key Vault: relax challenge resource verification; default only for hosts that are not a real vault domain. */
  disableChallengeResourceVerification?: boolean;
}

export interface AzureTargets {
  subscriptionId: string;
  /** KEY_VAULT_URL; when absent no SecretClient is built. */
  keyVaultUrl?: string;
}

export interface AzureClients {
  aci: ContainerInstanceManagementClient;
  secrets?: SecretClient;
}

/** Real Key Vault / Managed HSM domains: challenge verification stays on for these. */
const REAL_VAULT_SUFFIXES = [
  '.vault.azure.net',
  '.vault.azure.cn',
  '.vault.usgovcloudapi.net',
  '.vault.microsoftazure.de',
  '.managedhsm.azure.net',
];

export function isRealVaultHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '').replace(/:\d+$/, '');
  return REAL_VAULT_SUFFIXES.some((s) => h.endsWith(s) && h.length > s.length);
}

/** `<origin>/.default` for an ARM endpoint, e.g. https://management.usgovcloudapi.net/.default. */
export function armCredentialScope(armEndpoint: string): string {
  return `${new URL(armEndpoint).origin}/.default`;
}

/**
 * Moves a Retry-After longer than `maxMs` out of the SDK's sight (see the file comment).
 * Runs per retry, inside the retry policy, so it sees every raw response first.
 */
export function capRetryAfterPolicy(maxMs: number): PipelinePolicy {
  return {
    name: 'azpCapRetryAfter',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 429 && response.status !== 503) return response;
      const h = response.headers;
      const ms =
        delayHeaderMs(h.get('retry-after-ms'), 'ms') ??
        delayHeaderMs(h.get('x-ms-retry-after-ms'), 'ms') ??
        delayHeaderMs(h.get('retry-after'), 's');
      if (ms !== undefined && ms > maxMs) {
        h.delete('retry-after-ms');
        h.delete('x-ms-retry-after-ms');
        h.delete('retry-after');
        h.set(DEFERRED_RETRY_AFTER_HEADER, String(Math.round(ms)));
      }
      return response;
    },
  };
}

/** Methods that change nothing: the only ones the pipeline may send more than once per call. */
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const READS_ONLY_RETRY_POLICY = 'azpReadsOnlyRetry';

/**
 * The SDK's default retry policy (429/503 Retry-After, 5xx and 408, network errors) for reads only;
 * a write passes straight through to the transport, so its first answer or error is the call's.
 */
export function readsOnlyRetryPolicy(options: PipelineRetryOptions): PipelinePolicy {
  const retrying = defaultRetryPolicy(options);
  return {
    name: READS_ONLY_RETRY_POLICY,
    sendRequest: (request, next) =>
      READ_METHODS.has(request.method.toUpperCase()) ? retrying.sendRequest(request, next) : next(request),
  };
}

/** Replaces the pipeline's default retry policy (same phase) by `readsOnlyRetryPolicy`. */
export function retryReadsOnly(pipeline: Pipeline, options: PipelineRetryOptions): void {
  const removed = pipeline.removePolicy({ name: defaultRetryPolicy().name });
  if (removed.length !== 1) throw new Error('the SDK pipeline has no default retry policy to replace');
  pipeline.addPolicy(readsOnlyRetryPolicy(options), { phase: 'Retry' });
}

function commonOptions(opts: AzureClientOptions) {
  return {
    retryOptions: { ...DEFAULT_RETRY_OPTIONS, ...opts.retryOptions },
    additionalPolicies: [
      {
        policy: capRetryAfterPolicy(opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS),
        position: 'perRetry' as const,
      },
    ],
    ...(opts.ca ? { tlsOptions: { ca: opts.ca } } : {}),
    ...(opts.httpClient ? { httpClient: opts.httpClient } : {}),
  };
}

export function createArmClient(
  credential: TokenCredential,
  subscriptionId: string,
  opts: AzureClientOptions = {},
): ContainerInstanceManagementClient {
  const endpoint = (opts.armEndpoint ?? DEFAULT_ARM_ENDPOINT).replace(/\/+$/, '');
  const common = commonOptions(opts);
  const client = new ContainerInstanceManagementClient(credential, subscriptionId, {
    ...common,
    endpoint,
    // Operation URLs are built from `$host`, the pipeline from `endpoint`: set both.
    $host: endpoint,
    credentialScopes: opts.armScope ?? armCredentialScope(endpoint),
  });
  retryReadsOnly(client.pipeline, common.retryOptions);
  return client;
}

export function createSecretClient(
  credential: TokenCredential,
  vaultUrl: string,
  opts: AzureClientOptions = {},
): SecretClient {
  const host = new URL(vaultUrl).hostname;
  return new SecretClient(vaultUrl, credential, {
    ...commonOptions(opts),
    disableChallengeResourceVerification: opts.disableChallengeResourceVerification ?? !isRealVaultHost(host),
  });
}

/** Builds every SDK client the autoscaler uses from one credential and one set of options. */
export function createAzureClients(
  credential: TokenCredential,
  targets: AzureTargets,
  opts: AzureClientOptions = {},
): AzureClients {
  const aci = createArmClient(credential, targets.subscriptionId, opts);
  return targets.keyVaultUrl ? { aci, secrets: createSecretClient(credential, targets.keyVaultUrl, opts) } : { aci };
}

/**
 * DefaultAzureCredential; with AZURE_CLIENT_ID set, the user-assigned managed identity (and the
 * workload identity) with that client id is used. The Functions managed identity works unchanged.
 */
export function credentialFromSettings(settings: { AZURE_CLIENT_ID?: string | undefined }): TokenCredential {
  const id = settings.AZURE_CLIENT_ID;
  return new DefaultAzureCredential(id ? { managedIdentityClientId: id, workloadIdentityClientId: id } : {});
}
