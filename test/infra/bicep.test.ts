/**
 * Offline checks of infra/ (the Bicep CLI cannot be installed here): every .bicep file is parsed
 * with a real Bicep grammar (tree-sitter-bicep, WebAssembly build) and the syntax trees are checked
 * for what matters: the app settings satisfy src/config/schema.ts, role assignments stay within
 * the allowed roles and scopes, no secret reaches a parameter file or an output, storage has no
 * shared keys, Key Vault uses RBAC. What only `azd up` can verify is listed in infra/README.md.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { ConfigError, loadSettings } from '../../src/config/load.js';
import { AZURE_REQUIRED, settingsSchema } from '../../src/config/schema.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const INFRA = join(ROOT, 'infra');
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// Parsing

let parser: Parser;
interface BicepFile {
  path: string; // relative to the repo root
  text: string;
  root: Node;
}
const files = new Map<string, BicepFile>();

function bicepPaths(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'agent' || d.name === 'node_modules' ? [] : bicepPaths(p);
    return d.name.endsWith('.bicep') ? [p] : [];
  });
}

function parse(text: string): Node {
  const tree = parser.parse(text);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree.rootNode;
}

/** ERROR and MISSING nodes, with their position: empty means the file is valid Bicep syntax. */
function syntaxErrors(root: Node): string[] {
  const out: string[] = [];
  const walk = (n: Node): void => {
    if (n.isError || n.isMissing) {
      out.push(`${n.isMissing ? `missing ${n.type}` : 'unexpected'} at ${n.startPosition.row + 1}:${n.startPosition.column + 1}: ${JSON.stringify(n.text.slice(0, 50))}`);
    }
    for (const c of n.children) if (c) walk(c);
  };
  walk(root);
  if (root.hasError && out.length === 0) out.push('tree has errors');
  return out;
}

function file(rel: string): BicepFile {
  const f = files.get(rel);
  if (!f) throw new Error(`${rel} not parsed (exists: ${existsSync(join(ROOT, rel))})`);
  return f;
}

// ---------------------------------------------------------------------------------------------
// Syntax-tree helpers

const named = (n: Node | null | undefined): Node[] => (n ? n.namedChildren.filter((c): c is Node => c !== null) : []);
const all = (root: Node, type: string): Node[] => root.descendantsOfType(type).filter((c): c is Node => c !== null);

/** Text of a string node without interpolation; undefined if it interpolates. */
function literal(n: Node | null | undefined): string | undefined {
  if (!n || n.type !== 'string') return undefined;
  if (named(n).some((c) => c.type === 'interpolation')) return undefined;
  return named(n).map((c) => c.text).join('').replace(/\\'/g, "'");
}

function propKey(p: Node): string {
  const k = named(p)[0]!;
  return k.type === 'string' ? (literal(k) ?? k.text) : k.text;
}

/** Properties of an object node (key → value node). */
function props(obj: Node | null | undefined): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const p of named(obj)) {
    if (p.type !== 'object_property') continue;
    const kids = named(p);
    if (kids.length >= 2) m.set(propKey(p), kids[kids.length - 1]!);
  }
  return m;
}

function prop(obj: Node | null | undefined, ...path: string[]): Node | undefined {
  let cur: Node | undefined = obj ?? undefined;
  for (const key of path) {
    cur = cur && cur.type === 'object' ? props(cur).get(key) : undefined;
  }
  return cur;
}

interface Resource {
  file: string;
  symbol: string;
  type: string; // e.g. Microsoft.Storage/storageAccounts@2023-05-01 or a nested 'config'
  existing: boolean;
  body: Node; // the object (through `if (...)` and `[for ...]`)
  node: Node;
}

function bodyOf(n: Node): Node {
  // resource/module declaration: identifier, string, then object | if_statement | for_statement
  let v = named(n).find((c) => ['object', 'if_statement', 'for_statement'].includes(c.type))!;
  while (v.type === 'if_statement' || v.type === 'for_statement') v = named(v).filter((c) => c.type === 'object').pop()!;
  return v;
}

function resources(f: BicepFile): Resource[] {
  return all(f.root, 'resource_declaration').map((node) => {
    const kids = named(node);
    return {
      file: f.path,
      symbol: kids[0]!.text,
      type: literal(kids[1]) ?? kids[1]!.text,
      existing: node.children.some((c) => c?.type === 'existing'),
      body: bodyOf(node),
      node,
    };
  });
}

function allResources(): Resource[] {
  return [...files.values()].flatMap(resources);
}

/** Top-level declarations of a kind: name → node (with its decorators). */
function declarations(f: BicepFile, type: string): Map<string, { node: Node; decorators: string[] }> {
  const m = new Map<string, { node: Node; decorators: string[] }>();
  const top = named(f.root);
  top.forEach((n, i) => {
    if (n.type !== type) return;
    const prev = top[i - 1];
    const decorators = prev?.type === 'decorators' ? named(prev).map((d) => d.text) : [];
    m.set(named(n)[0]!.text, { node: n, decorators });
  });
  return m;
}

