/**
 * `azp-aci-autoscaler setup-webhook` through the real entry against the fake Azure DevOps (hooks
 * API and projects list as in their contracts) and Key Vault: one subscription per project however
 * often it runs, a new --url moves the same subscription, one of ours pointing elsewhere is
 * corrected in place, another tool's subscription is left alone, and the password is never printed.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main, type CliContext } from '../../src/cli.js';
import { JOB_STATE_CHANGED } from '../../src/azdo/hooks.js';
import type { FakeSubscription } from '../fakes/azdo.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { captureOutput } from '../helpers/capture-output.js';
import { jobHookSubscription } from '../helpers/job-hook.js';

const PAT = 'canary-pat-setup-webhook-3c9e71b0a2f4d8';
const WEBHOOK_PASSWORD = 'canary-secret-setup-webhook-9d2e5a';
const URL_A = 'https://func-a.azurewebsites.net/api/servicehook?code=key-a';
const URL_B = 'https://func-b.azurewebsites.net/api/servicehook?code=key-b';

let stack: FakeStack;
let dir: string;
beforeAll(async () => {
  stack = await startFakeStack({
    pat: PAT,
    subscriptionId: '00000000-0000-0000-0000-0000000000e0',
    resourceGroup: 'rg-hooks',
  });
  stack.azdo.addPool('aci-hooks');
  dir = mkdtempSync(path.join(tmpdir(), 'azp-setup-webhook-'));
});
afterAll(async () => {
  await stack?.close();
});

const { out, err } = captureOutput();
beforeEach(() => {
  stack.azdo.state.projects = [];
  stack.azdo.state.subscriptions = [];
  stack.azdo.state.projectPageSize = 100;
  for (const n of ['web', 'api', 'docs']) stack.azdo.addProject(n);
  stack.azdo.clearRequests();
});

function ctx(values: Record<string, string> = {}): CliContext {
  return {
    env: stack.env({
      POOLS: JSON.stringify([{ name: 'linux', pool: 'aci-hooks', image: 'contoso.azurecr.io/azp-agent:1' }]),
      WEBHOOK_USERNAME: 'azp-hook',
      WEBHOOK_PASSWORD,
      ...values,
    }),
    cwd: dir,
    runtime: {
      credential: stack.credential,
      azure: { ca: stack.cert.cert, retryOptions: { maxRetries: 0 } },
      azdoDispatcher: stack.dispatcher,
    },
  };
}

async function setup(args: string[], values: Record<string, string> = {}) {
  const code = await main(['setup-webhook', ...args], ctx(values));
  return { code, text: out.join('') + err.join('') };
}

const jobHooks = () => stack.azdo.state.subscriptions.filter((s) => s.eventType === JOB_STATE_CHANGED);
const projectId = (name: string) => stack.azdo.state.projects.find((p) => p.name === name)!.id;

function seed(projectName: string, consumerInputs: Record<string, string>): FakeSubscription {
  const s = jobHookSubscription(projectId(projectName), consumerInputs);
  stack.azdo.state.subscriptions.push(s);
  return s;
}

describe('setup-webhook', () => {
  it('run twice: one subscription per project, as the contract shapes it; the password never printed', async () => {
    const first = await setup(['--url', URL_A]);
    expect(first.code, first.text).toBe(0);
    expect(first.text).toMatch(/project 'web': created/);
    const second = await setup(['--url', URL_A]);
    expect(second.code, second.text).toBe(0);
    expect(second.text).toMatch(/project 'web': updated/);
    const subs = jobHooks();
    expect(subs).toHaveLength(3);
    expect(new Set(subs.map((s) => s.publisherInputs.projectId))).toEqual(
      new Set(['web', 'api', 'docs'].map(projectId)),
    );
    for (const s of subs) {
      expect(s).toMatchObject({
        publisherId: 'pipelines',
        eventType: 'ms.vss-pipelines.job-state-changed-event',
        consumerId: 'webHooks',
        consumerActionId: 'httpRequest',
        consumerInputs: { url: URL_A, basicAuthUsername: 'azp-hook', basicAuthPassword: WEBHOOK_PASSWORD },
      });
    }
    for (const text of [first.text, second.text]) {
      expect(text).not.toContain(WEBHOOK_PASSWORD);
      expect(text).not.toContain('key-a'); // the function key in the URL's query is not printed either
      expect(text).not.toContain(PAT);
    }
  });

  it('another --url: still one per project, the same subscriptions, the new URL', async () => {
    await setup(['--url', URL_A]);
    const ids = jobHooks().map((s) => s.id);
    const { code, text } = await setup(['--url', URL_B]);
    expect(code, text).toBe(0);
    expect(text).toMatch(
      /project 'api': corrected \(pointed at https:\/\/func-a\.azurewebsites\.net\/api\/servicehook\?…\)/,
    );
    expect(jobHooks().map((s) => s.id)).toEqual(ids);
    expect(jobHooks().every((s) => s.consumerInputs.url === URL_B)).toBe(true);
  });

  it('corrects ours in place (same id), removes our duplicates, leaves another tool’s subscription alone', async () => {
    const stale = seed('web', { url: 'https://old-func.example.net/api/servicehook', basicAuthUsername: 'azp-hook' });
    seed('web', { url: 'https://old-func.example.net/api/servicehook', basicAuthUsername: 'azp-hook' });
    const foreign = seed('web', { url: 'https://ci-dashboard.example.com/hooks/jobs' });
    const { code, text } = await setup(['--url', URL_A, '--project', 'WEB']);
    expect(code, text).toBe(0);
    expect(text).toMatch(
      /project 'web': corrected \(pointed at https:\/\/old-func\.example\.net\/api\/servicehook\), 1 duplicate\(s\) removed/,
    );
    const web = jobHooks().filter((s) => s.publisherInputs.projectId === projectId('web'));
    expect(web.map((s) => s.id).sort()).toEqual([stale.id, foreign.id].sort());
    expect(web.find((s) => s.id === stale.id)!.consumerInputs.url).toBe(URL_A);
    expect(web.find((s) => s.id === foreign.id)!.consumerInputs.url).toBe(
      'https://ci-dashboard.example.com/hooks/jobs',
    );
    // --project: the other projects were not touched.
    expect(jobHooks().filter((s) => s.publisherInputs.projectId !== projectId('web'))).toEqual([]);
  });

  it('reads every page of the projects list', async () => {
    stack.azdo.state.projectPageSize = 2;
    const { code, text } = await setup(['--url', URL_A]);
    expect(code, text).toBe(0);
    expect(jobHooks()).toHaveLength(3);
    expect(stack.azdo.requests.filter((r) => r.path.endsWith('/_apis/projects'))).toHaveLength(2);
  });

  it('refuses bad usage with exit 2: no --url, plain http, an unknown project, no webhook credentials', async () => {
    expect((await setup([])).code).toBe(2);
    expect((await setup(['--url', 'http://func.example.net/api/servicehook'])).code).toBe(2);
    const unknown = await setup(['--url', URL_A, '--project', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.text).toMatch(/unknown project 'nope': the organization has 'web', 'api', 'docs'/);
    expect((await setup(['--url', URL_A], { WEBHOOK_USERNAME: '', WEBHOOK_PASSWORD: '' })).code).toBe(2);
    expect(stack.azdo.writes()).toEqual([]);
  });

  it('a refused PAT is exit 1 with the problem named, nothing written', async () => {
    stack.azdo.state.pat = 'another-one';
    try {
      const { code, text } = await setup(['--url', URL_A]);
      expect(code).toBe(1);
      expect(text).toMatch(/setup-webhook: .*401/);
      expect(text).not.toMatch(/\n\s+at /);
      expect(stack.azdo.writes()).toEqual([]);
    } finally {
      stack.azdo.state.pat = PAT;
    }
  });
});
