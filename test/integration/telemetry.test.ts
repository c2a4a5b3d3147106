/**
 * The telemetry contract (docs/telemetry.md) through in-memory OpenTelemetry exporters, after a story
 * of passes of the real runtime against the HTTPS fakes: every metric of the contract is recorded with
 * its dimensions, every event with its fields, and the canary PAT is in no attribute.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/app/runtime.js';
import { renderStatusHtml } from '../../src/app/status-html.js';
import { Telemetry } from '../../src/app/telemetry.js';
import { MemoryPoolLock } from '../../src/ports/index.js';
import { memoryLogger } from '../../src/util/log.js';
import { repoRoot } from '../contract/paths.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';
import { makeTestCert } from '../fakes/tls.js';

const CANARY_PAT = 'canarytelemetry3b8e1f0a9c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6';
const SUB = '00000000-0000-0000-0000-0000000000b7';
const RG = 'rg-agents';

class TestReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

let stack: FakeStack;
beforeAll(async () => {
  stack = await startFakeStack({ pat: CANARY_PAT, subscriptionId: SUB, resourceGroup: RG });
});
afterAll(async () => {
  await stack.close();
});

/** The doc's metric and event tables: name → dimensions / fields. */
function contract(): { metrics: Map<string, string[]>; events: Map<string, string[]> } {
  const doc = readFileSync(join(repoRoot, 'docs/telemetry.md'), 'utf8');
  const table = (heading: string) => {
    const rest = doc.slice(doc.indexOf(`\n## ${heading}\n`) + heading.length + 5);
    return rest
      .slice(0, rest.search(/\n## /))
      .split('\n')
      .filter((l) => l.startsWith('| `azp_autoscaler.'))
      .map((l) =>
        l
          .slice(1, -1)
          .split('|')
          .map((c) => c.trim()),
      );
  };
  const names = (cell: string) =>
    cell
      .split(',')
      .map((s) => s.trim().replace(/ \(.*$/, ''))
      .filter(Boolean);
  const unquote = (c: string) => c.replace(/`/g, '');
  return {
    metrics: new Map(table('Metrics').map((r) => [unquote(r[0]!), names(r[3]!)])),
    events: new Map(table('Log events').map((r) => [unquote(r[0]!), names(r[2]!)])),
  };
}

describe('telemetry after a story of passes (in-memory exporters)', () => {
  it('every metric and event of docs/telemetry.md, with its dimensions; the canary PAT in no attribute', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const logs = new InMemoryLogRecordExporter();
    const loggerProvider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor(logs)] });
    const telemetry = new Telemetry(
      meterProvider.getMeter('azp-aci-autoscaler'),
      loggerProvider.getLogger('azp-aci-autoscaler'),
      async () => {
        await meterProvider.forceFlush();
        await loggerProvider.forceFlush();
      },
    );
    const pool = 'tel';
    stack.azdo.addPool(pool);
    const env = stack.env({
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      AUTOSCALER_ID: 'tel',
      POOLS: JSON.stringify([
        { name: 'linux', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, bootTimeoutSec: 60 },
        { name: 'java', pool, image: 'contoso.azurecr.io/azp-agent:1', placeholder: false, capabilities: ['java'] },
      ]),
    });
    let n = 0;
    const rt = createRuntime(env, {
      logger: memoryLogger(),
      lock: new MemoryPoolLock(),
      credential: stack.credential,
      azure: { ca: makeTestCert().cert, retryOptions: { maxRetries: 0, retryDelayInMs: 10, maxRetryDelayInMs: 50 } },
      azdoDispatcher: stack.dispatcher,
      entropy: () => `t${(++n).toString(36)}`.padStart(12, '0'),
      telemetry,
      handoff: { send: async () => {} },
    });
    // A group of ours that never registered, older than the boot timeout: a failed boot.
    stack.arm.seed('azp-linux-0000000000000000000a', {
      resourceGroup: RG,
      subscriptionId: SUB,
      tags: {
        'managed-by': 'azp-aci-autoscaler',
        'autoscaler-id': 'tel',
        'azp-pool': pool,
        'azp-profile': 'linux',
        'created-at': new Date(Date.now() - 3_600_000).toISOString(),
      },
    });
    const jobs = [stack.azdo.queueJob(pool, []), stack.azdo.queueJob(pool, [])];
    stack.azdo.queueJob(pool, ['java']);
    stack.arm.inject({
      match: { method: 'PUT', pathIncludes: 'azp-java-' },
      status: 409,
      code: 'ContainerGroupQuotaReached',
      message: `quota reached ${CANARY_PAT}`,
      times: Infinity,
    });
    const unsubscribe = stack.arm.onCreate((g) => stack.azdo.registerAgent(pool, g.name));
    try {
      // 1. A webhook's queue message: creates for queued jobs (webhook → create latency), a quota failure, a failed boot.
      await rt.requestFromQueue([pool], 'webhook job waiting #1', new Date(Date.now() - 1500));
      const linux = stack.arm
        .groups()
        .filter((g) => g.tags['azp-pool'] === pool && g.name.startsWith('azp-linux-') && !g.name.endsWith('a'));
      expect(linux.length).toBeGreaterThanOrEqual(2);
      // 2. The jobs are assigned (queue wait), then finish and the agents go offline (deletes, cause finished).
      for (const [i, j] of jobs.entries()) stack.azdo.assignJob(j.requestId, linux[i]!.name);
      await rt.coordinator.requestAll([pool], 'timer');
      for (const [i, j] of jobs.entries()) {
        stack.azdo.finishJob(j.requestId);
        stack.azdo.setAgentStatus(linux[i]!.name, 'offline', pool);
      }
      await rt.coordinator.requestAll([pool], 'cli');
      // 3. Azure DevOps refuses the PAT: a failed pass and the 401 counter.
      stack.azdo.inject({ status: 401, times: Infinity });
      await rt.coordinator.requestAll([pool], 'timer');
    } finally {
      unsubscribe();
      stack.azdo.clearFaults();
      stack.arm.clearFaults();
    }
    await rt.flush();

    // Metrics: every name of the contract, each data point carrying exactly the contract's dimensions.
    const collected = await reader.collect();
    const points = new Map<string, Array<Record<string, unknown>>>();
    for (const sm of (collected.resourceMetrics as ResourceMetrics).scopeMetrics) {
      for (const m of sm.metrics)
        points.set(
          m.descriptor.name,
          m.dataPoints.map((d) => d.attributes as Record<string, unknown>),
        );
    }
    const { metrics, events } = contract();
    expect(metrics.size).toBe(16);
    for (const [name, dims] of metrics) {
      expect(points.get(name), `${name} was not recorded`).toBeDefined();
      for (const attrs of points.get(name)!) expect(Object.keys(attrs).sort(), name).toEqual([...dims].sort());
    }
    const values = (name: string, key: string) => new Set(points.get(name)!.map((a) => a[key]));
    expect(values('azp_autoscaler.agents.created', 'cause')).toContain('queued');
    expect([...values('azp_autoscaler.agents.deleted', 'cause')].sort()).toEqual(['failedBoot', 'finished']);
    expect(values('azp_autoscaler.agents.failed_boots', 'profile')).toEqual(new Set(['linux']));
    expect(values('azp_autoscaler.agents.create_failures', 'class')).toEqual(new Set(['quota']));
    expect(values('azp_autoscaler.pass.count', 'trigger')).toEqual(new Set(['queue', 'timer', 'cli']));
    expect(values('azp_autoscaler.pass.count', 'outcome')).toEqual(new Set(['ok', 'failed']));
    expect(values('azp_autoscaler.azdo.auth_failures', 'status')).toEqual(new Set(['401']));

    // Events: body = the event name, attributes = the contract's fields (absent ones omitted, none extra).
    const records = logs.getFinishedLogRecords();
    for (const [name, fields] of events) {
      if (name === 'azp_autoscaler.queue_poison') continue; // test/integration/reconcile-queue.test.ts
      const mine = records.filter((r) => r.body === name);
      expect(mine.length, `${name} was not emitted`).toBeGreaterThan(0);
      for (const r of mine) for (const k of Object.keys(r.attributes)) expect(fields, `${name}.${k}`).toContain(k);
    }
    expect(records.find((r) => r.body === 'azp_autoscaler.failed_boot')?.attributes).toMatchObject({
      pool,
      profile: 'linux',
      group: 'azp-linux-0000000000000000000a',
    });
    const decision = records.find((r) => r.body === 'azp_autoscaler.decision' && r.attributes.trigger === 'queue');
    expect(decision?.attributes).toMatchObject({ pool, profile: 'linux', queued: 2 });

    // No attribute, metric or event, carries the canary PAT (the quota message echoed it).
    const everything = JSON.stringify([
      ...points.values(),
      records.map((r) => ({ body: r.body, attributes: r.attributes })),
    ]);
    expect(everything).not.toContain(CANARY_PAT);
    expect(everything).not.toContain(CANARY_PAT.slice(10, 30));

    // The same numbers on /api/status, and the operator's page escapes what it shows.
    const counts = telemetry.counts().pools[pool]!;
    expect(counts.profiles.linux!.created.queued).toBeGreaterThanOrEqual(2);
    expect(counts.profiles.java!.createFailures.quota).toBeGreaterThanOrEqual(1);
    expect(counts.profiles.java!.backoffActive).toBe(true);
    expect(counts.profiles.linux!.queueWaitSec.count).toBe(2);
    const html = renderStatusHtml({
      generatedAt: 'now',
      pools: [
        { pool: '<script>alert(1)</script>', ok: false, error: '"><img src=x>', views: [], unmatchedJobs: 0, next: [] },
      ],
      passes: [],
      telemetry: telemetry.counts(),
    });
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  }, 60_000);
});
