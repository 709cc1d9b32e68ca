/**
 * Fast path of parseYamlSource: js-yaml (about 13x faster than the `yaml` CST parser on a 1 MB
 * playbook) with a YAML 1.2 core schema that resolves plain scalars exactly as `yaml` does.
 *
 * The `yaml` package stays the oracle: this path answers only for the plain, common subset and
 * gives up on anything unusual: any js-yaml error or warning, anchors, aliases, tags, merges,
 * `__proto__`, keys the two would stringify differently, non-finite numbers, directives, bare CR
 * line breaks, a BOM after the start, content on a `---` line, comments not preceded by white
 * space, and the block, multi-line and empty-node forms where js-yaml is more lenient or folds
 * differently (see the checks below). The caller then runs the `yaml` path unchanged, so every
 * E_YAML message and position still comes from there. yaml-fast.spec.ts compares both paths
 * (value, every position, loadPlaybook results) on the corpus and on generated documents.
 *
 * Source positions come from js-yaml's `listener` (open/close around every node): the start of
 * each node is its open position after separation space, which equals `yaml`'s `range[0]` for
 * the nodes accepted here. A container's direct child nodes are its keys and values in order, so
 * key and value offsets come along for free. Entries whose offset cannot be derived exactly (an
 * empty value in a flow mapping, say) mark their container partial: path lookups through it go
 * to the `yaml` index, built once on first need.
 */
import { FAILSAFE_SCHEMA, Type, load } from 'js-yaml';
import { LineCounter } from 'yaml';
import type { LoadOptions } from 'js-yaml';
import { SourceIndex, splitPath } from './source-index';
import type { WalkResult } from './source-index';

/** Thrown from the schema or the listener to abandon the fast path (never escapes this module). */
class GiveUp extends Error {}

function giveUp(reason: string): never {
  throw new GiveUp(reason);
}

/** The `yaml` package rejects implicit keys longer than 1024 chars; js-yaml does not. */
const MAX_IMPLICIT_KEY = 1000;

// ---- schema: YAML 1.2 core exactly as node_modules/yaml/dist/schema/core resolves it ----------
// js-yaml keeps one implicit type per tag, so each tag below covers all of `yaml`'s forms.

const NULL_RE = /^(?:~|[Nn]ull|NULL)$/;
const BOOL_RE = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_RE = /^[-+]?[0-9]+$/;
const INT_OCT_RE = /^0o[0-7]+$/;
const INT_HEX_RE = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN_RE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** First characters that can start a core-schema number (cheap pre-filter for plain strings). */
function numberStart(s: string): boolean {
  const c = s.charCodeAt(0);
  return (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46; // 0-9 + - .
}

function finite(n: number): number {
  if (!Number.isFinite(n)) giveUp('non-finite number'); // the `yaml` path reports it
  return n;
}

const nullType = new Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (s: string) => s.length <= 4 && (s[0] === '~' || s[0] === 'n' || s[0] === 'N') && NULL_RE.test(s),
  construct: () => null,
});

const boolType = new Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (s: string) => s.length <= 5 && s.length >= 4 && BOOL_RE.test(s),
  construct: (s: string) => s[0] === 't' || s[0] === 'T',
});

const intType = new Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (s: string) => numberStart(s) && (INT_RE.test(s) || INT_OCT_RE.test(s) || INT_HEX_RE.test(s)),
  // same conversions as `yaml` (parseInt, no BigInt): identical values, including -0
  construct: (s: string) => finite(INT_RE.test(s) ? parseInt(s, 10) : parseInt(s.substring(2), s[1] === 'o' ? 8 : 16)),
});

const floatType = new Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (s: string) => numberStart(s) && (FLOAT_NAN_RE.test(s) || FLOAT_EXP_RE.test(s) || FLOAT_RE.test(s)),
  construct: (s: string) => finite(FLOAT_NAN_RE.test(s) ? NaN : parseFloat(s)),
});

const CORE_12 = FAILSAFE_SCHEMA.extend({ implicit: [nullType, boolType, intType, floatType] });

// ---- the index ----------------------------------------------------------------------------------

const MAPPING = 1;
const PARTIAL = 2;

/** A growable Int32Array (offsets are < 2^31: input is size-limited long before). */
class Ints {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = v;
  }
}

/**
 * SourceIndex over flat arrays, filled while js-yaml parses: per container its offset, flags and
 * entry range; per entry its value offset, key offset (-1 in lists) and key. Lookups it cannot
 * answer exactly (a partial container on the path) are delegated to the `yaml` index.
 */
