// Shared jest preset: swc transpiles TypeScript (fast, no type-check; `npm run typecheck` does that),
// and @noetl/* imports resolve to each lib's front door (src/index.ts), never deep paths.
const path = require('path');
const root = __dirname;
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': [require.resolve('@swc/jest'), { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: { '^@noetl/([a-z-]+)$': path.join(root, 'libs/$1/src/index.ts') },
  testMatch: ['**/*.spec.ts'],
  testTimeout: 30000,
};
