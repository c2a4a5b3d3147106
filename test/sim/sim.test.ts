import { describe, expect, it } from 'vitest';
import { checkFinalInvariants, checkPassInvariants } from '../../src/sim/invariants.js';
import { defaultProfiles } from '../../src/sim/profiles.js';
import { runSmall, smallTrace } from '../helpers/sim-traces.js';
import { percentile, runSimulation, type SimResult } from '../../src/sim/run.js';
import { sampleTrace } from '../../src/sim/trace.js';
import type { AgentRegistration } from '../../src/core/types.js';
import type { AzureDevOpsPort, ComputePort } from '../../src/ports/index.js';
import type { World } from '../../src/sim/world.js';
import { runSimulateCommand } from '../../src/sim/command.js';

const profiles = defaultProfiles();

describe('simulator determinism', () => {
  it('same seed → identical JSON summary; different seed → different', async () => {
    const trace = sampleTrace('monday-burst', 3);
    const a = await runSimulation({ trace, profiles, policy: 'ours', seed: 3 });
    const b = await runSimulation({ trace, profiles, policy: 'ours', seed: 3 });
    expect(JSON.stringify(b.summary)).toBe(JSON.stringify(a.summary));
    const trace4 = sampleTrace('monday-burst', 4);
    const c = await runSimulation({ trace: trace4, profiles, policy: 'ours', seed: 4 });
    expect(JSON.stringify(c.summary)).not.toBe(JSON.stringify(a.summary));
  });

  it('sample traces are seeded: same seed same jobs', () => {
    expect(sampleTrace('steady-day', 9)).toEqual(sampleTrace('steady-day', 9));
    expect(sampleTrace('steady-day', 9)).not.toEqual(sampleTrace('steady-day', 10));
  });
});

