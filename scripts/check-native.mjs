// Checks that the native PowerShell parser loads: tree-sitter 0.25.0 (no prebuilt binary: its
// install script compiles it with node-gyp, approved in package.json's allowScripts) and
// tree-sitter-powershell 0.26.4 (ships a linux-x64 prebuild). Exit 1 with the reason otherwise.
// Used by .ci/run after `npm ci`; test/agent/windows-image.test.ts needs both.
import console from 'node:console';
import process from 'node:process';

try {
  const { default: Parser } = await import('tree-sitter');
  const { default: PowerShell } = await import('tree-sitter-powershell');
  const parser = new Parser();
  parser.setLanguage(PowerShell);
  const tree = parser.parse('$x = $env:AZP_URL');
  if (tree.rootNode.hasError) throw new Error('the PowerShell grammar did not parse a one-line script');
  console.log('tree-sitter + tree-sitter-powershell: loaded');
} catch (e) {
  console.error(`tree-sitter + tree-sitter-powershell: not loadable: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
