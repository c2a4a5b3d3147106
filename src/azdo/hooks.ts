/**
 * The service-hook subscription this app needs, one per project, and the projects of the
 * organization: read by `doctor`, created or corrected by `setup-webhook`.
 *
 * Wire formats:
 * - subscriptions: MicrosoftDocs/vsts-rest-api-specs `specification/hooks/7.1/serviceHooks.json`
 *   and its examples (contracts/azdo/hooks): `GET _apis/hooks/subscriptions?publisherId&eventType&
 *   consumerId&consumerActionId` → `{count, value:[Subscription]}`, `POST _apis/hooks/subscriptions`,
 *   `PUT _apis/hooks/subscriptions/{id}`; secrets in consumerInputs come back masked ("********").
 * - the job-state-changed event: contracts/servicehooks/job-state-changed.events-md.json
 *   (`ms.vss-pipelines.job-state-changed-event`, publisher `pipelines`); the Web Hooks consumer's
 *   inputs `url`, `basicAuthUsername`, `basicAuthPassword` (contracts/servicehooks/README.md).
 * - projects: learn.microsoft.com/rest/api/azure/devops/core/projects/list (7.1): `GET _apis/projects`
 *   → `{count, value:[TeamProjectReference{id, name, state, …}]}`, `$top`, and the next page's
 *   `continuationToken` in the `x-ms-continuationtoken` response header.
 */
import type { AzureDevOpsClient } from './client.js';
import { headerValue } from '../util/http-hints.js';

export const HOOK_PUBLISHER = 'pipelines';
export const JOB_STATE_CHANGED = 'ms.vss-pipelines.job-state-changed-event';
export const HOOK_CONSUMER = 'webHooks';
export const HOOK_ACTION = 'httpRequest';
const HOOKS_API_VERSION = '7.1';

export interface Project {
  id: string;
  name: string;
}

