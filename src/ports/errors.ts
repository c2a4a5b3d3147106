/**
 * The one error type of the ports. Every adapter's error (AzdoError in src/azdo, ArmError in
 * src/aci, the simulator's) extends PortError and names what went wrong with a `kind` from this
 * list; the pass decides by the kind alone (`errorKind`), never by an adapter's class or message.
 * Anything that is not a PortError (a bug, an SDK error that escaped classification) has no kind.
 */

/** Every kind an adapter may report, and what the pass does about it. */
export type PortErrorKind =
  /** 429 / rate limit: back off (a create backs its profile off); `retryAfterMs` when the service said. */
  | 'throttled'
  /** Quota or regional capacity: back the profile off. */
  | 'quota'
  /** The request itself is wrong (bad image, bad spec): report, don't retry. */
  | 'validation'
  /** ARM 401/403: the identity lacks a role assignment or a token. */
  | 'auth'
  /** Azure DevOps 401: PAT expired, revoked or lacking scope, or token rejected. */
  | 'unauthorized'
  /** Azure DevOps 403: the identity lacks permission on the agent pool. */
  | 'forbidden'
  | 'notFound'
  /** ARM 5xx, 408, 409 transitions, network errors: try again on a later pass. */
  | 'transient'
  /** Azure DevOps 5xx after the client's retries. */
  | 'server'
  /** No complete answer within the client's timeout. */
  | 'timeout'
  /** Connection refused / reset / DNS. */
  | 'network'
  /** A 2xx or 4xx whose body is not what the API documents. */
  | 'badResponse'
  /** The pool's lease is no longer ours (./fence.ts): the pass stops writing. */
  | 'leaseLost'
  /**
   * Something a person still has to provide (the PAT not stored in Key Vault yet, first
   * deployment): the pass acts on nothing and says what it waits for once per process.
   */
  | 'notReady';

export abstract class PortError extends Error {
  abstract readonly kind: PortErrorKind;
  /** How long the service asked us to wait (Retry-After), when it said. */
  declare readonly retryAfterMs?: number;
}

/** The kind of an adapter's error; undefined for anything else (treated as transient). */
export function errorKind(err: unknown): PortErrorKind | undefined {
  return err instanceof PortError ? err.kind : undefined;
}

/** The wait the service asked for (a 429's Retry-After), if the error is a PortError that carries one. */
export function retryAfterOf(err: unknown): number | undefined {
  return err instanceof PortError ? err.retryAfterMs : undefined;
}
