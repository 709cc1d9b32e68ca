/**
 * Differential test of the two YAML paths (yaml-fast.ts vs the `yaml` package).
 *
 * Whenever the js-yaml fast path accepts an input, the `yaml` path must accept it too, with a
 * value identical to the last detail (key order, -0), the same position for every container
 * (positionOf) and for every path (get / locate / locate atKey, existing or not); and loadPlaybook
 * must return the same result (diagnostics, locs, playbook) with the fast path on and off.
 * Inputs: every YAML file of the conformance cases and examples, the YAML blocks of the docs and
 * specs, the diagnostic examples, mutations of all of those, and generated documents built from
 * an adversarial token mix (YAML_DIFF_RUNS, default 2000 per property).
 */
import fc from 'fast-check';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { DIAGNOSTIC_EXAMPLES } from '../test/diagnostic-examples';
import { loadPlaybookWith } from './load';
import type { LoadOptions } from './load';
import { pathIndex, pathKey } from './paths';
import { DEFAULT_LIMITS, parseYamlSource, prescanBrackets } from './yaml-source';
import type { SourceIndex } from './yaml-source';

const ROOT = path.resolve(__dirname, '../../..');
const CASES_DIR = process.env.NOETL_CONFORMANCE_DIR ?? path.resolve(ROOT, '../shared/conformance/cases');
const RUNS = Number(process.env.YAML_DIFF_RUNS ?? 2000);
jest.setTimeout(600_000);

// ---- corpus ----------------------------------------------------------------------------------

function yamlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => readFileSync(path.join(dir, f), 'utf8'));
}

function fencedYaml(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.md')).sort()) {
    for (const m of readFileSync(path.join(dir, f), 'utf8').matchAll(/```ya?ml\n([\s\S]*?)```/g)) out.push(m[1]);
  }
  return out;
}

const CORPUS: string[] = [
  ...yamlFiles(CASES_DIR),
  ...yamlFiles(path.join(ROOT, 'examples')),
  ...fencedYaml(path.join(ROOT, 'docs')),
  ...fencedYaml(path.resolve(ROOT, '../shared/spec')),
  ...fencedYaml(path.join(ROOT, 'libs/dsl')),
  ...DIAGNOSTIC_EXAMPLES.map((e) => e.yaml),
];

// ---- comparison --------------------------------------------------------------------------------

const stats = { inputs: 0, fast: 0, fastNoOracle: 0, lookups: 0, loads: 0 };
const declined = new Map<string, number>();
const onDecline = (reason: string) => {
  const key = reason.replace(/ \(\d+:\d+\)$/, '').replace(/"[^"]*"/g, '"…"').slice(0, 80);
  declined.set(key, (declined.get(key) ?? 0) + 1);
};

class Mismatch extends Error {}

function fail(what: string, text: string, a: unknown, b: unknown): never {
  throw new Mismatch(`${what}\n  fast: ${JSON.stringify(a)}\n  yaml: ${JSON.stringify(b)}\n--- input (JSON) ---\n${JSON.stringify(text)}`);
}

