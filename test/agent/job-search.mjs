/* global process, Buffer, console */
/**
 * The fake agent's "job" for start.test.ts: what a pipeline step running as the agent's user could
 * do to find the token. Run with node by the fake run.sh (FAKE_JOB), and by the test itself after
 * start.sh is gone (what is left on disk).
 *
 * It is given the token base64-encoded (JOB_SEARCH_NEEDLE_B64), so that its own environment and
 * command line do not contain it, and searches for the decoded bytes in:
 *   - every readable regular file under JOB_SEARCH_DIRS (colon-separated; symlinks not followed),
 *     except under JOB_SEARCH_SKIP (colon-separated: the test's own records of the fake agent);
 *   - every readable regular file under JOB_SEARCH_RECENT_DIRS (shared ones such as /tmp, where
 *     other projects keep tens of thousands of files) changed at or after JOB_SEARCH_SINCE
 *     (milliseconds since the epoch: when the test's sandbox was made, before start.sh ran, so
 *     every file start.sh or the agent wrote is included);
 *   - its own environment;
 *   - /proc/<pid>/environ and /proc/<pid>/cmdline of every process (unless JOB_SEARCH_NO_PROC=1);
 *   - the memory (/proc/<pid>/mem) of each of its ancestors up to the first `node` process (the
 *     test runner): start.sh, setsid, run.sh (unless JOB_SEARCH_NO_PROC=1).
 * Prints one JSON object: counts of what it could and could not read, and the hits (places only,
 * never the token).
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, lstatSync } from 'node:fs';
import path from 'node:path';

const needle = Buffer.from(process.env.JOB_SEARCH_NEEDLE_B64 ?? '', 'base64');
if (needle.length < 8) {
  console.error('job-search: JOB_SEARCH_NEEDLE_B64 must hold at least 8 bytes');
  process.exit(2);
}
const split = (v) => (v ?? '').split(':').filter((p) => p !== '');
const dirs = split(process.env.JOB_SEARCH_DIRS);
const recentDirs = split(process.env.JOB_SEARCH_RECENT_DIRS);
const since = Number(process.env.JOB_SEARCH_SINCE ?? 0);
const skip = new Set(split(process.env.JOB_SEARCH_SKIP).map((p) => path.resolve(p)));
const MAX_FILE_BYTES = 16 * 1024 * 1024;

const report = {
  files: 0,
  filesUnreadable: 0,
  environs: 0,
  environsUnreadable: 0,
  cmdlines: 0,
  memories: [],
  memoriesUnreadable: [],
  hits: [],
};

function tryRead(file) {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

function walk(dir, minTime) {
  if (skip.has(path.resolve(dir))) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) walk(full, minTime);
    else if (e.isFile()) {
      let st;
      try {
        st = lstatSync(full);
      } catch {
        continue;
      }
      if (st.size > MAX_FILE_BYTES || Math.max(st.mtimeMs, st.ctimeMs) < minTime) continue;
      const data = tryRead(full);
      if (data === undefined) report.filesUnreadable++;
      else {
        report.files++;
        if (data.includes(needle)) report.hits.push(`file ${full}`);
      }
    }
  }
}

for (const dir of dirs) walk(dir, 0);
// The directories searched in full are not searched again.
for (const dir of dirs) skip.add(path.resolve(dir));
for (const dir of recentDirs) walk(dir, since);

for (const [k, v] of Object.entries(process.env)) {
  if (v !== undefined && Buffer.from(v).includes(needle)) report.hits.push(`own environment ${k}`);
}

function comm(pid) {
  return (tryRead(`/proc/${pid}/comm`) ?? Buffer.from('?')).toString().trim();
}

function ppid(pid) {
  const stat = tryRead(`/proc/${pid}/stat`)?.toString() ?? '';
  const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(after[1] ?? 0);
}

/** Searches the readable mappings of a process's memory; false when /proc/<pid>/mem cannot be opened. */
function searchMemory(pid) {
  const maps = tryRead(`/proc/${pid}/maps`)?.toString();
  let fd;
  try {
    fd = openSync(`/proc/${pid}/mem`, 'r');
  } catch {
    return false;
  }
  try {
    for (const line of (maps ?? '').split('\n')) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) (r)/.exec(line);
      if (!m || line.includes('[vvar') || line.includes('[vsyscall]')) continue;
      const start = Number.parseInt(m[1], 16);
      const length = Number.parseInt(m[2], 16) - start;
      if (length > 256 * 1024 * 1024) continue;
      const buf = Buffer.alloc(length);
      let got = 0;
      try {
        got = readSync(fd, buf, 0, length, start);
      } catch {
        continue;
      }
      if (buf.subarray(0, got).includes(needle)) {
        report.hits.push(`memory of pid ${pid} (${comm(pid)}) ${line.split(/\s+/).slice(5).join(' ') || '[anon]'}`);
      }
    }
  } finally {
    closeSync(fd);
  }
  return true;
}

if (process.env.JOB_SEARCH_NO_PROC !== '1') {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const environ = tryRead(`/proc/${name}/environ`);
    if (environ === undefined) report.environsUnreadable++;
    else {
      report.environs++;
      if (environ.includes(needle)) report.hits.push(`environ of pid ${name} (${comm(name)})`);
    }
    const cmdline = tryRead(`/proc/${name}/cmdline`);
    if (cmdline !== undefined) {
      report.cmdlines++;
      if (cmdline.includes(needle)) report.hits.push(`cmdline of pid ${name} (${comm(name)})`);
    }
  }
  for (let pid = ppid(process.pid); pid > 1 && comm(pid) !== 'node'; pid = ppid(pid)) {
    const entry = `${pid} ${comm(pid)}`;
    if (searchMemory(pid)) report.memories.push(entry);
    else report.memoriesUnreadable.push(entry);
  }
}

process.stdout.write(`${JSON.stringify(report)}\n`);
