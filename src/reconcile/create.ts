/**
 * The create part of the pass: the plan's creates with the agent PAT, each trying its profile's
 * placements in order (src/core/placements.ts `nextPlacement`, from the pass's one back-off
 * snapshot). A quota or throttling error backs the placement off once per pass; the step is
 * decided by src/core/capacity.ts and written into the pass's pool state, saved after the pass.
 */
import type { ProfileConfig } from '../config/schema.js';
import { backoffAfterCreateError } from '../core/capacity.js';
import { agentName, placeholderName } from '../core/names.js';
import { nextPlacement, type Placement } from '../core/placements.js';
import type { BackoffState } from '../core/types.js';
import {
  errorKind,
  isLeaseLost,
  retryAfterOf,
  type Logger,
  type PoolState,
  type PortErrorKind,
} from '../ports/index.js';
import { mapLimit } from '../util/limit.js';
import { errorText } from '../util/log.js';
import {
  backoffPolicy,
  once,
  settledOutcomes,
  skipLost,
  type ActState,
  type CreateAction,
  type Outcome,
  type ReconcileDeps,
  type ReconcileOptions,
} from './types.js';

/** What one pass's creates share: the token, the time, the back-off snapshot and this pass's steps. */
interface CreateContext {
  pool: string;
  token: string;
  now: Date;
  /** The back-off state the plan was made from: where creates may go. */
  planned: Readonly<Record<string, BackoffState | undefined>>;
  /** The pass's pool state: the back-off steps and expected creates are written into it. */
  state: PoolState;
  /** Saves the pass's pool state now (fenced, one save at a time). */
  record: () => Promise<void>;
  /** Placements that hit quota this pass (back-off keys). */
  stopped: Set<string>;
  /** Profiles ARM throttled this pass. */
  throttledProfiles: Set<string>;
  opts: ReconcileOptions;
  deps: ReconcileDeps;
  log: Logger;
  act: ActState;
}

/** The plan's creates; `planned`: the back-off snapshot of the plan, `state`: the pass's pool state. */
export async function actCreates(
  pool: string,
  creates: CreateAction[],
  backoff: {
    planned: Readonly<Record<string, BackoffState | undefined>>;
    state: PoolState;
    /** Saves the pass's pool state now (fenced, one save at a time). */
    record: () => Promise<void>;
  },
  opts: ReconcileOptions,
  deps: ReconcileDeps,
  log: Logger,
  act: ActState,
): Promise<Outcome[]> {
  let token: string;
  try {
    token = await deps.secrets.getToken();
  } catch (err) {
    if (errorKind(err) === 'notReady') {
      // AZP_AUTH=entra observes without the PAT; the agents still need it (first deployment).
      const what = err instanceof Error ? err.message : String(err);
      if (once(deps, `notReady:${what}`)) log.warn(what);
      return creates.map((a) => ({ action: a, status: 'skipped', why: what }));
    }
    log.error('cannot read the agent PAT from Key Vault: no agents created this pass', { error: errorText(err) });
    return creates.map((a) => ({ action: a, status: 'failed', error: 'agent PAT unavailable', kind: 'secret' }));
  }
  const ctx: CreateContext = {
    pool,
    token,
    now: deps.clock.now(),
    ...backoff,
    stopped: new Set(),
    throttledProfiles: new Set(),
    opts,
    deps,
    log,
    act,
  };
  const profileByName = new Map(opts.profiles.map((x) => [x.name, x]));
  const firsts = await recordFirstAttempts(creates, profileByName, ctx);
  if (!Array.isArray(firsts)) return creates.map(firsts);
  const settled = await mapLimit(creates, opts.createConcurrency ?? opts.concurrency ?? 8, (a, i) =>
    createOne(a, profileByName.get(a.profile), firsts[i], ctx),
  );
  return settledOutcomes(creates, settled);
}

/** One back-off step per placement per pass, however many creates fail. */
function backOffPlacement(
  ctx: CreateContext,
  kind: 'quota' | 'throttled',
  err: unknown,
  profile: string,
  placement: Placement,
): void {
  if (ctx.stopped.has(placement.key)) return;
  ctx.stopped.add(placement.key);
  const reason = `${kind}: ${errorText(err)}`;
  const at = ctx.deps.clock.now();
  const next = backoffAfterCreateError(
    ctx.planned[placement.key],
    kind,
    at,
    reason,
    retryAfterOf(err),
    backoffPolicy(ctx.opts),
  );
  ctx.state.backoff[placement.key] = next;
  ctx.log.warn('profile backs off after a capacity error', {
    profile,
    placement: placement.index,
    ...(placement.location ? { location: placement.location } : {}),
    until: next.until,
    failures: next.failures,
    error: errorText(err),
  });
}

/**
 * Every first attempt is named and recorded in the pool state before any is sent: a create that
 * lands after this pass (or after the lease) is counted by whoever reads the state next. When the
 * record cannot be saved, no create is sent: the outcome each one gets instead.
 */
