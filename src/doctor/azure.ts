/**
 * Azure preconditions: the PAT's secret in Key Vault (readable, not expired), the
 * Microsoft.ContainerInstance provider, the caller's permissions on the resource group, ACI quota
 * per region and, for Windows profiles, the cached base image. Every call is a GET.
 */
import type { ContainerInstanceManagementClient, Usage } from '@azure/arm-containerinstance';
import { createPipelineRequest } from '@azure/core-rest-pipeline';
import type { KeyVaultSecret, SecretClient } from '@azure/keyvault-secrets';
import type { Settings } from '../config/schema.js';
import { KeyVaultTokenProvider, SecretError } from '../secrets/keyvault.js';
import { fail, ok, problemText, warn, type CheckResult } from './report.js';

/** Days before the PAT's recorded expiry at which doctor warns. */
export const PAT_EXPIRY_WARN_DAYS = 14;

export interface SecretRead {
  /** The PAT, when the secret could be read (never printed). */
  value?: string;
  results: CheckResult[];
}

/**
 * Reads the PAT secret once (through KeyVaultTokenProvider, so the errors are the pass's) and
 * judges its `exp` attribute (Key Vault SecretAttributes.exp, contracts/keyvault/secrets.2026-04-01.json;
 * the SDK's `properties.expiresOn`).
 */
export async function keyVaultChecks(client: SecretClient, settings: Settings, now: Date): Promise<SecretRead> {
  const name = settings.AZP_TOKEN_SECRET_NAME;
  let read: KeyVaultSecret | undefined;
  const provider = new KeyVaultTokenProvider({
    client: {
      vaultUrl: client.vaultUrl,
      getSecret: async (n: string) => (read = await client.getSecret(n)),
    },
    secretName: name,
  });
  let value: string;
  try {
    value = await provider.getToken();
  } catch (err) {
    const status = err instanceof SecretError ? err.status : undefined;
    const vault = new URL(client.vaultUrl).host.split('.')[0];
    const fix =
      status === 404 || (err instanceof SecretError && err.code === 'EmptySecret')
        ? `store the PAT: az keyvault secret set --vault-name ${vault} --name ${name} --value <PAT> (--expires <its expiry> lets doctor warn before it lapses)`
        : status === 401 || status === 403
          ? `grant this identity "Key Vault Secrets User" on the vault (the app's identity has it from infra/modules/keyvault.bicep)`
          : 'check KEY_VAULT_URL and that this machine reaches the vault (az login for a local run)';
    return { results: [fail('keyvault.secret', problemText(err), fix)] };
  }
  const results: CheckResult[] = [ok('keyvault.secret', `Key Vault secret '${name}' is readable`)];
  const expires = read?.properties.expiresOn;
  if (!expires)
    results.push(
      ok(
        'azdo.pat-expiry',
        `the PAT's expiry is not recorded on the secret (set it with az keyvault secret set-attributes --expires to be warned ${PAT_EXPIRY_WARN_DAYS} days ahead)`,
      ),
    );
  else {
    const days = Math.floor((expires.getTime() - now.getTime()) / 86_400_000);
    const renew = `create a new PAT and store it in the secret '${name}' with --expires`;
    if (expires <= now)
      results.push(fail('azdo.pat-expiry', `the PAT expired on ${expires.toISOString().slice(0, 10)}`, renew));
    else if (days < PAT_EXPIRY_WARN_DAYS)
      results.push(
        warn('azdo.pat-expiry', `the PAT expires in ${days} day(s), on ${expires.toISOString().slice(0, 10)}`, renew),
      );
    else results.push(ok('azdo.pat-expiry', `the PAT expires on ${expires.toISOString().slice(0, 10)} (${days} days)`));
  }
  return { value, results };
}

