/**
 * The repository stands alone: nothing in the code, tests or docs reaches outside it, every
 * relative link in the docs resolves to a file inside it, and the documented Azurite command line
 * really starts Azurite (the one in the README used to exit at once).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../contract/paths.js';
import { freePort } from '../helpers/azurite.js';

/** The sibling folder the project once read its contracts from (built, so this file does not name it). */
const SIBLING = ['..', 'shared'].join('/');

const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', 'dist-bundle', 'coverage']);

function walk(dir: string, keep: (p: string) => boolean): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return SKIP_DIRS.has(d.name) ? [] : walk(p, keep);
    return keep(p) ? [p] : [];
  });
}

const rel = (p: string): string => relative(repoRoot, p);
const markdown = walk(repoRoot, (p) => p.endsWith('.md'));

/** Relative links of a markdown text: [text](target) and <a href="target">, minus URLs and anchors. */
function links(text: string): string[] {
  const out: string[] = [];
  const noCode = text.replace(/```[\s\S]*?```/g, '');
  for (const m of noCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(m[1]!);
  return out.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#'));
}

/** Problems with a markdown file's relative links: each must resolve to a file or folder inside the repo. */
function linkProblems(file: string, text: string): string[] {
  return links(text).flatMap((target) => {
    const path = decodeURIComponent(target.split('#')[0]!);
    const abs = resolve(dirname(file), path);
    if (relative(repoRoot, abs).startsWith('..')) return [`${rel(file)}: ${target} points outside the repository`];
    if (!existsSync(abs)) return [`${rel(file)}: ${target} does not exist`];
    return [];
  });
}

describe('the repository stands alone', () => {
  it('finds the docs it checks', () => {
    expect(markdown.map(rel)).toEqual(expect.arrayContaining(['README.md', 'infra/README.md', 'docs/webhook.md', 'contracts/SOURCES.md']));
  });

  it('every relative link in every markdown file resolves inside the repository', () => {
    expect(markdown.flatMap((f) => linkProblems(f, readFileSync(f, 'utf8')))).toEqual([]);
  });

  it.each([
    ['a link to the sibling shared folder', `[design](${SIBLING}/DESIGN.md)`, /points outside/],
    ['a link to a missing file', '[x](docs/nope.md)', /does not exist/],
  ])('the link check reports %s', (_what, text, problem) => {
    expect(linkProblems(join(repoRoot, 'README.md'), text).join('\n')).toMatch(problem);
  });

  it('nothing in src, test, bench, scripts, infra, docs or the README refers to the sibling shared folder or /work/', () => {
    const roots = ['src', 'test', 'bench', 'scripts', 'infra', 'docs', '.ci'].map((d) => join(repoRoot, d));
    const files = [...roots.flatMap((r) => walk(r, (p) => statSync(p).isFile())), join(repoRoot, 'README.md'), join(repoRoot, 'azure.yaml')];
    const self = join(repoRoot, 'test/infra/standalone.test.ts');
    const hits = files
      .filter((f) => f !== self)
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        return [/\.\.\/shared\b/, /\/work\/(shared|main|wt)\b/].filter((re) => re.test(text)).map((re) => `${rel(f)}: ${re}`);
      });
    expect(hits).toEqual([]);
  });

  it('the contracts the tests read are inside the repository, with their sources noted', () => {
    const dir = join(repoRoot, 'contracts');
    const sources = readFileSync(join(dir, 'SOURCES.md'), 'utf8') + readFileSync(join(dir, 'README.md'), 'utf8');
    const used = new Set<string>();
    for (const f of walk(join(repoRoot, 'test'), (p) => p.endsWith('.ts')).concat(walk(join(repoRoot, 'bench'), (p) => p.endsWith('.ts')))) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/['`/]((?:aci|azdo|servicehooks|keyvault|agent)\/[\w./-]+\.json)['`]/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(5);
    for (const u of used) {
      expect(existsSync(join(dir, u)), `contracts/${u}`).toBe(true);
      expect(sources, `contracts/${u} has no source line`).toContain(u.split('/').pop()!);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The documented Azurite command line

/** Every `npx azurite …` command in the README and docs (line continuations joined). */
function azuriteCommands(): { file: string; args: string[] }[] {
  return [join(repoRoot, 'README.md'), ...walk(join(repoRoot, 'docs'), (p) => p.endsWith('.md'))].flatMap((f) => {
    const text = readFileSync(f, 'utf8').replace(/\\\n\s*/g, ' ');
    return [...text.matchAll(/npx azurite([^\n&#]*)/g)].map((m) => ({ file: rel(f), args: m[1]!.trim().split(/\s+/).filter(Boolean) }));
  });
}

/** Runs Azurite with the given arguments plus free ports; resolves with whether all three services listened. */
async function runAzurite(args: string[]): Promise<{ listening: boolean; output: string }> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const cwd = mkdtempSync(join(tmpdir(), 'azurite-doc-'));
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'node_modules/azurite/dist/src/azurite.js'), ...args, '--blobPort', String(ports[0]), '--queuePort', String(ports[1]), '--tablePort', String(ports[2]), '--disableTelemetry'],
    { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + 20_000;
  while (!done && Date.now() < deadline && (output.match(/successfully listening/gi)?.length ?? 0) < 3) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const listening = !done && (output.match(/successfully listening/gi)?.length ?? 0) >= 3;
  if (!done) {
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
  rmSync(cwd, { recursive: true, force: true });
  return { listening, output };
}

describe('the documented Azurite command line', () => {
  const commands = azuriteCommands();

  it('is documented in the README and the webhook guide', () => {
    expect(commands.map((c) => c.file)).toEqual(expect.arrayContaining(['README.md', 'docs/webhook.md']));
  });

  it.each(commands.map((c) => [c.file, c.args] as const))('%s: starts all three services (%j)', async (_file, args) => {
    // --silent hides the "listening" lines this check waits for; the rest is exactly what the docs say.
    const { listening, output } = await runAzurite(args.filter((a) => a !== '--silent'));
    expect(listening, output).toBe(true);
  }, 30_000);

  it('the old command line with --location next to --inMemoryPersistence exits (the check can fail)', async () => {
    const { listening, output } = await runAzurite(['--inMemoryPersistence', '--skipApiVersionCheck', '--location', join(tmpdir(), 'azurite-loc')]);
    expect(listening).toBe(false);
    expect(output).toMatch(/inMemoryPersistence/);
  }, 30_000);
});
