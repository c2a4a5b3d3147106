/**
 * The Functions app's process-wide runtime: settings parsed once, real adapters, the pool lease
 * and the pass coordinator shared by the timer, the webhook and the status endpoint.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import type { Settings } from '../config/schema.js';
import { loadSettings } from '../config/load.js';
import { PassCoordinator } from '../reconcile/coordinator.js';
import { BlobPoolLock, DEFAULT_LOCK_CONTAINER, type PoolLockPort } from '../reconcile/lock.js';
import { reconcile, type ReconcileDeps } from '../reconcile/pass.js';
import type { Logger } from '../reconcile/ports.js';
import { credentialFromSettings } from '../azure/clients.js';
import { consoleSink, createLogger, registerSecret } from '../util/log.js';
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
  const settings = loadSettings(env, { requireAzure: true });
  registerSecret(settings.WEBHOOK_PASSWORD);
  const logger = o.logger ?? createLogger(consoleSink, { app: 'azp-aci-autoscaler' });
  const deps = buildDeps(settings, logger, o);
  const opts = reconcileOptions(settings);
  const coordinator = new PassCoordinator({
    lock: o.lock ?? lockFromEnv(env, settings, logger),
    logger,
    run: (pool) => reconcile(opts, deps, [pool]),
  });
  return {
    settings,
    logger,
    coordinator,
    deps,
    status: async () => ({ ...(await collectStatus(opts, deps)), passes: coordinator.views() }),
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
