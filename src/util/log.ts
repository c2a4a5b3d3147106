/**
 * Structured logging with persistent keys (child loggers) and secret scrubbing: every value
 * registered with `registerSecret`, and any 8+ character echo of it, is replaced by "***" in every
 * line, whatever the caller passed.
 */
import type { Logger } from '../ports/index.js';
import { SecretRedactor } from './redact.js';

const secrets = new SecretRedactor();

/**
 * Register a secret value (PAT, password) so no log line can carry it, nor any 8+ character
 * piece of it, plain, URL-encoded or base64 (Basic auth) — see src/util/redact.ts. Short values
 * are ignored.
 */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 6) secrets.add(value);
}

export function scrub(text: string): string {
  return secrets.redact(text);
}

export type LogLevel = 'info' | 'warn' | 'error';
export type LogSink = (level: LogLevel, line: string) => void;

function render(msg: string, fields: Record<string, unknown>): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return scrub(parts.length ? `${msg} ${parts.join(' ')}` : msg);
}

export function createLogger(sink: LogSink, base: Record<string, unknown> = {}): Logger {
  const emit = (level: LogLevel) => (msg: string, fields?: Record<string, unknown>) =>
    sink(level, render(msg, { ...base, ...fields }));
  return {
    info: emit('info'),
    warn: emit('warn'),
    error: emit('error'),
    child: (fields) => createLogger(sink, { ...base, ...fields }),
  };
}

export const consoleSink: LogSink = (level, line) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
};

/** A logger that keeps lines in memory (tests, status output). */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger((level, line) => lines.push(`${level} ${line}`));
  return Object.assign(logger, { lines });
}

/** Error text safe for logs: message only (scrubbed), never request headers or bodies. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return scrub(`${err.name}: ${err.message}`);
  return scrub(String(err));
}
