import { describe, expect, it } from 'vitest';
import { buildContainerGroup, containerGroupWireBody, AGENT_CONTAINER, type SpecContext } from '../../src/aci/spec.js';
import { profileSchema, type ProfileConfig } from '../../src/config/schema.js';
import { agentName, isValidGroupName, placeholderName, readOwnership } from '../../src/core/names.js';
import type { AgentLaunch } from '../../src/ports/index.js';
import { validateContainerGroupPut } from '../contract/aci-schema.js';

const CANARY = 'canary-pat-7f3a9c1e5b2d4680aaaa';
const ctx: SpecContext = { azpUrl: 'https://dev.azure.com/contoso', location: 'westeurope', autoscalerId: 'prod-1' };
const IDENTITY =
  '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/acr-pull';
const SUBNET =
  '/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aci';

function profile(over: Record<string, unknown> = {}): ProfileConfig {
  return profileSchema.parse({ name: 'linux', pool: 'Default', image: 'contoso.azurecr.io/azp-agent:1.0', ...over });
}

function launch(over: Partial<AgentLaunch> = {}, p: ProfileConfig = profile()): AgentLaunch {
  return {
    name: agentName('azp', p.name, Date.UTC(2026, 0, 2, 3, 4, 5), '000000001234'),
    pool: p.pool,
    profile: p,
    placeholder: false,
    token: CANARY,
    createdAt: '2026-01-02T03:04:05.000Z',
    ...over,
  };
}

function envMap(g: ReturnType<typeof buildContainerGroup>) {
  return g.containers[0]?.environmentVariables ?? [];
}

/** Every occurrence of `needle` in `obj`, as JSON paths. */
function pathsOf(obj: unknown, needle: string, path = '$'): string[] {
  if (typeof obj === 'string') return obj.includes(needle) ? [path] : [];
  if (Array.isArray(obj)) return obj.flatMap((v, i) => pathsOf(v, needle, `${path}[${i}]`));
  if (obj && typeof obj === 'object')
    return Object.entries(obj).flatMap(([k, v]) => pathsOf(v, needle, `${path}.${k}`));
  return [];
}

