/**
 * Renders the HTML report in headless Chromium (Debian `chromium` package) and checks that the
 * charts draw (SVG elements with non-zero size) with no console errors, and that what they say is
 * true: every tick label, read from the rendered DOM, equals the value its position stands for
 * (position mapped back through the chart's domain and range); count axes carry whole numbers only;
 * x-axes end at the data's end; "ours" is drawn on top; the cost/wait points sit at the runs'
 * summary figures. Skipped, with a message, when /usr/bin/chromium is absent (CI installs it:
 * apt-get install -y chromium).
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
if (!hasChromium)
  console.warn(`report screenshot test skipped: ${CHROMIUM} not found (install it with: apt-get install -y chromium)`);

describe.skipIf(!hasChromium)('HTML report in headless Chromium', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('renders its charts with no console errors', async () => {
    const { chromium } = await import('playwright-core');
    const trace = sampleTrace('monday-burst', 1);
    const results: SimResult[] = [];
    for (const policy of ['ours', 'keda', 'vmss'] as const)
      results.push(await runSimulation({ trace, profiles: defaultProfiles(), policy, seed: 1 }));
    const dir = await mkdtemp(join(tmpdir(), 'sim-report-'));
    dirs.push(dir);
    const file = join(dir, 'report.html');
    await writeFile(
      file,
      htmlReport(results, {
        trace: trace.name,
        description: trace.description,
        seed: 1,
        command: 'npm run simulate -- --html report.html',
      }),
    );
    const userDataDir = join(dir, 'profile');
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
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
      const charts = await page.$$eval('svg.chart', (els) =>
        els.map((e) => ({
          title: e.getAttribute('aria-label') ?? '',
          w: e.getBoundingClientRect().width,
          h: e.getBoundingClientRect().height,
          marks: e.querySelectorAll('path, polygon, circle').length,
          xDomain: (e.getAttribute('data-x-domain') ?? '').split(' ').map(Number),
          xRange: (e.getAttribute('data-x-range') ?? '').split(' ').map(Number),
          yDomain: (e.getAttribute('data-y-domain') ?? '').split(' ').map(Number),
          yRange: (e.getAttribute('data-y-range') ?? '').split(' ').map(Number),
          xTicks: [...e.querySelectorAll('text.tick-x')].map((t) => ({
            label: t.textContent ?? '',
            pos: Number(t.getAttribute('x')),
          })),
          yTicks: [...e.querySelectorAll('text.tick-y')].map((t) => ({
            label: t.textContent ?? '',
            pos: Number(t.getAttribute('y')),
          })),
          series: [...e.querySelectorAll('path.series')].map((p) => p.getAttribute('data-series')),
          points: [...e.querySelectorAll('g.point')].map((g) => {
            const c = g.querySelector('circle')!;
            return {
              label: g.getAttribute('data-label'),
              offScale: g.classList.contains('off-scale'),
              cx: Number(c.getAttribute('cx')),
              cy: Number(c.getAttribute('cy')),
            };
          }),
        })),
      );
      expect(charts.map((c) => c.title)).toEqual([
        'Queue depth over time',
        'Queue wait distribution (CDF)',
        `Cost vs p95 wait — ${trace.name}`,
        'Agents by state — ours',
        'Agents by state — keda',
        'Agents by state — vmss',
      ]);
      const invert = (pos: number, domain: number[], range: number[]) =>
        domain[0]! + ((pos - range[0]!) / (range[1]! - range[0]!)) * (domain[1]! - domain[0]!);
      const number = (label: string) => Number(label.replace(/,/g, '').replace(/\u2212/g, '-'));
      for (const c of charts) {
        expect(c.w, c.title).toBeGreaterThan(100);
        expect(c.h, c.title).toBeGreaterThan(100);
        expect(c.marks, c.title).toBeGreaterThan(0);
        expect(c.xTicks.length, c.title).toBeGreaterThanOrEqual(3);
        expect(c.yTicks.length, c.title).toBeGreaterThanOrEqual(2);
        // Each label says the value at its position (positions are rounded to 0.1 px).
        for (const [ticks, domain, range] of [
          [c.xTicks, c.xDomain, c.xRange],
          [c.yTicks, c.yDomain, c.yRange],
        ] as const) {
          const perPx = Math.abs((domain[1]! - domain[0]!) / (range[1]! - range[0]!));
          for (const t of ticks)
            expect(number(t.label), `${c.title}: label "${t.label}"`).toBeCloseTo(
              invert(t.pos, domain, range),
              -Math.log10(perPx * 0.2),
            );
          expect(new Set(ticks.map((t) => t.label)).size, `${c.title}: distinct labels`).toBe(ticks.length);
        }
      }
      const byTitle = (t: string) => charts.find((c) => c.title === t)!;
      // Counts (queued jobs, agents) have whole-number ticks only.
      for (const c of [
        byTitle('Queue depth over time'),
        ...charts.filter((x) => x.title.startsWith('Agents by state')),
      ]) {
        for (const t of c.yTicks)
          expect(Number.isInteger(number(t.label)), `${c.title}: y label "${t.label}"`).toBe(true);
      }
      // x-axes end where the data ends.
      const lastSample = Math.max(...results.flatMap((r) => r.samples.map((p) => p.t)));
      expect(byTitle('Queue depth over time').xDomain).toEqual([0, lastSample]);
      expect(byTitle('Queue wait distribution (CDF)').xDomain).toEqual([
        0,
        Math.max(...results.flatMap((r) => r.waits)),
      ]);
      expect(byTitle('Queue wait distribution (CDF)').yDomain).toEqual([0, 1]);
      for (const r of results)
        expect(byTitle(`Agents by state — ${r.summary.policy}`).xDomain).toEqual([
          0,
          Math.max(...r.samples.map((p) => p.t)),
        ]);
      // "ours" is drawn last, on top of the baselines.
      for (const t of ['Queue depth over time', 'Queue wait distribution (CDF)'])
        expect(byTitle(t).series.at(-1), t).toBe('ours');
      // The frontier: one point per run, at the run's cost and p95 wait (an outlier: at the edge).
      const frontier = byTitle(`Cost vs p95 wait — ${trace.name}`);
      expect(frontier.points.map((p) => p.label).sort()).toEqual(results.map((r) => r.summary.policy).sort());
      for (const r of results) {
        const p = frontier.points.find((q) => q.label === r.summary.policy)!;
        if (p.offScale) continue;
        expect(invert(p.cx, frontier.xDomain, frontier.xRange)).toBeCloseTo(r.summary.costUsd, 2);
        expect(invert(p.cy, frontier.yDomain, frontier.yRange)).toBeCloseTo(r.summary.waitSec.p95, 0);
      }
      expect(frontier.points.at(-1)?.label).toBe('ours');
      expect(await page.textContent('table')).toContain('vmss');
      await page.screenshot({ path: process.env.SIM_SCREENSHOT ?? join(dir, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
      expect(external).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
