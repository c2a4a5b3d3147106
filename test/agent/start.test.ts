/**
 * The agent image's entrypoint, infra/agent/start.sh, run for real with bash against a fake
 * agent package (fake-agent/) and a fake Azure DevOps packages endpoint (fake-azdo-packages.ts).
 * What only a `docker build` can show is listed in infra/agent/README.md.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { buildFakeAgentTarball, readCalls, readSignals, type CallKind, type RecordedCall } from './fake-agent.js';
import { startFakeAzdo, type FakeAzdo } from './fake-azdo-packages.js';
import { makeSandbox, waitFor, type Sandbox, type ScriptResult } from './harness.js';

const SECRET_ENV_NAMES = ['AZP_TOKEN', 'AZP_TOKEN_FILE', 'AZP_SP_CLIENT_SECRET', 'AZP_SP_CLIENT_SECRET_FILE'];

/** A sandbox that is torn down (processes killed, files deleted) when the test ends. */
async function sandbox(ctx: TestContext, options: { baked?: boolean } = {}): Promise<Sandbox> {
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

/** The secret must not appear in the script's output, in any argument list, or in run.sh's world. */
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
    { name: 'an unknown auth', env: { AZP_AUTH: 'negotiate' }, messages: ["AZP_AUTH must be 'pat' or 'sp', not 'negotiate'"] },
    {
      name: 'an unknown run mode',
      env: { AZP_RUN_MODE: 'forever' },
      messages: ["AZP_RUN_MODE must be 'once', 'placeholder' or 'service', not 'forever'"],
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
    expect(existsSync(path.join(s.azpHome, '.secrets', 'token'))).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(s.canary);
  });
});

describe.concurrent('start.sh: baked agent, run once (the autoscaler default)', () => {
  it('registers, runs --once, unregisters once, and keeps the PAT out of everything but config.sh input', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env());
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config', 'run', 'remove']);

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

    const remove = first(calls, 'remove');
    expect(remove.args).toEqual(['remove', '--unattended', '--auth', 'pat']);
    expect(remove.env.get('VSTS_AGENT_INPUT_TOKEN')).toBe(s.canary);

    expectNoLeak(r, calls, s.canary);
    expect(existsSync(path.join(s.azpHome, '.secrets', 'token'))).toBe(false);
    expect(existsSync(path.join(s.agentDir, '.agent'))).toBe(false);
  });

  it('keeps the PAT in a 0600 file (in a 0700 directory) while the agent runs, and deletes it on exit', async (ctx) => {
    const s = await sandbox(ctx);
    // The fake job runs until the test has looked, then SIGTERM ends it.
    const running = s.start(s.env({ FAKE_RUN_SLEEP: '60' }));
    await waitFor(() => existsSync(path.join(s.recordDir, '2.run.started')), 'run.sh to start');
    const tokenFile = path.join(s.azpHome, '.secrets', 'token');
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(tokenFile))).mode & 0o777).toBe(0o700);
    expect(await readFile(tokenFile, 'utf8')).toBe(s.canary);
    running.kill('SIGTERM');
    const r = await running.done;
    expectExit(r, 143);
    expect(existsSync(tokenFile)).toBe(false);
    expectNoLeak(r, await readCalls(s.recordDir), s.canary);
  });

  it('reads the PAT from AZP_TOKEN_FILE (trailing newline dropped) and leaves that file alone', async (ctx) => {
    const s = await sandbox(ctx);
    const mounted = path.join(s.root, 'mounted-pat');
    await writeFile(mounted, `${s.canary}\r\n`, { mode: 0o644 });
    const r = await s.run(s.env({ AZP_TOKEN: undefined, AZP_TOKEN_FILE: mounted }));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(first(calls, 'config').env.get('VSTS_AGENT_INPUT_TOKEN')).toBe(s.canary);
    expect(await readFile(mounted, 'utf8')).toBe(`${s.canary}\r\n`);
    expectNoLeak(r, calls, s.canary);
  });

  it.for([
    { name: 'autoscaler default', env: {}, args: [], expected: ['--once'] },
    { name: '--once given as an argument too', env: {}, args: ['--once'], expected: ['--once'] },
    { name: 'plain container (seed behaviour)', env: { AZP_AUTOSCALER: undefined }, args: [], expected: [] },
    { name: 'AZP_RUN_MODE=once', env: { AZP_AUTOSCALER: undefined, AZP_RUN_MODE: 'once' }, args: [], expected: ['--once'] },
    { name: 'AZP_RUN_MODE=service wins', env: { AZP_RUN_MODE: 'service' }, args: [], expected: [] },
  ])('run.sh arguments: $name', async ({ env, args, expected }, ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env(env), args);
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(first(calls, 'run').args).toEqual(expected);
    expect(only(calls, 'remove')).toHaveLength(1);
  });

  it('takes over a configuration left by an earlier start of the same container', async (ctx) => {
    const s = await sandbox(ctx);
    await writeFile(path.join(s.agentDir, '.agent'), '{"agentName":"stale"}');
    await writeFile(path.join(s.agentDir, '.credentials'), '{}');
    const r = await s.run(s.env());
    expectExit(r, 0);
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config', 'run', 'remove']);
    expect(r.stdout).toContain('removing the local configuration left by an earlier start');
    expect(existsSync(path.join(s.agentDir, '.credentials'))).toBe(false);
  });

  it('a failed configuration exits 1 without running or unregistering', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_CONFIG_EXIT: '3' }));
    expectExit(r, 1);
    expect(r.stderr).toContain('agent configuration failed (config.sh exited with code 3)');
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config']);
    expect(existsSync(path.join(s.azpHome, '.secrets', 'token'))).toBe(false);
  });
});

