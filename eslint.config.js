// Lint: typescript-eslint recommended, plus the house rule that libs import each other only
// through their front door (@noetl/<lib>), never through relative paths into another lib.
const tseslint = require('typescript-eslint');
module.exports = tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.js'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [
        { group: ['@noetl/*/*'], message: 'Import a lib only through its front door: @noetl/<lib>.' },
        { group: ['../../*/src/*', '../../../libs/*'], message: 'No deep imports across libs.' },
      ] }],
    },
  },
  { files: ['**/*.spec.ts', 'tools/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off', '@typescript-eslint/no-non-null-assertion': 'off' } },
);
