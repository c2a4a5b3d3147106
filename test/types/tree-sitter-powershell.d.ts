// tree-sitter-powershell 0.26.4 ships bindings/node/index.d.ts, but its package.json `main` is a
// directory ("bindings/node"), which TypeScript's NodeNext resolution does not follow for an ESM
// import. The module's default export is the grammar object the tree-sitter binding loads.
declare module 'tree-sitter-powershell' {
  import type Parser from 'tree-sitter';
  const language: Parser.Language;
  export default language;
}
