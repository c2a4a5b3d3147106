/** The Azure DevOps retry policy on its own: (answer, retries spent, policy) → retry, refresh or fail. */
import { describe, expect, it } from 'vitest';
import { rateLimitDelayMs, retryAfterMs, retryDecision, type Answer } from '../../src/azdo/retry.js';
import { delayHeaderMs } from '../../src/util/http-hints.js';

const policy = { maxRetries: 3, maxRetryDelayMs: 60_000 };
const NOW = Date.parse('2026-03-02T08:00:00Z');
const answer = (a: Partial<Answer> & { status: number }): Answer => ({ method: 'GET', headers: {}, retries: 0, ...a });

describe('retryDecision', () => {
  it.each([
    // method, status, retried for it?
    ['GET', 429, true],
    ['GET', 503, true],
    // A write is one attempt (issue 21: every write attempt is fenced; the fence is checked per call).
    ['PATCH', 429, false],
    ['DELETE', 503, false],
    // Only 429/503 (not applied) or an answer carrying Retry-After are retried.
    ['GET', 500, false],
    ['GET', 502, false],
    ['GET', 504, false],
    ['PATCH', 500, false],
    ['DELETE', 504, false],
    ['GET', 400, false],
    ['GET', 403, false],
    ['GET', 404, false],
  ] as const)('%s answered %i: retried %s', (method, status, retried) => {
    expect(retryDecision(answer({ method, status }), policy, NOW).do).toBe(retried ? 'retry' : 'fail');
  });

  it('a 5xx with Retry-After is retried after that wait for a read; a write fails at once, carrying the wait', () => {
    expect(retryDecision(answer({ status: 502, headers: { 'retry-after': '3' } }), policy, NOW)).toEqual({
      do: 'retry',
      waitMs: 3000,
    });
    expect(
      retryDecision(answer({ method: 'PATCH', status: 500, headers: { 'retry-after': '1' } }), policy, NOW),
    ).toEqual({ do: 'fail', kind: 'server', retryAfterMs: 1000 });
    expect(
      retryDecision(answer({ method: 'DELETE', status: 429, headers: { 'retry-after': '2' } }), policy, NOW),
    ).toEqual({ do: 'fail', kind: 'throttled', retryAfterMs: 2000 });
  });

  it('waits what Retry-After asks, else 1 s, 2 s, 4 s; X-RateLimit-Delay (how long the request WAS delayed) is no wait', () => {
    expect(retryDecision(answer({ status: 429, headers: { 'retry-after': '7' } }), policy, NOW)).toEqual({
      do: 'retry',
      waitMs: 7000,
    });
    expect(retryDecision(answer({ status: 429, headers: { 'x-ratelimit-delay': '25' } }), policy, NOW)).toEqual({
      do: 'retry',
      waitMs: 1000,
    });
    // A delayed success or a delayed 500 is not a request to wait and retry.
    expect(retryDecision(answer({ status: 500, headers: { 'x-ratelimit-delay': '25' } }), policy, NOW)).toEqual({
      do: 'fail',
      kind: 'server',
    });
    expect([0, 1, 2].map((retries) => retryDecision(answer({ status: 503, retries }), policy, NOW))).toEqual([
      { do: 'retry', waitMs: 1000 },
      { do: 'retry', waitMs: 2000 },
      { do: 'retry', waitMs: 4000 },
    ]);
  });

  it('fails once the retries are spent, with the kind of the status and the wait asked', () => {
    expect(retryDecision(answer({ status: 429, retries: 3, headers: { 'retry-after': '2' } }), policy, NOW)).toEqual({
      do: 'fail',
      kind: 'throttled',
      retryAfterMs: 2000,
    });
    expect(retryDecision(answer({ status: 503, retries: 3 }), policy, NOW)).toEqual({ do: 'fail', kind: 'server' });
  });

  it('a wait longer than maxRetryDelayMs fails at once as throttled, whatever the status', () => {
    const long = { 'retry-after': '120' };
    expect(retryDecision(answer({ status: 503, headers: long }), policy, NOW)).toEqual({
      do: 'fail',
      kind: 'throttled',
      retryAfterMs: 120_000,
    });
    expect(
      retryDecision(answer({ status: 429, headers: long }), { maxRetries: 3, maxRetryDelayMs: 200_000 }, NOW),
    ).toEqual({ do: 'retry', waitMs: 120_000 });
  });

  it('no answer: GETs retry with backoff; a write (which may have been applied) fails as timeout or network', () => {
    expect(retryDecision(answer({ status: 0, timedOut: true }), policy, NOW)).toEqual({ do: 'retry', waitMs: 1000 });
    expect(retryDecision(answer({ status: 0, timedOut: true, retries: 3 }), policy, NOW)).toEqual({
      do: 'fail',
      kind: 'timeout',
    });
    expect(retryDecision(answer({ method: 'PATCH', status: 0 }), policy, NOW)).toEqual({ do: 'fail', kind: 'network' });
  });

  it('a 401 refreshes the credential when it may, else fails as unauthorized', () => {
    expect(retryDecision(answer({ status: 401, canRefreshAuth: true, retries: 3 }), policy, NOW)).toEqual({
      do: 'refreshAuth',
    });
    expect(retryDecision(answer({ status: 401, canRefreshAuth: false }), policy, NOW)).toEqual({
      do: 'fail',
      kind: 'unauthorized',
    });
  });
});

describe('delay headers', () => {
  it('Retry-After: delay-seconds or an HTTP-date from now; never negative; nonsense is no hint', () => {
    expect(retryAfterMs({ 'retry-after': ' 3 ' }, NOW)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'Mon, 02 Mar 2026 08:00:30 GMT' }, NOW)).toBe(30_000);
    expect(retryAfterMs({ 'retry-after': 'Mon, 02 Mar 2026 07:59:00 GMT' }, NOW)).toBe(0);
    expect(retryAfterMs({ 'retry-after': ['5', '9'] }, NOW)).toBe(5000);
    expect(retryAfterMs({ 'retry-after': 'soon' }, NOW)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': 'soon', 'x-ratelimit-delay': '1.5' }, NOW)).toBeUndefined();
    expect(rateLimitDelayMs({ 'x-ratelimit-delay': '1.5' })).toBe(1500);
  });

  it('milliseconds headers (retry-after-ms) are read in ms', () => {
    expect(delayHeaderMs('250', 'ms', NOW)).toBe(250);
    expect(delayHeaderMs('', 'ms', NOW)).toBeUndefined();
    expect(delayHeaderMs(undefined, 's', NOW)).toBeUndefined();
  });
});