/** The value expression of a param (its default), var or output declaration. */
function valueOf(decl: Node): Node | undefined {
  const kids = named(decl);
  const last = kids[kids.length - 1];
  return last && last !== kids[0] && last.type !== 'type' ? last : undefined;
}

const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** Every GUID literal an expression can evaluate to, following variables and for-loop arrays. */
function guidsOf(expr: Node, f: BicepFile, loop?: Node, seen = new Set<string>()): string[] {
  const vars = declarations(f, 'variable_declaration');
  const out: string[] = [];
  const walk = (n: Node): void => {
    if (n.type === 'string') out.push(...(n.text.match(GUID) ?? []));
    else if (n.type === 'identifier') {
      const v = vars.get(n.text);
      if (v && !seen.has(n.text)) {
        seen.add(n.text);
        out.push(...guidsOf(valueOf(v.node)!, f, undefined, seen));
      } else if (loop && named(loop)[0]?.text === n.text) {
        walk(named(loop)[1]!); // the array the loop iterates
      }
    } else for (const c of named(n)) walk(c);
  };
  walk(expr);
  return out;
}

/** All string literals an expression can evaluate to (following variables). */
function stringsOf(expr: Node, f: BicepFile): string[] {
  const vars = declarations(f, 'variable_declaration');
  const out: string[] = [];
  const walk = (n: Node): void => {
    if (n.type === 'string') {
      const s = literal(n);
      if (s !== undefined) out.push(s);
    } else if (n.type === 'identifier' && vars.has(n.text)) walk(valueOf(vars.get(n.text)!.node)!);
    else for (const c of named(n)) walk(c);
  };
  walk(expr);
  return out;
}

// ---------------------------------------------------------------------------------------------
// What is allowed

/** Built-in roles (ids from learn.microsoft.com/azure/role-based-access-control/built-in-roles). */
const ALLOWED_ROLES: Record<string, { name: string; scopes: string[] }> = {
  '4633458b-17de-408a-b874-0445c86b69e6': { name: 'Key Vault Secrets User', scopes: ['Microsoft.KeyVault/vaults'] },
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7': { name: 'Key Vault Secrets Officer (deployer only)', scopes: ['Microsoft.KeyVault/vaults'] },
  '7f951dda-4ed3-4680-a7ca-43fe172d538d': { name: 'AcrPull', scopes: ['Microsoft.ContainerRegistry/registries'] },
  'b7e6dc6d-f1e8-4753-8033-0f276bb0955b': { name: 'Storage Blob Data Owner', scopes: ['Microsoft.Storage/storageAccounts'] },
  // The webhook's hand-off through a Storage queue (send, read, delete, move to poison). No table role.
  '974c5e8b-45b9-4653-ba55-5f855dd0fb88': { name: 'Storage Queue Data Contributor', scopes: ['Microsoft.Storage/storageAccounts'] },
  '3913510d-42f4-4e42-8a64-420c390055eb': { name: 'Monitoring Metrics Publisher', scopes: ['Microsoft.Insights/components'] },
};
/**
 * The custom role on the agents resource group may grant only these actions: each one is a call
 * src/aci/provider.ts makes (infra/README.md lists the call per action). No wildcards, so no
 * containers/exec/action or containers/attach/action.
 */
const ALLOWED_CUSTOM_ACTIONS = [
  'Microsoft.ContainerInstance/containerGroups/read',
  'Microsoft.ContainerInstance/containerGroups/write',
  'Microsoft.ContainerInstance/containerGroups/delete',
  'Microsoft.ContainerInstance/containerGroups/containers/logs/read',
  'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action',
  'Microsoft.Network/virtualNetworks/subnets/join/action',
];

/** Settings the Functions host itself reads (not part of the autoscaler schema). */
const HOST_SETTING = /^(AzureWebJobsStorage__(accountName|blobServiceUri|queueServiceUri|credential|clientId)|APPLICATIONINSIGHTS_(CONNECTION|AUTHENTICATION)_STRING)$/;
/** What a deployment must set: the schema's required settings, the Azure ones, and the deploy contract. */
const DEPLOY_REQUIRED = [
  'AZP_URL', 'AZP_AUTH', 'KEY_VAULT_URL', 'AZP_TOKEN_SECRET_NAME', 'AZURE_SUBSCRIPTION_ID', 'ACI_RESOURCE_GROUP',
  'ACI_LOCATION', 'AZURE_CLIENT_ID', 'SCALE_SCHEDULE', 'WEBHOOK_USERNAME', 'WEBHOOK_PASSWORD', 'AUTOSCALER_ID', 'POOLS',
];
/** Samples for settings whose Bicep value is only known at deploy time. */
const RUNTIME_SAMPLES: Record<string, string> = {
  AZP_URL: 'https://dev.azure.com/contoso',
  KEY_VAULT_URL: 'https://kv-abcdefghijklm.vault.azure.net/',
  AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000001',
  ACI_RESOURCE_GROUP: 'rg-dev-agents',
  ACI_LOCATION: 'westeurope',
  AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
  DRY_RUN: 'false',
  // What the host hands the app once it resolved the Key Vault reference (an unresolved reference is refused).
  WEBHOOK_PASSWORD: 'resolved-webhook-password-from-key-vault',
  AUTOSCALER_ID: 'azd-abcdefghijklm',
  AzureWebJobsStorage__accountName: 'stabcdefghijklm',
  AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000002',
  AzureWebJobsStorage__blobServiceUri: 'https://stabcdefghijklm.blob.core.windows.net/',
  AzureWebJobsStorage__queueServiceUri: 'https://stabcdefghijklm.queue.core.windows.net/',
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000003',
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=00000000-0000-0000-0000-000000000002;Authorization=AAD',
};
const SECRETISH = /password|passwd|secret|token|key|credential|pat$/i;

