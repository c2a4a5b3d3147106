import { describe, expect, it } from 'vitest';
import { toJobRequest, jobRequestListSchema, jobRequestSchema } from '../../src/azdo/wire.js';
import {
  assignQueuedJobs,
  classifyGroup,
  classifyJob,
  deleteModeFor,
  orphanCandidates,
  plan,
} from '../../src/core/plan.js';
import type { AgentRegistration, JobRequest, OwnedGroup } from '../../src/core/types.js';
import { readContractJson } from '../helpers/contracts.js';
import { poolSnapshot, profile } from '../helpers/profiles.js';

const NOW = new Date('2026-11-28T10:00:00Z');
const ago = (sec: number) => new Date(NOW.getTime() - sec * 1000).toISOString();

const kedaList = jobRequestListSchema
  .parse(readContractJson('azdo/examples/jobrequests.list.keda-testJobRequestResponse.json'))
  .value.map(toJobRequest);
const kedaRunning = toJobRequest(
  jobRequestSchema.parse(readContractJson('azdo/examples/jobrequest.item.keda-assignedNotFinishedJob.json')),
);
const kedaDead = toJobRequest(
  jobRequestSchema.parse(readContractJson('azdo/examples/jobrequest.item.keda-deadJob-completed.json')),
);
const kedaQueued = toJobRequest(
  jobRequestSchema.parse(readContractJson('azdo/examples/jobrequest.item.keda-queuedJob.json')),
);

let nextId = 1000;
const job = (demands: string[], extra: Partial<JobRequest> = {}): JobRequest => ({
  requestId: nextId++,
  queueTime: ago(30),
  demands,
  ...extra,
});
const group = (name: string, extra: Partial<OwnedGroup> = {}): OwnedGroup => ({
  name,
  pool: 'aci',
  profile: 'linux',
  createdAt: ago(120),
  provisioningState: 'Succeeded',
  ...extra,
});
const agent = (id: number, name: string, extra: Partial<AgentRegistration> = {}): AgentRegistration => ({
  id,
  name,
  status: 'online',
  enabled: true,
  createdOn: ago(100),
  ...extra,
});
const snap = poolSnapshot;
const creates = (p: ReturnType<typeof plan>, name?: string) =>
  p.actions.filter((a) => a.kind === 'create' && !a.placeholder && (!name || a.profile === name)).length;
const deletes = (p: ReturnType<typeof plan>) => p.actions.filter((a) => a.kind === 'delete');

describe('job classification (KEDA fixtures)', () => {
  it.each([
    ['queued (minimal item)', kedaQueued, 'queued'],
    ['running (receiveTime, no result)', kedaRunning, 'running'],
    ['finished (result succeeded)', kedaDead, 'finished'],
    ['list item 1', kedaList[0]!, 'queued'],
    ['list item 2 with matchedAgents', kedaList[1]!, 'queued'],
  ])('%s', (_n, j, cls) => expect(classifyJob(j)).toBe(cls));

  it('treats an assigned-but-not-received request as running', () => {
    expect(classifyJob(job([], { assignTime: ago(5) }))).toBe('running');
  });
});

describe('demand matching and assignment (KEDA fixture list: [kubectl], [dotnet60, java, cmake])', () => {
  const cases: Array<[string, Record<string, unknown>, number]> = [
    ['subset: kubectl image serves job 1', { capabilities: ['kubectl'] }, 1],
    ['subset: dotnet60+java+cmake serves job 2', { capabilities: ['dotnet60', 'java', 'cmake'] }, 1],
    ['subset: dotnet60+java misses cmake', { capabilities: ['dotnet60', 'java'] }, 0],
    ['subset: superset of capabilities serves both', { capabilities: ['dotnet60', 'java', 'cmake', 'kubectl'] }, 2],
    [
      'requireAll: job 2 demands exactly these',
      { capabilities: ['dotnet60', 'java', 'cmake'], matchMode: 'requireAll' },
      1,
    ],
    [
      'requireAll: a capability no job demands',
      { capabilities: ['dotnet60', 'java', 'cmake', 'kubectl'], matchMode: 'requireAll' },
      0,
    ],
    [
      'requireAllAndIgnoreOthers: job 2 demands dotnet60+java (cmake ignored)',
      { capabilities: ['dotnet60', 'java'], matchMode: 'requireAllAndIgnoreOthers' },
      1,
    ],
    ['case-insensitive by default', { capabilities: ['KUBECTL'] }, 1],
    ['case-sensitive when asked', { capabilities: ['KUBECTL'], caseSensitive: true }, 0],
    ['no capabilities: only demand-less jobs (KEDA would count both)', { capabilities: [] }, 0],
  ];
  it.each(cases)('%s', (_n, over, expected) => {
    const p = plan(snap({ jobs: kedaList }), { prefix: 'azp', profiles: [profile(over)] }, NOW);
    expect(p.views[0]!.queued).toBe(expected);
    expect(creates(p)).toBe(expected);
    expect(p.unmatchedJobs).toHaveLength(2 - expected);
  });

  it('evaluates -equals and -gtVersion demands', () => {
    const p = profile({ capabilities: { 'Agent.OS': 'Linux', maven: '3.9.6' } });
    const { byProfile } = assignQueuedJobs(
      [
        job(['Agent.OS -equals linux']),
        job(['Agent.OS -equals Windows_NT']),
        job(['maven -gtVersion 3.8']),
        job(['maven -gtVersion 3.10']),
      ],
      [p],
    );
    expect(byProfile.get('linux')!.map((j) => j.demands[0])).toEqual([
      'Agent.OS -equals linux',
      'maven -gtVersion 3.8',
    ]);
  });
});

