/**
 * Azure DevOps preconditions: the URL, the credential, each pool and the right to manage its
 * agents, the agent version the organization offers, the service hook. Every call is a GET.
 */
import type { AzureDevOpsClient } from '../azdo/client.js';
import { AzdoError } from '../azdo/errors.js';
import { hookTarget, listJobHooks, listProjects, shownUrl, type HookSubscription } from '../azdo/hooks.js';
import type { Settings } from '../config/schema.js';
import { poolsOf } from '../reconcile/pass.js';
import { fail, ok, problemText, warn, type CheckResult } from './report.js';

/**
 * The DistributedTask security namespace (agent pools, queues, deployment groups) and its Manage
 * bit (View 1, Manage 2, Listen 4, AdministerPermissions 8, Use 16, Create 32): learn.microsoft.com
 * azure/devops/organizations/security/namespace-reference ("DistributedTask … ID
 * 101eae8c-1709-47f9-b228-0e476c35b3ba"); the token of a pool is `AgentPools/{poolId}` (the same
 * token azure-devops' web UI SecurityHelper.hasAgentPoolPermission builds).
 */
export const DISTRIBUTED_TASK_NAMESPACE = '101eae8c-1709-47f9-b228-0e476c35b3ba';
export const MANAGE_BIT = 2;

/** Whether AZP_URL names an organization (Services) or, for a Server, at least a collection. */
export function azdoUrlCheck(url: string): CheckResult {
  const u = new URL(url);
  const segments = u.pathname.split('/').filter(Boolean);
  const host = u.hostname.toLowerCase();
  if (host === 'dev.azure.com' && segments.length !== 1)
    return fail(
      'azdo.url',
      `AZP_URL ${u.origin}${u.pathname} is not an organization URL (${segments.length === 0 ? 'no organization' : 'a project or deeper path'})`,
      'set AZP_URL to https://dev.azure.com/<organization>, without the project',
    );
  if (host.endsWith('.visualstudio.com') && segments.length !== 0)
    return fail(
      'azdo.url',
      `AZP_URL ${u.origin}${u.pathname} has a path after the organization host`,
      `set AZP_URL to ${u.origin}`,
    );
  return ok('azdo.url', `AZP_URL ${u.origin}${u.pathname} names an organization or collection`);
}

function authFix(settings: Settings): string {
  return settings.AZP_AUTH === 'entra'
    ? 'add the identity to the organization (Organization settings > Users) with access to the agent pools'
    : `create a PAT with the scope "Agent Pools (Read & manage)" and store it: az keyvault secret set --vault-name <vault> --name ${settings.AZP_TOKEN_SECRET_NAME} --value <PAT>`;
}

/** connectionData answers for any accepted credential, at the organization/collection level. */
export async function connectionCheck(azdo: AzureDevOpsClient, settings: Settings): Promise<CheckResult> {
  try {
    const res = await azdo.rest('GET', '/_apis/connectionData');
    const user = (res.json as { authenticatedUser?: { providerDisplayName?: unknown } } | undefined)?.authenticatedUser
      ?.providerDisplayName;
    return ok(
      'azdo.credential',
      `Azure DevOps accepts the ${settings.AZP_AUTH === 'entra' ? 'Entra ID token' : 'PAT'} (connectionData${typeof user === 'string' ? `: ${user}` : ''})`,
    );
  } catch (err) {
    const refused = err instanceof AzdoError && (err.kind === 'unauthorized' || err.kind === 'forbidden');
    return fail(
      'azdo.credential',
      `Azure DevOps ${refused ? 'refuses the credential' : 'cannot be reached'}: ${problemText(err)}`,
      refused ? authFix(settings) : 'check AZP_URL and that this machine reaches it',
    );
  }
}

