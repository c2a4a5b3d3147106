/**
 * Proven ownership of an agent registration. Pure.
 *
 * A registration carries no tag, and its name proves nothing: another deployment sharing the pool
 * with the same prefix, or a person, can register `{prefix}-{profile}-{20 chars}` too. What a
 * registration does carry is what its agent reported: every environment variable of the agent's
 * process becomes a system capability (microsoft/azure-pipelines-agent,
 * src/Microsoft.VisualStudio.Services.Agent/Capabilities/EnvironmentCapabilitiesProvider.cs: all
 * variables except a short well-known list, the names in `VSO_AGENT_IGNORE`, and values of 1,024
 * characters or more), sent with the registration itself by `config.sh`
 * (src/Agent.Listener/Configuration/ConfigurationManager.cs, CreateNewAgent / UpdateExistingAgent)
 * and again at each listener start (src/Agent.Listener/MessageListener.cs). So every container we
 * create gets our identity in its environment (src/aci/spec.ts), and a registration is ours only
 * when its capabilities name this deployment and the registration's own name.
 *
 * A registration without the identity (made by an autoscaler version before this one, by an image
 * that hides its environment, or by a person) is `unproven`: it is never disabled, unregistered
 * or deleted by name; the pass says so once with the fix.
 */

/** The deployment's AUTOSCALER_ID, in every agent container's environment. */
export const IDENTITY_ENV_ID = 'AZP_AUTOSCALER_ID';
/**
 * Where the deployment's groups live (a digest of subscription and resource group, see
 * src/app/deps.ts `deploymentScope`): two deployments in two resource groups that both keep the
 * default AUTOSCALER_ID still tell their agents apart.
 */
export const IDENTITY_ENV_SCOPE = 'AZP_AUTOSCALER_SCOPE';
/** The agent (= container group) name, already in every agent container's environment. */
export const IDENTITY_ENV_NAME = 'AZP_AGENT_NAME';

/** Who this deployment is, as its agents report it. */
export interface DeploymentIdentity {
  /** AUTOSCALER_ID. */
  autoscalerId: string;
  /** Digest of subscription and resource group; absent where there is none (the simulator). */
  scope?: string;
}

/** The environment variables that carry the identity (besides AZP_AGENT_NAME, set for every agent). */
export function identityEnv(identity: DeploymentIdentity): Record<string, string> {
  return {
    [IDENTITY_ENV_ID]: identity.autoscalerId,
    ...(identity.scope !== undefined ? { [IDENTITY_ENV_SCOPE]: identity.scope } : {}),
  };
}

export type Ownership = 'ours' | 'theirs' | 'unproven';

export interface OwnershipVerdict {
  verdict: Ownership;
  why: string;
}

/**
 * Whose registration this is, from what it reported (system and user capabilities, names compared
 * case-insensitively as Windows reports environment names in any case):
 * - `ours`: our AUTOSCALER_ID, our scope (when we have one) and its own name in AZP_AGENT_NAME;
 * - `theirs`: an AUTOSCALER_ID, scope or agent name that is not ours (another deployment);
 * - `unproven`: no identity at all (older autoscaler, an image hiding its environment, a person).
 */
export function ownershipOf(
  capabilities: Readonly<Record<string, string>> | undefined,
  registrationName: string,
  identity: DeploymentIdentity,
): OwnershipVerdict {
  const caps = new Map(Object.entries(capabilities ?? {}).map(([k, v]) => [k.toUpperCase(), v]));
  const id = caps.get(IDENTITY_ENV_ID);
  if (id === undefined || id === '')
    return { verdict: 'unproven', why: `no ${IDENTITY_ENV_ID} capability (an older autoscaler or image, or a person)` };
  if (id !== identity.autoscalerId) return { verdict: 'theirs', why: `${IDENTITY_ENV_ID} is another deployment's` };
  const scope = caps.get(IDENTITY_ENV_SCOPE);
  if ((scope ?? '') !== (identity.scope ?? ''))
    return { verdict: 'theirs', why: `${IDENTITY_ENV_SCOPE} is another resource group's` };
  const name = caps.get(IDENTITY_ENV_NAME);
  if (name === undefined || name.toLowerCase() !== registrationName.toLowerCase())
    return { verdict: 'unproven', why: `${IDENTITY_ENV_NAME} does not name this registration` };
  return { verdict: 'ours', why: `${IDENTITY_ENV_ID} and ${IDENTITY_ENV_NAME} prove it` };
}
