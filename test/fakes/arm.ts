/**
 * Fake ARM for Microsoft.ContainerInstance/containerGroups over HTTPS on 127.0.0.1, answering in the
 * shapes of contracts/aci (OpenAPI 2026-05-01 + examples) for api-version 2023-05-01, the
 * version @azure/arm-containerinstance 9.1.0 sends.
 *
 * Behaviour, as real ACI:
 * - PUT → 201 + `Azure-AsyncOperation`, provisioningState `Creating`; after `createLatencyMs` the
 *   group is `Succeeded` with instanceView.state `Running` (async op: InProgress → Succeeded).
 *   PUT on an existing group → 200 (update).
 * - DELETE → 202 + `Azure-AsyncOperation`, the group is gone after `deleteLatencyMs` (default 0);
 *   until then GET and list show provisioningState `Deleting` (an enum value of
 *   ContainerGroupProvisioningState in the contract). DELETE of a missing group → 204.
 *   `startDeleting(name, ms)` puts a group in that state without a request (a delete someone else sent).
 * - GET one group includes instanceView; list items (paged with nextLink) carry none.
 * - `secureValue` is never echoed back.
 * - Capacity that fails late (`failCapacityLate`): the PUT is accepted (201, provisioningState
 *   `Creating`) and, when the group would be ready, ARM fails it instead: provisioningState
 *   `Failed`, instanceView.state `Pending`, a group event `InsufficientCapacity.` "The requested
 *   resource is not available in the location '…' at this moment. …", and the async operation ends
 *   `{status: "Failed", properties: {events: [that event]}, error: {code: "Failed", message}}`.
 *   Shapes as quoted from a real failed create in Azure/Azure-Landing-Zones#2404 (the operation's
 *   body with `status: "Failed"` and `properties.events[{name: "InsufficientCapacity.", message}]`);
 *   the message is the one of the Microsoft Learn troubleshooting article
 *   "ServiceUnavailable (409) - requested resource is not available in the location".
 * - Bearer token required (401 otherwise); api-version checked (400 InvalidApiVersionParameter).
 * Errors are CloudError `{error:{code,message}}`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestCert } from './tls.js';

export const FAKE_ARM_API_VERSION = '2023-05-01';

export interface ArmRequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: unknown;
  /** Date.now() when the request arrived. */
  time: number;
  /** Whether a Bearer token was present (the token itself is never recorded). */
  authorized: boolean;
  /** Status the fake answered (set once answered). */
  status?: number;
}

export interface ArmFault {
  match?: { method?: string; pathIncludes?: string };
  /** HTTP status to answer with; omit to only delay and then answer normally. */
  status?: number;
  code?: string;
  message?: string;
  /** Retry-After header value, seconds. */
  retryAfter?: number;
  /** How many matching requests this fault applies to (default 1; Infinity for all). */
  times?: number;
  /** Wait before answering (simulates a slow ARM / client timeouts). */
  delayMs?: number;
}

export type InstanceState = 'Running' | 'Succeeded' | 'Failed' | 'Stopped' | 'Pending';

export interface ContainerEvent {
  name: string;
  message: string;
  type?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
}

export interface FakeGroup {
  name: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tags: Record<string, string>;
  /** The PUT body as received (wire JSON, including secureValue). */
  body: Record<string, unknown>;
  /** The container's environment as the container sees it (plain and secure values). */
  env: Record<string, string>;
  createdAt: number;
  readyAt: number;
  provisioningState: string;
  instanceState?: InstanceState;
  exitCode?: number;
  containerStartTime?: string;
  containerFinishTime?: string;
  events: ContainerEvent[];
  /** Group-level instanceView events (ARM's own, e.g. InsufficientCapacity). */
  groupEvents: ContainerEvent[];
  logs: string;
  deleteAt?: number;
  /** ARM accepted the create but fails it for capacity when it would be ready. */
  failsForCapacity?: boolean;
}

