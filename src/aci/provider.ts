/**
 * ComputePort on Azure Container Instances (@azure/arm-containerinstance 9.1.0, api-version 2023-05-01).
 *
 * ARM cost per call: listGroups = 1 request per page; createGroup = 1 (the PUT); deleteGroup = 1
 * (the DELETE); getGroup = 1. `begin*` would also send one status poll before resolving (and
 * awaiting completion costs ~4 requests); we stop the poller as soon as ARM answered the initial
 * request with 2xx, so a group that is still creating is simply "starting" for the planner.
 */
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { readOwnership } from '../core/names.js';
import type { OwnedGroup } from '../core/types.js';
import type { AgentLaunch, ComputePort, GroupDetail, Logger } from '../ports/index.js';
import { createLimiter, type Limiter } from '../util/limit.js';
import { ArmError, classifyArmError } from './errors.js';
import { AGENT_CONTAINER, buildContainerGroup, type SpecContext } from './spec.js';

export interface AciProviderOptions {
  client: ContainerInstanceManagementClient;
  resourceGroup: string;
  /** azpUrl, location, autoscalerId for the spec; autoscalerId also filters what we list. */
  spec: SpecContext;
  /** Max ARM calls in flight from this provider (bursts of creates/deletes). Default 10. */
  concurrency?: number;
  /** Per-request timeout (ms) handed to the SDK; 0/undefined = none. */
  requestTimeoutMs?: number;
  /** Clock for the throttle window; default Date.now. */
  now?: () => number;
  logger?: Logger;
}

/** Options every `begin*` call of the SDK takes (timeout, poll interval, raw-response hook). */
type StartOptions = NonNullable<Parameters<ContainerInstanceManagementClient['containerGroups']['beginDelete']>[2]>;

/** Thrown inside the SDK's onResponse once ARM accepted a PUT/DELETE: stops the poller before it polls. */
class AcceptedSignal extends Error {
  constructor(readonly status: number) {
    super('accepted');
  }
}

function tagsOf(g: ContainerGroup): Record<string, string> | undefined {
  return g.tags ?? undefined;
}

export class AciComputeProvider implements ComputePort {
  private readonly client: ContainerInstanceManagementClient;
  private readonly rg: string;
  private readonly spec: SpecContext;
  private readonly limiter: Limiter;
  private readonly timeout: number | undefined;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  /** After a 429, calls fail fast (no request) until this time. */
  private throttledUntil = 0;
  private lastThrottle: ArmError | undefined;

  constructor(opts: AciProviderOptions) {
    this.client = opts.client;
    this.rg = opts.resourceGroup;
    this.spec = opts.spec;
    this.limiter = createLimiter(opts.concurrency ?? 10);
    this.timeout = opts.requestTimeoutMs || undefined;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger;
  }

  private requestOptions() {
    return this.timeout ? { requestOptions: { timeout: this.timeout } } : {};
  }

  /**
   * Starts a long-running operation and returns as soon as ARM accepted it (one request): the
   * first 2xx stops the SDK's poller before it polls. Errors are thrown as usual.
   */
  private async startOnly(begin: (options: StartOptions) => Promise<unknown>): Promise<void> {
    try {
      await begin({
        ...this.requestOptions(),
        updateIntervalInMs: 0,
        onResponse: (raw, _flat, error) => {
          if (!error && raw.status >= 200 && raw.status < 300) throw new AcceptedSignal(raw.status);
        },
      });
    } catch (e) {
      if (e instanceof AcceptedSignal) return;
      throw e;
    }
  }

  private async call<T>(
    operation: string,
    target: string | undefined,
    fn: () => Promise<T>,
    secrets?: readonly string[],
  ): Promise<T> {
    const gate = () => {
      const wait = this.throttledUntil - this.now();
      if (wait > 0 && this.lastThrottle) {
        throw new ArmError({
          kind: 'throttled',
          operation,
          ...(target ? { target } : {}),
          status: 429,
          ...(this.lastThrottle.code ? { code: this.lastThrottle.code } : {}),
          retryAfterMs: wait,
          detail: 'not sent: ARM throttled an earlier request of this pass',
        });
      }
    };
    gate();
    return this.limiter.run(async () => {
      gate();
      try {
        return await fn();
      } catch (e) {
        const err = classifyArmError(e, { operation, ...(target ? { target } : {}), ...(secrets ? { secrets } : {}) });
        if (err.kind === 'throttled') {
          this.throttledUntil = Math.max(this.throttledUntil, this.now() + (err.retryAfterMs ?? 10_000));
          this.lastThrottle = err;
        }
        throw err;
      }
    });
  }