/** Strict equality of plain data: same types, Object.is numbers (-0), same key order. */
function sameData(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (a === null || b === null || typeof a !== 'object') return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function comparePositions(text: string, fi: SourceIndex, si: SourceIndex, fv: unknown, sv: unknown, p: string): void {
  const eq = (what: string, x: unknown, y: unknown) => {
    stats.lookups++;
    if (JSON.stringify(x) !== JSON.stringify(y)) fail(`${what} differs at path ${JSON.stringify(p)}`, text, x, y);
  };
  eq('get', fi.get(p), si.get(p));
  eq('locate', fi.locate(p), si.locate(p));
  eq('locate atKey', fi.locate(p, true), si.locate(p, true));
  if (fv === null || typeof fv !== 'object') return;
  eq('positionOf', fi.positionOf(fv), si.positionOf(sv));
  eq('get missing child', fi.get(pathKey(p, 'zz_missing')), si.get(pathKey(p, 'zz_missing')));
  eq('locate missing child', fi.locate(pathIndex(p, 999), true), si.locate(pathIndex(p, 999), true));
  if (Array.isArray(fv)) {
    fv.forEach((x, i) => comparePositions(text, fi, si, x, (sv as unknown[])[i], pathIndex(p, i)));
  } else {
    for (const k of Object.keys(fv)) {
      comparePositions(text, fi, si, (fv as Record<string, unknown>)[k], (sv as Record<string, unknown>)[k], pathKey(p, k));
    }
  }
}

/** Returns true when the fast path accepted the input. */
function compareSources(text: string): boolean {
  stats.inputs++;
  const fast = parseYamlSource(text, DEFAULT_LIMITS, { onDecline });
  const slow = parseYamlSource(text, DEFAULT_LIMITS, { fast: false });
  if (slow.fast) throw new Error('fast: false must force the yaml path');
  if (!fast.fast) {
    // the fast path declined: the result is the yaml path's, message for message
    if (JSON.stringify(fast.issues) !== JSON.stringify(slow.issues)) fail('issues differ', text, fast.issues, slow.issues);
    if (!sameData(fast.value, slow.value)) fail('value differs (declined)', text, fast.value, slow.value);
    return false;
  }
  stats.fast++;
  if (slow.issues.length > 0) fail('fast path accepted what the yaml path rejects', text, fast.value, slow.issues);
  if (!sameData(fast.value, slow.value)) fail('value differs', text, fast.value, slow.value);
  comparePositions(text, fast.index, slow.index, fast.value, slow.value, '');
  if ((fast.index as unknown as { oracleIndex?: unknown }).oracleIndex === undefined) stats.fastNoOracle++;
  return true;
}

function compareLoads(text: string, opts: LoadOptions = {}): void {
  stats.loads++;
  const a = loadPlaybookWith(text, opts, {});
  const b = loadPlaybookWith(text, opts, { fast: false });
  const ja = JSON.stringify(a);
  const jb = JSON.stringify(b);
  if (ja !== jb) {
    fail('loadPlaybook differs', text, a.diagnostics, b.diagnostics);
  }
}

function compareAll(text: string): void {
  compareSources(text);
  compareLoads(text);
}

// ---- generated documents -----------------------------------------------------------------------

/** Small seeded PRNG (mulberry32): each fast-check run draws a seed, the generator does the rest. */
class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

const PLAIN = [
  '~', 'null', 'Null', 'NULL', 'nUll', 'true', 'True', 'TRUE', 'tRue', 'false', 'False', 'FALSE', 'yes', 'no', 'on', 'off', 'y', 'n',
  'Y', 'N', '0', '-0', '+0', '00', '007', '010', '08', '1_000', '0b1', '+1', '-1', '+12', '.5', '-.5', '+.5', '1.', '-1.', '1.0', '1.50',
  '0.0', '-0.0', '1e3', '1E3', '1e+3', '1e-3', '1.5e-3', '.5e3', '-1.e2', '1e', 'e3', '1.2.3', '0o7', '0o17', '0o8', '0O7', '-0o7', '0x1F',
  '0X1F', '0xff', '0xFF', '-0x1', '+0x1', '0xg', '0x', '.inf', '-.inf', '+.inf', '.Inf', '.INF', '.nan', '.NaN', '.NAN', '-.nan',
  'nan', 'inf', 'Infinity', 'NaN', '1e400', '-1e400', '123456789012345678901234567890', '9007199254740993', '2026-01-31',
  '2026-01-31T10:00:00Z', '2001-12-14 21:59:43.10 -5', '12:30:00', '1:20', '190:20:30', 'a', 'b', 'x y', 'a#b', 'http://x.org/#f',
  "it's", 'a:b', 'a,b', '-a', '?a', ':a', '<<', '__proto__', 'constructor', 'toString', 'é', 'ünïcödé', '日本', '😀', 'a\u2028b',
  'a\u0085b', 'a\u00a0b', 'tab\there', '{{ x }}', "{{ x | default('a') }}", '{{ workload.items }}', 'noop', 'start', 'end', '=',
  'a b c', '@x', '`x', '%x', '!x', '&x', '*x', '|x', '>x', '-', '?', ':', '.', '...', '---', '- a', '? a', 'a: b', 'a #b',
];
const QUOTED = [
  '""', "''", '"q"', "'q'", '"a b"', '"a\\nb"', '"\\x41\\u263A\\U0001F600"', '"\\/"', '"\\t\\\\"', '"\\q"', '"\\"#"',
  "'it''s'", "'a\"b'", '"#channel"', "'#'", '"a\\\n  b"', '"a\n  b"', "'a\n\n  b'", '"{{ x }}"', '"1"', '"true"', '"~"',
  '"<<"', '"__proto__"', '"\\0"', '"\\e\\a\\v"', '" lead"', '"trail "', '"\\u00e9"', '"\\uD83D\\uDE00"', '"unterminated',
];
const FLOW = [
  '[]', '{}', '[1, 2]', '[a, b, c]', '{a: 1}', '{a: 1, b: [x, y]}', '{a, b}', '[a: 1]', '[a: 1, b]', '{"a":1}', '{a:1}',
  '{a: 1,}', '[1,]', '[1,,2]', '[a,#b]', '[ "x" , \'y\' ]', '{a: {b: {c: d}}}', '[[1], [2, [3]]]', '{? a : b}', '{a: }',
  '{: a}', '[a b]', '{a: 1 b: 2}', '[a,\n  b]', '{a: 1,\n  b: 2}', '[\n  1,\n  2\n]', '{ url: "{{ api }}/x", n: 3 }', '[~, null, 1e3, .5]',
  '[!!str 1]', '[&a 1, *a]', '{a: *a}', '[1, 2', '{a: 1',
];
const KEYS = [
  'a', 'b', 'c', 'k', 'step', 'tool', 'next', 'arcs', 'kind', 'name', 'when', 'set', 'args', 'spec', 'x.y', 'ctx.total', 'a b',
  '"a"', "'b'", '""', "''", '~', 'null', 'Null', '1', '01', '1.0', '1.5', '0x1', '0o7', 'true', 'True', 'yes', '-1', '.inf', '.nan',
  '1e3', '<<', '__proto__', '"__proto__"', 'constructor', '?', '? a', '[a]', '{a: 1}', '&a k', '*a', '!!str k', '"a:b"', 'a:b',
  'é', '😀', '"\\t"', 'k#x', '"k"#x', '-k', 'k ', '',
];
const COMMENTS = ['# c', '#c', '# ', '#', '# a: b', '# - x', '#: x'];
const SEPS = [' ', ' ', ' ', '  ', '\t', ' \t'];

/** Scalars every playbook may hold and the fast path must resolve exactly like `yaml`. */
const COMMON = [
  '~', 'null', 'Null', 'NULL', 'nUll', 'true', 'True', 'TRUE', 'tRue', 'false', 'False', 'FALSE', 'yes', 'no', 'on', 'off', 'y', 'n',
  '0', '-0', '+0', '00', '007', '010', '08', '1_000', '0b1', '+1', '-1', '.5', '-.5', '+.5', '1.', '-1.', '1.0', '1.50', '-0.0', '1e3',
  '1E3', '1e+3', '1e-3', '1.5e-3', '.5e3', '-1.e2', '1e', 'e3', '1.2.3', '0o7', '0o17', '0o8', '0O7', '-0o7', '0x1F', '0X1F', '0xff',
  '-0x1', '+0x1', '0xg', '0x', 'nan', 'inf', 'Infinity', 'NaN', '123456789012345678901234567890', '9007199254740993', '2026-01-31',
  '2026-01-31T10:00:00Z', '12:30:00', '1:20', 'a', 'b', 'x y', 'a#b', 'http://x.org/#f', "it's", 'a:b', 'a,b', '-a', '?a', ':a',
  'é', '日本', '😀', 'a\u00a0b', 'noop', 'start', 'end', '=', 'a b c', '...x', 'a - b',
];

class DocGen {
  private anchors = 0;
  /** tame documents (half of them) draw exotic tokens rarely, so that many reach the fast path */
  private readonly exotic: number;
  constructor(private readonly r: Rng, private readonly keys: readonly string[] = KEYS, tame = 0.5) {
    this.exotic = r.chance(tame) ? 0.03 : 0.5;
  }

  scalar(): string {
    const r = this.r;
    if (!r.chance(this.exotic)) return r.chance(0.8) ? r.pick(COMMON) : r.pick(QUOTED.slice(0, 12));
    const x = r.int(20);
    if (x < 9) return r.pick(PLAIN);
    if (x < 13) return r.pick(QUOTED);
    if (x < 15) return `${r.pick(PLAIN)} ${r.pick(PLAIN)}`;
    if (x < 16) return r.pick(['!!str ', '!!int ', '!!float ', '!!bool ', '!!null ', '! ', '!custom ', '!!binary ']) + r.pick(PLAIN);
    if (x < 17 && this.anchors > 0) return `*a${r.int(this.anchors)}`;
    if (x < 18) return `&a${this.anchors++} ${r.pick(PLAIN)}`;
    return String(r.int(2000) - 1000) + r.pick(['', '.5', 'e2', '_0', '']);
  }

  key(): string {
    const r = this.r;
    if (!r.chance(this.exotic) || r.chance(0.5)) return r.pick(this.keys.slice(0, 16));
    if (r.chance(0.01)) return 'k'.repeat(1020 + r.int(10));
    return r.pick(this.keys);
  }

  comment(): string {
    return this.r.chance(0.2) ? `${this.r.pick(SEPS)}${this.r.pick(COMMENTS)}` : '';
  }

  sep(): string {
    return this.r.chance(this.exotic) ? this.r.pick(SEPS) : ' ';
  }

  /** Lines of a block mapping at `indent`. */
  blockMap(indent: number, depth: number, used = new Set<string>()): string[] {
    const r = this.r;
    const pad = ' '.repeat(indent);
    const out: string[] = [];
    const n = 1 + r.int(depth > 2 ? 3 : 5);
    for (let i = 0; i < n; i++) {
      if (r.chance(0.08)) out.push(`${' '.repeat(r.int(indent + 3))}${r.pick(COMMENTS)}`);
      if (r.chance(0.05)) out.push(r.chance(0.5) ? '' : '   ');
      if (r.chance(this.exotic / 10) && this.anchors > 0) {
        out.push(`${pad}<<: *a${r.int(this.anchors)}`);
        continue;
      }
      let k = this.key();
      // tame documents: unique keys (a duplicate sends the whole document to the yaml path)
      if (this.exotic < 0.5 && used.has(k)) k = `${k.replace(/^["']|["']$/g, '')}${i}`;
      used.add(k);
      const colon = r.chance(this.exotic / 10) ? ' :' : ':';
      out.push(...this.value(`${pad}${r.chance(this.exotic / 10) ? '? ' : ''}${k}${colon}`, indent, depth, true));
    }
    return out;
  }

  /** Lines of a block sequence at `indent`. */
  blockSeq(indent: number, depth: number): string[] {
    const r = this.r;
    const pad = ' '.repeat(indent);
    const out: string[] = [];
    const n = 1 + r.int(4);
    for (let i = 0; i < n; i++) {
      if (r.chance(0.06)) out.push(`${pad}${r.pick(COMMENTS)}`);
      if (r.chance(0.25) && depth < 4) {
        // compact mapping in an item: `- k: v` then the other keys at indent + 2
        const inner = this.blockMap(indent + 2, depth + 1);
        inner[0] = `${pad}-${this.sep()}${inner[0].trimStart()}`;
        out.push(...inner);
        continue;
      }
      out.push(...this.value(`${pad}-`, indent, depth, false));
    }
    return out;
  }

  /** `head` (a key and its `:`, or a `-`) followed by a value, inline or on the next lines. */
  value(head: string, indent: number, depth: number, inMap: boolean): string[] {
    const r = this.r;
    const x = r.int(depth > 3 ? 10 : 16);
    const sep = this.sep();
    if (x < 5) return [`${head}${sep}${this.scalar()}${this.comment()}`];
    if (x < 6) return [`${head}${r.chance(0.5) ? '' : '  '}${this.comment()}`]; // empty value
    if (x < 8) {
      const flow = r.chance(this.exotic) ? r.pick(FLOW) : r.pick(FLOW.slice(0, 6));
      return [`${head}${sep}${r.chance(this.exotic / 4) ? `&a${this.anchors++} ` : ''}${flow}${this.comment()}`];
    }
    if (x < 10) {
      // block scalar
      const ind = indent + r.pick([1, 2, 2, 2, 4]);
      const hdr = r.chance(this.exotic) ? r.pick(['|2', '>1', '|-2', '|#x', '| # c', '|\t# c']) : r.pick(['|', '>', '|-', '>-', '|+', '>+']);
      const lines = [`${head} ${hdr}`];
      const m = 1 + r.int(4);
      for (let i = 0; i < m; i++) {
        const y = r.chance(this.exotic) ? r.int(10) : 4;
        if (y === 0) lines.push('');
        else if (y === 1) lines.push(' '.repeat(ind + 2) + 'more indented');
        else if (y === 2) lines.push(' '.repeat(ind) + '\tx # not a comment');
        else if (y === 3) lines.push(' '.repeat(ind + 1));
        else lines.push(' '.repeat(ind) + r.pick(PLAIN));
      }
      if (r.chance(0.3)) lines.push('');
      return lines;
    }
    if (x < 11) {
      // multi-line plain or quoted scalar
      const ind = indent + r.pick([0, 1, 2, 2]);
      return [`${head}${sep}${r.pick(['a', '"a', "'a", 'x y'])}`, `${' '.repeat(ind)}${r.pick(['b', 'b"', "b'", 'c d', '# c', ''])}`];
    }
    // nested block collection on the next lines
    const props = r.chance(this.exotic / 5) ? r.pick([` &a${this.anchors++}`, ' !!map', ' !!seq', ' !x']) : '';
    const first = `${head}${props}${this.comment()}`;
    const lines = [first];
    if (r.chance(0.1)) lines.push(`${' '.repeat(indent + 2)}${r.pick(COMMENTS)}`);
    if (r.chance(0.5)) {
      const step = r.pick([1, 2, 2, 2, 3, 4]);
      lines.push(...this.blockMap(indent + step, depth + 1));
    } else {
      // a sequence may sit at the same indentation as its key
      const step = inMap ? r.pick([0, 0, 2, 2, 4]) : r.pick([2, 2, 1, 3]);
      lines.push(...this.blockSeq(indent + step, depth + 1));
    }
    return lines;
  }

  doc(): string {
    const r = this.r;
    const lines = this.blockMap(0, 0);
    if (r.chance(0.05)) lines.unshift(r.pick(['---', '--- # c', '---  ']));
    if (r.chance(0.02)) lines[0] = `${r.pick(['--- ', '... ', '---\t'])}${lines[0]}`;
    if (r.chance(0.03)) lines.unshift(r.pick(COMMENTS));
    if (r.chance(0.02)) lines.push('...');
    if (r.chance(0.02)) lines.push('---', 'b: 2');
    return lines.join('\n') + (r.chance(0.9) ? '\n' : '');
  }
}

const INSERTS = [
  ' ', '  ', '\t', '#', ' #', ':', ': ', '- ', '-', '"', "'", '[', ']', '{', '}', ',', '\n', '\n  ', '&a ', '*a', '!', '!!str ', '%', '---\n', '...\n',
  '\r', '\r\n', '\u2028', '\u0085', '\ufeff', '?', '? ', '|', '>', '@', '`', '\u0000', '\u0007', 'é', '😀', '<<: ', '~', 'null', '0x', '.5',
];

/** Random text edits: most of them make the text invalid or change its meaning. */
function mutateText(r: Rng, src: string): string {
  let text = src;
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) {
    const at = r.int(text.length + 1);
    switch (r.int(9)) {
      case 0:
        text = text.slice(0, at) + r.pick(INSERTS) + text.slice(at);
        break;
      case 1:
        text = text.slice(0, at) + text.slice(at + 1 + r.int(3));
        break;
      case 2: {
        const lines = text.split('\n');
        lines.splice(r.int(lines.length), 0, lines[r.int(lines.length)]);
        text = lines.join('\n');
        break;
      }
      case 3: {
        const lines = text.split('\n');
        const j = r.int(lines.length);
        lines[j] = r.chance(0.5) ? ` ${lines[j]}` : lines[j].replace(/^ /, '');
        text = lines.join('\n');
        break;
      }
      case 4:
        text = text.replace(/\n/g, '\r\n');
        break;
      case 5:
        text = `\ufeff${text}`;
        break;
      case 6:
        text = text.slice(0, at);
        break;
      case 7: {
        const lines = text.split('\n');
        const j = r.int(lines.length);
        lines[j] = `${lines[j]}${r.pick(SEPS)}${r.pick(COMMENTS)}`;
        text = lines.join('\n');
        break;
      }
      default:
        text = text.slice(0, at) + r.pick(PLAIN) + text.slice(at);
    }
  }
  return text;
}

