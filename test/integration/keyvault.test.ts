/**
 * KeyVaultTokenProvider with the real @azure/keyvault-secrets SecretClient against the HTTPS fake
 * Key Vault: the 401 challenge round-trip, caching, invalidation, trimming, failures.
 */
import { get as httpsGet } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretClient, isRealVaultHost } from '../../src/azure/clients.js';
import { KeyVaultTokenProvider, SecretError } from '../../src/secrets/keyvault.js';
import { fakeCredential, type FakeCredential } from '../fakes/credential.js';
import { recordedChallenge, startFakeKeyVault, type FakeKeyVault } from '../fakes/keyvault.js';
import { makeTestCert } from '../fakes/tls.js';

const CANARY = 'canary-pat-kv-5e4d3c2b1a09';
const cert = makeTestCert();
let kv: FakeKeyVault;

beforeAll(async () => {
  kv = await startFakeKeyVault({ cert, secrets: { 'azp-token': `${CANARY}\n` } });
});
afterAll(async () => {
  await kv.close();
});

function setup(opts: { ttlMs?: number; now?: () => number } = {}) {
  const cred: FakeCredential = fakeCredential();
  const client = createSecretClient(cred, kv.url, {
    ca: cert.cert,
    retryOptions: { retryDelayInMs: 10, maxRetryDelayInMs: 20 },
  });
  const provider = new KeyVaultTokenProvider({ client, secretName: 'azp-token', ...opts });
  return { cred, client, provider };
}

async function secretError(p: Promise<unknown>): Promise<SecretError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(SecretError);
    return e as SecretError;
  }
  throw new Error('expected a SecretError');
}

describe('Key Vault challenge', () => {
  it('the fake answers an unauthenticated request with exactly the recorded challenge', async () => {
    const res = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = httpsGet(`${kv.url}/secrets/azp-token?api-version=7.6`, { ca: cert.cert }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
        });
        req.on('error', reject);
      },
    );
    const recorded = recordedChallenge();
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(
      'Bearer authorization="https://login.windows.net/12345678-1234-1234-1234-123456789012", resource="https://vault.azure.net"',
    );
    expect(JSON.parse(res.body)).toEqual(recorded.body);
    expect(res.body).not.toContain(CANARY);
  });

  it('the real SecretClient completes the challenge: 401, token for vault scope + tenant, retry with Bearer', async () => {
    const { cred, provider } = setup();
    kv.requests.length = 0;
    expect(await provider.getToken()).toBe(CANARY);
    expect(kv.requests.map((r) => [r.status, r.authorized])).toEqual([
      [401, false],
      [200, true],
    ]);
    expect(kv.requests[1]?.path).toBe('/secrets/azp-token/');
    expect(cred.requests).toEqual([
      { scopes: ['https://vault.azure.net/.default'], tenantId: '12345678-1234-1234-1234-123456789012' },
    ]);
  });

  it('challenge verification is relaxed only for hosts that are not a real vault domain', () => {
    expect(isRealVaultHost('myvault.vault.azure.net')).toBe(true);
    expect(isRealVaultHost('myvault.vault.azure.cn')).toBe(true);
    expect(isRealVaultHost('myvault.vault.usgovcloudapi.net')).toBe(true);
    expect(isRealVaultHost('myvault.vault.microsoftazure.de')).toBe(true);
    expect(isRealVaultHost('myhsm.managedhsm.azure.net')).toBe(true);
    expect(isRealVaultHost('MyVault.Vault.Azure.Net.')).toBe(true);
    expect(isRealVaultHost('127.0.0.1')).toBe(false);
    expect(isRealVaultHost('vault.azure.net')).toBe(false);
    expect(isRealVaultHost('evil.vault.azure.net.example.com')).toBe(false);
    expect(isRealVaultHost('myvaultvault.azure.net')).toBe(false);
  });
});

