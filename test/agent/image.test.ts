/**
 * The parts of the agent image that can be checked without Docker: shellcheck on every script,
 * the build-time download-and-verify step (fetch-agent.sh) against the fake package server, the
 * Dockerfile's structure, and LF line endings. See infra/agent/README.md for what only a real
 * `docker build` shows.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, type TestContext } from 'vitest';
import { buildFakeAgentTarball, FAKE_AGENT_SCRIPTS } from './fake-agent.js';
import { startFakeAzdo } from './fake-azdo-packages.js';
import { REPO_ROOT } from './harness.js';

const AGENT_DIR = path.join(REPO_ROOT, 'infra', 'agent');
const DOCKERFILE = path.join(AGENT_DIR, 'Dockerfile');
const FETCH_AGENT = path.join(AGENT_DIR, 'fetch-agent.sh');

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(file, args, { env, encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function tempDir(ctx: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'azp-agent-image-test-'));
  ctx.onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const SHELL_SCRIPTS = [
  path.join(AGENT_DIR, 'start.sh'),
  FETCH_AGENT,
  path.join(REPO_ROOT, 'scripts', 'ci-agent-deps.sh'),
  ...FAKE_AGENT_SCRIPTS,
];

const shellcheck = hasCommand('shellcheck');
if (!shellcheck) {
  console.warn('shellcheck is not installed: skipping the shellcheck test (scripts/ci-agent-deps.sh installs it)');
}

describe('agent image scripts', () => {
  it.skipIf(!shellcheck)('are shellcheck clean (skipped when shellcheck is not installed)', async () => {
    const r = await run('shellcheck', ['--external-sources', ...SHELL_SCRIPTS]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('have LF line endings, enforced by .gitattributes', async () => {
    for (const file of [...SHELL_SCRIPTS, DOCKERFILE]) {
      expect(await readFile(file, 'utf8'), file).not.toContain('\r');
    }
    const rel = ['infra/agent/start.sh', 'infra/agent/fetch-agent.sh', 'infra/agent/Dockerfile'];
    const attrs = execFileSync('git', ['check-attr', 'eol', '--', ...rel], { cwd: REPO_ROOT, encoding: 'utf8' });
    for (const file of rel) expect(attrs).toContain(`${file}: eol: lf`);
  });
});

describe.concurrent('fetch-agent.sh (the build-time download)', () => {
  async function setup(ctx: TestContext) {
    const dir = await tempDir(ctx);
    const tarball = await buildFakeAgentTarball(path.join(dir, 'staging'), path.join(dir, 'agent.tar.gz'));
    const azdo = await startFakeAzdo({ token: 'unused', tarball, version: { major: 4, minor: 270, patch: 0 } });
    ctx.onTestFinished(() => azdo.close());
    const base = `${new URL(azdo.downloadUrl).origin}/downloads/agent`;
    const sha256 = createHash('sha256').update(tarball).digest('hex');
    return { dir, azdo, base, sha256, out: path.join(dir, 'out', 'agent') };
  }

  it('downloads the versioned package, verifies its SHA-256 and extracts it', async (ctx) => {
    const { azdo, base, sha256, out } = await setup(ctx);
    const r = await run('bash', [FETCH_AGENT, '4.270.0', sha256.toUpperCase(), 'linux-x64', `${base}/`, out]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['bin', 'config.sh', 'env.sh', 'run.sh']);
    expect(azdo.requests.map((q) => q.path)).toEqual(['/downloads/agent/4.270.0/vsts-agent-linux-x64-4.270.0.tar.gz']);
  });

  it('fails the build on a checksum mismatch and extracts nothing', async (ctx) => {
    const { base, out } = await setup(ctx);
    const r = await run('bash', [FETCH_AGENT, '4.270.0', 'a'.repeat(64), 'linux-x64', base, out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('checksum mismatch');
    expect(existsSync(out)).toBe(false);
  });

  it('fails the build without a checksum, before downloading', async (ctx) => {
    const { azdo, base, out } = await setup(ctx);
    const r = await run('bash', [FETCH_AGENT, '4.270.0', '', 'linux-x64', base, out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the build arg AGENT_SHA256 must be the SHA-256');
    expect(azdo.requests).toEqual([]);
  });

  it('fails the build when the version does not exist', async (ctx) => {
    const { base, sha256, out } = await setup(ctx);
    const r = await run('bash', [FETCH_AGENT, '9.999.0', sha256, 'linux-x64', base, out]);
    expect(r.code).not.toBe(0);
    expect(existsSync(out)).toBe(false);
  });
});

/** Dockerfile instructions with continuation lines joined and comments dropped. */
async function instructions(): Promise<{ op: string; args: string }[]> {
  const text = (await readFile(DOCKERFILE, 'utf8')).replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const m = /^(\S+)\s+(.*)$/.exec(l);
      return { op: (m?.[1] ?? l).toUpperCase(), args: (m?.[2] ?? '').replace(/\s+/g, ' ') };
    });
}

