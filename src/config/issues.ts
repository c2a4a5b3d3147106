/**
 * Settings problems as one line each, the same in the app, the CLI and the simulator: the field as
 * `POOLS[0].standby[1].count`, an unrecognized key with the key it probably meant, JSON syntax
 * errors with where. Values are never echoed.
 */
import type { z } from 'zod';

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(settings)';
}

/** The keys an object schema at `path` below `schema` knows (array indexes step into elements). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let at: unknown = schema;
  const unwrap = () => {
    // optional, default, nullable, readonly, catch, pipe (transforms): the schema that checks the input.
    for (let i = 0; i < 20; i++) {
      const def = (at as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (!def) return;
      if (def.innerType) at = def.innerType;
      else if (def.type === 'pipe' && def.in) at = def.in;
      else return;
    }
  };
  for (const key of path) {
    unwrap();
    const def = (at as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return [];
    if (typeof key === 'number' && def.type === 'array') at = def.element;
    else if (typeof key === 'string' && def.type === 'object') at = (def.shape as Record<string, unknown>)[key];
    else return [];
  }
  unwrap();
  const def = (at as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  return def?.type === 'object' ? Object.keys(def.shape as Record<string, unknown>) : [];
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known key a mistyped one most probably meant: same letters in another case, or at most two edits away. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const sameCase = known.find((k) => k.toLowerCase() === lower);
  if (sameCase) return sameCase;
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(key.length / 3));
  for (const k of known) {
    const d = editDistance(lower, k.toLowerCase());
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}

/** One line per zod issue under `prefix` (e.g. ['POOLS']); unrecognized keys get a did-you-mean. */
export function issueLine(
  issue: z.core.$ZodIssue,
  schema: z.ZodType,
  prefix: readonly PropertyKey[] = [],
  message: string = issue.message,
): string[] {
  const where = formatPath([...prefix, ...issue.path]);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(schema, issue.path);
    return issue.keys.map((k) => {
      const guess = closestKey(k, known);
      return `${where}: unrecognized key "${k}"${guess ? ` (did you mean "${guess}"?)` : ''}`;
    });
  }
  return [`${where}: ${message}`];
}

/**
 * The offset of the first JSON syntax error in `text` (RFC 8259), or -1. JSON.parse on Node 20
 * names no position for an unexpected token ("Unexpected token '}', ... is not valid JSON").
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    i++;
    for (;;) {
      const ch = text[i];
      if (ch === undefined || ch < ' ') fail();
      if (ch === '"') return void i++;
      if (ch === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if ('"\\/bfnrt'.includes(text[i] ?? 'x')) i++;
        else fail();
      } else i++;
    }
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{' || ch === '[') {
      const close = ch === '{' ? '}' : ']';
      i++;
      ws();
      if (text[i] === close) return void i++;
      for (;;) {
        if (close === '}') {
          ws();
          if (text[i] !== '"') fail();
          string();
          ws();
          if (text[i] !== ':') fail();
          i++;
        }
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === close) return void i++;
        else fail();
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m) fail();
    i += m![0].length;
  };
  try {
    value();
    ws();
    return i < text.length ? i : -1;
  } catch (at) {
    return typeof at === 'number' ? at : -1;
  }
}

/** Where JSON parsing stopped, as "at position N: line L column C"; JSON.parse's message quotes
 * the input, so only the position is taken from it (or found by jsonErrorOffset). */
export function jsonErrorWhere(text: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : '';
  const m = /position (\d+)/.exec(msg);
  const pos = m ? Number(m[1]) : jsonErrorOffset(text);
  if (pos < 0) return '';
  if (pos >= text.length) return 'the text ends early: a bracket, brace or quote is not closed';
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return `at position ${pos}: line ${line} column ${column}`;
}
