/**
 * The import graph's layers (eslint.config.js) refuse what they should and let the wiring through:
 * linted as if the text were a file at that path.
 */
import { ESLint } from 'eslint';
// @ts-expect-error -- plain ESM script without type declarations
import { cycles, dynamicImports, importGraph } from '../../scripts/import-cycles.mjs';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function crosses(file: string, source: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import { x } from '${source}';\nexport const y = x;\n`, { filePath: file });
  return (result?.messages ?? []).some((m) => m.ruleId === 'no-restricted-imports');
}

describe('layers of src/', () => {
  it.each([
    ['src/azdo/client.ts', '../reconcile/pass.js'],
    ['src/storage/lock.ts', '../reconcile/coordinator.js'],
    ['src/util/log.ts', '../reconcile/pass.js'],
    ['src/webhook/handler.ts', '../reconcile/pass.js'],
    ['src/ports/index.ts', '../azdo/index.js'],
    ['src/ports/index.ts', '../util/log.js'],
    ['src/reconcile/pass.ts', '../storage/lock.js'],
    ['src/reconcile/pass.ts', '../aci/provider.js'],
    ['src/core/plan.ts', '../ports/index.js'],
    ['src/cli.ts', './reconcile/pass.js'],
    ['src/cli.ts', './storage/index.js'],
    ['src/functions/timer.ts', '../reconcile/pass.js'],
    ['src/functions/timer.ts', '../ports/index.js'],
    ['src/sim/command.ts', '../../lab/analysis/burst-oracle.js'],
    ['src/core/warm/decide.ts', '../../../lab/analysis/envelope.js'],
  ])('%s may not import %s', async (file, source) => {
    expect(await crosses(file, source)).toBe(true);
  });

  it.each([
    ['src/azdo/client.ts', '../ports/index.js'],
    ['src/util/log.ts', '../ports/index.js'],
    ['src/reconcile/pass.ts', '../ports/index.js'],
    ['src/sim/controllers.ts', '../reconcile/pass.js'],
    ['src/app/runtime.ts', '../storage/index.js'],
    ['src/app/runtime.ts', '../reconcile/coordinator.js'],
    ['src/cli.ts', './app/runtime.js'],
    ['src/cli.ts', './sim/command.js'],
    ['src/functions/timer.ts', '../app/handlers.js'],
  ])('%s may import %s', async (file, source) => {
    expect(await crosses(file, source)).toBe(false);
  });

  // eslint's no-restricted-imports sees static imports only: each import() is linted as if static.
  it('every dynamic import() in src/ keeps to the layers a static one must', async () => {
    const found = (dynamicImports as (d: string[]) => [string, string][])(['src']);
    expect(found.length).toBeGreaterThan(0);
    const crossing: string[] = [];
    for (const [file, source] of found) if (await crosses(file, source)) crossing.push(`${file} → ${source}`);
    expect(crossing).toEqual([]);
  });

  // Type-only imports count: a cycle of types is still one a reader has to untangle.
  it('src/ has no import cycle', () => {
    expect((cycles as (g: unknown) => string[][])((importGraph as (d: string[]) => unknown)(['src']))).toEqual([]);
  });
});