describe('Dockerfile (structure only; building it needs Docker, see README)', () => {
  it('builds the baked image by default, from a runtime stage that runs start.sh as a non-root user', async () => {
    const ins = await instructions();
    const stages = ins.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(stages.map((s) => s.replace(/@sha256:[0-9a-f]{64}/, '@<digest>'))).toEqual([
      'ubuntu:24.04@<digest> AS runtime',
      'runtime AS slim',
      'runtime AS agent-package',
      'runtime AS baked',
    ]);

    const runtimeEnd = ins.findIndex((i) => i.op === 'FROM' && i.args === 'runtime AS slim');
    const runtime = ins.slice(0, runtimeEnd);
    const user = runtime.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(user).toEqual(['${AGENT_UID}:${AGENT_UID}']);
    expect(runtime.find((i) => i.op === 'ARG' && i.args.startsWith('AGENT_UID='))?.args).toBe('AGENT_UID=10001');
    const entrypoint = runtime.find((i) => i.op === 'ENTRYPOINT');
    // start.sh must be PID 1 itself (no init wrapper keeping AZP_TOKEN in /proc/1/environ).
    expect(JSON.parse(entrypoint?.args ?? 'null')).toEqual(['/azp/start.sh']);
    const env = runtime
      .filter((i) => i.op === 'ENV')
      .map((i) => i.args)
      .join(' ');
    expect(env).toContain('AZP_AGENT_DIR=/azp/agent');
  });

  it('verifies the agent package at build time and records the baked version for start.sh', async () => {
    const ins = await instructions();
    const fetch = ins.find((i) => i.op === 'RUN' && i.args.includes('fetch-agent.sh'));
    expect(fetch?.args).toContain('"${AGENT_VERSION}" "$sha" "${AGENT_PLATFORM}" "${AGENT_DOWNLOAD_BASE}" /out/agent');
    // The checksum: AGENT_SHA256 if given, else the pinned one for the platform.
    expect(fetch?.args).toMatch(
      /sha="\$\{AGENT_SHA256\}";.*linux-x64\) sha="\$\{AGENT_SHA256_LINUX_X64\}".*linux-arm64\) sha="\$\{AGENT_SHA256_LINUX_ARM64\}"/,
    );
    const args = ins.filter((i) => i.op === 'ARG').map((i) => i.args.split('=')[0]);
    for (const name of [
      'AGENT_VERSION',
      'AGENT_SHA256',
      'AGENT_SHA256_LINUX_X64',
      'AGENT_SHA256_LINUX_ARM64',
      'AGENT_PLATFORM',
      'AGENT_DOWNLOAD_BASE',
    ])
      expect(args).toContain(name);
    expect(ins.at(-1)).toEqual({ op: 'ENV', args: 'AZP_AGENT_BAKED_VERSION=${AGENT_VERSION}' });
    expect(ins).toContainEqual({ op: 'COPY', args: '--from=agent-package --chown=agent:agent /out/agent /azp/agent' });
  });

  it('copies only files that exist and that .dockerignore lets through', async () => {
    const ins = await instructions();
    const ignore = (await readFile(path.join(AGENT_DIR, '.dockerignore'), 'utf8')).split('\n');
    const sources = ins
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .map((i) => i.args.split(' ').filter((a) => !a.startsWith('--'))[0] ?? '');
    expect(sources.sort()).toEqual(['fetch-agent.sh', 'start.sh']);
    for (const src of sources) {
      expect(existsSync(path.join(AGENT_DIR, src))).toBe(true);
      expect(ignore).toContain(`!${src}`);
    }
  });
});