export class FastSourceIndex extends SourceIndex {
  private readonly ids = new Map<object, number>();
  private readonly cOffset = new Ints();
  private readonly cFlags = new Ints();
  private readonly cFrom = new Ints();
  private readonly cCount = new Ints();
  private readonly eValue = new Ints();
  private readonly eKey = new Ints();
  private readonly eName: string[] = [];
  private fastRoot: unknown = undefined;
  private fastRootOffset = 0;
  private oracleIndex: SourceIndex | undefined;

  constructor(
    linePos: (offset: number) => { line: number; col: number },
    private readonly oracle: () => SourceIndex,
  ) {
    super(linePos);
  }

  /** @internal */
  open(obj: object, offset: number, mapping: boolean): number {
    const id = this.cOffset.length;
    this.ids.set(obj, id);
    this.cOffset.push(offset);
    this.cFlags.push(mapping ? MAPPING : 0);
    this.cFrom.push(this.eValue.length);
    this.cCount.push(0);
    return id;
  }

  /** @internal one entry of the container opened last */
  entry(id: number, name: string, valueOffset: number, keyOffset: number): void {
    this.eValue.push(valueOffset);
    this.eKey.push(keyOffset);
    this.eName.push(name);
    this.cCount.data[id]++;
  }

  /** @internal */
  markPartial(id: number): void {
    this.cFlags.data[id] |= PARTIAL;
  }

  /** @internal */
  has(obj: object): boolean {
    return this.ids.has(obj);
  }

  override setRoot(value: unknown, offset: number): void {
    this.fastRoot = value;
    this.fastRootOffset = offset;
  }

  /** @internal */
  offsetOf(obj: object): number {
    return this.containerOffset(obj) ?? 0;
  }

  protected override containerOffset(obj: object): number | undefined {
    const id = this.ids.get(obj);
    return id === undefined ? undefined : this.cOffset.data[id];
  }

  /** Same walk as SourceIndex.walk over the flat arrays; the oracle's when a partial container is met. */
  override walk(path: string): WalkResult {
    let node: unknown = this.fastRoot;
    let offset = this.fastRootOffset;
    let keyOffset = -1;
    for (const seg of splitPath(path)) {
      const id = node !== null && typeof node === 'object' ? this.ids.get(node) : undefined;
      if (id === undefined) return { offset, keyOffset: -1, complete: false };
      const flags = this.cFlags.data[id];
      if (flags & PARTIAL) {
        this.oracleIndex ??= this.oracle();
        return this.oracleIndex.walk(path);
      }
      const from = this.cFrom.data[id];
      const count = this.cCount.data[id];
      let e = -1;
      if (flags & MAPPING) {
        for (let i = from + count - 1; i >= from; i--) {
          if (this.eName[i] === seg) {
            e = i;
            break;
          }
        }
      } else if (/^[0-9]+$/.test(seg) && Number(seg) < count) {
        e = from + Number(seg);
      }
      if (e < 0) return { offset, keyOffset: -1, complete: false };
      offset = this.eValue.data[e];
      keyOffset = this.eKey.data[e];
      node = (node as Record<string, unknown>)[seg];
    }
    return { offset, keyOffset, complete: true };
  }
}

/**
 * Offset -> line/column with the same line starts as `yaml`'s LineCounter (0 and after every
 * `\n`; a bare `\r` never reaches the fast path), computed on the first position asked for.
 */
function lazyLinePos(text: string): (offset: number) => { line: number; col: number } {
  let lc: LineCounter | undefined;
  return (offset) => {
    if (!lc) {
      lc = new LineCounter();
      lc.addNewLine(0);
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lc.addNewLine(i + 1);
    }
    return lc.linePos(Math.max(0, Math.min(offset, text.length)));
  };
}

// ---- the listener -------------------------------------------------------------------------------

/** The parts of js-yaml's loader state read here (`@types/js-yaml` does not declare them all). */
interface LoaderState {
  input: string;
  position: number;
  lineStart: number;
  kind: string | null;
  result: unknown;
}

// node kinds on the child stack
const K_EMPTY = 0;
const K_SCALAR = 1;
const K_COLLECTION = 2;

/** Index of the first character after spaces, tabs, line breaks and `#` comments. */
function skipSeparation(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
    } else if (c === 35) {
      while (i < s.length && s.charCodeAt(i) !== 10 && s.charCodeAt(i) !== 13) i++;
    } else {
      return i;
    }
  }
}

function hasTab(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 9) return true;
  return false;
}

