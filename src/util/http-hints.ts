/**
 * What a response says about when to try again. The one parser of delay headers: Retry-After
 * (RFC 9110: delay-seconds or an HTTP-date), X-RateLimit-Delay (Azure DevOps, seconds, may be
 * fractional) and retry-after-ms / x-ms-retry-after-ms (Azure, milliseconds). Each client lists the
 * headers its service sends, in its own order of preference.
 */

const DECIMAL = /^\d+(\.\d+)?$/;

/**
 * A delay header's value in ms, never negative: a decimal number in `unit`, or an HTTP-date
 * (counted from `now`); undefined when absent, empty or neither.
 */
export function delayHeaderMs(value: string | undefined, unit: 's' | 'ms', now = Date.now()): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (DECIMAL.test(v)) return Math.round(Number(v) * (unit === 's' ? 1000 : 1));
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** One header of a Node/undici-style header record (first value of a repeated header). */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