// ---------------------------------------------------------------------------------------------
// Shared facts derived from the trees

interface Setting {
  key: string;
  value: Node;
  file: BicepFile;
}

/** The app settings: main.bicep's `appSettings` var plus the host settings function.bicep adds. */
function appSettings(): Setting[] {
  const main = file('infra/main.bicep');
  const v = declarations(main, 'variable_declaration').get('appSettings');
  if (!v) throw new Error('infra/main.bicep has no `var appSettings`');
  const out: Setting[] = [...props(valueOf(v.node))].map(([key, value]) => ({ key, value, file: main }));
  const fn = file('infra/modules/function.bicep');
  const config = resources(fn).find((r) => r.type === 'config' || r.type.startsWith('Microsoft.Web/sites/config@'));
  if (!config || literal(prop(config.body, 'name')) !== 'appsettings') throw new Error('function.bicep has no appsettings config');
  const properties = prop(config.body, 'properties')!;
  // properties: union(appSettings, { ...host settings })
  for (const obj of properties.type === 'object' ? [properties] : all(properties, 'object')) {
    for (const [key, value] of props(obj)) out.push({ key, value, file: fn });
  }
  return out;
}

/** A deploy-time sample for a setting: its literal, its parameter's default, or a runtime sample. */
function sampleValue(s: Setting): string | undefined {
  const v = s.value;
  const lit = literal(v);
  if (lit !== undefined && !lit.startsWith('@Microsoft.KeyVault(')) return lit;
  if (v.type === 'identifier') {
    const param = declarations(s.file, 'parameter_declaration').get(v.text);
    const def = param && valueOf(param.node);
    const d = literal(def);
    if (d !== undefined && RUNTIME_SAMPLES[s.key] === undefined) return d;
  }
  return RUNTIME_SAMPLES[s.key];
}

/** The pools from main.parameters.json, completed the way main.bicep completes them. */
function samplePools(): unknown[] {
  const params = JSON.parse(readFileSync(join(INFRA, 'main.parameters.json'), 'utf8')) as {
    parameters: Record<string, { value: unknown }>;
  };
  const azdDefaults = (s: string): string => s.replace(/\$\{([A-Z0-9_]+)=([^}]*)\}/g, (_m, _k, d: string) => d);
  const pools = JSON.parse(azdDefaults(JSON.stringify(params.parameters.pools?.value ?? []))) as Record<string, unknown>[];
  const registry = {
    server: 'crabcdefghijklm.azurecr.io',
    identity: '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-dev-agents/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-agent-pull-abcdefghijklm',
  };
  return pools.map((p) => ('image' in p ? p : { image: `${registry.server}/azp-agent:4.269.0-0123456789ab`, registry, ...p }));
}


// ---------------------------------------------------------------------------------------------
// Checks that return their findings (so that each can be shown to fail on a flawed template)

function roleProblems(fs: BicepFile[]): { problems: string[]; seen: string[] } {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const f of fs) {
    for (const a of resources(f).filter((r) => r.type.startsWith('Microsoft.Authorization/roleAssignments@'))) {
      const where = `${f.path}:${a.symbol}`;
      if (f.path === 'infra/main.bicep') problems.push(`${where}: no role assignments at subscription scope`);
      const roleExpr = prop(a.body, 'properties', 'roleDefinitionId');
      if (!roleExpr) {
        problems.push(`${where}: no roleDefinitionId`);
        continue;
      }
      const scope = prop(a.body, 'scope')?.text;
      const scopeType = scope ? resources(f).find((r) => r.symbol === scope)?.type.split('@')[0] : undefined;
      const custom = /^(\w+)\.id$/.exec(roleExpr.text)?.[1];
      if (custom) {
        const def = resources(f).find((r) => r.symbol === custom);
        if (!def?.type.startsWith('Microsoft.Authorization/roleDefinitions@')) problems.push(`${where}: ${custom} is not a role definition in this file`);
        if (scope !== undefined) problems.push(`${where}: the custom role is assigned at the module's resource group, not ${scope}`);
        seen.push('custom');
        continue;
      }
      const loop = named(a.node).find((c) => c.type === 'for_statement');
      const guids = guidsOf(roleExpr, f, loop);
      if (guids.length === 0) problems.push(`${where}: role id must be a literal GUID (directly or via a variable)`);
      for (const g of guids) {
        const allowed = ALLOWED_ROLES[g.toLowerCase()];
        if (!allowed) {
          problems.push(`${where}: role ${g} is not in the allowed list`);
          continue;
        }
        if (!scopeType || !allowed.scopes.includes(scopeType)) problems.push(`${where}: ${allowed.name} scoped to ${scopeType} (${scope ?? 'module scope'})`);
        seen.push(allowed.name);
      }
    }
  }
  return { problems, seen };
}

