#!/usr/bin/env node
'use strict';
// `noetl` entry point: runs the TypeScript CLI (apps/cli/src/main.ts) through tsx, with the repo's
// tsconfig so `@noetl/*` paths resolve to libs/*/src — no build step needed.
const path = require('node:path');

const root = path.resolve(__dirname, '..');
process.env.TSX_TSCONFIG_PATH = path.join(root, 'tsconfig.json');
require('tsx/cjs');

const { main } = require(path.join(root, 'apps/cli/src/main.ts'));

let exiting = false;
function finish(code) {
  if (exiting) return;
  exiting = true;
  process.exitCode = code;
  // Flush stdout/stderr, then leave even if a driver left a handle open.
  const done = () => process.exit(code);
  if (process.stdout.writableNeedDrain) process.stdout.once('drain', done);
  else process.stdout.write('', done);
  setTimeout(done, 3000).unref();
}

main(process.argv.slice(2)).then(finish, (err) => {
  process.stderr.write(`noetl: ${err && err.stack ? err.stack : String(err)}\n`);
  finish(1);
});
