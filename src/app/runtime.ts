/**
 * The Functions app's process-wide runtime: settings parsed once, real adapters, the pool lease
 * and the pass coordinator shared by the timer, the webhook and the status endpoint.
 */
import type { Settings } from '../config/schema.js';
import { loadSettings } from '../config/load.js';
import { AzdoError } from '../azdo/index.js';
import {
  fenceDeps,
  MemoryArrivalsInbox,
  MemoryPoolLock,
  NULL_ARRIVALS,
  type AzureDevOpsPort,
  type HandoffQueue,
  type Fence,
  type Logger,
  type PoolLockPort,
  type PoolStateStore,
} from '../ports/index.js';
import { PassCoordinator } from '../reconcile/coordinator.js';
import { poolsOf, reconcile, type PassResult, type ReconcileDeps, type ReconcileOptions } from '../reconcile/pass.js';
import { BlobPoolLock, blobPoolLock, blobPoolStateStore, hasStorage } from '../storage/index.js';
import { storageHandoffQueue } from '../storage/queue.js';
import { poolKey } from '../core/pools.js';
import type { WebhookArrival } from '../core/types.js';
import { consoleSink, createLogger, errorText, registerSecret } from '../util/log.js';
import { buildDeps, reconcileOptions, type DepsOverrides } from './deps.js';
import { collectStatus, type BackoffAvailability, type PoolHistoryStatus, type StatusReport } from './status.js';
import { emptyHistory } from '../core/pool-history.js';
import { Telemetry, withTelemetryEvents, type TelemetryCounters, type Trigger } from './telemetry.js';

export interface Runtime {
  settings: Settings;
  logger: Logger;
  coordinator: PassCoordinator;
  deps: ReconcileDeps;
  /** The configured pools, one spelling each. */
  pools: string[];
  /** True when the pool lease lives in AzureWebJobsStorage, shared with every other instance. */
  sharedLease: boolean;
  /** The webhook's durable hand-off (the reconcile queue in AzureWebJobsStorage). */
  handoff: HandoffQueue;
  telemetry: Telemetry;
  /**
   * Passes asked for by a webhook delivery from the reconcile queue: the oldest delivery's time
   * feeds the webhook → create latency; `arrivals`: the job it named (for λ).
   */
  requestFromQueue(
    pools: readonly string[],
    reason: string,
    receivedAt: Date,
    arrivals?: readonly WebhookArrival[],
  ): Promise<void>;
  flush(): Promise<void>;
  /** Observe + plan, act on nothing, write nothing (the back-off state is only read). */
  status(): Promise<RuntimeStatus>;
  /** One pass that plans and acts on nothing (outside the lease: it writes nothing). */
  dryRun(onlyPools?: readonly string[]): Promise<PassResult>;
}

export interface RuntimeStatus extends StatusReport {
  passes: ReturnType<PassCoordinator['views']>;
  /** This process's counters since start: the numbers of the metrics (docs/telemetry.md). */
  telemetry: TelemetryCounters;
  /** The reconcile queue and its poison queue (approximate; absent when unknown). */
  queue?: { pending?: number; poison?: number };
}

export interface RuntimeOverrides extends DepsOverrides {
  handoff?: HandoffQueue;
  telemetry?: Telemetry;
  logger?: Logger;
  lock?: PoolLockPort;
  /** Without AzureWebJobsStorage, hold the pool lease in this process instead of refusing to start (CLI). */
  localLeaseWithoutStorage?: boolean;
  /** Sees every pass result (the CLI prints them). */
  onPass?: (result: PassResult) => void;
  /** A one-off run (the CLI): no later trigger will retry what failed, so logs say what to do instead. */
  oneOff?: boolean;
}

export type { PassResult };

type Env = Record<string, string | undefined>;