/** Cheap checks on the raw text: constructs where the two parsers may disagree. */
function checkText(text: string): void {
  // bare CR: a line break for js-yaml, content for `yaml`
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) !== 10) giveUp('bare CR');
  }
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (text.charCodeAt(bom) === 37 || text.includes('\n%')) giveUp('directive'); // %YAML, %TAG
  // `yaml` skips a BOM anywhere at the start of a token, js-yaml keeps it as content
  if (text.indexOf('\ufeff', 1) >= 0) giveUp('BOM after the start');
  // content on a `---` / `...` line (`--- a: 1`): `yaml` rejects some of it, js-yaml takes it
  markerContent(text, '---');
  markerContent(text, '...');
}

function markerContent(text: string, marker: string): void {
  const at = (from: number) => {
    const n = text.indexOf(`\n${marker}`, from);
    return n < 0 ? -1 : n + 1;
  };
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (let i = text.startsWith(marker, bom) ? bom : at(0); i >= 0; i = at(i + 3)) {
    let j = i + 3;
    const next = text.charCodeAt(j);
    // `---x.y: 1` is a key for `yaml` (no marker without white space after it); js-yaml reads a
    // marker and then `x.y`
    if (j < text.length && next !== 32 && next !== 9 && next !== 10 && next !== 13) giveUp(`a line starting with ${marker}`);
    if (next !== 32 && next !== 9) continue;
    while (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9) j++;
    const c = text.charCodeAt(j);
    if (j < text.length && c !== 10 && c !== 13 && c !== 35) giveUp('content after a document marker');
  }
}

/**
 * `#` right after a non-blank character: `yaml` requires white space before a comment, js-yaml
 * does not (after `,` `[` `"` ...). Such a `#` is fine only inside a scalar's source text.
 */
function suspiciousHashes(text: string, from: number): number[] {
  const out: number[] = [];
  for (let i = text.indexOf('#', from + 1); i > from; i = text.indexOf('#', i + 1)) {
    const p = text.charCodeAt(i - 1);
    if (p !== 32 && p !== 9 && p !== 10 && p !== 13) out.push(i);
  }
  return out;
}

export interface FastParse {
  value: Record<string, unknown>;
  index: FastSourceIndex;
}

/**
 * Parse `text` with js-yaml. Undefined: not handled here, use the `yaml` path (`onDecline` learns
 * why: for tests and performance investigations). `oracle` builds the `yaml` index of the same
 * text, for the few lookups the fast index cannot answer.
 */