describe('cases KEDA gets wrong', () => {
  it('running jobs are not counted as demand', () => {
    const running = { ...kedaRunning, reservedAgent: { id: 7, name: 'azp-linux-busy00000001' } };
    const p = plan(
      snap({
        jobs: [...kedaList, running],
        groups: [group('azp-linux-busy00000001')],
        agents: [agent(7, 'azp-linux-busy00000001', { assignedRequestId: running.requestId })],
      }),
      { prefix: 'azp', profiles: [profile({ capabilities: ['dotnet60', 'java', 'cmake', 'kubectl'] })] },
      NOW,
    );
    expect(p.views[0]).toMatchObject({ queued: 2, running: 1, busy: 1 });
    expect(creates(p)).toBe(2);
  });

  it('one job is scaled by exactly one profile even when two match', () => {
    const a = profile({ name: 'java', capabilities: ['java'] });
    const b = profile({ name: 'fat', capabilities: ['java', 'docker'] });
    const p = plan(snap({ jobs: [job(['java'])] }), { prefix: 'azp', profiles: [a, b] }, NOW);
    expect(creates(p, 'java')).toBe(1);
    expect(creates(p, 'fat')).toBe(0);
  });

  it('a job spills over to the next matching profile when the first is full or backing off, never to both', () => {
    const a = profile({ name: 'first', maxAgents: 2 });
    const b = profile({ name: 'second', maxAgents: 10 });
    const jobs = [job([]), job([]), job([]), job([]), job([])];
    const p = plan(snap({ jobs }), { prefix: 'azp', profiles: [a, b] }, NOW);
    expect(creates(p, 'first')).toBe(2);
    expect(creates(p, 'second')).toBe(3);
    const backingOff = plan(
      snap({ jobs, backoff: { first: { until: ago(-60), failures: 1, reason: 'quota' } } }),
      { prefix: 'azp', profiles: [a, b] },
      NOW,
    );
    expect(creates(backingOff, 'first')).toBe(0);
    expect(creates(backingOff, 'second')).toBe(5);
    // Everything full: jobs wait on their first match; nothing is created anywhere.
    const full = plan(
      snap({ jobs }),
      {
        prefix: 'azp',
        profiles: [
          { ...a, maxAgents: 0 },
          { ...b, maxAgents: 0 },
        ],
      },
      NOW,
    );
    expect(full.views.map((v) => v.queued)).toEqual([5, 0]);
    expect(creates(full)).toBe(0);
  });

  it('demand-less jobs (only Agent.Version) go to the first profile', () => {
    const a = profile({ name: 'first', capabilities: ['java'] });
    const b = profile({ name: 'second' });
    const p = plan(
      snap({ jobs: [job(['Agent.Version -gtVersion 2.182.1']), job([])] }),
      { prefix: 'azp', profiles: [a, b] },
      NOW,
    );
    expect(creates(p, 'first')).toBe(2);
    expect(creates(p, 'second')).toBe(0);
  });
});

