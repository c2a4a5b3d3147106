/**
 * doctor's pure rules: which AZP_URL is an organization, which RBAC patterns grant an action,
 * what agent version an image tag names, how an image reference splits into registry and repository.
 */
import { describe, expect, it } from 'vitest';
import { azdoUrlCheck, bakedAgentVersion } from '../../src/doctor/azdo.js';
import { actionMatches, allowed } from '../../src/doctor/azure.js';
import { parseImage } from '../../src/doctor/image.js';

describe('doctor rules', () => {
  it('AZP_URL: an organization, not a project or the bare host', () => {
    expect(azdoUrlCheck('https://dev.azure.com/contoso').status).toBe('ok');
    expect(azdoUrlCheck('https://dev.azure.com/contoso/web').status).toBe('fail');
    expect(azdoUrlCheck('https://dev.azure.com/contoso/web').fix).toContain('https://dev.azure.com/<organization>');
    expect(azdoUrlCheck('https://dev.azure.com').status).toBe('fail');
    expect(azdoUrlCheck('https://contoso.visualstudio.com').status).toBe('ok');
    expect(azdoUrlCheck('https://contoso.visualstudio.com/web').status).toBe('fail');
    expect(azdoUrlCheck('https://tfs.contoso.local/tfs/DefaultCollection').status).toBe('ok');
  });

  it('RBAC: wildcards grant, notActions take away', () => {
    expect(actionMatches('*', 'Microsoft.ContainerInstance/containerGroups/write')).toBe(true);
    expect(actionMatches('Microsoft.ContainerInstance/*', 'Microsoft.ContainerInstance/containerGroups/write')).toBe(
      true,
    );
    expect(actionMatches('*/read', 'Microsoft.ContainerInstance/containerGroups/write')).toBe(false);
    expect(actionMatches('*/read', 'microsoft.containerinstance/containergroups/READ')).toBe(true);
    const contributor = [{ actions: ['*'], notActions: ['Microsoft.Authorization/*/Write'] }];
    expect(allowed(contributor, 'Microsoft.ContainerInstance/containerGroups/delete')).toBe(true);
    expect(allowed(contributor, 'Microsoft.Authorization/roleAssignments/write')).toBe(false);
    const denied = [{ actions: ['*'], notActions: ['Microsoft.ContainerInstance/containerGroups/delete'] }];
    expect(allowed(denied, 'Microsoft.ContainerInstance/containerGroups/delete')).toBe(false);
  });

  it('the baked agent version is the tag’s leading x.y.z (infra/hooks/preprovision.sh tags <version>-<commit>)', () => {
    expect(bakedAgentVersion('contoso.azurecr.io/azp-agent:4.269.0-0123456789ab')).toBe('4.269.0');
    expect(bakedAgentVersion('127.0.0.1:5000/azp-agent:4.269.0')).toBe('4.269.0');
    expect(bakedAgentVersion('contoso.azurecr.io/azp-agent:latest')).toBeUndefined();
    expect(bakedAgentVersion('127.0.0.1:5000/azp-agent')).toBeUndefined();
  });

  it('image references: Docker Hub defaults, registry with a port, digests', () => {
    expect(parseImage('ubuntu')).toEqual({
      registry: 'registry-1.docker.io',
      repository: 'library/ubuntu',
      reference: 'latest',
    });
    expect(parseImage('myorg/agent:1')).toEqual({
      registry: 'registry-1.docker.io',
      repository: 'myorg/agent',
      reference: '1',
    });
    expect(parseImage('127.0.0.1:5000/team/agent:4.2')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'team/agent',
      reference: '4.2',
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseImage(`contoso.azurecr.io/agent@${digest}`).reference).toBe(digest);
  });
});
