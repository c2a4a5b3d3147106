import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { base, pool, problems } from '../helpers/settings.js';

const CANARY = 'canarypat0123456789abcdefghijklmnopqrstuvwxyz0123';

describe('settings', () => {
  it('parses a minimal configuration with defaults', () => {
    const s = loadSettings(base);
    expect(s.AZP_URL).toBe('https://dev.azure.com/contoso');
    expect(s.AZP_AUTH).toBe('pat');
    expect(s.ARM_ENDPOINT).toBe('https://management.azure.com');
    expect(s.SCALE_SCHEDULE).toBe('0 */1 * * * *');
    expect(s.DRY_RUN).toBe(false);
    expect(s.POOLS[0]).toMatchObject({
      name: 'linux',
      maxAgents: 10,
      minAgents: 0,
      cpu: 2,
      memoryGb: 4,
      os: 'Linux',
      matchMode: 'subset',
      timeZone: 'UTC',
      placeholder: true,
    });
  });

  it('accepts a Server collection URL and trims the trailing slash', () => {
    expect(loadSettings({ ...base, AZP_URL: 'https://tfs.contoso.local/tfs/DefaultCollection/' }).AZP_URL).toBe(
      'https://tfs.contoso.local/tfs/DefaultCollection',
    );
  });

  it('refuses two spellings of one pool (Azure DevOps pool names ignore case), naming both settings', () => {
    const two = [pool, { ...pool, name: 'java', pool: 'ACI' }];
    expect(problems({ ...base, POOLS: JSON.stringify(two) })).toEqual([
      "POOLS[1].pool: 'ACI' and POOLS[0].pool 'aci' name the same Azure DevOps pool (pool names ignore case): spell it one way",
    ]);
    // One spelling, several profiles: fine.
    expect(loadSettings({ ...base, POOLS: JSON.stringify([pool, { ...pool, name: 'java' }]) }).POOLS).toHaveLength(2);
  });

  it('names the setting and the problem', () => {
    expect(problems({ ...base, AZP_URL: 'ftp://x' })).toEqual([
      expect.stringMatching(/^AZP_URL: must be an https URL/),
    ]);
    expect(problems({ ...base, AZP_AUTH: 'basic' })).toEqual(["AZP_AUTH: must be 'pat' or 'entra'"]);
    expect(problems({ ...base, DRY_RUN: 'maybe' })).toEqual(['DRY_RUN: must be true or false']);
    expect(problems({ ...base, POOLS: JSON.stringify([{ ...pool, maxAgents: -1 }]) })).toEqual([
      'POOLS[0].maxAgents: must be at least 0',
      'POOLS[0].minAgents: must not exceed maxAgents',
    ]);
    expect(problems({ ...base, POOLS: JSON.stringify([{ ...pool, timeZone: 'Mars/Olympus' }]) })).toEqual([
      expect.stringMatching(/^POOLS\[0\]\.timeZone: must be an IANA time zone/),
    ]);
    expect(
      problems({ ...base, POOLS: JSON.stringify([{ ...pool, standby: [{ start: '8:00', end: '18:00', count: 1 }] }]) }),
    ).toEqual(['POOLS[0].standby[0].start: must be HH:MM (24h)']);
    expect(problems({ ...base, POOLS: JSON.stringify([{ ...pool, env: { AZP_TOKEN: 'x' } }]) })).toEqual([
      'POOLS[0].env.AZP_TOKEN: is not allowed: AZP_* names belong to the agent image and the autoscaler',
    ]);
    expect(problems({ ...base, POOLS: JSON.stringify([{ ...pool, colour: 'red' }]) })).toEqual([
      expect.stringMatching(/^POOLS\[0\]: .*colour/),
    ]);
    expect(problems({ ...base, POOLS: JSON.stringify([pool, pool]) })).toEqual([
      "POOLS[1].name: duplicate profile name 'linux'",
    ]);
  });

  it('an unresolved Key Vault reference disables the webhook, with a warning, and never becomes the password', () => {
    const ref = '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/webhook-password/)';
    const warnings: string[] = [];
    const s = loadSettings(
      { ...base, WEBHOOK_USERNAME: 'hook', WEBHOOK_PASSWORD: ref },
      { onWarning: (w) => warnings.push(w) },
    );
    expect(s.WEBHOOK_PASSWORD).toBeUndefined();
    expect(s.WEBHOOK_USERNAME).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/^WEBHOOK_PASSWORD: the Key Vault reference did not resolve/)]);
  });

  it('reports every problem at once', () => {
    const p = problems(
      {
        AZP_URL: 'nope',
        AZP_AUTH: 'x',
        WEBHOOK_USERNAME: 'hook',
        POOLS: JSON.stringify([{ name: 'Bad Name', pool: '' }]),
      },
      { requireAzure: true },
    );
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^AZP_URL:/),
        expect.stringMatching(/^AZP_AUTH:/),
        expect.stringMatching(/^WEBHOOK_PASSWORD: WEBHOOK_USERNAME and WEBHOOK_PASSWORD must be set together/),
        expect.stringMatching(/^POOLS\[0\]\.name:/),
        expect.stringMatching(/^POOLS\[0\]\.pool: is required/),
        'POOLS[0].image: is required',
        'KEY_VAULT_URL: is required to run against Azure',
        'AZURE_SUBSCRIPTION_ID: is required to run against Azure',
        'ACI_RESOURCE_GROUP: is required to run against Azure',
        'ACI_LOCATION: is required to run against Azure',
      ]),
    );
    expect(p.length).toBeGreaterThanOrEqual(10);
  });

  it('requires POOLS or POOLS_FILE, not both, and reads POOLS_FILE', () => {
    expect(problems({ AZP_URL: base.AZP_URL })).toEqual([
      'POOLS: is required (a JSON array of pool profiles), or set POOLS_FILE',
    ]);
    expect(problems({ ...base, POOLS_FILE: '/x.json' }, { readFile: () => '[]' })).toContain(
      'POOLS_FILE: set either POOLS or POOLS_FILE, not both',
    );
    const s = loadSettings(
      { AZP_URL: base.AZP_URL, POOLS_FILE: '/etc/pools.json' },
      { readFile: () => JSON.stringify([pool]) },
    );
    expect(s.POOLS).toHaveLength(1);
    const missing = problems(
      { AZP_URL: base.AZP_URL, POOLS_FILE: '/nope.json' },
      {
        readFile: () => {
          throw Object.assign(new Error('ENOENT: /nope.json'), { code: 'ENOENT' });
        },
      },
    );
    expect(missing).toEqual(['POOLS_FILE: cannot read the file (ENOENT)']);
  });

  it('never echoes a secret-looking value, wherever it was put', () => {
    const env = {
      AZP_URL: CANARY,
      AZP_AUTH: CANARY,
      KEY_VAULT_URL: CANARY,
      AZURE_SUBSCRIPTION_ID: CANARY,
      AZURE_CLIENT_ID: CANARY,
      DRY_RUN: CANARY,
      SCALE_SCHEDULE: CANARY,
      WEBHOOK_PASSWORD: 'short',
      AGENT_NAME_PREFIX: CANARY,
      POOLS: `[{"name":"linux","pool":"aci","image":"x","cpu":"${CANARY}","os":"${CANARY}","matchMode":"${CANARY}"}]`,
    };
    let message = '';
    try {
      loadSettings(env, { requireAzure: true });
    } catch (err) {
      message = `${(err as Error).message}\n${JSON.stringify(err)}`;
    }
    expect(message).toContain('AZP_URL');
    expect(message).toContain('POOLS[0].cpu');
    expect(message).not.toContain(CANARY);
    expect(message).not.toContain('short');
    // A PAT pasted into POOLS by mistake: the JSON error gives a position, not the text.
    const bad = problems({ AZP_URL: base.AZP_URL, POOLS: CANARY });
    expect(bad).toEqual([expect.stringMatching(/^POOLS: is not valid JSON/)]);
    expect(bad.join()).not.toContain(CANARY);
  });
});

