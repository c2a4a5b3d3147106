/**
 * One runtime ("Functions instance") over the HTTPS fakes and Azurite, as the integration tests of
 * the shared pool state build it (backoff-shared, pool-status, learnt-burst): the real clients, no
 * SDK retries, AzureWebJobsStorage on Azurite, and the log lines it wrote (to assert on, and to check
 * that the PAT canary never appears).
 */
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { memoryLogger } from '../../src/util/log.js';
import type { FakeStack } from '../fakes/stack.js';
import type { Azurite } from './azurite.js';

export function stackRuntime(
  stack: FakeStack,
  azurite: Azurite,
  o: { id: string; pools: unknown[] },
): Runtime & { lines: string[] } {
  const log = memoryLogger();
  const rt = createRuntime(
    stack.env({ AzureWebJobsStorage: azurite.connectionString, AUTOSCALER_ID: o.id, POOLS: JSON.stringify(o.pools) }),
    {
      logger: log,
      credential: stack.credential,
      azure: { ca: stack.cert.cert, retryOptions: { maxRetries: 0 } },
      azdoDispatcher: stack.dispatcher,
    },
  );
  return Object.assign(rt, { lines: log.lines });
}
