// Registered filters (dsl §12.5), tests (§12.6), globals and whitelisted methods (§12.8).
// Every one is implemented here on the JSON value model; no template ever reaches a host function.
import { fail, limitFail } from './errors';
import { chargeSteps, type Ctx } from './runtime';
import {
  center, htmlEscape, jinjaTitle, percentFormat, pyCapitalize, pyCount, pyFind, pyQuote, pyReplace, pySplit, pyStrip, strFormat,
} from './strings';
import {
  codePoints, contains, cpLength, deepEqual, getAttr, getItem, isMapping, isTruthy, setKey, sortCompare, toJson,
  toTemplateString, truthy, typeName, type Dict,
} from './values';

export type Kw = Record<string, unknown> | null;

export interface FilterDef {
  /** parameter names and defaults after the input value; used to bind positional and keyword args */
  params: [string, unknown][];
  /** accepts further positional args and any keyword args (map, select, ...): fn gets raw (args, kwargs) */
  variadic?: boolean;
  /** the input is evaluated without the strict-mode undefined check (default/d) */
  tolerant?: boolean;
  fn(c: Ctx, v: unknown, a: unknown[], kw: Kw): unknown;
}

export interface TestDef {
  params: [string, unknown][];
  tolerant?: boolean;
  fn(c: Ctx, v: unknown, a: unknown[]): boolean;
}

const hasOwn = Object.prototype.hasOwnProperty;

// ---------------------------------------------------------------- helpers
function str(v: unknown): string {
  return typeof v === 'string' ? v : toTemplateString(v);
}

/** Iterate a value as Jinja would: list, string chars, mapping keys; undefined/none -> empty. */
export function toList(v: unknown, what = 'value'): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return codePoints(v);
  if (isMapping(v)) return Object.keys(v);
  return fail(`${what} of type ${typeName(v)} is not iterable`);
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number') fail(`${what} expects a number, got ${typeName(v)}`);
  return v;
}

function intArg(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(`${what} expects an integer, got ${typeName(v)}`);
  return v;
}

function finite(n: number, what: string): number {
  if (!Number.isFinite(n)) fail(`${what}: numeric result out of range`);
  return n === 0 ? 0 : n; // no -0
}

/** Attribute getter for map/sort/selectattr...: 'a.b.0' walks mapping keys and list indices. */
export function attrGetter(attr: unknown): (v: unknown) => unknown {
  if (typeof attr === 'number') return (v) => getItem(v, attr);
  const parts = str(attr).split('.');
  return (v) => {
    let x = v;
    for (const p of parts) {
      if (x === undefined || x === null) return undefined;
      x = Array.isArray(x) || typeof x === 'string' ? (/^-?\d+$/.test(p) ? getItem(x, Number(p)) : undefined) : getItem(x, p);
    }
    return x;
  };
}

/** Bind positional + keyword arguments to a parameter list. Returns an error message on mismatch. */
export function bindParams<T>(
  what: string,
  params: [string, unknown][],
  args: T[],
  kwargs: [string, T][],
  dflt: (v: unknown) => T,
): T[] | string {
  if (args.length > params.length) return `${what} takes at most ${params.length} argument${params.length === 1 ? '' : 's'} (${args.length} given)`;
  const out: (T | undefined)[] = args.slice();
  const given = new Set<number>(args.map((_a, i) => i));
  for (const [k, v] of kwargs) {
    const i = params.findIndex(([n]) => n === k);
    if (i < 0) return `${what} got an unexpected keyword argument '${k}'`;
    if (given.has(i)) return `${what} got multiple values for argument '${k}'`;
    given.add(i);
    out[i] = v;
  }
  for (let i = 0; i < params.length; i++) if (!given.has(i)) out[i] = dflt(params[i][1]);
  return out as T[];
}

function kwToPairs(kw: Kw): [string, unknown][] {
  return kw === null ? [] : Object.keys(kw).map((k) => [k, kw[k]]);
}

