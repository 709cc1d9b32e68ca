/**
 * YAML text -> plain JSON value plus a path-addressed index of source positions (dsl R2.1, R17.1).
 *
 * YAML 1.2 core schema; duplicate keys, multiple documents, unknown tags and non-JSON scalars are
 * errors. Hostile input is bounded before the `yaml` composer (which recurses) ever sees it:
 * byte size, bracket nesting (cheap pre-scan), CST nesting (iterative walk), and the number of
 * nodes produced by alias expansion ("billion laughs").
 *
 * Two paths: plain playbooks are parsed by js-yaml (yaml-fast.ts, ~13x faster); anything else,
 * and every error, goes through the `yaml` package below exactly as before. The fast index answers
 * positions from js-yaml's node offsets and asks a lazily built `yaml` index when it cannot.
 */
import { Composer, LineCounter, Parser, isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { CST, Document, Node as YNode, Pair } from 'yaml';
import { pathIndex, pathKey } from './paths';
import { SourceIndex } from './source-index';
import type { ContainerMeta } from './source-index';
import { fastParse } from './yaml-fast';

export { SourceIndex, splitPath } from './source-index';
export type { NodePos } from './source-index';

export interface YamlIssue {
  message: string;
  line: number;
  column: number;
  path: string;
}

export interface ParsedSource {
  /** the document as plain JSON data; undefined when the text could not be parsed at all */
  value: unknown;
  index: SourceIndex;
  issues: YamlIssue[];
  /** @internal true when js-yaml produced the value (the fast path) */
  fast?: boolean;
}

export interface ParseLimits {
  maxBytes: number;
  maxDepth: number;
  maxAliasNodes: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxBytes: 5 * 1024 * 1024, maxDepth: 128, maxAliasNodes: 100_000 };

/** Flow-bracket depth that stops the pre-scan (the CST parser is iterative but slow on deep flows). */
const MAX_PRESCAN_BRACKET_DEPTH = 1000;

export interface ParseOptions {
  /** try the js-yaml fast path first (default true; false: always the `yaml` path, for tests) */
  fast?: boolean;
  /** told why the fast path declined an input (tests, performance investigations) */
  onDecline?: (reason: string) => void;
}

export function parseYamlSource(text: string, limits: ParseLimits = DEFAULT_LIMITS, opts: ParseOptions = {}): ParsedSource {
  const lc = new LineCounter();
  const pos = (offset: number) => lc.linePos(Math.max(0, Math.min(offset, text.length)));
  const index = new SourceIndex(pos);
  const fail = (message: string, line = 1, column = 1): ParsedSource => ({
    value: undefined,
    index,
    issues: [{ message, line, column, path: '' }],
  });

  if (typeof text !== 'string') return fail('input is not text');
  if (text.length > limits.maxBytes || (text.length * 3 > limits.maxBytes && Buffer.byteLength(text, 'utf8') > limits.maxBytes)) {
    return fail(`playbook too large: more than ${limits.maxBytes} bytes`);
  }
  const deepAt = prescanBrackets(text, MAX_PRESCAN_BRACKET_DEPTH);
  if (deepAt >= 0) {
    for (let i = 0; i < deepAt; i++) if (text.charCodeAt(i) === 10) lc.addNewLine(i + 1);
    const p = pos(deepAt);
    return fail(`nesting too deep: more than ${MAX_PRESCAN_BRACKET_DEPTH} open brackets`, p.line, p.col);
  }

  if (opts.fast !== false) {
    const oracle = () => parseYamlSource(text, limits, { fast: false }).index;
    const fast = fastParse(text, limits.maxDepth, oracle, opts.onDecline);
    if (fast) return { value: fast.value, index: fast.index, issues: [], fast: true };
  }

  const tokens = Array.from(new Parser(lc.addNewLine).parse(text));
  const deep = cstTooDeep(tokens, limits.maxDepth);
  if (deep) {
    const p = pos(deep.offset);
    return fail(`nesting too deep: more than ${limits.maxDepth} levels`, p.line, p.col);
  }

  const composer = new Composer({
    version: '1.2', schema: 'core', merge: true, uniqueKeys: false, prettyErrors: false, strict: true,
  });
  const docs = Array.from(composer.compose(tokens, true, text.length));
  const issues: YamlIssue[] = [];
  const report = (message: string, offset: number, path = '') => {
    const p = pos(offset);
    issues.push({ message, line: p.line, column: p.col, path });
  };

  if (docs.length === 0) return { value: null, index, issues: [] };
  if (docs.length > 1) {
    report('more than one YAML document: a playbook file holds exactly one', docs[1].range[0]);
  }
  const doc = docs[0];
  for (const e of [...doc.errors, ...doc.warnings]) report(cleanYamlMessage(e.message), e.pos[0]);
  if (issues.length > 0) return { value: undefined, index, issues };
  if (doc.contents === null || doc.contents === undefined) return { value: null, index, issues: [] };

  const convert = (detail: boolean) => {
    const conv = new Converter(doc, index, limits, (message, offset, path) => report(message, offset, path));
    conv.detail = detail;
    return conv.convertRoot(doc.contents as YNode);
  };
  const value = convert(false);
  if (issues.length === 0) return { value, index, issues };
  // rare: convert again, building paths this time, so the YAML diagnostics carry them
  issues.length = 0;
  convert(true);
  return { value: undefined, index, issues };
}

function cleanYamlMessage(message: string): string {
  const first = message.split('\n')[0];
  return first.replace(/ at line \d+, column \d+:?$/, '').trim();
}

/**
 * Index of the first bracket that exceeds `max` open `[`/`{` (quotes ignored: a cheap over-estimate), or -1.
 * Jumps from bracket to bracket with indexOf (memchr speed: 3x faster than a char loop on 1 MB).
 */
export function prescanBrackets(text: string, max: number): number {
  const NONE = 0x7fffffff;
  const next = (ch: string, from: number) => {
    const i = text.indexOf(ch, from);
    return i < 0 ? NONE : i;
  };
  let depth = 0;
  let openSq = next('[', 0);
  let openCu = next('{', 0);
  let closeSq = next(']', 0);
  let closeCu = next('}', 0);
  for (;;) {
    const i = Math.min(openSq, openCu, closeSq, closeCu);
    if (i === NONE) return -1;
    if (i === openSq || i === openCu) {
      if (++depth > max) return i;
    } else if (depth > 0) {
      depth--;
    }
    if (i === openSq) openSq = next('[', i + 1);
    else if (i === openCu) openCu = next('{', i + 1);
    else if (i === closeSq) closeSq = next(']', i + 1);
    else closeCu = next('}', i + 1);
  }
}

/** Iterative walk of the CST: the first collection nested deeper than `max`, if any. */
function cstTooDeep(tokens: CST.Token[], max: number): { offset: number } | undefined {
  const stack: Array<[CST.Token | null | undefined, number]> = tokens.map((t) => [t, 0]);
  while (stack.length > 0) {
    const [tok, depth] = stack.pop() as [CST.Token | null | undefined, number];
    if (!tok) continue;
    switch (tok.type) {
      case 'document':
        stack.push([tok.value, depth]);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        if (depth + 1 > max) return { offset: tok.offset };
        for (const it of tok.items as CST.CollectionItem[]) {
          stack.push([it.key, depth + 1], [it.value, depth + 1]);
        }
        break;
      }
      default:
        break;
    }
  }
  return undefined;
}

