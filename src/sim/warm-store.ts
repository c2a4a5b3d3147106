/**
 * The simulator's back-off store: in memory, but the warm-agent estimator state goes through JSON
 * and `parseWarmState` on every write → read, as the pool's back-off blob carries it between passes
 * (src/storage/backoff-store.ts: a pass loads the blob, `_warm[profile]` is read back with
 * `parseWarmState`, and writes it after). So what the simulator learns across passes and days is
 * exactly what a deployment keeps: nothing survives that the blob would drop.
 */
import { parseWarmState } from '../core/warm/index.js';
import { memoryBackoffStore, type BackoffStore } from '../ports/index.js';

export function blobShapedBackoffStore(): BackoffStore {
  const base = memoryBackoffStore();
  const warm = new Map<string, string>();
  return {
    get: base.get,
    set: base.set,
    all: base.all,
    getWarm: (profile) => {
      const text = warm.get(profile);
      return text === undefined ? undefined : parseWarmState(JSON.parse(text));
    },
    setWarm: (profile, state) => void warm.set(profile, JSON.stringify(state)),
  };
}
