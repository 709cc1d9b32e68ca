'use strict';
/**
 * Build-on-demand bundles of the TypeScript sources (plain JS so `bin/noetl.js` can use it before
 * any TypeScript loader is registered).
 *
 * Why a bundle: run under tsx, every module is compiled separately and cross-module references go
 * through esbuild's CommonJS export getters plus `__name` wrappers on every function; the embedded
 * engine measured ~2.2× slower per orchestrated step that way than bundled (docs/benchmarks.md).
 * A bundle is one scope: calls between libs are direct.
 *
 * Freshness: next to each bundle a manifest lists every input file with its size and mtime (from
 * esbuild's metafile) plus this builder's own options. A bundle is rebuilt when any listed input
 * changed or is gone, so editing a lib and running `npx noetl ...` never runs stale code. New files
 * can only matter if an input imports them, which changes that input.
 *
 * Writes are atomic (temp file + rename), so concurrent processes (jest workers spawning the CLI)
 * may race to build but never read a half-written bundle.
 */
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../..');
const FORMAT = 1; // bump when the options below change: forces a rebuild of every bundle
/** inputs modified this close to the start of a build count as possibly changed during it */
const RECENT_MS = 2000;

function manifestPathOf(outfile) {
  return `${outfile}.inputs.json`;
}

/** True when `outfile` exists and every input in its manifest is unchanged. */
function isFresh(outfile, assets) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(manifestPathOf(outfile), 'utf8'));
    fs.statSync(outfile);
  } catch {
    return false;
  }
  if (manifest.format !== FORMAT || manifest.node !== process.versions.node) return false;
  if (JSON.stringify(manifest.assets) !== JSON.stringify(assets)) return false;
  for (const [file, sig] of Object.entries(manifest.inputs)) {
    let st;
    try {
      st = fs.statSync(path.resolve(ROOT, file));
    } catch {
      return false;
    }
    if (st.size !== sig[0] || st.mtimeMs !== sig[1]) return false;
  }
  return true;
}

function writeAtomic(file, data) {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * Build `entry` (a .ts file under the repo) into `outfile` (CommonJS, node 20, packages external:
 * node_modules are required at run time as usual) unless the existing bundle is fresh. `assets`
 * are repo-relative files copied beside the bundle (modules that locate data files via
 * `__dirname`). Returns the bundle's path.
 */
function ensureBundle({ entry, outfile, assets = [] }) {
  const absOut = path.resolve(ROOT, outfile);
  if (isFresh(absOut, assets)) return absOut;

  // Loaded only when a build is needed: a fresh bundle starts without esbuild.
  const esbuild = require('esbuild');
  const started = Date.now();
  const tsconfig = path.join(ROOT, 'tsconfig.base.json');
  const result = esbuild.buildSync({
    absWorkingDir: ROOT,
    entryPoints: [path.resolve(ROOT, entry)],
    outfile: absOut,
    bundle: true,
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    format: 'cjs',
    packages: 'external',
    tsconfig,
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  fs.mkdirSync(path.dirname(absOut), { recursive: true });
  const inputs = {};
  for (const file of [...Object.keys(result.metafile.inputs), path.relative(ROOT, tsconfig), 'tsconfig.json']) {
    const st = fs.statSync(path.resolve(ROOT, file));
    // A file written while (or just before) esbuild read it may not be what was bundled: record it
    // as stale, so the next start rebuilds once more instead of trusting this bundle forever.
    inputs[file] = [st.size, st.mtimeMs >= started - RECENT_MS ? -1 : st.mtimeMs];
  }
  for (const asset of assets) {
    const src = path.resolve(ROOT, asset);
    writeAtomic(path.join(path.dirname(absOut), path.basename(asset)), fs.readFileSync(src));
    const st = fs.statSync(src);
    inputs[asset] = [st.size, st.mtimeMs >= started - RECENT_MS ? -1 : st.mtimeMs];
  }
  // The map first, then the bundle, then the manifest: a reader that sees the manifest sees both.
  for (const out of result.outputFiles) if (out.path !== absOut) writeAtomic(out.path, out.contents);
  for (const out of result.outputFiles) if (out.path === absOut) writeAtomic(out.path, out.contents);
  writeAtomic(manifestPathOf(absOut), JSON.stringify({ format: FORMAT, node: process.versions.node, assets, inputs }));
  return absOut;
}

/** The `noetl` CLI bundle (`bin/noetl.js` runs it). */
function ensureCliBundle() {
  return ensureBundle({
    entry: 'apps/cli/src/main.ts',
    outfile: 'dist/cli/main.js',
    assets: ['libs/tools/src/local/python-worker.py'],
  });
}

module.exports = { ensureBundle, ensureCliBundle, ROOT };
