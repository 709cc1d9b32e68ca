// The value model of the template language and the helpers every other module uses.
// JS `undefined` = Jinja undefined; `null` = none; otherwise plain JSON values.
// SECURITY: the only way a template reads data is getAttr/getItem below: own enumerable
// properties of plain objects and indices of arrays/strings. Functions are never values.
import { fail } from './errors';

const hasOwn = Object.prototype.hasOwnProperty;
const isEnum = Object.prototype.propertyIsEnumerable;
const OBJECT_PROTO: unknown = Object.prototype;

export type Dict = Record<string, unknown>;

// ---------------------------------------------------------------- fallback registry
const FALLBACKS = new WeakMap<object, (key: string) => unknown>();
let fallbackCount = 0;

/** Register a read-only virtual-key hook on `obj` (see index.ts). Returns `obj`. */
export function defineFallback<T extends object>(obj: T, fallback: (key: string) => unknown): T {
  if (typeof obj !== 'object' || obj === null || typeof fallback !== 'function') {
    throw new TypeError('defineFallback(obj, fallback): obj must be an object and fallback a function');
  }
  if (!FALLBACKS.has(obj)) fallbackCount++;
  FALLBACKS.set(obj, fallback);
  return obj;
}

/** true if `obj` has a registered fallback hook */
export function hasFallback(obj: object): boolean {
  return fallbackCount !== 0 && FALLBACKS.has(obj);
}

function readFallback(obj: object, key: string): unknown {
  const fb = FALLBACKS.get(obj);
  if (fb === undefined) return undefined;
  const v = fb(key);
  return typeof v === 'function' ? undefined : v;
}

