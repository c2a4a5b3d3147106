/**
 * The one secret redactor: every place that scrubs text (log lines, ARM errors, Azure DevOps
 * errors) goes through `redactSecrets` or a `SecretRedactor`.
 *
 * A service that echoes a credential rarely echoes all of it: it truncates, URL-encodes, or
 * echoes the Authorization header (Basic = base64 of "user:PAT"). So not only the whole secret is
 * removed but ANY run of `MIN_ECHO` (8) or more characters that also occurs in the secret or in
 * one of its encodings:
 *   - the secret itself and its URL (percent) encoding;
 *   - the base64 (and base64url) of `:secret` (Basic auth with an empty user, as the PAT is sent),
 *     and of the secret at each of the three byte alignments, so a fragment of the secret that was
 *     base64-encoded on its own is found wherever it started.
 * Method: every 8-character window of those forms goes into a set; every window of the text that
 * is in the set is marked; marked runs become "***". A run of 8+ characters of a form is the union
 * of its 8-character windows, so it is marked entirely, whatever its length and position.
 * The price is over-redaction: an 8-character stretch of ordinary text that also occurs in a
 * secret is hidden too (harmless for random PATs; choose passwords that are not words of logs).
 * Secrets shorter than 8 characters are removed only where they occur whole.
 * Whatever the secrets, `Bearer <token>` and `Basic <base64 of user:password>` values are removed.
 */

export const MIN_ECHO = 8;
const MASK = '***';
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi;
const BASIC = /\b(Basic\s+)([A-Za-z0-9+/]{6,}={0,2})(?![A-Za-z0-9+/=])/gi;

/** A Basic value is base64 of "user:password"; ordinary words after "Basic" are kept. */
function isBasicCredential(v: string): boolean {
  return v.length % 4 === 0 && Buffer.from(v, 'base64').toString('latin1').includes(':');
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64').replace(/=+$/, '');
}

/** The forms of a secret a service might echo (see the module comment). */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  try {
    forms.add(encodeURIComponent(secret));
  } catch {
    /* lone surrogate: no URL form */
  }
  for (const s of [`:${secret}`, secret, secret.slice(1), secret.slice(2)]) {
    const e = b64(s);
    forms.add(e);
    forms.add(e.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...forms];
}

/** Holds the secrets of one scope (the process-wide log scrubber, or one call's secrets). */
export class SecretRedactor {
  private readonly windows = new Set<string>();
  private readonly whole = new Set<string>();
  private readonly known = new Set<string>();

  constructor(secrets: Iterable<string> = []) {
    for (const s of secrets) this.add(s);
  }

  get empty(): boolean {
    return this.known.size === 0;
  }

  add(secret: string | undefined): void {
    if (!secret || this.known.has(secret)) return;
    this.known.add(secret);
    if (secret.length < MIN_ECHO) {
      this.whole.add(secret);
      return;
    }
    for (const form of secretForms(secret)) {
      for (let i = 0; i + MIN_ECHO <= form.length; i++) this.windows.add(form.slice(i, i + MIN_ECHO));
    }
  }

  redact(text: string): string {
    const marked = new Uint8Array(text.length);
    let any = false;
    if (this.windows.size > 0) {
      for (let i = 0; i + MIN_ECHO <= text.length; i++) {
        if (this.windows.has(text.slice(i, i + MIN_ECHO))) {
          marked.fill(1, i, i + MIN_ECHO);
          any = true;
        }
      }
    }
    for (const s of this.whole) {
      for (let at = text.indexOf(s); at >= 0; at = text.indexOf(s, at + s.length)) {
        marked.fill(1, at, at + s.length);
        any = true;
      }
    }
    let out = text;
    if (any) {
      out = '';
      for (let i = 0; i < text.length;) {
        if (marked[i]) {
          while (i < text.length && marked[i]) i++;
          out += MASK;
        } else {
          const start = i;
          while (i < text.length && !marked[i]) i++;
          out += text.slice(start, i);
        }
      }
    }
    return out
      .replace(BEARER, (_m, scheme: string) => `${scheme}${MASK}`)
      .replace(BASIC, (m, scheme: string, value: string) => (isBasicCredential(value) ? `${scheme}${MASK}` : m));
  }
}

const cache = new Map<string, SecretRedactor>();

/** Redacts `secrets` (and any 8+ character echo of them) from `text`. */
export function redactSecrets(text: string, secrets: Iterable<string | undefined>): string {
  const list = [...secrets].filter((s): s is string => !!s);
  const key = JSON.stringify(list);
  let r = cache.get(key);
  if (!r) {
    r = new SecretRedactor(list);
    if (cache.size >= 32) cache.delete(cache.keys().next().value as string);
    cache.set(key, r);
  }
  return r.redact(text);
}
