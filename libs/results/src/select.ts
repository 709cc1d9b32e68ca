import { NoetlError, isPlainObject } from '@noetl/common';

/** One `spec.result.select` entry (runtime.md §7.6): a top-level name, a path, or `{path, as}`. */
export type SelectSpec = string | { path: string; as?: string };

export type PathSegment = string | number;

/**
 * Parse the JSONPath subset of runtime.md §7.6: `$`, `.name`, `[n]` (also `['name']` and
 * `["name"]`). A string that does not start with `$` is a plain top-level field name.
 * Throws `NoetlError` `E_RESULT_SELECT_PATH` on a malformed path.
 */
export function parseResultPath(path: string): PathSegment[] {
  if (!path.startsWith('$')) {
    if (path.length === 0) throw new NoetlError('E_RESULT_SELECT_PATH', 'empty select path');
    return [path];
  }
  const out: PathSegment[] = [];
  let i = 1;
  while (i < path.length) {
    const ch = path[i];
    if (ch === '.') {
      let j = i + 1;
      while (j < path.length && path[j] !== '.' && path[j] !== '[') j++;
      const name = path.slice(i + 1, j);
      if (!name) throw new NoetlError('E_RESULT_SELECT_PATH', `empty name in select path ${path}`);
      out.push(name);
      i = j;
    } else if (ch === '[') {
      const close = path.indexOf(']', i);
      if (close < 0) throw new NoetlError('E_RESULT_SELECT_PATH', `unclosed [ in select path ${path}`);
      const inner = path.slice(i + 1, close).trim();
      if (/^\d+$/.test(inner)) out.push(Number(inner));
      else if (/^'[^']*'$/.test(inner) || /^"[^"]*"$/.test(inner)) out.push(inner.slice(1, -1));
      else throw new NoetlError('E_RESULT_SELECT_PATH', `unsupported segment [${inner}] in select path ${path}`);
      i = close + 1;
    } else {
      throw new NoetlError('E_RESULT_SELECT_PATH', `unexpected '${ch}' in select path ${path}`);
    }
  }
  return out;
}

/** Read a parsed path; undefined when any segment is missing. */
export function readResultPath(root: unknown, segments: readonly PathSegment[]): unknown {
  let cur: unknown = root;
  for (const seg of segments) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return undefined;
      cur = cur[seg];
    } else {
      if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
      cur = cur[seg];
    }
  }
  return cur;
}

/** Name under which a select entry lands in `extracted`: `as`, else the last name segment. */
export function selectName(spec: SelectSpec, segments: readonly PathSegment[]): string {
  if (typeof spec !== 'string' && spec.as) return spec.as;
  for (let k = segments.length - 1; k >= 0; k--) if (typeof segments[k] === 'string') return segments[k] as string;
  return typeof spec === 'string' ? spec : spec.path;
}

export interface SelectOptions {
  /** values larger than this (JSON bytes) are dropped with a warning (T7.17; default 65,536) */
  maxValueBytes?: number;
  onWarning?: (message: string) => void;
}

/**
 * Compute `extracted` (T7.17) from the full value. Missing paths are left out; malformed paths and
 * oversized values are dropped with a warning.
 */
export function selectValues(value: unknown, select: readonly SelectSpec[], opts: SelectOptions = {}): Record<string, unknown> {
  const maxBytes = opts.maxValueBytes ?? 65_536;
  const out: Record<string, unknown> = {};
  for (const spec of select) {
    const path = typeof spec === 'string' ? spec : spec?.path;
    if (typeof path !== 'string') {
      opts.onWarning?.(`select entry ignored: ${JSON.stringify(spec)}`);
      continue;
    }
    let segments: PathSegment[];
    try {
      segments = parseResultPath(path);
    } catch (e) {
      opts.onWarning?.((e as Error).message);
      continue;
    }
    const v = readResultPath(value, segments);
    if (v === undefined) continue;
    const size = Buffer.byteLength(JSON.stringify(v) ?? 'null', 'utf8');
    const name = selectName(spec, segments);
    if (size > maxBytes) {
      opts.onWarning?.(`select value ${name} dropped: ${size} bytes > ${maxBytes}`);
      continue;
    }
    out[name] = v;
  }
  return out;
}
