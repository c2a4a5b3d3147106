import { describe, expect, it } from 'vitest';
import { createLogger, registerSecret } from '../../src/util/log.js';

describe('log scrubbing', () => {
  it('replaces a registered secret and its Basic-auth form in every line', () => {
    const secret = 'scrub-me-0123456789abcdef';
    registerSecret(secret);
    const lines: string[] = [];
    const log = createLogger((_l, line) => lines.push(line), { pool: 'aci' });
    log.error('call failed', {
      error: `401 with ${secret}`,
      header: `Basic ${Buffer.from(`:${secret}`).toString('base64')}`,
    });
    log.child({ token: secret }).info(`message ${secret}`);
    expect(lines.join('\n')).not.toContain(secret);
    expect(lines.join('\n')).not.toContain(Buffer.from(`:${secret}`).toString('base64'));
    expect(lines[0]).toContain('error="401 with ***"');
  });
});
