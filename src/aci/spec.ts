/**
 * Container-group spec for one agent: pure, no I/O.
 *
 * The SDK's `ContainerGroup` model is *flattened* (`containers`, `osType`, `restartPolicy`, … at the
 * top level); the SDK serializer nests them under `properties` on the wire and silently drops a
 * `properties` key given here. `containerGroupWireBody` returns exactly what the SDK sends.
 */
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import type { ContainerGroup, EnvironmentVariable } from '@azure/arm-containerinstance';
import type { HttpClient, PipelineRequest } from '@azure/core-rest-pipeline';
import { isValidGroupName, ownershipTags } from '../core/names.js';
import { identityEnv } from '../core/ownership.js';
import { placementTag } from '../core/placements.js';
import type { AgentLaunch } from '../ports/index.js';
import { AGENT_ENV_NAME, agentEnvNameProblem } from '../config/agent-env.js';

/** Name of the single container in every group (used for logs). */
export const AGENT_CONTAINER = 'agent';

export interface SpecContext {
  /** AZP_URL: organization or collection URL. */
  azpUrl: string;
  /** ACI_LOCATION, e.g. westeurope. */
  location: string;
  /** AUTOSCALER_ID: ownership tag value, and in every agent's environment (AZP_AUTOSCALER_ID). */
  autoscalerId: string;
  /** Digest of subscription and resource group (AZP_AUTOSCALER_SCOPE; src/app/deps.ts `deploymentScope`). */
  scope?: string;
}

export function buildContainerGroup(launch: AgentLaunch, ctx: SpecContext): ContainerGroup {
  const p = launch.profile;
  if (!isValidGroupName(launch.name)) throw new Error(`invalid container group name '${launch.name}'`);
  if (!launch.token) throw new Error(`no agent token for container group '${launch.name}'`);
  const extra = Object.entries(p.env ?? {});
  // The settings schema refuses these already; a profile built in code must not slip one through.
  const clash = extra.find(([k]) => agentEnvNameProblem(k) !== undefined);
  if (clash)
    throw new Error(
      `profile '${p.name}' env ${AGENT_ENV_NAME.test(clash[0]) ? clash[0] : 'name'} ${agentEnvNameProblem(clash[0])!}`,
    );

  const environmentVariables: EnvironmentVariable[] = [
    { name: 'AZP_URL', value: ctx.azpUrl },
    { name: 'AZP_POOL', value: launch.pool },
    { name: 'AZP_AGENT_NAME', value: launch.name },
    { name: 'AZP_TOKEN', secureValue: launch.token },
    { name: 'AZP_RUN_MODE', value: launch.placeholder ? 'placeholder' : 'once' },
    { name: 'AZP_AUTOSCALER', value: '1' },
    // The agent reports its environment as system capabilities: these (with AZP_AGENT_NAME) prove
    // the registration is ours when no group of ours is behind it (src/core/ownership.ts).
    ...Object.entries(
      identityEnv({ autoscalerId: ctx.autoscalerId, ...(ctx.scope !== undefined ? { scope: ctx.scope } : {}) }),
    ).map(([name, value]) => ({ name, value })),
    ...extra.map(([name, value]) => ({ name, value })),
  ];

  const location = launch.placement?.location ?? ctx.location;
  const spot = launch.placement ? launch.placement.spot : p.spot;
  const group: ContainerGroup = {
    location,
    tags: ownershipTags({
      autoscalerId: ctx.autoscalerId,
      pool: launch.pool,
      profile: p.name,
      createdAt: launch.createdAt,
      placeholder: launch.placeholder,
      placement: placementTag(launch.placement?.index ?? 0, location, spot),
    }),
    osType: p.os,
    restartPolicy: 'Never',
    containers: [
      {
        name: AGENT_CONTAINER,
        image: p.image,
        resources: { requests: { cpu: p.cpu, memoryInGB: p.memoryGb } },
        environmentVariables,
      },
    ],
  };
  if (spot) group.priority = 'Spot';
  if (p.subnetId) group.subnetIds = [{ id: p.subnetId }];
  if (p.registry) {
    group.identity = { type: 'UserAssigned', userAssignedIdentities: { [p.registry.identity]: {} } };
    group.imageRegistryCredentials = [{ server: p.registry.server, identity: p.registry.identity }];
  }
  return group;
}

class Captured extends Error {
  constructor(readonly body: unknown) {
    super('captured');
  }
}

const captureClient: HttpClient = {
  sendRequest(request: PipelineRequest) {
    const text = typeof request.body === 'string' ? request.body : '';
    return Promise.reject(new Captured(text ? JSON.parse(text) : undefined));
  },
};

const offlineCredential = {
  getToken: () => Promise.resolve({ token: 'offline', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/** The ARM wire JSON (PUT body) the SDK serializer produces for a model. No network. */
export async function serializeContainerGroup(group: ContainerGroup): Promise<Record<string, unknown>> {
  const client = new ContainerInstanceManagementClient(offlineCredential, '00000000-0000-0000-0000-000000000000', {
    httpClient: captureClient,
    retryOptions: { maxRetries: 0 },
  });
  try {
    await client.containerGroups.beginCreateOrUpdate('rg', 'wire', group);
  } catch (e) {
    if (e instanceof Captured) return e.body as Record<string, unknown>;
    throw e;
  }
  throw new Error('serializer did not produce a request');
}

/** The ARM wire JSON (PUT body) for a launch, as the SDK sends it. Contains the token as secureValue. */
export function containerGroupWireBody(launch: AgentLaunch, ctx: SpecContext): Promise<Record<string, unknown>> {
  return serializeContainerGroup(buildContainerGroup(launch, ctx));
}
