/** Whose registration it is, from what its agent reported (src/core/ownership.ts). */
import { describe, expect, it } from 'vitest';
import { identityEnv, ownershipOf } from '../../src/core/ownership.js';

const me = { autoscalerId: 'prod', scope: '0123456789abcdef' };
const name = 'azp-linux-0000000000000000000a';
const caps = (extra: Record<string, string>) => ({ 'Agent.Name': name, 'Agent.OS': 'Linux', ...extra });

describe('ownershipOf', () => {
  it('ours: our AUTOSCALER_ID and scope, and its own name (names of capabilities in any case)', () => {
    expect(ownershipOf(caps({ ...identityEnv(me), AZP_AGENT_NAME: name }), name, me).verdict).toBe('ours');
    expect(
      ownershipOf(
        caps({ azp_autoscaler_id: 'prod', Azp_Autoscaler_Scope: me.scope, azp_agent_name: name.toUpperCase() }),
        name,
        me,
      ).verdict,
    ).toBe('ours');
    expect(
      ownershipOf(caps({ AZP_AUTOSCALER_ID: 'sim', AZP_AGENT_NAME: name }), name, { autoscalerId: 'sim' }).verdict,
    ).toBe('ours');
  });

  it('theirs: another AUTOSCALER_ID, or the same one in another resource group', () => {
    expect(
      ownershipOf(caps({ ...identityEnv({ ...me, autoscalerId: 'staging' }), AZP_AGENT_NAME: name }), name, me).verdict,
    ).toBe('theirs');
    expect(
      ownershipOf(caps({ ...identityEnv({ ...me, scope: 'ffffffffffffffff' }), AZP_AGENT_NAME: name }), name, me)
        .verdict,
    ).toBe('theirs');
    expect(ownershipOf(caps({ AZP_AUTOSCALER_ID: 'prod', AZP_AGENT_NAME: name }), name, me).verdict).toBe('theirs');
  });

  it('unproven: no identity (older autoscaler or image, a person), or the identity of another registration name', () => {
    expect(ownershipOf(caps({}), name, me).verdict).toBe('unproven');
    expect(ownershipOf(undefined, name, me).verdict).toBe('unproven');
    expect(ownershipOf(caps({ AZP_AUTOSCALER_ID: '' }), name, me).verdict).toBe('unproven');
    expect(ownershipOf(caps({ ...identityEnv(me) }), name, me).verdict).toBe('unproven');
    expect(ownershipOf(caps({ ...identityEnv(me), AZP_AGENT_NAME: 'azp-linux-other' }), name, me).verdict).toBe(
      'unproven',
    );
  });
});
