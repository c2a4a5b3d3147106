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
  /** The pass's pool state: the back-off steps taken here are written into it. */
  state: PoolState;
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
  backoff: { planned: Readonly<Record<string, BackoffState | undefined>>; state: PoolState },
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
  const settled = await mapLimit(creates, opts.createConcurrency ?? opts.concurrency ?? 8, (a) =>
    createOne(a, profileByName.get(a.profile), ctx),
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

type LastError = { err: unknown; kind: PortErrorKind | undefined; name: string };

/**
 * One create, trying the profile's placements in order (skipping those backing off); a retry
 * elsewhere is a new group name (ACI's fraud detection refuses one name deployed in several
 * regions at once).
 */
async function createOne(a: CreateAction, profile: ProfileConfig | undefined, ctx: CreateContext): Promise<Outcome> {
  const { deps, opts, act } = ctx;
  if (act.leaseLost) return skipLost(act, a);
  if (!profile) return { action: a, status: 'skipped', why: 'profile not configured' };
  let last: LastError | undefined;
  const next = (after?: number) => nextPlacement(profile, ctx.planned, ctx.now, ctx.stopped, after);
  for (let placement = next(); placement; placement = next(placement.index)) {
    // A placeholder's name is fixed (its registration is looked up by it): it does not fall back.
    if (ctx.throttledProfiles.has(a.profile) || (a.placeholder && last)) break;
    const name = a.placeholder
      ? placeholderName(opts.prefix, a.profile)
      : agentName(opts.prefix, a.profile, ctx.now.getTime(), deps.entropy());
    try {
      await deps.compute.createGroup({
        name,
        pool: ctx.pool,
        profile,
        placeholder: a.placeholder === true,
        token: ctx.token,
        createdAt: ctx.now.toISOString(),
        ...(placement.index > 0 ? { placement } : {}),
      });
      return { action: a, status: 'done', group: name };
    } catch (err) {
      if (isLeaseLost(err)) return skipLost(act, a);
      const kind = errorKind(err);
      last = { err, kind, name };
      if (kind === 'throttled') {
        // ARM throttles the subscription, not a region: the whole profile waits.
        ctx.throttledProfiles.add(a.profile);
        backOffPlacement(ctx, kind, err, a.profile, placement);
        break;
      }
      if (kind !== 'quota') break;
      backOffPlacement(ctx, kind, err, a.profile, placement);
    }
  }
  return createResult(a, last, ctx.log);
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
