/**
 * Property: whatever the schedule of job arrivals and durations, the profile limits, the crashes
 * and the faults (ACI image-pull failures, agents crashing before they register, agent cleanup
 * failing or absent, ARM throttling and quota, Azure DevOps / ARM calls failing before or after they
 * took effect, online agents dropping offline for a moment, agents registering or coming online only
 * after the boot timeout, and random service latencies that widen the window between the pass's
 * agent list and its deletes), the REAL reconcile pass driving the simulated world (src/sim) keeps the scale-down
 * contract after every pass and at the end:
 *   - no busy agent's group (or registration) is ever deleted;
 *   - never more than maxAgents live groups per profile;
 *   - the placeholder registration is present after every pass (once the first pass ran), except
 *     right after a pass whose placeholder create failed, whose profile backs off, or which deleted a
 *     placeholder group that ended without registering; once registered it is never removed;
 *   - every group that ran a job is deleted after that job finished; nothing but placeholders and
 *     standby idle agents is left after the drain; no orphan registration is left;
 *   - every servable job is served exactly once;
 *   - registrations named like ours with no group of ours behind them — another deployment's (its
 *     AZP_AUTOSCALER_ID in their capabilities) and a person's (no identity) — are never disabled or
 *     removed (issue 21, finding 3; with ownership guessed from the name, the first scenario fails).
 * fast-check generates the scenario; SCALE_DOWN_RUNS scales it (default kept small for CI).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProfileConfig } from '../../src/config/schema.js';
import { simProfile } from '../helpers/profiles.js';
import { placeholderName } from '../../src/core/names.js';
import type { PassResult } from '../../src/reconcile/pass.js';
import type { AzureDevOpsPort, ComputePort } from '../../src/ports/index.js';
import { checkFinalInvariants, checkPassInvariants, orphanRegistrations } from '../../src/sim/invariants.js';
import { mulberry32 } from '../../src/sim/rng.js';
import { generatedTrace, transientFault } from '../helpers/sim-traces.js';
import { runSimulation, TRACE_EPOCH_MS } from '../../src/sim/run.js';
import type { Trace } from '../../src/sim/trace.js';
import type { Violation, World, WorldOptions } from '../../src/sim/world.js';

const RUNS = Number(process.env.SCALE_DOWN_RUNS ?? 200);
/** Generous per-scenario budget (a scenario takes ~0.1 s here; the machine may be shared). */
const TIMEOUT_MS = Math.max(120_000, RUNS * 1_000);
const PREFIX = 'azp';
const DEMANDS = {
  docker: ['docker'],
  java: ['java', 'Agent.Version -gtVersion 2.182.1'],
  none: [],
  gpu: ['gpu'],
} as const;
type JobKind = keyof typeof DEMANDS;

interface Limits {
  maxAgents: number;
  minAgents: number;
  idleTimeoutSec: number;
  maxLifetimeSec: number;
  maxCreatePerPass: number;
  bootTimeoutSec: number;
}

interface Scenario {
  seed: number;
  jobs: { at: number; dur: number; kind: JobKind }[];
  docker: Limits;
  java: Limits & { placeholder: boolean };
  world: Partial<WorldOptions>;
  /** Probability that a port call fails before it reaches the service. */
  failBefore: number;
  /** Probability that a mutating port call takes effect but its answer is lost. */
  failAfter: number;
}

const limits = fc.record({
  maxAgents: fc.integer({ min: 1, max: 5 }),
  minAgents: fc.integer({ min: 0, max: 1 }),
  idleTimeoutSec: fc.constantFrom(0, 60, 300),
  maxLifetimeSec: fc.constantFrom(0, 300, 3600),
  maxCreatePerPass: fc.integer({ min: 1, max: 4 }),
  bootTimeoutSec: fc.constantFrom(90, 180, 600),
});

