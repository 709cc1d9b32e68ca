#!/usr/bin/env node
'use strict';
// `noetl` entry point. Runs the CLI (apps/cli/src/main.ts) from an esbuild bundle in dist/cli,
// built on demand and rebuilt whenever a source it includes changed (tools/build/bundle.js), so
// there is no separate build step and never stale code. NOETL_TSX=1 runs the TypeScript sources
// through tsx instead (slower: ~2x per orchestrated step; handy when debugging the sources).
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function loadCli() {
  if (process.env.NOETL_TSX !== '1') {
    let bundle = null;
    try {
      bundle = require(path.join(root, 'tools/build/bundle.js')).ensureCliBundle();
    } catch (err) {
      // A read-only checkout or a missing esbuild: the sources still run, just slower.
      process.stderr.write(`noetl: could not build dist/cli (${err && err.message ? err.message : err}); running the sources through tsx\n`);
    }
    if (bundle) {
      process.setSourceMapsEnabled(true); // stack traces point at the .ts sources
      return require(bundle);
    }
  }
  process.env.TSX_TSCONFIG_PATH = path.join(root, 'tsconfig.json');
  require('tsx/cjs');
  return require(path.join(root, 'apps/cli/src/main.ts'));
}

const { main, EXIT_STDOUT_CLOSED } = loadCli();

// SIGTERM / SIGHUP end the process through process.exit, so that its 'exit' hooks run: tool
// process groups still alive are SIGKILLed (no orphaned shell commands) and a streamed
// --events-out file gets what it buffered. Without a handler Node would die at once.
for (const [signal, number] of [['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(signal, () => process.exit(128 + number));
}

let exiting = false;
function finish(code) {
  if (exiting) return;
  exiting = true;
  process.exitCode = code;
  // Flush stdout/stderr, then leave even if a driver left a handle open. A reader that closed
  // stdout before the end (`| head -c 20`) shows as EPIPE here: exit EXIT_STDOUT_CLOSED (141), as
  // the 'error' guard of apps/cli/src/io.ts does when a write fails earlier.
  const done = (err) => process.exit(err && (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') ? EXIT_STDOUT_CLOSED : code);
  if (process.stdout.writableNeedDrain) process.stdout.once('drain', () => done());
  else process.stdout.write('', done);
  setTimeout(() => done(), 3000).unref();
}

main(process.argv.slice(2)).then(finish, (err) => {
  process.stderr.write(`noetl: ${err && err.stack ? err.stack : String(err)}\n`);
  finish(1);
});