describe('conservation and invariants (the real reconcile pass)', () => {
  for (const name of ['monday-burst', 'mixed-profiles', 'nightly-batch'] as const) {
    it(`${name}: every servable job served exactly once, no violation after any pass`, async () => {
      let world: World | undefined;
      let passes = 0;
      const perPass: string[] = [];
      const trace = sampleTrace(name, 11);
      const r = await runSimulation({
        trace,
        profiles,
        policy: 'ours',
        seed: 11,
        onWorld: (w) => (world = w),
        ours: {
          onPass: () => {
            passes++;
            for (const v of checkPassInvariants(world!, profiles, {
              owner: 'ours',
              prefix: 'azp',
              firstPassDone: true,
            }))
              perPass.push(`${v.kind}: ${v.detail}`);
          },
        },
      });
      expect(passes).toBeGreaterThan(10);
      expect(perPass).toEqual([]);
      expect(r.violations).toEqual([]);
      expect(checkFinalInvariants(world!, profiles, { owner: 'ours', prefix: 'azp' })).toEqual([]);
      const s = r.summary;
      expect(s.served + s.rejected).toBe(s.jobs);
      expect(s.abandoned).toBe(0);
      expect(s.unserved).toBe(0);
      for (const j of world!.jobs) if (j.result !== 'rejected') expect(j.assignments).toBe(1);
      // Billed time ≥ busy time, per agent.
      for (const m of world!.allMachines)
        expect((m.billEndMs ?? world!.clock.nowMs()) - m.billStartMs).toBeGreaterThanOrEqual(m.busyMs);
      expect(s.agentMinutesBilled).toBeGreaterThanOrEqual(s.busyAgentMinutes);
      if (name === 'mixed-profiles') expect(s.rejected).toBe(3); // the GPU jobs nobody serves
    });
  }

  it('injected failures, quota and throttling: still served once, invariants hold, back-off used', async () => {
    const { result: r, world } = await runSmall({
      profiles,
      world: {
        imagePullFailureRate: 0.15,
        crashBeforeRegisterRate: 0.15,
        imageUnregisters: true,
        cleanupFailureRate: 0.5,
        throttleRate: 0.05,
        maxGroupsPerRegion: 12,
      },
    });
    expect(r.violations).toEqual([]);
    expect(r.summary.unserved).toBe(0);
    expect(r.summary.served).toBe(25);
    expect(world.counters.quotaErrors ?? 0).toBeGreaterThan(0);
    expect((world.counters.imagePullFailures ?? 0) + (world.counters.crashesBeforeRegister ?? 0)).toBeGreaterThan(0);
    expect(r.summary.orphanRegistrations).toBe(0);
  });

  // The detection must fire on a real breach: the real pass, fed a wrong picture of the world by
  // lying ports (as a broken adapter would), really deletes busy groups / creates past maxAgents.
  const blindTo = (world: World, lie: { running?: boolean; groups?: boolean }) => {
    const azdo = world.azdoPort.bind(world);
    const compute = world.computePort.bind(world);
    const idle = (a: AgentRegistration | undefined) => (a ? { ...a, assignedRequestId: undefined } : a);
    world.azdoPort = (): AzureDevOpsPort => {
      const p = azdo();
      if (!lie.running) return p;
      return {
        ...p,
        listJobRequests: async (id) => (await p.listJobRequests(id)).filter((j) => !j.assignTime),
        listAgents: async (id) => (await p.listAgents(id)).map((a) => idle(a)!),
        getAgent: async (id, agentId) => idle(await p.getAgent(id, agentId)),
        listAgentRequests: async () => [],
        findAgent: async (id, name) => idle(await p.findAgent(id, name)),
      };
    };
    world.computePort = (owner: string): ComputePort => {
      const p = compute(owner);
      return lie.groups ? { ...p, listGroups: async () => [], getGroup: async () => undefined } : p;
    };
  };

  it('a pass blind to running jobs deletes busy groups: the world records which group, agent and job, and the job is abandoned', async () => {
    let world: World | undefined;
    const r = await runSimulation({
      trace: smallTrace(),
      profiles,
      policy: 'ours',
      seed: 2,
      onWorld: (w) => blindTo((world = w), { running: true }),
    });
    const busy = r.violations.filter((v) => v.kind === 'busyGroupDeleted');
    expect(busy.length).toBeGreaterThan(0);
    for (const v of busy) {
      expect(v).toMatchObject({ by: 'ours', agent: v.group });
      const job = world!.jobs.find((j) => j.id === v.job)!;
      expect(job).toMatchObject({ result: 'abandoned', agentName: v.group });
    }
    expect(r.summary.abandoned).toBe(new Set(busy.map((v) => v.job)).size);
  });

  it('a pass blind to its groups creates past maxAgents: the pass check names the profile, the count and the limit', async () => {
    const r = await runSimulation({
      trace: smallTrace(),
      profiles,
      policy: 'ours',
      seed: 2,
      hours: 0.5,
      onWorld: (w) => blindTo(w, { groups: true }),
    });
    const over = r.violations.filter((v) => v.kind === 'maxAgentsExceeded');
    expect(over.length).toBeGreaterThan(0);
    for (const v of over) {
      const p = profiles.find((x) => x.name === v.profile)!;
      expect(v.limit).toBe(p.maxAgents);
      expect(v.count).toBeGreaterThan(p.maxAgents);
    }
  });
});

describe('baselines', () => {
  it('KEDA and VMSS serve the same trace; VMSS waits for VMs to boot', async () => {
    const trace = smallTrace();
    const results: SimResult[] = [];
    for (const policy of ['ours', 'keda', 'vmss'] as const)
      results.push(await runSimulation({ trace, profiles, policy, seed: 1 }));
    for (const r of results) expect(r.summary.served).toBe(25);
    const [ours, keda, vmss] = results.map((r) => r.summary);
    expect(vmss!.waitSec.p50).toBeGreaterThan(ours!.waitSec.p50);
    expect(keda!.apiCalls.azdo).toBeGreaterThan(0);
    expect(vmss!.costUsd).toBeGreaterThan(0);
  });
});

describe('percentile', () => {
  it('nearest rank', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
    expect(percentile([], 95)).toBe(0);
  });
});

describe('simulate command', () => {
  it('--json prints a summary per policy; bad options exit 2', async () => {
    let out = '';
    let err = '';
    const io = { stdout: (s: string) => (out += s), stderr: (s: string) => (err += s), isTty: false };
    expect(
      await runSimulateCommand(['--trace', 'nightly-batch', '--policy', 'ours', '--json', '--seed', '2'], io),
    ).toBe(0);
    const parsed = JSON.parse(out) as { policies: { policy: string; served: number }[] };
    expect(parsed.policies.map((p) => p.policy)).toEqual(['ours']);
    expect(err).toContain('simulate ours: 100%');
    expect(await runSimulateCommand(['--policy', 'nope'], io)).toBe(2);
    expect(await runSimulateCommand(['--trace', 'no-such-sample'], io)).toBe(2);
    expect(err).toContain("unknown sample trace 'no-such-sample'");
  });
});
