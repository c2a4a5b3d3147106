import { describe, expect, it } from 'vitest';
import { jobRequestListSchema, toJobRequest, toListedJobRequest } from '../../src/azdo/wire.js';
import { compareServerVersions, demandSatisfied, indexCapabilities, parseDemand } from '../../src/core/demands.js';
import { capabilityDifference, reportedByProfile } from '../../src/core/matching.js';
import { assignQueuedJobs, plan } from '../../src/core/plan.js';
import type { AgentRegistration, JobRequest } from '../../src/core/types.js';
import { readContractJson } from '../helpers/contracts.js';
import { poolSnapshot, profile } from '../helpers/profiles.js';

const NOW = new Date('2026-11-28T10:00:00Z');
const ago = (sec: number) => new Date(NOW.getTime() - sec * 1000).toISOString();

/** The recorded list (KEDA's capture): job 890659 [kubectl] matches nobody, 890663 [dotnet60, java, cmake] matches 1755 (a template agent) and three scaled agents. */
const recorded = jobRequestListSchema
  .parse(readContractJson('azdo/examples/jobrequests.list.keda-testJobRequestResponse.json'))
  .value.map(toListedJobRequest);
const [kubectlJob, dotnetJob] = recorded as [JobRequest, JobRequest];

const placeholder = (id: number, prof: string): AgentRegistration => ({
  id,
  name: `azp-${prof}-placeholder`,
  status: 'offline',
  enabled: true,
  createdOn: ago(3600),
});
const snap = poolSnapshot;
const assigned = (p: ReturnType<typeof plan>) => Object.fromEntries(p.views.map((v) => [v.profile, v.queued]));

describe('matchedAgents are read as ids only', () => {
  it('keeps the ids of the recorded list, in order; a listed request without the field matches nobody', () => {
    expect(dotnetJob.matchedAgentIds).toEqual([1755, 11732, 11733, 11734]);
    expect(kubectlJob.matchedAgentIds).toEqual([]);
  });

  it('does not validate each agent object: odd items are skipped, the request still parses', () => {
    const odd = jobRequestListSchema.parse({
      count: 1,
      value: [
        {
          requestId: 1,
          demands: [],
          matchedAgents: [{ id: 7 }, { name: 'no id' }, null, { id: '8' }, { id: 9, status: 42 }],
        },
      ],
    });
    expect(toJobRequest(odd.value[0]!).matchedAgentIds).toEqual([7, 9]);
  });
});

describe('a queued job belongs to the profile whose placeholder the server matched (recorded shapes)', () => {
  // The profiles' placeholders: 1755 is the recorded template agent that the server lists for the dotnet job.
  const dotnet = profile({ name: 'dotnet', capabilities: ['dotnet60', 'java', 'cmake'], placeholder: true });
  const kube = profile({ name: 'kube', capabilities: ['kubectl'], placeholder: true });
  const cases: Array<[string, ReturnType<typeof profile>[], AgentRegistration[], Record<string, number>, number]> = [
    [
      'declared right, placeholder matched: same answer',
      [kube, dotnet],
      [placeholder(1755, 'dotnet'), placeholder(99, 'kube')],
      { kube: 0, dotnet: 1 },
      1,
    ],
    // Declared capabilities would give the dotnet job to nobody: the image reports more than declared.
    [
      'declared too little (would leave it unmatched): the server says the image can',
      [kube, profile({ name: 'dotnet', capabilities: ['dotnet60'], placeholder: true })],
      [placeholder(1755, 'dotnet')],
      { kube: 1, dotnet: 1 },
      0,
    ],
    // Declared capabilities would give the kubectl job to "kube", but its image cannot run it: no agent is made that the server never assigns.
    [
      'declared too much (would create an agent never assigned): the server lists nobody',
      [kube, dotnet],
      [placeholder(99, 'kube'), placeholder(1755, 'dotnet')],
      { kube: 0, dotnet: 1 },
      1,
    ],
    // The first declared match is not the server's: the job goes where its placeholder is matched.
    [
      'declared would pick the wrong profile first',
      [profile({ name: 'wide', capabilities: ['dotnet60', 'java', 'cmake', 'kubectl'], placeholder: true }), dotnet],
      [placeholder(98, 'wide'), placeholder(1755, 'dotnet')],
      { wide: 0, dotnet: 1 },
      1,
    ],
    ['no placeholder yet: declared capabilities decide (fallback)', [kube, dotnet], [], { kube: 1, dotnet: 1 }, 0],
    [
      'placeholder of one profile only: the other falls back to its declared capabilities',
      [kube, dotnet],
      [placeholder(1755, 'dotnet')],
      { kube: 1, dotnet: 1 },
      0,
    ],
  ];
  it.each(cases)('%s', (_n, profiles, agents, expected, unmatched) => {
    const p = plan(snap({ jobs: recorded, agents }), { prefix: 'azp', profiles }, NOW);
    expect(assigned(p)).toEqual(expected);
    expect(p.unmatchedJobs).toHaveLength(unmatched);
  });

  it('spill-over still works among the server-matched profiles', () => {
    const a = profile({ name: 'a', maxAgents: 1, placeholder: true });
    const b = profile({ name: 'b', maxAgents: 5, placeholder: true });
    const jobs: JobRequest[] = [1, 2, 3].map((i) => ({
      requestId: i,
      queueTime: ago(60 - i),
      demands: ['x'],
      matchedAgentIds: [10, 20],
    }));
    const p = plan(
      snap({ jobs, agents: [placeholder(10, 'a'), placeholder(20, 'b')] }),
      { prefix: 'azp', profiles: [a, b] },
      NOW,
    );
    expect(assigned(p)).toEqual({ a: 1, b: 2 });
  });
});

