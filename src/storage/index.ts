/**
 * Storage adapter: the per-pool blob lease (./lock.ts) and the shared pool state (back-off, warm)
 * (./pool-state-store.ts) in AzureWebJobsStorage, the Functions host's own storage account.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { credentialFromSettings } from '../azure/clients.js';
import type { Settings } from '../config/schema.js';
import type { Logger } from '../ports/index.js';
import { BlobPoolStateStore } from './pool-state-store.js';
import { BlobPoolLock, DEFAULT_LOCK_CONTAINER } from './lock.js';

export { BlobPoolStateStore } from './pool-state-store.js';
export { BlobPoolLock, DEFAULT_LOCK_CONTAINER, poolBlobBase, type BlobPoolLockOptions } from './lock.js';

/** Whether the settings name a storage account: a connection string or the identity-based form. */
export function hasStorage(settings: Settings): boolean {
  return Boolean(
    settings.AzureWebJobsStorage ||
    settings.AzureWebJobsStorage__accountName ||
    settings.AzureWebJobsStorage__blobServiceUri,
  );
}

/**
 * The pool lease in AzureWebJobsStorage: a connection string (Azurite, classic), or the
 * identity-based form Flex Consumption uses (`AzureWebJobsStorage__blobServiceUri` / `__accountName`,
 * with `__clientId` or else AZURE_CLIENT_ID as the identity).
 */
export function blobPoolLock(settings: Settings, logger: Logger): BlobPoolLock {
  if (settings.AzureWebJobsStorage) return BlobPoolLock.fromConnectionString(settings.AzureWebJobsStorage, { logger });
  const account = settings.AzureWebJobsStorage__accountName;
  const uri =
    settings.AzureWebJobsStorage__blobServiceUri ?? (account ? `https://${account}.blob.core.windows.net` : undefined);
  if (!uri) throw new Error('AzureWebJobsStorage (or AzureWebJobsStorage__accountName) is required for the pool lease');
  const credential = credentialFromSettings({
    AZURE_CLIENT_ID: settings.AzureWebJobsStorage__clientId ?? settings.AZURE_CLIENT_ID,
  });
  const service = new BlobServiceClient(uri, credential, { retryOptions: { maxTries: 3, tryTimeoutInMs: 10_000 } });
  return new BlobPoolLock(service.getContainerClient(DEFAULT_LOCK_CONTAINER), { logger });
}

/** The pool state beside the lease, so every instance (and /api/status) sees it. */
export function blobPoolStateStore(lock: BlobPoolLock, settings: Settings): BlobPoolStateStore {
  return new BlobPoolStateStore(lock.container, settings.POOLS);
}
