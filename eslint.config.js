import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The pure core may not touch the world: no node:* modules, no I/O libraries. */
const pureCore = ['model', 'netstack', 'k8s', 'service', 'policy', 'plugin', 'network', 'provider', 'render'];
/** I/O libraries the core may not import (chalk is allowed in render, which is told explicitly whether to colour). */
const ioLibraries = ['fs', 'child_process', 'os', 'net', 'http', 'https', 'ora', '@kubernetes/*'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: pureCore.map((d) => `src/${d}/**/*.ts`),
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The core is pure: do I/O in src/commands or src/source.' },
            { group: ioLibraries, message: 'The core is pure.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'The core reads no environment.' }],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'The core reads no clock.' },
        { object: 'Math', property: 'random', message: 'The core uses no randomness.' },
        { object: 'console', property: 'log', message: 'The core never logs.' },
      ],
    },
  },
);