export function createRuntime(env: Env, o: RuntimeOverrides = {}): Runtime {
  const logger = o.logger ?? createLogger(consoleSink, { app: 'azp-aci-autoscaler' });
  const settings = loadSettings(env, { requireAzure: true, onWarning: (w) => logger.warn(`settings: ${w}`) });
  registerSecret(settings.WEBHOOK_PASSWORD);
  const { lock, poolState } = storageOf(settings, o, logger);
  // The jobs webhook deliveries named, kept here until this process's next pass of the pool.
  const inbox = new MemoryArrivalsInbox();
  const telemetry = o.telemetry ?? new Telemetry();
  const built = buildDeps(settings, withTelemetryEvents(logger, telemetry), {
    ...o,
    ...(poolState ? { poolState } : {}),
    arrivals: inbox,
  });
  const deps: ReconcileDeps = { ...built, azdo: countAuthFailures(built.azdo, telemetry) };
  const opts = reconcileOptions(settings);
  const handoff = o.handoff ?? (hasStorage(settings) ? storageHandoffQueue(settings) : unavailableQueue);
  const webhooks = new WebhookSince();
  const coordinator = new PassCoordinator({
    lock,
    logger,
    ...(o.oneOff
      ? { retryNote: 'run the command again once the storage account (AzureWebJobsStorage) is reachable' }
      : {}),
    run: recordedPass(opts, deps, telemetry, webhooks, o.onPass),
  });
  return {
    settings,
    logger,
    coordinator,
    deps,
    pools: poolsOf(settings.POOLS),
    sharedLease: lock instanceof BlobPoolLock,
    // A dry run leaves the webhook arrivals to the next pass that acts.
    dryRun: (onlyPools) => reconcile(reconcileOptions(settings, true), { ...deps, arrivals: NULL_ARRIVALS }, onlyPools),
    handoff,
    telemetry,
    requestFromQueue: (pools, reason, receivedAt, arrivals = []) => {
      webhooks.note(pools, receivedAt);
      for (const p of pools) inbox.add(p, arrivals);
      return coordinator.requestAll(pools, reason);
    },
    flush: () => telemetry.flush(),
    status: async () => {
      const [{ availability: backoff, history }, queue] = await Promise.all([
        readBackoff(deps, poolsOf(settings.POOLS), Boolean(poolState)),
        handoff.depth?.(),
      ]);
      const report = await collectStatus(opts, deps);
      return {
        ...report,
        backoff,
        ...(history.length > 0 ? { history } : {}),
        passes: coordinator.views(),
        telemetry: telemetry.counts(),
        ...(queue ? { queue } : {}),
      };
    },
  };
}

/** The pool lease and the shared pool state: in AzureWebJobsStorage (src/storage), or this process's lease (CLI). */
function storageOf(
  settings: Settings,
  o: RuntimeOverrides,
  logger: Logger,
): { lock: PoolLockPort; poolState: PoolStateStore | undefined } {
  const local = !o.lock && o.localLeaseWithoutStorage === true && !hasStorage(settings);
  const lock = o.lock ?? (local ? new MemoryPoolLock() : blobPoolLock(settings, logger));
  const poolState = o.poolState ?? (lock instanceof BlobPoolLock ? blobPoolStateStore(lock, settings) : undefined);
  return { lock, poolState };
}

/** Oldest webhook delivery waiting for a pass, per pool (taken by the pass that serves it). */
class WebhookSince {
  private readonly since = new Map<string, Date>();

  note(pools: readonly string[], receivedAt: Date): void {
    for (const p of pools) {
      const prev = this.since.get(poolKey(p));
      if (!prev || prev > receivedAt) this.since.set(poolKey(p), receivedAt);
    }
  }

  take(pool: string): Date | undefined {
    const at = this.since.get(poolKey(pool));
    this.since.delete(poolKey(pool));
    return at;
  }
}

