/**
 * AzureWebJobsStorage: the container of the pool leases and the reconcile queue answer this
 * identity (read only: getProperties). A missing container or queue is created by the first pass or
 * delivery (src/storage), so only an unreachable or refusing account fails.
 */
import type { Settings } from '../config/schema.js';
import type { Logger } from '../ports/index.js';
import { blobPoolLock, DEFAULT_LOCK_CONTAINER, hasStorage } from '../storage/index.js';
import { RECONCILE_QUEUE, storageHandoffQueue } from '../storage/queue.js';
import { fail, ok, problemText, warn, type CheckResult } from './report.js';

const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

async function probe(id: string, what: string, get: () => Promise<unknown>, fix: string): Promise<CheckResult> {
  try {
    await get();
    return ok(id, `${what} is reachable`);
  } catch (err) {
    const status = (err as { statusCode?: unknown }).statusCode;
    if (status === 404)
      return ok(id, `${what} is reachable (not created yet: the first pass or webhook delivery creates it)`);
    return fail(id, `${what}: ${problemText(err)}`, fix);
  }
}

export async function storageChecks(settings: Settings): Promise<CheckResult[]> {
  if (!hasStorage(settings))
    return [
      warn(
        'storage',
        'no AzureWebJobsStorage in these settings: the lease container and the reconcile queue were not checked',
        'run doctor with the app settings (--settings) to check them',
      ),
    ];
  const fix =
    'check AzureWebJobsStorage and that this identity has "Storage Blob Data Owner" and "Storage Queue Data Contributor" on the account';
  const signal = () => ({ abortSignal: AbortSignal.timeout(15_000) });
  const lock = blobPoolLock(settings, quiet);
  const queue = storageHandoffQueue(settings);
  return Promise.all([
    probe(
      'storage.leases',
      `lease container '${DEFAULT_LOCK_CONTAINER}'`,
      () => lock.container.getProperties(signal()),
      fix,
    ),
    probe('storage.queue', `queue '${RECONCILE_QUEUE}'`, () => queue.queue.getProperties(signal()), fix),
  ]);
}