describe('buildContainerGroup', () => {
  it('produces the flattened SDK model: containers, osType, restartPolicy Never at the top level', () => {
    const g = buildContainerGroup(launch(), ctx);
    expect(g).not.toHaveProperty('properties');
    expect(g.restartPolicy).toBe('Never');
    expect(g.osType).toBe('Linux');
    expect(g.location).toBe('westeurope');
    expect(g.containers).toHaveLength(1);
    expect(g.containers[0]).toMatchObject({
      name: AGENT_CONTAINER,
      image: 'contoso.azurecr.io/azp-agent:1.0',
      resources: { requests: { cpu: 2, memoryInGB: 4 } },
    });
    expect(g.ipAddress).toBeUndefined();
    expect(g.priority).toBeUndefined();
    expect(g.subnetIds).toBeUndefined();
    expect(g.identity).toBeUndefined();
    expect(g.imageRegistryCredentials).toBeUndefined();
  });

  it('sets the agent environment, AZP_TOKEN only as secureValue', () => {
    const l = launch();
    const env = envMap(buildContainerGroup(l, ctx));
    expect(env).toEqual([
      { name: 'AZP_URL', value: 'https://dev.azure.com/contoso' },
      { name: 'AZP_POOL', value: 'Default' },
      { name: 'AZP_AGENT_NAME', value: l.name },
      { name: 'AZP_TOKEN', secureValue: CANARY },
      { name: 'AZP_RUN_MODE', value: 'once' },
      { name: 'AZP_AUTOSCALER', value: '1' },
      // The deployment's identity: the agent reports it as a capability (src/core/ownership.ts).
      { name: 'AZP_AUTOSCALER_ID', value: 'prod-1' },
    ]);
    expect(envMap(buildContainerGroup(l, { ...ctx, scope: '0123456789abcdef' })).slice(6)).toEqual([
      { name: 'AZP_AUTOSCALER_ID', value: 'prod-1' },
      { name: 'AZP_AUTOSCALER_SCOPE', value: '0123456789abcdef' },
    ]);
    const secure = env.filter((e) => e.secureValue !== undefined);
    expect(secure.map((e) => e.name)).toEqual(['AZP_TOKEN']);
    expect(env.find((e) => e.name === 'AZP_TOKEN')).not.toHaveProperty('value');
  });

  it('adds the profile env as plain values after the reserved ones', () => {
    const p = profile({ env: { JAVA_HOME: '/opt/java', CAP_docker: 'true' } });
    const env = envMap(buildContainerGroup(launch({}, p), ctx));
    expect(env.slice(7)).toEqual([
      { name: 'JAVA_HOME', value: '/opt/java' },
      { name: 'CAP_docker', value: 'true' },
    ]);
  });

  it('refuses a profile env that overrides a reserved name (defence in depth)', () => {
    const p = { ...profile(), env: { AZP_TOKEN: 'x' } };
    expect(() => buildContainerGroup(launch({}, p), ctx)).toThrow(/AZP_TOKEN/);
  });

  it('tags the group with ownership tags readable by readOwnership', () => {
    const g = buildContainerGroup(launch(), ctx);
    expect(g.tags).toEqual({
      'managed-by': 'azp-aci-autoscaler',
      'autoscaler-id': 'prod-1',
      'azp-pool': 'Default',
      'azp-profile': 'linux',
      'created-at': '2026-01-02T03:04:05.000Z',
      'azp-role': 'agent',
      'azp-placement': '0:westeurope',
    });
    expect(readOwnership(g.tags, 'prod-1')).toMatchObject({
      pool: 'Default',
      profile: 'linux',
      placeholder: false,
      placement: '0:westeurope',
    });
    expect(readOwnership(g.tags, 'other')).toBeUndefined();
  });

  it("a fallback placement sets the group's location and priority, and its tag names the placement", () => {
    const p = profile({ spot: true });
    const spotHere = buildContainerGroup(launch({}, p), ctx);
    expect(spotHere.priority).toBe('Spot');
    const regularElsewhere = buildContainerGroup(
      launch({ placement: { index: 1, key: 'linux@1', location: 'northeurope', spot: false } }, p),
      ctx,
    );
    expect(regularElsewhere.location).toBe('northeurope');
    expect(regularElsewhere.priority).toBeUndefined();
    expect(regularElsewhere.tags?.['azp-placement']).toBe('1:northeurope');
    const spotSameRegion = buildContainerGroup(
      launch({ placement: { index: 2, key: 'linux@2', spot: true } }, profile()),
      ctx,
    );
    expect(spotSameRegion.location).toBe('westeurope');
    expect(spotSameRegion.priority).toBe('Spot');
    expect(spotSameRegion.tags?.['azp-placement']).toBe('2:westeurope/spot');
  });

  it('placeholder launches run in placeholder mode and are tagged as such', () => {
    const p = profile();
    const g = buildContainerGroup(launch({ name: placeholderName('azp', p.name), placeholder: true }, p), ctx);
    expect(envMap(g).find((e) => e.name === 'AZP_RUN_MODE')?.value).toBe('placeholder');
    expect(g.tags?.['azp-role']).toBe('placeholder');
    expect(readOwnership(g.tags, 'prod-1')?.placeholder).toBe(true);
  });

  it('Spot profiles get priority Spot', () => {
    expect(buildContainerGroup(launch({}, profile({ spot: true })), ctx).priority).toBe('Spot');
  });

  it('subnet profiles join the subnet (no public IP)', () => {
    const g = buildContainerGroup(launch({}, profile({ subnetId: SUBNET })), ctx);
    expect(g.subnetIds).toEqual([{ id: SUBNET }]);
    expect(g.ipAddress).toBeUndefined();
  });

  it('pulls from a private registry with the user-assigned identity', () => {
    const g = buildContainerGroup(
      launch({}, profile({ registry: { server: 'contoso.azurecr.io', identity: IDENTITY } })),
      ctx,
    );
    expect(g.identity).toEqual({ type: 'UserAssigned', userAssignedIdentities: { [IDENTITY]: {} } });
    expect(g.imageRegistryCredentials).toEqual([{ server: 'contoso.azurecr.io', identity: IDENTITY }]);
  });

  it('Windows profiles set osType and custom sizes', () => {
    const g = buildContainerGroup(launch({}, profile({ os: 'Windows', cpu: 4, memoryGb: 8 })), ctx);
    expect(g.osType).toBe('Windows');
    expect(g.containers[0]?.resources.requests).toEqual({ cpu: 4, memoryInGB: 8 });
  });

  it('names are valid for ACI and shared with the agent registration', () => {
    const l = launch();
    expect(isValidGroupName(l.name)).toBe(true);
    expect(l.name.length).toBeLessThanOrEqual(63);
    expect(envMap(buildContainerGroup(l, ctx)).find((e) => e.name === 'AZP_AGENT_NAME')?.value).toBe(l.name);
    expect(isValidGroupName(placeholderName('azp', 'linux'))).toBe(true);
  });

  it('rejects invalid names and a missing token', () => {
    expect(() => buildContainerGroup(launch({ name: 'Bad_Name' }), ctx)).toThrow(/invalid container group name/);
    expect(() => buildContainerGroup(launch({ name: `a${'b'.repeat(63)}` }), ctx)).toThrow(/invalid/);
    expect(() => buildContainerGroup(launch({ token: '' }), ctx)).toThrow(/no agent token/);
  });
});