const rate = (max: number) => fc.oneof(fc.constant(0), fc.double({ min: 0, max, noNaN: true }));

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 30 }),
  jobs: fc.array(
    fc.record({
      at: fc.integer({ min: 0, max: 1800 }),
      dur: fc.integer({ min: 10, max: 1200 }),
      kind: fc.constantFrom<JobKind>('docker', 'java', 'none', 'gpu'),
    }),
    { minLength: 1, maxLength: 30 },
  ),
  docker: limits,
  java: fc.record({
    maxAgents: fc.integer({ min: 1, max: 5 }),
    minAgents: fc.integer({ min: 0, max: 1 }),
    idleTimeoutSec: fc.constantFrom(0, 60, 300),
    maxLifetimeSec: fc.constantFrom(0, 300, 3600),
    maxCreatePerPass: fc.integer({ min: 1, max: 4 }),
    bootTimeoutSec: fc.constantFrom(90, 180, 600),
    placeholder: fc.boolean(),
  }),
  world: fc.record({
    imagePullFailureRate: rate(0.25),
    crashBeforeRegisterRate: rate(0.25),
    // The shipped image never unregisters its agent (start.sh drops the token after config.sh);
    // the opt-in does, failing at cleanupFailureRate (1 = always fails).
    imageUnregisters: fc.boolean(),
    cleanupFailureRate: fc.oneof(rate(0.6), fc.constant(1)),
    throttleRate: rate(0.15),
    maxGroupsPerRegion: fc.integer({ min: 4, max: 60 }),
    offlineBlipsPerHour: fc.oneof(fc.constant(0), fc.double({ min: 0.5, max: 30, noNaN: true })),
    offlineBlipMedianSec: fc.integer({ min: 2, max: 120 }),
    lateRegistrationRate: rate(0.4),
    lateOnlineRate: rate(0.4),
    lateMaxSec: fc.integer({ min: 1, max: 120 }),
    // Latencies: the longer the pass takes between its agent list and its deletes, the more the
    // world changes meanwhile. One assumption of the design is kept (DESIGN.md, principle 4):
    // registration + connect take longer than a DELETE takes effect (here ≥ 1 s against < 1 s),
    // since between the by-name re-read and the DELETE nothing else can be done.
    dispatchDelaySec: fc.constantFrom(0.1, 0.5, 2),
    onlineDelaySec: fc.constantFrom(1, 3),
    azdoLatencyMs: fc.integer({ min: 20, max: 800 }),
    armGetLatencyMs: fc.integer({ min: 20, max: 2000 }),
    armDeleteLatencyMs: fc.integer({ min: 20, max: 900 }),
  }),
  failBefore: rate(0.2),
  failAfter: rate(0.15),
});

function profilesOf(s: Scenario): ProfileConfig[] {
  const { placeholder: javaPlaceholder, ...java } = s.java;
  return [
    simProfile('docker', { placeholder: true, ...s.docker }),
    simProfile('java', { placeholder: javaPlaceholder, ...java }),
  ];
}

function traceOf(s: Scenario): Trace {
  return generatedTrace(
    'property',
    s.jobs.map((j) => ({ ...j, demands: DEMANDS[j.kind] })),
  );
}

const transient = transientFault;

/**
 * Wraps the world's ports: calls fail before reaching the service, or after (the answer is lost).
 * Faults stop once every job has a result: the drain that follows is fault-free, so "eventually"
 * (every group deleted, no orphan left) is judged under fair conditions.
 */
function faulty(world: World, s: Scenario, lastArrivalMs: number): void {
  const rnd = mulberry32(s.seed ^ 0x5eed);
  const active = () => world.clock.nowMs() <= lastArrivalMs || world.jobs.some((j) => !j.result);
  const wrap = <T extends object>(port: T, mutating: ReadonlySet<string>, skip: ReadonlySet<string>): T => {
    const out = {} as Record<string, unknown>;
    for (const [k, fn] of Object.entries(port) as [string, (...a: unknown[]) => Promise<unknown>][]) {
      if (skip.has(k)) {
        out[k] = fn;
        continue;
      }
      out[k] = async (...args: unknown[]) => {
        if (active() && rnd() < s.failBefore) throw transient(`${k} failed`);
        const r = await fn(...args);
        if (mutating.has(k) && active() && rnd() < s.failAfter) throw transient(`${k} answer lost`);
        return r;
      };
    }
    return out as T;
  };
  const azdo = world.azdoPort.bind(world);
  const compute = world.computePort.bind(world);
  world.azdoPort = (): AzureDevOpsPort =>
    wrap(azdo(), new Set(['setAgentEnabled', 'deleteAgent']), new Set(['resolvePoolId']));
  world.computePort = (owner: string): ComputePort =>
    wrap(compute(owner), new Set(['createGroup', 'deleteGroup']), new Set());
}

