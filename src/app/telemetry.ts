/**
 * The telemetry contract of docs/telemetry.md: metrics per pool and profile and the decision events,
 * through the OpenTelemetry API. In Azure the Azure Monitor distro (./monitor.ts) registers the
 * global providers; tests hand in their own meter and logger with in-memory exporters.
 *
 * Everything is recorded from what a pass returns (PassResult), never from inside the pass, so the
 * simulator and the CLI run the same pass without it. Every string attribute goes through the one
 * redactor (src/util/redact.ts): no attribute can carry a token.
 */
import { metrics, type Attributes, type Counter, type Gauge, type Histogram, type Meter } from '@opentelemetry/api';
import { logs, SeverityNumber, type Logger as OtelLogger } from '@opentelemetry/api-logs';
import { decisionFields } from '../core/action-text.js';
import type { Action, BackoffState, JobRequest, ProfileView } from '../core/types.js';
import type { Logger as PortLogger } from '../ports/index.js';
import type { Outcome, PoolResult } from '../reconcile/pass.js';
import { scrub } from '../util/log.js';

export const TELEMETRY_NAME = 'azp-aci-autoscaler';
const P = 'azp_autoscaler.';

export type Trigger = 'timer' | 'queue' | 'cli';
export type Severity = 'info' | 'warn' | 'error';

export interface PassInfo {
  pool: string;
  trigger: Trigger;
  durationMs: number;
  /** The whole pass failed (no group list, no lease) before this pool's result existed. */
  error?: string;
  /** Oldest webhook delivery this pass stands for (the queue message's `receivedAt`). */
  webhookSince?: Date;
  now: Date;
  backoff: Record<string, BackoffState | undefined>;
}

/** This process's counters, for /api/status (the same numbers as the metrics). */
export interface ProfileCounters {
  created: Record<string, number>;
  deleted: Record<string, number>;
  createFailures: Record<string, number>;
  failedBoots: number;
  backoffActive: boolean;
  backoffSeconds: number;
  queueWaitSec: { count: number; last?: number; max?: number };
  webhookCreateLatencySec: { count: number; last?: number; max?: number };
}

export interface PoolCounters {
  passes: Record<string, number>;
  lastPass?: { trigger: Trigger; outcome: 'ok' | 'waiting' | 'failed'; durationSec: number; at: string };
  profiles: Record<string, ProfileCounters>;
}

export interface TelemetryCounters {
  pools: Record<string, PoolCounters>;
  azdoAuthFailures: Record<string, number>;
}

interface Instruments {
  gauges: Record<'queued' | 'running' | 'idle' | 'starting' | 'busy' | 'backoffActive' | 'backoffDuration', Gauge>;
  created: Counter;
  deleted: Counter;
  createFailures: Counter;
  failedBoots: Counter;
  passDuration: Histogram;
  passCount: Counter;
  queueWait: Histogram;
  webhookLatency: Histogram;
  authFailures: Counter;
}

function instruments(meter: Meter): Instruments {
  const gauge = (name: string, unit: string, description: string) => meter.createGauge(P + name, { unit, description });
  const counter = (name: string, unit: string, description: string) =>
    meter.createCounter(P + name, { unit, description });
  const histogram = (name: string, unit: string, description: string) =>
    meter.createHistogram(P + name, { unit, description });
  return {
    gauges: {
      queued: gauge('jobs.queued', '{job}', 'queued jobs this profile can serve'),
      running: gauge('jobs.running', '{job}', 'jobs assigned to an agent of this profile'),
      idle: gauge('agents.idle', '{agent}', 'online agents without a job'),
      starting: gauge('agents.starting', '{agent}', 'container groups whose agent is not online yet'),
      busy: gauge('agents.busy', '{agent}', 'agents running a job'),
      backoffActive: gauge('profile.backoff_active', '1', '1 while the profile backs off'),
      backoffDuration: gauge('profile.backoff_duration', 's', 'seconds since the back-off streak began'),
    },
    created: counter('agents.created', '{agent}', 'container groups created'),
    deleted: counter('agents.deleted', '{agent}', 'container groups deleted'),
    createFailures: counter('agents.create_failures', '{failure}', 'creates that failed'),
    failedBoots: counter('agents.failed_boots', '{agent}', 'groups classified failed boot'),
    passDuration: histogram('pass.duration', 's', "wall time of one pool's pass"),
    passCount: counter('pass.count', '{pass}', 'passes per pool'),
    queueWait: histogram('jobs.queue_wait', 's', 'assign time - queue time per job request'),
    webhookLatency: histogram('webhook.create_latency', 's', 'webhook delivery to successful create'),
    authFailures: counter('azdo.auth_failures', '{response}', 'Azure DevOps 401/403 answers'),
  };
}

