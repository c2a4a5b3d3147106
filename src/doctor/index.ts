/**
 * `azp-aci-autoscaler doctor`: every precondition of a pass checked against the real services,
 * with the settings a pass reads, before the first job. Writes nothing: every Azure DevOps, ARM,
 * Key Vault and storage call is a read (GET/HEAD; the registry's token requests are POSTs that
 * change nothing). One result per check; the CLI prints them (./report.ts).
 */
import type { TokenCredential } from '@azure/core-auth';
import type { Dispatcher } from 'undici';
import { AzureDevOpsClient, entraAuth, patAuth } from '../azdo/index.js';
import {
  armCredentialScope,
  createAzureClients,
  credentialFromSettings,
  type AzureClientOptions,
} from '../azure/clients.js';
import type { Settings } from '../config/schema.js';
import { KeyVaultTokenProvider } from '../secrets/keyvault.js';
import { registerSecret } from '../util/log.js';
import { agentVersionChecks, azdoUrlCheck, connectionCheck, hookChecks, poolChecks } from './azdo.js';
import { keyVaultChecks, permissionCheck, providerCheck, quotaChecks } from './azure.js';
import { imageProbe } from './image.js';
import { ok, warn, type CheckResult } from './report.js';
import { storageChecks } from './storage.js';

export { formatChecks, type CheckResult, type CheckStatus } from './report.js';

export interface DoctorOptions {
  /** The function URL the service hooks must point at (doctor --url); optional. */
  appUrl?: string;
  credential?: TokenCredential;
  /** Extra options for the Azure SDK clients (tests: the fakes' CA). */
  azure?: AzureClientOptions;
  /** Undici dispatcher for Azure DevOps and the registry (tests: trusts the fakes' certificate). */
  dispatcher?: Dispatcher;
  now?: () => Date;
}

/**
 * An Azure DevOps client with the app's credential: the PAT read once from Key Vault (a
 * SecretError names the vault, the secret and the status), or the Entra ID token.
 */
export async function azdoClientFor(settings: Settings, o: DoctorOptions = {}): Promise<AzureDevOpsClient> {
  const credential = o.credential ?? credentialFromSettings(settings);
  let auth;
  if (settings.AZP_AUTH === 'entra') auth = entraAuth(credential);
  else {
    const clients = createAzureClients(
      credential,
      { subscriptionId: settings.AZURE_SUBSCRIPTION_ID!, keyVaultUrl: settings.KEY_VAULT_URL! },
      { armEndpoint: settings.ARM_ENDPOINT, ...o.azure },
    );
    const pat = await new KeyVaultTokenProvider({
      client: clients.secrets!,
      secretName: settings.AZP_TOKEN_SECRET_NAME,
    }).getToken();
    registerSecret(pat);
    auth = patAuth(() => Promise.resolve(pat));
  }
  return new AzureDevOpsClient({
    baseUrl: settings.AZP_URL,
    auth,
    maxRetries: 1,
    timeoutMs: 20_000,
    ...(settings.AZP_API_VERSION ? { apiVersion: settings.AZP_API_VERSION } : {}),
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
  });
}

/** Runs every check in a fixed order; never throws for a failing service (that is a FAIL line). */
export async function runDoctor(settings: Settings, o: DoctorOptions = {}): Promise<CheckResult[]> {
  const results: CheckResult[] = [
    ok(
      'settings',
      `settings: ${settings.POOLS.length} pool profile(s), ${new Set(settings.POOLS.map((p) => p.pool.toLowerCase())).size} pool(s)`,
    ),
  ];
  const credential = o.credential ?? credentialFromSettings(settings);
  const clients = createAzureClients(
    credential,
    { subscriptionId: settings.AZURE_SUBSCRIPTION_ID!, keyVaultUrl: settings.KEY_VAULT_URL! },
    { armEndpoint: settings.ARM_ENDPOINT, ...o.azure },
  );
  const now = o.now ?? (() => new Date());

  // The images first: their config says the agent version they bake (checked with Azure DevOps's).
  const armScope = o.azure?.armScope ?? armCredentialScope(settings.ARM_ENDPOINT);
  const images = new Map(settings.POOLS.map((p) => [p.image, p]));
  const probes = await Promise.all(
    [...images.values()].map((p) =>
      imageProbe(p, { credential, armScope, ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}) }),
    ),
  );
  const baked = new Map(
    [...images.keys()].flatMap((image, i) =>
      probes[i]!.bakedVersion ? [[image, probes[i]!.bakedVersion!] as const] : [],
    ),
  );

  const url = azdoUrlCheck(settings.AZP_URL);
  results.push(url);
  let pat: string | undefined;
  if (settings.AZP_AUTH === 'pat') {
    const kv = await keyVaultChecks(clients.secrets!, settings, now());
    results.push(...kv.results);
    pat = kv.value;
    registerSecret(pat);
  } else results.push(ok('keyvault.secret', 'AZP_AUTH=entra: no PAT in Key Vault is needed'));

  if (settings.AZP_AUTH === 'pat' && pat === undefined) {
    results.push(warn('azdo', 'the Azure DevOps checks were skipped: no PAT could be read (see the Key Vault line)'));
  } else {
    const token = pat;
    const azdo = new AzureDevOpsClient({
      baseUrl: settings.AZP_URL,
      auth: settings.AZP_AUTH === 'entra' ? entraAuth(credential) : patAuth(() => Promise.resolve(token!)),
      maxRetries: 1,
      timeoutMs: 20_000,
      ...(settings.AZP_API_VERSION ? { apiVersion: settings.AZP_API_VERSION } : {}),
      ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    });
    const conn = await connectionCheck(azdo, settings);
    results.push(conn);
    if (conn.status === 'ok') {
      results.push(...(await poolChecks(azdo, settings)));
      results.push(...(await agentVersionChecks(azdo, settings, baked)));
      results.push(...(await hookChecks(azdo, settings, o.appUrl)));
    }
  }

  results.push(await providerCheck(clients.aci, settings));
  results.push(await permissionCheck(clients.aci, settings));
  results.push(...(await quotaChecks(clients.aci, settings)));

  results.push(...probes.map((p) => p.result));

  results.push(...(await storageChecks(settings)));
  return results;
}