/** Per-pass check; tolerated placeholder gaps are explained by the pass result. */
function passViolations(
  world: World,
  profiles: readonly ProfileConfig[],
  r: PassResult,
  seenPlaceholders: Map<string, number>,
  unknownCreates: Map<string, number> = new Map(),
): string[] {
  const out: string[] = [];
  const pool = r.pools.find((p) => p.pool === 'aci');
  const now = Date.parse(r.startedAt);
  // A placeholder create whose answer was lost or failed without a refusal may still land: it stays
  // expected (counted as creating) until a list shows it or, UNLISTED_PROBE_SEC (60 s) after it was
  // sent, one GET finds it absent; the pass after that creates it again. When that GET fails too, or
  // a pass cannot observe the pool, the expectation lapses at the profile's bootTimeoutSec, and the
  // next pass (the 60 s timer) creates it: the gap is bounded by bootTimeoutSec + one pass.
  for (const o of pool?.outcomes ?? [])
    if (o.action.kind === 'create' && o.action.placeholder && o.status === 'failed')
      unknownCreates.set(o.action.profile, now);
  for (const v of checkPassInvariants(world, profiles, { owner: 'ours', prefix: PREFIX, firstPassDone: true })) {
    if (v.kind === 'placeholderMissing') {
      const profile = v.profile ?? '';
      const view = pool?.plan?.views.find((x) => x.profile === profile);
      const phName = placeholderName(PREFIX, profile);
      const explained =
        !pool?.plan || // the pool could not be observed: nothing was decided this pass
        view?.placeholder === 'missing' || // backing off after a capacity error
        (view?.placeholder === 'creating' &&
          now - (unknownCreates.get(profile) ?? -Infinity) <
            ((profiles.find((p) => p.name === profile)?.bootTimeoutSec ?? 600) + 60) * 1000) ||
        pool.outcomes.some(
          (o) =>
            o.action.kind === 'create' && o.action.placeholder && o.action.profile === profile && o.status !== 'done',
        ) ||
        pool.outcomes.some(
          (o) =>
            o.action.kind === 'delete' &&
            o.action.group === phName &&
            /ended without registering/.test(o.action.reason),
        );
      if (explained) continue;
    }
    out.push(`${v.kind}: ${v.detail}`);
  }
  // A placeholder registration, once there, is never removed.
  for (const p of profiles.filter((x) => x.placeholder)) {
    const name = placeholderName(PREFIX, p.name);
    const reg = [...world.agents.values()].find((a) => a.name === name);
    const seen = seenPlaceholders.get(name);
    if (seen !== undefined && (!reg || reg.id !== seen))
      out.push(`placeholderRemoved: ${name} (registration ${seen}) is gone`);
    if (reg && seen === undefined) seenPlaceholders.set(name, reg.id);
  }
  return out;
}

/** A group still in a non-idle state this recently at the end is on its way, not leaked. */
const RECENT_MS = 15 * 60_000;

/**
 * checkFinalInvariants reports every non-idle group left after the drain. Two kinds are not leaks:
 * a standby agent's max-lifetime replacement still booting, and a group that failed (e.g. an image
 * pull) in the last minutes, whose delete the injected faults may have delayed by a few passes.
 * Tolerated when every such group of the profile reached its state less than RECENT_MS ago.
 */
function onItsWay(world: World, profiles: readonly ProfileConfig[], v: Violation): boolean {
  if (v.kind !== 'groupLeft') return false;
  const p = profiles.find((x) => v.detail.startsWith(`profile ${x.name}:`));
  if (!p) return false;
  const now = world.clock.nowMs();
  const left = [...world.machines.values()].filter(
    (m) => m.owner === 'ours' && m.profile.name === p.name && !m.placeholder && m.phase !== 'idle',
  );
  return left.every(
    (m) =>
      now - (m.phase === 'failed' || m.phase === 'exited' ? (m.billEndMs ?? m.createdMs) : m.createdMs) < RECENT_MS,
  );
}

/**
 * An agent can register between a group's by-name re-read and its DELETE (DESIGN.md principle 4
 * accepts this: it cannot take a job, its container is gone); the next pass removes the offline
 * registration. Only a registration that appeared after the last pass began is excused.
 */
function lateOrphanOnly(world: World, v: Violation, lastPassStartMs: number): boolean {
  if (v.kind !== 'orphanRegistration') return false;
  const byName = new Map([...world.agents.values()].map((a) => [a.name, a]));
  return orphanRegistrations(world, 'ours').every((n) => (byName.get(n)?.createdMs ?? 0) >= lastPassStartMs);
}

/**
 * Idle agents beyond the standby target are trimmed only after idleTimeoutSec. A late agent kept at
 * its re-read (it came online) next to its replacement is such an excess; tolerated when the run
 * ended before the excess could have been trimmed (idle for less than the timeout + two timer periods).
 */