// ---------------------------------------------------------------- type predicates
export function isMapping(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function typeName(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'none';
  if (Array.isArray(v)) return 'list';
  switch (typeof v) {
    case 'object':
      return 'mapping';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    default:
      return typeof v;
  }
}

/** Own enumerable string keys (insertion order; JS puts integer-like keys first). */
export function ownKeys(o: object): string[] {
  return Object.keys(o);
}

export function hasOwnKey(o: object, key: string): boolean {
  return isEnum.call(o, key);
}

// ---------------------------------------------------------------- access
/** `obj.key`: own enumerable property of a mapping, else the registered fallback, else undefined. */
export function getAttr(obj: unknown, key: string): unknown {
  if (typeof obj === 'object' && obj !== null && !Array.isArray(obj)) {
    if (hasOwn.call(obj, key)) {
      // plain objects: every own property is data; other objects (class instances, Errors...):
      // own *enumerable* properties only (no `stack`, no accessors hidden by the host)
      const p: unknown = Object.getPrototypeOf(obj);
      if (p === OBJECT_PROTO || p === null || isEnum.call(obj, key)) {
        const v = (obj as Dict)[key];
        return typeof v === 'function' ? undefined : v;
      }
      return undefined;
    }
    if (fallbackCount !== 0) return readFallback(obj, key);
  }
  return undefined;
}

/** `obj[key]`: list/string index (negative from the end), mapping key. Anything else: undefined. */
export function getItem(obj: unknown, key: unknown): unknown {
  if (typeof obj !== 'object' || obj === null) {
    if (typeof obj === 'string' && typeof key === 'number' && Number.isInteger(key)) return charAt(obj, key);
    return undefined;
  }
  if (Array.isArray(obj)) {
    if (typeof key !== 'number' || !Number.isInteger(key)) return undefined;
    const i = key < 0 ? obj.length + key : key;
    if (i < 0 || i >= obj.length || !hasOwn.call(obj, i)) return undefined;
    const v: unknown = obj[i];
    return typeof v === 'function' ? undefined : v;
  }
  if (typeof key === 'string') return getAttr(obj, key);
  if (typeof key === 'number' && Number.isFinite(key)) return getAttr(obj, String(key));
  return undefined;
}

// ---------------------------------------------------------------- strings by code point
const SURROGATE = /[\uD800-\uDFFF]/;

export function hasSurrogates(s: string): boolean {
  return SURROGATE.test(s);
}

export function codePoints(s: string): string[] {
  return hasSurrogates(s) ? Array.from(s) : s.split('');
}

export function cpLength(s: string): number {
  if (!hasSurrogates(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function charAt(s: string, index: number): string | undefined {
  if (!hasSurrogates(s)) {
    const i = index < 0 ? s.length + index : index;
    return i >= 0 && i < s.length ? s[i] : undefined;
  }
  const cps = Array.from(s);
  const i = index < 0 ? cps.length + index : index;
  return i >= 0 && i < cps.length ? cps[i] : undefined;
}

/** Convert a UTF-16 index into a code-point index. */
export function cpIndex(s: string, unitIndex: number): number {
  if (unitIndex <= 0 || !hasSurrogates(s)) return unitIndex;
  return cpLength(s.slice(0, unitIndex));
}

/** Code-point order comparison (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function cmpStr(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        const xs = x <= 0xdfff;
        const ys = y <= 0xdfff;
        if (xs !== ys) return xs ? 1 : -1;
      }
      return x < y ? -1 : 1;
    }
  }
  return a.length - b.length;
}

// ---------------------------------------------------------------- slices (Python semantics)
export function sliceIndices(len: number, start: unknown, stop: unknown, step: unknown): number[] {
  const st = step === undefined || step === null ? 1 : step;
  if (typeof st !== 'number' || !Number.isInteger(st)) fail('slice step must be an integer');
  if (st === 0) fail('slice step cannot be zero');
  const norm = (v: unknown, dflt: number, lo: number, hi: number): number => {
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v)) fail('slice indices must be integers or none');
    let i = v < 0 ? v + len : v;
    if (i < lo) i = lo;
    if (i > hi) i = hi;
    return i;
  };
  const out: number[] = [];
  if (st > 0) {
    const a = norm(start, 0, 0, len);
    const b = norm(stop, len, 0, len);
    for (let i = a; i < b; i += st) out.push(i);
  } else {
    const a = norm(start, len - 1, -1, len - 1);
    const b = norm(stop, -1, -1, len - 1);
    for (let i = a; i > b; i += st) out.push(i);
  }
  return out;
}

export function sliceValue(obj: unknown, start: unknown, stop: unknown, step: unknown): unknown {
  if (Array.isArray(obj)) {
    if (step === undefined || step === null) {
      const idx = sliceIndices(obj.length, start, stop, 1);
      return idx.length === 0 ? [] : obj.slice(idx[0], idx[idx.length - 1] + 1);
    }
    return sliceIndices(obj.length, start, stop, step).map((i) => obj[i] as unknown);
  }
  if (typeof obj === 'string') {
    const cps = codePoints(obj);
    return sliceIndices(cps.length, start, stop, step)
      .map((i) => cps[i])
      .join('');
  }
  return undefined;
}

// ---------------------------------------------------------------- truthiness
/** Python/Jinja truthiness, used inside the language (`and`, `or`, `not`, `if`, select/reject). */
export function truthy(v: unknown): boolean {
  if (v === true) return true;
  if (!v) return false; // false, 0, NaN, '', null, undefined
  if (typeof v === 'object') {
    if (Array.isArray(v)) return v.length > 0;
    for (const k in v) if (hasOwn.call(v, k)) return true;
    return false;
  }
  return true;
}

const FALSY_STRINGS = new Set(['false', '0', 'no', 'off', 'none', 'null']);

/** dsl R6.3: truthiness of a `when` result (and of the `bool` filter). */
export function isTruthy(v: unknown): boolean {
  if (typeof v === 'string') {
    if (v.length === 0) return false;
    const t = v.trim();
    return t.length > 5 || !FALSY_STRINGS.has(t.toLowerCase());
  }
  return truthy(v);
}

// ---------------------------------------------------------------- equality and ordering
export function deepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (depth > 256) fail('value nested too deeply to compare (cycle?)');
  const aa = Array.isArray(a);
  if (aa !== Array.isArray(b)) return false;
  if (aa) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!deepEqual(x[i], y[i], depth + 1)) return false;
    return true;
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!isEnum.call(b, k)) return false;
    if (!deepEqual((a as Dict)[k], (b as Dict)[k], depth + 1)) return false;
  }
  return true;
}

