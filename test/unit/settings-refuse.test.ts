/**
 * Settings refuse nonsense: no type coercion, image references by the
 * distribution/reference grammar, SCALE_SCHEDULE as the Functions host's NCRONTAB, profile env names
 * by an allow-list pattern and a deny list, placeholders of the sample. Each refusal names the setting
 * and never echoes the value.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { base, pool, problems } from '../helpers/settings.js';
import { imageReferenceProblem } from '../../src/config/image-ref.js';
import { ncrontabProblem } from '../../src/config/ncrontab.js';
import { agentEnvNameProblem } from '../../src/config/agent-env.js';

const CANARY = 'canarypat0123456789abcdefghijklmnopqrstuvwxyz0123';
const withProfile = (over: Record<string, unknown>) => ({ ...base, POOLS: JSON.stringify([{ ...pool, ...over }]) });
const HEX64 = '0123456789abcdef'.repeat(4);

describe('numbers and booleans are JSON numbers and booleans (no coercion)', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['maxAgents true', { maxAgents: true }, 'POOLS[0].maxAgents: must be a number'],
    ['maxAgents null', { maxAgents: null }, 'POOLS[0].maxAgents: must be a number'],
    ['maxAgents [5]', { maxAgents: [5] }, 'POOLS[0].maxAgents: must be a number'],
    ['maxAgents "1e3"', { maxAgents: '1e3' }, 'POOLS[0].maxAgents: must be a JSON number, not text'],
    ['maxAgents "5"', { maxAgents: '5' }, 'POOLS[0].maxAgents: must be a JSON number, not text'],
    ['maxAgents 2.5', { maxAgents: 2.5 }, 'POOLS[0].maxAgents: must be a whole number'],
    ['minAgents false', { minAgents: false }, 'POOLS[0].minAgents: must be a number'],
    ['bootTimeoutSec ""', { bootTimeoutSec: '' }, 'POOLS[0].bootTimeoutSec: must be a JSON number, not text'],
    ['cpu "0x2"', { cpu: '0x2' }, 'POOLS[0].cpu: must be a JSON number, not text'],
    ['cpu "2"', { cpu: '2' }, 'POOLS[0].cpu: must be a JSON number, not text'],
    ['cpu true', { cpu: true }, 'POOLS[0].cpu: must be a number'],
    ['memoryGb [4]', { memoryGb: [4] }, 'POOLS[0].memoryGb: must be a number'],
    [
      'standby day "1"',
      { standby: [{ days: ['1'], start: '08:00', end: '18:00', count: 1 }] },
      'POOLS[0].standby[0].days[0]: must be a JSON number, not text',
    ],
    [
      'standby count null',
      { standby: [{ start: '08:00', end: '18:00', count: null }] },
      'POOLS[0].standby[0].count: must be a number',
    ],
    ['spot "true"', { spot: 'true' }, 'POOLS[0].spot: must be true or false (a JSON boolean)'],
    ['placeholder 1', { placeholder: 1 }, 'POOLS[0].placeholder: must be true or false (a JSON boolean)'],
    ['caseSensitive null', { caseSensitive: null }, 'POOLS[0].caseSensitive: must be true or false (a JSON boolean)'],
    ['an env value 5', { env: { JAVA_HOME: 5 } }, 'POOLS[0].env.JAVA_HOME: env values must be text'],
    ['image 5', { image: 5 }, 'POOLS[0].image: must be text'],
  ])('%s', (_, over, expected) => {
    expect(problems(withProfile(over))).toEqual([expected]);
  });

  it('still takes JSON numbers, including fractions where they make sense', () => {
    expect(loadSettings(withProfile({ maxAgents: 3, cpu: 0.5, memoryGb: 1.5 })).POOLS[0]).toMatchObject({
      maxAgents: 3,
      cpu: 0.5,
      memoryGb: 1.5,
    });
  });
});

describe('image references (distribution/reference grammar)', () => {
  it.each([
    'example.azurecr.io/agent:1',
    'ubuntu',
    'library/ubuntu:24.04',
    'localhost:5000/team/agent:4.269.0',
    'MyAcr.azurecr.io/azp-agent:4.269.0', // the registry host may have capitals, the repository not
    `myacr.azurecr.io/azp-agent@sha256:${HEX64}`,
    `myacr.azurecr.io/azp-agent:4.269.0@sha256:${HEX64}`,
    '[::1]:5000/agent',
    'a/b__c/d-----e.f:Tag_1.0-rc',
  ])('accepts %s', (ref) => {
    expect(imageReferenceProblem(ref)).toBeUndefined();
    expect(loadSettings(withProfile({ image: ref })).POOLS[0]!.image).toBe(ref);
  });

  it.each<[string, string, RegExp]>([
    ['a space', 'example.azurecr.io/agent :1', /no spaces or line breaks/],
    ['a newline', 'example.azurecr.io/agent:1\nFROM evil', /no spaces or line breaks/],
    ['a tab inside', 'example.azurecr.io/\tagent', /no spaces or line breaks/],
    ['an upper-case repository', 'example.azurecr.io/Agent:1', /repository must be lowercase/],
    ['an empty tag', 'agent:', /^must be an image reference/],
    ['only a tag', ':1', /^must be an image reference/],
    ['a tag starting with -', 'agent:-1', /^must be an image reference/],
    ['a 129-character tag', `agent:${'t'.repeat(129)}`, /^must be an image reference/],
    ['a URL', 'https://example.azurecr.io/agent:1', /^must be an image reference/],
    ['a trailing slash', 'example.azurecr.io/agent/', /^must be an image reference/],
    ['two dots', 'example.azurecr.io/a..b', /^must be an image reference/],
    ['a name over 255 characters', `example.azurecr.io/${'a'.repeat(240)}`, /longer than 255/],
    ['a short sha256', 'agent@sha256:abc', /^must be an image reference/],
    ['a sha256 of 40 digits', `agent@sha256:${'a'.repeat(40)}`, /sha256 digest is 64 lowercase hex/],
    ['an upper-case digest', `agent@sha256:${HEX64.toUpperCase()}`, /sha256 digest is 64 lowercase hex/],
    ['an unknown digest algorithm', `agent@md5:${'a'.repeat(32)}`, /sha256, sha384 or sha512/],
  ])('refuses %s', (_, ref, message) => {
    expect(imageReferenceProblem(ref)).toMatch(message);
    expect(problems(withProfile({ image: ref }))).toEqual([`POOLS[0].image: ${imageReferenceProblem(ref)!}`]);
  });

  it('never echoes the reference', () => {
    const p = problems(withProfile({ image: `example.azurecr.io/agent:1 ${CANARY}` }));
    expect(p).toEqual([expect.stringMatching(/^POOLS\[0\]\.image: must be an image reference/)]);
    expect(p.join()).not.toContain(CANARY);
  });

  it('refuses a registry server that is not a host', () => {
    const identity =
      '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull';
    expect(problems(withProfile({ registry: { server: 'https://myacr.azurecr.io', identity } }))).toEqual([
      'POOLS[0].registry.server: must be a registry host[:port], e.g. myacr.azurecr.io',
    ]);
    expect(
      loadSettings(withProfile({ registry: { server: 'myacr.azurecr.io', identity } })).POOLS[0]!.registry?.server,
    ).toBe('myacr.azurecr.io');
  });
});

describe('SCALE_SCHEDULE: NCRONTAB as the Functions host reads it (6 fields, NCrontab)', () => {
  it.each([
    '0 */1 * * * *',
    '0 30 9 * * 1-5',
    '0 */5 * * * *',
    '0 0 */2 * * *',
    '0 0 9-17 * * *',
    '0 30 9 * Jan Mon', // the Functions docs' example with names
    '0 0 0 * * Sunday', // NCrontab takes any prefix of the name
    '0 0 0 * * sat',
    '0 0 0 1,15 * *',
    '*/10 * * * * *',
    '5/10 * * * * *', // n/step: from n to the maximum
    '0  0  *  *  *  *', // NCrontab drops empty entries
  ])('accepts %j', (schedule) => {
    expect(ncrontabProblem(schedule)).toBeUndefined();
    expect(loadSettings({ ...base, SCALE_SCHEDULE: schedule }).SCALE_SCHEDULE).toBe(schedule);
  });

  it.each<[string, string, string]>([
    ['letters', 'a b c d e f', 'field 1 (second) must be numbers with * , - /'],
    ['5 fields (crontab without seconds)', '*/5 * * * *', 'with 6 fields, not 5'],
    ['7 fields (a year)', '0 0 0 * * * 2030', 'with 6 fields, not 7'],
    ['Quartz L', '0 0 0 L * *', 'field 4 (day) must be numbers with * , - /'],
    ['Quartz ?', '0 0 0 ? * *', 'only digits, month/weekday names'],
    ['Quartz #', '0 0 0 * * 1#2', 'only digits, month/weekday names'],
    ['weekday 7', '0 0 0 * * 7', 'field 6 (day of week) must be 0-6'],
    ['an unknown weekday', '0 0 0 * * Funday', 'field 6 (day of week) has an unknown weekday name'],
    ['an unknown month', '0 0 0 * Smarch *', 'field 5 (month) has an unknown month name'],
    ['minute 60', '0 60 * * * *', 'field 2 (minute) must stay within 0-59'],
    ['day 0', '0 0 0 0 * *', 'field 4 (day) must stay within 1-31'],
    ['month 13', '0 0 0 * 13 *', 'field 5 (month) must stay within 1-12'],
    ['a zero step', '0 */0 * * * *', 'field 2 (minute) must stay within'],
    ['a backwards range', '0 5-1 * * * *', 'field 2 (minute) must stay within'],
    ['a three-ended range', '0 1-2-3 * * * *', 'field 2 (minute) has a range with more than two ends'],
    ['an empty list item', '0 1,,2 * * * *', 'field 2 (minute) must be a list of *, n or n-m'],
    ['a TimeSpan', '00:05:00', 'TimeSpan schedules run only on App Service plans'],
    ['a tab', '0\t*/5 * * * *', 'only digits, month/weekday names'],
    ['a trailing newline', '0 */5 * * * *\n', 'only digits, month/weekday names'],
  ])('refuses %s', (_, schedule, message) => {
    const p = problems({ ...base, SCALE_SCHEDULE: schedule });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^SCALE_SCHEDULE: /);
    expect(p[0]).toContain(message);
  });

  it('never echoes the schedule', () => {
    const p = problems({ ...base, SCALE_SCHEDULE: `0 ${CANARY} * * * *` });
    expect(p).toEqual([expect.stringMatching(/^SCALE_SCHEDULE: field 2 \(minute\)/)]);
    expect(p.join()).not.toContain(CANARY);
  });
});