/** Each pool exists and the caller may manage its agents (disable and delete registrations). */
export async function poolChecks(azdo: AzureDevOpsClient, settings: Settings): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const pool of poolsOf(settings.POOLS)) {
    let id: number;
    try {
      id = await azdo.resolvePoolId(pool);
    } catch (err) {
      const missing = err instanceof AzdoError && err.kind === 'notFound';
      out.push(
        fail(
          'azdo.pool',
          `pool '${pool}': ${missing ? 'not found (or not visible to this credential)' : problemText(err)}`,
          missing
            ? `create the self-hosted agent pool '${pool}' (Organization settings > Agent pools), or correct POOLS[].pool`
            : authFix(settings),
        ),
      );
      continue;
    }
    try {
      const res = await azdo.rest(
        'GET',
        `/_apis/permissions/${DISTRIBUTED_TASK_NAMESPACE}/${MANAGE_BIT}?tokens=${encodeURIComponent(`AgentPools/${id}`)}&alwaysAllowAdministrators=true&api-version=7.1`,
      );
      const value = (res.json as { value?: unknown } | undefined)?.value;
      const allowed = Array.isArray(value) && value[0] === true;
      out.push(
        allowed
          ? ok('azdo.pool', `pool '${pool}' (id ${id}) exists and this credential may manage its agents`)
          : fail(
              'azdo.pool',
              `pool '${pool}' (id ${id}): this credential may not manage its agents (no Manage permission)`,
              `make the PAT's user an Administrator of the pool (Organization settings > Agent pools > ${pool} > Security)`,
            ),
      );
    } catch (err) {
      out.push(
        warn(
          'azdo.pool',
          `pool '${pool}' (id ${id}) exists; whether this credential may manage its agents could not be read: ${problemText(err)}`,
          `make sure the PAT's user is an Administrator of the pool '${pool}'`,
        ),
      );
    }
  }
  return out;
}

/** The agent version baked into an image, as the image tag says it (`<agent version>-<commit>`). */
export function bakedAgentVersion(image: string): string | undefined {
  const tag = /:([\w][\w.-]*)(?:@|$)/.exec(image.slice(image.lastIndexOf('/') + 1))?.[1];
  return tag ? /^v?(\d+\.\d+\.\d+)(?:$|[-_])/.exec(tag)?.[1] : undefined;
}

function cmp(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/**
 * The newest agent the organization offers per platform: `GET _apis/distributedtask/packages/agent
 * ?platform=linux-x64&$top=1` (contracts/azdo/README.md, the shape of
 * contracts/azdo/examples/packages.agent.linux-x64.captured-2018.json, newest first).
 */
export async function agentVersionChecks(
  azdo: AzureDevOpsClient,
  settings: Settings,
  /** Image → AZP_AGENT_BAKED_VERSION read from its config (./image.ts); the tag says it otherwise. */
  fromConfig: ReadonlyMap<string, string> = new Map(),
): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const latest = new Map<string, Promise<string | undefined>>();
  const seen = new Set<string>();
  for (const p of settings.POOLS) {
    if (seen.has(p.image)) continue;
    seen.add(p.image);
    const configured = fromConfig.get(p.image);
    const baked = configured ?? bakedAgentVersion(p.image);
    const by = configured ? 'its image config' : 'its tag';
    if (!baked) {
      out.push(
        warn(
          'agent.version',
          `image ${p.image}: neither its config (AZP_AGENT_BAKED_VERSION) nor its tag (<version>-<commit>) says the agent version, so it cannot be compared`,
          'tag the image <agent version>-<commit> as infra/hooks/preprovision.sh does',
        ),
      );
      continue;
    }
    const platform = p.os === 'Windows' ? 'win-x64' : 'linux-x64';
    if (!latest.has(platform)) latest.set(platform, newestAgent(azdo, platform));
    let newest: string | undefined;
    try {
      newest = await latest.get(platform)!;
    } catch (err) {
      out.push(
        warn('agent.version', `the organization's current agent (${platform}) could not be read: ${problemText(err)}`),
      );
      continue;
    }
    if (!newest)
      out.push(warn('agent.version', `the organization offers no ${platform} agent package to compare with`));
    else if (cmp(baked, newest) < 0)
      out.push(
        warn(
          'agent.version',
          `image ${p.image} bakes agent ${baked} (by ${by}); the organization offers ${newest}: each --once start updates itself first (minutes per job)`,
          `set ARG AGENT_VERSION=${newest} (and its SHA-256) in infra/agent/Dockerfile and run azd provision to build the image again`,
        ),
      );
    else out.push(ok('agent.version', `image ${p.image} bakes agent ${baked}, the current one (${newest}; by ${by})`));
  }
  return out;
}