/** Create causes of the contract: placeholder, queued (jobs waiting), standby (the warm target). */
export function createCauses(view: ProfileView | undefined, creates: readonly Action[]): string[] {
  let forQueued = view ? Math.max(0, view.queued - view.idle - view.starting) : 0;
  return creates.map((a) => {
    if (a.kind === 'create' && a.placeholder) return 'placeholder';
    if (forQueued > 0) {
      forQueued--;
      return 'queued';
    }
    return 'standby';
  });
}

/** The contract's failure classes: ARM error kinds as they are, `secret` for the PAT, `transient` for the rest. */
export function failureClass(o: Extract<Outcome, { status: 'failed' }>): string {
  const k = o.kind;
  if (k === 'secret' || k === 'quota' || k === 'throttled' || k === 'validation' || k === 'auth' || k === 'notFound')
    return k;
  return 'transient';
}

function safe(attrs: Record<string, unknown>): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') out[k] = scrub(v);
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else out[k] = scrub(JSON.stringify(v));
  }
  return out;
}

const SEVERITY: Record<Severity, SeverityNumber> = {
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
};

/** Job request ids whose queue wait was recorded (per instance), oldest dropped first. */
class SeenIds {
  private readonly ids = new Set<string>();
  constructor(private readonly max = 10_000) {}
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!);
    return true;
  }
}

export class Telemetry {
  private readonly i: Instruments;
  private readonly counters: TelemetryCounters = { pools: {}, azdoAuthFailures: {} };
  private readonly waited = new SeenIds();

  constructor(
    private readonly meter: Meter = metrics.getMeter(TELEMETRY_NAME),
    private readonly logger: OtelLogger = logs.getLogger(TELEMETRY_NAME),
    private readonly flusher: () => Promise<void> = flushGlobal,
  ) {
    this.i = instruments(this.meter);
  }

  /** One log record whose body is the event name and whose attributes are its fields. */
  event(name: string, severity: Severity, fields: Record<string, unknown>): void {
    this.logger.emit({
      body: name,
      severityNumber: SEVERITY[severity],
      severityText: severity.toUpperCase(),
      attributes: safe(fields),
    });
  }

  /** Azure DevOps answered 401/403 (`AzdoError` kinds unauthorized / forbidden). */
  azdoAuthFailure(status: 401 | 403, operation: string, fields: { code?: string; activityId?: string } = {}): void {
    const attrs = { status: String(status), operation };
    this.i.authFailures.add(1, attrs);
    const key = `${status} ${operation}`;
    this.counters.azdoAuthFailures[key] = (this.counters.azdoAuthFailures[key] ?? 0) + 1;
    this.event(P + 'azdo_auth_failure', 'error', { ...attrs, ...fields });
  }

  /** The metrics and events of one pool's pass (`result` undefined when the whole pass failed first). */
  recordPass(result: PoolResult | undefined, info: PassInfo): void {
    // `ok`: observed, planned and acted (single action failures are counted as such); `waiting`: a
    // person still has to provide something (the PAT of a first deploy); `failed`: no plan or the lease lost.
    const ok = result?.plan !== undefined && !result.leaseLost;
    const outcome = ok ? 'ok' : result?.waiting ? 'waiting' : 'failed';
    const pass = { pool: info.pool, trigger: info.trigger, outcome };
    this.i.passCount.add(1, pass);
    this.i.passDuration.record(info.durationMs / 1000, pass);
    const pc = this.pool(info.pool);
    pc.passes[outcome] = (pc.passes[outcome] ?? 0) + 1;
    pc.lastPass = { trigger: info.trigger, outcome, durationSec: info.durationMs / 1000, at: info.now.toISOString() };
    const error = result?.error ?? info.error;
    this.event(P + 'pass', ok ? 'info' : 'error', { ...pass, durationMs: Math.round(info.durationMs), error });
    if (!result?.plan) return;

    const views = new Map(result.plan.views.map((v) => [v.profile, v]));
    for (const v of result.plan.views) this.recordView(v, result, info);
    this.recordOutcomes(result.outcomes, views, info);
    if (result.jobs) this.recordQueueWaits(result.jobs, result.plan.views, info.pool);
  }

