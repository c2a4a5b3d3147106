/**
 * Suite-wide secret guard: every test file's console and stdout/stderr output is recorded, and
 * the file fails if any of it carries a canary secret (the tests' PATs, bearer tokens and secret
 * values all follow the `canary-pat…` / `canarypat…` / `canary-token…` / `canary-secret…` naming).
 */
import { afterAll } from 'vitest';

const CANARY = /canary-?(?:pat|token|secret)[-_a-z0-9]*/i;
const leaks: string[] = [];

function check(chunk: unknown): void {
  const text =
    typeof chunk === 'string'
      ? chunk
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk).toString('utf8')
        : String(chunk);
  const m = CANARY.exec(text);
  if (m) leaks.push(text.slice(Math.max(0, m.index - 80), m.index) + '<CANARY>');
}

for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[method].bind(console);
  console[method] = (...args: unknown[]) => {
    for (const a of args)
      check(a instanceof Error ? `${a.message}\n${a.stack ?? ''}` : typeof a === 'object' ? safeJson(a) : a);
    original(...args);
  };
}
for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (...a: unknown[]) => boolean;
  (stream as { write: (...a: unknown[]) => boolean }).write = (...args: unknown[]) => {
    check(args[0]);
    return original(...args);
  };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return String(v);
  }
}

afterAll(() => {
  if (leaks.length > 0)
    throw new Error(`a canary secret reached the log output ${leaks.length} time(s); first: …${leaks[0]}`);
});
