/**
 * Output: the summary table (text), and a self-contained HTML report with inline SVG charts
 * (no external assets, no script needed to render): queue depth over time, agents by state over
 * time (one chart per policy), the queue-wait distribution (CDF per policy) and cost against p95
 * wait (one point per policy, and per wait target once runs carry one). Scales and ticks come from
 * d3-scale; every chart's svg carries its domain and range (data-x-domain, …) so a test can map a
 * tick's position back to a value and compare it with the tick's label.
 */
import { scaleLinear, type ScaleLinear } from 'd3-scale';
import type { SimResult } from './run.js';

const COLORS: Record<string, string> = {
  ours: '#1f77b4',
  keda: '#ff7f0e',
  vmss: '#2ca02c',
  mdp: '#9467bd',
  static: '#8c564b',
};
const STATE_COLORS = { starting: '#f2c94c', idle: '#9b9b9b', busy: '#2d9cdb', other: '#eb5757' } as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number, d = 1) => (Number.isInteger(n) ? String(n) : n.toFixed(d));

export function summaryTable(results: readonly SimResult[]): string {
  const rows: string[][] = [
    [
      'policy',
      'jobs',
      'served',
      'rejected',
      'wait p50',
      'p95',
      'p99',
      'max',
      'agent-min billed',
      'idle agent-min',
      'cost $',
      'API azdo',
      'API arm',
      'errors',
      'violations',
    ],
  ];
  for (const { summary: s } of results) {
    rows.push([
      s.policy,
      String(s.jobs),
      String(s.served),
      String(s.rejected),
      `${fmt(s.waitSec.p50)}s`,
      `${fmt(s.waitSec.p95)}s`,
      `${fmt(s.waitSec.p99)}s`,
      `${fmt(s.waitSec.max)}s`,
      fmt(s.agentMinutesBilled),
      fmt(s.idleAgentMinutes),
      s.costUsd.toFixed(3),
      String(s.apiCalls.azdo),
      String(s.apiCalls.arm),
      String(s.errors),
      String(s.violations),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/**
 * Multi-day runs: one row per day, each policy's p95 wait and cost for the jobs that arrived that
 * day (cost billed from its midnight to the next day's). Empty when no run has days.
 */
export function dayTable(results: readonly SimResult[]): string {
  const withDays = results.filter((r) => r.summary.days);
  const days = withDays[0]?.summary.days;
  if (!days) return '';
  const rows: string[][] = [
    ['day', 'date', 'jobs', ...withDays.flatMap((r) => [`${r.summary.policy} p95`, `${r.summary.policy} $`])],
  ];
  days.forEach((d, i) => {
    rows.push([
      `${d.day} ${d.weekday}`,
      d.date,
      String(d.jobs),
      ...withDays.flatMap((r) => {
        const x = r.summary.days![i]!;
        return [`${fmt(x.waitSec.p95)}s`, x.costUsd.toFixed(3)];
      }),
    ]);
  });
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

/** Plot frame shared by the charts: size and margins (px). */
interface Frame {
  W: number;
  H: number;
  L: number;
  R: number;
  T: number;
  B: number;
}

interface Axes {
  x: ScaleLinear<number, number>;
  y: ScaleLinear<number, number>;
  /** Tick marks, gridlines and labels, plus the frame's data attributes tests read back. */
  svg: string;
  attrs: string;
}

/**
 * Scales and ticks by d3-scale. x runs over the data (no rounding past its last point); y starts
 * at 0 and is rounded up to a tick ("nice"). Counts of jobs or agents get integer ticks only; tick
 * labels use d3's formatter for the tick step, so 0.25 is "0.25", never "0.3".
 */
function axes(
  f: Frame,
  xMax: number,
  yMax: number,
  opts: { xInteger?: boolean; yInteger?: boolean; yDomain?: [number, number] } = {},
): Axes {
  const x = scaleLinear()
    .domain([0, xMax > 0 ? xMax : 1])
    .range([f.L, f.W - f.R]);
  const y = scaleLinear()
    .domain(opts.yDomain ?? [0, yMax > 0 ? yMax : 1])
    .range([f.H - f.B, f.T]);
  if (!opts.yDomain) y.nice(5);
  const xt = ticksOf(x, 6, opts.xInteger);
  const yt = ticksOf(y, 5, opts.yInteger);
  const parts: string[] = [];
  for (const t of yt.values) {
    const py = y(t).toFixed(1);
    parts.push(`<line class="grid-y" x1="${f.L}" x2="${f.W - f.R}" y1="${py}" y2="${py}" stroke="#e5e5e5"/>`);
    parts.push(
      `<text class="tick-y" x="${f.L - 6}" y="${py}" dy="0.32em" text-anchor="end" font-size="11">${yt.format(t)}</text>`,
    );
  }
  for (const t of xt.values) {
    const px = x(t).toFixed(1);
    parts.push(
      `<line class="tick-mark-x" x1="${px}" x2="${px}" y1="${f.H - f.B}" y2="${f.H - f.B + 4}" stroke="#333"/>`,
    );
    parts.push(
      `<text class="tick-x" x="${px}" y="${f.H - f.B + 16}" text-anchor="middle" font-size="11">${xt.format(t)}</text>`,
    );
  }
  const [x0, x1] = x.domain() as [number, number];
  const [y0, y1] = y.domain() as [number, number];
  const attrs = `data-x-domain="${x0} ${x1}" data-x-range="${f.L} ${f.W - f.R}" data-y-domain="${y0} ${y1}" data-y-range="${f.H - f.B} ${f.T}"`;
  return { x, y, svg: parts.join(''), attrs };
}

function ticksOf(
  scale: ScaleLinear<number, number>,
  count: number,
  integer = false,
): { values: number[]; format: (v: number) => string } {
  const [d0, d1] = scale.domain() as [number, number];
  // Integer axes: never more ticks than whole units, so the step is at least 1.
  const n = integer ? Math.max(1, Math.min(count, Math.floor(d1 - d0))) : count;
  const values = scale.ticks(n).filter((v) => !integer || Number.isInteger(v));
  return { values, format: scale.tickFormat(n) };
}

function svgOpen(title: string, f: Frame, attrs: string): string {
  return `<figure><figcaption>${esc(title)}</figcaption><svg class="chart" role="img" aria-label="${esc(title)}" width="${f.W}" height="${f.H}" viewBox="0 0 ${f.W} ${f.H}" xmlns="http://www.w3.org/2000/svg" ${attrs}>
<rect x="0" y="0" width="${f.W}" height="${f.H}" fill="#fff"/>`;
}

function axisLines(f: Frame, xLabel: string, yLabel?: string): string {
  return `<line x1="${f.L}" x2="${f.L}" y1="${f.T}" y2="${f.H - f.B}" stroke="#333"/><line x1="${f.L}" x2="${f.W - f.R}" y1="${f.H - f.B}" y2="${f.H - f.B}" stroke="#333"/>
<text x="${(f.L + f.W - f.R) / 2}" y="${f.H - 6}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>${
    yLabel
      ? `<text x="14" y="${(f.T + f.H - f.B) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(f.T + f.H - f.B) / 2})">${esc(yLabel)}</text>`
      : ''
  }`;
}

/** "ours" is drawn last (on top of the baselines) and thicker, so it is never hidden under them. */
function drawOrder<T>(items: readonly T[], policy: (item: T) => string): T[] {
  return [...items.filter((s) => policy(s) !== 'ours'), ...items.filter((s) => policy(s) === 'ours')];
}

function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: Series[],
  opts: { step?: boolean; yInteger?: boolean; yDomain?: [number, number] } = {},
): string {
  const f: Frame = { W: 640, H: 260, L: 56, R: 16, T: 28, B: 44 };
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const a = axes(f, Math.max(0, ...xs), Math.max(0, ...ys), {
    ...(opts.yInteger ? { yInteger: true } : {}),
    ...(opts.yDomain ? { yDomain: opts.yDomain } : {}),
  });
  const paths = drawOrder(series, (s) => s.label).map((s) => {
    let d = '';
    s.points.forEach(([x, y], i) => {
      if (i === 0) d += `M${a.x(x).toFixed(1)},${a.y(y).toFixed(1)}`;
      else {
        if (opts.step) d += `H${a.x(x).toFixed(1)}`;
        d += `L${a.x(x).toFixed(1)},${a.y(y).toFixed(1)}`;
      }
    });
    const width = s.label === 'ours' ? 2.5 : 1.5;
    return `<path class="series" data-series="${esc(s.label)}" d="${d}" fill="none" stroke="${s.color}" stroke-width="${width}"><title>${esc(s.label)}</title></path>`;
  });
  const legend = series.map(
    (s, i) =>
      `<rect x="${f.L + 10 + i * 110}" y="8" width="12" height="12" fill="${s.color}"/><text x="${f.L + 26 + i * 110}" y="18" font-size="12">${esc(s.label)}</text>`,
  );
  return `${svgOpen(title, f, a.attrs)}${a.svg}
${paths.join('\n')}${legend.join('')}
${axisLines(f, xLabel, yLabel)}
</svg></figure>`;
}

function stackedChart(r: SimResult): string {
  const f: Frame = { W: 640, H: 220, L: 56, R: 16, T: 28, B: 40 };
  const s = r.samples;
  const keys = ['busy', 'idle', 'starting', 'other'] as const;
  const a = axes(
    f,
    Math.max(0, ...s.map((p) => p.t)),
    Math.max(0, ...s.map((p) => p.busy + p.idle + p.starting + p.other)),
    { yInteger: true },
  );
  const base = s.map(() => 0);
  const areas = keys.map((k) => {
    const top = s.map((p, i) => base[i]! + p[k]);
    const upper = s.map((p, i) => `${a.x(p.t).toFixed(1)},${a.y(top[i]!).toFixed(1)}`);
    const lower = s.map((p, i) => `${a.x(p.t).toFixed(1)},${a.y(base[i]!).toFixed(1)}`).reverse();
    top.forEach((v, i) => (base[i] = v));
    return `<polygon points="${[...upper, ...lower].join(' ')}" fill="${STATE_COLORS[k]}" fill-opacity="0.85"><title>${k}</title></polygon>`;
  });
  const legend = keys.map(
    (k, i) =>
      `<rect x="${f.L + 10 + i * 90}" y="8" width="12" height="12" fill="${STATE_COLORS[k]}"/><text x="${f.L + 26 + i * 90}" y="18" font-size="12">${k}</text>`,
  );
  const title = `Agents by state — ${r.summary.policy}`;
  return `${svgOpen(title, f, a.attrs)}${a.svg}${areas.join('')}
${axisLines(f, 'minutes since start', 'agents')}${legend.join('')}
</svg></figure>`;
}

/** One point of the cost/wait frontier: a policy (and, for policies that take one, a wait target). */
export interface FrontierPoint {
  policy: string;
  /** e.g. "ours 15 s" for a run with a wait target; the policy name otherwise. */
  label: string;
  costUsd: number;
  p95WaitSec: number;
}

/** The frontier points of one trace's runs, from their summaries (one point per run). */
export function frontierPoints(results: readonly SimResult[]): FrontierPoint[] {
  return results.map(({ summary: s }) => ({
    policy: s.policy,
    label: s.policy,
    costUsd: s.costUsd,
    p95WaitSec: s.waitSec.p95,
  }));
}

/**
 * The end of an axis: the largest value, unless it is more than 3× the next largest (one outlier,
 * e.g. VMSS waiting minutes where the others wait seconds): then 1.25× the next, so the rest do
 * not collapse into a corner; the outlier is drawn at the edge and labelled with its values.
 */
function axisEnd(values: readonly number[]): number {
  const s = values.filter((v) => v > 0).sort((a, b) => b - a);
  if (s.length >= 3 && s[0]! > 3 * s[1]!) return s[1]! * 1.25;
  return s[0] ?? 0;
}

/** Approximate label box at 11 px (the charts' font): 6.2 px per character, 13 px high. */
const LABEL_CHAR_PX = 6.2;
const LABEL_H = 13;

/**
 * Cost (x) against p95 queue wait (y) for one trace, one labelled point per policy/target: lower
 * left is better. Both axes start at 0 so distances compare honestly; an outlier is clamped to the
 * edge (axisEnd) and says its values; labels are moved apart (with a leader line) where they would
 * overlap.
 */
export function frontierChart(trace: string, points: readonly FrontierPoint[]): string {
  const f: Frame = { W: 640, H: 300, L: 56, R: 120, T: 28, B: 44 };
  const a = axes(f, axisEnd(points.map((p) => p.costUsd)), axisEnd(points.map((p) => p.p95WaitSec)));
  const [xEnd] = a.x.domain().slice(-1) as [number];
  const [yEnd] = a.y.domain().slice(-1) as [number];
  const placed: Array<{ x0: number; x1: number; y0: number; y1: number }> = [];
  const overlaps = (b: (typeof placed)[number]) =>
    placed.some((o) => b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1);
  const dots = drawOrder(points, (p) => p.policy).map((p) => {
    const off = p.costUsd > xEnd || p.p95WaitSec > yEnd;
    const cx = a.x(Math.min(p.costUsd, xEnd));
    const cy = a.y(Math.min(p.p95WaitSec, yEnd));
    const text = off ? `${p.label} ($${p.costUsd.toFixed(2)}, p95 ${fmt(p.p95WaitSec)} s, off scale)` : p.label;
    const width = text.length * LABEL_CHAR_PX;
    // Right of the point, or left of it when it would leave the chart.
    const left = cx + 7 + width > f.W;
    const x0 = left ? cx - 7 - width : cx + 7;
    let ly = cy;
    for (const step of [0, -1, 1, -2, 2, -3, 3, -4, 4, -5, 5, -6, 6]) {
      const y = cy + step * LABEL_H;
      const box = { x0, x1: x0 + width, y0: y - LABEL_H / 2, y1: y + LABEL_H / 2 };
      if (!overlaps(box) || step === 6) {
        placed.push(box);
        ly = y;
        break;
      }
    }
    const color = COLORS[p.policy] ?? '#333';
    const leader =
      ly === cy
        ? ''
        : `<line x1="${cx.toFixed(1)}" y1="${cy.toFixed(1)}" x2="${(left ? x0 + width : x0).toFixed(1)}" y2="${ly.toFixed(1)}" stroke="#999" stroke-width="0.5"/>`;
    return `<g class="point${off ? ' off-scale' : ''}" data-label="${esc(p.label)}" data-cost="${p.costUsd}" data-p95="${p.p95WaitSec}"><circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${p.policy === 'ours' ? 5 : 4}" fill="${color}"><title>${esc(p.label)}: $${p.costUsd.toFixed(3)}, p95 ${fmt(p.p95WaitSec)} s</title></circle>${leader}<text x="${x0.toFixed(1)}" y="${ly.toFixed(1)}" dy="0.32em" font-size="11">${esc(text)}</text></g>`;
  });
  const title = `Cost vs p95 wait — ${trace}`;
  return `${svgOpen(title, f, a.attrs)}${a.svg}
${dots.join('\n')}
${axisLines(f, 'cost ($)', 'p95 queue wait (s)')}
</svg></figure>`;
}

export function htmlReport(
  results: readonly SimResult[],
  meta: { trace: string; description: string; seed: number; command: string },
  /** Frontier points (policies × wait targets); by default one per run in `results`. */
  frontier: readonly FrontierPoint[] = frontierPoints(results),
): string {
  const queue = lineChart(
    'Queue depth over time',
    'minutes since start',
    'queued jobs',
    results.map((r) => ({
      label: r.summary.policy,
      color: COLORS[r.summary.policy] ?? '#333',
      points: r.samples.map((p) => [p.t, p.queued] as [number, number]),
    })),
    { step: true, yInteger: true },
  );
  const cdf = lineChart(
    'Queue wait distribution (CDF)',
    'wait (seconds)',
    'fraction of served jobs',
    results.map((r) => {
      const w = [...r.waits].sort((a, b) => a - b);
      return {
        label: r.summary.policy,
        color: COLORS[r.summary.policy] ?? '#333',
        points: w.map((x, i) => [x, (i + 1) / w.length] as [number, number]),
      };
    }),
    { step: true, yDomain: [0, 1] },
  );
  const rows = results
    .map(
      ({ summary: s }) =>
        `<tr><td>${s.policy}</td><td>${s.jobs}</td><td>${s.served}</td><td>${s.rejected}</td><td>${fmt(s.waitSec.p50)}</td><td>${fmt(s.waitSec.p95)}</td><td>${fmt(s.waitSec.p99)}</td><td>${fmt(s.waitSec.max)}</td><td>${fmt(s.agentMinutesBilled)}</td><td>${fmt(s.idleAgentMinutes)}</td><td>${s.costUsd.toFixed(3)}</td><td>${s.apiCalls.azdo}</td><td>${s.apiCalls.arm}</td><td>${s.errors}</td><td>${s.violations}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>azp-aci-autoscaler simulation — ${esc(meta.trace)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1340px}
table{border-collapse:collapse;font-size:13px;margin:12px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f5f5f5}figure{display:inline-block;margin:8px 12px 8px 0;vertical-align:top}figcaption{font-weight:600;margin-bottom:4px}
code{background:#f5f5f5;padding:1px 4px}
</style></head><body>
<h1>Simulation: ${esc(meta.trace)}</h1>
<p>${esc(meta.description)} · seed ${meta.seed} · <code>${esc(meta.command)}</code></p>
<table><thead><tr><th>policy</th><th>jobs</th><th>served</th><th>rejected</th><th>wait p50 s</th><th>p95 s</th><th>p99 s</th><th>max s</th><th>agent-min billed</th><th>idle agent-min</th><th>cost $</th><th>API azdo</th><th>API arm</th><th>errors</th><th>violations</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<section>${queue}${cdf}${frontier.length > 0 ? frontierChart(meta.trace, frontier) : ''}</section>
<section>${results.map(stackedChart).join('\n')}</section>
<p>Costs use the documented unit prices in src/sim/billing.ts (ACI Linux pay-as-you-go; Standard_D2s_v3 for VMSS). Model and assumptions: src/sim/README.md.</p>
</body></html>
`;
}
