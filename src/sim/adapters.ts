/**
 * The simulated world behind the same ports as the real adapters (Azure DevOps REST, ARM, Key
 * Vault), so the REAL `reconcile()` drives it: each call is counted and takes its latency on the
 * virtual clock. What breaks the contract here (a busy registration deleted, a launch without the
 * Key Vault PAT) is recorded as a violation.
 */
import { placementTag } from '../core/placements.js';
import type { AgentRegistration, JobRequest, OwnedGroup } from '../core/types.js';
import type { AgentLaunch, AzureDevOpsPort, ComputePort, GroupDetail, SecretPort } from '../ports/index.js';
import { simJobId, type AzureDevOpsModel, type SimAgent, type SimJob } from './azdo-model.js';
import { SimPortError } from './faults.js';
import type { VirtualClock } from './clock.js';
import type { ComputeModel } from './compute.js';
import type { Violation } from './violations.js';
import type { WorldOptions } from './world-options.js';

/** What the simulated ports use of the world (src/sim/world.ts is one; the ports do not import it). */
export interface SimBackend {
  readonly clock: VirtualClock;
  readonly opts: WorldOptions;
  readonly azdo: AzureDevOpsModel;
  readonly compute: ComputeModel;
  readonly canary: string;
  readonly resolvedPools: Set<string>;
  bump(counter: string): void;
  violate(v: Omit<Violation, 'atMs'>): void;
  countCall(kind: 'azdo' | 'arm', op: string): void;
}

function toJobRequest(j: SimJob, matchedAgentIds?: number[]): JobRequest {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  const r: JobRequest = {
    requestId: j.id,
    jobId: simJobId(j.id),
    queueTime: iso(j.queuedMs),
    demands: j.trace.demands,
    poolId: j.poolId,
    planType: 'Build',
    jobName: j.trace.name ?? `job-${j.id}`,
  };
  if (matchedAgentIds) r.matchedAgentIds = matchedAgentIds;
  if (j.assignedMs !== undefined) {
    r.assignTime = iso(j.assignedMs);
    r.receiveTime = iso(j.assignedMs + 500);
    r.reservedAgent = { id: j.agentId!, name: j.agentName! };
  }
  return r;
}

function toRegistration(a: SimAgent): AgentRegistration {
  const r: AgentRegistration = {
    id: a.id,
    name: a.name,
    status: a.status,
    enabled: a.enabled,
    createdOn: new Date(a.createdMs).toISOString(),
    statusChangedOn: new Date(a.statusChangedMs).toISOString(),
    version: '4.260.0',
  };
  if (a.assignedRequestId !== undefined) r.assignedRequestId = a.assignedRequestId;
  if (a.lastCompletedMs !== undefined) r.lastCompletedFinishTime = new Date(a.lastCompletedMs).toISOString();
  if (a.lastCompleted)
    r.lastCompletedRequest = {
      requestId: a.lastCompleted.requestId,
      jobId: simJobId(a.lastCompleted.requestId),
      queueTime: new Date(a.lastCompleted.queuedMs).toISOString(),
    };
  return r;
}

export function simAzdoPort(world: SimBackend): AzureDevOpsPort {
  const azdo = world.azdo;
  const call = async (op: string) => {
    world.countCall('azdo', op);
    await world.clock.sleep(world.opts.azdoLatencyMs);
  };
  return {
    resolvePoolId: async (poolName) => {
      // The real adapter caches the id: one call per pool per process.
      if (!world.resolvedPools.has(poolName)) {
        world.resolvedPools.add(poolName);
        await call('resolvePool');
      }
      const id = azdo.findPool(poolName);
      if (id === undefined) throw new SimPortError('notFound', undefined, `pool '${poolName}' not found`, 'Error');
      return id;
    },
    listJobRequests: async (poolId) => {
      await call('listJobRequests');
      // Like the service: every unfinished request lists the registrations able to run it.
      return azdo
        .unfinishedJobs(poolId)
        .map((j) => toJobRequest(j, j.result || j.assignedMs !== undefined ? undefined : azdo.matchedAgentIds(j)));
    },
    listAgents: async (poolId) => {
      await call('listAgents');
      return [...azdo.agents.values()].filter((a) => a.poolId === poolId).map(toRegistration);
    },
    getAgent: async (poolId, agentId) => {
      await call('getAgent');
      const a = azdo.agents.get(agentId);
      return a && a.poolId === poolId ? toRegistration(a) : undefined;
    },
    listAgentRequests: async (poolId, agentId) => {
      await call('listAgentRequests');
      // The service filters on the request's reserved agent: the side the agent record does not hold.
      return azdo
        .unfinishedJobs(poolId)
        .filter((j) => j.agentId === agentId)
        .map((j) => toJobRequest(j, undefined));
    },
    getAgentCapabilities: async (poolId, agentId) => {
      await call('getAgentCapabilities');
      const a = azdo.agents.get(agentId);
      return a && a.poolId === poolId ? { ...(a.reported ?? {}) } : undefined;
    },
    findAgent: async (poolId, agentName) => {
      await call('findAgent');
      const a = [...azdo.agents.values()].find((x) => x.poolId === poolId && x.name === agentName);
      return a ? toRegistration(a) : undefined;
    },
    setAgentEnabled: async (_poolId, agentId, enabled) => {
      await call('setAgentEnabled');
      const a = azdo.agents.get(agentId);
      if (!a) throw new SimPortError('notFound', 404, `agent ${agentId} not found`, 'Error');
      a.enabled = enabled;
      if (enabled) azdo.scheduleDispatch();
    },
    deleteAgent: async (_poolId, agentId) => {
      await call('deleteAgent');
      const a = azdo.agents.get(agentId);
      if (!a) return;
      if (a.assignedRequestId !== undefined) {
        world.violate({
          kind: 'busyRegistrationDeleted',
          agent: a.name,
          job: a.assignedRequestId,
          detail: `registration ${a.name} deleted while it held job ${a.assignedRequestId}`,
        });
      }
      azdo.unregister(agentId);
    },
  };
}