type Report = (message: string, offset: number, path: string) => void;

/** yaml AST -> plain JSON, recording positions; aliases and `<<` merges expanded within a node budget. */
class Converter {
  private aliasBudget: number;
  /** paths only matter for YAML error messages; they are built only when an error occurred */
  detail = false;
  private budgetExceeded = false;
  private readonly sizes = new WeakMap<object, number>();

  constructor(
    private readonly doc: Document.Parsed,
    private readonly index: SourceIndex,
    private readonly limits: ParseLimits,
    private readonly report: Report,
  ) {
    this.aliasBudget = limits.maxAliasNodes;
  }

  convertRoot(node: YNode): unknown {
    const value = this.convert(node, '', 0);
    this.index.setRoot(value, this.offsetOf(node));
    return value;
  }

  private offsetOf(node: unknown): number {
    const r = (node as { range?: [number, number, number] } | null)?.range;
    return r ? r[0] : 0;
  }

  private convert(node: unknown, path: string, depth: number): unknown {
    if (depth > this.limits.maxDepth) {
      this.report(`nesting too deep: more than ${this.limits.maxDepth} levels`, this.offsetOf(node), path);
      return null;
    }
    if (node === null || node === undefined) return null;
    if (isScalar(node)) return this.scalar(node.value, node, path);
    if (isAlias(node)) {
      const target = this.resolve(node, path);
      return target === undefined ? null : this.convert(target, path, depth + 1);
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      const meta = this.index.container(out, this.offsetOf(node), true);
      const explicit = new Set<string>();
      const merges: Pair[] = [];
      for (const pair of node.items as Pair[]) {
        if (isMergeKey(pair)) {
          merges.push(pair);
          continue;
        }
        const key = this.keyOf(pair, path);
        if (key === undefined) continue;
        if (explicit.has(key)) {
          this.report(`duplicate mapping key \`${key}\``, this.offsetOf(pair.key), pathKey(path, key));
          continue;
        }
        explicit.add(key);
        this.entry(out, meta, key, pair, path, depth);
      }
      for (const m of merges) this.merge(m, out, meta, path, depth);
      return out;
    }
    if (isSeq(node)) {
      const out: unknown[] = [];
      const offs = this.index.container(out, this.offsetOf(node), false).offs;
      node.items.forEach((item, i) => {
        const p = this.detail ? pathIndex(path, i) : path;
        if (isPair(item)) {
          // `[a: 1]` — a single-pair mapping inside a flow sequence
          const at = this.offsetOf(item.key ?? item.value);
          offs[i] = at;
          const m: Record<string, unknown> = {};
          const key = this.keyOf(item as Pair, p);
          if (key !== undefined) this.entry(m, this.index.container(m, at, true), key, item as Pair, p, depth + 1);
          out.push(m);
        } else {
          offs[i] = this.offsetOf(item);
          out.push(this.convert(item, p, depth + 1));
        }
      });
      return out;
    }
    this.report('unsupported YAML node', this.offsetOf(node), path);
    return null;
  }

