/**
 * The telemetry contract (docs/telemetry.md) against what reads it: the alert rules in
 * infra/modules/alerts.bicep, their KQL files (infra/monitoring/*.kql), the workbook
 * (infra/monitoring/workbook.json), host.json sampling and the reconcile queue. Names and
 * dimensions a query uses must be defined in the doc's tables; every metric defined must be on the
 * workbook; each alert's KQL is the file the doc shows, loaded by the Bicep.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { repoRoot } from '../contract/paths.js';

const require = createRequire(import.meta.url);
const read = (p: string): string => readFileSync(join(repoRoot, p), 'utf8');
const DOC = 'docs/telemetry.md';
const MONITORING = 'infra/monitoring';

// ---------------------------------------------------------------------------------------------
// The doc's tables

interface Signal {
  kind: 'metric' | 'event';
  instrument?: string;
  unit?: string;
  dimensions: string[];
}

/** Rows of the first markdown table under a heading line (cells trimmed), header and rule skipped. */
function tableUnder(doc: string, heading: string): string[][] {
  const marker = heading.startsWith('#') ? heading : `## ${heading}`;
  const start = doc.indexOf(`\n${marker}\n`);
  if (start < 0) throw new Error(`${DOC}: no "${marker}"`);
  const rest = doc.slice(start + marker.length + 2);
  const end = rest.search(/\n##? /);
  const lines = (end < 0 ? rest : rest.slice(0, end)).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows;
}

const unquote = (cell: string): string => /^`([^`]+)`$/.exec(cell)?.[1] ?? cell;
const list = (cell: string): string[] => cell.split(',').map((s) => s.trim().replace(/ \(.*$/, '')).filter(Boolean);

function contract(doc: string): Map<string, Signal> {
  const out = new Map<string, Signal>();
  for (const [name, instrument, unit, dims] of tableUnder(doc, 'Metrics')) {
    out.set(unquote(name!), { kind: 'metric', instrument, unit: unquote(unit!), dimensions: list(dims!) });
  }
  for (const [name, , fields] of tableUnder(doc, 'Log events')) {
    out.set(unquote(name!), { kind: 'event', dimensions: list(fields!) });
  }
  return out;
}

/**
 * What a query uses that the contract does not define: `azp_autoscaler.*` literals that are no
 * metric or event (or a metric used as a log message and vice versa), and customDimensions keys that
 * none of the signals it reads carries.
 */
function queryProblems(query: string, signals: Map<string, Signal>): string[] {
  const problems: string[] = [];
  const used = [...query.matchAll(/"(azp_autoscaler\.[a-z0-9_.]*)"/g)].map((m) => m[1]!).filter((n) => !n.endsWith('.'));
  if (used.length === 0) problems.push('reads no azp_autoscaler signal');
  for (const n of used) if (!signals.has(n)) problems.push(`${n} is not defined in ${DOC}`);
  const table = /^\s*(customMetrics|traces)\b/m.exec(query.replace(/^let \w+ = /m, ''))?.[1];
  for (const n of used.filter((x) => signals.has(x))) {
    const want = signals.get(n)!.kind === 'metric' ? 'customMetrics' : 'traces';
    if (table && table !== want) problems.push(`${n} is a ${signals.get(n)!.kind}: it lands in ${want}, the query reads ${table}`);
  }
  const dims = new Set(used.flatMap((n) => signals.get(n)?.dimensions ?? []));
  for (const [, key] of query.matchAll(/customDimensions\["([^"]+)"\]/g)) {
    if (!dims.has(key!)) problems.push(`customDimensions["${key}"] is not a dimension of ${used.join(', ')}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Bicep (tree-sitter-bicep)