async function newestAgent(azdo: AzureDevOpsClient, platform: string): Promise<string | undefined> {
  const res = await azdo.rest('GET', `/_apis/distributedtask/packages/agent?platform=${platform}&$top=1`);
  const value = (res.json as { value?: unknown } | undefined)?.value;
  const versions = (Array.isArray(value) ? value : [])
    .map((v) => (v as { version?: { major?: unknown; minor?: unknown; patch?: unknown } }).version)
    .filter((v) => v && typeof v.major === 'number')
    .map((v) => `${String(v!.major)}.${String(v!.minor)}.${String(v!.patch)}`);
  return versions.sort(cmp).at(-1);
}

/**
 * The job-state-changed subscription: one per project pointing at this app with Basic auth.
 * `appUrl` (doctor --url) is the function URL; without it only existence and auth are checked.
 */
export async function hookChecks(
  azdo: AzureDevOpsClient,
  settings: Settings,
  appUrl: string | undefined,
): Promise<CheckResult[]> {
  const fix = `azp-aci-autoscaler setup-webhook --url ${appUrl ? shownUrl(appUrl) : '<function URL>'}`;
  let projects;
  let hooks: HookSubscription[];
  try {
    [projects, hooks] = await Promise.all([listProjects(azdo), listJobHooks(azdo)]);
  } catch (err) {
    return [
      fail('servicehook', `the service-hook subscriptions could not be read: ${problemText(err)}`, authFix(settings)),
    ];
  }
  const ours = appUrl ? hooks.filter((h) => h.url && hookTarget(h.url) === hookTarget(appUrl)) : hooks;
  if (ours.length === 0)
    return [
      fail(
        'servicehook',
        appUrl
          ? `no "Run job state changed" Web Hook points at ${shownUrl(appUrl)} (${hooks.length} point elsewhere): jobs wait for the timer (about a minute)`
          : 'no "Run job state changed" Web Hook subscription exists: jobs wait for the timer (about a minute)',
        fix,
      ),
    ];
  const out: CheckResult[] = [];
  for (const project of projects) {
    const mine = ours.filter((h) => h.projectId === project.id);
    const elsewhere = hooks.filter((h) => h.projectId === project.id && !mine.includes(h));
    if (mine.length === 0) {
      out.push(
        elsewhere.length > 0 && appUrl
          ? fail(
              'servicehook',
              `project '${project.name}': its job-state-changed Web Hook points at ${shownUrl(elsewhere[0]!.url ?? '')}, not at this app`,
              `${fix} --project '${project.name}'`,
            )
          : warn(
              'servicehook',
              `project '${project.name}': no job-state-changed Web Hook (fine if its pipelines do not use these pools)`,
              `${fix} --project '${project.name}'`,
            ),
      );
      continue;
    }
    const h = mine[0]!;
    if (!h.username)
      out.push(fail('servicehook', `project '${project.name}': the Web Hook sends no Basic credentials`, fix));
    else if (h.status && h.status.toLowerCase() !== 'enabled')
      out.push(
        fail(
          'servicehook',
          `project '${project.name}': the Web Hook is ${h.status} (Azure DevOps stopped delivering after failures)`,
          `${fix} (re-enables it), then look at its history in Project settings > Service hooks`,
        ),
      );
    else
      out.push(
        ok(
          'servicehook',
          `project '${project.name}': job-state-changed Web Hook ${appUrl ? `to ${shownUrl(h.url ?? '')} ` : ''}with Basic auth`,
        ),
      );
  }
  return out;
}