describe('fallback: what the agent reports besides the declared capabilities', () => {
  it.each([
    ['Agent.OS -equals Linux on a Linux profile', ['Agent.OS -equals Linux'], {}, 1],
    ['Agent.OS -equals Windows_NT on a Linux profile', ['Agent.OS -equals Windows_NT'], {}, 0],
    [
      'Agent.OS -equals windows_nt on a Windows profile',
      ['Agent.OS -equals windows_nt'],
      { os: 'Windows', cpu: 2, memoryGb: 4 },
      1,
    ],
    ['a demand an env var satisfies', ['TEAM -equals payments'], { env: { TEAM: 'Payments' } }, 1],
    [
      'requireAll: Agent.OS and env vars need not be demanded',
      ['java'],
      { capabilities: ['java'], env: { TEAM: 'x' }, matchMode: 'requireAll' },
      1,
    ],
  ])('%s', (_n, demands, over, expected) => {
    const { byProfile } = assignQueuedJobs([{ requestId: 1, demands }], [profile(over)]);
    expect(byProfile.get('linux')!.length).toBe(expected);
  });
});

describe("the server's operators", () => {
  const caps = indexCapabilities(
    { maven: '3.9', node: '20.11.1-nightly', 'Agent.OS': 'Linux', odd: 'latest', three: '3' },
    false,
  );
  it.each([
    ['maven -gtVersion 3.9 (equal counts)', true],
    ['maven -gtVersion 3.8', true],
    ['maven -gtVersion 3.10', false],
    ['maven -gtVersion 3.9.0 (3.9 < 3.9.0 as System.Version)', false],
    ['node -gtVersion 20.11.1 (capability suffix cut)', true],
    ['node -gtVersion 20.11.1-beta (demand suffix cut)', true],
    ['node -gtVersion 20.12', false],
    ['odd -gtVersion 1.0 (capability no version: below every version)', false],
    ['maven -gtVersion latest (demand no version: every version is above)', true],
    ['three -gtVersion 3 (one part is no System.Version on either side: equal)', true],
    ['missing -gtVersion 1.0', false],
    ['Agent.OS -equals linux', true],
    ['Agent.OS -equals LINUX', true],
    ['agent.os -equals Linux (names ignore case by default)', true],
    ['Agent.OS -equals Linux2', false],
    ['maven', true],
    ['gradle', false],
  ])('%s', (text, expected) => {
    const demand = text.replace(/ \(.*\)$/, '');
    expect(demandSatisfied(parseDemand(demand), caps)).toBe(expected);
  });

  it('-equals ignores the case of values even on a case-sensitive profile', () => {
    expect(
      demandSatisfied(parseDemand('Agent.OS -equals linux'), indexCapabilities({ 'Agent.OS': 'Linux' }, true)),
    ).toBe(true);
  });

  it('compares like DemandMinimumVersion.CompareVersion', () => {
    expect(compareServerVersions('1.2', '1.2.0')).toBe(-1);
    expect(compareServerVersions('x', 'y')).toBe(0);
    expect(compareServerVersions('x', '1.0')).toBe(-1);
    expect(compareServerVersions('2.0-rc1', '2.0')).toBe(0);
  });
});

describe('declared versus reported capabilities', () => {
  it('names what the image does not report and values that differ, ignoring extra reported ones', () => {
    const declared = reportedByProfile(
      profile({ capabilities: { docker: '', maven: '3.9', java: '' }, env: { TEAM: 'a' } }),
    );
    const d = capabilityDifference(declared, {
      java: '/usr/bin/java',
      maven: '3.8.6',
      TEAM: 'a',
      'Agent.OS': 'Linux',
      curl: '/usr/bin/curl',
    });
    expect(d.missing).toEqual(['docker']);
    expect(d.differing).toEqual(['maven: declared 3.9 ≠ reported 3.8.6']);
  });
});
