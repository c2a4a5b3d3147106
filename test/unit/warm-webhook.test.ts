/**
 * The webhook's arrivals folded into λ (core/rules/warm.ts arrivalsByProfile → core/warm.ts
 * observeArrivals): a job the job-request list never shows unfinished is counted from the webhook
 * when the pass can place it, and each job counts once whichever source shows it first.
 */
import { describe, expect, it } from 'vitest';
import { arrivalsByProfile } from '../../src/core/rules/warm.js';
import type { AgentRegistration, JobRequest, WebhookArrival } from '../../src/core/types.js';
import { emptyWarmState, observeArrivals, type ArrivalState } from '../../src/core/warm/index.js';
import { profile } from '../helpers/profiles.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const at = (sec: number) => new Date(T0 + sec * 1000);
const iso = (sec: number) => at(sec).toISOString();
const PREFIX = 'azp';
const linux = profile({ name: 'linux', targetWaitSec: 15 });
const gpu = profile({ name: 'gpu', targetWaitSec: 15, capabilities: { gpu: '' } });
const profiles = [linux, gpu];
const JOB = 'E87E3D16-29B0-5003-7D86-82B704B96244';

/** One of our --once agents of `profile` that ran request `requestId` (job `jobId`) and went offline. */
function ranIt(profileName: string, requestId: number, jobId: string, queuedSec: number): AgentRegistration {
  return {
    id: 100 + requestId,
    name: `${PREFIX}-${profileName}-abc123def456`,
    status: 'offline',
    enabled: true,
    lastCompletedFinishTime: iso(queuedSec + 40),
    lastCompletedRequest: { requestId, jobId, queueTime: iso(queuedSec) },
  };
}

/** One pass: arrivals per profile from what it read, folded into each profile's state. */
function pass(
  states: Map<string, ArrivalState>,
  nowSec: number,
  read: { jobs?: JobRequest[]; webhook?: WebhookArrival[]; agents?: AgentRegistration[] },
): Map<string, ArrivalState> {
  const byProfile = arrivalsByProfile(read.jobs ?? [], profiles, new Map(), PREFIX, read.webhook, read.agents);
  return new Map(
    profiles.map((p) => [
      p.name,
      observeArrivals(
        states.get(p.name) ?? emptyWarmState(at(0)).arrivals,
        byProfile.get(p.name) ?? [],
        at(nowSec),
        'UTC',
      ),
    ]),
  );
}
const countOf = (states: Map<string, ArrivalState>, name: string) => states.get(name)?.recent.length ?? 0;