export interface FakeArmOptions {
  cert: TestCert;
  /** Time from PUT until the group is Succeeded/Running (default 0). */
  createLatencyMs?: number;
  /** Time from DELETE until the group is gone (default 0 = at once). */
  deleteLatencyMs?: number;
  /**
   * Time the fake takes to answer a container-group PUT (default 0). ARM answers a create only
   * after its validation and front-door work (typically around a second for ACI); this is what
   * bounds how many creates a fixed concurrency starts per second.
   */
  putLatencyMs?: number;
  /** List page size (default 100). */
  pageSize?: number;
  /** When set, only this bearer token is accepted. */
  token?: string;
}

export interface SeedOptions {
  resourceGroup?: string;
  subscriptionId?: string;
  location?: string;
  tags?: Record<string, string>;
  provisioningState?: string;
  instanceState?: InstanceState;
  exitCode?: number;
  createdAt?: number;
}

export interface FakeArm {
  /** https://127.0.0.1:PORT — use as ARM_ENDPOINT. */
  readonly url: string;
  readonly requests: ArmRequestRecord[];
  clearRequests(): void;
  groups(): FakeGroup[];
  group(name: string, resourceGroup?: string): FakeGroup | undefined;
  /** Adds a group directly (no request recorded), e.g. another deployment's group. */
  seed(name: string, opts?: SeedOptions): FakeGroup;
  setInstanceState(name: string, state: InstanceState, exitCode?: number): void;
  /** A DELETE accepted elsewhere: provisioningState `Deleting` now, gone after `ms` (no request recorded). */
  startDeleting(name: string, ms: number): void;
  addEvent(name: string, event: ContainerEvent): void;
  setLogs(name: string, content: string): void;
  inject(fault: ArmFault): void;
  clearFaults(): void;
  /** Called synchronously for every new group accepted by a PUT, before the 201 is sent. */
  onCreate(cb: (g: FakeGroup) => void): () => void;
  /**
   * Called synchronously for every request right after it is recorded, before any fault or answer
   * (tests change the world between two attempts of one call, e.g. register an agent when the
   * first DELETE attempt arrives). Returns an unsubscribe.
   */
  onRequest(cb: (rec: ArmRequestRecord) => void): () => void;
  setCreateLatency(ms: number): void;
  setPutLatency(ms: number): void;
  setPageSize(n: number): void;
  /**
   * The container-group list lags the writes by `ms`: a group created less than `ms` ago is not
   * listed yet, one deleted less than `ms` ago is still listed as it was (GET is current). ARM
   * serves lists from a regional cache that is eventually consistent (Azure/AKS#1964: "the
   * /resources API is served from a regional cache ... eventual consistent, and not real time";
   * deletes likewise, hashicorp/terraform-provider-azurerm#16073). Issue 21 measured 10 s of lag;
   * 0 (default) turns it off.
   */
  setListLag(ms: number): void;
  /**
   * Creates matching `when` (default: every create; e.g. by location or priority) are accepted and
   * then fail for capacity, as ACI does when a region runs out; `undefined` turns it off.
   */
  failCapacityLate(when: ((body: Record<string, unknown>) => boolean) | undefined): void;
  /** What doctor reads: provider registration, the caller's permissions, usages, cached images. */
  readonly subscriptionState: FakeSubscriptionState;
  /** The requests that could change state (PUT, POST, PATCH, DELETE). */
  writes(): ArmRequestRecord[];
  close(): Promise<void>;
}

export interface FakeUsage {
  name: string;
  currentValue: number;
  limit: number;
}

export interface FakeSubscriptionState {
  /** registrationState of Microsoft.ContainerInstance (default Registered). */
  providerState: string;
  /** The caller's permissions on any resource group (default Contributor's: actions ["*"], a few notActions). */
  permissions: { actions: string[]; notActions: string[]; dataActions: string[]; notDataActions: string[] }[];
  /** Resource groups that exist (undefined: every one). */
  resourceGroups?: Set<string>;
  /** ACI usages per region; a region not listed answers the default (100 groups, 100 cores, 0 used). */
  usages: Record<string, FakeUsage[]>;
  /** ACI cached images per region (default: Windows Server Core ltsc2022 and nanoserver, everywhere). */
  cachedImages: Record<string, { osType: string; image: string }[]>;
}

