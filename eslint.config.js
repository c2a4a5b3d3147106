import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', { name: 'process', message: 'core is pure: no env, no clock' }],
      'no-restricted-syntax': [
        'error',
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core is pure: take `now` as a parameter' },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'core is pure: take `now` as a parameter' },
        { selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']", message: 'core is pure: no randomness' },
      ],
    },
  },
);