describe('webhook arrivals in λ', () => {
  it('counts a job that queued, ran and finished between passes once, when the webhook and a later list both show it', () => {
    let s = new Map<string, ArrivalState>();
    // Pass 1 (the webhook's): the list no longer holds the job; our gpu agent's last request is it.
    s = pass(s, 60, {
      webhook: [{ jobId: JOB.toLowerCase(), queueTime: iso(11) }],
      agents: [ranIt('gpu', 7, JOB, 10)],
    });
    expect(countOf(s, 'gpu')).toBe(1);
    expect(countOf(s, 'linux')).toBe(0);
    // The request's own queue time, not the event's.
    expect(s.get('gpu')?.recent).toEqual([T0 + 10_000]);
    // Pass 2: a list that still shows the request (finished, reserved agent gpu), and the webhook's
    // completed event for it again.
    const listed: JobRequest = {
      requestId: 7,
      jobId: JOB,
      queueTime: iso(10),
      finishTime: iso(50),
      result: 'succeeded',
      demands: ['gpu'],
      reservedAgent: { id: 107, name: `${PREFIX}-gpu-abc123def456` },
    };
    s = pass(s, 120, { jobs: [listed], webhook: [{ jobId: JOB }], agents: [ranIt('gpu', 7, JOB, 10)] });
    expect(countOf(s, 'gpu')).toBe(1);
    expect(s.get('gpu')?.hour?.count).toBe(1);
  });

  it('counts a listed job once when the webhook naming it is handled by a later pass (event time after the list)', () => {
    let s = new Map<string, ArrivalState>();
    const queued: JobRequest = { requestId: 8, jobId: JOB, queueTime: iso(10), demands: [] };
    s = pass(s, 12, { jobs: [queued] });
    expect(countOf(s, 'linux')).toBe(1);
    // The delivery's pass comes later; its createdDate (after the request's queue time) is the only
    // time it has: the agent's last request does not say when it queued.
    const agent = ranIt('linux', 8, JOB, 10);
    agent.lastCompletedRequest = { requestId: 8, jobId: JOB };
    s = pass(s, 70, { webhook: [{ jobId: JOB, queueTime: iso(11) }], agents: [agent] });
    expect(countOf(s, 'linux')).toBe(1);
  });

  it('counts the webhook and the list in one pass once', () => {
    const queued: JobRequest = { requestId: 9, jobId: JOB, queueTime: iso(10), demands: ['gpu'] };
    const s = pass(new Map(), 12, { jobs: [queued], webhook: [{ jobId: JOB.toLowerCase(), queueTime: iso(11) }] });
    expect(countOf(s, 'gpu')).toBe(1);
    expect(countOf(s, 'linux')).toBe(0);
  });

  it('skips a webhook job nothing this pass places (another pool, or its agent already gone)', () => {
    const s = pass(new Map(), 60, {
      webhook: [{ jobId: JOB, queueTime: iso(10) }],
      agents: [ranIt('gpu', 1, '11111111-2222-3333-4444-555555555555', 5)],
    });
    // The gpu agent's own last job counts (see below); the webhook's job does not.
    expect(s.get('gpu')?.recent).toEqual([T0 + 5_000]);
    expect(countOf(s, 'linux')).toBe(0);
    const only = pass(new Map(), 60, { webhook: [{ jobId: JOB, queueTime: iso(10) }] });
    expect(countOf(only, 'gpu') + countOf(only, 'linux')).toBe(0);
  });

  it('skips a webhook job without a queue time (a completed event whose agent does not say)', () => {
    const agent = ranIt('linux', 3, JOB, 10);
    agent.lastCompletedRequest = { requestId: 3, jobId: JOB };
    const s = pass(new Map(), 60, { webhook: [{ jobId: JOB }], agents: [agent] });
    expect(countOf(s, 'linux')).toBe(0);
  });

  it('does not count an arrival first seen after the dedup window', () => {
    const s = pass(new Map(), 10_000, {
      webhook: [{ jobId: JOB, queueTime: iso(10) }],
      agents: [ranIt('linux', 3, JOB, 10)],
    });
    expect(countOf(s, 'linux')).toBe(0);
  });

  it('reads a state written before `counted` with its watermark once', () => {
    const old: ArrivalState = {
      rate: 0,
      updatedAt: iso(0),
      lastQueueTime: iso(10),
      lastIds: [5],
      recent: [T0 + 10_000],
      buckets: {},
    };
    const s = observeArrivals(
      old,
      [
        { requestId: 5, queueTime: iso(10) }, // counted by the old version
        { requestId: 6, queueTime: iso(10) }, // same time, new id
        { requestId: 4, queueTime: iso(5) }, // before the watermark
      ],
      at(30),
      'UTC',
    );
    expect(s.recent).toEqual([T0 + 10_000, T0 + 10_000]);
    expect(s.lastIds).toBeUndefined();
    expect(Object.keys(s.counted ?? {}).sort()).toEqual(['r4', 'r5', 'r6']);
    // The next pass lists them again: none counts twice.
    const next = observeArrivals(
      s,
      [4, 5, 6].map((requestId) => ({ requestId, queueTime: iso(requestId === 4 ? 5 : 10) })),
      at(60),
      'UTC',
    );
    expect(next.recent).toHaveLength(2);
  });

  it("counts our agent's last completed job without any webhook, once across passes", () => {
    let s = new Map<string, ArrivalState>();
    const agent = ranIt('linux', 9, JOB, 20);
    s = pass(s, 60, { agents: [agent] });
    expect(s.get('linux')?.recent).toEqual([T0 + 20_000]);
    // The next passes still see the agent (its group not yet deleted): the same job, not counted again.
    s = pass(s, 120, { agents: [agent] });
    s = pass(s, 180, { agents: [agent], webhook: [{ jobId: JOB, queueTime: iso(20) }] });
    expect(s.get('linux')?.recent).toEqual([T0 + 20_000]);
  });
});
