/**
 * Ports: the small interfaces the reconcile pass talks to. The real adapters (src/azdo, src/aci,
 * src/secrets, src/storage), the simulator (src/sim) and the tests' fakes all implement these.
 * This folder sits below both the pass (src/reconcile) and the adapters: it imports only the pure
 * domain (src/core) and the settings' types, and nothing imports the pass except the wiring (src/app).
 * Errors the adapters throw: ./errors.ts. The lease as a fence on every write: ./fence.ts.
 * In-memory versions (tests, CLI, simulator): ./memory.ts.
 */
export type * from './types.js';
export { errorKind, PortError, retryAfterOf, type PortErrorKind } from './errors.js';
export {
  fenceDeps,
  fencePorts,
  isLeaseLost,
  LeaseGuard,
  LeaseLost,
  OPEN_FENCE,
  type LeaseGuardOptions,
} from './fence.js';
export {
  emptyPoolState,
  MAX_PENDING_ARRIVALS,
  MemoryArrivalsInbox,
  MemoryPoolLock,
  memoryPoolStateStore,
  NULL_ARRIVALS,
  PoolStateConflict,
} from './memory.js';
