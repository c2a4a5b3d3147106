import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { profileSchema, settingsSchema } from '../../src/config/schema.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const sample = JSON.parse(readFileSync(new URL('../../local.settings.sample.json', import.meta.url), 'utf8')) as { Values: Record<string, string> };

describe('docs match the code', () => {
  it('the README documents every setting and every profile field', () => {
    const settings = [...Object.keys(settingsSchema.shape), 'POOLS_FILE'];
    const fields = Object.keys(profileSchema.shape);
    const missing = [...settings, ...fields].filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });

  it('local.settings.sample.json names every setting and parses as an Azure configuration', () => {
    const missing = Object.keys(settingsSchema.shape).filter((k) => !(k in sample.Values));
    expect(missing).toEqual([]);
    const s = loadSettings(sample.Values, { requireAzure: true });
    expect(s.POOLS[0]!.name).toBe('linux');
    expect(s.DRY_RUN).toBe(true);
  });
});
