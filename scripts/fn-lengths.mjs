/* global process, console */
// Prints the three largest functions (lines, first to last) below each folder, via the TypeScript compiler API.
// Usage: node scripts/fn-lengths.mjs src/core src/reconcile
import ts from 'typescript';
import fs from 'node:fs';
import path from 'node:path';
const walk = (d) =>
  fs
    .readdirSync(d, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? walk(path.join(d, e.name)) : e.name.endsWith('.ts') ? [path.join(d, e.name)] : [],
    );
for (const dir of process.argv.slice(2)) {
  const rows = [];
  for (const f of walk(dir)) {
    const sf = ts.createSourceFile(f, fs.readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n) => {
      if (ts.isFunctionLike(n) && n.body) {
        const a = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
        const b = sf.getLineAndCharacterOfPosition(n.end).line;
        const name =
          n.name?.getText(sf) ?? (ts.isVariableDeclaration(n.parent) ? n.parent.name.getText(sf) : '(anonymous)');
        rows.push([b - a + 1, `${path.relative(process.cwd(), f)}:${a + 1} ${name}`]);
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  rows.sort((x, y) => y[0] - x[0]);
  console.log(
    `${dir}: ${rows
      .slice(0, 3)
      .map(([n, w]) => `${n} lines ${w}`)
      .join('; ')}`,
  );
}
