/**
 * The Functions app's process-wide runtime: settings parsed once, real adapters, the pool lease
 * and the pass coordinator shared by the timer, the webhook and the status endpoint.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import type { Settings } from '../config/schema.js';
import { loadSettings } from '../config/load.js';
import { PassCoordinator } from '../reconcile/coordinator.js';
import { BlobPoolLock, DEFAULT_LOCK_CONTAINER, type PoolLockPort } from '../reconcile/lock.js';
import { BlobBackoffStore } from '../reconcile/backoff-store.js';
import { fenceDeps } from '../reconcile/fence.js';
import { poolsOf, reconcile, type PassResult, type ReconcileDeps } from '../reconcile/pass.js';
import type { Logger } from '../reconcile/ports.js';
import { credentialFromSettings } from '../azure/clients.js';
import { consoleSink, createLogger, errorText, registerSecret } from '../util/log.js';
import { buildDeps, reconcileOptions, type DepsOverrides } from './deps.js';
import { collectStatus, type StatusReport } from './status.js';

export interface Runtime {
  settings: Settings;
  logger: Logger;
  coordinator: PassCoordinator;
  deps: ReconcileDeps;
  status(): Promise<StatusReport & { passes: ReturnType<PassCoordinator['views']> }>;
}

export interface RuntimeOverrides extends DepsOverrides {
  logger?: Logger;
  lock?: PoolLockPort;
  /** Sees every pass result (the CLI prints them). */
  onPass?: (result: PassResult) => void;
}

type Env = Record<string, string | undefined>;

/**
 * The pool lease lives in AzureWebJobsStorage: a connection string (Azurite, classic), or the
 * identity-based form Flex Consumption uses (`AzureWebJobsStorage__blobServiceUri` / `__accountName`).
 */
export function lockFromEnv(env: Env, settings: Settings, logger: Logger): PoolLockPort {
  if (settings.AzureWebJobsStorage) return BlobPoolLock.fromConnectionString(settings.AzureWebJobsStorage, { logger });
  const uri = env.AzureWebJobsStorage__blobServiceUri ?? (env.AzureWebJobsStorage__accountName ? `https://${env.AzureWebJobsStorage__accountName}.blob.core.windows.net` : undefined);
  if (!uri) throw new Error('AzureWebJobsStorage (or AzureWebJobsStorage__accountName) is required for the pool lease');
  const credential = credentialFromSettings({ AZURE_CLIENT_ID: env.AzureWebJobsStorage__clientId ?? settings.AZURE_CLIENT_ID });
  const service = new BlobServiceClient(uri, credential, { retryOptions: { maxTries: 3, tryTimeoutInMs: 10_000 } });
  return new BlobPoolLock(service.getContainerClient(DEFAULT_LOCK_CONTAINER), { logger });
}

export function createRuntime(env: Env, o: RuntimeOverrides = {}): Runtime {
  const logger = o.logger ?? createLogger(consoleSink, { app: 'azp-aci-autoscaler' });
  const settings = loadSettings(env, { requireAzure: true, onWarning: (w) => logger.warn(`settings: ${w}`) });
  registerSecret(settings.WEBHOOK_PASSWORD);
  const lock = o.lock ?? lockFromEnv(env, settings, logger);
  // Back-off state lives beside the lease, so every instance (and /api/status) sees it.
  const backoff = o.backoff ?? (lock instanceof BlobPoolLock ? new BlobBackoffStore(lock.container, settings.POOLS) : undefined);
  const deps = buildDeps(settings, logger, { ...o, ...(backoff ? { backoff } : {}) });
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
    status: async () => {
      await Promise.all(poolsOf(settings.POOLS).map((pool) => shared('load', pool)));
      return { ...(await collectStatus(opts, deps)), passes: coordinator.views() };
    },
  };
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