describe('Windows profiles (ACI limits for Windows container groups)', () => {
  const SUBNET = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/aci';
  const win = (over: Record<string, unknown>) => ({
    ...base,
    POOLS: JSON.stringify([{ ...pool, name: 'win', os: 'Windows', ...over }]),
  });

  it('accepts the largest Windows group ACI deploys (4 CPU, 16 GB)', () => {
    expect(loadSettings(win({ cpu: 4, memoryGb: 16 })).POOLS[0]).toMatchObject({ os: 'Windows', cpu: 4, memoryGb: 16 });
  });

  it('refuses sizes beyond it, a subnet and Spot, all at once', () => {
    expect(problems(win({ cpu: 8, memoryGb: 32, subnetId: SUBNET, spot: true }))).toEqual([
      "POOLS[0].cpu: must be at most 4 for Windows (ACI's Windows limit)",
      "POOLS[0].memoryGb: must be at most 16 for Windows (ACI's Windows limit)",
      'POOLS[0].subnetId: ACI cannot place Windows containers in a virtual network',
      'POOLS[0].spot: Spot containers support Linux only',
      'POOLS[0].spot: Spot containers cannot join a virtual network (subnetId)',
    ]);
  });

  it('keeps the larger sizes and the subnet for Linux', () => {
    const s = loadSettings({ ...base, POOLS: JSON.stringify([{ ...pool, cpu: 8, memoryGb: 32, subnetId: SUBNET }]) });
    expect(s.POOLS[0]).toMatchObject({ os: 'Linux', cpu: 8, memoryGb: 32, subnetId: SUBNET });
  });
});

