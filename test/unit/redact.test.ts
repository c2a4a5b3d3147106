/**
 * Secret redaction: a partial echo of a secret (8+ characters of it, anywhere in the secret, also
 * URL-encoded or inside the base64 of a Basic-auth header) never survives any of the places that
 * scrub text: the log scrubber, ARM error classification and the Azure DevOps client (the last one
 * is exercised end to end in test/integration/azdo-client.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { classifyArmError } from '../../src/aci/errors.js';
import { errorText, memoryLogger, registerSecret, scrub } from '../../src/util/log.js';
import { redactSecrets } from '../../src/util/redact.js';

// Canary values (test/setup/canary-guard.ts fails the file if one reaches the output).
const PAT = `canarypat${'q7Lm2Xv9'.repeat(6)}`;
const PASSWORD = 'canary-secret-Ab+/=&?% pw!';

/** Every partial echo a real error could carry, each at least 8 characters long. */
function echoes(secret: string): Record<string, string> {
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  const basic = b64(`:${secret}`);
  const out: Record<string, string> = {
    start: secret.slice(0, 8),
    startLong: secret.slice(0, 20),
    middle: secret.slice(9, 17),
    end: secret.slice(-8),
    urlEncodedMiddle: encodeURIComponent(secret.slice(6, 20)),
    basicHeaderStart: basic.slice(0, 12),
    basicHeaderMiddle: basic.slice(10, 30),
    basicHeaderEnd: basic.slice(-10),
    base64url: basic.slice(4, 24).replace(/\+/g, '-').replace(/\//g, '_'),
  };
  // A fragment of the secret base64-encoded on its own, at each of the three byte alignments.
  for (const at of [3, 4, 5]) out[`base64Fragment${at}`] = b64(secret.slice(at, at + 12)); // 12 bytes → 16 chars, no padding
  return out;
}

/** True when any 8-character window of `fragment` is still in `text`. */
function leaks(text: string, fragment: string): boolean {
  for (let i = 0; i + 8 <= fragment.length; i++) if (text.includes(fragment.slice(i, i + 8))) return true;
  return false;
}

function expectRedacted(text: string, secret: string): void {
  for (const [where, fragment] of Object.entries(echoes(secret))) {
    expect(fragment.length, where).toBeGreaterThanOrEqual(8);
    expect(leaks(text, fragment), `${where} echo survived`).toBe(false);
  }
}

function echoLine(secret: string): string {
  return Object.entries(echoes(secret))
    .map(([k, v]) => `${k}=[${v}]`)
    .join(' ');
}

describe('redactSecrets', () => {
  it.each([
    ['a PAT', PAT],
    ['a password with URL-special characters', PASSWORD],
  ])('removes every 8+ character echo of %s, in any encoding', (_what, secret) => {
    expectRedacted(redactSecrets(`TF400813: ${echoLine(secret)} end`, [secret]), secret);
  });

  it('keeps the text around a redaction and text that shares fewer than 8 characters with a secret', () => {
    const out = redactSecrets(`TF400813: token ${PAT.slice(3, 40)} rejected; q7Lm2Xv is 7 chars`, [PAT]);
    expect(out).toBe('TF400813: token *** rejected; q7Lm2Xv is 7 chars');
  });

  it('redacts short secrets (under 8 characters) only as a whole', () => {
    expect(redactSecrets('a abc123 b abc12', ['abc123'])).toBe('a *** b abc12');
  });

  it('redacts bearer and basic credentials whatever their value', () => {
    expect(redactSecrets('sent Bearer eyJhbGciOi.eyJzdWIi.sig and basic QWxhZGRpbjpvcGVu', [])).toBe(
      'sent Bearer *** and basic ***',
    );
    expect(redactSecrets('Basic authentication is off', [])).toBe('Basic authentication is off');
  });
});

describe('every place that scrubs text uses it', () => {
  it('the log scrubber (registered secrets): lines and errorText', () => {
    registerSecret(PAT);
    registerSecret(PASSWORD);
    const log = memoryLogger();
    log.error('azdo said', { message: echoLine(PAT), other: echoLine(PASSWORD) });
    for (const s of [PAT, PASSWORD]) {
      expectRedacted(log.lines.join('\n'), s);
      expectRedacted(scrub(echoLine(s)), s);
      expectRedacted(errorText(new Error(echoLine(s))), s);
    }
  });

  it('ARM error classification', () => {
    const body = { error: { code: 'InvalidRequestContent', message: `bad value: ${echoLine(PAT)}` } };
    const raw = Object.assign(new Error(body.error.message), {
      name: 'RestError',
      statusCode: 400,
      response: { status: 400, headers: { get: () => undefined }, parsedBody: body },
    });
    const err = classifyArmError(raw, { operation: 'create', target: 'azp-linux-x', secrets: [PAT] });
    expect(err.kind).toBe('validation');
    expect(err.message).toContain('create azp-linux-x');
    expectRedacted(err.message, PAT);
  });
});