describe('KeyVaultTokenProvider', () => {
  it('trims the trailing newline/whitespace', async () => {
    const { provider } = setup();
    const v = await provider.getToken();
    expect(v).toBe(CANARY);
    expect(v.endsWith('\n')).toBe(false);
  });

  it('caches for the TTL (injected clock), then reads again', async () => {
    let now = 1_000_000;
    const { provider } = setup({ ttlMs: 60_000, now: () => now });
    const before = kv.secretReads();
    await provider.getToken();
    await provider.getToken();
    now += 59_999;
    await provider.getToken();
    expect(kv.secretReads() - before).toBe(1);
    now += 2;
    await provider.getToken();
    expect(kv.secretReads() - before).toBe(2);
  });

  it('defaults to a 5 minute TTL', async () => {
    let now = 0;
    const { provider } = setup({ now: () => now });
    const before = kv.secretReads();
    await provider.getToken();
    now = 5 * 60_000 - 1;
    await provider.getToken();
    expect(kv.secretReads() - before).toBe(1);
    now = 5 * 60_000;
    await provider.getToken();
    expect(kv.secretReads() - before).toBe(2);
  });

  it('concurrent callers share one in-flight read', async () => {
    const { provider } = setup();
    const before = kv.secretReads();
    const values = await Promise.all(Array.from({ length: 10 }, () => provider.getToken()));
    expect(new Set(values)).toEqual(new Set([CANARY]));
    expect(kv.secretReads() - before).toBe(1);
  });

  it('invalidate() forces a fresh read (rotated PAT)', async () => {
    const { provider } = setup();
    expect(await provider.getToken()).toBe(CANARY);
    kv.setSecret('azp-token', 'rotated-pat-value  \r\n');
    expect(await provider.getToken()).toBe(CANARY);
    provider.invalidate();
    expect(await provider.getToken()).toBe('rotated-pat-value');
    kv.setSecret('azp-token', `${CANARY}\n`);
  });

  it('Key Vault down (500) → SecretError naming vault, secret and status, never the value', async () => {
    const { provider } = setup();
    expect(await provider.getToken()).toBe(CANARY);
    provider.invalidate();
    kv.inject({ status: 500, code: 'InternalServerError', message: `boom ${CANARY}` });
    try {
      const err = await secretError(provider.getToken());
      const host = new URL(kv.url).host;
      expect(err.message).toContain(host);
      expect(err.message).toContain("'azp-token'");
      expect(err.message).toContain('500');
      expect(err).toMatchObject({ status: 500, secretName: 'azp-token', vaultHost: host });
      expect(`${err.message} ${JSON.stringify(err)} ${String(err.stack)}`).not.toContain(CANARY);
      expect(err).not.toHaveProperty('cause');
    } finally {
      kv.clearFaults();
    }
    // recovers once the vault is back
    expect(await provider.getToken()).toBe(CANARY);
  });

  it('unreachable vault (connection reset) → SecretError without status', async () => {
    const { provider } = setup();
    kv.setDown(true);
    try {
      const err = await secretError(provider.getToken());
      expect(err.status).toBeUndefined();
      expect(err.message).toMatch(/unreachable|unavailable/);
      expect(err.message).not.toContain(CANARY);
    } finally {
      kv.setDown(false);
    }
  });

  it('403 → SecretError explaining the missing permission', async () => {
    const { provider } = setup();
    kv.inject({ status: 403, code: 'Forbidden', message: 'Caller is not authorized to perform action on resource.' });
    try {
      const err = await secretError(provider.getToken());
      expect(err.status).toBe(403);
      expect(err.message).toMatch(/access denied/);
    } finally {
      kv.clearFaults();
    }
  });

  it('missing secret → 404 SecretError; empty secret → SecretError', async () => {
    const cred = fakeCredential();
    const client = createSecretClient(cred, kv.url, { ca: cert.cert });
    const missing = new KeyVaultTokenProvider({ client, secretName: 'nope' });
    expect((await secretError(missing.getToken())).status).toBe(404);
    kv.setSecret('blank', ' \n');
    const blank = new KeyVaultTokenProvider({ client, secretName: 'blank' });
    expect((await secretError(blank.getToken())).code).toBe('EmptySecret');
  });

  it('credential unavailable → SecretError, value never fetched', async () => {
    const { cred, provider } = setup();
    cred.fail();
    const err = await secretError(provider.getToken());
    expect(err.message).toContain("'azp-token'");
  });

  it('a failed read is not cached', async () => {
    const { provider } = setup();
    kv.inject({ status: 500, times: 3 });
    await secretError(provider.getToken());
    expect(await provider.getToken()).toBe(CANARY);
  });
});