async function recordFirstAttempts(
  creates: readonly CreateAction[],
  profileByName: ReadonlyMap<string, ProfileConfig>,
  ctx: CreateContext,
): Promise<(Attempt | undefined)[] | ((a: CreateAction) => Outcome)> {
  const firsts = creates.map((a) => {
    const profile = profileByName.get(a.profile);
    const placement = profile && nextPlacement(profile, ctx.planned, ctx.now, ctx.stopped);
    return placement ? { name: nameFor(a, ctx), placement } : undefined;
  });
  creates.forEach((a, i) => firsts[i] && expectCreate(ctx, a, firsts[i]));
  if (!firsts.some((f) => f)) return firsts;
  try {
    await ctx.record();
    return firsts;
  } catch (err) {
    if (isLeaseLost(err)) return (a) => skipLost(ctx.act, a);
    ctx.log.error('cannot record the creates in the pool state: none sent this pass', { error: errorText(err) });
    return (a) => ({ action: a, status: 'skipped', why: 'creates could not be recorded in the pool state' });
  }
}

type LastError = { err: unknown; kind: PortErrorKind | undefined; name: string };

/** A create's first attempt: its name is made and recorded (an expectation) before any is sent. */
interface Attempt {
  name: string;
  placement: Placement;
}

/** The group name one attempt of a create takes (a placeholder's is fixed). */
function nameFor(a: CreateAction, ctx: CreateContext): string {
  return a.placeholder
    ? placeholderName(ctx.opts.prefix, a.profile)
    : agentName(ctx.opts.prefix, a.profile, ctx.now.getTime(), ctx.deps.entropy());
}

/** Remembers a create about to be sent (src/core/expectations.ts): counted as starting until a list shows it. */
function expectCreate(ctx: CreateContext, a: CreateAction, at: Attempt): void {
  delete ctx.state.expected.deletes[at.name];
  ctx.state.expected.creates[at.name] = {
    pool: ctx.pool,
    profile: a.profile,
    at: ctx.now.toISOString(),
    ...(a.placeholder ? { placeholder: true } : {}),
    ...(at.placement.index > 0 ? { placement: `${at.placement.index}:${at.placement.location ?? ''}` } : {}),
  };
}

/**
 * One create, trying the profile's placements in order (skipping those backing off); a retry
 * elsewhere is a new group name (ACI's fraud detection refuses one name deployed in several
 * regions at once), recorded in the pool state before it is sent.
 */
async function createOne(
  a: CreateAction,
  profile: ProfileConfig | undefined,
  first: Attempt | undefined,
  ctx: CreateContext,
): Promise<Outcome> {
  const { deps, act } = ctx;
  if (act.leaseLost) return skipLost(act, a);
  if (!profile || !first)
    return { action: a, status: 'skipped', why: profile ? 'profile backing off this pass' : 'profile not configured' };
  let last: LastError | undefined;
  const next = (after: number) => nextPlacement(profile, ctx.planned, ctx.now, ctx.stopped, after);
  for (let at: Attempt | undefined = first; at;) {
    try {
      await deps.compute.createGroup({
        name: at.name,
        pool: ctx.pool,
        profile,
        placeholder: a.placeholder === true,
        token: ctx.token,
        createdAt: ctx.now.toISOString(),
        ...(at.placement.index > 0 ? { placement: at.placement } : {}),
      });
      return { action: a, status: 'done', group: at.name };
    } catch (err) {
      if (isLeaseLost(err)) return skipLost(act, a);
      const kind = errorKind(err);
      last = { err, kind, name: at.name };
      // As Kubernetes' ReplicaSet lowers its expectations when a create fails, but only when ARM
      // refused it: a create whose outcome is unknown (a timeout, a reset, a 5xx) may still land
      // after a lagging list, so it stays expected until a list shows it or a GET finds it absent.
      if (refused(kind)) delete ctx.state.expected.creates[at.name];
      if (kind !== 'quota' && kind !== 'throttled') break;
      backOffPlacement(ctx, kind, err, a.profile, at.placement);
      // ARM throttles the subscription, not a region: the whole profile waits.
      if (kind === 'throttled') ctx.throttledProfiles.add(a.profile);
      at = await fallback(a, next(at.placement.index), ctx);
    }
  }
  return createResult(a, last, ctx.log);
}

/** Failures after which ARM has certainly not created the group: its answer refused the request. */
const REFUSALS: ReadonlySet<PortErrorKind> = new Set(['throttled', 'quota', 'validation', 'auth', 'notFound']);
const refused = (kind: PortErrorKind | undefined): boolean => kind !== undefined && REFUSALS.has(kind);

/** The next attempt after a quota error, recorded before it is sent; none when the profile may not fall back. */
async function fallback(
  a: CreateAction,
  placement: Placement | undefined,
  ctx: CreateContext,
): Promise<Attempt | undefined> {
  // A placeholder's name is fixed (its registration is looked up by it): it does not fall back.
  if (!placement || a.placeholder || ctx.throttledProfiles.has(a.profile)) return undefined;
  const at = { name: nameFor(a, ctx), placement };
  expectCreate(ctx, a, at);
  try {
    await ctx.record();
    return at;
  } catch {
    delete ctx.state.expected.creates[at.name];
    return undefined;
  }
}

/** The outcome of a create whose every placement failed or was skipped. */
function createResult(a: CreateAction, last: LastError | undefined, log: Logger): Outcome {
  if (!last) return { action: a, status: 'skipped', why: 'profile backing off this pass' };
  if (last.kind !== 'quota' && last.kind !== 'throttled')
    log.error('create failed', {
      profile: a.profile,
      group: last.name,
      kind: last.kind,
      error: errorText(last.err),
    });
  return { action: a, status: 'failed', error: errorText(last.err), kind: last.kind };
}