interface AsyncOp {
  id: string;
  kind: 'create' | 'delete';
  key: string;
  startTime: string;
  doneAt: number;
}

const GROUP_PATH =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/containerGroups(?:\/([^/]+)(?:\/containers\/([^/]+)\/logs)?)?\/?$/i;
const OP_PATH =
  /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/locations\/([^/]+)\/operations\/([^/]+)$/i;
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const clone = <T>(v: T): T => structuredClone(v);
const iso = (ms: number) => new Date(ms).toISOString();

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function containersOf(body: Record<string, unknown>): Record<string, unknown>[] {
  const props = body.properties as { containers?: unknown } | undefined;
  return Array.isArray(props?.containers) ? (props.containers as Record<string, unknown>[]) : [];
}

function envOf(body: Record<string, unknown>): Record<string, string> {
  const env: Record<string, string> = {};
  const first = containersOf(body)[0];
  const vars = (first?.properties as { environmentVariables?: unknown } | undefined)?.environmentVariables;
  if (Array.isArray(vars)) {
    for (const v of vars as { name?: unknown; value?: unknown; secureValue?: unknown }[]) {
      if (typeof v.name !== 'string') continue;
      const val = typeof v.secureValue === 'string' ? v.secureValue : typeof v.value === 'string' ? v.value : '';
      env[v.name] = val;
    }
  }
  return env;
}

