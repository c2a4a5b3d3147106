/**
 * The agent image's entrypoint, infra/agent/start.sh, run for real with bash against a fake
 * agent package (fake-agent/) and a fake Azure DevOps packages endpoint (fake-azdo-packages.ts).
 * What only a `docker build` can show is listed in infra/agent/README.md.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { buildFakeAgentTarball, readCalls, readSignals, type CallKind, type RecordedCall } from './fake-agent.js';
import { startFakeAzdo, type FakeAzdo } from './fake-azdo-packages.js';
import {
  jobSearchEnv,
  makeSandbox,
  readJobSearch,
  searchDisk,
  START_SH,
  waitFor,
  type Sandbox,
  type SandboxOptions,
  type ScriptResult,
  type SearchReport,
} from './harness.js';

const SECRET_ENV_NAMES = ['AZP_TOKEN', 'AZP_TOKEN_FILE', 'AZP_SP_CLIENT_SECRET', 'AZP_SP_CLIENT_SECRET_FILE'];
/** Opt-in: start.sh keeps the token to unregister the agent when it stops. */
const UNREGISTER = { AZP_UNREGISTER_ON_EXIT: '1' };

/** A sandbox that is torn down (processes killed, files deleted) when the test ends. */
async function sandbox(ctx: TestContext, options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await makeSandbox(options);
  ctx.onTestFinished(() => s.cleanup());
  return s;
}

function kinds(calls: RecordedCall[]): CallKind[] {
  return calls.map((c) => c.kind);
}

function only(calls: RecordedCall[], kind: CallKind): RecordedCall[] {
  return calls.filter((c) => c.kind === kind);
}

function first(calls: RecordedCall[], kind: CallKind): RecordedCall {
  const call = calls.find((c) => c.kind === kind);
  if (!call) throw new Error(`no ${kind} call among: ${kinds(calls).join(', ')}`);
  return call;
}

/** The value that follows `flag` in an argument list. */
function argValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

/**
 * The secret must not appear in the script's output, in any argument list, or in run.sh's world
 * (its environment, and start.sh's as /proc shows it: empty when run.sh may not read it).
 */
function expectNoLeak(result: ScriptResult, calls: RecordedCall[], secret: string): void {
  expect(result.stdout).not.toContain(secret);
  expect(result.stderr).not.toContain(secret);
  for (const call of calls) {
    expect(call.args.join(' ')).not.toContain(secret);
    if (call.kind === 'run') {
      expect([...call.env.values()].join('\n')).not.toContain(secret);
      for (const name of SECRET_ENV_NAMES) expect(call.env.has(name)).toBe(false);
      expect(call.parentEnv).toBeDefined();
      expect(call.parentEnv).not.toContain(secret);
    }
  }
}

