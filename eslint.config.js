// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'keys/**', '.test-logs/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.{js,mjs,ts}'], ignores: ['packages/web/src/**'], languageOptions: { globals: { ...globals.node } } },
  // The web client runs in the browser; its unit tests (pure modules) run under node.
  { files: ['packages/web/src/**/*.{ts,tsx}'], languageOptions: { globals: { ...globals.browser } } },
  { files: ['packages/web/src/**/*.test.ts'], languageOptions: { globals: { ...globals.node } } },
  {
    files: ['**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(fs|path|crypto|os|http|https|url|util|zlib|events|stream|child_process|worker_threads|net|tls|dns|assert|timers|perf_hooks|readline|buffer|process)(/.*)?$', message: 'Use the node: prefix.' },
            { regex: 'bcryptjs', message: 'bcryptjs hashes on the main thread; never use it.' },
          ],
        },
      ],
      'no-console': 'error',
    },
  },
  {
    // Domains import each other only through their index.ts (docs/ARCHITECTURE.md).
    files: ['packages/server/src/**/*.ts'],
    ignores: ['packages/server/src/**/*.test.ts', 'packages/server/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(fs|path|crypto|os|http|https|url|util|zlib|events|stream|child_process|worker_threads|net|tls|dns|assert|timers|perf_hooks|readline|buffer|process)(/.*)?$', message: 'Use the node: prefix.' },
            { regex: 'bcryptjs', message: 'bcryptjs hashes on the main thread; never use it.' },
            { regex: '^\\.\\./(identity|instances|chat|realtime|mail|incidents|ops|files|imports)/(?!index\\.ts$)', message: 'Import another domain through its index.ts.' },
          ],
        },
      ],
    },
  },
  {
    // Vite reads its configuration from a default export.
    files: ['packages/web/vite.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['packages/server/src/cli/**/*.ts', 'packages/server/src/main.ts', 'bench/**/*.ts', 'scripts/**', 'packages/web/scripts/**'],
    rules: { 'no-console': 'off' },
  },
);