function customRoleProblems(fs: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const f of fs) {
    for (const d of resources(f).filter((r) => r.type.startsWith('Microsoft.Authorization/roleDefinitions@') && !r.existing)) {
      const where = `${f.path}:${d.symbol}`;
      if (prop(d.body, 'properties', 'assignableScopes')?.text.replace(/\s+/g, '') !== '[resourceGroup().id]') {
        problems.push(`${where}: assignableScopes must be [resourceGroup().id]`);
      }
      const perms = named(prop(d.body, 'properties', 'permissions'));
      if (perms.length !== 1) problems.push(`${where}: exactly one permissions block`);
      for (const perm of perms) {
        const actions = stringsOf(prop(perm, 'actions') ?? perm, f);
        if (actions.length === 0) problems.push(`${where}: no actions`);
        for (const a of actions) {
          if (!ALLOWED_CUSTOM_ACTIONS.includes(a)) problems.push(`${where}: action ${a} is not allowed`);
          if (a.includes('*')) problems.push(`${where}: wildcard action ${a}`);
        }
        for (const k of ['notActions', 'dataActions', 'notDataActions']) {
          const v = prop(perm, k);
          if (v !== undefined && v.text.replace(/\s+/g, '') !== '[]') problems.push(`${where}: ${k} must be empty`);
        }
      }
    }
  }
  return problems;
}

