/**
 * Output: the summary table (text), and a self-contained HTML report with inline SVG charts
 * (no external assets, no script needed to render): queue depth over time, agents by state over
 * time (one chart per policy), and the queue-wait distribution (CDF per policy).
 */
import type { SimResult } from './run.js';

const COLORS: Record<string, string> = { ours: '#1f77b4', keda: '#ff7f0e', vmss: '#2ca02c' };
const STATE_COLORS = { starting: '#f2c94c', idle: '#9b9b9b', busy: '#2d9cdb', other: '#eb5757' } as const;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (n: number, d = 1) => (Number.isInteger(n) ? String(n) : n.toFixed(d));

export function summaryTable(results: readonly SimResult[]): string {
  const rows: string[][] = [
    ['policy', 'jobs', 'served', 'rejected', 'wait p50', 'p95', 'p99', 'max', 'agent-min billed', 'idle agent-min', 'cost $', 'API azdo', 'API arm', 'errors', 'violations'],
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
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

interface Series {
  label: string;
  color: string;
  points: [number, number][];
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function lineChart(title: string, xLabel: string, yLabel: string, series: Series[], opts: { step?: boolean; logX?: boolean } = {}): string {
  const W = 640;
  const H = 260;
  const L = 56;
  const R = 16;
  const T = 28;
  const B = 44;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMax = niceMax(Math.max(1, ...xs));
  const yMax = niceMax(Math.max(1, ...ys));
  const sx = (x: number) => L + (x / xMax) * (W - L - R);
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B);
  const grid: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    grid.push(`<line x1="${L}" x2="${W - R}" y1="${sy(y)}" y2="${sy(y)}" stroke="#e5e5e5"/><text x="${L - 6}" y="${sy(y) + 4}" text-anchor="end" font-size="11">${fmt(y)}</text>`);
    const x = (xMax * i) / 4;
    grid.push(`<text x="${sx(x)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${fmt(x)}</text>`);
  }
  const paths = series.map((s) => {
    let d = '';
    s.points.forEach(([x, y], i) => {
      if (i === 0) d += `M${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      else {
        if (opts.step) d += `H${sx(x).toFixed(1)}`;
        d += `L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      }
    });
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"><title>${esc(s.label)}</title></path>`;
  });
  const legend = series.map((s, i) => `<rect x="${L + 10 + i * 110}" y="8" width="12" height="12" fill="${s.color}"/><text x="${L + 26 + i * 110}" y="18" font-size="12">${esc(s.label)}</text>`);
  return `<figure><figcaption>${esc(title)}</figcaption><svg class="chart" role="img" aria-label="${esc(title)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">
<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>${grid.join('')}
<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>
${paths.join('\n')}${legend.join('')}
<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${esc(xLabel)}</text>
<text x="14" y="${(T + H - B) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${(T + H - B) / 2})">${esc(yLabel)}</text>
</svg></figure>`;
}

function stackedChart(r: SimResult): string {
  const W = 640;
  const H = 220;
  const L = 56;
  const R = 16;
  const T = 28;
  const B = 40;
  const s = r.samples;
  const keys = ['busy', 'idle', 'starting', 'other'] as const;
  const xMax = niceMax(Math.max(1, ...s.map((p) => p.t)));
  const yMax = niceMax(Math.max(1, ...s.map((p) => p.busy + p.idle + p.starting + p.other)));
  const sx = (x: number) => L + (x / xMax) * (W - L - R);
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B);
  const base = s.map(() => 0);
  const areas = keys.map((k) => {
    const top = s.map((p, i) => base[i]! + p[k]);
    const upper = s.map((p, i) => `${sx(p.t).toFixed(1)},${sy(top[i]!).toFixed(1)}`);
    const lower = s.map((p, i) => `${sx(p.t).toFixed(1)},${sy(base[i]!).toFixed(1)}`).reverse();
    top.forEach((v, i) => (base[i] = v));
    return `<polygon points="${[...upper, ...lower].join(' ')}" fill="${STATE_COLORS[k]}" fill-opacity="0.85"><title>${k}</title></polygon>`;
  });
  const ticks: string[] = [];
  for (let i = 0; i <= 4; i++) {
    ticks.push(`<text x="${L - 6}" y="${sy((yMax * i) / 4) + 4}" text-anchor="end" font-size="11">${fmt((yMax * i) / 4)}</text>`);
    ticks.push(`<text x="${sx((xMax * i) / 4)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${fmt((xMax * i) / 4)}</text>`);
  }
  const legend = keys.map((k, i) => `<rect x="${L + 10 + i * 90}" y="8" width="12" height="12" fill="${STATE_COLORS[k]}"/><text x="${L + 26 + i * 90}" y="18" font-size="12">${k}</text>`);
  const title = `Agents by state — ${r.summary.policy}`;
  return `<figure><figcaption>${esc(title)}</figcaption><svg class="chart" role="img" aria-label="${esc(title)}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg">
<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>${areas.join('')}${ticks.join('')}
<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>${legend.join('')}
<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" font-size="12">minutes since start</text>
</svg></figure>`;
}

export function htmlReport(results: readonly SimResult[], meta: { trace: string; description: string; seed: number; command: string }): string {
  const queue = lineChart(
    'Queue depth over time',
    'minutes since start',
    'queued jobs',
    results.map((r) => ({ label: r.summary.policy, color: COLORS[r.summary.policy] ?? '#333', points: r.samples.map((p) => [p.t, p.queued] as [number, number]) })),
    { step: true },
  );
  const cdf = lineChart(
    'Queue wait distribution (CDF)',
    'wait (seconds)',
    'fraction of served jobs',
    results.map((r) => {
      const w = [...r.waits].sort((a, b) => a - b);
      return { label: r.summary.policy, color: COLORS[r.summary.policy] ?? '#333', points: w.map((x, i) => [x, (i + 1) / w.length] as [number, number]) };
    }),
    { step: true },
  );
  const rows = results
    .map(({ summary: s }) => `<tr><td>${s.policy}</td><td>${s.jobs}</td><td>${s.served}</td><td>${s.rejected}</td><td>${fmt(s.waitSec.p50)}</td><td>${fmt(s.waitSec.p95)}</td><td>${fmt(s.waitSec.p99)}</td><td>${fmt(s.waitSec.max)}</td><td>${fmt(s.agentMinutesBilled)}</td><td>${fmt(s.idleAgentMinutes)}</td><td>${s.costUsd.toFixed(3)}</td><td>${s.apiCalls.azdo}</td><td>${s.apiCalls.arm}</td><td>${s.errors}</td><td>${s.violations}</td></tr>`)
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
<section>${queue}${cdf}</section>
<section>${results.map(stackedChart).join('\n')}</section>
<p>Costs use the documented unit prices in src/sim/world.ts (ACI Linux pay-as-you-go; Standard_D2s_v3 for VMSS). Model and assumptions: src/sim/README.md.</p>
</body></html>
`;
}
