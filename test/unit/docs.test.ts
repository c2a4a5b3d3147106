import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSettings } from '../../src/config/load.js';
import { profileSchema, settingsSchema } from '../../src/config/schema.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const sample = JSON.parse(readFileSync(new URL('../../local.settings.sample.json', import.meta.url), 'utf8')) as {
  Values: Record<string, string>;
};

describe('docs match the code', () => {
  it('the README documents every setting and every profile field', () => {
    const settings = [...Object.keys(settingsSchema.shape), 'POOLS_FILE'];
    const fields = Object.keys(profileSchema.shape);
    const missing = [...settings, ...fields].filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });

  it('local.settings.sample.json names every setting (storage by connection string, not the identity-based form)', () => {
    const missing = Object.keys(settingsSchema.shape).filter(
      (k) => !(k in sample.Values) && !k.startsWith('AzureWebJobsStorage__'),
    );
    expect(missing).toEqual([]);
  });

  it('the sample refuses to run until its placeholders are replaced, and says which', () => {
    let problems: string[] = [];
    try {
      loadSettings(sample.Values, { requireAzure: true });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([
      'AZP_URL: replace the placeholder with your organization URL',
      'KEY_VAULT_URL: replace the placeholder with your Key Vault URL',
      'AZURE_SUBSCRIPTION_ID: replace the placeholder with your subscription id',
      'WEBHOOK_PASSWORD: replace the placeholder with a long random value (e.g. openssl rand -base64 32)',
      'POOLS[0].image: replace the placeholder with your agent image reference',
    ]);
  });

  it('the sample, placeholders replaced, parses as an Azure configuration that acts (not a dry run)', () => {
    const filled = {
      ...sample.Values,
      AZP_URL: sample.Values.AZP_URL!.replace('YOUR-ORG', 'contoso'),
      KEY_VAULT_URL: sample.Values.KEY_VAULT_URL!.replace('YOUR-VAULT', 'kv-contoso'),
      AZURE_SUBSCRIPTION_ID: '3f2504e0-4f89-41d3-9a0c-0305e82c3301',
      WEBHOOK_PASSWORD: 'k3Jd8s0Lq2Zx9Vb4Nm7Tr1Wy',
      POOLS: sample.Values.POOLS!.replace('YOUR-ACR', 'contosoacr'),
    };
    const s = loadSettings(filled, { requireAzure: true });
    expect(s.POOLS[0]).toMatchObject({ name: 'linux', image: 'contosoacr.azurecr.io/azp-agent:4.269.0' });
    // The README's `reconcile` is "one real pass": the sample must not turn it into a dry run.
    expect(s.DRY_RUN).toBe(false);
    expect(readme).toMatch(/reconcile +# one real pass/);
  });
});
