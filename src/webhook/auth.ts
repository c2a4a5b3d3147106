/**
 * Basic auth for the service hook, compared in constant time: both sides are hashed to 32 bytes
 * (so lengths never differ) and compared with crypto.timingSafeEqual; user and password are both
 * compared before the result is combined, so timing does not tell which one was wrong.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export interface WebhookCredentials {
  username: string;
  password: string;
}

export type AuthResult = 'ok' | 'missing' | 'invalid' | 'unconfigured';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Parse `Authorization: Basic base64(user:pass)`; undefined when absent or not Basic. */
export function parseBasic(header: string | undefined): WebhookCredentials | undefined {
  if (!header) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(header);
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function checkBasicAuth(header: string | undefined, expected: Partial<WebhookCredentials>): AuthResult {
  if (!expected.username || !expected.password) return 'unconfigured';
  if (!header) return 'missing';
  const got = parseBasic(header);
  if (!got) return 'invalid';
  const userOk = timingSafeEqual(digest(got.username), digest(expected.username));
  const passOk = timingSafeEqual(digest(got.password), digest(expected.password));
  return userOk && passOk ? 'ok' : 'invalid';
}
