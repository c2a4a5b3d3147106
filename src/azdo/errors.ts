/**
 * Typed errors of the Azure DevOps client. They carry the HTTP status, the TF error code and the
 * Azure DevOps message, never the token or the Authorization header (the client scrubs them).
 */
import { PortError, type PortErrorKind } from '../ports/errors.js';

/** The kinds Azure DevOps errors map to (src/ports/errors.ts says what each means to the pass). */
export type AzdoErrorKind = Extract<
  PortErrorKind,
  'unauthorized' | 'forbidden' | 'notFound' | 'throttled' | 'server' | 'timeout' | 'network' | 'badResponse'
>;

export interface AzdoErrorInit {
  kind: AzdoErrorKind;
  method: string;
  /** Path relative to the base URL, with query (never contains credentials). */
  path: string;
  status?: number;
  /** TF error code from the message ("TF400733") or the service's typeKey when no TF code. */
  code?: string;
  /** The Azure DevOps error message (JSON body `message` or X-TFS-ServiceError), scrubbed. */
  azdoMessage?: string;
  typeKey?: string;
  /** Server-suggested wait before trying again (Retry-After / X-RateLimit-Delay), in ms. */
  retryAfterMs?: number;
  /** ActivityId response header, for Microsoft support. */
  activityId?: string;
  /** Number of HTTP attempts made. */
  attempts?: number;
  /** Short description of what went wrong, scrubbed; used when there is no Azure DevOps message. */
  detail?: string;
}

export class AzdoError extends PortError {
  override readonly name: string = 'AzdoError';
  readonly kind: AzdoErrorKind;
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly code?: string;
  readonly azdoMessage?: string;
  readonly typeKey?: string;
  declare readonly retryAfterMs?: number;
  readonly activityId?: string;
  readonly attempts?: number;

  constructor(init: AzdoErrorInit) {
    super(formatMessage(init));
    this.kind = init.kind;
    this.method = init.method;
    this.path = init.path;
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.azdoMessage !== undefined) this.azdoMessage = init.azdoMessage;
    if (init.typeKey !== undefined) this.typeKey = init.typeKey;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.activityId !== undefined) this.activityId = init.activityId;
    if (init.attempts !== undefined) this.attempts = init.attempts;
  }

  /** Plain fields for structured logs (no stack, no secrets). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      method: this.method,
      path: this.path,
      status: this.status,
      code: this.code,
      azdoMessage: this.azdoMessage,
      typeKey: this.typeKey,
      retryAfterMs: this.retryAfterMs,
      activityId: this.activityId,
      attempts: this.attempts,
    };
  }
}

/** The named pool does not exist (or the identity cannot see it). */
export class AzdoPoolNotFoundError extends AzdoError {
  override readonly name: string = 'AzdoPoolNotFoundError';
  readonly poolName: string;
  constructor(poolName: string, method: string, path: string) {
    super({
      kind: 'notFound',
      method,
      path,
      code: 'PoolNotFound',
      detail: `agent pool '${poolName}' not found (check the pool name and that the identity has access to it)`,
    });
    this.poolName = poolName;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), poolName: this.poolName };
  }
}

const KIND_TEXT: Record<AzdoErrorKind, string> = {
  unauthorized: 'unauthorized (PAT expired, revoked or lacking Agent Pools scope, or token rejected)',
  forbidden: 'forbidden (the identity lacks permission on the agent pool)',
  notFound: 'not found',
  throttled: 'throttled by Azure DevOps',
  server: 'server error',
  timeout: 'timed out',
  network: 'network error',
  badResponse: 'unexpected response',
};

function formatMessage(i: AzdoErrorInit): string {
  const status = i.status !== undefined ? ` ${i.status}` : '';
  const parts = [`Azure DevOps ${i.method} ${i.path} failed:${status} ${KIND_TEXT[i.kind]}`];
  if (i.azdoMessage) parts.push(i.azdoMessage);
  if (i.detail) parts.push(i.detail);
  if (i.retryAfterMs !== undefined) parts.push(`retry after ${Math.ceil(i.retryAfterMs / 1000)}s`);
  if (i.attempts !== undefined && i.attempts > 1) parts.push(`after ${i.attempts} attempts`);
  return parts.join(' — ');
}
