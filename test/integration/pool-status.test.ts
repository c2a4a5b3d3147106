/**
 * A status for the pool, not the instance: what the passes did (counters, newest decisions) lives
 * in the pool-state blob in AzureWebJobsStorage (Azurite), so two instances answer GET /api/status
 * and `status` with the same figures, the one that never ran a pass included.
 */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/app/runtime.js';
import { renderStatusHtml } from '../../src/app/status-html.js';
import { formatStatusTable, historyLines } from '../../src/app/status.js';
import { placementsInWords, recordPass } from '../../src/core/pool-history.js';
import { makeStatusHandler } from '../../src/webhook/http.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { stackRuntime } from '../helpers/stack-runtime.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';

const PAT = 'canarypat-poolstatus-4d8e2a6c0b9f1e3a5c7d';
let stack: FakeStack;
let azurite: Azurite;
beforeAll(async () => {
  [stack, azurite] = await Promise.all([
    startFakeStack({ pat: PAT, subscriptionId: '00000000-0000-0000-0000-0000000000a5', resourceGroup: 'rg-status' }),
    startAzurite(),
  ]);
  stack.azdo.addPool('shared-status');
});
afterAll(async () => {
  await Promise.all([stack?.close(), azurite?.stop()]);
});

const instance = (): Runtime =>
  stackRuntime(stack, azurite, {
    id: 'pool-status',
    pools: [{ name: 'lx', pool: 'shared-status', image: 'contoso.azurecr.io/azp-agent:1', placeholder: false }],
  });

async function apiStatus(rt: Runtime): Promise<Record<string, unknown>> {
  const res = await makeStatusHandler(async () => rt)(
    new HttpRequest({ method: 'GET', url: 'https://x/api/status' }),
    new InvocationContext({ invocationId: 's', functionName: 'status', logHandler: () => {} }),
  );
  expect(res.status).toBe(200);
  return res.jsonBody as Record<string, unknown>;
}

describe('status of the pool, shared by every instance', () => {
  it('two instances answer the same figures; the one that ran no pass included', async () => {
    const [a, b] = [instance(), instance()];
    stack.azdo.queueJob('shared-status', []);
    stack.azdo.queueJob('shared-status', []);
    await a.coordinator.request('shared-status', 'timer');
    await a.coordinator.request('shared-status', 'timer');
    expect(b.coordinator.views().every((v) => v.passes === 0)).toBe(true);

    const [ja, jb] = [await apiStatus(a), await apiStatus(b)];
    expect(ja.history).toEqual(jb.history);
    const [h] = ja.history as { pool: string; passes: number; created: number; recent: { actions: string[] }[] }[];
    expect(h).toMatchObject({ pool: 'shared-status', passes: 2, created: 2, deleted: 0, failed: 0 });
    expect(h!.recent).toHaveLength(1); // the second pass changed nothing: counted, not listed
    expect(h!.recent[0]!.actions.filter((x) => x.startsWith('create'))).toHaveLength(2);
    // This instance's own counters still differ (they are the process's): the shared ones do not.
    expect((ja.passes as { passes: number }[])[0]!.passes).toBe(2);
    expect((jb.passes as { passes: number }[])[0]?.passes ?? 0).toBe(0);

    // `status` prints the same shared lines on both.
    const lines = (r: Awaited<ReturnType<Runtime['status']>>) =>
      formatStatusTable(r)
        .split('\n')
        .filter((l) => l.includes('(all instances)') || / \d{4}-\d\d-\d\dT/.test(l));
    const [la, lb] = [lines(await a.status()), lines(await b.status())];
    expect(la).toEqual(lb);
    expect(la[0]).toMatch(
      /^pool shared-status \(all instances\): 2 pass\(es\), 2 created, 0 deleted, 0 failed; last pass /,
    );
    // The HTML page (/api/status?format=html) of the instance that ran no pass shows them too.
    expect(renderStatusHtml(await b.status())).toMatch(
      /<h2>Pools \(all instances, from the shared pool state\)<\/h2><ul><li>pool shared-status \(all instances\): 2 pass\(es\), 2 created/,
    );
  });

  it('history: counters add up, a failure is kept as the last one, only passes that changed something are listed', () => {
    const create = { kind: 'create', profile: 'lx', pool: 'p', reason: 'queued' } as never;
    let h = recordPass(undefined, new Date('2026-12-07T10:00:00Z'), [{ action: create, status: 'done' }]);
    h = recordPass(h, new Date('2026-12-07T10:01:00Z'), []);
    h = recordPass(h, new Date('2026-12-07T10:02:00Z'), [{ action: create, status: 'failed', error: 'quota' }]);
    expect(h).toMatchObject({ passes: 3, created: 1, failed: 1, lastOkAt: '2026-12-07T10:01:00.000Z' });
    expect(h.lastError).toMatch(/quota$/);
    expect(h.recent.map((d) => d.at)).toEqual(['2026-12-07T10:02:00.000Z', '2026-12-07T10:00:00.000Z']);
    expect(historyLines({ pool: 'p', ...h })[1]).toMatch(/^pool p: last failure: .*quota/);
  });

  it('placements in words', () => {
    expect(placementsInWords('0:westeurope=3 1:northeurope/spot=2')).toBe(
      '3 in westeurope (own placement), 2 in northeurope as Spot (fallback 1)',
    );
    expect(placementsInWords('0=1')).toBe('1 in the default region (own placement)');
  });
});
