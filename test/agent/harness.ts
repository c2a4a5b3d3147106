/**
 * Runs the real infra/agent/start.sh with bash in a throw-away directory, against the fake
 * agent of fake-agent.ts. Everything it starts is tracked and stopped by `Sandbox.cleanup()`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAgentPids, writeFakeAgent } from './fake-agent.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const START_SH = path.join(REPO_ROOT, 'infra', 'agent', 'start.sh');

export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunningScript {
  pid: number;
  kill(signal: NodeJS.Signals): void;
  /** stdout and stderr so far. */
  output(): string;
  /** start.sh itself has exited (processes it started may still run). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /**
   * start.sh has exited and every process holding its stdout/stderr has closed them. Rejects,
   * naming the cause, when that does not follow within 10 s of start.sh's exit: a process that
   * start.sh started outlived it.
   */
  done: Promise<ScriptResult>;
}

export interface StartOptions {
  /** Run this copy of start.sh instead (e.g. one with a pause injected to force a race). */
  script?: string;
}

export interface Sandbox {
  root: string;
  /** AZP_HOME: holds .secrets/ and, by default, the agent. */
  azpHome: string;
  /** AZP_AGENT_DIR: pre-populated with the fake agent when the sandbox is "baked". */
  agentDir: string;
  recordDir: string;
  /** A fake PAT that must never show up anywhere it should not. */
  canary: string;
  /** When the sandbox was made (ms since the epoch), before anything ran in it. */
  createdMs: number;
  /**
   * The start.sh and job-search.mjs this sandbox runs: the repository's own, or, for another user,
   * copies inside the sandbox (a clone may sit in a directory that user cannot enter, e.g. mktemp -d).
   */
  startScript: string;
  jobSearch: string;
  /** The environment the autoscaler would give the container, plus the fake agent's knobs. */
  env(extra?: Record<string, string | undefined>): Record<string, string>;
  start(env: Record<string, string>, args?: string[], options?: StartOptions): RunningScript;
  run(env: Record<string, string>, args?: string[]): Promise<ScriptResult>;
  cleanup(): Promise<void>;
}

export interface SandboxOptions {
  /** Pre-populate AZP_AGENT_DIR with the fake agent (default true). */
  baked?: boolean;
  /**
   * Run start.sh (and so the agent and its job) as this uid/gid, owning the sandbox; needs root.
   * Default: the test's own user.
   */
  user?: { uid: number; gid: number };
}