/** -1/0/1 for number/number and string/string; NaN for anything else (ordering is then false). */
export function compareOrder(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : a === b ? 0 : NaN;
  if (typeof a === 'string' && typeof b === 'string') return cmpStr(a, b);
  return NaN;
}

const RANK: Record<string, number> = { undefined: 0, none: 1, boolean: 2, number: 3, string: 4, list: 5, mapping: 6 };

/** Total order used by sort/min/max/unique: by type rank, then by value. */
export function sortCompare(a: unknown, b: unknown, caseSensitive: boolean): number {
  if (typeof a === 'string' && typeof b === 'string') {
    return caseSensitive ? cmpStr(a, b) : cmpStr(a.toLowerCase(), b.toLowerCase());
  }
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  const ra = RANK[typeName(a)] ?? 7;
  const rb = RANK[typeName(b)] ?? 7;
  if (ra !== rb) return ra - rb;
  if (typeof a === 'boolean') return (a ? 1 : 0) - ((b as boolean) ? 1 : 0);
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = sortCompare(a[i], b[i], caseSensitive);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  if (isMapping(a) && isMapping(b)) return cmpStr(toJson(a), toJson(b));
  return 0;
}

/** `needle in hay`: list element (deep equality), mapping own key, substring. */
export function contains(hay: unknown, needle: unknown): boolean {
  if (typeof hay === 'string') return typeof needle === 'string' && hay.includes(needle);
  if (Array.isArray(hay)) {
    if (typeof needle !== 'object' || needle === null) {
      for (let i = 0; i < hay.length; i++) if (hay[i] === needle) return true;
      return false;
    }
    for (let i = 0; i < hay.length; i++) if (deepEqual(hay[i], needle)) return true;
    return false;
  }
  if (isMapping(hay)) return typeof needle === 'string' && isEnum.call(hay, needle);
  return false;
}

// ---------------------------------------------------------------- string conversion and JSON
/** dsl §12.7 string conversion. */
export function toTemplateString(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v === null ? '' : toJson(v);
    case 'bigint':
      return String(v);
    default:
      return ''; // undefined, function, symbol
  }
}

/** Compact JSON (keys in insertion order, own enumerable keys only); undefined -> null. */
export function toJson(v: unknown, indent?: string): string {
  const s = ser(v, 0, indent, '');
  return s === undefined ? 'null' : s;
}

function ser(v: unknown, depth: number, indent: string | undefined, cur: string): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return String(v);
    case 'object': {
      if (v === null) return 'null';
      if (depth > 512) fail('value nested too deeply to serialize (cycle?)');
      const inner = indent === undefined ? undefined : cur + indent;
      const sep = inner === undefined ? ',' : `,\n${inner}`;
      const open = inner === undefined ? '' : `\n${inner}`;
      const close = inner === undefined ? '' : `\n${cur}`;
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        let out = '';
        for (let i = 0; i < v.length; i++) {
          const s = ser(v[i], depth + 1, indent, inner ?? '');
          out += (i === 0 ? '' : sep) + (s === undefined ? 'null' : s);
        }
        return `[${open}${out}${close}]`;
      }
      let out = '';
      let first = true;
      const colon = inner === undefined ? ':' : ': ';
      for (const k of Object.keys(v)) {
        const s = ser((v as Dict)[k], depth + 1, indent, inner ?? '');
        if (s === undefined) continue;
        out += (first ? '' : sep) + JSON.stringify(k) + colon + s;
        first = false;
      }
      return first ? '{}' : `{${open}${out}${close}}`;
    }
    default:
      return undefined; // undefined, function, symbol
  }
}

/** Plain copy of a value (own keys only; drops fallbacks). Used for renderValue results. */
export function setKey(o: Dict, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** UTF-8 byte length of a JS string (lone surrogates count as 3, like U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function isIdentifier(s: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);
}