function idleNotYetTrimmable(world: World, profiles: readonly ProfileConfig[], v: Violation): boolean {
  if (v.kind !== 'idleBeyondStandby') return false;
  const p = profiles.find((x) => v.detail.startsWith(`profile ${x.name}:`));
  const target = Number(/standby target (\d+)/.exec(v.detail)?.[1] ?? Number.NaN);
  if (!p || Number.isNaN(target)) return false;
  const now = world.clock.nowMs();
  const idle = [...world.machines.values()].filter(
    (m) => m.owner === 'ours' && m.profile.name === p.name && !m.placeholder && m.phase === 'idle',
  );
  const trimmable = idle.filter((m) => now - (m.idleSinceMs ?? m.createdMs) >= (p.idleTimeoutSec + 120) * 1000);
  return trimmable.length <= target;
}

function finalViolations(
  world: World,
  profiles: readonly ProfileConfig[],
  lastPassStartMs = Number.POSITIVE_INFINITY,
): string[] {
  const out = checkFinalInvariants(world, profiles, { owner: 'ours', prefix: PREFIX })
    .filter(
      (v) =>
        !onItsWay(world, profiles, v) &&
        !lateOrphanOnly(world, v, lastPassStartMs) &&
        !idleNotYetTrimmable(world, profiles, v),
    )
    .map((v: Violation) => `${v.kind}: ${v.detail}`);
  for (const p of profiles.filter((x) => x.placeholder)) {
    if (![...world.agents.values()].some((a) => a.name === placeholderName(PREFIX, p.name)))
      out.push(`placeholderMissingAtEnd: ${p.name}`);
  }
  // Every group that ran a job was deleted, after that job finished.
  for (const m of world.allMachines.filter((x) => x.owner === 'ours' && x.jobsRun > 0)) {
    const lastFinish = Math.max(
      ...world.jobs.filter((j) => j.agentName === m.name).map((j) => j.finishedMs ?? Number.POSITIVE_INFINITY),
    );
    if (m.deletedMs === undefined) out.push(`groupNotDeletedAfterJob: ${m.name} (${m.phase})`);
    else if (m.deletedMs < lastFinish) out.push(`groupDeletedBeforeJobFinished: ${m.name}`);
  }
  return out;
}

/** Figures over all scenarios, printed at the end (the assertions above make them 0 in a green run). */
const totals = {
  scenarios: 0,
  passes: 0,
  busyAgentsKilled: 0,
  duplicateCreates: 0,
  maxAgentsExceeded: 0,
  offlineBlips: 0,
  lateRegistrations: 0,
  lateOnline: 0,
  jobsServed: 0,
};

async function runScenario(s: Scenario): Promise<{ perPass: string[]; final: string[]; passes: number }> {
  const profiles = profilesOf(s);
  let world: World | undefined;
  const perPass: string[] = [];
  const seen = new Map<string, number>();
  const unknown = new Map<string, number>();
  let passes = 0;
  let lastPassStartMs = 0;
  let passLog: string[] = [];
  const trace = traceOf(s);
  // Neighbours named like ours, offline, with no group of ours: another deployment's (its identity
  // in their capabilities) and a person's (none). No pass may disable or remove one (issue 21).
  const neighbours: { id: number; name: string }[] = [];
  await runSimulation({
    trace,
    profiles,
    policy: 'ours',
    seed: s.seed,
    world: s.world,
    checkInvariants: false,
    onWorld: (w) => {
      world = w;
      for (const p of profiles) {
        const theirs = w.registerManualAgent(p.pool, `${PREFIX}-${p.name}-n${'0'.repeat(18)}1`, p);
        theirs.reported = { ...theirs.reported, AZP_AUTOSCALER_ID: 'neighbour', AZP_AGENT_NAME: theirs.name };
        const person = w.registerManualAgent(p.pool, `${PREFIX}-${p.name}-h${'0'.repeat(18)}1`, p);
        neighbours.push(theirs, person);
      }
      faulty(w, s, TRACE_EPOCH_MS + Math.max(...trace.jobs.map((j) => j.arrival)) * 1000);
    },
    ours: {
      prefix: PREFIX,
      onLog: (level, line) => passLog.push(`${level} ${line}`),
      onPass: (r) => {
        passes++;
        lastPassStartMs = Date.parse(r.startedAt);
        for (const n of neighbours) {
          const a = world!.agents.get(n.id);
          const v = !a ? `neighbourRemoved: ${n.name}` : !a.enabled ? `neighbourDisabled: ${n.name}` : undefined;
          if (v && !perPass.includes(v)) perPass.push(v);
        }
        const found = passViolations(world!, profiles, r, seen, unknown).filter((v) => !perPass.includes(v));
        // The first violation carries the decision log of the pass that broke it.
        if (found.length > 0 && perPass.length === 0)
          perPass.push(...found, `pass ${passes} log:`, ...passLog.slice(0, 40));
        else perPass.push(...found);
        passLog = [];
      },
    },
  });
  const w = world!;
  totals.scenarios++;
  totals.passes += passes;
  totals.busyAgentsKilled += w.violations.filter(
    (v) => v.kind === 'busyGroupDeleted' || v.kind === 'busyRegistrationDeleted',
  ).length;
  totals.duplicateCreates += w.counters.createOnExistingName ?? 0;
  totals.maxAgentsExceeded += perPass.filter((v) => v.startsWith('maxAgentsExceeded')).length;
  totals.offlineBlips += w.counters.offlineBlips ?? 0;
  totals.lateRegistrations += w.counters.lateRegistrations ?? 0;
  totals.lateOnline += w.counters.lateOnline ?? 0;
  totals.jobsServed += w.jobs.filter((j) => j.result === 'succeeded').length;
  return { perPass, final: finalViolations(w, profiles, lastPassStartMs), passes };
}