function callFilterByName(c: Ctx, name: unknown, v: unknown, args: unknown[], kw: Kw): (x: unknown) => unknown {
  const f = typeof name === 'string' ? FILTERS.get(name) : undefined;
  if (f === undefined) fail(`no filter named '${str(name)}'`);
  if (f.variadic) return (x) => f.fn(c, x, args, kw);
  const bound = bindParams(`filter '${name}'`, f.params, args, kwToPairs(kw), (d) => d);
  if (typeof bound === 'string') fail(bound);
  return (x) => f.fn(c, x, bound, null);
}

function testByName(c: Ctx, name: unknown, args: unknown[]): (x: unknown) => boolean {
  const t = typeof name === 'string' ? TESTS.get(name) : undefined;
  if (t === undefined) fail(`no test named '${str(name)}'`);
  const bound = bindParams(`test '${name}'`, t.params, args, [], (d) => d);
  if (typeof bound === 'string') fail(bound);
  return (x) => t.fn(c, x, bound);
}

function selectLike(c: Ctx, v: unknown, args: unknown[], want: boolean, attr: boolean): unknown[] {
  const seq = toList(v);
  let get: (x: unknown) => unknown = (x) => x;
  let rest = args;
  if (attr) {
    if (args.length === 0) fail('selectattr/rejectattr requires an attribute name');
    get = attrGetter(args[0]);
    rest = args.slice(1);
  }
  const test = rest.length === 0 ? truthy : testByName(c, rest[0], rest.slice(1));
  const out: unknown[] = [];
  for (const x of seq) if (test(get(x)) === want) out.push(x);
  return out;
}

function sortKey(attr: unknown): ((v: unknown) => unknown)[] {
  if (attr === undefined || attr === null) return [(v) => v];
  if (typeof attr === 'string') return attr.split(',').map((a) => attrGetter(a.trim()));
  return [attrGetter(attr)];
}

function multiCompare(keys: ((v: unknown) => unknown)[], cs: boolean): (a: unknown, b: unknown) => number {
  return (a, b) => {
    for (const k of keys) {
      const r = sortCompare(k(a), k(b), cs);
      if (r !== 0) return r;
    }
    return 0;
  };
}

function uniqKey(v: unknown, cs: boolean): string {
  if (typeof v === 'string') return `s${cs ? v : v.toLowerCase()}`;
  return `j${typeName(v)}:${toJson(v)}`;
}

function minMax(v: unknown, cs: unknown, attr: unknown, sign: number): unknown {
  const seq = toList(v);
  if (seq.length === 0) return undefined;
  const keys = sortKey(attr);
  const cmp = multiCompare(keys, cs === true);
  let best = seq[0];
  for (let i = 1; i < seq.length; i++) if (cmp(seq[i], best) * sign > 0) best = seq[i];
  return best;
}

function parseIntLike(s: string, base: number): number | undefined {
  let t = s.trim();
  if (!/^[+-]?[0-9a-zA-Z]+(?:_[0-9a-zA-Z]+)*$/.test(t)) return undefined;
  t = t.replace(/_/g, '');
  let sign = 1;
  if (t[0] === '-' || t[0] === '+') {
    if (t[0] === '-') sign = -1;
    t = t.slice(1);
  }
  let b = base;
  const pref = /^0([xob])/i.exec(t);
  if (pref) {
    const pb = { x: 16, o: 8, b: 2 }[pref[1].toLowerCase() as 'x' | 'o' | 'b'];
    if (b === 0 || b === pb) {
      b = pb;
      t = t.slice(2);
    }
  }
  if (b === 0) b = 10;
  if (!Number.isInteger(b) || b < 2 || b > 36) return undefined;
  const digits = '0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, b);
  if (t.length === 0) return undefined;
  for (const ch of t.toLowerCase()) if (!digits.includes(ch)) return undefined;
  const n = parseInt(t, b) * sign;
  return Number.isFinite(n) ? n || 0 : undefined;
}

const PY_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function parseFloatLike(s: string): number | undefined {
  const t = s.trim().replace(/(\d)_(?=\d)/g, '$1');
  if (!PY_FLOAT.test(t)) return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

function toInt(v: unknown, dflt: unknown, base: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) || 0 : dflt;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const b = typeof base === 'number' ? base : 10;
    const i = parseIntLike(v, b);
    if (i !== undefined) return i;
    const f = parseFloatLike(v);
    return f === undefined ? dflt : Math.trunc(f) || 0;
  }
  return dflt;
}

