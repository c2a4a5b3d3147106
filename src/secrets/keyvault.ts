/**
 * The agent PAT from Key Vault (SecretPort). Cached for a short TTL; concurrent callers share one
 * in-flight read; `invalidate()` after Azure DevOps answered 401 (rotated PAT) forces a fresh read.
 * The value never reaches a log line or an error: SecretError names vault host, secret and status only.
 */
import type { KeyVaultSecret, SecretClient } from '@azure/keyvault-secrets';
import { PortError } from '../ports/errors.js';
import type { SecretPort } from '../ports/index.js';
import { credentialText } from '../util/credential-text.js';

/** What @azure/identity throws when no token could be had (DefaultAzureCredential: the aggregate). */
const CREDENTIAL_ERRORS = new Set([
  'AggregateAuthenticationError',
  'CredentialUnavailableError',
  'AuthenticationError',
]);

export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;

export class SecretError extends Error {
  override readonly name = 'SecretError';
  constructor(
    readonly vaultHost: string,
    readonly secretName: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    reason: string,
  ) {
    super(
      `Key Vault ${vaultHost}: reading secret '${secretName}' failed` +
        `${status !== undefined ? ` (status ${status}${code ? ` ${code}` : ''})` : code ? ` (${code})` : ''}: ${reason}`,
    );
  }
}

/**
 * The secret does not exist yet, or is empty: on a first deployment the PAT is stored after the
 * app starts (infra/README.md step 2). Not a failure to shout about: the pass waits and says so.
 */
export class SecretNotStoredError extends PortError {
  override readonly name = 'SecretNotStored';
  readonly kind = 'notReady' as const;
  constructor(
    readonly vaultHost: string,
    readonly secretName: string,
  ) {
    super(
      `waiting for the PAT in Key Vault secret '${secretName}' (vault ${vaultHost}): store it (infra/README.md, step 2); nothing is created until then`,
    );
  }
}

/** A SecretError for a missing or empty secret becomes SecretNotStoredError; anything else is kept. */
export function notStoredOr(err: unknown): unknown {
  if (err instanceof SecretError && (err.status === 404 || err.code === 'EmptySecret'))
    return new SecretNotStoredError(err.vaultHost, err.secretName);
  return err;
}

export interface KeyVaultTokenProviderOptions {
  /** A SecretClient built by src/azure/clients.ts (or anything with the same getSecret/vaultUrl). */
  client: Pick<SecretClient, 'getSecret' | 'vaultUrl'>;
  secretName: string;
  ttlMs?: number;
  /** Injected clock (ms); default Date.now. */
  now?: () => number;
}

interface ErrorLike {
  name?: unknown;
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
}

export class KeyVaultTokenProvider implements SecretPort {
  private readonly client: Pick<SecretClient, 'getSecret' | 'vaultUrl'>;
  private readonly secretName: string;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly host: string;
  private cached: { value: string; expiresAt: number } | undefined;
  private inflight: Promise<string> | undefined;
  private generation = 0;

  constructor(opts: KeyVaultTokenProviderOptions) {
    this.client = opts.client;
    this.secretName = opts.secretName;
    this.ttlMs = opts.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    this.now = opts.now ?? Date.now;
    this.host = safeHost(opts.client.vaultUrl);
  }

  getToken(): Promise<string> {
    const c = this.cached;
    if (c && this.now() < c.expiresAt) return Promise.resolve(c.value);
    if (this.inflight) return this.inflight;
    const gen = this.generation;
    const p = this.fetch().then((value) => {
      if (gen === this.generation) this.cached = { value, expiresAt: this.now() + this.ttlMs };
      return value;
    });
    this.inflight = p;
    const clear = () => {
      if (this.inflight === p) this.inflight = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  invalidate(): void {
    this.generation += 1;
    this.cached = undefined;
    this.inflight = undefined;
  }

  private async fetch(): Promise<string> {
    let secret: KeyVaultSecret;
    try {
      secret = await this.client.getSecret(this.secretName);
    } catch (e) {
      throw this.wrap(e);
    }
    const value = (secret.value ?? '').replace(/\s+$/, '');
    if (!value) throw new SecretError(this.host, this.secretName, undefined, 'EmptySecret', 'the secret is empty');
    return value;
  }

  /**
   * Built from status, code and error name only: never from a response body or message. The one
   * exception is a credential error, which carries no response: its message is the credential's.
   */
  private wrap(e: unknown): SecretError {
    const err = (e && typeof e === 'object' ? e : {}) as ErrorLike;
    const status = typeof err.statusCode === 'number' ? err.statusCode : undefined;
    const code = typeof err.code === 'string' ? err.code : undefined;
    let reason: string;
    if (status === 401 || status === 403)
      reason = 'access denied: grant the identity "get" on secrets (Key Vault Secrets User)';
    else if (status === 404) reason = 'secret not found';
    else if (status !== undefined && status >= 500) reason = 'Key Vault is unavailable';
    else if (typeof err.name === 'string' && CREDENTIAL_ERRORS.has(err.name)) {
      // The credential's own account of what it tried (no Key Vault response, no secret in it).
      reason = `no token for Key Vault: ${credentialText(err)}`;
    } else if (status === undefined) reason = 'Key Vault is unreachable';
    else reason = 'request rejected';
    return new SecretError(this.host, this.secretName, status, code, reason);
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid-vault-url';
  }
}