describe('create formula: clamp(queued + standby − idle − starting, 0, maxAgents − live, maxCreatePerPass)', () => {
  const three = [job([]), job([]), job([])];
  it.each([
    ['3 queued, nothing running', {}, [], [], 3],
    ['3 queued, 1 starting', {}, [group('azp-linux-aaaaaaaaaaa1', { createdAt: ago(10) })], [], 2],
    ['3 queued, 1 idle', {}, [group('azp-linux-aaaaaaaaaaa1')], [agent(1, 'azp-linux-aaaaaaaaaaa1')], 2],
    ['maxAgents 2', { maxAgents: 2 }, [], [], 2],
    ['maxCreatePerPass 1', { maxCreatePerPass: 1 }, [], [], 1],
    [
      'live at max (busy)',
      { maxAgents: 1 },
      [group('azp-linux-aaaaaaaaaaa1')],
      [agent(1, 'azp-linux-aaaaaaaaaaa1', { assignedRequestId: 5 })],
      0,
    ],
    ['standby 2 adds warm agents', { minAgents: 2 }, [], [], 5],
  ] as const)('%s', (_n, over, groups, agents, expected) => {
    const p = plan(
      snap({ jobs: three, groups: [...groups], agents: [...agents] }),
      { prefix: 'azp', profiles: [profile(over)] },
      NOW,
    );
    expect(creates(p)).toBe(expected);
  });

  it('standby windows follow the profile time zone', () => {
    const pr = profile({
      standby: [{ days: [1, 2, 3, 4, 5], start: '08:00', end: '18:00', count: 3 }],
      timeZone: 'Europe/Berlin',
    });
    // Saturday 2026-11-28 10:00Z: no window. Monday 2026-11-30 07:30Z = 08:30 Berlin: window.
    expect(creates(plan(snap({}), { prefix: 'azp', profiles: [pr] }, NOW))).toBe(0);
    expect(creates(plan(snap({}), { prefix: 'azp', profiles: [pr] }, new Date('2026-11-30T07:30:00Z')))).toBe(3);
    expect(creates(plan(snap({}), { prefix: 'azp', profiles: [pr] }, new Date('2026-11-30T06:30:00Z')))).toBe(0);
  });

  it('no creates while the profile backs off; the view shows until when', () => {
    const until = ago(-120);
    const p = plan(
      snap({ jobs: three, backoff: { linux: { until, failures: 2, reason: 'quota' } } }),
      { prefix: 'azp', profiles: [profile()] },
      NOW,
    );
    expect(creates(p)).toBe(0);
    expect(p.views[0]!.backoffUntil).toBe(until);
  });
});

describe('capacity classification', () => {
  const pol = { bootTimeoutSec: 600 };
  const none = new Set<string>();
  it.each([
    ['young group without registration', group('g', { createdAt: ago(30) }), undefined, 'starting'],
    ['old group without registration', group('g', { createdAt: ago(900) }), undefined, 'failedBoot'],
    ['provisioning failed', group('g', { provisioningState: 'Failed', createdAt: ago(30) }), undefined, 'failedBoot'],
    [
      'exited 0, registration gone (probed)',
      group('g', { instanceState: 'Succeeded', createdAt: ago(60) }),
      undefined,
      'finished',
    ],
    ['online idle', group('g'), agent(1, 'g'), 'idle'],
    ['holds a job', group('g'), agent(1, 'g', { assignedRequestId: 9 }), 'busy'],
    [
      'offline after a job',
      group('g'),
      agent(1, 'g', { status: 'offline', lastCompletedFinishTime: ago(5) }),
      'finished',
    ],
    [
      'registered, not yet online',
      group('g', { createdAt: ago(30) }),
      agent(1, 'g', { status: 'offline' }),
      'starting',
    ],
  ] as const)('%s', (_n, g, a, cls) => expect(classifyGroup(g, a, none, pol, NOW).cls).toBe(cls));

  it('a request reserved for the agent makes it busy even before the agent list shows it', () => {
    expect(classifyGroup(group('g'), agent(1, 'g'), new Set(['g']), pol, NOW).cls).toBe('busy');
  });
});