function toFloat(v: unknown, dflt: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : dflt;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    const f = parseFloatLike(v);
    return f === undefined ? dflt : f;
  }
  return dflt;
}

/** x * 10^p computed on the shortest decimal representation of x (so 42.55 -> 425.5, not 425.49999). */
function shiftDecimal(x: number, p: number): number {
  const [m, e] = x.toExponential().split('e');
  return Number(`${m}e${Number(e) + p}`);
}

/** Rounding on the decimal value authors see: 42.55|round(1) = 42.6, 1.005|round(2) = 1.01 (half away from zero). */
function roundNum(v: unknown, precision: unknown, method: unknown): number {
  const x = num(v, 'round');
  const p = intArg(precision, 'round precision');
  const m = str(method);
  if (m !== 'common' && m !== 'floor' && m !== 'ceil') fail("round method must be 'common', 'ceil' or 'floor'");
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  const shifted = shiftDecimal(a, p);
  let r: number;
  if (m === 'common') r = Math.round(shifted);
  else if ((m === 'floor') === x > 0) r = Math.floor(shifted);
  else r = Math.ceil(shifted);
  return finite(Math.sign(x) * shiftDecimal(r, -p), 'round');
}

function b64decode(s: string): string {
  const t = s.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(t) || t.replace(/=+$/, '').length % 4 === 1) fail('b64decode: invalid base64 input');
  return Buffer.from(t, t.includes('-') || t.includes('_') ? 'base64url' : 'base64').toString('utf8');
}

function urlencode(v: unknown): string {
  if (typeof v === 'string' || !(Array.isArray(v) || isMapping(v))) return pyQuote(str(v), '/', false);
  const pairs: [unknown, unknown][] = isMapping(v)
    ? Object.keys(v).map((k) => [k, v[k]])
    : v.map((p) => {
        if (!Array.isArray(p) || p.length !== 2) fail('urlencode expects a mapping or a list of [key, value] pairs');
        return [p[0], p[1]] as [unknown, unknown];
      });
  return pairs.map(([k, x]) => `${pyQuote(str(k), '', true)}=${pyQuote(str(x), '', true)}`).join('&');
}

function truncate(s: string, length: unknown, killwords: unknown, end: unknown, leeway: unknown): string {
  const len = intArg(length, 'truncate length');
  const e = str(end);
  const lw = leeway === undefined || leeway === null ? 5 : intArg(leeway, 'truncate leeway');
  const cps = codePoints(s);
  if (cps.length <= len + lw) return s;
  const cut = cps.slice(0, Math.max(0, len - e.length)).join('');
  if (truthy(killwords)) return cut + e;
  const sp = cut.lastIndexOf(' ');
  return (sp >= 0 ? cut.slice(0, sp) : cut) + e;
}

function indent(s: string, width: unknown, first: unknown, blank: unknown): string {
  const pad = typeof width === 'string' ? width : ' '.repeat(intArg(width, 'indent width'));
  const lines = s.split('\n');
  return lines
    .map((l, i) => ((i === 0 && !truthy(first)) || (l.trim() === '' && !truthy(blank)) ? l : pad + l))
    .join('\n');
}

function fromJson(v: unknown): unknown {
  if (typeof v !== 'string') return v; // already parsed data (or undefined/none) passes through
  try {
    return JSON.parse(v) as unknown;
  } catch (e) {
    return fail(`fromjson: invalid JSON (${(e as Error).message})`);
  }
}

// ---------------------------------------------------------------- filters
const F = new Map<string, FilterDef>();
function def(names: string | string[], params: [string, unknown][], fn: FilterDef['fn'], extra: Partial<FilterDef> = {}): void {
  for (const n of Array.isArray(names) ? names : [names]) F.set(n, { params, fn, ...extra });
}

