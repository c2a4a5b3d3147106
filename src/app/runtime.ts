/**
 * The Functions app's process-wide runtime: settings parsed once, real adapters, the pool lease
 * and the pass coordinator shared by the timer, the webhook and the status endpoint.
 */
import type { Settings } from '../config/schema.js';
import { loadSettings } from '../config/load.js';
import { fenceDeps, MemoryPoolLock, type Logger, type PoolLockPort } from '../ports/index.js';
import { PassCoordinator } from '../reconcile/coordinator.js';
import { poolsOf, reconcile, type PassResult, type ReconcileDeps } from '../reconcile/pass.js';
import { BlobPoolLock, blobBackoffStore, blobPoolLock, hasStorage } from '../storage/index.js';
import { consoleSink, createLogger, errorText, registerSecret } from '../util/log.js';
import { buildDeps, reconcileOptions, type DepsOverrides } from './deps.js';
import { collectStatus, type BackoffAvailability, type StatusReport } from './status.js';

export interface Runtime {
  settings: Settings;
  logger: Logger;
  coordinator: PassCoordinator;
  deps: ReconcileDeps;
  /** The configured pools, one spelling each. */
  pools: string[];
  /** True when the pool lease lives in AzureWebJobsStorage, shared with every other instance. */
  sharedLease: boolean;
  /** Observe + plan, act on nothing, write nothing (the back-off state is only read). */
  status(): Promise<StatusReport & { passes: ReturnType<PassCoordinator['views']> }>;
  /** One pass that plans and acts on nothing (outside the lease: it writes nothing). */
  dryRun(onlyPools?: readonly string[]): Promise<PassResult>;
}

export interface RuntimeOverrides extends DepsOverrides {
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
  // The pool lease and the shared back-off state live in AzureWebJobsStorage (src/storage).
  const local = !o.lock && o.localLeaseWithoutStorage === true && !hasStorage(settings);
  const lock = o.lock ?? (local ? new MemoryPoolLock() : blobPoolLock(settings, logger));
  const backoff_ = o.backoff ?? (lock instanceof BlobPoolLock ? blobBackoffStore(lock, settings) : undefined);
  const deps = buildDeps(settings, logger, { ...o, ...(backoff_ ? { backoff: backoff_ } : {}) });
  const opts = reconcileOptions(settings);
  const shared = async (what: 'load' | 'flush', pool: string) => {
    try {
      await deps.backoff[what]?.(pool);
    } catch (err) {
      logger.warn(`back-off state: ${what} failed; the pass goes on without it`, { pool, error: errorText(err) });
    }
  };
  const coordinator = new PassCoordinator({
    lock,
    logger,
    ...(o.oneOff ? { retryNote: 'run the command again once the storage account (AzureWebJobsStorage) is reachable' } : {}),
    run: async (pool, _reasons, lease) => {
      await shared('load', pool);
      try {
        // Every write of the pass goes through the pool's lease (fencing).
        const result = await reconcile(opts, fenceDeps(deps, lease), [pool]);
        o.onPass?.(result);
        return result;
      } finally {
        // A pass that lost the lease does not overwrite the new holder's back-off state.
        if (lease.held()) await shared('flush', pool);
      }
    },
  });
  return {
    settings,
    logger,
    coordinator,
    deps,
    pools: poolsOf(settings.POOLS),
    sharedLease: lock instanceof BlobPoolLock,
    dryRun: (onlyPools) => reconcile(reconcileOptions(settings, true), deps, onlyPools),
    status: async () => {
      const backoff = await readBackoff(deps, poolsOf(settings.POOLS), Boolean(backoff_));
      return { ...(await collectStatus(opts, deps)), backoff, passes: coordinator.views() };
    },
  };
}

/**
 * Reads every pool's back-off state for the status view and says whether it could: without a
 * shared store (no AzureWebJobsStorage) the deployed app's state is not visible from here; a store
 * that cannot be read leaves the BACKOFF column unknown, not empty.
 */
async function readBackoff(deps: ReconcileDeps, pools: readonly string[], shared: boolean): Promise<BackoffAvailability> {
  if (!shared || !deps.backoff.load) {
    return { available: false, note: 'back-off state unavailable: no AzureWebJobsStorage configured, so the deployed app\'s back-off state is not visible here' };
  }
  const failures = await Promise.all(
    pools.map(async (pool) => {
      try {
        await deps.backoff.load?.(pool);
        return undefined;
      } catch (err) {
        return `${pool}: ${errorText(err)}`;
      }
    }),
  );
  const failed = failures.filter((f): f is string => f !== undefined);
  if (failed.length === 0) return { available: true };
  return { available: false, note: `back-off state unavailable: cannot read it from AzureWebJobsStorage (${failed.join('; ')})` };
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