describe('scale-down decisions', () => {
  const pr = profile({ idleTimeoutSec: 300, maxLifetimeSec: 3600, bootTimeoutSec: 600 });
  it('deletes finished groups with their leftover registration in the same pass: safely, directly once the container was seen terminated', () => {
    const reg = agent(4, 'azp-linux-aaaaaaaaaaa1', { status: 'offline', lastCompletedFinishTime: ago(10) });
    const p = plan(
      snap({ groups: [group('azp-linux-aaaaaaaaaaa1')], agents: [reg] }),
      { prefix: 'azp', profiles: [pr] },
      NOW,
    );
    expect(deletes(p)).toEqual([
      expect.objectContaining({ group: 'azp-linux-aaaaaaaaaaa1', agentId: 4, mode: 'safe', cause: 'finished' }),
    ]);
    const exited = plan(
      snap({ groups: [group('azp-linux-aaaaaaaaaaa1', { instanceState: 'Succeeded' })], agents: [reg] }),
      { prefix: 'azp', profiles: [pr] },
      NOW,
    );
    expect(deletes(exited)).toEqual([expect.objectContaining({ agentId: 4, mode: 'direct', cause: 'finished' })]);
  });

  it('never deletes a busy agent, whatever its age', () => {
    const p = plan(
      snap({
        groups: [group('azp-linux-aaaaaaaaaaa1', { createdAt: ago(99999) })],
        agents: [agent(4, 'azp-linux-aaaaaaaaaaa1', { assignedRequestId: 3 })],
      }),
      { prefix: 'azp', profiles: [pr] },
      NOW,
    );
    expect(deletes(p)).toEqual([]);
  });

  it('trims idle agents beyond standby only after the idle timeout, with the safe protocol', () => {
    const groups = [group('azp-linux-aaaaaaaaaaa1'), group('azp-linux-aaaaaaaaaaa2')];
    const fresh = [
      agent(1, 'azp-linux-aaaaaaaaaaa1', { createdOn: ago(60) }),
      agent(2, 'azp-linux-aaaaaaaaaaa2', { createdOn: ago(60) }),
    ];
    expect(deletes(plan(snap({ groups, agents: fresh }), { prefix: 'azp', profiles: [pr] }, NOW))).toEqual([]);
    const stale = fresh.map((a) => ({ ...a, createdOn: ago(400) }));
    const old = groups.map((g) => ({ ...g, createdAt: ago(410) }));
    const p = plan(snap({ groups: old, agents: stale }), { prefix: 'azp', profiles: [{ ...pr, minAgents: 1 }] }, NOW);
    expect(deletes(p)).toHaveLength(1);
    expect(deletes(p)[0]).toMatchObject({ mode: 'safe', cause: 'idle' });
    expect(creates(p)).toBe(0);
  });

  it('keeps idle agents that queued jobs are about to take', () => {
    const groups = [group('azp-linux-aaaaaaaaaaa1', { createdAt: ago(410) })];
    const agents = [agent(1, 'azp-linux-aaaaaaaaaaa1', { createdOn: ago(400) })];
    const p = plan(snap({ groups, agents, jobs: [job([])] }), { prefix: 'azp', profiles: [pr] }, NOW);
    expect(deletes(p)).toEqual([]);
    expect(creates(p)).toBe(0);
  });

  it('replaces idle agents past max lifetime', () => {
    const groups = [group('azp-linux-aaaaaaaaaaa1', { createdAt: ago(4000) })];
    const agents = [agent(1, 'azp-linux-aaaaaaaaaaa1', { createdOn: ago(3990) })];
    const p = plan(snap({ groups, agents }), { prefix: 'azp', profiles: [{ ...pr, minAgents: 1 }] }, NOW);
    expect(deletes(p)).toEqual([expect.objectContaining({ cause: 'maxLifetime', mode: 'safe' })]);
  });

  it('keeps the newest N failed boots for investigation', () => {
    const groups = [
      group('azp-linux-aaaaaaaaaaa1', { createdAt: ago(3000) }),
      group('azp-linux-aaaaaaaaaaa2', { createdAt: ago(2000) }),
      group('azp-linux-aaaaaaaaaaa3', { createdAt: ago(1000) }),
    ];
    const p = plan(snap({ groups }), { prefix: 'azp', profiles: [{ ...pr, keepFailed: 1 }] }, NOW);
    expect(
      deletes(p)
        .map((d) => d.kind === 'delete' && d.group)
        .sort(),
    ).toEqual(['azp-linux-aaaaaaaaaaa1', 'azp-linux-aaaaaaaaaaa2']);
  });

  it('removes offline orphan registrations with our naming only, and only those proven ours', () => {
    const agents = [
      agent(1, 'azp-linux-aaaaaaaaaaa1', { status: 'offline' }),
      agent(2, 'someone-elses-agent', { status: 'offline' }),
      agent(3, 'azp-linux-aaaaaaaaaaa3', { status: 'online' }),
      agent(4, 'azp-linux-placeholder', { status: 'offline' }),
      agent(5, 'azp-linux-aaaaaaaaaaa5', { status: 'offline' }),
    ].map((a) => ({ ...a, createdOn: ago(3600) })); // registered longer ago than the boot timeout
    const policy = { prefix: 'azp', profiles: [{ ...pr, placeholder: true }] };
    expect(orphanCandidates(snap({ agents }), policy, NOW).map((c) => c.agent.id)).toEqual([1, 5]);
    // Proven ones only (the pass reads the candidates' capabilities: src/reconcile/ownership.ts).
    const p = plan({ ...snap({ agents }), provenOwn: [1, 2, 3, 4] }, policy, NOW);
    expect(p.actions.filter((a) => a.kind === 'unregister')).toEqual([expect.objectContaining({ agentId: 1 })]);
    expect(plan(snap({ agents }), policy, NOW).actions.filter((a) => a.kind === 'unregister')).toEqual([]);
  });

  it('deletes idle groups of a profile that is no longer configured, never busy ones', () => {
    const groups = [
      group('azp-old-aaaaaaaaaaa1', { profile: 'old' }),
      group('azp-old-aaaaaaaaaaa2', { profile: 'old' }),
    ];
    const agents = [agent(1, 'azp-old-aaaaaaaaaaa1'), agent(2, 'azp-old-aaaaaaaaaaa2', { assignedRequestId: 77 })];
    const p = plan(snap({ groups, agents }), { prefix: 'azp', profiles: [pr] }, NOW);
    expect(deletes(p)).toEqual([
      expect.objectContaining({ group: 'azp-old-aaaaaaaaaaa1', cause: 'orphanGroup', mode: 'safe' }),
    ]);
  });
});

