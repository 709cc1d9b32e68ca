// The build-on-demand bundle behind `bin/noetl.js` (tools/build/bundle.js): built when missing,
// reused while every input is unchanged, rebuilt when one changes, assets copied beside it; and the
// CLI itself runs the same from the bundle and from the sources (NOETL_TSX=1).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

interface BundleModule {
  ensureBundle(o: { entry: string; outfile: string; assets?: string[] }): string;
}
const ROOT = resolve(__dirname, '../../..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ensureBundle } = require(join(ROOT, 'tools/build/bundle.js')) as BundleModule;

const dir = mkdtempSync(join(tmpdir(), 'noetl-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Backdate a file (by `s` seconds): a file written just before a build counts as possibly changed during it. */
function age(file: string, s = 60): void {
  const t = new Date(Date.now() - s * 1000);
  utimesSync(file, t, t);
}

function runBundle(file: string): string {
  return execFileSync(process.execPath, [file], { encoding: 'utf8' }).trim();
}

describe('ensureBundle', () => {
  const entry = join(dir, 'entry.ts');
  const dep = join(dir, 'dep.ts');
  const asset = join(dir, 'data.txt');
  const outfile = join(dir, 'out', 'entry.js');

  beforeAll(() => {
    writeFileSync(dep, 'export const word: string = "one";\n');
    writeFileSync(entry, 'import { word } from "./dep";\nconsole.log(word);\n');
    writeFileSync(asset, 'asset v1');
    for (const f of [dep, entry, asset]) age(f);
  });

  it('builds a missing bundle, with its source map and assets', () => {
    const out = ensureBundle({ entry, outfile, assets: [asset] });
    expect(out).toBe(outfile);
    expect(runBundle(outfile)).toBe('one');
    expect(existsSync(`${outfile}.map`)).toBe(true);
    expect(readFileSync(join(dir, 'out', 'data.txt'), 'utf8')).toBe('asset v1');
  });

  it('reuses a fresh bundle without rebuilding', () => {
    const before = statSync(outfile).mtimeMs;
    ensureBundle({ entry, outfile, assets: [asset] });
    expect(statSync(outfile).mtimeMs).toBe(before);
  });

  it('rebuilds when an imported file changes', () => {
    writeFileSync(dep, 'export const word: string = "two";\n'); // same size: the mtime tells
    age(dep, 30);
    ensureBundle({ entry, outfile, assets: [asset] });
    expect(runBundle(outfile)).toBe('two');
    const built = statSync(outfile).mtimeMs;
    ensureBundle({ entry, outfile, assets: [asset] });
    expect(statSync(outfile).mtimeMs).toBe(built);
  });

  it('does not trust a bundle built right after an input changed (it may have changed during the build)', () => {
    writeFileSync(dep, 'export const word: string = "three";\n'); // mtime: now
    ensureBundle({ entry, outfile, assets: [asset] });
    expect(runBundle(outfile)).toBe('three');
    const built = statSync(`${outfile}.inputs.json`).mtimeMs;
    ensureBundle({ entry, outfile, assets: [asset] }); // rebuilt once more
    expect(statSync(`${outfile}.inputs.json`).mtimeMs).not.toBe(built);
    age(dep);
    ensureBundle({ entry, outfile, assets: [asset] }); // the aged file differs from the record: rebuilt, now trusted
    const trusted = statSync(`${outfile}.inputs.json`).mtimeMs;
    ensureBundle({ entry, outfile, assets: [asset] });
    expect(statSync(`${outfile}.inputs.json`).mtimeMs).toBe(trusted);
  });

  it('rebuilds when an asset changes, and when the asset list changes', () => {
    writeFileSync(asset, 'asset v2 longer');
    age(asset);
    ensureBundle({ entry, outfile, assets: [asset] });
    expect(readFileSync(join(dir, 'out', 'data.txt'), 'utf8')).toBe('asset v2 longer');
    const before = statSync(`${outfile}.inputs.json`).mtimeMs;
    ensureBundle({ entry, outfile, assets: [] });
    expect(statSync(`${outfile}.inputs.json`).mtimeMs).not.toBe(before);
  });

  it('fails with the compiler error on a broken source (and keeps no half-written bundle)', () => {
    writeFileSync(dep, 'export const word: string = ;\n');
    expect(() => ensureBundle({ entry, outfile })).toThrow(/Expected|Unexpected/);
    expect(runBundle(outfile)).toBe('three'); // the previous bundle is intact
  });
});

describe('bin/noetl.js: bundle and sources agree', () => {
  const pb = join(dir, 'p.yaml');
  beforeAll(() =>
    writeFileSync(
      pb,
      'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: p, path: t/p }\nworkload: { n: 3 }\nworkflow:\n'
        + '  - step: start\n    tool: { kind: noop }\n    set: { ctx.x: "{{ workload.n * 2 }}" }\n',
    ),
  );
  const run = (tsx: boolean): { status: string; ctx: unknown } => {
    const env = { ...process.env, NOETL_HOME: join(dir, 'home'), NOETL_CREDENTIALS: '', NOETL_TSX: tsx ? '1' : '' };
    const out = execFileSync(process.execPath, [join(ROOT, 'bin/noetl.js'), 'run', pb, '--json', '--quiet'], { cwd: dir, encoding: 'utf8', env });
    const doc = JSON.parse(out) as { status: string; ctx: unknown };
    return { status: doc.status, ctx: doc.ctx };
  };

  it('runs a playbook the same way from dist/cli and through tsx', () => {
    const bundled = run(false);
    expect(bundled).toEqual({ status: 'completed', ctx: { x: 6 } });
    expect(run(true)).toEqual(bundled);
    expect(existsSync(join(ROOT, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(ROOT, 'dist/cli/python-worker.py'))).toBe(true);
  });
});
