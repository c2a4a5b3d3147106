/**
 * The cost/wait frontier chart on its own (no browser): one point per policy/target, placed at its
 * cost and p95 wait through the chart's own domain and range, "ours" drawn last; and the default
 * points come from the per-policy summaries of a real simulation.
 */
import { describe, expect, it } from 'vitest';
import { defaultProfiles } from '../../src/sim/profiles.js';
import { frontierChart, frontierPoints, type FrontierPoint } from '../../src/sim/report.js';
import { runSimulation } from '../../src/sim/run.js';
import { sampleTrace } from '../../src/sim/trace.js';

const attr = (svg: string, name: string) =>
  (new RegExp(`${name}="([^"]*)"`).exec(svg)?.[1] ?? '').split(' ').map(Number);
const points = (svg: string) =>
  [...svg.matchAll(/<g class="point[^"]*" data-label="([^"]*)"[^>]*><circle cx="([\d.]+)" cy="([\d.]+)"/g)].map(
    (m) => ({
      label: m[1]!,
      cx: Number(m[2]),
      cy: Number(m[3]),
    }),
  );

describe('frontierChart', () => {
  it('places each policy/target at its cost and p95 wait, ours on top', () => {
    const input: FrontierPoint[] = [
      { policy: 'ours', label: 'ours 15 s', costUsd: 2.2, p95WaitSec: 12 },
      { policy: 'ours', label: 'ours 60 s', costUsd: 1.6, p95WaitSec: 48 },
      { policy: 'keda', label: 'keda', costUsd: 1.9, p95WaitSec: 75 },
      { policy: 'vmss', label: 'vmss', costUsd: 5.4, p95WaitSec: 410 },
    ];
    const svg = frontierChart('steady-day', input);
    const [x0, x1] = attr(svg, 'data-x-domain');
    const [rx0, rx1] = attr(svg, 'data-x-range');
    const [y0, y1] = attr(svg, 'data-y-domain');
    const [ry0, ry1] = attr(svg, 'data-y-range');
    const got = points(svg);
    expect(got.map((p) => p.label)).toEqual(['keda', 'vmss', 'ours 15 s', 'ours 60 s']);
    for (const p of input.filter((q) => q.label !== 'vmss')) {
      const g = got.find((q) => q.label === p.label)!;
      expect(x0! + ((g.cx - rx0!) / (rx1! - rx0!)) * (x1! - x0!)).toBeCloseTo(p.costUsd, 2);
      expect(y0! + ((g.cy - ry0!) / (ry1! - ry0!)) * (y1! - y0!)).toBeCloseTo(p.p95WaitSec, 0);
    }
    expect(x0).toBe(0);
    expect(x1).toBe(5.4); // the axis ends at the costliest point
    // The VMSS wait (410 s, over 3× the next) would squash the rest: the axis ends near the next
    // (75 s), and VMSS sits on the top edge, labelled with its values.
    expect(y1).toBeLessThan(200);
    expect(y1).toBeGreaterThanOrEqual(75);
    const vmss = got.find((q) => q.label === 'vmss')!;
    expect(vmss.cy).toBeCloseTo(ry1!, 0);
    expect(svg).toMatch(
      /<g class="point off-scale" data-label="vmss"[^]*?vmss \(\$5\.40, p95 410 s, off scale\)<\/text>/,
    );
  });

  it('labels never overlap, even for wait targets that land close together', () => {
    const input: FrontierPoint[] = [
      { policy: 'keda', label: 'keda', costUsd: 1.9, p95WaitSec: 75 },
      { policy: 'vmss', label: 'vmss', costUsd: 5.4, p95WaitSec: 410 },
      ...[0, 5, 15, 30, 60].map((t, i) => ({
        policy: 'ours',
        label: `ours ${t} s`,
        costUsd: 2.3 - i * 0.02,
        p95WaitSec: 8 + i * 1.5,
      })),
    ];
    const svg = frontierChart('steady-day', input);
    const boxes = [
      ...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)" dy="0\.32em" font-size="11">([^<]*)<\/text><\/g>/g),
    ].map((m) => ({
      label: m[3]!,
      x0: Number(m[1]),
      x1: Number(m[1]) + m[3]!.length * 6.2,
      y0: Number(m[2]) - 6.5,
      y1: Number(m[2]) + 6.5,
    }));
    expect(boxes).toHaveLength(input.length);
    for (const [i, a] of boxes.entries())
      for (const b of boxes.slice(i + 1))
        expect(a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1, `${a.label} / ${b.label}`).toBe(false);
    // Every label stays inside the chart.
    const [W] = attr(svg, 'viewBox').slice(2);
    for (const b of boxes) expect(b.x1, b.label).toBeLessThanOrEqual(W ?? 640);
  });

  it('takes its default points from the runs’ summaries', async () => {
    const trace = sampleTrace('nightly-batch', 1);
    const results = [];
    for (const policy of ['ours', 'keda'] as const)
      results.push(await runSimulation({ trace, profiles: defaultProfiles(), policy, seed: 1, hours: 2 }));
    expect(frontierPoints(results)).toEqual(
      results.map((r) => ({
        policy: r.summary.policy,
        label: r.summary.policy,
        costUsd: r.summary.costUsd,
        p95WaitSec: r.summary.waitSec.p95,
      })),
    );
    expect(points(frontierChart(trace.name, frontierPoints(results))).map((p) => p.label)).toEqual(['keda', 'ours']);
  });
});
