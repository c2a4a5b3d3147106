/**
 * A fake TokenCredential: records every requested scope set and returns a canary token, so tests
 * can assert the token went only where it should (Authorization header) and never into a log.
 */
import { randomBytes } from 'node:crypto';
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

export interface TokenRequest {
  scopes: string[];
  tenantId?: string;
  claims?: string;
}

export interface FakeCredential extends TokenCredential {
  /** The canary token every getToken returns. */
  readonly token: string;
  /** Every getToken call, in order. */
  readonly requests: TokenRequest[];
  /** Flattened, de-duplicated scopes requested so far. */
  scopes(): string[];
  /** Make getToken reject (e.g. managed identity unavailable). */
  fail(error?: Error): void;
  heal(): void;
}

export function fakeCredential(opts: { token?: string; ttlMs?: number } = {}): FakeCredential {
  const token = opts.token ?? `canary-token-${randomBytes(12).toString('hex')}`;
  const requests: TokenRequest[] = [];
  let failure: Error | undefined;
  return {
    token,
    requests,
    scopes: () => [...new Set(requests.flatMap((r) => r.scopes))],
    fail(error = Object.assign(new Error('fake credential unavailable'), { name: 'CredentialUnavailableError' })) {
      failure = error;
    },
    heal() {
      failure = undefined;
    },
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const req: TokenRequest = { scopes: Array.isArray(scopes) ? [...scopes] : [scopes] };
      if (options?.tenantId) req.tenantId = options.tenantId;
      if (options?.claims) req.claims = options.claims;
      requests.push(req);
      if (failure) return Promise.reject(failure);
      return Promise.resolve({
        token,
        expiresOnTimestamp: Date.now() + (opts.ttlMs ?? 3_600_000),
        tokenType: 'Bearer',
      });
    },
  };
}