/** The coordinator's pass: reconcile the pool under its lease, then record it in telemetry. */
function recordedPass(
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  telemetry: Telemetry,
  webhooks: WebhookSince,
  onPass: ((result: PassResult) => void) | undefined,
): (pool: string, reasons: readonly string[], lease: Fence) => Promise<PassResult> {
  return async (pool, reasons, lease) => {
    const since = webhooks.take(pool);
    const started = performance.now();
    // Every write of the pass, its pool state included, goes through the pool's lease (fencing).
    const result = await reconcile(opts, fenceDeps(deps, lease), [pool]);
    onPass?.(result);
    const info = {
      trigger: triggerOf(reasons, since),
      durationMs: performance.now() - started,
      now: deps.clock.now(),
      ...(since ? { webhookSince: since } : {}),
    };
    if (result.pools.length === 0)
      telemetry.recordPass(undefined, {
        ...info,
        backoff: {},
        pool,
        ...(result.error ? { error: result.error } : {}),
      });
    for (const r of result.pools) telemetry.recordPass(r, { ...info, backoff: r.backoff ?? {}, pool: r.pool });
    return result;
  };
}

/**
 * Reads every pool's back-off state for the status view and says whether it could: without a
 * shared store (no AzureWebJobsStorage) the deployed app's state is not visible from here; a store
 * that cannot be read leaves the BACKOFF column unknown, not empty.
 */
async function readBackoff(
  deps: ReconcileDeps,
  pools: readonly string[],
  shared: boolean,
): Promise<{ availability: BackoffAvailability; history: PoolHistoryStatus[] }> {
  if (!shared) {
    return {
      availability: {
        available: false,
        note: "back-off state unavailable: no AzureWebJobsStorage configured, so the deployed app's back-off state is not visible here",
      },
      history: [],
    };
  }
  const history: PoolHistoryStatus[] = [];
  const failed: string[] = [];
  await Promise.all(
    pools.map(async (pool) => {
      try {
        // The pool's shared state: its back-off and what its passes did, the same for every instance.
        const state = await deps.poolState.load(pool);
        history.push({ pool, ...(state.history ?? emptyHistory()) });
      } catch (err) {
        failed.push(`${pool}: ${errorText(err)}`);
      }
    }),
  );
  history.sort((a, b) => pools.indexOf(a.pool) - pools.indexOf(b.pool));
  if (failed.length === 0) return { availability: { available: true }, history };
  return {
    availability: {
      available: false,
      note: `back-off state unavailable: cannot read it from AzureWebJobsStorage (${failed.join('; ')})`,
    },
    history,
  };
}

/** Without AzureWebJobsStorage there is no queue: the webhook answers 503 (the CLI never needs one). */
const unavailableQueue: HandoffQueue = {
  send: () => Promise.reject(new Error('no AzureWebJobsStorage: the reconcile queue is unavailable')),
};

/** The trigger dimension: a webhook's queue message, the CLI, else the timer. */
export function triggerOf(reasons: readonly string[], webhookSince: Date | undefined): Trigger {
  if (webhookSince || reasons.some((r) => r.startsWith('webhook'))) return 'queue';
  if (reasons.some((r) => r === 'cli')) return 'cli';
  return 'timer';
}

/** Counts Azure DevOps 401/403 answers (the alert's metric) and passes the error on unchanged. */
function countAuthFailures(azdo: AzureDevOpsPort, telemetry: Telemetry): AzureDevOpsPort {
  const wrapped = {} as Record<string, unknown>;
  for (const op of [
    'resolvePoolId',
    'listJobRequests',
    'listAgents',
    'getAgent',
    'findAgent',
    'setAgentEnabled',
    'deleteAgent',
  ] as const) {
    const fn = (azdo[op] as (...a: unknown[]) => Promise<unknown>).bind(azdo);
    wrapped[op] = async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        if (err instanceof AzdoError && (err.kind === 'unauthorized' || err.kind === 'forbidden')) {
          telemetry.azdoAuthFailure(err.kind === 'unauthorized' ? 401 : 403, op, {
            ...(err.code ? { code: err.code } : {}),
            ...(err.activityId ? { activityId: err.activityId } : {}),
          });
        }
        throw err;
      }
    };
  }
  return Object.assign(Object.create(azdo) as AzureDevOpsPort, wrapped);
}

let current: Promise<Runtime> | undefined;

/** The process-wide runtime from the app settings; a failed start is retried on the next call. */
export function getRuntime(): Promise<Runtime> {
  current ??= Promise.resolve()
    .then(() => createRuntime(process.env))
    .catch((err: unknown) => {
      current = undefined;
      throw err;
    });
  return current;
}