const PLAYBOOK_KEYS = [
  'step', 'tool', 'next', 'arcs', 'kind', 'name', 'when', 'set', 'args', 'spec', 'policy', 'rules', 'then', 'do', 'loop', 'in',
  'iterator', 'mode', 'admit', 'allow', 'to', 'else', 'input', 'result', 'url', 'code', 'ctx.x', 'iter.y', 'desc', 'vars', 'cond', '',
];

/** A playbook-shaped document whose steps are generated: exercises diagnostics at many paths. */
function playbookDoc(r: Rng): string {
  const g = new DocGen(r, PLAYBOOK_KEYS, 0.7);
  const lines = ['apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: gen, path: gen/x }'];
  if (r.chance(0.5)) lines.push('workload:', ...g.blockMap(2, 2));
  lines.push('workflow:');
  const steps = 1 + r.int(4);
  for (let i = 0; i < steps; i++) {
    lines.push(`  - step: ${i === 0 ? 'start' : r.pick(['s1', 's2', 'end', 'start', '"x y"'])}`);
    lines.push(r.pick(['    tool: { kind: noop }', '    tool:\n      kind: python\n      code: |\n        x = 1', '    tool: [ { kind: noop } ]', '    tool: noop']));
    if (r.chance(0.6)) {
      lines.push('    next:', '      arcs:', `        - step: ${r.pick(['s1', 's2', 'end', 'nowhere'])}`);
      if (r.chance(0.5)) lines.push(`          when: ${r.pick(['"{{ x }}"', '"{{ (1 }}"', 'x == 1', '"{{ keychain.k }}"'])}`);
    }
    if (r.chance(0.5)) lines.push(...g.blockMap(4, 2, new Set(['step', 'tool', 'next'])));
  }
  return `${lines.join('\n')}\n`;
}

