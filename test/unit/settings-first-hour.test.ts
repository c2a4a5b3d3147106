/**
 * The settings mistakes of a first hour, each refused with the fix: an AZP_URL with a project
 * path, a mistyped profile key (with the key it probably meant), POOLS that is not JSON (where),
 * and the simulator's `--profiles` file naming fields as the CLI does (`POOLS[0].image`) without
 * refusing a placeholder image it never pulls.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonErrorOffset } from '../../src/config/issues.js';
import { loadProfiles } from '../../src/sim/profiles.js';
import { base, pool, problems } from '../helpers/settings.js';

const withProfile = (over: Record<string, unknown>) => ({ ...base, POOLS: JSON.stringify([{ ...pool, ...over }]) });

describe('AZP_URL is the organization (or collection) URL, not a project', () => {
  it.each([
    ['https://dev.azure.com/contoso/MyProject', 'https://dev.azure.com/contoso'],
    ['https://dev.azure.com/contoso/MyProject/_build', 'https://dev.azure.com/contoso'],
    ['https://contoso.visualstudio.com/MyProject', 'https://contoso.visualstudio.com'],
  ])('%s is refused with the URL to use', (url, fix) => {
    expect(problems({ ...base, AZP_URL: url })).toEqual([
      `AZP_URL: must be the organization URL without a project or page (agent pools belong to the organization): ${fix}`,
    ]);
  });

  it.each([
    'https://dev.azure.com/contoso',
    'https://dev.azure.com/contoso/',
    'https://contoso.visualstudio.com',
    'https://contoso.visualstudio.com/DefaultCollection',
    // Azure DevOps Server: the collection URL has a path we cannot tell from a project by its form.
    'https://tfs.contoso.local/tfs/DefaultCollection',
  ])('%s is accepted', (url) => {
    expect(problems({ ...base, AZP_URL: url })).toEqual([]);
  });
});

describe('a mistyped key says which key it probably meant', () => {
  it.each<[Record<string, unknown>, string]>([
    [{ maxAgent: 3 }, 'POOLS[0]: unrecognized key "maxAgent" (did you mean "maxAgents"?)'],
    [{ MaxAgents: 3 }, 'POOLS[0]: unrecognized key "MaxAgents" (did you mean "maxAgents"?)'],
    [{ memoryGB: 4 }, 'POOLS[0]: unrecognized key "memoryGB" (did you mean "memoryGb"?)'],
    [
      { standby: [{ start: '08:00', end: '18:00', count: 1, day: [1] }] },
      'POOLS[0].standby[0]: unrecognized key "day" (did you mean "days"?)',
    ],
    [{ frobnicate: 1 }, 'POOLS[0]: unrecognized key "frobnicate"'],
  ])('%j', (over, expected) => {
    expect(problems(withProfile(over))).toEqual([expected]);
  });
});

describe('POOLS that is not JSON says where', () => {
  it.each<[string, RegExp]>([
    ['[{"name":"a",}]', /^POOLS: is not valid JSON \(at position 13: line 1 column 14\)$/],
    ['[{"name":"a",\n"pool": }]', /^POOLS: is not valid JSON \(at position 22: line 2 column 9\)$/],
    ['[{"name":"a"', /^POOLS: is not valid JSON \(at position 12: line 1 column 13\)$|the text ends early/],
    ["[{'name':'a'}]", /^POOLS: is not valid JSON \(at position 2: line 1 column 3\)/],
  ])('%j', (POOLS, expected) => {
    const [problem, ...rest] = problems({ ...base, POOLS });
    expect(problem).toMatch(expected);
    expect(rest).toEqual([]);
  });
});

describe('simulate --profiles', () => {
  const file = (profiles: unknown) => {
    const f = path.join(mkdtempSync(path.join(tmpdir(), 'azp-sim-profiles-')), 'profiles.json');
    writeFileSync(f, JSON.stringify(profiles));
    return f;
  };

  it('names a field as the CLI does (POOLS[0].image), with did-you-mean', async () => {
    await expect(loadProfiles(file([{ name: 'linux', pool: 'aci', image: '' }]))).rejects.toThrow(
      /^invalid profiles in .*\n {2}POOLS\[0\]\.image: /,
    );
    await expect(loadProfiles(file([{ ...pool, maxAgent: 3 }]))).rejects.toThrow(
      'POOLS[0]: unrecognized key "maxAgent" (did you mean "maxAgents"?)',
    );
  });

  it('takes a placeholder image (the simulator pulls no image) and keeps it as written', async () => {
    const image = 'YOUR-ACR.azurecr.io/azp-agent:latest';
    const [p] = await loadProfiles(file([{ ...pool, image }]));
    expect(p?.image).toBe(image);
    // Still refused when it is not even an image reference.
    await expect(loadProfiles(file([{ ...pool, image: 'not an image' }]))).rejects.toThrow(/POOLS\[0\]\.image: /);
  });
});

describe('jsonErrorOffset agrees with JSON.parse', () => {
  it('-1 exactly when JSON.parse accepts the text (random JSON, cut and spliced)', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.constantFrom('', ',', '}', ']', '"', ':', 'x', ' '), (json, at, junk) => {
        for (const text of [json, json.slice(0, at % (json.length + 1)) + junk + json.slice(at % (json.length + 1))]) {
          let ok = true;
          try {
            JSON.parse(text);
          } catch {
            ok = false;
          }
          expect(jsonErrorOffset(text) === -1).toBe(ok);
        }
      }),
      { numRuns: 500 },
    );
  });
});
