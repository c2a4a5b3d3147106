/**
 * The webhook's durable hand-off: one message per valid delivery on the Storage queue
 * `azp-reconcile` in AzureWebJobsStorage (infra/modules/storage.bicep creates it and its poison
 * queue). The queue trigger (src/functions/reconcile-queue.ts) runs the passes.
 *
 * Messages are JSON, base64-encoded: the Functions host's queue trigger decodes base64 by default
 * (host.json `extensions.queues.messageEncoding`, default `base64`), then hands the parsed JSON over.
 */
import type { QueueClient } from '@azure/storage-queue';
import { QueueServiceClient } from '@azure/storage-queue';
import { credentialFromSettings } from '../azure/clients.js';
import { parseWebhookArrival } from '../core/types.js';
import type { Settings } from '../config/schema.js';
import type { HandoffQueue, ReconcileRequest } from '../ports/index.js';

export const RECONCILE_QUEUE = 'azp-reconcile';
/** Where the host moves a message after `maxDequeueCount` failed attempts. */
export const POISON_SUFFIX = '-poison';

export function encodeRequest(request: ReconcileRequest): string {
  return Buffer.from(JSON.stringify(request), 'utf8').toString('base64');
}

/** Parse what the queue trigger hands over (already decoded JSON, or the raw text); throws on anything else. */
export function decodeRequest(entry: unknown): ReconcileRequest {
  let value = entry;
  if (typeof value === 'string') {
    const text = value.trim().startsWith('{') ? value : Buffer.from(value, 'base64').toString('utf8');
    value = JSON.parse(text) as unknown;
  }
  const v = value as Partial<ReconcileRequest> | null;
  if (
    !v ||
    !Array.isArray(v.pools) ||
    !v.pools.every((p) => typeof p === 'string') ||
    typeof v.reason !== 'string' ||
    typeof v.receivedAt !== 'string'
  ) {
    throw new Error('not a reconcile request: expected {pools: string[], reason, receivedAt}');
  }
  // A job the delivery named (λ only): one that does not read as one is dropped, the pass still runs.
  const arrival = parseWebhookArrival(v.arrival);
  return { pools: v.pools, reason: v.reason, receivedAt: v.receivedAt, ...(arrival ? { arrival } : {}) };
}

export interface StorageHandoffOptions {
  /** Per-request timeout of the enqueue, so a hung storage answers 503 in time. Default 10 s. */
  timeoutMs?: number;
}

export class StorageHandoffQueue implements HandoffQueue {
  constructor(
    readonly queue: QueueClient,
    readonly poison: QueueClient,
    private readonly options: StorageHandoffOptions = {},
  ) {}

  static fromService(
    service: QueueServiceClient,
    name = RECONCILE_QUEUE,
    options: StorageHandoffOptions = {},
  ): StorageHandoffQueue {
    return new StorageHandoffQueue(
      service.getQueueClient(name),
      service.getQueueClient(`${name}${POISON_SUFFIX}`),
      options,
    );
  }

  async send(request: ReconcileRequest): Promise<void> {
    const put = () =>
      this.queue.sendMessage(encodeRequest(request), {
        abortSignal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
    try {
      await put();
    } catch (err) {
      // Azure: infra/modules/storage.bicep creates the queue. Azurite / a fresh account: create it once.
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      await this.queue.createIfNotExists({ abortSignal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000) });
      await put();
    }
  }

  async depth(): Promise<{ pending?: number; poison?: number }> {
    const count = async (q: QueueClient) => {
      try {
        return (await q.getProperties({ abortSignal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000) }))
          .approximateMessagesCount;
      } catch {
        return undefined;
      }
    };
    const [pending, poison] = await Promise.all([count(this.queue), count(this.poison)]);
    return { pending, poison };
  }
}

/**
 * The reconcile queue in AzureWebJobsStorage: a connection string (Azurite), or the identity-based
 * form (`AzureWebJobsStorage__queueServiceUri` / `__accountName`, `__clientId` else AZURE_CLIENT_ID).
 */
export function storageHandoffQueue(settings: Settings, name = RECONCILE_QUEUE): StorageHandoffQueue {
  const retryOptions = { maxTries: 2, tryTimeoutInMs: 5_000 };
  if (settings.AzureWebJobsStorage) {
    return StorageHandoffQueue.fromService(
      QueueServiceClient.fromConnectionString(settings.AzureWebJobsStorage, { retryOptions }),
      name,
    );
  }
  const account = settings.AzureWebJobsStorage__accountName;
  const uri =
    settings.AzureWebJobsStorage__queueServiceUri ??
    (account ? `https://${account}.queue.core.windows.net` : undefined);
  if (!uri)
    throw new Error(
      'AzureWebJobsStorage (or AzureWebJobsStorage__accountName / __queueServiceUri) is required for the reconcile queue',
    );
  const credential = credentialFromSettings({
    AZURE_CLIENT_ID: settings.AzureWebJobsStorage__clientId ?? settings.AZURE_CLIENT_ID,
  });
  return StorageHandoffQueue.fromService(new QueueServiceClient(uri, credential, { retryOptions }), name);
}
