/**
 * The first deployment, before anyone stored the PAT: each pass says "waiting for the PAT in Key
 * Vault secret X" once per process (a warning, no stack, no error line), acts on nothing, and
 * works as soon as the secret exists. Through the real pass and clients against the HTTPS fakes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDeps, reconcileOptions } from '../../src/app/deps.js';
import { loadSettings } from '../../src/config/load.js';
import { memoryPoolStateStore } from '../../src/ports/index.js';
import { reconcile } from '../../src/reconcile/pass.js';
import { memoryLogger } from '../../src/util/log.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';

const PAT = 'canarypat-firstdeploy-7e1c3a9b5d2f4e6a8c0b';
let stack: FakeStack;
beforeAll(async () => {
  stack = await startFakeStack({
    pat: PAT,
    subscriptionId: '00000000-0000-0000-0000-0000000000f1',
    resourceGroup: 'rg-first',
  });
  stack.azdo.addPool('aci-first');
  stack.kv.deleteSecret('azp-token');
});
afterAll(async () => {
  await stack.close();
});

/** One profile on 'aci-first', the real clients against the fakes; `extra` adds settings. */
function deployment(extra: Record<string, string> = {}) {
  const settings = loadSettings(
    stack.env({
      ...extra,
      POOLS: JSON.stringify([{ name: 'linux', pool: 'aci-first', image: 'contoso.azurecr.io/azp-agent:1' }]),
    }),
    { requireAzure: true },
  );
  const log = memoryLogger();
  const deps = buildDeps(settings, log, {
    credential: stack.credential,
    azure: { ca: stack.cert.cert, retryOptions: { maxRetries: 0 } },
    azdoDispatcher: stack.dispatcher,
    poolState: memoryPoolStateStore(),
  });
  return { settings, log, deps };
}

describe('first deployment, before the PAT is stored', () => {
  it('says once that it waits for the PAT in the named secret, no error, no stack; then runs once it is stored', async () => {
    const { settings, log, deps } = deployment();
    for (let i = 0; i < 3; i++) {
      const r = await reconcile(reconcileOptions(settings), deps);
      expect(r.pools[0]?.ok).toBe(false);
      expect(r.pools[0]?.error).toMatch(/waiting for the PAT in Key Vault secret 'azp-token'/);
    }
    const waiting = log.lines.filter((l) => /waiting for the PAT in Key Vault secret 'azp-token'/.test(l));
    expect(waiting, log.lines.join('\n')).toHaveLength(1);
    expect(waiting[0]).toMatch(/^warn /);
    expect(
      log.lines.filter((l) => /^error |cannot observe the pool/.test(l)),
      log.lines.join('\n'),
    ).toEqual([]);
    expect(log.lines.join('\n')).not.toMatch(/\n\s+at |\.ts:\d+/);
    expect(stack.arm.requests.filter((r) => r.method === 'PUT')).toEqual([]);

    stack.kv.setSecret('azp-token', PAT);
    const ok = await reconcile(reconcileOptions(settings), deps);
    expect(ok.pools[0]?.ok, ok.pools[0]?.error).toBe(true);
  });

  it('with AZP_AUTH=entra the pass observes, and the creates the agents would need the PAT for wait (skipped, said once)', async () => {
    stack.kv.deleteSecret('azp-token');
    stack.azdo.state.bearer = stack.credential.token;
    stack.azdo.queueJob('aci-first', []);
    const { settings, log, deps } = deployment({ AZP_AUTH: 'entra' });
    stack.arm.clearRequests();
    for (let i = 0; i < 2; i++) {
      const r = await reconcile(reconcileOptions(settings), deps);
      const creates = r.pools[0]!.outcomes.filter((o) => o.action.kind === 'create');
      expect(creates.length).toBeGreaterThan(0);
      expect(creates.every((o) => o.status === 'skipped')).toBe(true);
    }
    expect(log.lines.filter((l) => /waiting for the PAT in Key Vault secret 'azp-token'/.test(l))).toHaveLength(1);
    expect(
      log.lines.filter((l) => /^error /.test(l)),
      log.lines.join('\n'),
    ).toEqual([]);
    expect(stack.arm.requests.filter((r) => r.method === 'PUT')).toEqual([]);
  });
});
