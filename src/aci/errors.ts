/**
 * ARM error classification for the ACI provider. An `ArmError` carries no request, no response and
 * no cause: the SDK's RestError holds the request body, which contains the agent token.
 */
import { DEFERRED_RETRY_AFTER_HEADER } from '../azure/clients.js';
import { PortError, type PortErrorKind } from '../ports/errors.js';
import { credentialText } from '../util/credential-text.js';
import { delayHeaderMs } from '../util/http-hints.js';
import { redactSecrets } from '../util/redact.js';

/**
 * The kinds ARM errors map to (src/ports/errors.ts says what each means to the pass):
 * 429 → throttled; no token from the credential (DefaultAzureCredential chain) → auth; quota or regional capacity (ContainerGroupQuotaReached, ServiceUnavailable in
 * location, SKU…) → quota; a wrong request (bad image, size, spec) → validation; 401/403 → auth;
 * 404 → notFound; 5xx, 408, network errors, timeouts, 409 transitions → transient.
 */
export type ArmErrorKind = Extract<
  PortErrorKind,
  'throttled' | 'quota' | 'validation' | 'auth' | 'notFound' | 'transient'
>;

export interface ArmErrorInit {
  kind: ArmErrorKind;
  status?: number;
  code?: string;
  retryAfterMs?: number;
  operation?: string;
  target?: string;
  detail?: string;
}

export class ArmError extends PortError {
  override readonly name = 'ArmError';
  readonly kind: ArmErrorKind;
  readonly status?: number;
  readonly code?: string;
  declare readonly retryAfterMs?: number;
  readonly operation?: string;
  readonly target?: string;

  constructor(init: ArmErrorInit) {
    const where = [init.operation, init.target].filter(Boolean).join(' ');
    const what = [init.status, init.code].filter((x) => x !== undefined && x !== '').join(' ');
    super(
      `ARM ${where ? `${where}: ` : ''}${init.kind}${what ? ` (${what})` : ''}${init.detail ? `: ${init.detail}` : ''}`,
    );
    this.kind = init.kind;
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    if (init.operation !== undefined) this.operation = init.operation;
    if (init.target !== undefined) this.target = init.target;
  }
}

const QUOTA_CODES = new Set(
  [
    'ContainerGroupQuotaReached',
    'ServiceUnavailable',
    'SkuNotAvailable',
    'StandardCoresQuotaReached',
    'RegionalQuotaExceeded',
    'QuotaExceeded',
    'ResourceQuotaExceeded',
    'SpotCoresQuotaReached',
    'InsufficientCapacity',
    'ResourceUnavailable',
    'RegistryQuotaReached',
  ].map((c) => c.toLowerCase()),
);
const QUOTA_MESSAGE =
  /quota|not available in (the )?location|StandardCores|RegionalQuota|SkuNotAvailable|insufficient capacity/i;
const VALIDATION_CODES = new Set(
  [
    'InvalidImage',
    'InaccessibleImage',
    'InvalidContainerGroupSpec',
    'InvalidRequestContent',
    'InvalidRequestFormat',
    'InvalidParameter',
    'InvalidResourceRequest',
    'InvalidContainerCpu',
    'InvalidContainerMemory',
    'InvalidCpuRequest',
    'InvalidMemoryRequest',
    'InvalidOsType',
    'InvalidResourceName',
    'InvalidTemplate',
    'BadRequest',
    'MissingSubscriptionRegistration',
    'RegistryErrorResponse',
    'LinkedInvalidPropertyId',
  ].map((c) => c.toLowerCase()),
);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'REQUEST_SEND_ERROR',
  'UND_ERR_SOCKET',
]);

interface HeadersLike {
  get(name: string): string | undefined;
}

/** Retry-After in ms from a response's headers (also the deferred header set by capRetryAfterPolicy). */
export function retryAfterFromHeaders(h: HeadersLike | undefined): number | undefined {
  if (!h) return undefined;
  return (
    delayHeaderMs(h.get(DEFERRED_RETRY_AFTER_HEADER), 'ms') ??
    delayHeaderMs(h.get('retry-after-ms'), 'ms') ??
    delayHeaderMs(h.get('x-ms-retry-after-ms'), 'ms') ??
    delayHeaderMs(h.get('retry-after'), 's')
  );
}

export interface ClassifyOptions {
  operation?: string;
  target?: string;
  /** Values to redact, with any 8+ character echo of them, from any message we keep (e.g. the agent token). */
  secrets?: readonly string[];
}