/** The ACI port for the controller `owner` (only its groups are listed). */
export function simComputePort(world: SimBackend, owner: string): ComputePort {
  const compute = world.compute;
  const call = async (op: string, latencyMs: number) => {
    world.countCall('arm', op);
    await world.clock.sleep(latencyMs);
  };
  return {
    listGroups: async () => {
      await call('listGroups', world.opts.armListLatencyMs);
      const out: OwnedGroup[] = [];
      for (const m of compute.machines.values()) {
        if (m.owner !== owner || m.kind !== 'aci') continue;
        // A list item carries provisioningState but no instanceView.
        out.push({
          name: m.name,
          pool: m.pool,
          profile: m.profile.name,
          createdAt: m.createdAtTag,
          provisioningState: m.provisioningState,
          placeholder: m.placeholder,
          ...(m.placement ? { placement: m.placement } : {}),
        });
      }
      return out;
    },
    getGroup: async (name) => {
      await call('getGroup', world.opts.armGetLatencyMs);
      const m = compute.machines.get(name);
      if (!m || m.owner !== owner) return undefined;
      const d: GroupDetail = { name, provisioningState: m.provisioningState };
      if (m.instanceState !== undefined) d.instanceState = m.instanceState;
      if (m.exitCode !== undefined) d.exitCode = m.exitCode;
      if (m.detail !== undefined) d.detail = m.detail;
      return d;
    },
    createGroup: async (launch: AgentLaunch) => {
      await call('createGroup', world.opts.armCreateLatencyMs);
      compute.checkCreate(owner, launch.profile);
      if (launch.token !== world.canary) {
        world.violate({
          kind: 'wrongToken',
          by: owner,
          profile: launch.profile.name,
          group: launch.name,
          detail: `group ${launch.name} launched without the Key Vault PAT`,
        });
      }
      if (compute.machines.has(launch.name)) {
        // ARM PUT on an existing name is an update, not a second group.
        world.bump('createOnExistingName');
        return;
      }
      const location = launch.placement?.location ?? SIM_LOCATION;
      const spot = launch.placement ? launch.placement.spot : launch.profile.spot;
      compute.startMachine(
        'aci',
        owner,
        launch.name,
        launch.pool,
        launch.profile,
        launch.placeholder,
        launch.createdAt,
        {
          location,
          placement: placementTag(launch.placement?.index ?? 0, location, spot),
        },
      );
    },
    deleteGroup: async (name) => {
      await call('deleteGroup', world.opts.armDeleteLatencyMs);
      const m = compute.machines.get(name);
      if (!m || m.owner !== owner) return; // 404 counts as done
      compute.removeMachine(name, owner);
    },
    getLogs: async (name) => {
      await call('getLogs', world.opts.armGetLatencyMs);
      const m = compute.machines.get(name);
      return m ? `Determining matching Azure Pipelines agent...\n${m.detail ?? 'no error'}` : undefined;
    },
  };
}

/** The simulated deployment's ACI_LOCATION. */
export const SIM_LOCATION = 'westeurope';

export function simSecretPort(world: SimBackend): SecretPort {
  return { getToken: async () => world.canary, invalidate: () => undefined };
}