  private recordView(v: ProfileView, result: PoolResult, info: PassInfo): void {
    const dims = { pool: info.pool, profile: v.profile };
    const g = this.i.gauges;
    g.queued.record(v.queued, dims);
    g.running.record(v.running, dims);
    g.idle.record(v.idle, dims);
    g.starting.record(v.starting, dims);
    g.busy.record(v.busy, dims);
    // The view says whether the profile backs off: with fallback placements, only once every one does.
    const b = info.backoff[v.profile];
    const active = v.backoffUntil !== undefined && Date.parse(v.backoffUntil) > info.now.getTime();
    const since = active ? Date.parse(b?.since ?? info.now.toISOString()) : NaN;
    const seconds = active && Number.isFinite(since) ? Math.max(0, (info.now.getTime() - since) / 1000) : 0;
    g.backoffActive.record(active ? 1 : 0, dims);
    g.backoffDuration.record(seconds, dims);
    const pc = this.profile(info.pool, v.profile);
    pc.backoffActive = active;
    pc.backoffSeconds = seconds;
    const { pool: _pool, profile: _profile, ...fields } = decisionFields(v, result.plan!.actions);
    this.event(P + 'decision', 'info', {
      pool: info.pool,
      profile: v.profile,
      trigger: info.trigger,
      dryRun: result.outcomes.some((o) => o.status === 'skipped' && o.why === 'dry run'),
      ...fields,
    });
  }

  private recordOutcomes(outcomes: readonly Outcome[], views: Map<string, ProfileView>, info: PassInfo): void {
    const creates = outcomes.filter((o) => o.action.kind === 'create');
    const byProfile = new Map<string, Outcome[]>();
    for (const o of creates)
      byProfile.set((o.action as { profile: string }).profile, [
        ...(byProfile.get((o.action as { profile: string }).profile) ?? []),
        o,
      ]);
    const causeOf = new Map<Outcome, string>();
    for (const [profile, list] of byProfile) {
      const causes = createCauses(
        views.get(profile),
        list.map((o) => o.action),
      );
      list.forEach((o, idx) => causeOf.set(o, causes[idx]!));
    }
    for (const o of outcomes) {
      const a = o.action;
      const profile = a.kind === 'unregister' ? undefined : a.profile;
      const base = { pool: info.pool, ...(profile ? { profile } : {}) };
      if (a.kind === 'delete' && a.cause === 'failedBoot') {
        this.i.failedBoots.add(1, base);
        this.profile(info.pool, a.profile).failedBoots++;
      }
      if (o.status === 'skipped' && o.why === 'dry run') continue;
      const cause = a.kind === 'create' ? causeOf.get(o) : a.kind === 'delete' ? a.cause : undefined;
      const cls = o.status === 'failed' ? failureClass(o) : undefined;
      this.event(P + 'action', o.status === 'failed' ? 'error' : 'info', {
        ...base,
        action: a.kind,
        status: o.status,
        group: o.status === 'done' ? o.group : a.kind === 'delete' ? a.group : undefined,
        cause,
        class: cls,
        error: o.status === 'failed' ? o.error : o.status === 'skipped' ? o.why : undefined,
      });
      if (!profile) continue;
      const pc = this.profile(info.pool, profile);
      if (a.kind === 'create' && o.status === 'done') {
        this.i.created.add(1, { ...base, cause: cause! });
        pc.created[cause!] = (pc.created[cause!] ?? 0) + 1;
        if (info.webhookSince) {
          const sec = Math.max(0, (info.now.getTime() - info.webhookSince.getTime()) / 1000);
          this.i.webhookLatency.record(sec, base);
          track(pc.webhookCreateLatencySec, sec);
        }
      } else if (a.kind === 'create' && o.status === 'failed') {
        this.i.createFailures.add(1, { ...base, class: cls! });
        pc.createFailures[cls!] = (pc.createFailures[cls!] ?? 0) + 1;
      } else if (a.kind === 'delete' && o.status === 'done') {
        this.i.deleted.add(1, { ...base, cause: a.cause });
        pc.deleted[a.cause] = (pc.deleted[a.cause] ?? 0) + 1;
      }
    }
  }

