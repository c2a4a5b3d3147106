#!/usr/bin/env node
// Bundles the Functions app into one small deploy package (dist-bundle/ by default):
//   index.js (+ chunks: code shared by several entries, or loaded by import()), index.js.map, host.json, package.json
// package.json has no dependencies: the Functions host loads `main` and provides
// @azure/functions-core itself, so cold start resolves one file instead of hundreds of modules.
// azure.yaml runs this as the api service's prepackage hook and deploys `dist: dist-bundle`.
//
// Usage: node scripts/bundle.mjs [--outdir DIR] [--no-minify] [--quiet] [--check]
//   --check  then load the bundle like the host does and list the functions it registers
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import console from 'node:console';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ESM output: bundled CommonJS code (most @azure/* deps) still calls require() for Node built-ins
// and for @azure/functions-core, which only the host can provide (the worker patches
// Module.prototype.require). No __dirname shim: bundled ESM packages (`open`) declare their own.
const BANNER = [
  "import { createRequire as __azpCreateRequire } from 'node:module';",
  'const require = __azpCreateRequire(import.meta.url);',
].join('\n');

/** The entry: src/index.ts (app setup importing every function module), else each src/functions/*.ts. */
export function findEntries(root = ROOT) {
  const index = join(root, 'src', 'index.ts');
  if (existsSync(index)) return { entryPoints: [index], main: 'index.js', single: true };
  const dir = join(root, 'src', 'functions');
  const modules = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.endsWith('.test.ts'))
        .map((f) => join(dir, f))
    : [];
  if (modules.length === 0) throw new Error('nothing to bundle: neither src/index.ts nor src/functions/*.ts exists');
  return { entryPoints: modules, main: 'functions/*.js', single: false };
}

/**
 * Build the deploy package. Returns { outdir, main, files: [{ path, bytes }], jsBytes }.
 * @param {{ outdir?: string, minify?: boolean, root?: string, quiet?: boolean }} [options]
 */
export async function bundle(options = {}) {
  const root = options.root ?? ROOT;
  const outdir = resolve(options.outdir ?? join(root, 'dist-bundle'));
  const { entryPoints, main, single } = findEntries(root);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });

  await build({
    entryPoints,
    outdir: single ? outdir : join(outdir, 'functions'),
    entryNames: '[name]',
    chunkNames: single ? 'chunks/[name]-[hash]' : '../chunks/[name]-[hash]',
    bundle: true,
    // Also with one entry: what is loaded by import() (the Azure Monitor distro, only with a
    // connection string: src/app/monitor.ts) goes to a chunk that a cold start without it never reads.
    splitting: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    outExtension: { '.js': '.js' },
    external: ['@azure/functions-core'],
    banner: { js: BANNER },
    sourcemap: 'linked',
    sourcesContent: false,
    // Whitespace + syntax only: names stay readable in stack traces (the .map has the lines).
    minifySyntax: options.minify ?? true,
    minifyWhitespace: options.minify ?? true,
    legalComments: 'none',
    logLevel: options.quiet ? 'silent' : 'warning',
    absWorkingDir: root,
  });

  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const pkg = {
    name: rootPkg.name,
    version: rootPkg.version,
    private: true,
    type: 'module',
    main,
    engines: { node: '>=22' },
  };
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  copyFileSync(join(root, 'host.json'), join(outdir, 'host.json'));

  const files = listFiles(outdir).map((p) => ({ path: relative(outdir, p), bytes: statSync(p).size }));
  const jsBytes = files.filter((f) => f.path.endsWith('.js')).reduce((s, f) => s + f.bytes, 0);
  return { outdir, main, files, jsBytes };
}

/**
 * Preload that stands in for the Functions Node worker: like the worker, it patches
 * Module.prototype.require so that require('@azure/functions-core') returns a core API, and it
 * records each registerFunction call in globalThis.__azpRegistered.
 */
export const HOST_STUB = `
import Module from 'node:module';
const registered = [];
globalThis.__azpRegistered = registered;
const disposable = { dispose() {} };
const core = {
  version: '3.10.1',
  setProgrammingModel() {},
  getProgrammingModel() { return undefined; },
  registerFunction(metadata) { registered.push({ name: metadata.name, bindings: metadata.bindings }); return disposable; },
  registerHook() { return disposable; },
  log() {},
  Disposable: class { dispose() {} },
};
Module.prototype.require = new Proxy(Module.prototype.require, {
  apply(target, self, args) {
    return args[0] === '@azure/functions-core' ? core : Reflect.apply(target, self, args);
  },
});
`;

export const HOST_STUB_URL = `data:text/javascript,${encodeURIComponent(HOST_STUB)}`;

/** The files the host loads for a package.json `main` (a file or a `dir/*.js` glob). */
export function mainFiles(dir) {
  const { main } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!main.includes('*')) return [join(dir, main)];
  const sub = dirname(main);
  const re = new RegExp(
    `^${main
      .slice(sub.length + 1)
      .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')}$`,
  );
  return readdirSync(join(dir, sub))
    .filter((f) => re.test(f))
    .map((f) => join(dir, sub, f));
}

/**
 * Load a package the way the Functions host does (fresh node process, stubbed core API) and
 * return the functions it registered plus the process's stderr.
 */
export function listRegistrations(dir, { env = {} } = {}) {
  const imports = mainFiles(dir)
    .map((f) => `await import(${JSON.stringify(pathToFileURL(f).href)});`)
    .join('\n');
  const code = `${imports}\nprocess.stdout.write('\\n@@REG@@' + JSON.stringify(globalThis.__azpRegistered));`;
  const r = spawnSync(process.execPath, ['--import', HOST_STUB_URL, '--input-type=module', '-e', code], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  const marker = r.stdout.lastIndexOf('@@REG@@');
  if (r.status !== 0 || marker < 0) {
    throw new Error(`loading ${dir} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  }
  return { functions: JSON.parse(r.stdout.slice(marker + 7)), stderr: r.stderr };
}

function listFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name)) : [join(dir, d.name)],
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const result = await bundle({
    outdir: at >= 0 ? args[at + 1] : undefined,
    minify: !args.includes('--no-minify'),
    quiet: args.includes('--quiet'),
  });
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `bundled into ${relative(process.cwd(), result.outdir) || '.'} (main: ${result.main}, JS ${kb(result.jsBytes)})`,
  );
  for (const f of result.files) console.log(`  ${f.path.padEnd(40)} ${kb(f.bytes)}`);
  if (args.includes('--check')) {
    const { functions } = listRegistrations(result.outdir);
    if (functions.length === 0) {
      console.error('check: the bundle registered no functions');
      process.exit(1);
    }
    for (const f of functions)
      console.log(
        `check: registers ${f.name} (${
          f.bindings
            ? Object.values(f.bindings)
                .map((b) => b.type)
                .join(', ')
            : '?'
        })`,
      );
  }
}
