/**
 * A fake Azure Pipelines agent package for the tests of infra/agent/start.sh.
 *
 * Its config.sh and run.sh (in fake-agent/) behave like the real ones as far as start.sh can tell
 * (config.sh writes `.agent` on configure and deletes it on `remove`; run.sh runs a child
 * process that stands for Agent.Listener) and record every call: the arguments, the
 * environment, the working directory and, for run.sh, the environment of its parent (start.sh)
 * as /proc shows it. Behaviour is steered by FAKE_* environment variables, which start.sh passes
 * through like any other variable:
 *
 * - FAKE_AGENT_RECORD_DIR (required): where the records go.
 * - FAKE_CONFIG_EXIT: exit code of `config.sh` (configure), default 0.
 * - FAKE_REMOVE_FAIL: `always`, or the number of `config.sh remove` calls that fail first.
 * - FAKE_REMOVE_HANG: `1` makes `config.sh remove` hang (to test the per-attempt time limit).
 * - FAKE_RUN_SLEEP: seconds run.sh "runs a job" (a foreground child process), default 0.
 * - FAKE_RUN_EXIT_CODES: comma-separated exit codes of successive run.sh calls, the last repeats.
 * - FAKE_RUN_IGNORE_TERM: `1` makes run.sh and its child ignore SIGTERM/SIGINT.
 * - FAKE_JOB: a command (words split on spaces) run.sh runs as "the job" before it writes
 *   `<n>.run.started`; its output goes to `<n>.job.out` / `<n>.job.err`.
 */
import { execFileSync } from 'node:child_process';
import { chmod, copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The fake scripts live beside this file, in fake-agent/. */
const SCRIPTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-agent');
export const FAKE_AGENT_SCRIPTS = ['config.sh', 'run.sh', 'env.sh'].map((n) => path.join(SCRIPTS_DIR, n));

/** Writes the fake agent's files into `dir` (an extracted agent package). */
export async function writeFakeAgent(dir: string): Promise<void> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  for (const script of FAKE_AGENT_SCRIPTS) {
    const file = path.join(dir, path.basename(script));
    await copyFile(script, file);
    await chmod(file, 0o755);
  }
  await writeFile(path.join(dir, 'bin', 'Agent.Listener'), '#!/bin/sh\necho "fake listener"\n');
}

/** Builds a .tar.gz laid out like vsts-agent-linux-x64-*.tar.gz (files at the root). */
export async function buildFakeAgentTarball(stagingDir: string, outFile: string): Promise<Buffer> {
  await writeFakeAgent(stagingDir);
  execFileSync('tar', ['-czf', outFile, '-C', stagingDir, '.']);
  return readFile(outFile);
}

export type CallKind = 'config' | 'remove' | 'run';

export interface RecordedCall {
  seq: number;
  kind: CallKind;
  args: string[];
  env: Map<string, string>;
  cwd: string;
  /** run.sh only: the environment of its parent process (start.sh), from /proc. */
  parentEnv: string | undefined;
}

function splitNul(text: string): string[] {
  const parts = text.split('\0');
  if (parts.at(-1) === '') parts.pop();
  return parts;
}

function parseEnv(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of splitNul(text)) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Every call of the fake config.sh / run.sh, in order. */
export async function readCalls(recordDir: string): Promise<RecordedCall[]> {
  const calls: RecordedCall[] = [];
  for (const name of await readdir(recordDir)) {
    const m = /^(\d+)\.(config|remove|run)\.args$/.exec(name);
    if (!m?.[1] || !m[2]) continue;
    const seq = Number(m[1]);
    const kind = m[2] as CallKind;
    const base = path.join(recordDir, `${seq}.${kind}`);
    calls.push({
      seq,
      kind,
      args: splitNul(await readFile(`${base}.args`, 'utf8')),
      env: parseEnv((await readOptional(`${base}.env`)) ?? ''),
      cwd: ((await readOptional(`${base}.cwd`)) ?? '').trim(),
      parentEnv: await readOptional(`${base}.parent-env`),
    });
  }
  return calls.sort((a, b) => a.seq - b.seq);
}

/** Lines the fake run.sh wrote when a signal reached it, e.g. `2 TERM`. */
export async function readSignals(recordDir: string): Promise<string[]> {
  const text = (await readOptional(path.join(recordDir, 'signals'))) ?? '';
  return text.split('\n').filter((l) => l !== '');
}

/** PIDs of every fake config.sh / run.sh process (start.sh makes most of them group leaders). */
export async function readAgentPids(recordDir: string): Promise<number[]> {
  const text = (await readOptional(path.join(recordDir, 'pids'))) ?? '';
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}
