#!/usr/bin/env node
// Refreshes infra/types/: the resource type definitions our Bicep uses, taken from a checkout of
// Azure/bicep-types-az (the generated `types.json` per provider and API version that the Bicep
// compiler itself ships), trimmed to our resource types so the files stay small.
//
//   git clone https://github.com/Azure/bicep-types-az /tmp/bicep-types-az
//   node scripts/bicep-types.mjs /tmp/bicep-types-az
//
// Trimming keeps each listed ResourceType and every type reachable from it through "$ref"s, in
// the original order, and renumbers the refs; nothing else changes. When the Bicep moves to a new
// API version or uses a new resource type, edit WANTED below, rerun, and run
// `npx vitest run test/infra/bicep-types.test.ts` (it fails on any resource without a stored type).
import { execFileSync } from 'node:child_process';
import console from 'node:console';
import process from 'node:process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'infra', 'types');

/** generated/<path>/types.json → the resource types (without @version) we keep from it. */
export const WANTED = {
  'resources_11/microsoft.resources/2022-09-01': ['Microsoft.Resources/resourceGroups'],
  'msi/microsoft.managedidentity/2023-01-31': ['Microsoft.ManagedIdentity/userAssignedIdentities'],
  'authorization/microsoft.authorization/2022-04-01': [
    'Microsoft.Authorization/roleDefinitions',
    'Microsoft.Authorization/roleAssignments',
  ],
  'network/microsoft.network/2023-11-01': [
    'Microsoft.Network/virtualNetworks',
    'Microsoft.Network/privateEndpoints',
    'Microsoft.Network/privateEndpoints/privateDnsZoneGroups',
  ],
  'privatedns/microsoft.network/2020-06-01': [
    'Microsoft.Network/privateDnsZones',
    'Microsoft.Network/privateDnsZones/virtualNetworkLinks',
  ],
  'web/microsoft.web/2024-04-01': [
    'Microsoft.Web/serverfarms',
    'Microsoft.Web/sites',
    'Microsoft.Web/sites/config',
    'Microsoft.Web/sites/basicPublishingCredentialsPolicies',
  ],
  'keyvault/microsoft.keyvault/2023-07-01': ['Microsoft.KeyVault/vaults'],
  'operationalinsights/microsoft.operationalinsights/2023-09-01': ['Microsoft.OperationalInsights/workspaces'],
  'applicationinsights/microsoft.insights/2020-02-02': ['Microsoft.Insights/components'],
  'applicationinsights/microsoft.insights/2023-06-01': ['Microsoft.Insights/workbooks'],
  'monitor_1/microsoft.insights/2023-12-01': ['Microsoft.Insights/scheduledQueryRules'],
  'monitor_1/microsoft.insights/2023-01-01': ['Microsoft.Insights/actionGroups'],
  'containerregistry_0/microsoft.containerregistry/2025-04-01': ['Microsoft.ContainerRegistry/registries'],
  'storage/microsoft.storage/2023-05-01': [
    'Microsoft.Storage/storageAccounts',
    'Microsoft.Storage/storageAccounts/blobServices',
    'Microsoft.Storage/storageAccounts/blobServices/containers',
    'Microsoft.Storage/storageAccounts/queueServices',
    'Microsoft.Storage/storageAccounts/queueServices/queues',
  ],
};

/** Keeps the wanted ResourceTypes and what they reach; returns the renumbered list. */
export function trim(types, wantedNames) {
  const keep = new Set();
  const visit = (i) => {
    if (keep.has(i)) return;
    keep.add(i);
    const walk = (v) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        if (typeof v.$ref === 'string') visit(Number(v.$ref.slice(2)));
        else Object.values(v).forEach(walk);
      }
    };
    walk(types[i]);
  };
  types.forEach((t, i) => {
    if (t.$type === 'ResourceType' && wantedNames.includes(t.name.split('@')[0])) visit(i);
  });
  const order = [...keep].sort((a, b) => a - b);
  const index = new Map(order.map((old, i) => [old, i]));
  const renumber = (v) => {
    if (Array.isArray(v)) return v.map(renumber);
    if (v && typeof v === 'object') {
      if (typeof v.$ref === 'string') return { $ref: `#/${index.get(Number(v.$ref.slice(2)))}` };
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, renumber(x)]));
    }
    return v;
  };
  return order.map((i) => renumber(types[i]));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const src = process.argv[2];
  if (!src) {
    console.error('usage: node scripts/bicep-types.mjs <checkout of Azure/bicep-types-az>');
    process.exit(2);
  }
  const commit = execFileSync('git', ['-C', src, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const rows = [];
  for (const [path, names] of Object.entries(WANTED)) {
    const text = readFileSync(join(src, 'generated', path, 'types.json'), 'utf8');
    const trimmed = trim(JSON.parse(text), names);
    const found = trimmed.filter((t) => t.$type === 'ResourceType').map((t) => t.name.split('@')[0]);
    const missing = names.filter((n) => !found.includes(n));
    if (missing.length) throw new Error(`${path}: no ResourceType ${missing.join(', ')}`);
    const out = JSON.stringify(trimmed);
    mkdirSync(join(OUT, path), { recursive: true });
    writeFileSync(join(OUT, path, 'types.json'), out + '\n');
    rows.push(
      `| \`generated/${path}/types.json\` | ${names.map((n) => `\`${n}\``).join(', ')} | ${text.length.toLocaleString('en')} → ${(out.length + 1).toLocaleString('en')} |`,
    );
  }
  writeFileSync(
    join(OUT, 'SOURCES.md'),
    [
      '# Bicep resource types (infra/types/)',
      '',
      `From [Azure/bicep-types-az](https://github.com/Azure/bicep-types-az) at commit \`${commit}\`,`,
      'the type data the Bicep compiler ships, trimmed by `node scripts/bicep-types.mjs <checkout>` to the',
      'resource types below and what they reference (refs renumbered, nothing else changed).',
      '`test/infra/bicep-types.test.ts` checks every resource in `infra/**/*.bicep` against them.',
      '',
      '| file (same path here) | resource types kept | characters (upstream → here) |',
      '|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
  console.log(`wrote ${rows.length} files to infra/types/ from ${commit}`);
}
