/**
 * The simulator's pool-state store: in memory, but the warm-agent estimator state goes through
 * JSON and `parseWarmState` on every save → load, as the pool's state blob carries it between
 * passes (src/storage/pool-state-store.ts: `_warm[profile]` is read back with `parseWarmState`).
 * So what the simulator learns across passes and days is exactly what a deployment keeps: nothing
 * survives that the blob would drop.
 */
import { parseWarmState, type WarmState } from '../core/warm/index.js';
import { memoryPoolStateStore, type PoolStateStore } from '../ports/index.js';

export function blobShapedPoolStateStore(): PoolStateStore {
  return memoryPoolStateStore((s) => {
    const warm: Record<string, WarmState> = {};
    for (const [profile, state] of Object.entries(s.warm)) {
      const back = parseWarmState(JSON.parse(JSON.stringify(state)));
      if (back) warm[profile] = back;
    }
    return {
      backoff: { ...s.backoff },
      warm,
      expected: { creates: { ...s.expected.creates }, deletes: { ...s.expected.deletes } },
    };
  });
}
