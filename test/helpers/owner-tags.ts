/**
 * The tags a deployment puts on the container groups it creates (names in src/core/names.ts),
 * spelled out here so that tests seed groups as ARM would list them without calling the code
 * under test.
 */
export function ownerTags(t: {
  /** AUTOSCALER_ID of the deployment. */
  id: string;
  pool: string;
  profile: string;
  createdAt: string;
  role?: 'agent' | 'placeholder';
}): Record<string, string> {
  return {
    'managed-by': 'azp-aci-autoscaler',
    'autoscaler-id': t.id,
    'azp-pool': t.pool,
    'azp-profile': t.profile,
    'created-at': t.createdAt,
    'azp-role': t.role ?? 'agent',
  };
}
