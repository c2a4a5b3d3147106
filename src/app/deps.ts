/**
 * The one place that turns settings into real adapters: Azure DevOps client, ACI provider,
 * Key Vault PAT provider. Tests and the CLI pass a credential and a CA for local fakes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TokenCredential } from '@azure/core-auth';
import type { Dispatcher } from 'undici';
import { AciComputeProvider } from '../aci/provider.js';
import { AzureDevOpsClient, entraAuth, patAuth, type RequestInfo } from '../azdo/index.js';
import { createAzureClients, credentialFromSettings, type AzureClientOptions } from '../azure/clients.js';
import type { Settings } from '../config/schema.js';
import {
  memoryPoolStateStore,
  NULL_ARRIVALS,
  type ArrivalsInbox,
  type Clock,
  type Logger,
  type PoolStateStore,
} from '../ports/index.js';
import type { ReconcileDeps, ReconcileOptions } from '../reconcile/pass.js';
import { KeyVaultTokenProvider, notStoredOr } from '../secrets/keyvault.js';
import { registerSecret } from '../util/log.js';
import { AGENT_NAME_RANDOM_CHARS } from '../core/names.js';
import type { DeploymentIdentity } from '../core/ownership.js';

const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

let pool = Buffer.alloc(0);
let poolAt = 0;

/**
 * The random part of an agent name: AGENT_NAME_RANDOM_CHARS uniform base-36 characters from the
 * CSPRNG (bytes ≥ 252 are dropped so every character is equally likely; bytes come from a small
 * pool refilled by randomBytes).
 */
