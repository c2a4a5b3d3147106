/**
 * POOLS as main.bicep computes it, evaluated (test/infra/bicep-eval.ts) for the profiles a user
 * deploys: with ENABLE_VNET only Linux, non-Spot profiles get the agent subnet (ACI places only
 * those in a virtual network), a Windows profile without an image gets the Windows image's own tag
 * (infra/agent/windows/acr-build.mjs tag, set by the preprovision hook), and the result is settings the app accepts.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { loadSettings } from '../../src/config/load.js';
import { BicepEvaluator, type Value } from './bicep-eval.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(import.meta.url);
let variables: Map<string, Node>;
let mainText: string;

beforeAll(async () => {
  await Parser.init();
  const parser = new Parser();
  parser.setLanguage(await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm')));
  mainText = readFileSync(path.join(ROOT, 'infra', 'main.bicep'), 'utf8');
  const tree = parser.parse(mainText)!;
  variables = new Map();
  for (const d of tree.rootNode.namedChildren)
    if (d?.type === 'variable_declaration') variables.set(d.namedChildren.find((c) => c?.type === 'identifier')!.text, d);
});

const SUBNET = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/agents';
const PULL = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull';

function poolsFor(pools: Value[], opts: { enableVnet?: boolean; privateNetworking?: boolean } = {}): Value[] {
  const globals = new Map<string, Value>([
    ['pools', pools],
    ['enableVnet', opts.enableVnet ?? false],
    ['privateNetworking', opts.privateNetworking ?? false],
    ['agentImageName', 'azp-agent'],
    ['agentImageTag', '4.270.0-3f2a9c1d0b7e'],
    ['agentImageTagWindows', '4.270.0-8e1d2c3b4a59-windows'],
    ['registry', { outputs: { loginServer: 'crabc.azurecr.io', id: '/registry' } }],
    ['agents', { outputs: { subnetId: SUBNET, pullIdentityId: PULL, privateEndpointSubnetId: '/pe' } }],
  ]);
  return new BicepEvaluator(variables, globals).lookup('poolProfiles', new Map()) as Value[];
}

const linux = { name: 'linux', pool: 'aci' };
const windows = { name: 'win', pool: 'aci-win', os: 'Windows', cpu: 2, memoryGb: 4 };
const spot = { name: 'cheap', pool: 'aci', spot: true };
const spotFallback = { name: 'linux-fb', pool: 'aci', fallback: [{ spot: true }] };
const otherRegion = { name: 'linux-region', pool: 'aci', fallback: [{ location: 'northeurope' }] };
const MY_SUBNET = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/mine/subnets/ci';
const ownSubnet = { name: 'mine', pool: 'aci', subnetId: MY_SUBNET };

describe('POOLS from main.bicep', () => {
  it('with ENABLE_VNET: the agent subnet for Linux non-Spot profiles only', () => {
    const out = poolsFor([linux, windows, spot, spotFallback, otherRegion, ownSubnet], { enableVnet: true });
    const subnets = Object.fromEntries(out.map((p) => [(p as { name: string }).name, (p as { subnetId?: string }).subnetId ?? null]));
    expect(subnets).toEqual({
      linux: SUBNET,
      win: null, // ACI: Windows container groups cannot join a virtual network
      cheap: null, // Spot container groups cannot join a virtual network
      'linux-fb': null, // a Spot fallback would be refused beside a subnet
      'linux-region': null, // a subnet is regional: no fallback to another region beside it
      mine: MY_SUBNET, // the profile's own value wins
    });
  });

  it('the same with privateNetworking (it implies the VNet)', () => {
    const out = poolsFor([linux, windows], { privateNetworking: true });
    expect(out.map((p) => (p as { subnetId?: string }).subnetId ?? null)).toEqual([SUBNET, null]);
  });

  it('without the VNet no profile gets a subnet', () => {
    expect(poolsFor([linux, windows, spot]).some((p) => 'subnetId' in (p as object))).toBe(false);
  });

  it('a Windows profile without an image gets the Windows tag (its own inputs, acr-build.mjs tag); Linux the Linux tag', () => {
    const out = poolsFor([linux, windows]) as Array<{ image: string; registry: { server: string; identity: string } }>;
    expect(out[0]!.image).toBe('crabc.azurecr.io/azp-agent:4.270.0-3f2a9c1d0b7e');
    expect(out[1]!.image).toBe('crabc.azurecr.io/azp-agent:4.270.0-8e1d2c3b4a59-windows');
    expect(out[1]!.registry).toEqual({ server: 'crabc.azurecr.io', identity: PULL });
    // The parameter comes from the tag the preprovision hook sets, and acr-build.mjs builds that tag.
    const params = JSON.parse(readFileSync(path.join(ROOT, 'infra/main.parameters.json'), 'utf8')) as { parameters: Record<string, { value: unknown }> };
    expect(params.parameters.agentImageTagWindows).toEqual({ value: '${AGENT_IMAGE_TAG_WINDOWS}' });
    const acrBuild = readFileSync(path.join(ROOT, 'infra/agent/windows/acr-build.mjs'), 'utf8');
    expect(acrBuild).toContain('`${env.AGENT_IMAGE_NAME}:${env.AGENT_IMAGE_TAG_WINDOWS}`');
    // A profile's own image wins.
    expect((poolsFor([{ ...windows, image: 'mcr.example/x:1' }])[0] as { image: string }).image).toBe('mcr.example/x:1');
  });

  it('is settings the app accepts, in every case above (a refused POOLS stops every pass)', () => {
    for (const opts of [{}, { enableVnet: true }, { privateNetworking: true }]) {
      const pools = poolsFor([linux, windows, spot, spotFallback, otherRegion, ownSubnet], opts);
      const settings = loadSettings({ AZP_URL: 'https://dev.azure.com/contoso', POOLS: JSON.stringify(pools) });
      expect(settings.POOLS.map((p) => p.name)).toEqual(['linux', 'win', 'cheap', 'linux-fb', 'linux-region', 'mine']);
    }
  });
});

describe('the Flex Consumption site', () => {
  it('sets no ftpsState (ARM error 51021 on Flex; Azure/terraform-azurerm-avm-res-web-site#345) and keeps basic-auth publishing off', () => {
    const fn = readFileSync(path.join(ROOT, 'infra/modules/function.bicep'), 'utf8');
    const code = fn.replace(/\/\/.*$/gm, '');
    expect(code).not.toMatch(/\bftpsState\s*:/);
    for (const name of ['ftp', 'scm'])
      expect(code).toMatch(new RegExp(`basicPublishingCredentialsPolicies'[^}]*name: '${name}'[^}]*allow: false`, 's'));
  });
});