function storageProblems(fs: BicepFile[]): string[] {
  const problems: string[] = [];
  for (const f of fs) {
    for (const a of resources(f).filter((r) => r.type.startsWith('Microsoft.Storage/storageAccounts@') && !r.existing)) {
      if (prop(a.body, 'properties', 'allowSharedKeyAccess')?.text !== 'false') problems.push(`${f.path}:${a.symbol}: allowSharedKeyAccess must be false`);
      if (prop(a.body, 'properties', 'allowBlobPublicAccess')?.text !== 'false') problems.push(`${f.path}:${a.symbol}: allowBlobPublicAccess must be false`);
    }
    for (const c of all(f.root, 'call_expression')) {
      if (/^(\w+\.)?list\w*\(/.test(c.text)) problems.push(`${f.path}: list*() call ${c.text.slice(0, 40)} (reads keys/secrets)`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

beforeAll(async () => {
  await Parser.init();
  const wasm = require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm');
  const language = await Language.load(wasm);
  parser = new Parser();
  parser.setLanguage(language);
  for (const p of bicepPaths(INFRA)) {
    const text = readFileSync(p, 'utf8');
    const rel = relative(ROOT, p);
    files.set(rel, { path: rel, text, root: parse(text) });
  }
});

describe('Bicep syntax (tree-sitter-bicep)', () => {
  it('finds the template files', () => {
    expect([...files.keys()]).toEqual(expect.arrayContaining(['infra/main.bicep', 'infra/modules/function.bicep']));
  });

  it('parses every .bicep file without ERROR or MISSING nodes', () => {
    const problems = [...files.values()].flatMap((f) => syntaxErrors(f.root).map((e) => `${f.path}: ${e}`));
    expect(problems).toEqual([]);
  });

  it.each([
    ['an unclosed object', "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n"],
    ['a parameter without a type', 'param location\n'],
    ['a property without a value', "var x = {\n  a: \n}\n"],
    ['a stray token', "param a string\noutput = 'x'\n"],
  ])('reports %s as a syntax error (the parse check can fail)', (_what, snippet) => {
    expect(syntaxErrors(parse(snippet)).length).toBeGreaterThan(0);
  });

  it('every referenced module exists and every module file is referenced', () => {
    const referenced = new Set<string>();
    const missing: string[] = [];
    for (const f of files.values()) {
      for (const m of all(f.root, 'module_declaration')) {
        const path = literal(named(m)[1]);
        expect(path, `${f.path}: module path must be a plain string`).toBeDefined();
        if (/^(br|ts)[:/]/.test(path!)) continue; // registry modules are resolved by the Bicep CLI
        const target = relative(ROOT, resolve(ROOT, dirname(f.path), path!));
        referenced.add(target);
        if (!existsSync(join(ROOT, target))) missing.push(`${f.path} → ${path}`);
      }
    }
    expect(missing).toEqual([]);
    const modules = [...files.keys()].filter((p) => p.startsWith('infra/modules/'));
    expect(modules.filter((m) => !referenced.has(m))).toEqual([]);
  });
});

describe('app settings ↔ src/config/schema.ts', () => {
  it('sets every setting a deployment needs, each one a schema setting or a host setting', () => {
    const keys = appSettings().map((s) => s.key);
    const schemaKeys = Object.keys(settingsSchema.shape);
    const required = Object.entries(settingsSchema.shape)
      .filter(([, schema]) => !schema.safeParse(undefined).success)
      .map(([k]) => k);
    expect(required.length).toBeGreaterThan(0);
    for (const k of [...required, ...AZURE_REQUIRED, ...DEPLOY_REQUIRED]) expect(keys, `missing app setting ${k}`).toContain(k);
    expect(keys.filter((k) => !schemaKeys.includes(k) && !HOST_SETTING.test(k))).toEqual([]);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('loadSettings accepts the deployed settings (requireAzure), with the parameter defaults and the default pools', () => {
    const env: Record<string, string> = {};
    for (const s of appSettings()) {
      const v = s.key === 'POOLS' ? JSON.stringify(samplePools()) : sampleValue(s);
      expect(v, `no sample value for ${s.key}: add it to RUNTIME_SAMPLES`).toBeDefined();
      env[s.key] = v!;
    }
    const settings = loadSettings(env, { requireAzure: true });
    expect(settings.POOLS.length).toBeGreaterThan(0);
    expect(settings.POOLS[0]!.registry?.server).toBe('crabcdefghijklm.azurecr.io');

    // The check can fail: without any one required setting, loadSettings reports it by name.
    for (const key of ['AZP_URL', 'POOLS', ...AZURE_REQUIRED]) {
      const partial = { ...env };
      delete partial[key];
      let error: unknown;
      try {
        loadSettings(partial, { requireAzure: true });
      } catch (e) {
        error = e;
      }
      expect(error, `loadSettings without ${key}`).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toContain(key);
    }
  });

  it('WEBHOOK_PASSWORD is a Key Vault reference resolved with the user-assigned identity', () => {
    const pw = appSettings().find((s) => s.key === 'WEBHOOK_PASSWORD')!;
    expect(pw.value.type).toBe('string');
    expect(pw.value.text).toMatch(/^'@Microsoft\.KeyVault\(SecretUri=\$\{[^}]+\}secrets\/\$\{[^}]+\}\/?\)'$/);
    const site = resources(file('infra/modules/function.bicep')).find((r) => r.type.startsWith('Microsoft.Web/sites@'))!;
    expect(prop(site.body, 'properties', 'keyVaultReferenceIdentity')?.text).toBe('identityId');
    expect(prop(site.body, 'identity', 'type')?.text).toBe("'UserAssigned'");
  });

  it('POOLS is JSON built from the pools parameter, filling in the registry image and pull identity', () => {
    const main = file('infra/main.bicep');
    const pools = appSettings().find((s) => s.key === 'POOLS')!;
    expect(pools.value.text).toMatch(/^string\(\w+\)$/);
    const varName = /^string\((\w+)\)$/.exec(pools.value.text)![1]!;
    const expr = valueOf(declarations(main, 'variable_declaration').get(varName)!.node)!;
    expect(expr.text).toMatch(/^map\(pools,/);
    const keys = all(expr, 'object_property').map(propKey);
    expect(keys).toEqual(expect.arrayContaining(['image', 'registry', 'subnetId']));
    const registry = valueOf(declarations(main, 'variable_declaration').get('agentRegistry')!.node)!;
    expect([...props(registry).keys()].sort()).toEqual(['identity', 'server']);
  });

  it('storage for the host is identity-based (no connection string, no keys)', () => {
    const settings = new Map(appSettings().map((s) => [s.key, s.value.text]));
    expect(settings.has('AzureWebJobsStorage')).toBe(false);
    expect(settings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(settings.get('AzureWebJobsStorage__clientId')).toBe('identityClientId');
    expect(settings.get('AzureWebJobsStorage__accountName')).toBe('storageAccountName');
    // The queue trigger and the webhook's queue client share this connection (docs/telemetry.md#the-reconcile-queue).
    expect(settings.get('AzureWebJobsStorage__blobServiceUri')).toBe('storageBlobEndpoint');
    expect(settings.get('AzureWebJobsStorage__queueServiceUri')).toBe('storageQueueEndpoint');
  });
});

describe('least privilege', () => {
  it('storage accounts disallow shared-key access and nothing lists keys', () => {
    expect(allResources().filter((r) => r.type.startsWith('Microsoft.Storage/storageAccounts@') && !r.existing).length).toBeGreaterThan(0);
    expect(storageProblems([...files.values()])).toEqual([]);
  });

  it('Key Vault uses RBAC authorization, has no access policies, and no template writes a secret', () => {
    const vaults = allResources().filter((r) => r.type.startsWith('Microsoft.KeyVault/vaults@') && !r.existing);
    expect(vaults.length).toBe(1);
    for (const v of vaults) {
      expect(prop(v.body, 'properties', 'enableRbacAuthorization')?.text).toBe('true');
      expect(prop(v.body, 'properties', 'accessPolicies')).toBeUndefined();
    }
    expect(allResources().filter((r) => /^Microsoft\.KeyVault\/vaults\/secrets@|^secrets$/.test(r.type))).toEqual([]);
  });

  it('Application Insights accepts Entra ID telemetry only', () => {
    const ai = allResources().find((r) => r.type.startsWith('Microsoft.Insights/components@'))!;
    expect(prop(ai.body, 'properties', 'DisableLocalAuth')?.text).toBe('true');
  });

  it('the container registry has no admin user and no anonymous pull', () => {
    const acr = allResources().find((r) => r.type.startsWith('Microsoft.ContainerRegistry/registries@'))!;
    expect(prop(acr.body, 'properties', 'adminUserEnabled')?.text).toBe('false');
    expect(prop(acr.body, 'properties', 'anonymousPullEnabled')?.text).toBe('false');
  });

  it('role assignments use only the allowed roles, each on the allowed scope', () => {
    const { problems, seen } = roleProblems([...files.values()]);
    expect(problems).toEqual([]);
    // And the ones the autoscaler needs are there.
    expect(seen).toEqual(
      expect.arrayContaining(['custom', 'Key Vault Secrets User', 'AcrPull', 'Storage Blob Data Owner', 'Storage Queue Data Contributor', 'Monitoring Metrics Publisher']),
    );
  });

  it('the custom agents role grants exactly the actions the autoscaler calls, on its resource group', () => {
    const defs = allResources().filter((r) => r.type.startsWith('Microsoft.Authorization/roleDefinitions@') && !r.existing);
    expect(defs.length).toBe(1);
    expect(customRoleProblems([...files.values()])).toEqual([]);
    const f = file('infra/modules/agents.bicep');
    expect(stringsOf(prop(named(prop(defs[0]!.body, 'properties', 'permissions'))[0], 'actions')!, f).sort()).toEqual([...ALLOWED_CUSTOM_ACTIONS].sort());
    // And infra/README.md lists each action with the call that needs it.
    const readme = readFileSync(join(INFRA, 'README.md'), 'utf8');
    for (const a of ALLOWED_CUSTOM_ACTIONS) expect(readme, a).toMatch(new RegExp('\\|\\s*`' + a.replace(/[/.*]/g, '\\$&') + '`\\s*\\|[^|\\n]*`[^`]+`'));
  });

  it('Key Vault has purge protection; the Function App has FTP and SCM basic publishing credentials off', () => {
    const vault = allResources().find((r) => r.type.startsWith('Microsoft.KeyVault/vaults@'))!;
    expect(prop(vault.body, 'properties', 'enablePurgeProtection')?.text).toBe('true');
    const fn = file('infra/modules/function.bicep');
    const policies = resources(fn).filter((r) => r.type === 'basicPublishingCredentialsPolicies' || r.type.startsWith('Microsoft.Web/sites/basicPublishingCredentialsPolicies@'));
    expect(policies.map((p) => literal(prop(p.body, 'name'))).sort()).toEqual(['ftp', 'scm']);
    for (const p of policies) expect(prop(p.body, 'properties', 'allow')?.text).toBe('false');
  });

  // The checks above can fail: the real templates with one deliberate flaw each.
  it.each([
    ['Contributor instead of Key Vault Secrets User', 'infra/modules/keyvault.bicep', '4633458b-17de-408a-b874-0445c86b69e6', 'b24988ac-6180-42a0-ab88-20f7382dd24c', /not in the allowed list/],
    ['Secrets User at resource-group scope', 'infra/modules/keyvault.bicep', '  scope: vault\n', '', /scoped to undefined/],
    ['AcrPull on the resource group', 'infra/modules/registry.bicep', '  scope: registry\n', '', /scoped to undefined/],
    ['a wildcard action in the custom role', 'infra/modules/agents.bicep', "'Microsoft.ContainerInstance/containerGroups/delete'", "'Microsoft.ContainerInstance/containerGroups/*'", /wildcard action Microsoft\.ContainerInstance\/containerGroups\/\*/],
    ['exec in the custom role', 'infra/modules/agents.bicep', "'Microsoft.ContainerInstance/containerGroups/delete'", "'Microsoft.ContainerInstance/containerGroups/containers/exec/action'", /action Microsoft\.ContainerInstance\/containerGroups\/containers\/exec\/action is not allowed/],
    ['an unused Table data role', 'infra/modules/storage.bicep', 'for roleId in [storageBlobDataOwner, storageQueueDataContributor]', "for roleId in [storageBlobDataOwner, storageQueueDataContributor, '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3']", /not in the allowed list/],
    ['Queue Data Contributor on the Key Vault', 'infra/modules/keyvault.bicep', '4633458b-17de-408a-b874-0445c86b69e6', '974c5e8b-45b9-4653-ba55-5f855dd0fb88', /Storage Queue Data Contributor scoped to Microsoft\.KeyVault\/vaults/],
    ['a data action in the custom role', 'infra/modules/agents.bicep', 'dataActions: []', "dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action']", /dataActions must be empty/],
    ['shared-key access enabled', 'infra/modules/storage.bicep', 'allowSharedKeyAccess: false', 'allowSharedKeyAccess: true', /allowSharedKeyAccess/],
    ['a listKeys() call', 'infra/modules/storage.bicep', "output name string = storage.name", "output name string = storage.listKeys().keys[0].value", /list\*\(\) call/],
  ])('flags %s', (_what, path, from, to, problem) => {
    const real = file(path);
    expect(real.text).toContain(from);
    const text = real.text.replace(from, to);
    const mutated = { path, text, root: parse(text) };
    const others = [...files.values()].filter((f) => f.path !== path);
    const problems = [
      ...roleProblems([...others, mutated]).problems,
      ...customRoleProblems([mutated]),
      ...storageProblems([mutated]),
    ];
    expect(problems.join('\n')).toMatch(problem);
  });
});

describe('no secrets in parameters or outputs', () => {
  it('main.parameters.json holds no secret values', () => {
    const text = readFileSync(join(INFRA, 'main.parameters.json'), 'utf8');
    const params = (JSON.parse(text) as { parameters: Record<string, { value?: unknown; reference?: unknown }> }).parameters;
    for (const [name, p] of Object.entries(params)) {
      if (SECRETISH.test(name) && !/Name$/.test(name)) throw new Error(`main.parameters.json: parameter ${name} looks like a secret`);
      expect(p.reference, `${name}: no Key Vault references in the parameter file either`).toBeUndefined();
    }
    const strings = JSON.stringify(params).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    for (const s of strings) {
      expect(s, 'a value looks like a PAT, token or key').not.toMatch(/^"([a-z2-7]{52}|eyJ[\w-]+\.[\w-]+\..*|[A-Za-z0-9+/]{40,}={0,2})"$/);
    }
  });

  it('parameters that look like secrets are @secure()', () => {
    for (const f of files.values()) {
      for (const [name, { decorators }] of declarations(f, 'parameter_declaration')) {
        if (SECRETISH.test(name) && !/(Name|Uri|Url|Id)$/.test(name)) {
          expect(decorators, `${f.path}: param ${name}`).toContain('@secure()');
        }
      }
    }
  });

  it('outputs are UPPER_CASE in main.bicep and never carry a secret', () => {
    for (const f of files.values()) {
      const secure = new Set(
        [...declarations(f, 'parameter_declaration')].filter(([, d]) => d.decorators.includes('@secure()')).map(([n]) => n),
      );
      for (const [name, { node }] of declarations(f, 'output_declaration')) {
        if (f.path === 'infra/main.bicep') expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
        if (SECRETISH.test(name)) expect(name, `${f.path}: output ${name} names a secret`).toMatch(/(_NAME|_URL|_URI|_ID|Name|Uri|Url|Id)$/);
        const value = valueOf(node)!;
        const ids = all(value, 'identifier').map((i) => i.text);
        expect(ids.filter((i) => secure.has(i)), `${f.path}: output ${name} uses a @secure() parameter`).toEqual([]);
        expect(value.text, `${f.path}: output ${name}`).not.toMatch(/\blist\w*\(/);
      }
    }
  });
});

describe('azd layout', () => {
  it('the Function App runs on Flex Consumption with Node 22 and a user-assigned identity, tagged for azd', () => {
    const fn = file('infra/modules/function.bicep');
    const plan = resources(fn).find((r) => r.type.startsWith('Microsoft.Web/serverfarms@'))!;
    expect(prop(plan.body, 'sku', 'name')?.text).toBe("'FC1'");
    expect(prop(plan.body, 'sku', 'tier')?.text).toBe("'FlexConsumption'");
    const site = resources(fn).find((r) => r.type.startsWith('Microsoft.Web/sites@'))!;
    const config = prop(site.body, 'properties', 'functionAppConfig');
    expect(prop(config, 'runtime', 'name')?.text).toBe("'node'");
    expect(prop(config, 'runtime', 'version')?.text).toBe("'22'");
    expect(prop(config, 'deployment', 'storage', 'authentication', 'type')?.text).toBe("'UserAssignedIdentity'");
    expect(prop(site.body, 'tags')?.text).toContain("'azd-service-name': 'api'");
    // Flex Consumption rejects these settings.
    const keys = appSettings().map((s) => s.key);
    for (const k of ['FUNCTIONS_WORKER_RUNTIME', 'FUNCTIONS_EXTENSION_VERSION', 'WEBSITE_NODE_DEFAULT_VERSION', 'WEBSITE_RUN_FROM_PACKAGE']) {
      expect(keys).not.toContain(k);
    }
  });

  it('resource groups carry the azd-env-name tag and names come from a resource token', () => {
    const main = file('infra/main.bicep');
    expect(valueOf(declarations(main, 'variable_declaration').get('tags')!.node)!.text).toContain("'azd-env-name': environmentName");
    expect(valueOf(declarations(main, 'variable_declaration').get('resourceToken')!.node)!.text).toMatch(/uniqueString\(subscription\(\)\.id, environmentName, location\)/);
    for (const rg of resources(main).filter((r) => r.type.startsWith('Microsoft.Resources/resourceGroups@'))) {
      expect(prop(rg.body, 'tags')?.text).toBe('tags');
    }
  });

  it('the optional VNet delegates its agent subnet to container groups', () => {
    const agents = file('infra/modules/agents.bicep');
    const vnet = resources(agents).find((r) => r.type.startsWith('Microsoft.Network/virtualNetworks@'))!;
    expect(named(vnet.node).some((c) => c.type === 'if_statement' && c.text.startsWith('if (enableVnet)'))).toBe(true);
    const agentSubnet = valueOf(declarations(agents, 'variable_declaration').get('agentSubnet')!.node)!;
    expect(agentSubnet.text).toContain("serviceName: 'Microsoft.ContainerInstance/containerGroups'");
    expect(prop(vnet.body, 'properties', 'subnets')?.text).toMatch(/^concat\(\[agentSubnet\]/);
  });

  it('private networking: private endpoints for Key Vault, storage and the registry, and their public access off', () => {
    const main = file('infra/main.bicep');
    const pe = all(main.root, 'module_declaration').find((m) => literal(named(m)[1]) === 'modules/private-endpoints.bicep')!;
    expect(pe.text).toContain('if (privateNetworking)');
    expect(valueOf(declarations(main, 'variable_declaration').get('publicNetworkAccess')!.node)!.text).toBe("privateNetworking ? 'Disabled' : 'Enabled'");
    const targets = valueOf(declarations(file('infra/modules/private-endpoints.bicep'), 'variable_declaration').get('targets')!.node)!;
    expect(all(targets, 'object').map((o) => literal(prop(o, 'group'))).sort()).toEqual(['blob', 'queue', 'registry', 'table', 'vault']);
    for (const [path, type] of [
      ['infra/modules/keyvault.bicep', 'Microsoft.KeyVault/vaults@'],
      ['infra/modules/storage.bicep', 'Microsoft.Storage/storageAccounts@'],
      ['infra/modules/registry.bicep', 'Microsoft.ContainerRegistry/registries@'],
    ] as const) {
      const r = resources(file(path)).find((x) => x.type.startsWith(type))!;
      expect(prop(r.body, 'properties', 'publicNetworkAccess')?.text, path).toBe('publicNetworkAccess');
      expect(all(main.root, 'module_declaration').find((m) => literal(named(m)[1]) === path.replace('infra/', ''))!.text, path).toContain('publicNetworkAccess: publicNetworkAccess');
    }
  });

  it('azure.yaml deploys the bundle and its hooks only use values main.bicep outputs (or azd and the hooks set)', () => {
    const yaml = readFileSync(join(ROOT, 'azure.yaml'), 'utf8');
    expect(yaml).toMatch(/host: function/);
    expect(yaml).toMatch(/dist: dist-bundle/);
    expect(yaml).toMatch(/run: node scripts\/bundle\.mjs/);
    expect(yaml).toMatch(/^ {2}api:$/m); // the service name matches the azd-service-name tag
    const hookFiles = [...yaml.matchAll(/run: (infra\/hooks\/[\w.-]+)/g)].map((m) => m[1]!);
    expect(hookFiles.length).toBe(6);
    const text = [yaml, ...hookFiles.map((h) => readFileSync(join(ROOT, h), 'utf8'))].join('\n');
    const outputs = new Set(declarations(file('infra/main.bicep'), 'output_declaration').keys());
    const used = new Set([...text.matchAll(/\$(?:env:|\{|\(\$env:)?([A-Z][A-Z0-9_]+)\b/g)].map((m) => m[1]!));
    // PowerShell's own, azd's built-ins, the hooks' optional knobs (documented in the hooks), and what a hook sets itself (postdeploy reads WEBHOOK_PASSWORD from Key Vault for setup-webhook).
    for (const v of ['LASTEXITCODE', 'PAT', 'AZURE_SUBSCRIPTION_ID', 'PROVIDER_WAIT_SECONDS', 'PROVIDER_POLL_SECONDS', 'SECRET_RETRY_SECONDS', 'SKIP_REGION_CHECKS', 'ACI_LOCATION', 'AZURE_LOCATION', 'WEBHOOK_PASSWORD']) used.delete(v);
    expect([...used].filter((v) => !outputs.has(v))).toEqual([]);
  });

  it('main.parameters.json sets only parameters main.bicep declares, and every parameter without a default', () => {
    const main = file('infra/main.bicep');
    const declared = declarations(main, 'parameter_declaration');
    const params = Object.keys((JSON.parse(readFileSync(join(INFRA, 'main.parameters.json'), 'utf8')) as { parameters: object }).parameters);
    expect(params.filter((p) => !declared.has(p))).toEqual([]);
    const withoutDefault = [...declared].filter(([, d]) => valueOf(d.node) === undefined).map(([n]) => n);
    expect(withoutDefault.filter((p) => !params.includes(p))).toEqual([]);
  });
});