describe('placeholder registration', () => {
  const pr = profile({ placeholder: true });
  it('is created when missing, once', () => {
    const p = plan(snap({}), { prefix: 'azp', profiles: [pr] }, NOW);
    expect(p.actions.filter((a) => a.kind === 'create' && a.placeholder)).toHaveLength(1);
    const again = plan(
      snap({ groups: [group('azp-linux-placeholder', { placeholder: true, createdAt: ago(20) })] }),
      { prefix: 'azp', profiles: [pr] },
      NOW,
    );
    expect(again.actions).toEqual([]);
    expect(again.views[0]!.placeholder).toBe('creating');
  });

  it('its one-shot group is deleted once registered; the registration stays', () => {
    const p = plan(
      snap({
        groups: [group('azp-linux-placeholder', { placeholder: true, createdAt: ago(60) })],
        agents: [agent(9, 'azp-linux-placeholder', { status: 'offline' })],
      }),
      { prefix: 'azp', profiles: [pr] },
      NOW,
    );
    expect(p.actions).toEqual([expect.objectContaining({ kind: 'delete', group: 'azp-linux-placeholder' })]);
    expect(p.actions[0]).not.toHaveProperty('agentId');
    expect(p.views[0]!.placeholder).toBe('present');
    expect(p.views[0]!.live).toBe(0);
  });
});

describe('the delete rule: one function decides how a group may be deleted', () => {
  it.each([
    [
      'registered (idle, failed boot, finished, orphan: any cause)',
      group('g'),
      agent(1, 'g', { status: 'offline' }),
      'safe',
    ],
    [
      'registered, provisioning Failed',
      group('g', { provisioningState: 'Failed' }),
      agent(1, 'g', { status: 'offline' }),
      'safe',
    ],
    ['no registration seen, container may run', group('g'), undefined, 'recheck'],
    [
      'no registration seen, provisioning Failed (not an instance state)',
      group('g', { provisioningState: 'Failed' }),
      undefined,
      'recheck',
    ],
    ['container seen terminated (Succeeded)', group('g', { instanceState: 'Succeeded' }), undefined, 'direct'],
    [
      'container seen terminated (Failed) with a registration',
      group('g', { instanceState: 'Failed' }),
      agent(1, 'g', { status: 'offline' }),
      'direct',
    ],
    [
      'container seen running with a registration',
      group('g', { instanceState: 'Running' }),
      agent(1, 'g', { status: 'offline' }),
      'safe',
    ],
    [
      'placeholder (never runs a listener)',
      group('g', { placeholder: true }),
      agent(1, 'g', { status: 'offline' }),
      'direct',
    ],
  ] as const)('%s → %s', (_n, g, a, mode) => expect(deleteModeFor(g, a)).toBe(mode));

  it('every delete the planner emits for a group that may still run, without a registration seen, is a recheck; with one, safe', () => {
    const pr = profile({ bootTimeoutSec: 60, keepFailed: 0 });
    const groups = [
      group('azp-linux-nothing0001', { createdAt: ago(600) }), // no registration past boot timeout
      group('azp-linux-neveronline', { createdAt: ago(600) }), // registered, never online
      group('azp-old-orphan000001', { profile: 'old', createdAt: ago(600) }), // profile removed, nothing registered
    ];
    const agents = [
      agent(2, 'azp-linux-neveronline', { status: 'offline', createdOn: ago(500), statusChangedOn: ago(500) }),
    ];
    const modes = Object.fromEntries(
      deletes(plan(snap({ groups, agents }), { prefix: 'azp', profiles: [pr] }, NOW)).map((d) => [
        d.kind === 'delete' && d.group,
        d.kind === 'delete' && d.mode,
      ]),
    );
    expect(modes).toEqual({
      'azp-linux-nothing0001': 'recheck',
      'azp-linux-neveronline': 'safe',
      'azp-old-orphan000001': 'recheck',
    });
  });
});

