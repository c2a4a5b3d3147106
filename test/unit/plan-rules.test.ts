import { describe, expect, it } from 'vitest';
import type { ClassifiedGroup } from '../../src/core/classify.js';
import { removal } from '../../src/core/delete.js';
import { holdCreatesInBackoff } from '../../src/core/rules/backoff.js';
import { createAgents, liveCount } from '../../src/core/rules/creates.js';
import {
  orphanRegistrationCandidates,
  removeOrphanGroups,
  removeOrphanRegistrations,
} from '../../src/core/rules/orphans.js';
import { placeholderRule, placeholderState } from '../../src/core/rules/placeholder.js';
import type { ProfileState } from '../../src/core/rules/profile.js';
import {
  removeDisabled,
  removeFailedBoots,
  removeFinished,
  removeLost,
  retireOverLifetime,
  trimIdle,
} from '../../src/core/rules/removals.js';
import { AGENT_NAME_SUFFIX_CHARS } from '../../src/core/names.js';
import type { AgentRegistration, CapacityClass, OwnedGroup } from '../../src/core/types.js';
import { profile } from '../helpers/profiles.js';

let n = 0;
const g = (extra: Partial<OwnedGroup> = {}): OwnedGroup => ({
  name: `azp-linux-g${n++}`,
  pool: 'aci',
  profile: 'linux',
  createdAt: '2026-11-28T09:00:00Z',
  ...extra,
});
const reg = (group: OwnedGroup, extra: Partial<AgentRegistration> = {}): AgentRegistration => ({
  id: 100 + n++,
  name: group.name,
  status: 'online',
  enabled: true,
  ...extra,
});
/** A classified group with a registration (unless `agent: undefined`). */
const c = (cls: CapacityClass, extra: Partial<ClassifiedGroup> = {}): ClassifiedGroup => {
  const group = extra.group ?? g();
  return { group, agent: reg(group), cls, why: `is ${cls}`, ageSec: 600, ...extra };
};
const state = (
  groups: ClassifiedGroup[],
  over: Partial<ProfileState> = {},
  policy: Record<string, unknown> = {},
): ProfileState => ({
  policy: profile({ maxAgents: 10, maxCreatePerPass: 5, ...policy }),
  groups,
  queued: 0,
  standby: 0,
  inBackoff: false,
  placeholderRegistered: false,
  ...over,
});
const groupsOf = (actions: { kind: string; group?: string }[]) => actions.map((a) => a.group);

describe('the delete helper', () => {
  it('takes the registration along in the mode deleteModeFor decides; a placeholder keeps its registration', () => {
    const x = g();
    expect(removal(x, reg(x, { id: 7 }), 'idle', 'r')).toEqual({
      kind: 'delete',
      profile: 'linux',
      group: x.name,
      agentId: 7,
      mode: 'safe',
      cause: 'idle',
      reason: 'r',
    });
    expect(removal(x, undefined, 'failedBoot', 'r')).toMatchObject({ mode: 'recheck', agentId: undefined });
    expect(removal(g({ instanceState: 'Succeeded' }), undefined, 'finished', 'r').mode).toBe('direct');
    const ph = removal(g({ placeholder: true }), 'keep', 'finished', 'r');
    expect(ph.mode).toBe('direct');
    expect(ph).not.toHaveProperty('agentId');
  });
});

describe('removals by cause', () => {
  it('finished, lost and disabled idle groups go; busy, starting and usable idle ones are not touched', () => {
    const finished = c('finished');
    const lost = c('lost');
    const disabled = c('idle', { disabled: true, idleSec: 5 });
    const s = state([c('busy'), c('starting'), c('idle', { idleSec: 9999 }), finished, lost, disabled]);
    expect(groupsOf(removeFinished(s))).toEqual([finished.group.name]);
    expect(groupsOf(removeLost(s))).toEqual([lost.group.name]);
    expect(groupsOf(removeDisabled(s))).toEqual([disabled.group.name]);
  });

  it('failed boots: the newest keepFailed stay', () => {
    const old = c('failedBoot', { ageSec: 900 });
    const mid = c('failedBoot', { ageSec: 500 });
    const young = c('failedBoot', { ageSec: 100 });
    expect(groupsOf(removeFailedBoots(state([old, young, mid], {}, { keepFailed: 1 })))).toEqual([
      mid.group.name,
      old.group.name,
    ]);
    expect(removeFailedBoots(state([old, young, mid], {}, { keepFailed: 3 }))).toEqual([]);
  });

  it('max lifetime retires usable idle agents past it, and only when set', () => {
    const old = c('idle', { ageSec: 4000, idleSec: 10 });
    const s = (max: number) =>
      state([old, c('idle', { ageSec: 100, idleSec: 10 }), c('busy', { ageSec: 9000 })], {}, { maxLifetimeSec: max });
    expect(groupsOf(retireOverLifetime(s(3600)))).toEqual([old.group.name]);
    expect(retireOverLifetime(s(0))).toEqual([]);
  });

  it('idle trim: longest idle first, past the timeout, beyond standby + queued, not counting the retired', () => {
    const a = c('idle', { idleSec: 900 });
    const b = c('idle', { idleSec: 700 });
    const young = c('idle', { idleSec: 10 });
    const s = (over: Partial<ProfileState>) => state([b, young, a], over, { idleTimeoutSec: 300 });
    expect(groupsOf(trimIdle(s({}), []))).toEqual([a.group.name, b.group.name]); // the young one is within its timeout
    expect(groupsOf(trimIdle(s({ standby: 1, queued: 1 }), []))).toEqual([a.group.name]);
    expect(groupsOf(trimIdle(s({ standby: 1 }), retireOverLifetime(state([a], {}, { maxLifetimeSec: 60 }))))).toEqual([
      b.group.name,
    ]);
  });
});