let parser: Parser;
const named = (n: Node | null | undefined): Node[] => (n ? n.namedChildren.filter((c): c is Node => c !== null) : []);
function parse(text: string): Node {
  const tree = parser.parse(text);
  if (!tree) throw new Error('no tree');
  return tree.rootNode;
}
function literal(n: Node | undefined): string | undefined {
  if (!n || n.type !== 'string' || named(n).some((c) => c.type === 'interpolation')) return undefined;
  return named(n).map((c) => c.text).join('');
}
function prop(obj: Node | undefined, ...path: string[]): Node | undefined {
  let cur = obj;
  for (const key of path) {
    const p = named(cur).find((c) => c.type === 'object_property' && named(c)[0]?.text.replace(/'/g, '') === key);
    cur = p ? named(p)[named(p).length - 1] : undefined;
  }
  return cur;
}
function resources(root: Node, type: string): { symbol: string; body: Node; node: Node }[] {
  return root
    .descendantsOfType('resource_declaration')
    .filter((n): n is Node => n !== null && literal(named(n)[1])?.startsWith(`${type}@`) === true)
    .map((n) => {
      let body = named(n).find((c) => ['object', 'if_statement'].includes(c.type))!;
      if (body.type === 'if_statement') body = named(body).filter((c) => c.type === 'object').pop()!;
      return { symbol: named(n)[0]!.text, body, node: n };
    });
}
function params(root: Node): Set<string> {
  return new Set(named(root).filter((n) => n.type === 'parameter_declaration').map((n) => named(n)[0]!.text));
}

let doc: string;
let signals: Map<string, Signal>;
let alerts: Node;
let main: Node;
let storage: Node;
const kqlFiles = new Map<string, string>();
let workbook: { version: string; items: { type: number; content: { query?: string } }[] };

beforeAll(async () => {
  await Parser.init();
  parser = new Parser();
  parser.setLanguage(await Language.load(require.resolve('tree-sitter-bicep/tree-sitter-bicep.wasm')));
  doc = read(DOC);
  signals = contract(doc);
  alerts = parse(read('infra/modules/alerts.bicep'));
  main = parse(read('infra/main.bicep'));
  storage = parse(read('infra/modules/storage.bicep'));
  for (const f of readdirSync(join(repoRoot, MONITORING)).filter((f) => f.endsWith('.kql'))) kqlFiles.set(f, read(`${MONITORING}/${f}`));
  workbook = JSON.parse(read(`${MONITORING}/workbook.json`)) as typeof workbook;
});

describe('the contract (docs/telemetry.md)', () => {
  it('defines every metric the issue asks for, each with one prefix, an instrument, a unit and dimensions', () => {
    const metrics = [...signals].filter(([, s]) => s.kind === 'metric');
    for (const [name, s] of metrics) {
      expect(name).toMatch(/^azp_autoscaler\.[a-z_]+\.[a-z_]+$/);
      expect(['gauge', 'counter', 'histogram'], name).toContain(s.instrument);
      expect(s.unit, name).toMatch(/^(s|1|\{[a-z]+\})$/);
      expect(s.dimensions.length, name).toBeGreaterThan(0);
    }
    const has = (name: string, instrument: string, ...dims: string[]): void => {
      const s = signals.get(name);
      expect(s, name).toBeDefined();
      expect(s!.instrument, name).toBe(instrument);
      expect(s!.dimensions, name).toEqual(expect.arrayContaining(dims));
    };
    for (const g of ['jobs.queued', 'jobs.running', 'agents.idle', 'agents.starting', 'agents.busy', 'profile.backoff_active']) has(`azp_autoscaler.${g}`, 'gauge', 'pool', 'profile');
    has('azp_autoscaler.agents.created', 'counter', 'pool', 'profile', 'cause');
    has('azp_autoscaler.agents.deleted', 'counter', 'pool', 'profile', 'cause');
    has('azp_autoscaler.agents.create_failures', 'counter', 'pool', 'profile', 'class');
    has('azp_autoscaler.agents.failed_boots', 'counter', 'pool', 'profile');
    has('azp_autoscaler.pass.duration', 'histogram', 'pool', 'outcome');
    has('azp_autoscaler.pass.count', 'counter', 'pool', 'outcome');
    has('azp_autoscaler.jobs.queue_wait', 'histogram', 'pool', 'profile');
    has('azp_autoscaler.webhook.create_latency', 'histogram', 'pool', 'profile');
    has('azp_autoscaler.azdo.auth_failures', 'counter', 'status');
    expect(signals.get('azp_autoscaler.decision')?.kind).toBe('event');
    expect(signals.get('azp_autoscaler.decision')!.dimensions).toEqual(expect.arrayContaining(['pool', 'profile', 'queued', 'running', 'idle', 'starting', 'busy', 'creates', 'deletes', 'reasons']));
  });

  it('every dimension a metric uses has its values listed', () => {
    const values = new Set(tableUnder(doc, '### Dimension values').map(([d]) => d!.replace(/ \(.*\)$/, '')));
    const used = new Set([...signals.values()].filter((s) => s.kind === 'metric').flatMap((s) => s.dimensions));
    expect([...used].filter((d) => !values.has(d))).toEqual([]);
  });

  it('says how decision events survive sampling, and host.json keeps traces out of the host sampling', () => {
    expect(doc).toMatch(/enableTraceBasedSamplingForLogs: false/);
    const host = JSON.parse(read('host.json')) as { logging: { applicationInsights: { samplingSettings: { excludedTypes: string } } }; telemetryMode?: string };
    const excluded = host.logging.applicationInsights.samplingSettings.excludedTypes.split(';');
    expect(excluded).toEqual(expect.arrayContaining(['Request', 'Trace', 'Exception']));
    // The doc's path keeps the host in its default mode.
    expect(host.telemetryMode).toBeUndefined();
    expect(doc).toMatch(/`host\.json` excludes `Request`,\s+`Trace` and `Exception`/);
  });
});

describe('alerts (infra/modules/alerts.bicep) and their KQL', () => {
  const rules = () => resources(alerts, 'Microsoft.Insights/scheduledQueryRules');

  it('four log alert rules, one per query file, each on the Application Insights component', () => {
    expect(rules().length).toBe(4);
    const loaded = rules().map((r) => {
      const q = prop(named(prop(r.body, 'properties', 'criteria', 'allOf'))[0], 'query')!;
      const m = /loadTextContent\('\.\.\/monitoring\/([\w-]+\.kql)'\)/.exec(q.text);
      expect(m, `${r.symbol}: query loads a .kql file`).not.toBeNull();
      expect(prop(r.body, 'properties', 'scopes')!.text.replace(/\s/g, '')).toBe('[applicationInsightsId]');
      expect(literal(prop(r.body, 'kind'))).toBe('LogAlert');
      return m![1]!;
    });
    expect(loaded.sort()).toEqual([...kqlFiles.keys()].sort());
  });

  it('each KQL file is shown verbatim in docs/telemetry.md, and the doc names each file in its alert table', () => {
    const blocks = [...doc.matchAll(/```kql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    for (const [f, text] of kqlFiles) {
      expect(blocks, f).toContain(text);
      expect(doc).toContain(`\`infra/monitoring/${f}\``);
    }
  });

  it('the queries read only signals and dimensions the contract defines', () => {
    for (const [f, text] of kqlFiles) expect(queryProblems(text, signals), f).toEqual([]);
  });

  it('the check catches an unknown name, a metric read from traces and an undefined dimension', () => {
    const q = kqlFiles.get('failed-boots.kql')!;
    expect(queryProblems(q.replace('agents.failed_boots', 'agents.failed_boot'), signals).join('\n')).toMatch(/agents\.failed_boot is not defined/);
    expect(queryProblems(q.replace('customMetrics', 'traces'), signals).join('\n')).toMatch(/lands in customMetrics, the query reads traces/);
    expect(queryProblems(q.replace('customDimensions["pool"]', 'customDimensions["region"]'), signals).join('\n')).toMatch(/"region"\] is not a dimension/);
  });

  it('thresholds and windows are parameters, passed from main.bicep', () => {
    const ps = params(alerts);
    const byFile = new Map(rules().map((r) => {
      const c = named(prop(r.body, 'properties', 'criteria', 'allOf'))[0];
      return [/monitoring\/([\w-]+)\.kql/.exec(prop(c, 'query')!.text)![1]!, { threshold: prop(c, 'threshold')!.text, window: prop(r.body, 'properties', 'windowSize')!.text, rule: r }] as const;
    }));
    expect(byFile.get('azdo-auth-failures')!.threshold).toBe('azdoAuthFailureThreshold');
    expect(byFile.get('failed-boots')!.threshold).toBe('failedBootThreshold');
    expect(byFile.get('failed-boots')!.window).toBe('failedBootWindow');
    expect(byFile.get('backoff')!.threshold).toBe('backoffAlertMinutes');
    for (const p of ['azdoAuthFailureThreshold', 'failedBootThreshold', 'failedBootWindowMinutes', 'backoffAlertMinutes', 'timerPeriodMinutes', 'ingestionDelayMinutes', 'alertEmail', 'scaleSchedule']) expect(ps.has(p), p).toBe(true);
    // No successful pass: "fewer than one ok pass" over 3 timer periods (+ ingestion delay), the period from the schedule.
    const noPass = byFile.get('no-successful-pass')!;
    expect(noPass.threshold).toBe('1');
    const c = named(prop(noPass.rule.body, 'properties', 'criteria', 'allOf'))[0];
    expect(literal(prop(c, 'operator'))).toBe('LessThan');
    expect(prop(c, 'query')!.text).toMatch(/^'let lookback = \$\{noPassLookback\}m;\\n\$\{loadTextContent/);
    expect(kqlFiles.get('no-successful-pass.kql')).toMatch(/ago\(lookback\)/);
    expect(kqlFiles.get('no-successful-pass.kql')).not.toMatch(/let lookback/);
    const vars = new Map(named(alerts).filter((n) => n.type === 'variable_declaration').map((n) => [named(n)[0]!.text, named(n)[named(n).length - 1]!.text]));
    expect(vars.get('noPassLookback')).toBe('3 * max(timerPeriod, 1) + ingestionDelayMinutes');
    expect(vars.get('timerPeriod')).toBe('timerPeriodMinutes > 0 ? timerPeriodMinutes : derivedPeriod');
    expect(prop(noPass.rule.body, 'properties', 'enabled')!.text).toBe('timerPeriod > 0');
    // main.bicep hands its parameters (and the schedule the timer uses) to the module.
    const mod = main.descendantsOfType('module_declaration').find((m) => literal(named(m!)[1]) === 'modules/alerts.bicep')!;
    const mainParams = params(main);
    const passed = prop(named(mod).find((c) => c.type === 'object'), 'params')!;
    for (const [k, v] of [['scaleSchedule', 'scaleSchedule'], ['alertEmail', 'alertEmail'], ['timerPeriodMinutes', 'alertTimerPeriodMinutes'], ['backoffAlertMinutes', 'alertBackoffMinutes'], ['failedBootThreshold', 'alertFailedBootThreshold'], ['failedBootWindowMinutes', 'alertFailedBootWindowMinutes'], ['azdoAuthFailureThreshold', 'alertAzdoAuthFailureThreshold'], ['ingestionDelayMinutes', 'alertIngestionDelayMinutes']] as const) {
      expect(prop(passed, k)?.text, k).toBe(v);
      expect(mainParams.has(v), v).toBe(true);
    }
    // Every parameter the doc's alert table names is a main.bicep parameter.
    const documented = tableUnder(doc, 'Alerts').flatMap(([, , , p]) => [...p!.matchAll(/`(alert\w+)`/g)].map((m) => m[1]!));
    expect(documented.length).toBeGreaterThanOrEqual(6);
    expect(documented.filter((p) => !mainParams.has(p))).toEqual([]);
  });

  it('the action group is optional and every rule notifies it when it exists', () => {
    const ag = resources(alerts, 'Microsoft.Insights/actionGroups');
    expect(ag.length).toBe(1);
    expect(ag[0]!.node.text).toMatch(/= if \(!empty\(alertEmail\)\)/);
    for (const r of rules()) expect(prop(r.body, 'properties', 'actions', 'actionGroups')!.text, r.symbol).toBe('actionGroups');
    const vars = new Map(named(alerts).filter((n) => n.type === 'variable_declaration').map((n) => [named(n)[0]!.text, named(n)[named(n).length - 1]!.text]));
    expect(vars.get('actionGroups')).toBe('empty(alertEmail) ? [] : [actionGroup.id]');
  });
});

describe('workbook (infra/monitoring/workbook.json)', () => {
  it('is deployed from the JSON file on the Application Insights component', () => {
    const wb = resources(alerts, 'Microsoft.Insights/workbooks');
    expect(wb.length).toBe(1);
    expect(prop(wb[0]!.body, 'properties', 'sourceId')!.text).toBe('applicationInsightsId');
    expect(prop(wb[0]!.body, 'properties', 'serializedData')!.text).toMatch(/^string\(union\(workbookContent,/);
    expect(read('infra/modules/alerts.bicep')).toContain("var workbookContent = loadJsonContent('../monitoring/workbook.json')");
    expect(workbook.version).toBe('Notebook/1.0');
  });

  it('its queries read only defined signals and dimensions, and it shows every metric of the contract', () => {
    const queries = workbook.items.filter((i) => i.type === 3).map((i) => i.content.query!);
    expect(queries.length).toBeGreaterThanOrEqual(10);
    for (const q of queries) expect(queryProblems(q, signals), q.slice(0, 80)).toEqual([]);
    const shown = new Set(queries.flatMap((q) => [...q.matchAll(/"(azp_autoscaler\.[a-z0-9_.]+)"/g)].map((m) => m[1]!)));
    const metrics = [...signals].filter(([, s]) => s.kind === 'metric').map(([n]) => n);
    expect(metrics.filter((m) => !shown.has(m))).toEqual([]);
    expect(shown.has('azp_autoscaler.decision')).toBe(true);
  });
});

describe('the reconcile queue', () => {
  it('storage.bicep creates the queue and its poison queue under the names the doc gives', () => {
    const name = named(storage)
      .filter((n) => n.type === 'parameter_declaration' && named(n)[0]!.text === 'reconcileQueueName')
      .map((n) => literal(named(n)[named(n).length - 1]))[0];
    expect(name).toBe('azp-reconcile');
    const text = read('infra/modules/storage.bicep');
    expect(text).toMatch(/resource reconcileQueue 'queues' = \{\n\s+name: reconcileQueueName/);
    expect(text).toMatch(/resource reconcilePoisonQueue 'queues' = \{\n\s+name: '\$\{reconcileQueueName\}-poison'/);
    expect(doc).toContain('**`azp-reconcile`**');
    expect(doc).toContain('**`azp-reconcile-poison`**');
    expect(read('infra/README.md')).toMatch(/Storage Queue Data Contributor \| the storage account \|[^\n]*azp-reconcile/);
  });
});