/**
 * Longest detail kept. Long enough for every ARM message and for a credential chain's whole
 * account (DefaultAzureCredential lists each credential it tried, ~1,000 characters, and the hint
 * that matters, `az login`, comes near the end); a bound only against a runaway body.
 */
export const MAX_DETAIL = 8_000;

/** Secrets and any 8+ character echo of them out (src/util/redact.ts), then bounded. */
function redact(text: string, secrets: readonly string[] | undefined): string {
  const out = redactSecrets(text, secrets ?? []);
  return out.length > MAX_DETAIL ? `${out.slice(0, MAX_DETAIL)}…` : out;
}

/** What @azure/identity throws when no token could be had: no request reached ARM. */
const CREDENTIAL_ERRORS = new Set([
  'AggregateAuthenticationError',
  'CredentialUnavailableError',
  'AuthenticationError',
]);

interface RestErrorLike {
  name?: unknown;
  message?: unknown;
  statusCode?: unknown;
  code?: unknown;
  details?: unknown;
  response?: { status?: number; headers?: HeadersLike; bodyAsText?: string | null; parsedBody?: unknown };
}

function cloudError(e: RestErrorLike): { code?: string; message?: string } {
  const fromBody = (b: unknown): { code?: string; message?: string } | undefined => {
    if (!b || typeof b !== 'object') return undefined;
    const err = (b as { error?: unknown }).error;
    if (!err || typeof err !== 'object') return undefined;
    const { code, message } = err as { code?: unknown; message?: unknown };
    return {
      ...(typeof code === 'string' ? { code } : {}),
      ...(typeof message === 'string' ? { message } : {}),
    };
  };
  let parsed = fromBody(e.response?.parsedBody) ?? fromBody(e.details);
  if (!parsed && e.response?.bodyAsText) {
    try {
      parsed = fromBody(JSON.parse(e.response.bodyAsText));
    } catch {
      /* not JSON */
    }
  }
  return parsed ?? {};
}

/** Maps anything the SDK throws to an ArmError. Idempotent on ArmError. */
export function classifyArmError(err: unknown, opts: ClassifyOptions = {}): ArmError {
  if (err instanceof ArmError) return err;
  const e = (err && typeof err === 'object' ? err : {}) as RestErrorLike;
  const status = typeof e.statusCode === 'number' ? e.statusCode : e.response?.status;
  const body = cloudError(e);
  const rawCode = body.code ?? (typeof e.code === 'string' ? e.code : undefined);
  const isCredential = status === undefined && typeof e.name === 'string' && CREDENTIAL_ERRORS.has(e.name);
  const message = isCredential
    ? credentialText(e)
    : (body.message ?? (typeof e.message === 'string' ? e.message : String(err)));
  const codeL = rawCode?.toLowerCase() ?? '';
  const base = {
    ...(status !== undefined ? { status } : {}),
    ...(rawCode !== undefined ? { code: rawCode } : {}),
    ...(opts.operation !== undefined ? { operation: opts.operation } : {}),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    detail: redact(message, opts.secrets),
  };

  let kind: ArmErrorKind;
  if (isCredential) kind = 'auth';
  else if (status === 429) kind = 'throttled';
  else if (e.name === 'AbortError' || (status === undefined && NETWORK_CODES.has(rawCode ?? ''))) kind = 'transient';
  else if (status === 404 || codeL === 'resourcenotfound' || codeL === 'notfound') kind = 'notFound';
  else if (
    QUOTA_CODES.has(codeL) ||
    (status !== undefined && status >= 400 && status < 500 && QUOTA_MESSAGE.test(message))
  ) {
    // A bare 5xx ServiceUnavailable is an outage, not capacity; ACI's capacity error names the location.
    kind =
      status !== undefined && status >= 500 && codeL === 'serviceunavailable' && !QUOTA_MESSAGE.test(message)
        ? 'transient'
        : 'quota';
  } else if (status === 401 || status === 403) kind = 'auth';
  else if (status === 408 || (status !== undefined && status >= 500)) kind = 'transient';
  else if (VALIDATION_CODES.has(codeL) || status === 400 || status === 422) kind = 'validation';
  else if (status === 409) kind = 'transient';
  else if (status === undefined) kind = 'transient';
  else kind = 'validation';

  const retryAfterMs = retryAfterFromHeaders(e.response?.headers);
  return new ArmError({ kind, ...base, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}
