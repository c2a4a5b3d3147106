/**
 * A first deploy before the PAT is stored (a manual step): every pass finds no secret. The pass
 * metric says `waiting`, not `failed`, so the "no successful pass" alert
 * (infra/monitoring/no-successful-pass.kql) stays quiet until a person has had the chance to store
 * it; postdeploy and `doctor` say what to do meanwhile. Real runtime, HTTPS fakes (Key Vault 404).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/app/runtime.js';
import { Telemetry } from '../../src/app/telemetry.js';
import { MemoryPoolLock } from '../../src/ports/index.js';
import { memoryLogger } from '../../src/util/log.js';
import { repoRoot } from '../contract/paths.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { makeTestCert } from '../fakes/tls.js';

const PAT = 'canarypat-firstdeploy-telemetry-7c2e9a4b1d8f3e6a0c5b9d2e';
const SUB = '00000000-0000-0000-0000-0000000000f1';
const RG = 'rg-first';
let stack: FakeStack;
beforeAll(async () => {
  stack = await startFakeStack({ pat: PAT, subscriptionId: SUB, resourceGroup: RG });
});
afterAll(async () => {
  await stack.close();
});

describe('the first deploy, before the PAT is stored', () => {
  it('passes count as waiting (not failed); once the secret is there they count as ok', async () => {
    const pool = 'first';
    stack.azdo.addPool(pool);
    const telemetry = new Telemetry();
    const env = stack.env({
      POOLS: JSON.stringify([{ name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false }]),
      AUTOSCALER_ID: 'first',
    });
    const rt = createRuntime(env, {
      logger: memoryLogger(),
      lock: new MemoryPoolLock(),
      credential: stack.credential,
      azure: { ca: makeTestCert().cert, retryOptions: { maxRetries: 0 } },
      azdoDispatcher: stack.dispatcher,
      telemetry,
      handoff: { send: async () => {} },
    });
    stack.kv.inject({
      status: 404,
      code: 'SecretNotFound',
      message: 'A secret with (name/id) azp-token was not found in this key vault.',
      times: Infinity,
    });
    await rt.coordinator.requestAll([pool], 'timer');
    await rt.coordinator.requestAll([pool], 'timer');
    expect(telemetry.counts().pools[pool]?.passes).toEqual({ waiting: 2 });
    stack.kv.clearFaults();
    await rt.coordinator.requestAll([pool], 'timer');
    expect(telemetry.counts().pools[pool]?.passes).toEqual({ waiting: 2, ok: 1 });
  });

  it('the alert query leaves out pools whose passes only waited for the PAT', () => {
    const kql = readFileSync(join(repoRoot, 'infra/monitoring/no-successful-pass.kql'), 'utf8');
    expect(kql).toMatch(/waiting = sumif\(valueSum, outcome == "waiting"\)/);
    expect(kql).toMatch(/\| where not\(okPasses == 0 and waiting > 0\)/);
  });
});
