/**
 * A service-hook subscription to the job-state-changed event on one project, as Azure DevOps stores
 * it (contracts/servicehooks/README.md), for seeding the fake Azure DevOps.
 */
import { JOB_STATE_CHANGED } from '../../src/azdo/hooks.js';
import type { FakeSubscription } from '../fakes/azdo.js';

export function jobHookSubscription(projectId: string, consumerInputs: Record<string, string>): FakeSubscription {
  return {
    id: crypto.randomUUID(),
    status: 'enabled',
    publisherId: 'pipelines',
    eventType: JOB_STATE_CHANGED,
    resourceVersion: '5.1-preview.1',
    consumerId: 'webHooks',
    consumerActionId: 'httpRequest',
    publisherInputs: { projectId },
    consumerInputs,
    createdDate: new Date().toISOString(),
    modifiedDate: new Date().toISOString(),
  };
}