describe('profile env names: allow-list pattern, then a deny list', () => {
  it.each([
    ['AZP_AUTH', /AZP_\* names belong to the agent image/],
    ['AZP_HOME', /AZP_\*/],
    ['AZP_AGENT_DIR', /AZP_\*/],
    ['AZP_AGENT_PACKAGE_URL', /AZP_\*/],
    ['AZP_TOKEN', /AZP_\*/],
    ['azp_url', /AZP_\*/],
    ['VSO_AGENT_IGNORE', /VSO_\* names configure the Azure Pipelines agent/],
    ['VSTS_AGENT_INPUT_POOL', /VSTS_\*/],
    ['VSTS_AGENT_HTTPTRACE', /VSTS_\*/],
    ['BASH_ENV', /BASH_\* names change how the loader, shell or agent runtime starts/],
    ['LD_PRELOAD', /LD_\*/],
    ['LD_LIBRARY_PATH', /LD_\*/],
    ['DYLD_INSERT_LIBRARIES', /DYLD_\*/],
    ['CORECLR_PROFILER_PATH', /CORECLR_\*/],
    ['COR_ENABLE_PROFILING', /COR_\*/],
    ['DOTNET_STARTUP_HOOKS', /changes what the agent image runs/],
    ['NODE_OPTIONS', /changes what the agent image runs/],
    ['ENV', /changes what the agent image runs/],
    ['PROMPT_COMMAND', /changes what the agent image runs/],
    ['PATH', /changes what the agent image runs/],
    ['Path', /changes what the agent image runs/],
    ['HOSTNAME', /changes what the agent image runs/],
    ['SystemRoot', /changes what the agent image runs/],
    ['ComSpec', /changes what the agent image runs/],
  ])('refuses %s, naming it', (name, message) => {
    expect(agentEnvNameProblem(name)).toMatch(message);
    const p = problems(withProfile({ env: { [name]: 'x' } }));
    expect(p).toEqual([expect.stringMatching(new RegExp(`^POOLS\\[0\\]\\.env\\.${name}: is not allowed`))]);
  });

  it.each([
    ['a leading underscore', '_JAVA_OPTIONS'],
    ['a leading digit', '1JAVA'],
    ['a hyphen', 'JAVA-HOME'],
    ['a bash function export', 'BASH_FUNC_x%%'],
    ['an empty name', ''],
    ['129 characters', `A${'B'.repeat(128)}`],
    ['a pasted secret', CANARY.replace('0', '-')],
  ])('refuses %s without printing the name', (_, name) => {
    const p = problems(withProfile({ env: { [name]: 'x' } }));
    expect(p).toEqual([
      'POOLS[0].env: names must start with a letter and use only letters, digits and _ (at most 128)',
    ]);
  });

  it.each([
    'JAVA_HOME',
    'java',
    'docker',
    'MAVEN_OPTS',
    'HTTPS_PROXY',
    'no_proxy',
    'AGENT_TOOLSDIRECTORY',
    'NODE_EXTRA_CA_CERTS',
    `A${'B'.repeat(127)}`,
  ])('accepts %s', (name) => {
    expect(agentEnvNameProblem(name)).toBeUndefined();
    expect(loadSettings(withProfile({ env: { [name]: 'v' } })).POOLS[0]!.env).toEqual({ [name]: 'v' });
  });

  it('refuses every variable the image start scripts read from the environment (start.sh, start.ps1)', () => {
    const sh = readFileSync(new URL('../../infra/agent/start.sh', import.meta.url), 'utf8');
    const ps1 = readFileSync(new URL('../../infra/agent/windows/start.ps1', import.meta.url), 'utf8');
    // PowerShell: every $env:NAME / ${env:NAME}.
    const fromPs1 = [...ps1.matchAll(/\$\{?env:([A-Za-z_][A-Za-z0-9_]*)/gi)].map((m) => m[1]!);
    // bash: a variable read before the script gives it a value (or never given one) comes from the
    // environment. `X="${X:-default}"` reads X on the line that assigns it; `local`, `for` and `read`
    // declare before any read on their line.
    const lines = sh.split('\n').map((l) => (/^\s*#/.test(l) ? '' : l));
    const reads = new Map<string, number>();
    const assigned = new Map<string, number>(); // a read on this line still counts
    const declared = new Map<string, number>(); // a read on this line does not
    const first = (m: Map<string, number>, name: string, i: number) => {
      if (!m.has(name)) m.set(name, i);
    };
    lines.forEach((l, i) => {
      for (const m of l.matchAll(/\$\{?([A-Za-z_]\w*)/g)) first(reads, m[1]!, i);
      for (const m of l.matchAll(/(?:^|[\s;(])(?:export |readonly )?([A-Za-z_]\w*)\+?=/g)) first(assigned, m[1]!, i);
      for (const m of l.matchAll(/\blocal\s+([^;|&]*)/g)) {
        for (const word of m[1]!.split(/\s+/)) {
          const name = /^([A-Za-z_]\w*)(=|$)/.exec(word)?.[1];
          if (name) first(declared, name, i);
        }
      }
      for (const m of l.matchAll(/\bfor\s+\(*\s*([A-Za-z_]\w*)|\bread\b[^;|&]*?\s([A-Za-z_]\w*)\s*(?:\|\||;|$)/g))
        first(declared, (m[1] ?? m[2])!, i);
    });
    const fromSh = [...reads]
      .filter(([name, line]) => line <= (assigned.get(name) ?? Infinity) && line < (declared.get(name) ?? Infinity))
      .map(([name]) => name);
    const all = [...new Set([...fromSh, ...fromPs1])];
    // The list is not empty and holds what the issue named.
    expect(all).toEqual(
      expect.arrayContaining([
        'AZP_AUTH',
        'AZP_HOME',
        'AZP_AGENT_DIR',
        'AZP_AGENT_PACKAGE_URL',
        'VSO_AGENT_IGNORE',
        'HOSTNAME',
        'COMPUTERNAME',
        'SystemRoot',
      ]),
    );
    const allowed = all.filter((name) => agentEnvNameProblem(name) === undefined);
    expect(allowed).toEqual([]);
  });
});

describe('placeholders of the sample are refused: "replace the placeholder"', () => {
  const SUBNET =
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/aci';
  it.each<[string, Record<string, string>, string]>([
    [
      'YOUR-ORG',
      { AZP_URL: 'https://dev.azure.com/YOUR-ORG' },
      'AZP_URL: replace the placeholder with your organization URL',
    ],
    [
      'YOUR-VAULT',
      { KEY_VAULT_URL: 'https://YOUR-VAULT.vault.azure.net' },
      'KEY_VAULT_URL: replace the placeholder with your Key Vault URL',
    ],
    [
      'an all-zero subscription',
      { AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000' },
      'AZURE_SUBSCRIPTION_ID: replace the placeholder with your subscription id',
    ],
    [
      'an all-zero client id',
      { AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000000' },
      'AZURE_CLIENT_ID: replace the placeholder with your client id',
    ],
    [
      'change-me',
      { WEBHOOK_USERNAME: 'azp-hook', WEBHOOK_PASSWORD: 'change-me-to-a-long-random-value' },
      'WEBHOOK_PASSWORD: replace the placeholder with a long random value (e.g. openssl rand -base64 32)',
    ],
    [
      'YOUR-ACR in the image',
      { POOLS: JSON.stringify([{ ...pool, image: 'YOUR-ACR.azurecr.io/azp-agent:4.269.0' }]) },
      'POOLS[0].image: replace the placeholder with your agent image reference',
    ],
    [
      'YOURACR in the image',
      { POOLS: JSON.stringify([{ ...pool, image: 'YOURACR.azurecr.io/azp-agent:1' }]) },
      'POOLS[0].image: replace the placeholder with your agent image reference',
    ],
    [
      'an all-zero subscription in subnetId',
      { POOLS: JSON.stringify([{ ...pool, subnetId: SUBNET }]) },
      'POOLS[0].subnetId: replace the placeholder with your subnet resource id',
    ],
  ])('%s', (_, over, expected) => {
    expect(problems({ ...base, ...over })).toEqual([expected]);
  });

  it('real values that merely contain "your" pass', () => {
    const s = loadSettings({
      ...base,
      AZP_URL: 'https://dev.azure.com/yourco',
      POOLS: JSON.stringify([{ ...pool, image: 'yourregistry.azurecr.io/agent:1' }]),
    });
    expect(s.AZP_URL).toBe('https://dev.azure.com/yourco');
  });
});

describe('a profile name that cannot become a container group name is refused (issue 21, finding 5)', () => {
  // ACI: "1 and 63 characters long, only lowercase letters, numbers, and dashes; it cannot start or
  // end with a dash and consecutive dashes are not allowed" (src/core/names.ts isValidGroupName).
  // Every agent name is `{prefix}-{profile}-{suffix}`, the placeholder `{prefix}-{profile}-placeholder`.
  it.each(['a--b', 'java--17', 'x---y'])('%s: refused, naming the setting', (name) => {
    expect(problems(withProfile({ name }))).toEqual([
      'POOLS[0].name: must not contain two hyphens in a row (every agent name is a container group name, where ACI refuses "--")',
    ]);
  });

  it('a profile name ACI takes still passes, and its agents get valid names', () => {
    expect(loadSettings(withProfile({ name: 'a-b-c' })).POOLS[0]!.name).toBe('a-b-c');
  });
});
