/**
 * Cold import of the Functions entry: bundled (scripts/bundle.mjs) vs unbundled (each src file
 * compiled 1:1, dependencies resolved from node_modules, as `tsc` output runs). Each sample is a
 * fresh `node` process with the host's @azure/functions-core stand-in preloaded, so the number
 * is what the worker spends loading the app before the first invocation.
 *
 * With `--telemetry` each process has APPLICATIONINSIGHTS_CONNECTION_STRING set (to an ingestion
 * endpoint on 127.0.0.1 that nothing listens on), so setup starts the Azure Monitor distro as it
 * does in a deployment with Application Insights; without it the variable is unset.
 *
 *   npx tsx bench/cold-import.bench.ts [--runs 15] [--root DIR] [--no-minify] [--telemetry]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
// @ts-expect-error -- plain ESM script without type declarations
import { bundle, HOST_STUB_URL, mainFiles, ROOT } from '../scripts/bundle.mjs';

interface BundleResult {
  outdir: string;
  main: string;
  jsBytes: number;
  files: { path: string; bytes: number }[];
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const runs = Number(flag('--runs') ?? 15);
const root = resolve(flag('--root') ?? (ROOT as string));
const work = join(ROOT as string, 'node_modules', '.cache', 'azp-cold-import');
const telemetry = args.includes('--telemetry');
const childEnv: NodeJS.ProcessEnv = { ...process.env };
delete childEnv.APPLICATIONINSIGHTS_CONNECTION_STRING;
if (telemetry)
  childEnv.APPLICATIONINSIGHTS_CONNECTION_STRING =
    'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return tsFiles(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Unbundled: every src/**\/*.ts compiled 1:1 (like tsc), imports of packages left to node_modules. */
async function buildUnbundled(bundled: BundleResult): Promise<string> {
  const out = join(work, 'unbundled');
  rmSync(out, { recursive: true, force: true });
  await build({
    entryPoints: tsFiles(join(root, 'src')),
    outdir: join(out, 'src'),
    outbase: join(root, 'src'),
    bundle: false,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    logLevel: 'warning',
  });
  // Same package shape as the bundle, pointing at the compiled entry.
  const main = bundled.main === 'index.js' ? 'src/index.js' : 'src/functions/*.js';
  writeFileSync(join(out, 'package.json'), JSON.stringify({ name: 'unbundled', type: 'module', main }));
  copyFileSync(join(root, 'host.json'), join(out, 'host.json'));
  return out;
}

/** One fresh process: milliseconds spent in `await import(main)` (and the whole process). */
function sample(dir: string): { importMs: number; processMs: number } {
  const imports = (mainFiles(dir) as string[])
    .map((f) => `await import(${JSON.stringify(pathToFileURL(f).href)});`)
    .join('\n');
  const code = `const t0 = performance.now();\n${imports}\nprocess.stdout.write('@@MS@@' + (performance.now() - t0));`;
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', HOST_STUB_URL as string, '--input-type=module', '-e', code], {
    cwd: dir,
    encoding: 'utf8',
    env: childEnv,
  });
  const processMs = Number(process.hrtime.bigint() - t) / 1e6;
  const at = r.stdout.lastIndexOf('@@MS@@');
  if (r.status !== 0 || at < 0) throw new Error(`import failed in ${dir}:\n${r.stderr}`);
  return { importMs: Number(r.stdout.slice(at + 6)), processMs };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

mkdirSync(work, { recursive: true });
const bundled = (await bundle({
  root,
  outdir: join(work, 'bundled'),
  quiet: true,
  minify: !args.includes('--no-minify'),
})) as BundleResult;
const unbundled = await buildUnbundled(bundled);

const results = {
  bundled: [] as { importMs: number; processMs: number }[],
  unbundled: [] as { importMs: number; processMs: number }[],
};
sample(bundled.outdir); // warm the OS file cache for both before measuring
sample(unbundled);
for (let i = 0; i < runs; i++) {
  results.bundled.push(sample(bundled.outdir));
  results.unbundled.push(sample(unbundled));
}

const fmt = (n: number): string => `${n.toFixed(1).padStart(8)} ms`;
const kib = (n: number): string => `${(n / 1024).toFixed(0)} KiB`;
const mapBytes = bundled.files.filter((f) => f.path.endsWith('.map')).reduce((s, f) => s + f.bytes, 0);
console.log(
  `cold import of ${relative(ROOT as string, root) || '.'} entry (main: ${bundled.main}), ${runs} fresh node ${process.version} processes each, ` +
    `telemetry ${telemetry ? 'on (APPLICATIONINSIGHTS_CONNECTION_STRING set)' : 'off'}`,
);
console.log(`                 import (median)   whole process (median)`);
console.log(
  `  bundled   ${fmt(median(results.bundled.map((r) => r.importMs)))}   ${fmt(median(results.bundled.map((r) => r.processMs)))}`,
);
console.log(
  `  unbundled ${fmt(median(results.unbundled.map((r) => r.importMs)))}   ${fmt(median(results.unbundled.map((r) => r.processMs)))}`,
);
console.log(`bundle: ${kib(bundled.jsBytes)} JS (+ ${kib(mapBytes)} source map) in ${bundled.files.length} files`);
if (!existsSync(join(root, 'src', 'index.ts')))
  console.log('note: src/index.ts does not exist; measured the src/functions/*.ts modules');
