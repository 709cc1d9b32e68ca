import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Diagnostic } from '@noetl/common';
import { loadPlaybook, type NormalizedPlaybook } from '@noetl/dsl';
import { parse } from 'yaml';

/** A playbook loaded from a file and registered in the embedded catalog. */
export interface CatalogEntry {
  file: string;
  source: string;
  playbook: NormalizedPlaybook;
  /** stable id of this content: `local:<first 16 hex of the digest>` */
  catalogId: string;
  diagnostics: Diagnostic[];
}

export type CatalogLoad = { ok: true; entry: CatalogEntry } | { ok: false; file: string; source: string | null; diagnostics: Diagnostic[] };

const SKIP_DIRS = new Set(['node_modules', '.git', '.noetl', 'dist']);
const MAX_SCAN_FILES = 5000;

/**
 * The catalog of embedded mode: playbooks are files. `kind: playbook` paths resolve relative to
 * the calling playbook's file, then to each `--catalog DIR`: `<dir>/<path>` (when it names a file),
 * `<dir>/<path>.yaml`, `<dir>/<path>.yml`, then any `*.yaml|*.yml` below the dir whose
 * `metadata.path` equals `path`.
 */
export class FileCatalog {
  private readonly byFile = new Map<string, CatalogLoad>();
  private readonly byId = new Map<string, CatalogEntry>();
  private readonly metaIndex = new Map<string, Map<string, string>>();
  private readonly dirs: string[];

  constructor(opts: { dirs?: string[]; cwd?: string } = {}) {
    const cwd = opts.cwd ?? process.cwd();
    this.dirs = (opts.dirs ?? []).map((d) => resolve(cwd, d));
  }

  /** Loads (once) and validates a playbook file. */
  load(file: string): CatalogLoad {
    const abs = resolve(file);
    const cached = this.byFile.get(abs);
    if (cached) return cached;
    let source: string;
    try {
      source = readFileSync(abs, 'utf8');
    } catch (e) {
      const d: Diagnostic = { code: 'E_IO', severity: 'error', message: `cannot read ${file}: ${(e as Error).message}`, line: 1, column: 1, path: '', file };
      return { ok: false, file: abs, source: null, diagnostics: [d] };
    }
    const r = loadPlaybook(source, { file: abs });
    let out: CatalogLoad;
    if (!r.ok || !r.playbook || r.diagnostics.some((d) => d.severity === 'error')) {
      out = { ok: false, file: abs, source, diagnostics: r.diagnostics };
    } else {
      const catalogId = `local:${r.playbook.digest.replace(/^sha256:/, '').slice(0, 16)}`;
      const entry: CatalogEntry = { file: abs, source, playbook: r.playbook, catalogId, diagnostics: r.diagnostics };
      this.byId.set(catalogId, entry);
      out = { ok: true, entry };
    }
    this.byFile.set(abs, out);
    return out;
  }

  /** Registers an already-loaded playbook (e.g. one given as text). */
  register(entry: CatalogEntry): void {
    this.byId.set(entry.catalogId, entry);
    this.byFile.set(entry.file, { ok: true, entry });
  }

  byCatalogId(id: string): CatalogEntry | undefined {
    return this.byId.get(id);
  }

  /** Directories searched for a child `path` called from `fromFile` (its dir first, then --catalog dirs). */
  searchDirs(fromFile?: string): string[] {
    const dirs = fromFile ? [dirname(resolve(fromFile)), ...this.dirs] : [...this.dirs];
    return [...new Set(dirs)];
  }

  /** Resolves a `kind: playbook` path to a file, or null with the list of places tried. */
  resolvePath(path: string, fromFile?: string): { file: string } | { file: null; tried: string[] } {
    const tried: string[] = [];
    const dirs = this.searchDirs(fromFile);
    for (const dir of dirs) {
      for (const cand of [join(dir, path), join(dir, `${path}.yaml`), join(dir, `${path}.yml`)]) {
        tried.push(cand);
        if (isFile(cand)) return { file: cand };
      }
    }
    for (const dir of dirs) {
      const hit = this.metadataIndex(dir).get(path);
      if (hit) return { file: hit };
      tried.push(`${dir}/**/*.yaml (metadata.path: ${path})`);
    }
    return { file: null, tried };
  }

  private metadataIndex(dir: string): Map<string, string> {
    let idx = this.metaIndex.get(dir);
    if (idx) return idx;
    idx = new Map();
    this.metaIndex.set(dir, idx);
    let seen = 0;
    const walk = (d: string, depth: number): void => {
      let names: string[];
      try {
        names = readdirSync(d).sort();
      } catch {
        return;
      }
      for (const n of names) {
        if (seen >= MAX_SCAN_FILES) return;
        const p = join(d, n);
        let st;
        try {
          st = statSync(p);
        } catch {
          continue;
        }
        if (st.isDirectory()) {
          if (depth < 8 && !SKIP_DIRS.has(n) && !n.startsWith('.')) walk(p, depth + 1);
        } else if (/\.ya?ml$/.test(n) && !/\.expect\.ya?ml$/.test(n)) {
          seen++;
          const mp = metadataPathOf(p);
          if (mp && !idx?.has(mp)) idx?.set(mp, p);
        }
      }
    };
    walk(dir, 0);
    return idx;
  }
}

function isFile(p: string): boolean {
  try {
    return existsSync(p) && statSync(p).isFile();
  } catch {
    return false;
  }
}

/** `metadata.path` of a playbook file, without validating it (null when absent or unparsable). */
export function metadataPathOf(file: string): string | null {
  try {
    const doc = parse(readFileSync(file, 'utf8'), { version: '1.2' }) as { metadata?: { path?: unknown } } | null;
    const p = doc?.metadata?.path;
    return typeof p === 'string' ? p : null;
  } catch {
    return null;
  }
}