export function randomAgentEntropy(): string {
  let out = '';
  while (out.length < AGENT_NAME_RANDOM_CHARS) {
    if (poolAt >= pool.length) {
      pool = randomBytes(4096);
      poolAt = 0;
    }
    const b = pool[poolAt++]!;
    if (b < 252) out += BASE36[b % 36];
  }
  return out;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface DepsOverrides {
  credential?: TokenCredential;
  /** Extra options for the Azure SDK clients (tests: `ca` of the local fakes). */
  azure?: AzureClientOptions;
  /** Undici dispatcher for Azure DevOps (tests: trusts the fake's certificate). */
  azdoDispatcher?: Dispatcher;
  onAzdoRequest?: (info: RequestInfo) => void;
  clock?: Clock;
  poolState?: PoolStateStore;
  arrivals?: ArrivalsInbox;
  entropy?: () => string;
  /** Per-request timeouts (tests that inject timeouts): ARM default 30 s, Azure DevOps 45 s. */
  armRequestTimeoutMs?: number;
  azdoTimeoutMs?: number;
  /** Sleep between Azure DevOps read retries (tests compress time). */
  azdoSleep?: (ms: number) => Promise<void>;
}

/**
 * Where the deployment's groups live, as its agents report it (AZP_AUTOSCALER_SCOPE): the first 16
 * hex digits of SHA-256 over `subscription/resourcegroup` (lowercase), so pool readers do not see
 * the subscription. Two deployments that both keep the default AUTOSCALER_ID in two resource
 * groups still tell their agents apart.
 */
export function deploymentScope(subscriptionId: string, resourceGroup: string): string {
  return createHash('sha256').update(`${subscriptionId}/${resourceGroup}`.toLowerCase()).digest('hex').slice(0, 16);
}

/** The deployment's identity (src/core/ownership.ts): AUTOSCALER_ID, and the scope when Azure is configured. */
export function deploymentIdentity(settings: Settings): DeploymentIdentity {
  const { AZURE_SUBSCRIPTION_ID: sub, ACI_RESOURCE_GROUP: rg } = settings;
  return { autoscalerId: settings.AUTOSCALER_ID, ...(sub && rg ? { scope: deploymentScope(sub, rg) } : {}) };
}

export function reconcileOptions(settings: Settings, dryRun = settings.DRY_RUN): ReconcileOptions {
  return {
    prefix: settings.AGENT_NAME_PREFIX,
    identity: deploymentIdentity(settings),
    profiles: settings.POOLS,
    dryRun,
    createConcurrency: settings.CREATE_CONCURRENCY,
  };
}

/** The agent PAT from Key Vault, every value read registered with the log scrubber before anyone can log it. */
function patSecrets(keyVault: KeyVaultTokenProvider): { getToken(): Promise<string>; invalidate(): void } {
  return {
    getToken: async () => {
      let token: string;
      try {
        token = await keyVault.getToken();
      } catch (err) {
        // First deployment: the secret is stored after the app starts; the pass waits, quietly.
        throw notStoredOr(err);
      }
      registerSecret(token);
      return token;
    },
    invalidate: () => keyVault.invalidate(),
  };
}

/** Builds the real ports from settings. Requires the Azure settings (loadSettings requireAzure). */
export function buildDeps(settings: Settings, logger: Logger, o: DepsOverrides = {}): ReconcileDeps {
  const { KEY_VAULT_URL, AZURE_SUBSCRIPTION_ID, ACI_RESOURCE_GROUP, ACI_LOCATION } = settings;
  if (!KEY_VAULT_URL || !AZURE_SUBSCRIPTION_ID || !ACI_RESOURCE_GROUP || !ACI_LOCATION) {
    throw new Error(
      'KEY_VAULT_URL, AZURE_SUBSCRIPTION_ID, ACI_RESOURCE_GROUP and ACI_LOCATION are required to run against Azure',
    );
  }
  const credential = o.credential ?? credentialFromSettings(settings);
  const clients = createAzureClients(
    credential,
    { subscriptionId: AZURE_SUBSCRIPTION_ID, keyVaultUrl: KEY_VAULT_URL },
    { armEndpoint: settings.ARM_ENDPOINT, ...o.azure },
  );
  const secrets = patSecrets(
    new KeyVaultTokenProvider({ client: clients.secrets!, secretName: settings.AZP_TOKEN_SECRET_NAME }),
  );
  const auth = settings.AZP_AUTH === 'entra' ? entraAuth(credential) : patAuth(secrets.getToken, secrets.invalidate);
  const azdo = new AzureDevOpsClient({
    baseUrl: settings.AZP_URL,
    auth,
    ...(settings.AZP_API_VERSION ? { apiVersion: settings.AZP_API_VERSION } : {}),
    ...(o.azdoDispatcher ? { dispatcher: o.azdoDispatcher } : {}),
    ...(o.onAzdoRequest ? { onRequest: o.onAzdoRequest } : {}),
    ...(o.azdoTimeoutMs !== undefined ? { timeoutMs: o.azdoTimeoutMs } : {}),
    ...(o.azdoSleep ? { sleep: o.azdoSleep } : {}),
  });
  const compute = new AciComputeProvider({
    client: clients.aci,
    resourceGroup: ACI_RESOURCE_GROUP,
    spec: { azpUrl: settings.AZP_URL, location: ACI_LOCATION, ...deploymentIdentity(settings) },
    // No ARM call may hold a pass (and with it the pool's lease) indefinitely.
    requestTimeoutMs: o.armRequestTimeoutMs ?? 30_000,
    // The provider's own limiter must let the pass's creates through.
    concurrency: Math.max(10, settings.CREATE_CONCURRENCY),
    logger,
  });
  return {
    azdo,
    compute,
    secrets,
    clock: o.clock ?? systemClock,
    logger,
    poolState: o.poolState ?? memoryPoolStateStore(),
    arrivals: o.arrivals ?? NULL_ARRIVALS,
    entropy: o.entropy ?? randomAgentEntropy,
    // Once per process: capability differences per placeholder, the parallel-job warning.
    notices: new Set<string>(),
    // Once per process: registrations named like ours found another deployment's or unproven.
    ownership: new Map(),
  };
}
