/**
 * How the client authenticates: a PAT as HTTP Basic (any user name, the PAT as password) or an
 * Entra ID bearer token for the Azure DevOps resource. Providers only build the header; the client
 * never logs it and scrubs it from anything it reports.
 */
import type { AccessToken, TokenCredential } from '@azure/core-auth';

/** The Azure DevOps resource id scope (the same one KEDA uses). */
export const AZDO_SCOPE = '499b84ac-1321-427f-aa17-267ca6975798/.default';

export interface AuthProvider {
  /** The full Authorization header value ("Basic …" / "Bearer …"). */
  header(): Promise<string>;
  /** Called on a 401; the client retries once after it (e.g. re-read a rotated PAT). */
  onUnauthorized?(): void;
}

/**
 * PAT auth. `getToken` is typically SecretPort.getToken (Key Vault, cached briefly); `invalidate`
 * its invalidate(), so a 401 after a PAT rotation re-reads the secret once.
 */
export function patAuth(getToken: () => Promise<string>, invalidate?: () => void): AuthProvider {
  const provider: AuthProvider = {
    async header() {
      const pat = (await getToken()).trim();
      if (!pat) throw new Error('Azure DevOps PAT is empty');
      return `Basic ${Buffer.from(`:${pat}`, 'utf8').toString('base64')}`;
    },
  };
  if (invalidate) provider.onUnauthorized = () => invalidate();
  return provider;
}

export interface EntraAuthOptions {
  /** Override the scope (defaults to AZDO_SCOPE). */
  scope?: string;
  /** Refresh this long before expiry (default 5 minutes). */
  refreshMarginMs?: number;
  /** Clock for tests. */
  now?: () => number;
}

/** Entra ID (managed identity / DefaultAzureCredential) bearer token for Azure DevOps. */
export function entraAuth(credential: TokenCredential, options: EntraAuthOptions = {}): AuthProvider {
  const scope = options.scope ?? AZDO_SCOPE;
  const margin = options.refreshMarginMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  let cached: AccessToken | undefined;
  return {
    async header() {
      if (!cached || cached.expiresOnTimestamp - margin <= now()) {
        const token = await credential.getToken(scope);
        if (!token?.token) throw new Error(`no Entra ID token for scope ${scope}`);
        cached = token;
      }
      return `Bearer ${cached.token}`;
    },
    onUnauthorized() {
      cached = undefined;
    },
  };
}