// ---- tests -----------------------------------------------------------------------------------------

describe('YAML fast path vs the yaml package (differential)', () => {
  // coverage of the comparison, printed once at the end: inputs, how many took the fast path, why
  // the others did not
  const report: string[] = [];
  let perTest = { inputs: 0, fast: 0 };
  beforeEach(() => {
    perTest = { inputs: stats.inputs, fast: stats.fast };
    declined.clear();
  });
  afterEach(() => {
    const name = (expect.getState().currentTestName ?? '').replace(/^.*\(differential\) /, '');
    const top = [...declined].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, n]) => `${n} ${k}`).join('; ');
    if (stats.inputs > perTest.inputs) {
      report.push(`  ${name}: ${stats.inputs - perTest.inputs} inputs, ${stats.fast - perTest.fast} on the fast path; declined: ${top}`);
    }
  });
  afterAll(() => {
    console.log(`yaml-fast differential: ${stats.inputs} inputs, ${stats.fast} accepted by the fast path ` +
      `(${stats.fastNoOracle} never needed the yaml index), ${stats.lookups} position lookups compared, ` +
      `${stats.loads} loadPlaybook pairs\n${report.join('\n')}`);
  });

  it('has a corpus', () => {
    expect(CORPUS.length).toBeGreaterThan(100);
  });

  it('every corpus file: same value, positions and loadPlaybook result (plain, compat, strict)', () => {
    let accepted = 0;
    for (const text of CORPUS) {
      if (compareSources(text)) accepted++;
      compareLoads(text);
      compareLoads(text, { compat: true, strict: true });
    }
    // the corpus is plain YAML: nearly all of it must take the fast path (or the test proves little)
    expect(accepted).toBeGreaterThan(CORPUS.length * 0.8);
  });

  it('mutated corpus files', () => {
    fc.assert(fc.property(fc.nat(), fc.integer(), (which, seed) => {
      compareAll(mutateText(new Rng(seed), CORPUS[which % CORPUS.length]));
    }), { numRuns: RUNS });
  });

  it('generated documents from an adversarial token mix', () => {
    let accepted = 0;
    fc.assert(fc.property(fc.integer(), (seed) => {
      if (compareSources(new DocGen(new Rng(seed)).doc())) accepted++;
    }), { numRuns: RUNS });
    expect(accepted).toBeGreaterThan(RUNS * 0.25);
  });

  it('generated documents, mutated', () => {
    fc.assert(fc.property(fc.integer(), (seed) => {
      const r = new Rng(seed);
      compareAll(mutateText(r, new DocGen(r).doc()));
    }), { numRuns: RUNS });
  });

  it('generated playbooks: identical diagnostics and locs', () => {
    let accepted = 0;
    fc.assert(fc.property(fc.integer(), (seed) => {
      const text = playbookDoc(new Rng(seed));
      if (compareSources(text)) accepted++;
      compareLoads(text);
      compareLoads(text, { compat: true });
    }), { numRuns: RUNS });
    expect(accepted).toBeGreaterThan(RUNS * 0.25);
  });

  it('hand-picked edge cases', () => {
    const cases = [
      'a: 1\n', 'a:\nb: 1\n', 'a: # c\n  b: 1\n', 'a:\n  # c\n  b: 1\n', 'a:\n- 1\n- 2\n', '- a\n', 'a: [1, 2]\n', 'a: {b: 1}\n',
      'a: |\n  x\n', 'a: >-\n  x\n\n  y\n', '? a\n: b\n', '? a\n', '{a: 1}\n', '"a": 1\n', "'a': 1\n", 'a: "x"#c\n', 'a: [1,#c\n  2]\n',
      'a: 1\r\nb: 2\r\n', 'a: 1\rb: 2\r', '\ufeffa: 1\n', '%YAML 1.2\n---\na: 1\n', '--- \na: 1\n', 'a: 1\n...\n', 'a: 1\n---\nb: 2\n',
      'a: !!str 1\n', 'a: &x 1\nb: *x\n', 'a: &x {c: 1}\nb:\n  <<: *x\n', '__proto__: 1\n', '"__proto__": 1\n', '<<: 1\n', 'a: .inf\n',
      'a: 1e400\n', '~: 1\n', ': 1\n', '1.0: a\n', '1: a\n"1": b\n', 'true: 1\n', 'a: -0\n', 'a: 0x1F\nb: 0o17\nc: 1_000\n',
      `${'k'.repeat(1100)}: 1\n`, 'a:\n  -\n  - b\n', 'a: [b: 1]\n', 'a: {b, c}\n', 'a:\n\t- 1\n', 'a:\t1\n', 'a: b\n  c\n', 'a: "b\n  c"\n',
      'a: "b\nc"\n', 'a: [1,\n2]\n', 'a: [\n  1\n]\n', 'a: |\n   \n  x\n', 'a: >\n  x\n    y\n  z\n', 'a: |+\n  x\n\n', 'a: b # c\n',
      'a: b#c\n', 'a: http://x/#f\n', 'a: "#channel"\n', 'a: \'#\'\n', 'a: 1\n# trailing\n', '# lead\na: 1\n', 'a:\n  b:\n    c:\n      d: 1\n',
      '--- a: 1\n', '\ufeff--- a: 1\n', '\ufeff%YAML 1.2\n---\na: 1\n', '--- {a: 1}\n', '--- # c\na: 1\n', '---\n---\n', 'a: 1\n--- # c\n', '...\na: 1\n', 'a: # c\n  b\n', 'a: # c\n  "b"\n',
      'a:\n  # c\n  b\n', '---x.y: 0xg  # - x\n', 'a: 1\n---b: 2\n', '...x: 1\n', 'a:\n  b\n  c\n', 'a: [b,\n  c]\n', 'a: {b: 1,\n  c: 2}\n', '- a: 1\n  b: 2\n', '- - a\n  - b\n', 'a: - b\n',
      'a: !!str\n', 'a: !\n', 'a: ! b\n', 'a: b: c\n', 'a: {b: c: d}\n', '? |\n  a\n: b\n', '? - a\n: b\n', 'a:\n  ? b\n  : c\n',
      'a: "\\x41\\u00e9"\n', "a: 'x''y'\n", 'a: "x\\"y"\n', 'a: >-\n  x\n\n\n  y\n', 'a: |-\n  x\n\n', 'a: |\n  x\n\n\nb: 1\n',
      'a: |\n    x\n  y\n', 'a: |\n  x\n    y\n  z\n', 'a: 1 #c\nb: [1, 2] #c\nc: {d: 1} #c\n', 'a:\n- 1\n- 2\nb: 3\n',
    ];
    for (const text of cases) compareAll(text);
  });
});

describe('prescanBrackets (indexOf jumps) equals the plain character loop', () => {
  const reference = (text: string, max: number): number => {
    let depth = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 91 || c === 123) {
        if (++depth > max) return i;
      } else if ((c === 93 || c === 125) && depth > 0) {
        depth--;
      }
    }
    return -1;
  };
  it('on random bracket soups', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('[', ']', '{', '}', 'a', ' ', '"'), { maxLength: 60 }), fc.integer({ min: 0, max: 6 }), (xs, max) => {
      const text = xs.join('');
      expect(prescanBrackets(text, max)).toBe(reference(text, max));
    }), { numRuns: 2000 });
  });
});
