/**
 * The deploy package (scripts/bundle.mjs): it builds, has the shape the Functions host loads
 * (package.json `main`, host.json, no dependencies), keeps @azure/functions-core external, and
 * loading it in a fresh process with the worker's core-module hook registers the functions.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain ESM script without type declarations
import { bundle, listRegistrations, mainFiles } from '../../scripts/bundle.mjs';

interface BundleResult {
  outdir: string;
  main: string;
  jsBytes: number;
  files: { path: string; bytes: number }[];
}
interface Registration {
  name: string;
  bindings: Record<string, { type: string; direction: string }>;
}
const bundleApp = bundle as (o: { root?: string; outdir?: string; quiet?: boolean }) => Promise<BundleResult>;
const registrations = listRegistrations as (dir: string, o?: { env?: Record<string, string> }) => { functions: Registration[]; stderr: string };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// Under node_modules so that package imports resolve from the repo's node_modules.
const WORK = join(ROOT, 'node_modules', '.cache', `azp-bundle-test-${process.pid}`);

const SYNTHETIC_APP = `
import { app, type HttpRequest, type InvocationContext, type Timer } from '@azure/functions';
import { DefaultAzureCredential } from '@azure/identity';

export const credential = () => new DefaultAzureCredential();
app.timer('reconcileTimer', {
  schedule: '0 */1 * * * *',
  handler: async (_timer: Timer, context: InvocationContext) => context.log('tick'),
});
app.http('webhook', {
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request: HttpRequest) => ({ status: 202, body: request.method }),
});
`;

const realEntry = existsSync(join(ROOT, 'src', 'index.ts'))
  ? 'src/index.ts'
  : existsSync(join(ROOT, 'src', 'functions')) && readdirSync(join(ROOT, 'src', 'functions')).some((f) => f.endsWith('.ts'))
    ? 'src/functions/*.ts'
    : undefined;

beforeAll(() => mkdirSync(WORK, { recursive: true }));
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

describe('scripts/bundle.mjs on a synthetic app', () => {
  let result: BundleResult;

  beforeAll(async () => {
    const root = join(WORK, 'app');
    mkdirSync(join(root, 'src'), { recursive: true });
    writeFileSync(join(root, 'src', 'index.ts'), SYNTHETIC_APP);
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'synthetic', version: '1.2.3', type: 'module' }));
    writeFileSync(join(root, 'host.json'), readFileSync(join(ROOT, 'host.json')));
    result = await bundleApp({ root, outdir: join(WORK, 'app-bundle'), quiet: true });
  }, 120_000);

  it('writes the package the host loads: package.json main, host.json, no dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(result.outdir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg).toMatchObject({ name: 'synthetic', version: '1.2.3', type: 'module', main: 'index.js' });
    expect(pkg.dependencies).toBeUndefined();
    expect(readFileSync(join(result.outdir, 'host.json'), 'utf8')).toBe(readFileSync(join(ROOT, 'host.json'), 'utf8'));
    expect((mainFiles as (d: string) => string[])(result.outdir)).toEqual([join(result.outdir, 'index.js')]);
    // Besides chunks/: what the SDKs load by import() (splitting is on, for the distro: src/app/monitor.ts).
    expect(
      result.files
        .map((f) => f.path)
        .filter((p) => !p.startsWith('chunks/'))
        .sort(),
    ).toEqual(['host.json', 'index.js', 'index.js.map', 'package.json']);
  });

  it('bundles the SDKs but leaves @azure/functions-core to the host', () => {
    const js = readFileSync(join(result.outdir, 'index.js'), 'utf8');
    expect(js).toMatch(/require\("@azure\/functions-core"\)/);
    expect(js).not.toMatch(/from\s*"@azure\/(functions|identity)"/);
    expect(js.startsWith("import { createRequire as __azpCreateRequire } from 'node:module';")).toBe(true);
  });

  it('registers its functions when loaded the way the Functions worker loads it', () => {
    const { functions, stderr } = registrations(result.outdir);
    expect(functions.map((f) => f.name)).toEqual(['reconcileTimer', 'webhook']);
    expect(Object.values(functions[0]!.bindings).map((b) => b.type)).toEqual(['timerTrigger']);
    expect(Object.values(functions[1]!.bindings).map((b) => b.type)).toEqual(['httpTrigger', 'http']);
    expect(stderr).not.toMatch(/test mode/);
  });
});

describe('scripts/bundle.mjs on the app', () => {
  it.skipIf(realEntry !== 'src/index.ts')(
    'keeps the Azure Monitor distro in a chunk of its own, read only when a connection string is set',
    async () => {
      const result = await bundleApp({ outdir: join(WORK, 'lazy-bundle'), quiet: true });
      const env = {
        AZP_URL: 'https://dev.azure.com/contoso',
        DRY_RUN: 'true',
        POOLS: JSON.stringify([{ name: 'linux', pool: 'Default', image: 'example.azurecr.io/azp-agent:latest' }]),
      };
      const all = registrations(result.outdir, { env }).functions.length;
      // The distro's exporter is in a chunk, not in the main file the host loads.
      const js = (p: string) => readFileSync(join(result.outdir, p), 'utf8');
      expect(js('index.js').includes('AzureMonitorTraceExporter')).toBe(false);
      const distro = result.files.filter((f) => f.path.endsWith('.js') && js(f.path).includes('AzureMonitorTraceExporter'));
      expect(distro.length).toBeGreaterThan(0);
      // Without those chunks the app still loads with telemetry off, and fails to with it on.
      for (const f of distro) rmSync(join(result.outdir, f.path));
      expect(registrations(result.outdir, { env }).functions.length).toBe(all);
      const on = {
        ...env,
        APPLICATIONINSIGHTS_CONNECTION_STRING:
          'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/',
      };
      expect(() => registrations(result.outdir, { env: on })).toThrow(/Cannot find module|ERR_MODULE_NOT_FOUND/);
    },
    120_000,
  );
  it.skipIf(!realEntry)(
    `bundles ${realEntry ?? 'src/index.ts (skipped: neither src/index.ts nor src/functions/*.ts exists yet)'} and registers its functions`,
    async () => {
      const result = await bundleApp({ outdir: join(WORK, 'real-bundle'), quiet: true });
      expect(result.main).toBe(realEntry === 'src/index.ts' ? 'index.js' : 'functions/*.js');
      const env = {
        AZP_URL: 'https://dev.azure.com/contoso',
        DRY_RUN: 'true',
        POOLS: JSON.stringify([{ name: 'linux', pool: 'Default', image: 'example.azurecr.io/azp-agent:latest' }]),
      };
      const { functions } = registrations(result.outdir, { env });
      expect(functions.length).toBeGreaterThan(0);
      for (const f of functions) {
        expect(Object.values(f.bindings).some((b) => /Trigger$/.test(b.type)), `${f.name} has a trigger`).toBe(true);
      }
      // Every function a module in src/functions registers reaches the deploy package.
      const dir = join(ROOT, 'src', 'functions');
      const declared = readdirSync(dir)
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
        .flatMap((f) => [...readFileSync(join(dir, f), 'utf8').matchAll(/\bapp\.\w+\(\s*'([^']+)'/g)].map((m) => m[1]!));
      expect(functions.map((f) => f.name).sort()).toEqual([...new Set(declared)].sort());
    },
    120_000,
  );
});
