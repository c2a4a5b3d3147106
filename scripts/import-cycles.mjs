/* global process, console */
// Prints the import cycles among the files below the given folders (default src): every relative
// import, export-from and dynamic import() with a string literal, type-only ones included (a cycle
// of types is still a cycle a reader has to untangle). Exit code 1 when there is one.
// Usage: node scripts/import-cycles.mjs [src]
import ts from 'typescript';
import fs from 'node:fs';
import path from 'node:path';

const walk = (d) =>
  fs
    .readdirSync(d, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.ts') ? [path.join(d, e.name)] : [],
    );

const isDynamicImport = (n) =>
  ts.isCallExpression(n) &&
  n.expression.kind === ts.SyntaxKind.ImportKeyword &&
  n.arguments[0] !== undefined &&
  ts.isStringLiteralLike(n.arguments[0]);

/** The relative imports of each .ts file below `dirs`, resolved to files: file → [file]. */
export function importGraph(dirs) {
  const files = dirs.flatMap(walk).map((f) => path.normalize(f));
  const known = new Set(files);
  const graph = new Map();
  for (const f of files) {
    const sf = ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
    const specs = [];
    const visit = (n) => {
      if (
        (ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) &&
        n.moduleSpecifier &&
        ts.isStringLiteral(n.moduleSpecifier)
      )
        specs.push(n.moduleSpecifier.text);
      else if (isDynamicImport(n)) specs.push(n.arguments[0].text);
      ts.forEachChild(n, visit);
    };
    visit(sf);
    const to = specs
      .filter((s) => s.startsWith('.'))
      .map((s) => path.normalize(path.join(path.dirname(f), s.replace(/\.js$/, '.ts'))))
      .filter((t) => known.has(t));
    graph.set(f, [...new Set(to)]);
  }
  return graph;
}

/** Every `import('…')` with a string literal below `dirs`: [file, specifier] (the layer rule sees only static imports). */
export function dynamicImports(dirs) {
  const out = [];
  for (const f of dirs.flatMap(walk)) {
    const sf = ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n) => {
      if (isDynamicImport(n)) out.push([path.normalize(f), n.arguments[0].text]);
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return out;
}

/** The strongly connected components with more than one file (or a file importing itself): Tarjan. */
export function cycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const out = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) strong(v);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dirs = process.argv.slice(2);
  const found = cycles(importGraph(dirs.length ? dirs : ['src']));
  for (const c of found) console.log(`cycle: ${c.join(' ⇄ ')}`);
  console.log(`${found.length} import cycle(s)`);
  process.exitCode = found.length ? 1 : 0;
}