describe.concurrent('start.sh: stopping', () => {
  it.for([
    { signal: 'SIGTERM' as const, code: 143, seen: 'TERM' },
    { signal: 'SIGINT' as const, code: 130, seen: 'TERM' },
  ])('$signal during a job: stops the agent tree, unregisters exactly once, exits $code', async ({ signal, code, seen }, ctx) => {
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
    expect(kinds(calls)).toEqual(['config', 'run', 'remove']);
    expect(r.stdout).toContain(`received ${signal}`);
    expect(existsSync(path.join(s.azpHome, '.secrets', 'token'))).toBe(false);
    expectNoLeak(r, calls, s.canary);
  });

  it('an agent that ignores SIGTERM is killed after AZP_STOP_TIMEOUT, then unregistered', async (ctx) => {
    const s = await sandbox(ctx);
    const running = s.start(s.env({ FAKE_RUN_IGNORE_TERM: '1', AZP_STOP_TIMEOUT: '1' }));
    await waitFor(() => existsSync(path.join(s.recordDir, '2.run.started')), 'run.sh to start');
    running.kill('SIGTERM');
    const r = await running.done;
    expectExit(r, 143);
    expect(r.stderr).toContain('the agent did not stop within 1s; killing it');
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config', 'run', 'remove']);
  });

  it('SIGTERM while registering: stops config.sh and unregisters what it registered', async (ctx) => {
    const s = await sandbox(ctx);
    // Hold config.sh after it wrote .agent by making the fake agent's configure slow.
    const slowConfig = path.join(s.agentDir, 'config.sh');
    const original = await readFile(slowConfig, 'utf8');
    await writeFile(slowConfig, original.replace('echo "fake config.sh: agent configured"', 'sleep 60'));
    const running = s.start(s.env());
    await waitFor(() => existsSync(path.join(s.agentDir, '.agent')), 'config.sh to register');
    running.kill('SIGTERM');
    const r = await running.done;
    expectExit(r, 143);
    expect(r.ms).toBeLessThan(20_000);
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config', 'remove']);
  });
});