def(['default', 'd'], [['default_value', ''], ['boolean', false]], (_c, v, [d, b]) => (v === undefined || v === null || (truthy(b) && !truthy(v)) ? d : v), { tolerant: true });
def('int', [['default', 0], ['base', 10]], (_c, v, [d, b]) => toInt(v, d, b));
def('float', [['default', 0], ], (_c, v, [d]) => toFloat(v, d));
def('string', [], (_c, v) => str(v));
def('bool', [], (_c, v) => isTruthy(v));
def('lower', [], (_c, v) => str(v).toLowerCase());
def('upper', [], (_c, v) => str(v).toUpperCase());
def(['trim', 'strip'], [['chars', null]], (_c, v, [ch]) => pyStrip(str(v), ch, true, true));
def('capitalize', [], (_c, v) => pyCapitalize(str(v)));
def('title', [], (_c, v) => jinjaTitle(str(v)));
def('replace', [['old', ''], ['new', ''], ['count', null]], (_c, v, [o, n, k]) => pyReplace(str(v), o, n, k));
def(['length', 'count'], [], (_c, v) => {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'string') return cpLength(v);
  if (Array.isArray(v)) return v.length;
  if (isMapping(v)) return Object.keys(v).length;
  return fail(`object of type ${typeName(v)} has no length`);
});
def('first', [], (_c, v) => {
  const l = typeof v === 'string' ? codePoints(v) : toList(v);
  return l.length > 0 ? l[0] : undefined;
});
def('last', [], (_c, v) => {
  const l = typeof v === 'string' ? codePoints(v) : toList(v);
  return l.length > 0 ? l[l.length - 1] : undefined;
});
def('join', [['d', ''], ['attribute', null]], (c, v, [sep, attr]) => {
  const l = toList(v);
  const g = attr === null || attr === undefined ? undefined : attrGetter(attr);
  const s = str(sep);
  let out = '';
  for (let i = 0; i < l.length; i++) {
    out += (i === 0 ? '' : s) + str(g ? g(l[i]) : l[i]);
    if (out.length > c.maxOut) limitFail(`output size limit exceeded (${c.maxOut} bytes)`);
  }
  return out;
});
def('split', [['sep', null], ['maxsplit', -1]], (_c, v, [sep, max]) => pySplit(str(v), sep, max));
def('tojson', [['indent', null]], (_c, v, [ind]) =>
  toJson(v, ind === null || ind === undefined ? undefined : typeof ind === 'number' ? ' '.repeat(intArg(ind, 'tojson indent')) : str(ind)),
);
def('fromjson', [], (_c, v) => fromJson(v));
def('keys', [], (_c, v) => (isMapping(v) ? Object.keys(v) : v === undefined || v === null ? [] : fail(`keys expects a mapping, got ${typeName(v)}`)));
def('values', [], (_c, v) =>
  isMapping(v) ? Object.keys(v).map((k) => v[k]) : v === undefined || v === null ? [] : fail(`values expects a mapping, got ${typeName(v)}`),
);
def('items', [], (_c, v) =>
  isMapping(v) ? Object.keys(v).map((k) => [k, v[k]]) : v === undefined || v === null ? [] : fail(`items expects a mapping, got ${typeName(v)}`),
);
def('dictsort', [['case_sensitive', false], ['by', 'key'], ['reverse', false]], (_c, v, [cs, by, rev]) => {
  if (!isMapping(v)) return v === undefined || v === null ? [] : fail(`dictsort expects a mapping, got ${typeName(v)}`);
  const pos = by === 'value' ? 1 : by === 'key' ? 0 : fail("dictsort: 'by' must be 'key' or 'value'");
  const items = Object.keys(v).map((k) => [k, v[k]] as [string, unknown]);
  items.sort((a, b) => sortCompare(a[pos], b[pos], truthy(cs)) * (truthy(rev) ? -1 : 1));
  return items;
});
def('list', [], (_c, v) => toList(v).slice());
def('round', [['precision', 0], ['method', 'common']], (_c, v, [p, m]) => roundNum(v, p, m));
def('abs', [], (_c, v) => Math.abs(num(v, 'abs')));
def('min', [['case_sensitive', false], ['attribute', null]], (_c, v, [cs, a]) => minMax(v, cs, a, -1));
def('max', [['case_sensitive', false], ['attribute', null]], (_c, v, [cs, a]) => minMax(v, cs, a, 1));
def('sum', [['attribute', null], ['start', 0]], (_c, v, [attr, start]) => {
  const g = attr === null || attr === undefined ? undefined : attrGetter(attr);
  if (Array.isArray(start)) {
    // Python's sum over lists, as Jinja2 runs it: `sum(start=[])` concatenates (flattens one level)
    let out: unknown[] = start.slice();
    for (const x of toList(v)) {
      const item = g ? g(x) : x;
      if (!Array.isArray(item)) fail(`sum with a list start expects lists, got ${typeName(item)}`);
      out = out.concat(item);
    }
    return out;
  }
  let total = num(start, 'sum start');
  for (const x of toList(v)) total += num(g ? g(x) : x, 'sum');
  return finite(total, 'sum');
});
def('sort', [['reverse', false], ['case_sensitive', false], ['attribute', null]], (_c, v, [rev, cs, attr]) => {
  const l = toList(v).slice();
  const cmp = multiCompare(sortKey(attr), truthy(cs));
  const sign = truthy(rev) ? -1 : 1;
  return l.sort((a, b) => cmp(a, b) * sign);
});
def('unique', [['case_sensitive', false], ['attribute', null]], (_c, v, [cs, attr]) => {
  const g = attr === null || attr === undefined ? (x: unknown) => x : attrGetter(attr);
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const x of toList(v)) {
    const k = uniqKey(g(x), truthy(cs));
    if (!seen.has(k)) {
      seen.add(k);
      out.push(x);
    }
  }
  return out;
});
def('reverse', [], (_c, v) => (typeof v === 'string' ? codePoints(v).reverse().join('') : toList(v).slice().reverse()));
def(
  'map',
  [],
  (c, v, args, kw) => {
    const seq = toList(v);
    if (kw !== null && hasOwn.call(kw, 'attribute')) {
      const g = attrGetter(kw.attribute);
      const d = kw.default;
      return seq.map((x) => {
        const r = g(x);
        return r === undefined ? d : r;
      });
    }
    if (args.length === 0) fail('map requires a filter name or attribute=...');
    const f = callFilterByName(c, args[0], undefined, args.slice(1), kw);
    return seq.map(f);
  },
  { variadic: true },
);
def('select', [], (c, v, a) => selectLike(c, v, a, true, false), { variadic: true });
def('reject', [], (c, v, a) => selectLike(c, v, a, false, false), { variadic: true });
def('selectattr', [], (c, v, a) => selectLike(c, v, a, true, true), { variadic: true });
def('rejectattr', [], (c, v, a) => selectLike(c, v, a, false, true), { variadic: true });
def('b64encode', [], (_c, v) => Buffer.from(str(v), 'utf8').toString('base64'));
def('b64decode', [], (_c, v) => b64decode(str(v)));
def('urlencode', [], (_c, v) => urlencode(v));
def('get', [['key', null], ['default', null]], (_c, v, [k, d]) => {
  const r = getItem(v, k);
  return r === undefined ? d : r;
});
def('attr', [['name', '']], (_c, v, [n]) => getAttr(v, str(n)));
def('safe', [], (_c, v) => v);
def(['escape', 'e', 'forceescape'], [], (_c, v) => htmlEscape(str(v)));
def('center', [['width', 80]], (_c, v, [w]) => center(str(v), intArg(w, 'center width')));
def('indent', [['width', 4], ['first', false], ['blank', false]], (_c, v, [w, f, b]) => indent(str(v), w, f, b));
def('truncate', [['length', 255], ['killwords', false], ['end', '...'], ['leeway', null]], (_c, v, [l, k, e, lw]) => truncate(str(v), l, k, e, lw));
def('wordcount', [], (_c, v) => (str(v).match(/[\p{L}\p{N}_]+/gu) ?? []).length);
def('striptags', [], (_c, v) =>
  str(v)
    .replace(/<!--[\s\S]*?-->|<[^>]*>/g, '')
    .replace(/\s+/g, ' ')
    .trim(),
);
def('format', [], (_c, v, a, kw) => percentFormat(str(v), a, kw), { variadic: true });
def('batch', [['linecount', 1], ['fill_with', null]], (_c, v, [n, fill]) => {
  const size = intArg(n, 'batch linecount');
  if (size <= 0) fail('batch linecount must be positive');
  const seq = toList(v);
  const out: unknown[][] = [];
  for (let i = 0; i < seq.length; i += size) out.push(seq.slice(i, i + size));
  if (fill !== null && fill !== undefined && out.length > 0) {
    const last = out[out.length - 1];
    while (last.length < size) last.push(fill);
  }
  return out;
});