export function fastParse(
  text: string,
  maxDepth: number,
  oracle: () => SourceIndex,
  onDecline?: (reason: string) => void,
): FastParse | undefined {
  try {
    return parseFast(text, maxDepth, oracle);
  } catch (e) {
    // a GiveUp, or a js-yaml error: syntax, duplicate key, depth, several documents, unknown tag
    onDecline?.(e instanceof GiveUp ? e.message : `js-yaml: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    return undefined;
  }
}

function parseFast(text: string, maxDepth: number, oracle: () => SourceIndex): FastParse {
  checkText(text);
  const index = new FastSourceIndex(lazyLinePos(text), oracle);
  // js-yaml drops a leading BOM; `yaml` counts it in offsets
  const delta = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const hashes = suspiciousHashes(text, delta);
  const scalarSpans: number[] = [];
  const last = text.charCodeAt(text.length - 1);
  const noFinalBreak = last !== 10 && last !== 13;

  // open nodes (js-yaml throws before nesting deeper than maxDepth): where each opened, where its
  // content starts (js-yaml input offsets) and where its children begin on the child stack
  const fOpen = new Int32Array(maxDepth + 2);
  const fStart = new Int32Array(maxDepth + 2);
  const fBase = new Int32Array(maxDepth + 2);
  let fp = 0;
  // completed children of the open nodes: open, start, end, kind, result
  let cOpen = new Int32Array(256);
  let cStart = new Int32Array(256);
  let cEnd = new Int32Array(256);
  let cKind = new Uint8Array(256);
  const cResult: unknown[] = [];
  let top = 0;

  let input = '';
  const mapping = (rec: Record<string, unknown>, start: number, base: number): void => {
    let n = top - base;
    // a block mapping ends with a failed attempt to read one more key: an empty child
    if (n % 2 === 1 && cKind[top - 1] === K_EMPTY) n--;
    let keys = 0;
    for (const _ in rec) keys++;
    // every key followed by its value: otherwise a key without value (`? a`, `{a, b}`)
    if (n !== 2 * keys) giveUp('key without value');
    const id = index.open(rec, start + delta, true);
    for (let i = base; i < base + n; i += 2) {
      const k = cResult[i];
      // null/empty and collection keys are stringified differently by the two parsers
      if (cKind[i] !== K_SCALAR || k === null) giveUp('null, empty or collection key');
      if (cEnd[i] - cStart[i] > MAX_IMPLICIT_KEY) giveUp('long key');
      const key = typeof k === 'string' ? k : String(k);
      if (rec[key] !== cResult[i + 1]) giveUp('unexpected mapping events');
      let valueAt = cStart[i + 1];
      if (cKind[i + 1] === K_EMPTY) {
        // an empty value: `yaml` places it after the `:` and the spaces that follow
        valueAt = emptyValueAt(input, cOpen[i + 1]);
        if (valueAt < 0) index.markPartial(id);
      }
      index.entry(id, key, valueAt + delta, cStart[i] + delta);
    }
  };

  const list = (arr: unknown[], start: number, base: number): void => {
    const n = top - base;
    // `- ` items without content are pushed without a node (and js-yaml then takes a less
    // indented `-` for the next item); `[a: 1]` pairs are objects made outside any node
    if (n !== arr.length) giveUp('list item without node');
    const id = index.open(arr, start + delta, false);
    for (let i = 0; i < n; i++) {
      if (cResult[base + i] !== arr[i]) giveUp('unexpected list events');
      if (cKind[base + i] === K_EMPTY) index.markPartial(id);
      index.entry(id, '', cStart[base + i] + delta, -1);
    }
  };

  const listener = (event: string, st: LoaderState): void => {
    input = st.input;
    if (event === 'open') {
      const s = skipSeparation(input, st.position);
      const c = input.charCodeAt(s);
      if (c === 33 || c === 38 || c === 42) giveUp('tag, anchor or alias'); // ! & *
      fOpen[fp] = st.position;
      fStart[fp] = s;
      fBase[fp] = top;
      fp++;
      return;
    }
    fp--;
    const start = fStart[fp];
    const base = fBase[fp];
    const r = st.result;
    let kind = K_SCALAR;
    if (r !== null && typeof r === 'object') {
      kind = K_COLLECTION;
      // a node closes twice when a flow collection was read while probing for a mapping key:
      // the inner node registered it already
      if (top - base !== 1 || cResult[base] !== r) {
        if (Array.isArray(r)) list(r, start, base);
        else mapping(r as Record<string, unknown>, start, base);
      }
    } else if (typeof r === 'string') {
      if (r === '__proto__' || r === '<<') giveUp('__proto__ or <<');
      const c = input.charCodeAt(start);
      if (c === 124 || c === 62) {
        // | >
        if (!simpleBlockScalar(input, start, st.lineStart)) giveUp('block scalar');
        // js-yaml adds a final line break, which a `+` (keep) scalar running to the end would keep
        if (noFinalBreak && st.lineStart >= input.length - 1) giveUp('block scalar at the end');
      } else {
        const nl = input.indexOf('\n', start);
        if (nl >= 0 && nl < st.position && !flowScalarOk(input, start, st.position, c === 34)) giveUp('multi-line scalar');
      }
      if (hashes.length > 0) scalarSpans.push(start + delta, st.position + delta);
    } else if (st.kind === null) {
      kind = K_EMPTY;
      // an empty node followed by a line holding a tab: `yaml` takes the tab for indentation (an error)
      if (hasTab(input, fOpen[fp], start)) giveUp('tab after an empty node');
    }
    top = base;
    if (top === cStart.length) {
      const o2 = new Int32Array(top * 2);
      const s2 = new Int32Array(top * 2);
      const e2 = new Int32Array(top * 2);
      const k2 = new Uint8Array(top * 2);
      o2.set(cOpen);
      s2.set(cStart);
      e2.set(cEnd);
      k2.set(cKind);
      cOpen = o2;
      cStart = s2;
      cEnd = e2;
      cKind = k2;
    }
    cOpen[top] = fOpen[fp];
    cStart[top] = start;
    cEnd[top] = st.position;
    cKind[top] = kind;
    cResult[top] = r;
    top++;
  };

  // `maxDepth` exists in js-yaml 4.3 but not in @types/js-yaml 4.0
  const options: LoadOptions & { maxDepth: number } = {
    schema: CORE_12,
    maxDepth,
    onWarning: () => {
      giveUp('js-yaml warning'); // e.g. "deficient indentation", which `yaml` rejects
    },
    listener: (event, state) => listener(event, state as unknown as LoaderState),
  };
  const value = load(text, options);
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !index.has(value)) giveUp('root is not a mapping');
  if (hashes.length > 0 && !hashesInsideScalars(hashes, scalarSpans)) giveUp('comment without white space before it');
  index.setRoot(value, index.offsetOf(value));
  return { value: value as Record<string, unknown>, index };
}

/**
 * Offset of an empty block-mapping value as `yaml` gives it: right after the `:` that precedes
 * the node's open position `open`, plus the spaces that follow, when the line then ends or a
 * comment starts. -1 otherwise (flow mappings, explicit keys, tabs): not known exactly.
 */
function emptyValueAt(s: string, open: number): number {
  if (s.charCodeAt(open - 1) !== 58) return -1; // :
  let i = open;
  while (s.charCodeAt(i) === 32) i++;
  const c = s.charCodeAt(i);
  return c === 10 || c === 13 || c === 35 || c === 0 ? i : -1;
}

/**
 * Block scalars (`|`, `>`) on which js-yaml and `yaml` agree: a chomping indicator only (no
 * explicit indentation), auto-detected indentation n >= 1, white-space-only lines longer than n
 * only between content lines, no tab right after the indentation (nor after the spaces of the
 * line that ends the scalar), and folded ones without more-indented lines. Outside this subset
 * js-yaml is more lenient or keeps other white space (found by exhaustive comparison of small
 * cases). `s[start]` is the indicator; the body ends at `end`, the start of the line that ended it.
 */
function simpleBlockScalar(s: string, start: number, end: number): boolean {
  const folded = s.charCodeAt(start) === 62;
  let i = start + 1;
  let c = s.charCodeAt(i);
  if (c === 45 || c === 43) c = s.charCodeAt(++i); // - +
  if (c === 32) {
    while (c === 32) c = s.charCodeAt(++i);
    if (c === 35) while (c !== 10 && c !== 13 && i < s.length) c = s.charCodeAt(++i); // # comment
  }
  if (c === 13) c = s.charCodeAt(++i);
  if (c !== 10) return false; // indentation indicator, or anything else on the header line
  const body = i + 1;
  // indentation of the first line with content
  let n = -1;
  for (let j = body; j < end && n < 0; ) {
    let k = j;
    while (s.charCodeAt(k) === 32) k++;
    const d = s.charCodeAt(k);
    if (d !== 10 && d !== 13 && k < end) n = k - j;
    j = s.indexOf('\n', k) + 1 || end;
  }
  let content = false;
  let longBlank = false; // a white-space-only line longer than n since the last content line
  for (let j = body; j < end; ) {
    let k = j;
    while (s.charCodeAt(k) === 32) k++;
    const ind = k - j;
    const d = s.charCodeAt(k);
    if (d === 10 || d === 13 || k >= end) {
      if (ind > (n < 0 ? 0 : n)) {
        if (!content) return false; // leading: `yaml` wants an indentation indicator
        longBlank = true;
      }
    } else if (ind < n || n < 1 || (ind === n && d === 9) || (folded && ind > n)) {
      return false;
    } else {
      content = true;
      longBlank = false;
    }
    j = s.indexOf('\n', k) + 1 || end;
  }
  if (longBlank) return false; // trailing ones: kept by `yaml`, not by js-yaml
  // `yaml` keeps a less indented line that starts with spaces and a tab in the scalar (an error)
  while (s.charCodeAt(end) === 32) end++;
  return s.charCodeAt(end) !== 9;
}

/**
 * A plain or quoted scalar s[start, end) on which the two parsers agree: continuation lines
 * without a tab in their indentation (`yaml` rejects it) and, double-quoted, no escaped line
 * break (`\` at the end of a line: folded differently).
 */
function flowScalarOk(s: string, start: number, end: number, doubleQuoted: boolean): boolean {
  for (let i = start + 1; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 && doubleQuoted) {
      const e = s.charCodeAt(++i); // the escaped character is skipped either way
      if (e === 10 || e === 13) return false;
    } else if (c === 10) {
      let d = s.charCodeAt(i + 1);
      while (d === 32) d = s.charCodeAt(++i + 1);
      if (d === 9) return false;
    }
  }
  return true;
}

/** Every suspicious `#` (ascending offsets) lies strictly inside the source of some string scalar. */
function hashesInsideScalars(hashes: number[], spans: number[]): boolean {
  const order: number[] = [];
  for (let i = 0; i < spans.length; i += 2) order.push(i);
  order.sort((a, b) => spans[a] - spans[b]);
  let j = 0;
  let reach = -1; // furthest end among the spans starting before the current hash
  for (const h of hashes) {
    while (j < order.length && spans[order[j]] < h) reach = Math.max(reach, spans[order[j++] + 1]);
    if (h >= reach) return false;
  }
  return true;
}