function describeResult(r: ScriptResult): string {
  return `exit ${String(r.code)} (signal ${String(r.signal)}) after ${r.ms} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

function expectExit(r: ScriptResult, code: number): void {
  expect(r.code, describeResult(r)).toBe(code);
}

describe.concurrent('start.sh: settings', () => {
  it.for([
    {
      name: 'no URL and no token',
      env: { AZP_URL: undefined, AZP_TOKEN: undefined },
      messages: ['missing AZP_URL environment variable', 'missing AZP_TOKEN or AZP_TOKEN_FILE environment variable'],
    },
    {
      name: 'an empty token',
      env: { AZP_TOKEN: '' },
      messages: ['missing AZP_TOKEN or AZP_TOKEN_FILE environment variable'],
    },
    {
      name: 'a token file that does not exist',
      env: { AZP_TOKEN: undefined, AZP_TOKEN_FILE: '/nonexistent/pat' },
      messages: ['AZP_TOKEN_FILE=/nonexistent/pat is not a readable file'],
    },
    {
      name: 'service principal auth without its settings',
      env: { AZP_AUTH: 'sp', AZP_TOKEN: undefined },
      messages: [
        'missing AZP_SP_CLIENT_ID environment variable',
        'missing AZP_SP_TENANT_ID environment variable',
        'missing AZP_SP_CLIENT_SECRET or AZP_SP_CLIENT_SECRET_FILE environment variable',
      ],
    },
    {
      name: 'an unknown auth',
      env: { AZP_AUTH: 'negotiate' },
      messages: ["AZP_AUTH must be 'pat' or 'sp', not 'negotiate'"],
    },
    {
      name: 'an unknown run mode',
      env: { AZP_RUN_MODE: 'forever' },
      messages: ["AZP_RUN_MODE must be 'once', 'placeholder' or 'service', not 'forever'"],
    },
    {
      name: 'a bad AZP_UNREGISTER_ON_EXIT',
      env: { AZP_UNREGISTER_ON_EXIT: 'yes' },
      messages: ["AZP_UNREGISTER_ON_EXIT must be 0 or 1, not 'yes'"],
    },
    {
      name: 'a bad number',
      env: { AZP_CLEANUP_RETRIES: 'lots' },
      messages: ["AZP_CLEANUP_RETRIES must be a whole number, not 'lots'"],
    },
  ])('$name: exit 1 with every problem stated, nothing started', async ({ env, messages }, ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env(env));
    expectExit(r, 1);
    for (const m of messages) expect(r.stderr).toContain(`error: ${m}`);
    expect(await readCalls(s.recordDir)).toEqual([]);
    expect(r.stdout + r.stderr).not.toContain(s.canary);
  });
});

describe.concurrent('start.sh: baked agent, run once (the autoscaler default)', () => {
  it('registers, runs --once, leaves unregistering to the autoscaler, and keeps the PAT out of everything but config.sh input', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env());
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config', 'run']);
    expect(r.stdout).toContain('the agent will not unregister itself on exit');

    const config = first(calls, 'config');
    expect(config.cwd).toBe(s.agentDir);
    expect(config.args).toEqual([
      '--unattended',
      '--url',
      'http://127.0.0.1:9/unreachable-org',
      '--auth',
      'pat',
      '--pool',
      'aci-linux',
      '--agent',
      'azp-aci-test-0001',
      '--work',
      '_work',
      '--replace',
      '--acceptTeeEula',
    ]);
    // The agent reads VSTS_AGENT_INPUT_<ARG>, masks it and clears it from its environment.
    expect(config.env.get('VSTS_AGENT_INPUT_TOKEN')).toBe(s.canary);
    expect(config.args).not.toContain('--token');

    const run = first(calls, 'run');
    expect(run.args).toEqual(['--once']);
    expect(run.env.has('VSTS_AGENT_INPUT_TOKEN')).toBe(false);
    const ignored = (run.env.get('VSO_AGENT_IGNORE') ?? '').split(',');
    for (const name of [...SECRET_ENV_NAMES, 'VSTS_AGENT_INPUT_TOKEN', 'VSTS_AGENT_INPUT_CLIENTSECRET']) {
      expect(ignored).toContain(name);
    }

    expectNoLeak(r, calls, s.canary);
    // The registration stays for the autoscaler to remove.
    expect(existsSync(path.join(s.agentDir, '.agent'))).toBe(true);
  });

  it("leaves the deployment's identity visible to the agent: config.sh and run.sh see it, VSO_AGENT_IGNORE does not hide it", async (ctx) => {
    // The agent reports its environment as system capabilities (src/core/ownership.ts): this is how
    // the autoscaler proves a registration with no group behind it is its own.
    const s = await sandbox(ctx);
    const identity = {
      AZP_AUTOSCALER_ID: 'prod',
      AZP_AUTOSCALER_SCOPE: '0123456789abcdef',
      AZP_AGENT_NAME: 'azp-aci-test-0001',
    };
    const r = await s.run(s.env(identity));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    for (const call of [first(calls, 'config'), first(calls, 'run')]) {
      for (const [k, v] of Object.entries(identity)) expect(call.env.get(k), k).toBe(v);
      const ignored = (call.env.get('VSO_AGENT_IGNORE') ?? '').split(',');
      expect(ignored.filter((n) => n in identity)).toEqual([]);
    }
  });

  it('reads the PAT from AZP_TOKEN_FILE (trailing newline dropped), leaves that file alone and warns that jobs can read it', async (ctx) => {
    const s = await sandbox(ctx);
    const mounted = path.join(s.root, 'mounted-pat');
    await writeFile(mounted, `${s.canary}\r\n`, { mode: 0o644 });
    const r = await s.run(s.env({ AZP_TOKEN: undefined, AZP_TOKEN_FILE: mounted }));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(first(calls, 'config').env.get('VSTS_AGENT_INPUT_TOKEN')).toBe(s.canary);
    expect(await readFile(mounted, 'utf8')).toBe(`${s.canary}\r\n`);
    expect(r.stderr).toContain(`warning: the secret file ${mounted} stays readable by jobs`);
    expectNoLeak(r, calls, s.canary);
  });

  it.for([
    { name: 'autoscaler default', env: {}, args: [], expected: ['--once'] },
    { name: '--once given as an argument too', env: {}, args: ['--once'], expected: ['--once'] },
    { name: 'plain container (seed behaviour)', env: { AZP_AUTOSCALER: undefined }, args: [], expected: [] },
    {
      name: 'AZP_RUN_MODE=once',
      env: { AZP_AUTOSCALER: undefined, AZP_RUN_MODE: 'once' },
      args: [],
      expected: ['--once'],
    },
    { name: 'AZP_RUN_MODE=service wins', env: { AZP_RUN_MODE: 'service' }, args: [], expected: [] },
  ])('run.sh arguments: $name', async ({ env, args, expected }, ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env(env), args);
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(first(calls, 'run').args).toEqual(expected);
    expect(only(calls, 'remove')).toHaveLength(0);
  });

  it('takes over a configuration left by an earlier start of the same container', async (ctx) => {
    const s = await sandbox(ctx);
    await writeFile(path.join(s.agentDir, '.agent'), '{"agentName":"stale"}');
    await writeFile(path.join(s.agentDir, '.credentials'), '{}');
    const r = await s.run(s.env());
    expectExit(r, 0);
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config', 'run']);
    expect(r.stdout).toContain('removing the local configuration left by an earlier start');
    expect(existsSync(path.join(s.agentDir, '.credentials'))).toBe(false);
  });

  it('a failed configuration exits 1 without running or unregistering', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_CONFIG_EXIT: '3' }));
    expectExit(r, 1);
    expect(r.stderr).toContain('agent configuration failed (config.sh exited with code 3)');
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config']);
  });
});

/** The job searches the whole /proc and the sandbox: allow for a loaded machine. */
const JOB_WAIT_MS = 25_000;

/** The job's report, with the evidence that it looked where it should. */
async function jobReport(s: Sandbox, seq = 2): Promise<SearchReport> {
  const report = await readJobSearch(s.recordDir, seq);
  expect(report.files).toBeGreaterThan(0);
  expect(report.environs).toBeGreaterThan(0);
  expect(report.cmdlines).toBeGreaterThan(0);
  return report;
}

describe.concurrent('start.sh: a job running as the same user finds the token nowhere', () => {
  const sp = (secret: string) => ({
    AZP_TOKEN: undefined,
    AZP_AUTH: 'sp',
    AZP_SP_CLIENT_ID: '00000000-0000-0000-0000-0000000000c1',
    AZP_SP_TENANT_ID: '00000000-0000-0000-0000-0000000000t1',
    AZP_SP_CLIENT_SECRET: secret,
  });

  it.for([{ auth: 'pat' }, { auth: 'sp' }])(
    '$auth: no file, /proc/*/environ, /proc/*/cmdline or start.sh memory holds it during the job; nothing on disk after SIGTERM',
    async ({ auth }, ctx) => {
      const s = await sandbox(ctx);
      const secret = auth === 'sp' ? `sp-${s.canary}` : s.canary;
      const env = s.env({ ...(auth === 'sp' ? sp(secret) : {}), ...jobSearchEnv(s, secret), FAKE_RUN_SLEEP: '60' });
      const running = s.start(env);
      await waitFor(
        () => existsSync(path.join(s.recordDir, '2.run.started')),
        'the job to finish its search',
        JOB_WAIT_MS,
      );
      const report = await jobReport(s);
      expect(report.hits).toEqual([]);
      // It also read start.sh's memory where the kernel let it (root here; same uid without Yama).
      expect([...report.memories, ...report.memoriesUnreadable].map((m) => m.split(' ')[0])).toContain(
        String(running.pid),
      );
      running.kill('SIGTERM');
      const r = await running.done;
      expectExit(r, 143);
      expect((await searchDisk(s, secret)).hits).toEqual([]);
      // The search works: config.sh was given the secret, and the fake agent recorded it on disk.
      const records = await searchDisk(s, secret, { dirs: [s.recordDir] });
      expect(records.hits).toContain(`file ${path.join(s.recordDir, '1.config.env')}`);
    },
  );

  it('after a normal exit nothing on disk holds it', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env(jobSearchEnv(s, s.canary)));
    expectExit(r, 0);
    expect((await jobReport(s)).hits).toEqual([]);
    expect((await searchDisk(s, s.canary)).hits).toEqual([]);
  });

  it('after SIGKILL of start.sh during the job nothing on disk holds it (no token file is ever written)', async (ctx) => {
    const s = await sandbox(ctx);
    const running = s.start(s.env({ ...jobSearchEnv(s, s.canary), FAKE_RUN_SLEEP: '60' }));
    await waitFor(
      () => existsSync(path.join(s.recordDir, '2.run.started')),
      'the job to finish its search',
      JOB_WAIT_MS,
    );
    running.kill('SIGKILL');
    expect((await running.exited).signal).toBe('SIGKILL');
    expect((await searchDisk(s, s.canary)).hits).toEqual([]);
  });

  it('AZP_TOKEN_FILE: the job finds that file (start.sh did not create it and does not delete it) and nothing else', async (ctx) => {
    const s = await sandbox(ctx);
    const mounted = path.join(s.root, 'mounted-pat');
    await writeFile(mounted, `${s.canary}\n`, { mode: 0o400 });
    const r = await s.run(s.env({ AZP_TOKEN: undefined, AZP_TOKEN_FILE: mounted, ...jobSearchEnv(s, s.canary) }));
    expectExit(r, 0);
    // Every directory searched contains the sandbox, so the file shows up once per search root.
    expect(new Set((await jobReport(s)).hits)).toEqual(new Set([`file ${mounted}`]));
  });

  it('AZP_UNREGISTER_ON_EXIT=1: not in any file, environ or cmdline; in start.sh memory only if the kernel lets the job read it, with a warning', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ ...UNREGISTER, ...jobSearchEnv(s, s.canary) }));
    expectExit(r, 0);
    const report = await jobReport(s);
    expect(report.hits.filter((h) => !h.startsWith('memory of'))).toEqual([]);
    const started = /^\[start\.sh\] starting the agent/m.test(r.stdout);
    expect(started).toBe(true);
    const warned = r.stderr.includes('AZP_UNREGISTER_ON_EXIT=1: other processes of this user can read');
    // Which start.sh: the job's ancestor whose command is the execute-only bash copy.
    const keeper = [...report.memories, ...report.memoriesUnreadable].filter((m) => m.endsWith(' .start-bash'));
    expect(keeper).toHaveLength(1);
    if (warned) {
      // e.g. as root: the copy is readable, so the process stays dumpable, and the job finds the token.
      expect(report.memories).toEqual(expect.arrayContaining(keeper));
      expect(report.hits.some((h) => h.startsWith(`memory of pid ${keeper[0]?.split(' ')[0] ?? ''} `))).toBe(true);
    } else {
      expect(report.memoriesUnreadable).toEqual(keeper);
      expect(report.hits).toEqual([]);
    }
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(1);
    expect((await searchDisk(s, s.canary)).hits).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "AZP_UNREGISTER_ON_EXIT=1 as a non-root user (uid 65534, like the image's agent user): the job cannot read the memory of the start.sh that keeps the token (skipped unless root, which can switch users)",
    async (ctx) => {
      const s = await sandbox(ctx, { user: { uid: 65534, gid: 65534 } });
      const r = await s.run(s.env({ ...UNREGISTER, ...jobSearchEnv(s, s.canary) }));
      expectExit(r, 0);
      expect(r.stderr).not.toContain('other processes of this user can read');
      const report = await jobReport(s);
      expect(report.hits).toEqual([]);
      expect(report.memoriesUnreadable.filter((m) => m.endsWith(' .start-bash'))).toHaveLength(1);
      // run.sh, a process of the same user that is not the keeper: its memory is readable, so
      // the job could have read the keeper's, were it dumpable.
      expect(report.memories.some((m) => m.endsWith(' bash'))).toBe(true);
      const calls = await readCalls(s.recordDir);
      expect(kinds(calls)).toEqual(['config', 'run', 'remove']);
      expect(first(calls, 'remove').env.get('VSTS_AGENT_INPUT_TOKEN')).toBe(s.canary);
      expectNoLeak(r, calls, s.canary);
    },
  );
});

describe.concurrent('start.sh: a signal during the start of a process', () => {
  // bash runs a trap between any two commands. The race seen once under load: SIGTERM landed
  // after `( ... ) &` had started run.sh but before `CHILD_PID=$!`; start.sh saw no child,
  // exited, and left run.sh (holding its stdout) running, so the test waited for 60 s. Here a
  // pause is injected into a copy of start.sh at each such point, and the signal sent inside it.
  it.for([
    { name: 'after the fork, before its pid is recorded', at: '  ) &\n  CHILD_PID=$!\n', forked: true },
    { name: 'before the fork', at: '  SPAWNING=1\n  (\n', forked: false },
  ])('$name: the agent is still stopped', async ({ at, forked }, ctx) => {
    const s = await sandbox(ctx);
    const paused = path.join(s.root, 'paused');
    const release = path.join(s.root, 'release');
    const pause = `  if [[ $1 == ./run.sh ]]; then : >${paused}; while [[ ! -e ${release} ]]; do sleep 0.02; done; fi\n`;
    const original = await readFile(START_SH, 'utf8');
    const i = original.indexOf(at);
    expect(i).toBeGreaterThan(0);
    const cut = forked ? i + '  ) &\n'.length : i + '  SPAWNING=1\n'.length;
    const script = path.join(s.root, 'start-paused.sh');
    await writeFile(script, original.slice(0, cut) + pause + original.slice(cut), { mode: 0o755 });

    const running = s.start(s.env({ FAKE_RUN_SLEEP: '60' }), [], { script });
    await waitFor(() => existsSync(paused), 'start.sh to pause');
    if (forked) await waitFor(() => existsSync(path.join(s.recordDir, '2.run.started')), 'run.sh to start');
    running.kill('SIGTERM');
    await waitFor(() => running.output().includes('received SIGTERM while starting a process'), 'the deferred signal');
    await writeFile(release, '');
    const r = await running.done;
    expectExit(r, 143);
    expect(r.ms).toBeLessThan(20_000);
    if (forked) expect(await readSignals(s.recordDir)).toEqual(['2 TERM']);
  });
});

describe.concurrent('start.sh: stopping', () => {
  it.for([
    { signal: 'SIGTERM' as const, code: 143, seen: 'TERM' },
    { signal: 'SIGINT' as const, code: 130, seen: 'TERM' },
  ])('$signal during a job: stops the agent tree, exits $code', async ({ signal, code, seen }, ctx) => {
    const s = await sandbox(ctx);
    const running = s.start(s.env({ FAKE_RUN_SLEEP: '60' }));
    await waitFor(() => existsSync(path.join(s.recordDir, '2.run.started')), 'run.sh to start');
    running.kill(signal);
    const r = await running.done;
    expectExit(r, code);
    // run.sh's "job" (a foreground sleep 30) ended at once: the whole process group was signalled.
    expect(r.ms).toBeLessThan(20_000);
    expect(await readSignals(s.recordDir)).toEqual([`2 ${seen}`]);
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config', 'run']);
    expect(r.stdout).toContain(`received ${signal}`);
    expectNoLeak(r, calls, s.canary);
  });

  it('an agent that ignores SIGTERM is killed after AZP_STOP_TIMEOUT, then (opt-in) unregistered', async (ctx) => {
    const s = await sandbox(ctx);
    const running = s.start(s.env({ FAKE_RUN_IGNORE_TERM: '1', AZP_STOP_TIMEOUT: '1', ...UNREGISTER }));
    await waitFor(() => existsSync(path.join(s.recordDir, '2.run.started')), 'run.sh to start');
    running.kill('SIGTERM');
    const r = await running.done;
    expectExit(r, 143);
    expect(r.stderr).toContain('the agent did not stop within 1s; killing it');
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config', 'run', 'remove']);
  });

  it.for([
    { name: 'default', env: {}, expected: ['config'] },
    { name: 'AZP_UNREGISTER_ON_EXIT=1', env: UNREGISTER, expected: ['config', 'remove'] },
  ])(
    'SIGTERM while registering ($name): stops config.sh, unregisters only with the opt-in',
    async ({ env, expected }, ctx) => {
      const s = await sandbox(ctx);
      // Hold config.sh after it wrote .agent by making the fake agent's configure slow.
      const slowConfig = path.join(s.agentDir, 'config.sh');
      const original = await readFile(slowConfig, 'utf8');
      await writeFile(slowConfig, original.replace('echo "fake config.sh: agent configured"', 'sleep 60'));
      const running = s.start(s.env(env));
      await waitFor(() => existsSync(path.join(s.agentDir, '.agent')), 'config.sh to register');
      running.kill('SIGTERM');
      const r = await running.done;
      expectExit(r, 143);
      expect(r.ms).toBeLessThan(20_000);
      expect(kinds(await readCalls(s.recordDir))).toEqual(expected);
    },
  );
});

describe.concurrent('start.sh: AZP_UNREGISTER_ON_EXIT=1 unregisters on exit, with bounded attempts', () => {
  it('unregisters once after the job, handing the PAT to config.sh remove only through its environment', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env(UNREGISTER));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config', 'run', 'remove']);
    const remove = first(calls, 'remove');
    expect(remove.args).toEqual(['remove', '--unattended', '--auth', 'pat']);
    expect(remove.env.get('VSTS_AGENT_INPUT_TOKEN')).toBe(s.canary);
    expect(remove.cwd).toBe(s.agentDir);
    expectNoLeak(r, calls, s.canary);
    expect(existsSync(path.join(s.agentDir, '.agent'))).toBe(false);
    // The execute-only bash that held the token is deleted once it runs.
    expect(existsSync(path.join(s.azpHome, '.start-bash'))).toBe(false);
  });

  it('retries a failing unregistration AZP_CLEANUP_RETRIES times, then exits 75', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_REMOVE_FAIL: 'always', AZP_CLEANUP_RETRIES: '3', ...UNREGISTER }));
    expectExit(r, 75);
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(3);
    expect(r.stderr).toContain("could not unregister agent 'azp-aci-test-0001' after 3 attempts");
  });

  it('succeeds on a later attempt and exits 0', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_REMOVE_FAIL: '2', AZP_CLEANUP_RETRIES: '3', ...UNREGISTER }));
    expectExit(r, 0);
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(3);
  });

  it('keeps the signal exit code when unregistering fails after SIGTERM', async (ctx) => {
    const s = await sandbox(ctx);
    const running = s.start(
      s.env({ FAKE_RUN_SLEEP: '60', FAKE_REMOVE_FAIL: 'always', AZP_CLEANUP_RETRIES: '2', ...UNREGISTER }),
    );
    await waitFor(() => existsSync(path.join(s.recordDir, '2.run.started')), 'run.sh to start');
    running.kill('SIGTERM');
    const r = await running.done;
    expectExit(r, 143);
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(2);
  });

  it('gives each attempt at most AZP_CLEANUP_TIMEOUT seconds', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(
      s.env({ FAKE_REMOVE_HANG: '1', AZP_CLEANUP_RETRIES: '2', AZP_CLEANUP_TIMEOUT: '1', ...UNREGISTER }),
    );
    expectExit(r, 75);
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(2);
    expect(r.ms).toBeLessThan(20_000);
  });
});

describe.concurrent('start.sh: placeholder mode', () => {
  it('registers and exits 0 without running a job, keeping the registration (even with AZP_UNREGISTER_ON_EXIT=1)', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ AZP_RUN_MODE: 'placeholder', ...UNREGISTER }));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config']);
    expect(existsSync(path.join(s.agentDir, '.agent'))).toBe(true);
    expect(r.stdout).toContain('placeholder mode');
    expectNoLeak(r, calls, s.canary);
  });
});

describe.concurrent('start.sh: exit code 4 (a run-once agent updated itself)', () => {
  it('starts the agent again and exits 0 when the next run completes', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_RUN_EXIT_CODES: '4,0' }));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config', 'run', 'run']);
    for (const run of only(calls, 'run')) expect(run.args).toEqual(['--once']);
    expect(r.stdout).toContain('the agent exited with code 4');
  });

  it('gives up after AZP_UPDATE_RESTARTS restarts and exits 4', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_RUN_EXIT_CODES: '4', AZP_UPDATE_RESTARTS: '2' }));
    expectExit(r, 4);
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config', 'run', 'run', 'run']);
  });

  it('passes any other exit code of the agent through, after unregistering (opt-in)', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_RUN_EXIT_CODES: '2', ...UNREGISTER }));
    expectExit(r, 2);
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config', 'run', 'remove']);
  });
});

describe.concurrent('start.sh: service principal registration (AZP_AUTH=sp)', () => {
  const spEnv = (secret: string, extra: Record<string, string | undefined> = {}) => ({
    AZP_TOKEN: undefined,
    AZP_AUTH: 'sp',
    AZP_SP_CLIENT_ID: '00000000-0000-0000-0000-0000000000c1',
    AZP_SP_TENANT_ID: '00000000-0000-0000-0000-0000000000t1',
    AZP_SP_CLIENT_SECRET: secret,
    ...extra,
  });

  it('registers with --auth SP and hands the client secret over only through the environment', async (ctx) => {
    const s = await sandbox(ctx);
    const secret = `sp-${s.canary}`;
    const running = s.start(s.env(spEnv(secret, { FAKE_RUN_SLEEP: '60' })));
    await waitFor(() => existsSync(path.join(s.recordDir, '2.run.started')), 'run.sh to start');
    running.kill('SIGTERM');
    const r = await running.done;
    expectExit(r, 143);
    const calls = await readCalls(s.recordDir);
    const config = first(calls, 'config');
    expect(argValue(config.args, '--auth')).toBe('SP');
    expect(argValue(config.args, '--clientId')).toBe('00000000-0000-0000-0000-0000000000c1');
    expect(argValue(config.args, '--tenantId')).toBe('00000000-0000-0000-0000-0000000000t1');
    expect(config.env.get('VSTS_AGENT_INPUT_CLIENTSECRET')).toBe(secret);
    expect(kinds(calls)).toEqual(['config', 'run']);
    expectNoLeak(r, calls, secret);
    expect((await searchDisk(s, secret)).hits).toEqual([]);
  });

  it('with AZP_UNREGISTER_ON_EXIT=1, unregisters with --auth SP and the secret in the environment only', async (ctx) => {
    const s = await sandbox(ctx);
    const secret = `sp-${s.canary}`;
    const r = await s.run(s.env(spEnv(secret, UNREGISTER)));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    const remove = first(calls, 'remove');
    expect(remove.args).toEqual([
      'remove',
      '--unattended',
      '--auth',
      'SP',
      '--clientId',
      '00000000-0000-0000-0000-0000000000c1',
      '--tenantId',
      '00000000-0000-0000-0000-0000000000t1',
    ]);
    expect(remove.env.get('VSTS_AGENT_INPUT_CLIENTSECRET')).toBe(secret);
    expectNoLeak(r, calls, secret);
  });

  it('refuses an agent older than 3.227.1', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env(spEnv(`sp-${s.canary}`, { AZP_AGENT_BAKED_VERSION: '3.220.5' })));
    expectExit(r, 1);
    expect(r.stderr).toContain('AZP_AUTH=sp needs agent 3.227.1 or newer; this agent is 3.220.5');
    expect(await readCalls(s.recordDir)).toEqual([]);
  });
});

describe.concurrent('start.sh: no agent baked in (download fallback)', () => {
  let tarball: Buffer;
  let tarballSha256: string;
  const TOKEN = 'canary-pat-download-fallback';

  beforeAll(async () => {
    const s = await makeSandbox({ baked: false });
    try {
      tarball = await buildFakeAgentTarball(path.join(s.root, 'staging'), path.join(s.root, 'agent.tar.gz'));
    } finally {
      await s.cleanup();
    }
    tarballSha256 = createHash('sha256').update(tarball).digest('hex');
  });

  /** A fake Azure DevOps organization of its own for one test. */
  async function fakeAzdo(ctx: TestContext): Promise<FakeAzdo> {
    const azdo = await startFakeAzdo({ token: TOKEN, tarball });
    ctx.onTestFinished(() => azdo.close());
    return azdo;
  }

  it('a baked agent never touches the network', async (ctx) => {
    const [s, azdo] = await Promise.all([sandbox(ctx), fakeAzdo(ctx)]);
    const r = await s.run(s.env({ AZP_URL: azdo.orgUrl, AZP_TOKEN: TOKEN }));
    expectExit(r, 0);
    expect(azdo.requests).toEqual([]);
    expect(r.stdout).toContain('using the agent baked into the image');
  });

  it('looks the package up with the PAT, downloads it without, checks its sha256, extracts and runs it', async (ctx) => {
    const [s, azdo] = await Promise.all([sandbox(ctx, { baked: false }), fakeAzdo(ctx)]);
    const r = await s.run(
      s.env({ AZP_URL: `${azdo.orgUrl}/`, AZP_TOKEN: TOKEN, AZP_AGENT_PACKAGE_SHA256: tarballSha256 }),
    );
    expectExit(r, 0);
    expect(azdo.requests.map((q) => [q.method, q.path, q.auth])).toEqual([
      ['GET', '/fakeorg/_apis/distributedtask/packages/agent', 'valid'],
      ['GET', new URL(azdo.downloadUrl).pathname, 'none'],
    ]);
    expect(azdo.requests[0]?.query).toEqual({ platform: 'linux-x64', top: '1' });
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config', 'run']);
    expect(first(calls, 'config').cwd).toBe(s.agentDir);
    expect(argValue(first(calls, 'config').args, '--url')).toBe(azdo.orgUrl);
    expect(existsSync(path.join(s.azpHome, 'agent-package.tar.gz'))).toBe(false);
    expectNoLeak(r, calls, TOKEN);
  });

  it('uses AZP_AGENT_PACKAGE_URL without asking Azure DevOps', async (ctx) => {
    const [s, azdo] = await Promise.all([sandbox(ctx, { baked: false }), fakeAzdo(ctx)]);
    const r = await s.run(s.env({ AZP_URL: azdo.orgUrl, AZP_TOKEN: TOKEN, AZP_AGENT_PACKAGE_URL: azdo.downloadUrl }));
    expectExit(r, 0);
    expect(azdo.requests.map((q) => q.path)).toEqual([new URL(azdo.downloadUrl).pathname]);
    expect(r.stderr).toContain('AZP_AGENT_PACKAGE_SHA256 is not set');
  });

  it('refuses a package whose sha256 does not match', async (ctx) => {
    const [s, azdo] = await Promise.all([sandbox(ctx, { baked: false }), fakeAzdo(ctx)]);
    const r = await s.run(s.env({ AZP_URL: azdo.orgUrl, AZP_TOKEN: TOKEN, AZP_AGENT_PACKAGE_SHA256: '0'.repeat(64) }));
    expectExit(r, 1);
    expect(r.stderr).toContain('checksum mismatch');
    expect(await readCalls(s.recordDir)).toEqual([]);
    expect(existsSync(path.join(s.agentDir, 'config.sh'))).toBe(false);
  });

  it('a PAT that Azure DevOps refuses: exit 1 with the reason, no token in the output', async (ctx) => {
    const [s, azdo] = await Promise.all([sandbox(ctx, { baked: false }), fakeAzdo(ctx)]);
    const wrong = `${s.canary}-wrong`;
    const r = await s.run(s.env({ AZP_URL: azdo.orgUrl, AZP_TOKEN: wrong }));
    expectExit(r, 1);
    expect(r.stderr).toContain('could not list agent packages');
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(azdo.requests.map((q) => q.auth)).toEqual(['invalid']);
  });

  it('an unknown platform: exit 1 saying no package matched', async (ctx) => {
    const [s, azdo] = await Promise.all([sandbox(ctx, { baked: false }), fakeAzdo(ctx)]);
    const r = await s.run(s.env({ AZP_URL: azdo.orgUrl, AZP_TOKEN: TOKEN, AZP_AGENT_PLATFORM: 'linux-s390x' }));
    expectExit(r, 1);
    expect(r.stderr).toContain('could not determine a matching agent package for linux-s390x');
  });
});
