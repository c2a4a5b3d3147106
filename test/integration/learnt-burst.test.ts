/**
 * A learnt burst through the real clients: the warm state (yesterday's background and a fan-out
 * at this minute) is in the pool's blob in Azurite; today's passes run the real ARM and Azure DevOps
 * SDK clients against the HTTPS fakes, with 429 + Retry-After on creates. The burst's agents come
 * on top of the background's own, within maxAgents, and a refused create is made up by the next
 * pass without ever going past the cap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyWarmState, observeArrivals, type Arrival, type WarmState } from '../../src/core/warm/index.js';
import { startAzurite, type Azurite } from '../helpers/azurite.js';
import { stackRuntime } from '../helpers/stack-runtime.js';
import { startFakeStack, type FakeStack } from '../fakes/stack.js';

const PAT = 'canarypat-burst-3f9a1c7e5b2d8f4a6c0e9b1d7a3f5c2e8b4d6a0';
const H = 3_600_000;
let stack: FakeStack;
let azurite: Azurite;

beforeAll(async () => {
  [stack, azurite] = await Promise.all([
    startFakeStack({ pat: PAT, subscriptionId: '00000000-0000-0000-0000-0000000000bb', resourceGroup: 'rg-burst' }),
    startAzurite(),
  ]);
});
afterAll(async () => {
  await Promise.all([stack?.close(), azurite?.stop()]);
});

// Far from the profile's midnight whatever the hour this runs at: the burst is at "this minute" of the day.
const TIME_ZONE = new Date().getUTCHours() >= 22 || new Date().getUTCHours() < 2 ? 'Etc/GMT-12' : 'UTC';
const POOLS = [
  {
    name: 'lx',
    pool: 'learnt',
    image: 'contoso.azurecr.io/azp-agent:1',
    placeholder: false,
    targetWaitSec: 15,
    maxAgents: 9,
    timeZone: TIME_ZONE,
  },
];

const instance = () => stackRuntime(stack, azurite, { id: 'learnt-burst', pools: POOLS });

/** Yesterday as passes saw it: a job every 15 min for two hours around this time, and 8 jobs 3 s apart a minute from now. */
function yesterday(now: number): WarmState {
  let id = 900_000;
  const arrivals: number[] = [];
  for (let t = now - 25 * H + 7_000; t < now - 23 * H; t += H / 4) arrivals.push(t);
  for (let i = 0; i < 8; i++) arrivals.push(now - 24 * H + 60_000 + i * 3_000);
  arrivals.sort((a, b) => a - b);
  let s = emptyWarmState(new Date(now - 26 * H));
  const fold = (at: number, seen: Arrival[]) =>
    (s = { ...s, arrivals: observeArrivals(s.arrivals, seen, new Date(at), TIME_ZONE) });
  for (const t of arrivals) fold(t + 1_000, [{ requestId: id++, queueTime: new Date(t).toISOString() }]);
  fold(now - 23 * H, []);
  return s;
}

const lxGroups = () => stack.arm.groups().filter((g) => g.name.startsWith('azp-lx-'));

describe('a learnt burst through the real clients (Azurite, HTTPS fakes)', () => {
  it('keeps the burst on top of the background’s agents, within maxAgents, through refused creates', async () => {
    const { azdo, arm } = stack;
    azdo.addPool('learnt');
    const a = instance();
    // A first pass (nothing queued, nothing learnt) makes the state container; then yesterday goes in.
    await a.coordinator.request('learnt', 'timer');
    expect(lxGroups()).toHaveLength(0);
    const state = await a.deps.poolState.load('learnt');
    await a.deps.poolState.save('learnt', { ...state, warm: { lx: yesterday(Date.now()) } });

    // The first two creates are refused with 429 + Retry-After (no SDK retries here): the pass goes on.
    arm.inject({
      match: { method: 'PUT', pathIncludes: 'azp-lx-' },
      status: 429,
      code: 'TooManyRequests',
      message: 'throttled',
      retryAfter: 1,
      times: 2,
    });
    await a.coordinator.request('learnt', 'timer');
    // ARM's Retry-After holds every request of this process for a second, status's list too.
    await new Promise((r) => setTimeout(r, 1_100));
    const view = (await a.status()).pools[0]!.views.find((v) => v.profile === 'lx')!;
    const reason = view.warm?.reason ?? '';
    const m = /learnt burst of 8 jobs at \d\d:\d\d UTC: 8 still to come \+ (\d+) for the background/.exec(reason);
    expect(m, reason).not.toBeNull();
    const background = Number(m![1]);
    expect(background).toBeGreaterThanOrEqual(1);
    // 8 + the background's own, capped at maxAgents 9.
    expect(view.warm?.k).toBe(Math.min(8 + background, 9));
    expect(lxGroups().length).toBeLessThanOrEqual(9);
    const puts = arm.requests.filter((r) => r.method === 'PUT' && r.path.includes('azp-lx-'));
    expect(puts.length).toBeGreaterThanOrEqual(3);

    // The next passes make up the refused creates, and never pass the cap.
    for (let i = 0; i < 3; i++) {
      await a.coordinator.request('learnt', 'timer');
      expect(lxGroups().length).toBeLessThanOrEqual(9);
    }
    expect(lxGroups()).toHaveLength(Math.min(8 + background, 9));
    expect(a.lines.join('\n')).not.toContain(PAT);
  });
});