describe('creates', () => {
  it('queued + standby − idle − starting, within maxAgents − live and maxCreatePerPass', () => {
    const s = state(
      [c('idle', { idleSec: 1 }), c('starting'), c('busy')],
      { queued: 4, standby: 1 },
      { maxAgents: 5, maxCreatePerPass: 10 },
    );
    expect(liveCount(s)).toBe(3);
    expect(createAgents(s, 0)).toHaveLength(2); // want 4 + 1 − 1 − 1 = 3, room 5 − 3 = 2
    expect(createAgents({ ...s, policy: { ...s.policy, maxCreatePerPass: 1 } }, 0)).toHaveLength(1);
    expect(createAgents({ ...s, queued: 0, standby: 0 }, 0)).toEqual([]);
  });

  it('idle agents removed this pass are replaced; failed boots whose container may run count as live', () => {
    const s = state([c('idle', { idleSec: 1 })], { standby: 1 });
    expect(createAgents(s, 0)).toEqual([]);
    expect(createAgents(s, 1)).toHaveLength(1);
    const broken = state([
      c('failedBoot', { agent: undefined }),
      c('failedBoot', { agent: undefined, group: g({ instanceState: 'Failed' }) }),
    ]);
    expect(liveCount(broken)).toBe(1);
  });
});

describe('placeholder', () => {
  it('created when neither registered nor on its way; its one-shot group goes once done, keeping the registration', () => {
    const on = { placeholder: true, bootTimeoutSec: 300 };
    expect(placeholderRule(state([], {}, on))).toEqual([
      expect.objectContaining({ kind: 'create', placeholder: true }),
    ]);
    expect(placeholderRule(state([], {}, { placeholder: false }))).toEqual([]);
    const booting = c('placeholder', { agent: undefined, ageSec: 30, group: g({ placeholder: true }) });
    expect(placeholderRule(state([booting], {}, on))).toEqual([]);
    expect(placeholderState(state([booting], {}, on), [])).toBe('creating');
    const done = placeholderRule(state([booting], { placeholderRegistered: true }, on));
    expect(done).toEqual([
      expect.objectContaining({ kind: 'delete', group: booting.group.name, mode: 'direct', cause: 'finished' }),
    ]);
    expect(placeholderRule(state([{ ...booting, ageSec: 301 }], {}, on))).toHaveLength(1);
  });
});

describe('back-off', () => {
  it('holds every create back, placeholder included, and nothing else; the view then says missing', () => {
    const s = state([], { inBackoff: true }, { placeholder: true });
    const actions = [
      removal(g(), undefined, 'idle', 'r'),
      { kind: 'create' as const, profile: 'linux', reason: 'r' },
      ...placeholderRule(s),
    ];
    const held = holdCreatesInBackoff(s, actions);
    expect(held.map((a) => a.kind)).toEqual(['delete']);
    expect(placeholderState(s, held)).toBe('missing');
    expect(holdCreatesInBackoff({ ...s, inBackoff: false }, actions)).toHaveLength(3);
  });
});

describe('orphans', () => {
  it('groups of an unconfigured profile go unless their agent holds a job; offline registrations of ours without a group go', () => {
    const idle = g({ profile: 'gone' });
    const busy = g({ profile: 'gone' });
    const agents = new Map([[busy.name, reg(busy, { assignedRequestId: 5 })]]);
    expect(groupsOf(removeOrphanGroups([idle, busy], 'aci', agents, new Set()))).toEqual([idle.name]);
    expect(removeOrphanGroups([idle], 'aci', new Map(), new Set([idle.name]))).toEqual([]);

    const p = profile();
    const offline = {
      id: 1,
      name: `azp-linux-${'a'.repeat(AGENT_NAME_SUFFIX_CHARS)}`,
      status: 'offline' as const,
      enabled: true,
    };
    const foreign = { ...offline, id: 2, name: 'someone-else' };
    const withGroup = { ...offline, id: 3, name: `azp-linux-${'b'.repeat(AGENT_NAME_SUFFIX_CHARS)}` };
    const notProven = { ...offline, id: 5, name: `azp-linux-${'c'.repeat(AGENT_NAME_SUFFIX_CHARS)}` };
    const candidates = orphanRegistrationCandidates(
      [offline, foreign, withGroup, { ...offline, id: 4, status: 'online' }, notProven],
      new Set([withGroup.name]),
      new Set(),
      [p],
      'azp',
      new Date(),
    );
    expect(candidates.map((c) => c.agent.id)).toEqual([1, 5]);
    // A fresh registration with no listed group may be one of our booting agents (a list that lags):
    // not a candidate within the profile's boot timeout.
    const now = new Date('2026-01-01T12:00:00Z');
    const at = (sec: number) => new Date(now.getTime() - sec * 1000).toISOString();
    const young = { ...offline, createdOn: at(p.bootTimeoutSec - 1) };
    const old = { ...offline, id: 6, createdOn: at(p.bootTimeoutSec + 1) };
    expect(
      orphanRegistrationCandidates([young, old], new Set(), new Set(), [p], 'azp', now).map((c) => c.agent.id),
    ).toEqual([6]);
    // Named like ours is no proof: only those whose capabilities proved them ours go.
    const out = removeOrphanRegistrations(candidates, new Set([1]));
    expect(out).toEqual([expect.objectContaining({ kind: 'unregister', agentId: 1 })]);
  });
});
