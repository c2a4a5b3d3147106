import { describe, expect, it } from 'vitest';
import { ArmError, classifyArmError } from '../../src/aci/errors.js';
import { createLimiter, mapLimit } from '../../src/util/limit.js';

function restError(status: number | undefined, code?: string, message = 'm', headers: Record<string, string> = {}) {
  const h = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return Object.assign(new Error(message), {
    name: 'RestError',
    statusCode: status,
    code,
    response:
      status === undefined
        ? undefined
        : {
            status,
            headers: { get: (n: string) => h.get(n.toLowerCase()) },
            parsedBody: code ? { error: { code, message } } : undefined,
          },
  });
}

describe('classifyArmError', () => {
  it('a credential that had no token is auth, one line with what each credential said (the `az login` one comes late)', () => {
    const tail =
      "Azure CLI could not be found. Please visit https://aka.ms/azure-cli ... authenticate to your Azure account using 'az login'.";
    const message = `ChainedTokenCredential authentication failed.\n${'CredentialUnavailableError: something else was tried. '.repeat(12)}\nCredentialUnavailableError: ${tail}`;
    for (const name of ['AggregateAuthenticationError', 'CredentialUnavailableError', 'AuthenticationError']) {
      const e = classifyArmError(Object.assign(new Error(message), { name }), { operation: 'list' });
      expect(e.kind).toBe('auth');
      expect(e.message).toContain(
        'no Azure credential (tried: something else was tried; Azure CLI could not be found)',
      );
      expect(e.message).not.toContain('\n');
    }
    // An SDK error without a status that is not the credential's stays transient.
    expect(classifyArmError(Object.assign(new Error('socket hang up'), { name: 'RestError' })).kind).toBe('transient');
  });

  it.each([
    [429, 'TooManyRequests', 'throttled', 'x'],
    [409, 'ContainerGroupQuotaReached', 'quota', 'x'],
    [409, 'ServiceUnavailable', 'quota', "The requested resource is not available in the location 'westeurope'"],
    [503, 'ServiceUnavailable', 'transient', 'The service is temporarily unavailable.'],
    [
      503,
      'ServiceUnavailable',
      'quota',
      "The requested resource is not available in the location 'westeurope' at this moment.",
    ],
    [400, 'SkuNotAvailable', 'quota', 'x'],
    [409, 'OperationNotAllowed', 'quota', 'Operation results in exceeding quota limits of Core.'],
    [400, 'InvalidImage', 'validation', 'x'],
    [400, 'InaccessibleImage', 'validation', 'x'],
    [400, 'InvalidContainerGroupSpec', 'validation', 'x'],
    [400, 'SomethingNew', 'validation', 'x'],
    [404, 'ResourceNotFound', 'notFound', 'x'],
    [403, 'AuthorizationFailed', 'auth', 'x'],
    [401, 'InvalidAuthenticationToken', 'auth', 'x'],
    [500, 'InternalServerError', 'transient', 'x'],
    [502, undefined, 'transient', 'x'],
    [408, undefined, 'transient', 'x'],
    [409, 'Conflict', 'transient', 'The container group is being deleted.'],
  ])('%s %s → %s', (status, code, kind, message) => {
    expect(classifyArmError(restError(status, code, message)).kind).toBe(kind);
  });

  it('network errors are transient', () => {
    expect(classifyArmError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).kind).toBe(
      'transient',
    );
    expect(classifyArmError(Object.assign(new Error('aborted'), { name: 'AbortError' })).kind).toBe('transient');
  });

  it('reads Retry-After (seconds), the deferred header (ms) and keeps ArmError as is', () => {
    expect(classifyArmError(restError(429, 'TooManyRequests', 'x', { 'Retry-After': '7' })).retryAfterMs).toBe(7000);
    expect(
      classifyArmError(restError(429, 'TooManyRequests', 'x', { 'x-azp-retry-after-ms': '120000' })).retryAfterMs,
    ).toBe(120000);
    const e = new ArmError({ kind: 'quota' });
    expect(classifyArmError(e)).toBe(e);
  });

  it('redacts given secrets and bearer tokens, keeps no cause', () => {
    const err = classifyArmError(
      restError(400, 'InvalidRequestContent', 'bad value s3cr3t-pat, header Bearer abc.def.ghi'),
      {
        operation: 'create',
        target: 'azp-linux-x',
        secrets: ['s3cr3t-pat'],
      },
    );
    expect(err.message).toContain('create azp-linux-x');
    expect(err.message).not.toContain('s3cr3t-pat');
    expect(err.message).not.toContain('abc.def.ghi');
    expect(err).not.toHaveProperty('cause');
  });
});

describe('limit', () => {
  it('createLimiter never runs more than `limit` at once, even when slots are handed over', async () => {
    const l = createLimiter(3);
    let active = 0;
    let peak = 0;
    const task = async () => {
      active += 1;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 1));
      active -= 1;
    };
    await Promise.all(Array.from({ length: 30 }, () => l.run(task)));
    // start more while others finish
    await Promise.all([
      ...Array.from({ length: 10 }, () => l.run(task)),
      Promise.resolve().then(() => Promise.all(Array.from({ length: 10 }, () => l.run(task)))),
    ]);
    expect(peak).toBe(3);
    expect(l.active).toBe(0);
    expect(l.pending).toBe(0);
  });

  it('mapLimit settles every item in order; a failure does not stop the rest', async () => {
    const res = await mapLimit([1, 2, 3, 4], 2, (n) =>
      n === 2 ? Promise.reject(new Error('two')) : Promise.resolve(n * 10),
    );
    expect(res.map((r) => (r.status === 'fulfilled' ? r.value : 'x'))).toEqual([10, 'x', 30, 40]);
  });

  it('rejects a bad limit', () => {
    expect(() => createLimiter(0)).toThrow(RangeError);
  });
});
