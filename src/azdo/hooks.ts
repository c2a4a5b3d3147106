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
