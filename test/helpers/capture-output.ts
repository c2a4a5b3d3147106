/**
 * Captures what each test writes to process.stdout and process.stderr (with `console: true` also
 * console.log into `out` and console.warn/error into `err`, for a logger that writes through
 * console). Emptied before each test; the spies are restored after it. Call at a file's top level.
 */
import { afterEach, beforeEach, vi } from 'vitest';

export function captureOutput(options: { console?: boolean } = {}): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  beforeEach(() => {
    out.length = 0;
    err.length = 0;
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
    if (options.console) {
      vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
      vi.spyOn(console, 'warn').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
      vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return { out, err };
}
