/**
 * Every resource in infra/**\/*.bicep against the Bicep compiler's own resource type data
 * (infra/types/, trimmed from Azure/bicep-types-az; see infra/types/SOURCES.md and
 * test/infra/bicep-types.ts). One planted typo per module shows the check fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { repoRoot } from '../contract/paths.js';
import { checkResource, loadTypeIndex, resourceDecls, type TypeIndex } from './bicep-types.js';

const require = createRequire(import.meta.url);
const INFRA = join(repoRoot, 'infra');
let parser: Parser;
let index: TypeIndex;
const sources = new Map<string, string>();

function parse(text: string): Node {
  const tree = parser.parse(text);
  if (!tree) throw new Error('no tree');
  return tree.rootNode;
}

function problemsOf(path: string, text: string): string[] {
  return resourceDecls(parse(text)).flatMap((r) => checkResource(r, index, path));
}

beforeAll(async () => {
  await Parser.init();
  parser = new Parser();
  parser.setLanguage(await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm')));
  index = loadTypeIndex(join(INFRA, 'types'));
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.bicep')) sources.set(relative(repoRoot, p), readFileSync(p, 'utf8'));
    }
  };
  walk(INFRA);
});

describe('Bicep resources type-check against the stored bicep-types-az data', () => {
  it('has the type data and finds the resources', () => {
    expect(index.resources.size).toBeGreaterThanOrEqual(20);
    const all = [...sources].flatMap(([, t]) => resourceDecls(parse(t)));
    expect(all.length).toBeGreaterThanOrEqual(20);
    // Nested children get their full type.
    expect(all.map((r) => r.type)).toEqual(expect.arrayContaining(['Microsoft.Web/sites/config@2024-04-01', 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01']));
  });

  it('every resource type and API version exists, every property set exists with the right shape, required ones are set, read-only ones are not', () => {
    const problems = [...sources].flatMap(([path, text]) => problemsOf(path, text));
    expect(problems).toEqual([]);
  });

  it('every stored type is used (the trimmed data holds nothing we do not deploy)', () => {
    const used = new Set([...sources].flatMap(([, t]) => resourceDecls(parse(t)).map((r) => r.type.toLowerCase())));
    expect([...index.resources.keys()].filter((k) => !used.has(k))).toEqual([]);
  });

  // One planted mistake per module: [file, what, from, to, expected problem].
  it.each([
    ['infra/main.bicep', 'an API version that does not exist', "'Microsoft.Resources/resourceGroups@2022-09-01' = {\n  name: '${abbrs.resourcesResourceGroups}${environmentName}'", "'Microsoft.Resources/resourceGroups@2022-09-31' = {\n  name: '${abbrs.resourcesResourceGroups}${environmentName}'", /no type Microsoft\.Resources\/resourceGroups@2022-09-31 .*stored versions: 2022-09-01/],
    ['infra/modules/agents.bicep', 'a misspelt property', 'assignableScopes: [', 'assignableScope: [', /properties\.assignableScope: no such property/],
    ['infra/modules/function.bicep', 'a string where an integer goes', 'instanceMemoryMB: instanceMemoryMB', "instanceMemoryMB: '2048'", /instanceMemoryMB: "'2048'" is not integer/],
    ['infra/modules/identity.bicep', 'a required property left out', '  location: location\n', '', /\.location: required, not set/],
    ['infra/modules/keyvault.bicep', 'a number where a boolean goes', 'enableRbacAuthorization: true', 'enableRbacAuthorization: 1', /enableRbacAuthorization: "1" is not boolean/],
    ['infra/modules/monitoring.bicep', 'a read-only property set', "    Application_Type: 'web'\n", "    Application_Type: 'web'\n    AppId: 'x'\n", /properties\.AppId: read-only/],
    ['infra/modules/registry.bicep', 'a boolean written as a string', 'adminUserEnabled: false', "adminUserEnabled: 'false'", /adminUserEnabled: "'false'" is not boolean/],
    ['infra/modules/storage.bicep', 'an object where a string goes', "minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: { v: 'TLS1_2' }", /minimumTlsVersion: .* is not/],
    ['infra/modules/alerts.bicep', 'a string where an integer goes', 'severity: 1\n', "severity: '1'\n", /severity: "'1'" is not integer/],
    ['infra/modules/private-endpoints.bicep', 'an array where an object goes', '      virtualNetwork: {\n        id: vnetId\n      }', '      virtualNetwork: [vnetId]', /virtualNetwork: .* is not object/],
  ])('%s: flags %s', (path, _what, from, to, problem) => {
    const text = sources.get(path);
    expect(text, path).toBeDefined();
    expect(text).toContain(from);
    expect(problemsOf(path, text!)).toEqual([]);
    expect(problemsOf(path, text!.replace(from, to)).join('\n')).toMatch(problem);
  });

  it('every module has a planted-typo case above', () => {
    const covered = new Set(['infra/main.bicep', 'infra/modules/agents.bicep', 'infra/modules/function.bicep', 'infra/modules/identity.bicep', 'infra/modules/keyvault.bicep', 'infra/modules/monitoring.bicep', 'infra/modules/registry.bicep', 'infra/modules/storage.bicep', 'infra/modules/private-endpoints.bicep', 'infra/modules/alerts.bicep']);
    expect([...sources.keys()].filter((p) => !covered.has(p))).toEqual([]);
  });

  it('checks nested children and discriminated types: an unknown config name and a misspelt app-settings key are caught', () => {
    const fn = sources.get('infra/modules/function.bicep')!;
    expect(problemsOf('f', fn.replace("name: 'scm'", "name: 'ssh'")).join('\n')).toMatch(/\.name: 'ssh' is not one of ftp, scm/);
    expect(problemsOf('f', fn.replace('      allow: false\n', '      allowed: false\n')).join('\n')).toMatch(/properties\.allowed: no such property/);
  });
});
