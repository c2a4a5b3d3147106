/**
 * infra/README.md's cost figures are what `npm run cost` prints: the quoted block must be a
 * subset of the command's output, so a change of prices or formula shows up here.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulateCommand } from '../../src/sim/command.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function cost(args: string[]): { code: number; out: string } {
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/cost.ts', ...args], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: e.stdout + e.stderr };
  }
}

describe('npm run cost', () => {
  it('prints the figures infra/README.md quotes', () => {
    const readme = readFileSync(path.join(ROOT, 'infra', 'README.md'), 'utf8');
    const block = /```text\n\$ npm run cost\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'infra/README.md quotes `npm run cost`').toBeDefined();
    const out = cost([]).out.split('\n');
    for (const line of block!.trim().split('\n')) expect(out).toContain(line);
  });

  it('computes per 1,000 agent-hours and the idle month from the prices given', () => {
    const r = cost(['--cpu', '1', '--memory-gb', '2', '--vcpu-second', '0.00001', '--gb-second', '0.000001', '--registry-day', '0.1', '--flex-gb-second', '0.000026', '--flex-execution', '0.0000004', '--prices-date', '2026-12-01']);
    expect(r.code).toBe(0);
    // 3600 × (1 × 0.00001 + 2 × 0.000001) = 0.0432 per hour
    expect(r.out).toContain('per 1,000 agent-hours: $43.20');
    expect(r.out).toContain('dated 2026-12-01');
    // 43,200 passes × 0.5 s × 2.048 GB = 44,237 GB-s → $1.15 + $0.02; registry $3.00
    expect(r.out).toContain('$4.17');
  });

  it('adds the Windows software charge per vCPU-second for --os Windows, and says whether it was given', () => {
    const base = ['--cpu', '2', '--memory-gb', '4', '--vcpu-second', '0.00001', '--gb-second', '0.000001'];
    // Linux: 3600 × (2 × 0.00001 + 4 × 0.000001) = 0.0864 per hour.
    expect(cost(base).out).toContain('per 1,000 agent-hours: $86.40');
    const win = cost([...base, '--os', 'Windows', '--windows-vcpu-second', '0.00002']);
    expect(win.code).toBe(0);
    // + 3600 × 2 × 0.00002 = 0.144 → 0.2304 per hour.
    expect(win.out).toContain('per 1,000 agent-hours: $230.40');
    expect(win.out).toContain('Windows software: $0.00002 per vCPU-second (given)');
    expect(cost([...base, '--os', 'Windows']).out).toMatch(/Windows software: \$0\.000012 per vCPU-second \(ASSUMED/);
    const bad = cost([...base, '--os', 'Mac']);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('--os: must be Linux or Windows');
  });

  it('refuses a price that is not a number, exit 2', () => {
    const r = cost(['--vcpu-second', 'cheap']);
    expect(r.code).toBe(2);
    expect(r.out).toContain('--vcpu-second: must be a number');
  });
});

/**
 * `--live-prices` against a local stand-in for the Azure Retail Prices API serving
 * test/infra/fixtures/retail-prices.aci-westeurope.json: two pages in the documented answer shape
 * (learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices: BillingCurrency,
 * CustomerEntityId, CustomerEntityType, Items[{currencyCode, tierMinimumUnits, retailPrice,
 * unitPrice, armRegionName, location, effectiveStartDate, meterId, meterName, productId, skuId,
 * productName, skuName, serviceName, serviceId, serviceFamily, unitOfMeasure, type,
 * isPrimaryMeterRegion, armSkuName}], NextPageLink, Count); the ACI meter names "Standard vCPU
 * Duration" / "Standard Memory Duration" per public pricing scripts; the prices are illustrative.
 * No test (and no default run) reaches the real API.
 */
describe('npm run cost --live-prices (a recorded answer served locally)', () => {
  const pages = (
    JSON.parse(readFileSync(path.join(ROOT, 'test/infra/fixtures/retail-prices.aci-westeurope.json'), 'utf8')) as {
      pages: { NextPageLink: string | null }[];
    }
  ).pages;
  let server: Server;
  let base = '';
  let status = 200;
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.url ?? '');
      const u = new URL(req.url ?? '/', 'http://x');
      const page = u.searchParams.get('$skip') === '100' ? pages[1]! : pages[0]!;
      // A recording replayed from here: the next page's link names this server, as the API names itself.
      const body = { ...page, NextPageLink: page.NextPageLink?.replace('https://prices.azure.com:443', base) ?? null };
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? JSON.stringify(body) : '{"Error":"fake"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const costAsync = (args: string[]) =>
    new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'scripts/cost.ts', ...args],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ACI_LOCATION: 'westeurope' } },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });

  it('reads the region’s Linux vCPU and memory prices over the pages, and labels them', async () => {
    seen.length = 0;
    status = 200;
    const r = await costAsync(['--live-prices', '--prices-url', `${base}/api/retail/prices`]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('prices: LIVE westeurope Linux prices from 127.0.0.1');
    expect(r.out).toContain('effective 2025-07-01, USD');
    // 0.04456 / 3600 per vCPU-second, 0.004891 / 3600 per GB-second; 2 vCPU + 4 GB: $0.108684 per hour
    expect(r.out).toContain('per 1,000 agent-hours: $108.68');
    expect(seen).toHaveLength(2);
    expect(decodeURIComponent(seen[0]!)).toContain(
      "$filter=serviceName eq 'Container Instances' and armRegionName eq 'westeurope' and priceType eq 'Consumption'",
    );
  });

  it('falls back to the labelled assumptions, saying why, when the API does not answer', async () => {
    status = 503;
    const r = await costAsync(['--live-prices', '--region', 'westeurope', '--prices-url', `${base}/api/retail/prices`]);
    status = 200;
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('prices: live prices for westeurope unavailable (the Retail Prices API answered 503); ASSUMED prices');
  });

  it('the simulator bills at the live prices when asked (--live-prices), at the assumed ones otherwise', async () => {
    seen.length = 0;
    const run = async (extra: string[]) => {
      let out = '';
      const code = await runSimulateCommand(['--policy', 'ours', '--hours', '1', '--json', ...extra], {
        stdout: (s) => void (out += s),
        stderr: () => {},
        isTty: false,
      });
      return { code, json: JSON.parse(out) as { prices?: string; policies: { costUsd: number }[] } };
    };
    const assumed = await run(['--prices-url', `${base}/api/retail/prices`]);
    expect(seen).toEqual([]); // not asked: no request
    const live = await run(['--live-prices', '--region', 'westeurope', '--prices-url', `${base}/api/retail/prices`]);
    expect(assumed.code).toBe(0);
    expect(live.code).toBe(0);
    expect(assumed.json.prices).toBeUndefined();
    expect(live.json.prices).toMatch(/^LIVE westeurope Linux ACI prices from 127\.0\.0\.1/);
    // The same run, billed per vCPU-second at 0.04456/3600 (×0.9169 of the assumed) and per
    // GB-second at 0.004891/3600 (×0.9057): the cost ratio lies between the two.
    const ratio = live.json.policies[0]!.costUsd / assumed.json.policies[0]!.costUsd;
    expect(ratio).toBeGreaterThanOrEqual(0.9057);
    expect(ratio).toBeLessThanOrEqual(0.917);
  });

  it('is opt-in: without --live-prices no request is made', async () => {
    seen.length = 0;
    const r = await costAsync(['--prices-url', `${base}/api/retail/prices`]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('prices: ASSUMED prices');
    expect(seen).toEqual([]);
  });
});