export async function startFakeArm(opts: FakeArmOptions): Promise<FakeArm> {
  let createLatency = opts.createLatencyMs ?? 0;
  let putLatency = opts.putLatencyMs ?? 0;
  const deleteLatency = opts.deleteLatencyMs ?? 0;
  let pageSize = opts.pageSize ?? 100;
  let listLag = 0;
  /** Groups deleted within the list lag, as the lagging list still shows them (name → copy, when). */
  const gone = new Map<string, { g: FakeGroup; at: number }>();
  const store = new Map<string, FakeGroup>();
  const ops = new Map<string, AsyncOp>();
  const requests: ArmRequestRecord[] = [];
  let faults: (ArmFault & { left: number })[] = [];
  const createHooks = new Set<(g: FakeGroup) => void>();
  const requestHooks = new Set<(rec: ArmRequestRecord) => void>();
  let lateCapacity: ((body: Record<string, unknown>) => boolean) | undefined;
  let base = '';
  // Contributor's permissions (its role definition: actions "*", notActions on authorization writes).
  const subscriptionState: FakeSubscriptionState = {
    providerState: 'Registered',
    permissions: [
      {
        actions: ['*'],
        notActions: [
          'Microsoft.Authorization/*/Delete',
          'Microsoft.Authorization/*/Write',
          'Microsoft.Authorization/elevateAccess/Action',
        ],
        dataActions: [],
        notDataActions: [],
      },
    ],
    usages: {},
    cachedImages: {},
  };
  const defaultCached = [
    { osType: 'Windows', image: 'mcr.microsoft.com/windows/servercore:ltsc2022' },
    { osType: 'Windows', image: 'mcr.microsoft.com/windows/nanoserver:ltsc2022' },
    { osType: 'Linux', image: 'ubuntu:22.04' },
  ];

  const capacityMessage = (g: FakeGroup) => {
    const req = (
      containersOf(g.body)[0]?.properties as
        { resources?: { requests?: { cpu?: number; memoryInGB?: number } } } | undefined
    )?.resources?.requests;
    const os = (g.body.properties as { osType?: string } | undefined)?.osType ?? 'Linux';
    return `The requested resource is not available in the location '${g.location}' at this moment. Please retry with a different resource request or in another location. Resource requested: '${req?.cpu ?? 1}' CPU '${req?.memoryInGB ?? 1}' GB memory '${os}' OS`;
  };

  const keyOf = (sub: string, rg: string, name: string) =>
    `${sub.toLowerCase()}/${rg.toLowerCase()}/${name.toLowerCase()}`;

  /** Applies time-based transitions. */
  const sweep = () => {
    const now = Date.now();
    for (const [k, g] of store) {
      if (g.deleteAt !== undefined && now >= g.deleteAt) {
        if (listLag > 0) gone.set(k, { g: { ...g }, at: now });
        store.delete(k);
        continue;
      }
      if (
        g.deleteAt === undefined &&
        g.failsForCapacity &&
        (g.provisioningState === 'Creating' || g.provisioningState === 'Pending') &&
        now >= g.readyAt
      ) {
        g.provisioningState = 'Failed';
        g.instanceState = 'Pending';
        const at = iso(g.readyAt);
        g.groupEvents.push({
          count: 1,
          firstTimestamp: at,
          lastTimestamp: at,
          name: 'InsufficientCapacity.',
          message: capacityMessage(g),
          type: 'Warning',
        });
        continue;
      }
      if (
        g.deleteAt === undefined &&
        (g.provisioningState === 'Creating' || g.provisioningState === 'Pending') &&
        now >= g.readyAt
      ) {
        g.provisioningState = 'Succeeded';
        if (!g.instanceState || g.instanceState === 'Pending') {
          g.instanceState = 'Running';
          g.containerStartTime = iso(g.readyAt);
        }
      }
    }
  };

  const render = (g: FakeGroup, withInstanceView: boolean): Record<string, unknown> => {
    const body = clone(g.body);
    const props = { ...((body.properties as Record<string, unknown> | undefined) ?? {}) };
    props.provisioningState = g.provisioningState;
    const containers = containersOf({ properties: props }).map((c) => {
      const cp = { ...((c.properties as Record<string, unknown> | undefined) ?? {}) };
      if (Array.isArray(cp.environmentVariables)) {
        // As real ACI: secure values are never returned.
        cp.environmentVariables = (cp.environmentVariables as Record<string, unknown>[]).map((v) => {
          const { secureValue: _hidden, ...rest } = v;
          return rest;
        });
      }
      if (withInstanceView) {
        const current: Record<string, unknown> =
          g.instanceState === 'Running'
            ? { state: 'Running', startTime: g.containerStartTime ?? iso(g.readyAt), detailStatus: '' }
            : g.instanceState === 'Succeeded' || g.instanceState === 'Failed' || g.instanceState === 'Stopped'
              ? {
                  state: 'Terminated',
                  exitCode: g.exitCode ?? (g.instanceState === 'Succeeded' ? 0 : 1),
                  detailStatus: g.instanceState === 'Succeeded' ? 'Completed' : 'Error',
                  startTime: g.containerStartTime ?? iso(g.readyAt),
                  finishTime: g.containerFinishTime ?? iso(Date.now()),
                }
              : { state: 'Waiting', detailStatus: '' };
        cp.instanceView = { restartCount: 0, currentState: current, events: clone(g.events) };
      }
      return { ...c, properties: cp };
    });
    props.containers = containers;
    if (withInstanceView) props.instanceView = { events: clone(g.groupEvents), state: g.instanceState ?? 'Pending' };
    else delete props.instanceView;
    return {
      id: `/subscriptions/${g.subscriptionId}/resourceGroups/${g.resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${g.name}`,
      name: g.name,
      type: 'Microsoft.ContainerInstance/containerGroups',
      location: g.location,
      tags: clone(g.tags),
      ...(body.identity ? { identity: body.identity } : {}),
      properties: props,
    };
  };

  const send = (
    res: ServerResponse,
    rec: ArmRequestRecord,
    status: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    rec.status = status;
    if (res.destroyed || res.writableEnded) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(text ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
      'Content-Length': String(Buffer.byteLength(text)),
      'x-ms-request-id': randomUUID(),
      ...headers,
    });
    res.end(text);
  };
  const cloudError = (
    res: ServerResponse,
    rec: ArmRequestRecord,
    status: number,
    code: string,
    message: string,
    headers?: Record<string, string>,
  ) => send(res, rec, status, { error: { code, message } }, headers);

  const opUrl = (sub: string, location: string, id: string) =>
    `${base}/subscriptions/${sub}/providers/Microsoft.ContainerInstance/locations/${location}/operations/${id}?api-version=${FAKE_ARM_API_VERSION}`;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'https://127.0.0.1');
    const raw = await readBody(req);
    let parsed: unknown;
    if (raw) {
      try {
        parsed = JSON.parse(raw);
      } catch {
        parsed = raw;
      }
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const auth = req.headers.authorization ?? '';
    const rec: ArmRequestRecord = {
      method,
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      ...(parsed !== undefined ? { body: parsed } : {}),
      time: Date.now(),
      authorized: /^Bearer \S+/.test(auth),
    };
    requests.push(rec);
    for (const cb of requestHooks) cb(rec);

    const fault = faults.find(
      (f) =>
        f.left > 0 &&
        (!f.match?.method || f.match.method.toUpperCase() === method) &&
        (!f.match?.pathIncludes || u.pathname.includes(f.match.pathIncludes)),
    );
    if (fault) {
      fault.left -= 1;
      if (fault.delayMs) await sleep(fault.delayMs);
      if (fault.status) {
        const headers: Record<string, string> =
          fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : {};
        return cloudError(
          res,
          rec,
          fault.status,
          fault.code ?? defaultCode(fault.status),
          fault.message ?? defaultMessage(fault.status),
          headers,
        );
      }
    }

    if (!rec.authorized) {
      return cloudError(
        res,
        rec,
        401,
        'AuthenticationFailed',
        "Authentication failed. The 'Authorization' header is missing.",
      );
    }
    if (opts.token && auth !== `Bearer ${opts.token}`) {
      return cloudError(res, rec, 401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    }
    // ----- Resource Manager reads doctor makes (own api-versions) ------------------------------
    // Providers - Get (learn.microsoft.com/rest/api/resources/providers/get, 2021-04-01):
    // {id, namespace, registrationState, resourceTypes}.
    const prov = /^\/subscriptions\/([^/]+)\/providers\/([^/]+)$/i.exec(u.pathname);
    if (prov && method === 'GET') {
      return send(res, rec, 200, {
        id: `/subscriptions/${prov[1]}/providers/${prov[2]}`,
        namespace: prov[2],
        registrationState:
          prov[2]!.toLowerCase() === 'microsoft.containerinstance' ? subscriptionState.providerState : 'Registered',
        resourceTypes: [],
      });
    }
    // Permissions - List For Resource Group (learn.microsoft.com/rest/api/authorization/permissions,
    // 2022-04-01; .NET GetAzurePermissionsForResourceGroups, operation AzurePermissionsForResourceGroup_List):
    // {value: [{actions, notActions, dataActions, notDataActions}]}.
    const perm =
      /^\/subscriptions\/[^/]+\/resourcegroups\/([^/]+)\/providers\/Microsoft\.Authorization\/permissions$/i.exec(
        u.pathname,
      );
    if (perm && method === 'GET') {
      const rgs = subscriptionState.resourceGroups;
      if (rgs && ![...rgs].some((r) => r.toLowerCase() === perm[1]!.toLowerCase()))
        return cloudError(res, rec, 404, 'ResourceGroupNotFound', `Resource group '${perm[1]}' could not be found.`);
      return send(res, rec, 200, { value: clone(subscriptionState.permissions) });
    }
    const apiVersion = u.searchParams.get('api-version');
    if (apiVersion !== FAKE_ARM_API_VERSION) {
      return cloudError(
        res,
        rec,
        400,
        'InvalidApiVersionParameter',
        `The api-version '${apiVersion ?? ''}' is invalid. The supported versions are '${FAKE_ARM_API_VERSION}'.`,
      );
    }
    sweep();

    // ACI Location - List Usage / List Cached Images (contracts/aci/containerInstance.2026-05-01.json
    // `…/locations/{location}/usages` → UsageListResult {value: [{id, unit, currentValue, limit,
    // name: {value, localizedValue}}]}, names ContainerGroups / StandardCores / StandardSpotCores;
    // `…/locations/{location}/cachedImages` → {value: [{osType, image}]}).
    const loc =
      /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerInstance\/locations\/([^/]+)\/(usages|cachedImages)$/i.exec(
        u.pathname,
      );
    if (loc && method === 'GET') {
      const region = loc[2]!.toLowerCase();
      if (loc[3]!.toLowerCase() === 'usages') {
        const usages = subscriptionState.usages[region] ?? [
          { name: 'ContainerGroups', currentValue: 0, limit: 100 },
          { name: 'StandardCores', currentValue: 0, limit: 100 },
          { name: 'StandardSpotCores', currentValue: 0, limit: 100 },
        ];
        return send(res, rec, 200, {
          value: usages.map((x) => ({
            id: `/subscriptions/${loc[1]}/providers/Microsoft.ContainerInstance/locations/${region}/usages/${x.name}`,
            unit: 'Count',
            currentValue: x.currentValue,
            limit: x.limit,
            name: { value: x.name, localizedValue: x.name.replace(/([a-z])([A-Z])/g, '$1 $2') },
          })),
        });
      }
      return send(res, rec, 200, { value: clone(subscriptionState.cachedImages[region] ?? defaultCached) });
    }
    const op = OP_PATH.exec(u.pathname);
    if (op && method === 'GET') {
      const a = ops.get(op[3] ?? '');
      if (!a) return cloudError(res, rec, 404, 'OperationNotFound', 'The operation was not found.');
      const done = Date.now() >= a.doneAt;
      if (done && a.kind === 'create') {
        const g = store.get(a.key);
        if (g && g.provisioningState !== 'Succeeded' && g.deleteAt === undefined) {
          g.readyAt = Math.min(g.readyAt, Date.now());
          sweep();
        }
      }
      const g = store.get(a.key);
      if (done && a.kind === 'create' && g?.provisioningState === 'Failed' && g.groupEvents.length > 0) {
        return send(res, rec, 200, {
          id: op[0],
          status: 'Failed',
          startTime: a.startTime,
          properties: { events: clone(g.groupEvents) },
          error: { code: 'Failed', message: g.groupEvents[0]!.message },
        });
      }
      return send(res, rec, 200, {
        id: op[0],
        name: a.id,
        status: done ? 'Succeeded' : 'InProgress',
        startTime: a.startTime,
        ...(done ? { endTime: iso(a.doneAt) } : {}),
      });
    }

    const m = GROUP_PATH.exec(u.pathname);
    if (!m) return cloudError(res, rec, 404, 'NotFound', `No route for ${method} ${u.pathname}`);
    const [, sub = '', rg = '', name, container] = m;

    if (!name) {
      if (method !== 'GET') return cloudError(res, rec, 405, 'MethodNotAllowed', 'Method not allowed.');
      // List lag (setListLag): the list is served from a replica that is `listLag` ms behind, so a
      // group created within it is missing and one deleted within it is still listed as it was.
      const now = Date.now();
      const listed = [...store.entries()]
        .filter(([k, g]) => now - g.createdAt >= listLag && !(gone.has(k) && now - gone.get(k)!.at < listLag))
        .map(([, g]) => g);
      for (const [k, x] of gone) if (now - x.at >= listLag) gone.delete(k);
      const stale = [...gone.values()].filter((x) => now - x.g.createdAt >= listLag).map((x) => x.g);
      const all = [...listed, ...stale].filter(
        (g) =>
          g.subscriptionId.toLowerCase() === sub.toLowerCase() && g.resourceGroup.toLowerCase() === rg.toLowerCase(),
      );
      const skip = Number(u.searchParams.get('$skiptoken') ?? '0') || 0;
      const page = all.slice(skip, skip + pageSize).map((g) => render(g, false));
      const next =
        skip + pageSize < all.length
          ? `${base}${u.pathname}?api-version=${FAKE_ARM_API_VERSION}&$skiptoken=${skip + pageSize}`
          : undefined;
      return send(res, rec, 200, { value: page, ...(next ? { nextLink: next } : {}) });
    }

    const key = keyOf(sub, rg, name);
    const g = store.get(key);
    const notFound = () =>
      cloudError(
        res,
        rec,
        404,
        'ResourceNotFound',
        `The Resource 'Microsoft.ContainerInstance/containerGroups/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );

    if (container) {
      if (method !== 'GET') return cloudError(res, rec, 405, 'MethodNotAllowed', 'Method not allowed.');
      if (!g) return notFound();
      if (!containersOf(g.body).some((c) => c.name === container)) {
        return cloudError(
          res,
          rec,
          404,
          'ContainerNotFound',
          `The container '${container}' is not found in container group '${name}'.`,
        );
      }
      const tail = Number(u.searchParams.get('tail') ?? '0');
      const lines = g.logs.split('\n');
      return send(res, rec, 200, { content: tail > 0 ? lines.slice(-tail).join('\n') : g.logs });
    }

    if (method === 'GET') {
      if (!g) return notFound();
      return send(res, rec, 200, render(g, true));
    }

    if (method === 'DELETE') {
      if (!g) return send(res, rec, 204);
      const id = randomUUID();
      const now = Date.now();
      ops.set(id, { id, kind: 'delete', key, startTime: iso(now), doneAt: now + deleteLatency });
      if (listLag > 0) gone.set(key, { g: { ...g }, at: now });
      g.provisioningState = 'Deleting';
      if (deleteLatency <= 0) store.delete(key);
      else g.deleteAt = now + deleteLatency;
      return send(res, rec, 202, undefined, {
        'Azure-AsyncOperation': opUrl(sub, g.location, id),
        Location: opUrl(sub, g.location, id),
      });
    }

    if (method === 'PUT') {
      if (putLatency > 0) await sleep(putLatency);
      if (!NAME.test(name) || name.includes('--')) {
        return cloudError(res, rec, 400, 'ContainerGroupNameInvalid', `The container group name '${name}' is invalid.`);
      }
      const body = parsed as Record<string, unknown> | undefined;
      if (!body || typeof body !== 'object')
        return cloudError(res, rec, 400, 'InvalidRequestContent', 'The request content was invalid.');
      if (typeof body.location !== 'string' || !body.location)
        return cloudError(res, rec, 400, 'LocationRequired', 'The location property is required for this definition.');
      const containers = containersOf(body);
      if (containers.length === 0) {
        return cloudError(
          res,
          rec,
          400,
          'InvalidRequestContent',
          "The request content was invalid: 'properties.containers' is required.",
        );
      }
      const now = Date.now();
      const existed = Boolean(g && g.deleteAt === undefined);
      const tags = (body.tags && typeof body.tags === 'object' ? body.tags : {}) as Record<string, string>;
      const group: FakeGroup =
        existed && g
          ? Object.assign(g, { body: clone(body), tags: clone(tags), env: envOf(body) })
          : {
              name,
              subscriptionId: sub,
              resourceGroup: rg,
              location: body.location,
              tags: clone(tags),
              body: clone(body),
              env: envOf(body),
              createdAt: now,
              readyAt: now + createLatency,
              provisioningState: createLatency > 0 || lateCapacity?.(body) ? 'Creating' : 'Succeeded',
              events: [],
              groupEvents: [],
              logs: '',
              ...(lateCapacity?.(body) ? { failsForCapacity: true } : {}),
            };
      if (!existed) {
        if (group.provisioningState === 'Succeeded') {
          group.instanceState = 'Running';
          group.containerStartTime = iso(now);
        } else group.instanceState = 'Pending';
        store.set(key, group);
        for (const cb of createHooks) {
          try {
            cb(group);
          } catch (e) {
            console.error('fake ARM onCreate hook failed:', e);
          }
        }
      }
      const id = randomUUID();
      ops.set(id, { id, kind: 'create', key, startTime: iso(now), doneAt: existed ? now : group.readyAt });
      const answer = render(group, false);
      return send(res, rec, existed ? 200 : 201, answer, { 'Azure-AsyncOperation': opUrl(sub, group.location, id) });
    }

    return cloudError(res, rec, 405, 'MethodNotAllowed', `Method ${method} is not allowed.`);
  };

  const server: Server = createServer({ key: opts.cert.key, cert: opts.cert.cert }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'InternalServerError', message: String(e) } }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const find = (name: string, rg?: string): FakeGroup | undefined => {
    sweep();
    return [...store.values()].find(
      (g) => g.name === name && (!rg || g.resourceGroup.toLowerCase() === rg.toLowerCase()),
    );
  };
  const mustFind = (name: string): FakeGroup => {
    const g = find(name);
    if (!g) throw new Error(`fake ARM: no container group '${name}'`);
    return g;
  };

  return {
    url: base,
    requests,
    clearRequests: () => {
      requests.length = 0;
    },
    groups: () => {
      sweep();
      return [...store.values()];
    },
    group: find,
    seed(name, s = {}) {
      const now = s.createdAt ?? Date.now();
      const sub = s.subscriptionId ?? '00000000-0000-0000-0000-000000000000';
      const rg = s.resourceGroup ?? 'rg';
      const location = s.location ?? 'westeurope';
      const body: Record<string, unknown> = {
        location,
        tags: s.tags ?? {},
        properties: {
          containers: [
            {
              name: 'agent',
              properties: { image: 'example/agent:1', resources: { requests: { cpu: 1, memoryInGB: 1.5 } } },
            },
          ],
          osType: 'Linux',
          restartPolicy: 'Never',
        },
      };
      const g: FakeGroup = {
        name,
        subscriptionId: sub,
        resourceGroup: rg,
        location,
        tags: { ...(s.tags ?? {}) },
        body,
        env: {},
        createdAt: now,
        readyAt: now,
        provisioningState: s.provisioningState ?? 'Succeeded',
        instanceState: s.instanceState ?? 'Running',
        ...(s.exitCode !== undefined ? { exitCode: s.exitCode } : {}),
        events: [],
        groupEvents: [],
        logs: '',
      };
      store.set(keyOf(sub, rg, name), g);
      return g;
    },
    startDeleting(name, ms) {
      const g = mustFind(name);
      g.provisioningState = 'Deleting';
      g.deleteAt = Date.now() + ms;
    },
    setInstanceState(name, state, exitCode) {
      const g = mustFind(name);
      if (g.provisioningState === 'Creating' || g.provisioningState === 'Pending') g.provisioningState = 'Succeeded';
      if (state === 'Running') g.containerStartTime = iso(Date.now());
      if (state === 'Succeeded' || state === 'Failed' || state === 'Stopped') g.containerFinishTime = iso(Date.now());
      g.instanceState = state;
      if (exitCode !== undefined) g.exitCode = exitCode;
      else delete g.exitCode;
    },
    addEvent(name, event) {
      const now = iso(Date.now());
      mustFind(name).events.push({ type: 'Normal', count: 1, firstTimestamp: now, lastTimestamp: now, ...event });
    },
    setLogs(name, content) {
      mustFind(name).logs = content;
    },
    inject(fault) {
      faults.push({ ...fault, left: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
    onCreate(cb) {
      createHooks.add(cb);
      return () => createHooks.delete(cb);
    },
    onRequest(cb) {
      requestHooks.add(cb);
      return () => requestHooks.delete(cb);
    },
    setCreateLatency(ms) {
      createLatency = ms;
    },
    setPutLatency(ms) {
      putLatency = ms;
    },
    setListLag(ms) {
      listLag = ms;
      if (ms <= 0) gone.clear();
    },
    setPageSize(n) {
      pageSize = n;
    },
    failCapacityLate(when) {
      lateCapacity = when;
    },
    subscriptionState,
    writes: () => requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function defaultCode(status: number): string {
  switch (status) {
    case 429:
      return 'TooManyRequests';
    case 409:
      return 'Conflict';
    case 404:
      return 'ResourceNotFound';
    case 400:
      return 'BadRequest';
    case 401:
      return 'AuthenticationFailed';
    case 403:
      return 'AuthorizationFailed';
    case 503:
      return 'ServiceUnavailable';
    default:
      return status >= 500 ? 'InternalServerError' : 'Error';
  }
}

function defaultMessage(status: number): string {
  switch (status) {
    case 429:
      return "The request is being throttled as the limit has been reached for operation type - 'Write'.";
    case 503:
      return 'The service is temporarily unavailable. Please try again later.';
    default:
      return status >= 500 ? 'An internal server error occurred.' : `Request failed with status ${status}.`;
  }
}