async function armGet(
  client: ContainerInstanceManagementClient,
  armEndpoint: string,
  path: string,
): Promise<{ status: number; json: unknown }> {
  const req = createPipelineRequest({ url: `${armEndpoint.replace(/\/+$/, '')}${path}`, method: 'GET' });
  const res = await client.sendRequest(req);
  let json: unknown;
  try {
    json = res.bodyAsText ? JSON.parse(res.bodyAsText) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

function armProblem(r: { status: number; json: unknown }): string {
  const e = (r.json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return `${r.status}${typeof e?.code === 'string' ? ` ${e.code}` : ''}${typeof e?.message === 'string' ? `: ${e.message.split('\n')[0]}` : ''}`;
}

/**
 * `GET /subscriptions/{id}/providers/Microsoft.ContainerInstance?api-version=2021-04-01`
 * (ARM Providers - Get; `registrationState` "Registered", learn.microsoft.com/rest/api/resources/providers/get).
 */
export async function providerCheck(
  client: ContainerInstanceManagementClient,
  settings: Settings,
): Promise<CheckResult> {
  const fix = `az provider register --namespace Microsoft.ContainerInstance --subscription ${settings.AZURE_SUBSCRIPTION_ID} --wait`;
  try {
    const r = await armGet(
      client,
      settings.ARM_ENDPOINT,
      `/subscriptions/${settings.AZURE_SUBSCRIPTION_ID}/providers/Microsoft.ContainerInstance?api-version=2021-04-01`,
    );
    if (r.status !== 200)
      return fail('arm.provider', `the Microsoft.ContainerInstance provider could not be read: ${armProblem(r)}`, fix);
    const state = (r.json as { registrationState?: unknown } | undefined)?.registrationState;
    return state === 'Registered'
      ? ok('arm.provider', 'resource provider Microsoft.ContainerInstance is Registered')
      : fail(
          'arm.provider',
          `resource provider Microsoft.ContainerInstance is ${typeof state === 'string' ? state : 'not registered'}: every create fails with MissingSubscriptionRegistration`,
          fix,
        );
  } catch (err) {
    return fail(
      'arm.provider',
      `ARM cannot be reached: ${problemText(err)}`,
      'check ARM_ENDPOINT and the Azure credential (az login)',
    );
  }
}

/** Whether an RBAC action pattern (`*`, `Microsoft.ContainerInstance/*`, `*\/read`) covers `action`. */
export function actionMatches(pattern: string, action: string): boolean {
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*')}$`,
    'i',
  );
  return re.test(action);
}

/** Whether a permissions list allows `action` (some entry's actions match and none of its notActions do). */
export function allowed(
  permissions: readonly { actions?: string[]; notActions?: string[] }[],
  action: string,
): boolean {
  return permissions.some(
    (p) =>
      (p.actions ?? []).some((a) => actionMatches(a, action)) &&
      !(p.notActions ?? []).some((a) => actionMatches(a, action)),
  );
}

/**
 * What the caller may do in the resource group, without trying it:
 * `GET /subscriptions/{id}/resourcegroups/{rg}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`
 * (Permissions - List For Resource Group, learn.microsoft.com/rest/api/authorization/permissions;
 * `{value: [{actions, notActions, dataActions, notDataActions}]}`).
 */
export async function permissionCheck(
  client: ContainerInstanceManagementClient,
  settings: Settings,
): Promise<CheckResult> {
  const rg = settings.ACI_RESOURCE_GROUP!;
  const scope = `/subscriptions/${settings.AZURE_SUBSCRIPTION_ID}/resourceGroups/${rg}`;
  const needed = ['read', 'write', 'delete'].map((v) => `Microsoft.ContainerInstance/containerGroups/${v}`);
  if (settings.POOLS.some((p) => p.registry))
    needed.push('Microsoft.ManagedIdentity/userAssignedIdentities/assign/action');
  if (settings.POOLS.some((p) => p.subnetId)) needed.push('Microsoft.Network/virtualNetworks/subnets/join/action');
  try {
    const r = await armGet(
      client,
      settings.ARM_ENDPOINT,
      `${scope}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01`,
    );
    if (r.status === 404)
      return fail(
        'arm.permissions',
        `resource group '${rg}' not found: ${armProblem(r)}`,
        `create it or correct ACI_RESOURCE_GROUP`,
      );
    if (r.status !== 200)
      return fail(
        'arm.permissions',
        `the permissions on resource group '${rg}' could not be read: ${armProblem(r)}`,
        `grant this identity a role on ${scope} (Contributor, or one with Microsoft.ContainerInstance/containerGroups/*)`,
      );
    const value = (r.json as { value?: unknown } | undefined)?.value;
    const perms = (Array.isArray(value) ? value : []) as { actions?: string[]; notActions?: string[] }[];
    const missing = needed.filter((a) => !allowed(perms, a));
    return missing.length === 0
      ? ok('arm.permissions', `this identity may list, create and delete container groups in '${rg}'`)
      : fail(
          'arm.permissions',
          `this identity may not ${missing.join(', ')} in resource group '${rg}'`,
          `az role assignment create --assignee <identity> --role Contributor --scope ${scope}`,
        );
  } catch (err) {
    return fail(
      'arm.permissions',
      `ARM cannot be reached: ${problemText(err)}`,
      'check ARM_ENDPOINT and the Azure credential (az login)',
    );
  }
}

/** Every region a profile may create in (ACI_LOCATION and the fallbacks'), with what it needs there. */
function regions(
  settings: Settings,
): Map<string, { cores: number; coresAll: number; groups: number; spot: boolean; windows: boolean }> {
  const out = new Map<string, { cores: number; coresAll: number; groups: number; spot: boolean; windows: boolean }>();
  const add = (loc: string, p: Settings['POOLS'][number], spot: boolean) => {
    const r = out.get(loc) ?? { cores: 0, coresAll: 0, groups: 0, spot: false, windows: false };
    r.cores = Math.max(r.cores, Math.ceil(p.cpu));
    r.coresAll += Math.ceil(p.cpu) * p.maxAgents;
    r.groups += p.maxAgents;
    r.spot ||= spot;
    r.windows ||= p.os === 'Windows';
    out.set(loc, r);
  };
  for (const p of settings.POOLS) {
    add(settings.ACI_LOCATION!, p, p.spot);
    for (const f of p.fallback) add(f.location ?? settings.ACI_LOCATION!, p, f.spot ?? p.spot);
  }
  return out;
}

/**
 * ACI quota and usage per region: `locations/{region}/usages` (ContainerGroups, StandardCores,
 * StandardSpotCores; contracts/aci/containerInstance.2026-05-01.json `Location_ListUsage`).
 * Windows profiles: `locations/{region}/cachedImages` lists the base images ACI keeps in the region;
 * an uncached Windows Server Core pull costs minutes per group.
 */
export async function quotaChecks(
  client: ContainerInstanceManagementClient,
  settings: Settings,
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const quotaFix = (region: string) =>
    `ask for more ACI quota in ${region} (Azure portal > Quotas > Azure Container Instances), or lower maxAgents`;
  for (const [region, need] of regions(settings)) {
    try {
      const usages: Usage[] = [];
      for await (const u of client.location.listUsage(region)) usages.push(u);
      const free = (name: string) => {
        const u = usages.find((x) => x.name?.value === name);
        return u && typeof u.limit === 'number' ? u.limit - (u.currentValue ?? 0) : undefined;
      };
      const checks: [string, number, number][] = [
        ['ContainerGroups', 1, need.groups],
        ['StandardCores', need.cores, need.coresAll],
      ];
      if (need.spot) checks.push(['StandardSpotCores', need.cores, need.coresAll]);
      const short: string[] = [];
      const tight: string[] = [];
      for (const [name, one, all] of checks) {
        const f = free(name);
        if (f === undefined) continue;
        if (f < one) short.push(`${name}: ${f} free, one agent needs ${one}`);
        else if (f < all) tight.push(`${name}: ${f} free, maxAgents needs ${all}`);
      }
      if (short.length > 0)
        out.push(fail('aci.quota', `ACI quota in ${region} is used up (${short.join('; ')})`, quotaFix(region)));
      else if (tight.length > 0)
        out.push(
          warn('aci.quota', `ACI quota in ${region} is below maxAgents (${tight.join('; ')})`, quotaFix(region)),
        );
      else
        out.push(
          ok('aci.quota', `ACI quota in ${region} covers maxAgents (${need.groups} groups, ${need.coresAll} cores)`),
        );
    } catch (err) {
      out.push(
        fail(
          'aci.quota',
          `ACI usage in ${region} could not be read: ${problemText(err)}`,
          `check the region name (ACI_LOCATION / fallback) and the identity's read access`,
        ),
      );
    }
    if (need.windows) out.push(await cachedImageCheck(client, region));
  }
  return out;
}

/** The base of infra/agent/windows/Dockerfile. */
const WINDOWS_BASE = /windows\/servercore:ltsc2022/i;

async function cachedImageCheck(client: ContainerInstanceManagementClient, region: string): Promise<CheckResult> {
  try {
    const images: string[] = [];
    for await (const c of client.location.listCachedImages(region))
      if ((c.osType ?? '').toLowerCase() === 'windows') images.push(c.image ?? '');
    return images.some((i) => WINDOWS_BASE.test(i))
      ? ok('aci.cached-image', `Windows Server Core ltsc2022 is cached by ACI in ${region}`)
      : warn(
          'aci.cached-image',
          `Windows Server Core ltsc2022 is not among ACI's cached images in ${region}: each Windows group pulls it (minutes)`,
          'build the Windows image on a base ACI caches in this region (az container list-cached-images), or use another region',
        );
  } catch (err) {
    return warn('aci.cached-image', `ACI's cached images in ${region} could not be read: ${problemText(err)}`);
  }
}