describe('ARM wire body', () => {
  const variants: [string, ProfileConfig, boolean][] = [
    ['minimal', profile(), false],
    ['placeholder', profile(), true],
    ['spot', profile({ spot: true, env: { A: '1' } }), false],
    [
      'subnet + registry',
      profile({ subnetId: SUBNET, registry: { server: 'contoso.azurecr.io', identity: IDENTITY } }),
      false,
    ],
    ['windows', profile({ os: 'Windows', cpu: 1, memoryGb: 1.5 }), false],
    [
      'windows, largest size, private registry',
      profile({ os: 'Windows', cpu: 4, memoryGb: 16, registry: { server: 'contoso.azurecr.io', identity: IDENTITY } }),
      false,
    ],
    ['windows placeholder', profile({ os: 'Windows', image: 'contoso.azurecr.io/azp-agent:4.269.0-windows' }), true],
  ];

  it.each(variants)('%s validates against the ACI OpenAPI ContainerGroup (strict)', async (_n, p, placeholder) => {
    const body = await containerGroupWireBody(launch({ placeholder }, p), ctx);
    expect(validateContainerGroupPut(body)).toEqual([]);
  });

  it.each(variants)('%s carries the canary PAT only as the AZP_TOKEN secureValue', async (_n, p, placeholder) => {
    const body = await containerGroupWireBody(launch({ placeholder }, p), ctx);
    expect(pathsOf(body, CANARY)).toEqual([
      '$.properties.containers[0].properties.environmentVariables[3].secureValue',
    ]);
    const vars = (body.properties as { containers: { properties: { environmentVariables: { name: string }[] } }[] })
      .containers[0]!.properties.environmentVariables;
    expect(vars[3]?.name).toBe('AZP_TOKEN');
  });

  it('a Windows profile: osType Windows, the Windows image and the agent contract of start.ps1', async () => {
    const p = profile({
      name: 'win',
      os: 'Windows',
      cpu: 4,
      memoryGb: 16,
      image: 'contoso.azurecr.io/azp-agent:4.269.0-windows',
    });
    for (const placeholder of [false, true]) {
      const body = await containerGroupWireBody(
        launch(
          {
            placeholder,
            name: placeholder ? placeholderName('azp', 'win') : agentName('azp', 'win', 0, '000000000001'),
          },
          p,
        ),
        ctx,
      );
      expect(validateContainerGroupPut(body)).toEqual([]);
      const props = body.properties as {
        osType: string;
        restartPolicy: string;
        subnetIds?: unknown;
        priority?: unknown;
        containers: {
          properties: { image: string; resources: unknown; environmentVariables: { name: string; value?: string }[] };
        }[];
      };
      expect(props).toMatchObject({ osType: 'Windows', restartPolicy: 'Never' });
      expect(props.subnetIds).toBeUndefined();
      expect(props.priority).toBeUndefined();
      const c = props.containers[0]!.properties;
      expect(c.image).toBe('contoso.azurecr.io/azp-agent:4.269.0-windows');
      expect(c.resources).toEqual({ requests: { cpu: 4, memoryInGB: 16 } });
      const env = Object.fromEntries(c.environmentVariables.map((e) => [e.name, e.value]));
      expect(env.AZP_RUN_MODE).toBe(placeholder ? 'placeholder' : 'once');
      expect(env.AZP_AUTOSCALER).toBe('1');
    }
  });

  it('the validator refuses a Windows body ARM would refuse (unknown osType)', async () => {
    const body = await containerGroupWireBody(launch({}, profile({ os: 'Windows' })), ctx);
    (body.properties as { osType: string }).osType = 'Windows2022';
    expect(validateContainerGroupPut(body).join('\n')).toMatch(/osType/);
  });

  it('nests the flattened model under properties, as ARM expects', async () => {
    const body = await containerGroupWireBody(launch(), ctx);
    expect(Object.keys(body).sort()).toEqual(['location', 'properties', 'tags']);
    expect(body.properties).toMatchObject({ restartPolicy: 'Never', osType: 'Linux' });
  });

  it('the validator catches a body that was not serialized (top-level containers, no properties)', () => {
    const raw = JSON.parse(JSON.stringify(buildContainerGroup(launch(), ctx))) as unknown;
    const errors = validateContainerGroupPut(raw);
    expect(errors.join('\n')).toMatch(/required property 'properties'/);
    expect(errors.join('\n')).toMatch(/containers/);
  });

  it('the validator accepts the contract examples', async () => {
    const { readFileSync } = await import('node:fs');
    const { contractsDir } = await import('../contract/paths.js');
    for (const f of [
      'ContainerGroupsCreatePriority',
      'ContainerGroupsCreateOrUpdate',
      'ContainerGroupsCreateOrUpdateSecretReference',
    ]) {
      const ex = JSON.parse(readFileSync(`${contractsDir()}/aci/examples/${f}.json`, 'utf8')) as {
        parameters: { containerGroup: unknown };
      };
      expect(validateContainerGroupPut(ex.parameters.containerGroup), f).toEqual([]);
    }
  });
});