export const FILTERS: ReadonlyMap<string, FilterDef> = F;

// ---------------------------------------------------------------- tests
const T = new Map<string, TestDef>();
function test(names: string | string[], params: [string, unknown][], fn: TestDef['fn'], tolerant = false): void {
  for (const n of Array.isArray(names) ? names : [names]) T.set(n, { params, fn, tolerant });
}
const isNum = (v: unknown): v is number => typeof v === 'number';
const ord = (f: (r: number) => boolean) => (_c: Ctx, v: unknown, [o]: unknown[]) => {
  if (isNum(v) && isNum(o)) return f(v < o ? -1 : v > o ? 1 : 0);
  if (typeof v === 'string' && typeof o === 'string') return f(sortCompare(v, o, true));
  return false;
};

test('defined', [], (_c, v) => v !== undefined, true);
test('undefined', [], (_c, v) => v === undefined, true);
test('none', [], (_c, v) => v === null, true);
test('true', [], (_c, v) => v === true, true);
test('false', [], (_c, v) => v === false, true);
test('boolean', [], (_c, v) => typeof v === 'boolean', true);
test('string', [], (_c, v) => typeof v === 'string', true);
test('number', [], (_c, v) => typeof v === 'number', true);
test('integer', [], (_c, v) => typeof v === 'number' && Number.isInteger(v), true);
test('float', [], (_c, v) => typeof v === 'number' && !Number.isInteger(v), true);
test('mapping', [], (_c, v) => isMapping(v), true);
test('sequence', [], (_c, v) => Array.isArray(v) || typeof v === 'string', true);
test('iterable', [], (_c, v) => Array.isArray(v) || typeof v === 'string' || isMapping(v), true);
test('callable', [], () => false, true);
test('escaped', [], () => false, true);
test('even', [], (_c, v) => isNum(v) && Number.isInteger(v) && v % 2 === 0);
test('odd', [], (_c, v) => isNum(v) && Number.isInteger(v) && Math.abs(v % 2) === 1);
test('divisibleby', [['num', undefined]], (_c, v, [n]) => {
  if (!isNum(v) || !isNum(n)) return false;
  if (n === 0) fail('divisibleby: division by zero');
  return v % n === 0;
});
test('in', [['seq', undefined]], (_c, v, [s]) => contains(s, v));
test(['eq', 'equalto', '=='], [['other', undefined]], (_c, v, [o]) => deepEqual(v, o));
test(['ne', '!='], [['other', undefined]], (_c, v, [o]) => !deepEqual(v, o));
test(['lt', 'lessthan', '<'], [['other', undefined]], ord((r) => r < 0));
test(['le', '<='], [['other', undefined]], ord((r) => r <= 0));
test(['gt', 'greaterthan', '>'], [['other', undefined]], ord((r) => r > 0));
test(['ge', '>='], [['other', undefined]], ord((r) => r >= 0));
test('sameas', [['other', undefined]], (_c, v, [o]) => v === o);
test('lower', [], (_c, v) => typeof v === 'string' && v === v.toLowerCase());
test('upper', [], (_c, v) => typeof v === 'string' && v === v.toUpperCase());
test('filter', [['name', undefined]], (_c, v) => typeof v === 'string' && F.has(v), true);
test('test', [['name', undefined]], (_c, v) => typeof v === 'string' && T.has(v), true);