  /** assignTime − queueTime, once per request id, attributed to the profile of the agent it got. */
  private recordQueueWaits(jobs: readonly JobRequest[], views: readonly ProfileView[], pool: string): void {
    const profiles = views.map((v) => v.profile).sort((a, b) => b.length - a.length);
    for (const j of jobs) {
      if (!j.assignTime || !j.queueTime || !j.reservedAgent) continue;
      const sec = (Date.parse(j.assignTime) - Date.parse(j.queueTime)) / 1000;
      if (!Number.isFinite(sec) || sec < 0) continue;
      // Our agent names embed the profile (`{prefix}-{profile}-…`); agents of others are not ours to measure.
      const profile = profiles.find((p) => j.reservedAgent!.name.includes(`-${p}-`));
      if (!profile || !this.waited.add(`${pool}|${j.requestId}`)) continue;
      this.i.queueWait.record(sec, { pool, profile });
      track(this.profile(pool, profile).queueWaitSec, sec);
    }
  }

  /** Export what is buffered (before an invocation returns: the instance may be removed). */
  async flush(): Promise<void> {
    await this.flusher();
  }

  /** This process's counters since start (GET /api/status). */
  counts(): TelemetryCounters {
    return structuredClone(this.counters);
  }

  private pool(pool: string): PoolCounters {
    return (this.counters.pools[pool] ??= { passes: {}, profiles: {} });
  }

  private profile(pool: string, profile: string): ProfileCounters {
    return (this.pool(pool).profiles[profile] ??= {
      created: {},
      deleted: {},
      createFailures: {},
      failedBoots: 0,
      backoffActive: false,
      backoffSeconds: 0,
      queueWaitSec: { count: 0 },
      webhookCreateLatencySec: { count: 0 },
    });
  }
}

const FAILED_BOOT_FIELDS = ['pool', 'profile', 'group', 'provisioningState', 'state', 'exitCode', 'detail', 'logTail'];

/**
 * The pass's logger, with its `failed boot` evidence line (src/reconcile/pass.ts) also sent as the
 * `azp_autoscaler.failed_boot` event; every line still goes to `inner`.
 */
export function withTelemetryEvents(
  inner: PortLogger,
  telemetry: Pick<Telemetry, 'event'>,
  base: Record<string, unknown> = {},
): PortLogger {
  return {
    info: (m, f) => inner.info(m, f),
    warn: (m, f) => {
      if (m === 'failed boot') {
        const all: Record<string, unknown> = { ...base, ...f };
        telemetry.event(P + 'failed_boot', 'warn', Object.fromEntries(FAILED_BOOT_FIELDS.map((k) => [k, all[k]])));
      }
      inner.warn(m, f);
    },
    error: (m, f) => inner.error(m, f),
    child: (f) => withTelemetryEvents(inner.child(f), telemetry, { ...base, ...f }),
  };
}

function track(t: { count: number; last?: number; max?: number }, v: number): void {
  t.count++;
  t.last = v;
  t.max = Math.max(t.max ?? 0, v);
}

/** forceFlush of the global providers the distro registered (no-op for the API's no-op providers). */
async function flushGlobal(): Promise<void> {
  type Flushable = { forceFlush?: () => Promise<void>; _getDelegate?: () => Flushable };
  const logProvider = logs.getLoggerProvider() as unknown as Flushable;
  const providers = [metrics.getMeterProvider() as unknown as Flushable, logProvider._getDelegate?.() ?? logProvider];
  await Promise.all(
    providers.map((p) => (typeof p.forceFlush === 'function' ? p.forceFlush().catch(() => undefined) : undefined)),
  );
}