  private keyOf(pair: Pair, path: string): string | undefined {
    const k = pair.key;
    if (k !== null && k !== undefined && !isScalar(k)) {
      this.report('mapping keys must be scalars', this.offsetOf(k), path);
      return undefined;
    }
    const raw = isScalar(k) ? k.value : null;
    const key = raw === null || raw === undefined ? '' : String(raw);
    if (key === '__proto__') {
      this.report('mapping key `__proto__` is not allowed', this.offsetOf(k), path);
      return undefined;
    }
    return key;
  }

  private entry(out: Record<string, unknown>, meta: ContainerMeta, key: string, pair: Pair, path: string, depth: number): void {
    const keyOff = this.offsetOf(pair.key);
    meta.keys?.push(key);
    meta.offs.push(pair.value ? this.offsetOf(pair.value) : keyOff, keyOff);
    out[key] = this.convert(pair.value, this.detail ? pathKey(path, key) : path, depth + 1);
  }

  /** `<<: *anchor` / `<<: [*a, *b]` — keys already present win; earlier sources win over later ones. */
  private merge(pair: Pair, out: Record<string, unknown>, meta: ContainerMeta, path: string, depth: number): void {
    if (depth > this.limits.maxDepth) return;
    const src = isAlias(pair.value) ? this.resolve(pair.value, path) : pair.value;
    if (src === undefined) return;
    const sources = isSeq(src) ? src.items : [src];
    for (const s0 of sources) {
      const s = isAlias(s0) ? this.resolve(s0, path) : s0;
      if (s === undefined) return;
      if (!isMap(s)) {
        this.report('merge (<<) sources must be mappings', this.offsetOf(s ?? pair.key), path);
        return;
      }
      const nested: Pair[] = [];
      for (const sp of s.items as Pair[]) {
        if (isMergeKey(sp)) {
          nested.push(sp);
          continue;
        }
        const key = this.keyOf(sp, path);
        if (key === undefined || Object.prototype.hasOwnProperty.call(out, key)) continue;
        this.entry(out, meta, key, sp, path, depth);
      }
      for (const n of nested) this.merge(n, out, meta, path, depth + 1);
    }
  }

  private resolve(alias: unknown, path: string): unknown {
    const target = (alias as { resolve(doc: Document): unknown }).resolve(this.doc);
    if (!target) {
      this.report(`unresolved alias ${String((alias as { source?: string }).source ?? '')}`, this.offsetOf(alias), path);
      return undefined;
    }
    if (this.budgetExceeded) return undefined;
    this.aliasBudget -= this.sizeOf(target, 0);
    if (this.aliasBudget < 0) {
      this.budgetExceeded = true;
      this.report(`alias expansion too large: more than ${this.limits.maxAliasNodes} nodes (nested aliases?)`, this.offsetOf(alias), path);
      return undefined;
    }
    return target;
  }

  private scalar(value: unknown, node: unknown, path: string): unknown {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) return value;
      this.report(`number ${String(value)} is not representable in JSON`, this.offsetOf(node), path);
      return null;
    }
    if (typeof value === 'symbol') return '<<';
    this.report(`unsupported scalar of type ${typeof value}`, this.offsetOf(node), path);
    return null;
  }

  /** Node count of a subtree (aliases counted through), memoized; stops early past the budget. */
  private sizeOf(node: unknown, guard: number): number {
    if (node === null || typeof node !== 'object') return 1;
    const cached = this.sizes.get(node);
    if (cached !== undefined) return cached;
    if (guard > this.limits.maxDepth) return this.limits.maxAliasNodes + 1;
    let n = 1;
    if (isAlias(node)) {
      const t = node.resolve(this.doc);
      n = t ? this.sizeOf(t, guard + 1) : 1;
    } else if (isMap(node) || isSeq(node)) {
      for (const it of node.items as unknown[]) {
        if (isPair(it)) n += this.sizeOf(it.key, guard + 1) + this.sizeOf(it.value, guard + 1);
        else n += this.sizeOf(it, guard + 1);
        if (n > this.limits.maxAliasNodes) break;
      }
    }
    this.sizes.set(node, n);
    return n;
  }
}

function isMergeKey(pair: Pair): boolean {
  return isScalar(pair.key) && typeof pair.key.value === 'symbol';
}