describe('AzureWebJobsStorage settings', () => {
  it('reads the identity-based form infra/ deploys, and the storage adapter builds the lease from it', async () => {
    const { blobPoolLock, hasStorage } = await import('../../src/storage/index.js');
    const { memoryLogger } = await import('../../src/util/log.js');
    const s = loadSettings({
      ...base,
      AzureWebJobsStorage__accountName: 'stabcdefghijklm',
      AzureWebJobsStorage__blobServiceUri: 'https://stabcdefghijklm.blob.core.windows.net/',
      AzureWebJobsStorage__queueServiceUri: 'https://stabcdefghijklm.queue.core.windows.net/',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000002',
    });
    expect(s.AzureWebJobsStorage__blobServiceUri).toBe('https://stabcdefghijklm.blob.core.windows.net');
    expect(hasStorage(s)).toBe(true);
    expect(hasStorage(loadSettings(base))).toBe(false);
    expect(blobPoolLock(s, memoryLogger()).container.url).toBe(
      'https://stabcdefghijklm.blob.core.windows.net/azp-autoscaler-locks',
    );
    const byName = loadSettings({ ...base, AzureWebJobsStorage__accountName: 'stother' });
    expect(blobPoolLock(byName, memoryLogger()).container.url).toBe(
      'https://stother.blob.core.windows.net/azp-autoscaler-locks',
    );
  });

  it('refuses what cannot name a storage account, naming the setting and never the value', () => {
    const p = problems({
      ...base,
      AzureWebJobsStorage__accountName: 'Not_An_Account',
      AzureWebJobsStorage__blobServiceUri: 'http://stabc.blob.core.windows.net',
      AzureWebJobsStorage__clientId: 'not-a-guid',
    });
    expect(p.map((x) => x.split(':')[0])).toEqual([
      'AzureWebJobsStorage__accountName',
      'AzureWebJobsStorage__blobServiceUri',
      'AzureWebJobsStorage__clientId',
    ]);
    expect(p.join('\n')).not.toContain('Not_An_Account');
  });
});