export const TESTS: ReadonlyMap<string, TestDef> = T;

// ---------------------------------------------------------------- globals
export interface RangeSpec {
  start: number;
  step: number;
  len: number;
}

export function rangeSpec(args: unknown[]): RangeSpec {
  if (args.length < 1 || args.length > 3) fail(`range expects 1 to 3 arguments, got ${args.length}`);
  const ns = args.map((a) => intArg(a, 'range'));
  const [start, stop, step] = ns.length === 1 ? [0, ns[0], 1] : [ns[0], ns[1], ns[2] ?? 1];
  if (step === 0) fail('range() step must not be zero');
  const len = step > 0 ? Math.max(0, Math.ceil((stop - start) / step)) : Math.max(0, Math.ceil((start - stop) / -step));
  return { start, step, len };
}

export type GlobalFn = (c: Ctx, args: unknown[], kw: Kw) => unknown;

const G = new Map<string, GlobalFn>();
G.set('range', (c, args, kw) => {
  if (kw !== null) fail('range() takes no keyword arguments');
  const r = rangeSpec(args);
  chargeSteps(c, r.len);
  const out = new Array<number>(r.len);
  for (let i = 0; i < r.len; i++) out[i] = r.start + i * r.step;
  return out;
});
G.set('dict', (_c, args, kw) => {
  const out: Dict = {};
  if (args.length > 1) fail('dict expects at most 1 positional argument');
  if (args.length === 1) {
    const a = args[0];
    if (isMapping(a)) for (const k of Object.keys(a)) setKey(out, k, a[k]);
    else if (Array.isArray(a)) {
      for (const p of a) {
        if (!Array.isArray(p) || p.length !== 2) fail('dict() expects a list of [key, value] pairs');
        setKey(out, str(p[0]), p[1]);
      }
    } else if (a !== undefined && a !== null) fail(`dict() cannot convert ${typeName(a)}`);
  }
  if (kw !== null) for (const k of Object.keys(kw)) setKey(out, k, kw[k]);
  return out;
});
G.set('now', (c, args) => {
  if (args.length > 0) fail('now() takes no arguments');
  const d = c.nowFn ? c.nowFn() : new Date();
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) fail('now(): the clock returned an invalid date');
  return d.toISOString();
});

