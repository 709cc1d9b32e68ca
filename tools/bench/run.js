#!/usr/bin/env node
'use strict';
// Runs a benchmark from an esbuild bundle built exactly like the `noetl` CLI's (tools/build/bundle.js),
// so the figures are those of the code users run, not of tsx's per-module compilation:
//   node tools/bench/run.js embedded --quick
//   node tools/bench/run.js engine --chain 1000
// `npx tsx tools/bench/<name>.bench.ts` still works and measures the sources under tsx.
const { spawnSync } = require('node:child_process');
const { readdirSync } = require('node:fs');
const { ensureBundle } = require('../build/bundle.js');

const [name, ...args] = process.argv.slice(2);
const names = readdirSync(__dirname).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length));
if (!name || !names.includes(name)) {
  process.stderr.write(`usage: node tools/bench/run.js <${names.join('|')}> [args...]\n`);
  process.exit(2);
}
const bundle = ensureBundle({ entry: `tools/bench/${name}.bench.ts`, outfile: `dist/bench/${name}.bench.js` });
const r = spawnSync(process.execPath, [...process.execArgv, '--enable-source-maps', bundle, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
