/**
 * Renders the HTML report in headless Chromium (Debian `chromium` package) and checks that the
 * charts draw (SVG elements with non-zero size) with no console errors. Skipped, with a message,
 * when /usr/bin/chromium is absent (CI installs it: apt-get install -y chromium).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultProfiles } from '../../src/sim/profiles.js';
import { htmlReport } from '../../src/sim/report.js';
import { runSimulation, type SimResult } from '../../src/sim/run.js';
import { sampleTrace } from '../../src/sim/trace.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`report screenshot test skipped: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`);

describe.skipIf(!hasChromium)('HTML report in headless Chromium', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('renders its charts with no console errors', async () => {
    const { chromium } = await import('playwright-core');
    const trace = sampleTrace('monday-burst', 1);
    const results: SimResult[] = [];
    for (const policy of ['ours', 'keda', 'vmss'] as const) results.push(await runSimulation({ trace, profiles: defaultProfiles(), policy, seed: 1 }));
    const dir = await mkdtemp(join(tmpdir(), 'sim-report-'));
    dirs.push(dir);
    const file = join(dir, 'report.html');
    await writeFile(file, htmlReport(results, { trace: trace.name, description: trace.description, seed: 1, command: 'npm run simulate -- --html report.html' }));
    const userDataDir = join(dir, 'profile');
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1360, height: 1400 },
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
      const external: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) external.push(r.url());
      });
      await page.goto(pathToFileURL(file).href);
      const charts = await page.$$eval('svg.chart', (els) => els.map((e) => ({ w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height, paths: e.querySelectorAll('path, polygon').length })));
      expect(charts.length).toBe(5); // queue depth, wait CDF, agents by state × 3
      for (const c of charts) {
        expect(c.w).toBeGreaterThan(100);
        expect(c.h).toBeGreaterThan(100);
        expect(c.paths).toBeGreaterThan(0);
      }
      expect(await page.textContent('table')).toContain('vmss');
      await page.screenshot({ path: process.env.SIM_SCREENSHOT ?? join(dir, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
      expect(external).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