describe.concurrent('start.sh: unregistering is bounded', () => {
  it('retries a failing unregistration AZP_CLEANUP_RETRIES times, then exits 75', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_REMOVE_FAIL: 'always', AZP_CLEANUP_RETRIES: '3' }));
    expectExit(r, 75);
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(3);
    expect(r.stderr).toContain("could not unregister agent 'azp-aci-test-0001' after 3 attempts");
    expect(existsSync(path.join(s.azpHome, '.secrets', 'token'))).toBe(false);
  });

  it('succeeds on a later attempt and exits 0', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_REMOVE_FAIL: '2', AZP_CLEANUP_RETRIES: '3' }));
    expectExit(r, 0);
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(3);
  });

  it('keeps the signal exit code when unregistering fails after SIGTERM', async (ctx) => {
    const s = await sandbox(ctx);
    const running = s.start(s.env({ FAKE_RUN_SLEEP: '60', FAKE_REMOVE_FAIL: 'always', AZP_CLEANUP_RETRIES: '2' }));
    await waitFor(() => existsSync(path.join(s.recordDir, '2.run.started')), 'run.sh to start');
    running.kill('SIGTERM');
    const r = await running.done;
    expectExit(r, 143);
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(2);
  });

  it('gives each attempt at most AZP_CLEANUP_TIMEOUT seconds', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_REMOVE_HANG: '1', AZP_CLEANUP_RETRIES: '2', AZP_CLEANUP_TIMEOUT: '1' }));
    expectExit(r, 75);
    expect(only(await readCalls(s.recordDir), 'remove')).toHaveLength(2);
    expect(r.ms).toBeLessThan(20_000);
  });
});

describe.concurrent('start.sh: placeholder mode', () => {
  it('registers and exits 0 without running a job, keeping the registration', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ AZP_RUN_MODE: 'placeholder' }));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config']);
    expect(existsSync(path.join(s.agentDir, '.agent'))).toBe(true);
    expect(r.stdout).toContain('placeholder mode');
    expect(existsSync(path.join(s.azpHome, '.secrets', 'token'))).toBe(false);
    expectNoLeak(r, calls, s.canary);
  });
});

describe.concurrent('start.sh: exit code 4 (a run-once agent updated itself)', () => {
  it('starts the agent again and exits 0 when the next run completes', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_RUN_EXIT_CODES: '4,0' }));
    expectExit(r, 0);
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config', 'run', 'run', 'remove']);
    for (const run of only(calls, 'run')) expect(run.args).toEqual(['--once']);
    expect(r.stdout).toContain('the agent exited with code 4');
  });

  it('gives up after AZP_UPDATE_RESTARTS restarts and exits 4', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_RUN_EXIT_CODES: '4', AZP_UPDATE_RESTARTS: '2' }));
    expectExit(r, 4);
    expect(kinds(await readCalls(s.recordDir))).toEqual(['config', 'run', 'run', 'run', 'remove']);
  });

  it('passes any other exit code of the agent through, after unregistering', async (ctx) => {
    const s = await sandbox(ctx);
    const r = await s.run(s.env({ FAKE_RUN_EXIT_CODES: '2' }));
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
    expect((await stat(path.join(s.azpHome, '.secrets', 'sp-client-secret'))).mode & 0o777).toBe(0o600);
    running.kill('SIGTERM');
    const r = await running.done;
    expectExit(r, 143);
    const calls = await readCalls(s.recordDir);
    const config = first(calls, 'config');
    expect(argValue(config.args, '--auth')).toBe('SP');
    expect(argValue(config.args, '--clientId')).toBe('00000000-0000-0000-0000-0000000000c1');
    expect(argValue(config.args, '--tenantId')).toBe('00000000-0000-0000-0000-0000000000t1');
    expect(config.env.get('VSTS_AGENT_INPUT_CLIENTSECRET')).toBe(secret);
    const remove = first(calls, 'remove');
    expect(remove.args.slice(0, 4)).toEqual(['remove', '--unattended', '--auth', 'SP']);
    expect(remove.env.get('VSTS_AGENT_INPUT_CLIENTSECRET')).toBe(secret);
    expectNoLeak(r, calls, secret);
    expect(existsSync(path.join(s.azpHome, '.secrets', 'sp-client-secret'))).toBe(false);
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
    const r = await s.run(s.env({ AZP_URL: `${azdo.orgUrl}/`, AZP_TOKEN: TOKEN, AZP_AGENT_PACKAGE_SHA256: tarballSha256 }));
    expectExit(r, 0);
    expect(azdo.requests.map((q) => [q.method, q.path, q.auth])).toEqual([
      ['GET', '/fakeorg/_apis/distributedtask/packages/agent', 'valid'],
      ['GET', new URL(azdo.downloadUrl).pathname, 'none'],
    ]);
    expect(azdo.requests[0]?.query).toEqual({ platform: 'linux-x64', top: '1' });
    const calls = await readCalls(s.recordDir);
    expect(kinds(calls)).toEqual(['config', 'run', 'remove']);
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