export interface HookSubscription {
  id: string;
  status?: string;
  projectId?: string;
  url?: string;
  username?: string;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Every project of the organization (all pages). */
export async function listProjects(azdo: AzureDevOpsClient): Promise<Project[]> {
  const out: Project[] = [];
  let token: string | undefined;
  for (let page = 0; page < 100; page++) {
    const q = `$top=100${token ? `&continuationToken=${encodeURIComponent(token)}` : ''}`;
    const res = await azdo.rest('GET', `/_apis/projects?${q}&api-version=${HOOKS_API_VERSION}`);
    const value = (res.json as { value?: unknown } | undefined)?.value;
    if (!Array.isArray(value)) throw new Error('the projects list has no value array');
    for (const p of value as Record<string, unknown>[]) {
      const id = text(p.id);
      const name = text(p.name);
      if (id && name) out.push({ id, name });
    }
    token = headerValue(res.headers, 'x-ms-continuationtoken');
    if (!token || value.length === 0) break;
  }
  return out;
}

/** The job-state-changed Web Hooks subscriptions of the organization (any URL). */
export async function listJobHooks(azdo: AzureDevOpsClient): Promise<HookSubscription[]> {
  const q = `publisherId=${HOOK_PUBLISHER}&eventType=${encodeURIComponent(JOB_STATE_CHANGED)}&consumerId=${HOOK_CONSUMER}&consumerActionId=${HOOK_ACTION}`;
  const res = await azdo.rest('GET', `/_apis/hooks/subscriptions?${q}&api-version=${HOOKS_API_VERSION}`);
  const value = (res.json as { value?: unknown } | undefined)?.value;
  if (!Array.isArray(value)) throw new Error('the subscriptions list has no value array');
  return (value as Record<string, unknown>[])
    .filter(
      (s) =>
        s.publisherId === HOOK_PUBLISHER &&
        s.eventType === JOB_STATE_CHANGED &&
        s.consumerId === HOOK_CONSUMER &&
        s.consumerActionId === HOOK_ACTION,
    )
    .flatMap((s) => {
      const id = text(s.id);
      if (!id) return [];
      const pub = (s.publisherInputs ?? {}) as Record<string, unknown>;
      const con = (s.consumerInputs ?? {}) as Record<string, unknown>;
      const sub: HookSubscription = { id };
      const status = text(s.status);
      if (status) sub.status = status;
      const projectId = text(pub.projectId);
      if (projectId) sub.projectId = projectId;
      const url = text(con.url);
      if (url) sub.url = url;
      const username = text(con.basicAuthUsername);
      if (username) sub.username = username;
      return [sub];
    });
}

/** Where a delivery goes, without the query (the function key) and trailing slashes: for comparing. */
export function hookTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`.toLowerCase();
  } catch {
    return url.toLowerCase();
  }
}

/** A URL without its query string, for printing (the query may hold a function key). */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

export interface HookInputs {
  url: string;
  username: string;
  password: string;
}

function body(projectId: string, inputs: HookInputs): Record<string, unknown> {
  return {
    publisherId: HOOK_PUBLISHER,
    eventType: JOB_STATE_CHANGED,
    resourceVersion: '5.1-preview.1',
    consumerId: HOOK_CONSUMER,
    consumerActionId: HOOK_ACTION,
    publisherInputs: { projectId },
    consumerInputs: {
      url: inputs.url,
      basicAuthUsername: inputs.username,
      basicAuthPassword: inputs.password,
      resourceDetailsToSend: 'all',
    },
  };
}

export async function createJobHook(azdo: AzureDevOpsClient, projectId: string, inputs: HookInputs): Promise<string> {
  const res = await azdo.rest('POST', `/_apis/hooks/subscriptions?api-version=${HOOKS_API_VERSION}`, {
    body: body(projectId, inputs),
  });
  return text((res.json as { id?: unknown } | undefined)?.id) ?? '';
}

export async function updateJobHook(
  azdo: AzureDevOpsClient,
  id: string,
  projectId: string,
  inputs: HookInputs,
): Promise<void> {
  await azdo.rest('PUT', `/_apis/hooks/subscriptions/${encodeURIComponent(id)}?api-version=${HOOKS_API_VERSION}`, {
    body: body(projectId, inputs),
  });
}

export interface EnsureResult {
  project: string;
  action: 'created' | 'updated' | 'corrected';
  /** The URL a corrected subscription pointed at before (query removed). */
  was?: string;
  /** Extra subscriptions of ours in the project that were deleted (one per project is kept). */
  removed: number;
}

/**
 * One job-state-changed Web Hook per project, pointing at `inputs.url` with Basic credentials:
 * created when the project has none of ours; otherwise ours (same target, or same Basic user name,
 * or an `/api/servicehook` URL) is PUT in place with the current URL and credentials (the password
 * cannot be compared: Azure DevOps masks it), and any further ones of ours are deleted.
 * Another tool's subscription to the same event (another URL and user name) is left alone.
 */
export async function ensureJobHooks(
  azdo: AzureDevOpsClient,
  projects: readonly Project[],
  inputs: HookInputs,
): Promise<EnsureResult[]> {
  const hooks = await listJobHooks(azdo);
  const target = hookTarget(inputs.url);
  const ours = (h: HookSubscription) =>
    (h.url !== undefined && hookTarget(h.url) === target) ||
    (h.username !== undefined && h.username === inputs.username) ||
    (h.url !== undefined && /\/api\/servicehook\/?$/i.test(new URL(h.url, 'https://x').pathname));
  const out: EnsureResult[] = [];
  for (const project of projects) {
    const mine = hooks.filter((h) => h.projectId === project.id && ours(h));
    // Prefer the one already pointing here, so a re-run never moves another subscription.
    mine.sort((a, b) => Number(hookTarget(b.url ?? '') === target) - Number(hookTarget(a.url ?? '') === target));
    const [keep, ...extra] = mine;
    if (!keep) {
      await createJobHook(azdo, project.id, inputs);
      out.push({ project: project.name, action: 'created', removed: 0 });
      continue;
    }
    await updateJobHook(azdo, keep.id, project.id, inputs);
    for (const h of extra)
      await azdo.rest(
        'DELETE',
        `/_apis/hooks/subscriptions/${encodeURIComponent(h.id)}?api-version=${HOOKS_API_VERSION}`,
        {
          accept: [404],
        },
      );
    const moved = keep.url !== undefined && hookTarget(keep.url) !== target;
    out.push({
      project: project.name,
      action: moved ? 'corrected' : 'updated',
      ...(moved ? { was: shownUrl(keep.url!) } : {}),
      removed: extra.length,
    });
  }
  return out;
}