  async listGroups(): Promise<OwnedGroup[]> {
    return this.call('list', this.rg, async () => {
      const out: OwnedGroup[] = [];
      for await (const g of this.client.containerGroups.listByResourceGroup(this.rg, this.requestOptions())) {
        const own = readOwnership(tagsOf(g), this.spec.autoscalerId);
        if (!own || !g.name) continue;
        const item: OwnedGroup = { name: g.name, pool: own.pool, profile: own.profile, createdAt: own.createdAt };
        if (g.provisioningState) item.provisioningState = g.provisioningState;
        if (g.instanceView?.state) item.instanceState = g.instanceView.state;
        if (own.placeholder) item.placeholder = true;
        if (own.placement) item.placement = own.placement;
        out.push(item);
      }
      return out;
    });
  }

  async getGroup(name: string): Promise<GroupDetail | undefined> {
    try {
      const g = await this.call('get', name, () =>
        this.client.containerGroups.get(this.rg, name, this.requestOptions()),
      );
      // Only groups we own are ever described; another deployment's group is "not ours" = absent.
      if (!readOwnership(tagsOf(g), this.spec.autoscalerId)) return undefined;
      return describe(name, g);
    } catch (e) {
      if (e instanceof ArmError && e.kind === 'notFound') return undefined;
      throw e;
    }
  }

  async createGroup(launch: AgentLaunch): Promise<void> {
    const group = buildContainerGroup(launch, this.spec);
    await this.call(
      'create',
      launch.name,
      async () => {
        await this.startOnly((o) => this.client.containerGroups.beginCreateOrUpdate(this.rg, launch.name, group, o));
      },
      [launch.token],
    );
    this.log?.info('container group create accepted', {
      group: launch.name,
      profile: launch.profile.name,
      placeholder: launch.placeholder,
    });
  }

  async deleteGroup(name: string): Promise<void> {
    try {
      await this.call('delete', name, () =>
        this.startOnly((o) => this.client.containerGroups.beginDelete(this.rg, name, o)),
      );
    } catch (e) {
      if (e instanceof ArmError && e.kind === 'notFound') return;
      throw e;
    }
  }

  async getLogs(name: string): Promise<string | undefined> {
    try {
      const logs = await this.call('logs', name, () =>
        this.client.containers.listLogs(this.rg, name, AGENT_CONTAINER, { tail: 50, ...this.requestOptions() }),
      );
      return logs.content ?? undefined;
    } catch (e) {
      if (e instanceof ArmError && e.kind === 'notFound') return undefined;
      throw e;
    }
  }
}

/** GroupDetail from a GET (with instanceView). */
export function describe(name: string, g: ContainerGroup): GroupDetail {
  const out: GroupDetail = { name };
  if (g.provisioningState) out.provisioningState = g.provisioningState;
  if (g.instanceView?.state) out.instanceState = g.instanceView.state;
  const c = g.containers.find((x) => x.name === AGENT_CONTAINER) ?? g.containers[0];
  const iv = c?.instanceView;
  const cur = iv?.currentState;
  if (cur?.exitCode !== undefined && cur.exitCode !== null) out.exitCode = cur.exitCode;
  const events = [...(iv?.events ?? []), ...(g.instanceView?.events ?? [])]
    .filter((ev) => ev.message || ev.name)
    .sort((a, b) => (a.lastTimestamp?.getTime() ?? 0) - (b.lastTimestamp?.getTime() ?? 0))
    .slice(-3)
    .map((ev) => `${ev.name ?? ev.type ?? 'event'}: ${ev.message ?? ''}`.trim());
  const parts = [
    cur?.state ? `container ${cur.state}${cur.detailStatus ? ` (${cur.detailStatus})` : ''}` : undefined,
    ...events,
  ].filter((x): x is string => Boolean(x));
  if (parts.length) out.detail = parts.join('; ').slice(0, 500);
  return out;
}
