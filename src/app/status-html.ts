/**
 * GET /api/status?format=html: the same report as the JSON, as a page an operator can open. Every
 * value is escaped (pool, profile and error texts come from settings and remote services).
 */
import { historyLines } from './status.js';
import type { ProfileView } from '../core/types.js';
import type { RuntimeStatus } from './runtime.js';
import type { ProfileCounters } from './telemetry.js';

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const kv = (r: Record<string, number>): string =>
  Object.entries(r)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || '0';
const sec = (t: { count: number; last?: number; max?: number }): string =>
  t.count ? `${t.last?.toFixed(1)} s (max ${t.max?.toFixed(1)} s, n=${t.count})` : '-';

const COLUMNS: Array<[string, (v: ProfileView, c: ProfileCounters | undefined) => unknown]> = [
  ['pool', (v) => v.pool],
  ['profile', (v) => v.profile],
  ['queued', (v) => v.queued],
  ['running', (v) => v.running],
  ['idle', (v) => v.idle],
  ['starting', (v) => v.starting],
  ['busy', (v) => v.busy],
  ['live / max', (v) => `${v.live} / ${v.maxAgents}`],
  ['standby', (v) => v.standbyTarget],
  ['placeholder', (v) => v.placeholder],
  ['back-off until', (v) => v.backoffUntil ?? '-'],
  ['created', (_v, c) => (c ? kv(c.created) : '0')],
  ['deleted', (_v, c) => (c ? kv(c.deleted) : '0')],
  ['create failures', (_v, c) => (c ? kv(c.createFailures) : '0')],
  ['failed boots', (_v, c) => c?.failedBoots ?? 0],
  ['queue wait', (_v, c) => (c ? sec(c.queueWaitSec) : '-')],
  ['webhook → create', (_v, c) => (c ? sec(c.webhookCreateLatencySec) : '-')],
];

export function renderStatusHtml(report: unknown): string {
  const r = report as RuntimeStatus;
  const rows = r.pools.flatMap((p) =>
    p.views.map(
      (v) =>
        `<tr>${COLUMNS.map(([, f]) => `<td>${escapeHtml(f(v, r.telemetry?.pools[p.pool]?.profiles[v.profile]))}</td>`).join('')}</tr>`,
    ),
  );
  const notes = r.pools.flatMap((p) => [
    ...(p.ok ? [] : [`pool ${p.pool}: cannot observe: ${p.error}`]),
    ...(p.unmatchedJobs ? [`pool ${p.pool}: ${p.unmatchedJobs} queued job(s) no profile can serve`] : []),
    ...p.next.map((n) => `pool ${p.pool}: next pass would ${n}`),
  ]);
  if (r.error) notes.push(r.error);
  const shared = (r.history ?? []).flatMap(historyLines);
  const passes = (r.passes ?? []).map(
    (p) =>
      `<tr><td>${escapeHtml(p.pool)}</td><td>${escapeHtml(p.passes)}</td><td>${escapeHtml(p.requests)}</td><td>${escapeHtml(p.lastPassAt ?? '-')}</td><td>${escapeHtml(p.lastPassMs ?? '-')}</td><td>${escapeHtml((p.lastReasons ?? []).join('; '))}</td><td>${escapeHtml(p.lastError ?? '')}</td></tr>`,
  );
  const auth = Object.entries(r.telemetry?.azdoAuthFailures ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>azp-aci-autoscaler status</title>',
    '<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}</style></head><body>',
    `<h1>azp-aci-autoscaler</h1><p>generated ${escapeHtml(r.generatedAt)}</p>`,
    `<h2>Profiles</h2><table><tr>${COLUMNS.map(([h]) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${rows.join('')}</table>`,
    notes.length ? `<ul>${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '',
    shared.length
      ? `<h2>Pools (all instances, from the shared pool state)</h2><ul>${shared.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`
      : '',
    `<h2>Passes (this instance)</h2><table><tr><th>pool</th><th>passes</th><th>requests</th><th>last pass</th><th>ms</th><th>reasons</th><th>error</th></tr>${passes.join('')}</table>`,
    `<h2>Reconcile queue</h2><p>pending ${escapeHtml(r.queue?.pending ?? 'unknown')} · poison ${escapeHtml(r.queue?.poison ?? 'unknown')}</p>`,
    `<h2>Azure DevOps 401/403 (this instance)</h2><p>${escapeHtml(auth || 'none')}</p>`,
    '</body></html>',
  ].join('\n');
}