describe('scale-down invariants over random schedules, crashes and faults (real reconcile pass, simulated world)', () => {
  it(
    `hold after every pass and at the end (${RUNS} scenarios)`,
    async () => {
      let totalPasses = 0;
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (s) => {
          const r = await runScenario(s);
          totalPasses += r.passes;
          expect(r.perPass).toEqual([]);
          expect(r.final).toEqual([]);
        }),
        {
          numRuns: RUNS,
          seed: process.env.SCALE_DOWN_SEED ? Number(process.env.SCALE_DOWN_SEED) : undefined,
          endOnFailure: true,
        },
      );
      expect(totalPasses).toBeGreaterThan(RUNS * 10);
      // The schedules did exercise the new hazards.
      if (RUNS >= 100)
        expect(Math.min(totals.offlineBlips, totals.lateRegistrations, totals.lateOnline)).toBeGreaterThan(0);
      console.log(`scale-down property: ${JSON.stringify(totals)}`);
    },
    TIMEOUT_MS,
  );

  it('a scenario without faults is fully strict: the placeholder is there after every pass', async () => {
    const s: Scenario = {
      seed: 42,
      jobs: Array.from({ length: 20 }, (_, i) => ({
        at: i * 45,
        dur: 60 + ((i * 97) % 600),
        kind: (['docker', 'java', 'none', 'gpu'] as const)[i % 4]!,
      })),
      docker: {
        maxAgents: 3,
        minAgents: 1,
        idleTimeoutSec: 60,
        maxLifetimeSec: 300,
        maxCreatePerPass: 2,
        bootTimeoutSec: 600,
      },
      java: {
        maxAgents: 2,
        minAgents: 0,
        idleTimeoutSec: 0,
        maxLifetimeSec: 0,
        maxCreatePerPass: 1,
        bootTimeoutSec: 600,
        placeholder: true,
      },
      world: {
        imagePullFailureRate: 0,
        crashBeforeRegisterRate: 0,
        cleanupFailureRate: 0.5,
        throttleRate: 0,
        maxGroupsPerRegion: 100,
      },
      failBefore: 0,
      failAfter: 0,
    };
    const profiles = profilesOf(s);
    let world: World | undefined;
    const strict: string[] = [];
    await runSimulation({
      trace: traceOf(s),
      profiles,
      policy: 'ours',
      seed: s.seed,
      world: s.world,
      checkInvariants: false,
      onWorld: (w) => (world = w),
      ours: {
        prefix: PREFIX,
        onPass: () =>
          strict.push(
            ...checkPassInvariants(world!, profiles, { owner: 'ours', prefix: PREFIX, firstPassDone: true }).map(
              (v) => v.kind,
            ),
          ),
      },
    });
    expect(strict).toEqual([]);
    expect(finalViolations(world!, profiles)).toEqual([]);
    expect(world!.jobs.filter((j) => j.result === 'succeeded')).toHaveLength(15); // the 5 gpu jobs are rejected
    // Agents that ran a job went with their registration (the controller removes it when it deletes a finished group).
    expect([...world!.agents.values()].filter((a) => a.lastCompletedMs !== undefined)).toEqual([]);
  });
});