export const GLOBALS: ReadonlyMap<string, GlobalFn> = G;

// ---------------------------------------------------------------- whitelisted methods
export type MethodFn = (c: Ctx, recv: unknown, args: unknown[], kw: Kw) => unknown;

function noKw(name: string, kw: Kw): void {
  if (kw !== null) fail(`${name}() takes no keyword arguments`);
}

function arity(name: string, args: unknown[], min: number, max: number): void {
  if (args.length < min || args.length > max) {
    fail(`${name}() takes ${min === max ? min : `${min} to ${max}`} argument${max === 1 ? '' : 's'} (${args.length} given)`);
  }
}

function prefixCheck(name: string, s: string, args: unknown[], atEnd: boolean): boolean {
  arity(name, args, 1, 3);
  const cps = codePoints(s);
  const norm = (v: unknown, d: number) => {
    if (v === undefined || v === null) return d;
    const i = intArg(v, name);
    return i < 0 ? Math.max(0, cps.length + i) : Math.min(i, cps.length);
  };
  const sub = cps.slice(norm(args[1], 0), norm(args[2], cps.length)).join('');
  const cands = Array.isArray(args[0]) ? args[0] : [args[0]];
  return cands.some((p) => {
    if (typeof p !== 'string') fail(`${name}() expects a string or a list of strings`);
    return atEnd ? sub.endsWith(p) : sub.startsWith(p);
  });
}