export async function makeSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  // Whole seconds, a little early: some file systems keep coarse timestamps.
  const createdMs = Math.floor(Date.now() / 1000) * 1000 - 1000;
  const root = await mkdtemp(path.join(os.tmpdir(), 'azp-agent-test-'));
  const azpHome = path.join(root, 'azp');
  const agentDir = path.join(azpHome, 'agent');
  const recordDir = path.join(root, 'records');
  await mkdir(azpHome, { recursive: true });
  await mkdir(recordDir, { recursive: true });
  if (options.baked ?? true) await writeFakeAgent(agentDir);
  const user = options.user;
  if (user) {
    await chmod(root, 0o755);
    for (const dir of [
      root,
      azpHome,
      recordDir,
      ...((options.baked ?? true) ? [agentDir, path.join(agentDir, 'bin')] : []),
    ]) {
      await chown(dir, user.uid, user.gid);
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isFile()) await chown(path.join(dir, entry.name), user.uid, user.gid);
      }
    }
  }
  let startScript = START_SH;
  let jobSearch = JOB_SEARCH;
  if (user) {
    const bin = path.join(root, 'bin');
    await mkdir(bin);
    startScript = path.join(bin, 'start.sh');
    jobSearch = path.join(bin, 'job-search.mjs');
    await copyFile(START_SH, startScript);
    await copyFile(JOB_SEARCH, jobSearch);
    for (const f of [bin, startScript, jobSearch]) await chown(f, user.uid, user.gid);
  }
  const canary = `canary-pat-${randomUUID()}`;
  const children = new Set<ChildProcess>();

  const env = (extra: Record<string, string | undefined> = {}): Record<string, string> => {
    const merged: Record<string, string | undefined> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: root,
      LANG: 'C.UTF-8',
      HOSTNAME: 'test-host',
      AZP_HOME: azpHome,
      AZP_AGENT_DIR: agentDir,
      // Nothing listens there: a baked agent must not need the network.
      AZP_URL: 'http://127.0.0.1:9/unreachable-org',
      AZP_POOL: 'aci-linux',
      AZP_AGENT_NAME: 'azp-aci-test-0001',
      AZP_TOKEN: canary,
      AZP_AUTOSCALER: '1',
      AZP_CLEANUP_RETRY_DELAY: '0',
      AZP_UPDATE_DELAY: '0',
      AZP_STOP_TIMEOUT: '5',
      FAKE_AGENT_RECORD_DIR: recordDir,
      ...extra,
    };
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(merged)) if (v !== undefined) out[k] = v;
    return out;
  };

  const start = (scriptEnv: Record<string, string>, args: string[] = [], options: StartOptions = {}): RunningScript => {
    const began = Date.now();
    const script = options.script ?? startScript;
    const child = spawn('bash', [script, ...args], {
      cwd: root,
      env: scriptEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    const done = new Promise<ScriptResult>((resolve, reject) => {
      child.once('error', reject);
      let lingering: NodeJS.Timeout | undefined;
      child.once('exit', (code, signal) => {
        lingering = setTimeout(() => {
          reject(
            new Error(
              `start.sh exited (code ${String(code)}, signal ${String(signal)}) but a process it started still ` +
                `holds its stdout/stderr 10 s later\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
            ),
          );
        }, 10_000);
      });
      child.once('close', (code, signal) => {
        clearTimeout(lingering);
        children.delete(child);
        resolve({ code, signal, stdout, stderr, ms: Date.now() - began });
      });
    });
    // A test that only awaits `exited` must not see an unhandled rejection from `done`.
    done.catch(() => undefined);
    if (child.pid === undefined) throw new Error('could not start bash');
    return { pid: child.pid, kill: (signal) => child.kill(signal), output: () => stdout + stderr, exited, done };
  };

  const cleanup = async (): Promise<void> => {
    for (const child of children) child.kill('SIGKILL');
    // Processes of the fake agent that start.sh started (in their own process groups).
    for (const pid of await readAgentPids(recordDir)) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // already gone, or not a group leader
        }
      }
    }
    await rm(root, { recursive: true, force: true });
  };

  return {
    root,
    azpHome,
    agentDir,
    recordDir,
    canary,
    createdMs,
    startScript,
    jobSearch,
    env,
    start,
    run: (e, a) => start(e, a).done,
    cleanup,
  };
}

/** Polls `check` every 20 ms until it holds, or fails after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const JOB_SEARCH = path.join(REPO_ROOT, 'test', 'agent', 'job-search.mjs');

/** What test/agent/job-search.mjs found (places only, never the secret). */
export interface SearchReport {
  files: number;
  filesUnreadable: number;
  environs: number;
  environsUnreadable: number;
  cmdlines: number;
  /** Ancestors of the job (`pid comm`) whose memory it could / could not read. */
  memories: string[];
  memoriesUnreadable: string[];
  hits: string[];
}

/** Where a job would look for files holding the token: the container's own directories in full... */
function searchDirs(s: Sandbox): string {
  const dirs = [s.root, s.azpHome, s.agentDir, path.join(s.agentDir, '_work')].map((d) => path.resolve(d));
  // Each file once: drop a directory that lies inside another one of the list.
  const inside = (d: string, parent: string) => d !== parent && d.startsWith(`${parent}${path.sep}`);
  return [...new Set(dirs)].filter((d) => !dirs.some((p) => inside(d, p))).join(':');
}

/** ...and the machine's shared temporary directories, for files changed since the sandbox was made. */
const RECENT_DIRS = [os.tmpdir(), '/dev/shm', '/var/tmp'].join(':');

/**
 * Environment that makes the fake run.sh run job-search.mjs as its job, looking for `needle`
 * everywhere a job running as start.sh's user can look. The fake agent's own records (which
 * hold what config.sh was given, by design) are test instrumentation and not searched.
 */
export function jobSearchEnv(s: Sandbox, needle: string): Record<string, string> {
  return {
    FAKE_JOB: `${process.execPath} ${s.jobSearch}`,
    JOB_SEARCH_NEEDLE_B64: Buffer.from(needle).toString('base64'),
    JOB_SEARCH_DIRS: searchDirs(s),
    JOB_SEARCH_RECENT_DIRS: RECENT_DIRS,
    JOB_SEARCH_SINCE: String(s.createdMs),
    JOB_SEARCH_SKIP: s.recordDir,
  };
}

/** The report of the job that run.sh call `seq` ran. */
export async function readJobSearch(recordDir: string, seq: number): Promise<SearchReport> {
  const out = await readFile(path.join(recordDir, `${seq}.job.out`), 'utf8');
  return JSON.parse(out) as SearchReport;
}

/**
 * Searches the same directories (files only) from outside, e.g. after start.sh is gone; or only
 * `options.dirs`, skipping nothing (to show that the search finds what is there).
 */
export function searchDisk(s: Sandbox, needle: string, options: { dirs?: string[] } = {}): Promise<SearchReport> {
  const env: Record<string, string> = {
    ...jobSearchEnv(s, needle),
    JOB_SEARCH_NO_PROC: '1',
    PATH: process.env.PATH ?? '/usr/bin:/bin',
  };
  if (options.dirs) {
    env.JOB_SEARCH_DIRS = options.dirs.join(':');
    env.JOB_SEARCH_RECENT_DIRS = '';
    env.JOB_SEARCH_SKIP = '';
  }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [JOB_SEARCH], { encoding: 'utf8', env }, (error, stdout) => {
      if (error) reject(error);
      else resolve(JSON.parse(stdout) as SearchReport);
    });
  });
}
