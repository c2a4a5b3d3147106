/**
 * Ports: the small interfaces the reconcile pass talks to. The real adapters (src/azdo, src/aci,
 * src/secrets), the simulator (src/sim) and the tests' fakes all implement these.
 */
import type { AgentRegistration, JobRequest, OwnedGroup } from '../core/types.js';
import type { ProfileConfig } from '../config/schema.js';

export interface AzureDevOpsPort {
  /** Pool id by name; implementations cache it. Throws AzdoError(404-ish) when the pool does not exist. */
  resolvePoolId(poolName: string): Promise<number>;
  /** Unfinished job requests of the pool (completedRequestCount=0, never $top). */
  listJobRequests(poolId: number): Promise<JobRequest[]>;
  /** Agents of the pool with their assigned request and last completed request. */
  listAgents(poolId: number): Promise<AgentRegistration[]>;
  /** One agent with its assigned request, or undefined when it no longer exists. */
  getAgent(poolId: number, agentId: number): Promise<AgentRegistration | undefined>;
  /**
   * The pool's registration of that name with its assigned request, or undefined when there is
   * none (`agents?agentName=`): the re-read right before deleting a group that had no registration.
   */
  findAgent(poolId: number, agentName: string): Promise<AgentRegistration | undefined>;
  /** PATCH enabled:true|false. */
  setAgentEnabled(poolId: number, agentId: number, enabled: boolean): Promise<void>;
  /** DELETE the registration; a 404 counts as done. */
  deleteAgent(poolId: number, agentId: number): Promise<void>;
}

/** What the compute provider needs to start one agent. */
export interface AgentLaunch {
  /** Container group name = agent name. */
  name: string;
  pool: string;
  profile: ProfileConfig;
  placeholder: boolean;
  /** The PAT handed to the agent, only ever as a secure value. */
  token: string;
  /** ISO creation time for the created-at tag. */
  createdAt: string;
}

export interface GroupDetail {
  name: string;
  provisioningState?: string;
  /** instanceView.state: Running | Succeeded | Failed | Stopped | Pending. */
  instanceState?: string;
  /** Container exit code when terminated. */
  exitCode?: number;
  /** Short human-readable cause: last events / current state detail. */
  detail?: string;
}

export interface ComputePort {
  /** Every group carrying our ownership tags in the resource group (one paged list). */
  listGroups(): Promise<OwnedGroup[]>;
  /** GET one group with instanceView; undefined when gone. */
  getGroup(name: string): Promise<GroupDetail | undefined>;
  /** Start creating a group; resolves once ARM accepted the request (does not wait for the LRO). */
  createGroup(launch: AgentLaunch): Promise<void>;
  /** Start deleting a group; a 404 counts as done. */
  deleteGroup(name: string): Promise<void>;
  /** Container logs tail, for failed boots (optional). */
  getLogs?(name: string): Promise<string | undefined>;
}

export interface SecretPort {
  /** The agent PAT (cached briefly). */
  getToken(): Promise<string>;
  /** Drop the cache, e.g. after Azure DevOps answered 401 (rotated PAT). */
  invalidate(): void;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}