const STR_METHODS: Record<string, (s: string, a: unknown[], kw: Kw) => unknown> = {
  startswith: (s, a, kw) => (noKw('startswith', kw), prefixCheck('startswith', s, a, false)),
  endswith: (s, a, kw) => (noKw('endswith', kw), prefixCheck('endswith', s, a, true)),
  strip: (s, a, kw) => (noKw('strip', kw), arity('strip', a, 0, 1), pyStrip(s, a[0], true, true)),
  lstrip: (s, a, kw) => (noKw('lstrip', kw), arity('lstrip', a, 0, 1), pyStrip(s, a[0], true, false)),
  rstrip: (s, a, kw) => (noKw('rstrip', kw), arity('rstrip', a, 0, 1), pyStrip(s, a[0], false, true)),
  split: (s, a, kw) => {
    arity('split', a, 0, 2);
    return pySplit(s, kw && hasOwn.call(kw, 'sep') ? kw.sep : a[0], kw && hasOwn.call(kw, 'maxsplit') ? kw.maxsplit : a[1]);
  },
  upper: (s, a, kw) => (noKw('upper', kw), arity('upper', a, 0, 0), s.toUpperCase()),
  lower: (s, a, kw) => (noKw('lower', kw), arity('lower', a, 0, 0), s.toLowerCase()),
  title: (s, a, kw) => (noKw('title', kw), arity('title', a, 0, 0), jinjaTitle(s)),
  capitalize: (s, a, kw) => (noKw('capitalize', kw), arity('capitalize', a, 0, 0), pyCapitalize(s)),
  replace: (s, a, kw) => (noKw('replace', kw), arity('replace', a, 2, 3), pyReplace(s, a[0], a[1], a[2])),
  format: (s, a, kw) => strFormat(s, a, kw),
  join: (s, a, kw) => (noKw('join', kw), arity('join', a, 1, 1), toList(a[0]).map(str).join(s)),
  count: (s, a, kw) => (noKw('count', kw), arity('count', a, 1, 1), pyCount(s, str(a[0]))),
  find: (s, a, kw) => (noKw('find', kw), arity('find', a, 1, 1), pyFind(s, str(a[0]))),
  index: (s, a, kw) => {
    noKw('index', kw);
    arity('index', a, 1, 1);
    const i = pyFind(s, str(a[0]));
    return i < 0 ? fail('index(): substring not found') : i;
  },
};

const LIST_METHODS: Record<string, (l: unknown[], a: unknown[], kw: Kw) => unknown> = {
  count: (l, a, kw) => (noKw('count', kw), arity('count', a, 1, 1), l.filter((x) => deepEqual(x, a[0])).length),
  index: (l, a, kw) => {
    noKw('index', kw);
    arity('index', a, 1, 1);
    const i = l.findIndex((x) => deepEqual(x, a[0]));
    return i < 0 ? fail('index(): value is not in list') : i;
  },
};

const MAP_METHODS: Record<string, (m: Dict, a: unknown[], kw: Kw) => unknown> = {
  get: (m, a, kw) => {
    noKw('get', kw);
    arity('get', a, 1, 2);
    const r = getItem(m, a[0]);
    return r === undefined ? (a.length > 1 ? a[1] : null) : r;
  },
  items: (m, a, kw) => (noKw('items', kw), arity('items', a, 0, 0), Object.keys(m).map((k) => [k, m[k]])),
  keys: (m, a, kw) => (noKw('keys', kw), arity('keys', a, 0, 0), Object.keys(m)),
  values: (m, a, kw) => (noKw('values', kw), arity('values', a, 0, 0), Object.keys(m).map((k) => m[k])),
};

export const METHOD_NAMES: ReadonlySet<string> = new Set([...Object.keys(STR_METHODS), ...Object.keys(LIST_METHODS), ...Object.keys(MAP_METHODS)]);

/** Call whitelisted method `name` on `recv`. Unknown names are rejected by the caller before evaluation. */
export function callMethod(recv: unknown, name: string, args: unknown[], kw: Kw): unknown {
  if (recv === undefined || recv === null) return undefined; // chainable undefined
  if (typeof recv === 'string') {
    if (hasOwn.call(STR_METHODS, name)) return STR_METHODS[name](recv, args, kw);
  } else if (Array.isArray(recv)) {
    if (hasOwn.call(LIST_METHODS, name)) return LIST_METHODS[name](recv, args, kw);
  } else if (isMapping(recv)) {
    if (hasOwn.call(MAP_METHODS, name)) return MAP_METHODS[name](recv, args, kw);
  }
  return fail(`${typeName(recv)} has no method '${name}'`);
}
