/**
 * One "Functions instance" for the two-instance tests (test/integration/fencing.test.ts,
 * late-writes.test.ts): createRuntime with the real coordinator and a real BlobPoolLock on Azurite
 * (reached at `storage`, directly or through a fault proxy), the real pass with the real clients
 * against the HTTPS fakes, its log lines and every pass result it reports.
 */
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import type { PassResult } from '../../src/reconcile/pass.js';
import { BlobPoolLock } from '../../src/storage/lock.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeStack } from '../fakes/stack.js';
import { AZURITE_ACCOUNT, AZURITE_KEY } from './azurite.js';

export interface LeasedInstance {
  rt: Runtime;
  lines: string[];
  results: PassResult[];
}

export interface LeasedInstanceOptions {
  /** AUTOSCALER_ID. */
  id: string;
  /** The Azure DevOps pool of the one profile (named 'lin', image contoso.azurecr.io/azp-agent:1, no placeholder). */
  pool: string;
  /** More fields of that profile (maxAgents, maxCreatePerPass, ...). */
  profile: Record<string, unknown>;
  /** The blob container holding the pool's lease. */
  container: string;
  /** The blob endpoint this instance reaches Azurite through (`http://127.0.0.1:port` or a proxy's url). */
  storage: string;
  /** The blob client's maxTries. */
  tries: number;
  leaseSeconds: number;
}

export function leasedInstance(stack: FakeStack, o: LeasedInstanceOptions): LeasedInstance {
  const log = memoryLogger();
  const results: PassResult[] = [];
  const service = new BlobServiceClient(
    `${o.storage}/${AZURITE_ACCOUNT}`,
    new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
    { retryOptions: { maxTries: o.tries, tryTimeoutInMs: 2_000, retryDelayInMs: 100, maxRetryDelayInMs: 200 } },
  );
  const lock = new BlobPoolLock(service.getContainerClient(o.container), {
    leaseSeconds: o.leaseSeconds,
    renewEveryMs: 1_000,
    logger: log,
  });
  const rt = createRuntime(
    stack.env({
      AUTOSCALER_ID: o.id,
      POOLS: JSON.stringify([
        { name: 'lin', pool: o.pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, ...o.profile },
      ]),
    }),
    {
      logger: log,
      lock,
      credential: stack.credential,
      azure: { ca: stack.cert.cert, retryOptions: { maxRetries: 0 } },
      azdoDispatcher: stack.dispatcher,
      onPass: (r) => results.push(r),
    },
  );
  return { rt, lines: log.lines, results };
}
