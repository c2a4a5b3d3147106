import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Folders of src/ that adapt one outside service (or the HTTP surface) to the ports. */
const ADAPTERS = ['azdo', 'aci', 'secrets', 'storage', 'azure', 'webhook'];

/** One no-restricted-imports block per layer: `files` may not import from these src/ folders. */
function layers(table) {
  return Object.entries(table).map(([files, banned]) => ({
    files: [files],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // lab/ (experiments and their analysis) sits above the product: src/ never imports it.
              group: [...new Set([...banned, 'lab'])].map((d) => `**/${d}/*`),
              message: 'crosses the layers of src/ (eslint.config.js, docs/architecture.md)',
            },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.azurite/**', 'sim-report/**', 'infra/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  // The import graph, by layer (docs/architecture.md): core and config
  // at the bottom; ports (and Logger) above them, below both the pass and the adapters; the pass
  // (reconcile) and the adapters never import each other; the simulator drives the pass with its own
  // adapters; app wires everything; the entries (cli.ts, functions/*) go through app only (the CLI's
  // simulate command loads the simulator).
  ...layers({
    'src/core/**/*.ts': ['config', 'ports', 'util', ...ADAPTERS, 'reconcile', 'sim', 'app', 'functions'],
    'src/config/**/*.ts': ['ports', 'util', ...ADAPTERS, 'reconcile', 'sim', 'app', 'functions'],
    'src/ports/**/*.ts': ['util', ...ADAPTERS, 'reconcile', 'sim', 'app', 'functions'],
    'src/util/**/*.ts': [...ADAPTERS, 'reconcile', 'sim', 'app', 'functions'],
    [`src/{${ADAPTERS.join(',')}}/**/*.ts`]: ['reconcile', 'sim', 'app', 'functions'],
    'src/reconcile/**/*.ts': [...ADAPTERS, 'sim', 'app', 'functions'],
    'src/sim/**/*.ts': [...ADAPTERS, 'app', 'functions'],
    'src/app/**/*.ts': ['functions', 'sim'],
    'src/functions/**/*.ts': ['core', 'ports', ...ADAPTERS, 'reconcile', 'storage', 'sim'],
    // The CLI's `simulate` command is the simulator's (loaded by import() only when run; the
    // dynamic imports are held to this table too: test/unit/layers.test.ts).
    'src/cli.ts': ['core', 'ports', ...ADAPTERS, 'reconcile', 'storage'],
  }),
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'process', message: 'core is pure: no env, no clock' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'core is pure: take `now` as a parameter',
        },
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'core is pure: take `now` as a parameter',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'core is pure: no randomness',
        },
      ],
    },
  },
);
