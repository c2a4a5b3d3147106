/**
 * What `doctor` prints: one line per check (`ok` / `warn` / `FAIL`), the fix under each problem.
 * Texts name the setting, the resource and the answer; never a secret, never a stack.
 */
import { scrub } from '../util/log.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  /** Stable id, e.g. `keyvault.secret`, `azdo.pool`, `aci.quota` (tests and --json key on it). */
  id: string;
  status: CheckStatus;
  /** What was checked and what was found. */
  text: string;
  /** What to do about a warn/fail. */
  fix?: string;
}

export const ok = (id: string, text: string): CheckResult => ({ id, status: 'ok', text });
export const warn = (id: string, text: string, fix?: string): CheckResult => ({
  id,
  status: 'warn',
  text,
  ...(fix ? { fix } : {}),
});
export const fail = (id: string, text: string, fix?: string): CheckResult => ({
  id,
  status: 'fail',
  text,
  ...(fix ? { fix } : {}),
});

const LABEL: Record<CheckStatus, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

/** The terminal lines: `ok   text`, `FAIL text` + `     fix: …`. */
export function formatChecks(results: readonly CheckResult[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(scrub(`${LABEL[r.status]} ${r.text}`));
    if (r.fix && r.status !== 'ok') lines.push(scrub(`     fix: ${r.fix}`));
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  const warned = results.filter((r) => r.status === 'warn').length;
  lines.push(
    failed > 0
      ? `doctor: ${failed} check(s) failed, ${warned} warning(s): fix the FAIL lines before the first job`
      : `doctor: all ${results.length} checks passed${warned > 0 ? ` (${warned} warning(s))` : ''}`,
  );
  return lines;
}

/**
 * One line for an error: its message (every adapter's error names status, code and resource),
 * without a stack, the first line only, scrubbed of registered secrets.
 */
export function problemText(err: unknown): string {
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; code?: unknown; statusCode?: unknown; name?: unknown };
    const message = typeof e.message === 'string' ? e.message.split('\n')[0]!.trim() : '';
    const status = typeof e.statusCode === 'number' ? `${e.statusCode}` : '';
    const code = typeof e.code === 'string' ? e.code : '';
    const head = [status, code].filter(Boolean).join(' ');
    return scrub(head && !message.includes(head) ? `${head}: ${message}` : message || String(e.name ?? 'error'));
  }
  return scrub(String(err));
}