describe('offline blips, late registrations and groups being deleted', () => {
  const pol = { bootTimeoutSec: 60 };
  const none = new Set<string>();
  it('an agent that was online and is offline for a moment is not a failed boot: it counts like a starting one', () => {
    const blip = agent(1, 'g', { status: 'offline', createdOn: ago(3600), statusChangedOn: ago(5) });
    const c = classifyGroup(group('g', { createdAt: ago(3700) }), blip, none, pol, NOW);
    expect(c.cls).toBe('starting');
    expect(c.why).toContain('was online');
  });

  it('offline for longer than the boot timeout after having been online: lost (not failed boot), deleted safely', () => {
    const gone = agent(1, 'azp-linux-aaaaaaaaaaa1', {
      status: 'offline',
      createdOn: ago(3600),
      statusChangedOn: ago(120),
    });
    expect(classifyGroup(group('g', { createdAt: ago(3700) }), gone, none, pol, NOW).cls).toBe('lost');
    const p = plan(
      snap({ groups: [group('azp-linux-aaaaaaaaaaa1', { createdAt: ago(3700) })], agents: [gone] }),
      { prefix: 'azp', profiles: [profile(pol)] },
      NOW,
    );
    expect(deletes(p)).toEqual([expect.objectContaining({ cause: 'lost', mode: 'safe', agentId: 1 })]);
    expect(p.views[0]).toMatchObject({ failedBoot: 0 });
  });

  it('registered and never online past the boot timeout stays a failed boot (status never changed since registering)', () => {
    const never = agent(1, 'g', { status: 'offline', createdOn: ago(300), statusChangedOn: ago(300) });
    expect(classifyGroup(group('g', { createdAt: ago(320) }), never, none, pol, NOW).cls).toBe('failedBoot');
  });

  it('a failed boot whose container may still run counts as live (its agent may still come up): no create beyond maxAgents', () => {
    const pr = profile({ bootTimeoutSec: 60, maxAgents: 1 });
    const slow = group('azp-linux-aaaaaaaaaaa1', { createdAt: ago(120) }); // no registration, container may run
    const p = plan(snap({ groups: [slow], jobs: [job([])] }), { prefix: 'azp', profiles: [pr] }, NOW);
    expect(p.views[0]).toMatchObject({ failedBoot: 1, live: 1, creates: 0 });
    const pulled = plan(
      snap({ groups: [{ ...slow, provisioningState: 'Failed' }], jobs: [job([])] }),
      { prefix: 'azp', profiles: [pr] },
      NOW,
    );
    expect(pulled.views[0]).toMatchObject({ failedBoot: 1, live: 0, creates: 1 });
  });

  it('a group in provisioning state Deleting is gone: not starting, not a failed boot, no second delete, no capacity', () => {
    const pr = profile({ bootTimeoutSec: 60, maxAgents: 2 });
    for (const createdAt of [ago(10), ago(600)]) {
      const p = plan(
        snap({
          groups: [group('azp-linux-aaaaaaaaaaa1', { createdAt, provisioningState: 'Deleting' })],
          jobs: [job([])],
        }),
        { prefix: 'azp', profiles: [pr] },
        NOW,
      );
      expect(p.views[0]).toMatchObject({ starting: 0, failedBoot: 0, live: 0, creates: 1 });
      expect(deletes(p)).toEqual([]);
    }
  });
});
