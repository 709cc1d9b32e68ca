/**
 * Property tests: whatever the input, loadPlaybook returns diagnostics (never throws, never an
 * internal failure), `ok` agrees with the error count, and every diagnostic is well-formed.
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import type { LoadResult } from './index';
import { DIAGNOSTIC_CODES, loadPlaybook } from './index';

const DIR = process.env.NOETL_CONFORMANCE_DIR ?? path.resolve(__dirname, '../../../../shared/conformance/cases');
const CASES = readdirSync(DIR).filter((f) => f.endsWith('.yaml') && !f.endsWith('.expect.yaml')).sort()
  .map((f) => readFileSync(path.join(DIR, f), 'utf8'));

function wellFormed(r: LoadResult, text: string): void {
  expect(Array.isArray(r.diagnostics)).toBe(true);
  const lines = typeof text === 'string' ? text.split('\n').length + 1 : 1;
  for (const d of r.diagnostics) {
    if (d.code === 'E_INTERNAL') throw new Error(`internal failure: ${d.message}\n--- input ---\n${text.slice(0, 2000)}`);
    expect(DIAGNOSTIC_CODES[d.code]).toBeDefined();
    expect(d.severity === 'error' || d.severity === 'warning').toBe(true);
    expect(Number.isInteger(d.line) && d.line >= 1 && d.line <= lines).toBe(true);
    expect(Number.isInteger(d.column) && d.column >= 1).toBe(true);
    expect(typeof d.path).toBe('string');
    expect(typeof d.message).toBe('string');
  }
  const hasError = r.diagnostics.some((d) => d.severity === 'error');
  expect(r.ok).toBe(!hasError);
  expect(r.playbook !== undefined).toBe(r.ok);
  if (r.playbook) expect(JSON.parse(JSON.stringify(r.playbook))).toEqual(r.playbook);
}

const INTERESTING_KEYS = [
  'step', 'tool', 'next', 'arcs', 'kind', 'name', 'when', 'then', 'else', 'do', 'set', 'args', 'input', 'spec', 'policy',
  'rules', 'loop', 'in', 'iterator', 'mode', 'eval', 'expr', 'cond', 'case', 'vars', 'set_ctx', 'set_iter', 'admit', 'allow',
  'to', 'entry', 'workbook', 'keychain', 'cursor', 'output', 'retry', 'ctx.x', 'iter.y', 'workload.z', 'keychain.k', '__proto__',
  'constructor', 'end', 'start', 'previous', 'steps', '',
];
const INTERESTING_STRINGS = [
  '{{', '}}', '{%', '%}', '{{ keychain.k.t }}', '{{ (1 }}', '{% macro m() %}', "{{ event.name == 'call.done' }}", 'x | nope',
  'workflow', 'noop', 'workbook', 'iterator', 'parallel', 'cursor', 'jump', 'retry', 'skip', 'start', 'end', '{{ steps[x] }}',
];

const arbLeaf = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(...INTERESTING_STRINGS),
  fc.constantFrom(...INTERESTING_KEYS),
  fc.string(),
);

type Op = { at: number; kind: number; key: string; value: unknown };
const arbOp: fc.Arbitrary<Op> = fc.record({
  at: fc.nat(),
  kind: fc.integer({ min: 0, max: 5 }),
  key: fc.oneof(fc.constantFrom(...INTERESTING_KEYS), fc.string({ maxLength: 8 })),
  value: arbLeaf,
});

/** All containers of a JSON value, in a stable order. */
function containers(v: unknown, out: Array<Record<string, unknown> | unknown[]> = []): Array<Record<string, unknown> | unknown[]> {
  if (Array.isArray(v)) {
    out.push(v);
    v.forEach((x) => containers(x, out));
  } else if (v !== null && typeof v === 'object') {
    out.push(v as Record<string, unknown>);
    Object.values(v).forEach((x) => containers(x, out));
  }
  return out;
}

function mutate(doc: unknown, ops: Op[]): unknown {
  for (const op of ops) {
    const cs = containers(doc);
    if (cs.length === 0) return op.value;
    const c = cs[op.at % cs.length];
    const keys = Array.isArray(c) ? c.map((_, i) => i) : Object.keys(c);
    const k = keys.length ? keys[op.at % keys.length] : undefined;
    const rec = c as Record<string | number, unknown>;
    switch (op.kind) {
      case 0: // delete
        if (k === undefined) break;
        if (Array.isArray(c)) c.splice(k as number, 1);
        else delete rec[k];
        break;
      case 1: // retype / replace
        if (k !== undefined) rec[k] = op.value;
        break;
      case 2: // add a key / item
        if (Array.isArray(c)) c.push(op.value);
        else Object.defineProperty(c, op.key, { value: op.value, enumerable: true, writable: true, configurable: true });
        break;
      case 3: // duplicate an item / copy a value under another key
        if (k === undefined) break;
        if (Array.isArray(c)) c.push(structuredClone(c[k as number]));
        else Object.defineProperty(c, op.key, { value: structuredClone(rec[k]), enumerable: true, writable: true, configurable: true });
        break;
      case 4: // rename a key
        if (k === undefined || Array.isArray(c)) break;
        {
          const v = rec[k];
          delete rec[k];
          Object.defineProperty(c, op.key, { value: v, enumerable: true, writable: true, configurable: true });
        }
        break;
      default: // wrap in a list
        if (k !== undefined) rec[k] = [rec[k]];
    }
  }
  return doc;
}

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
// generous: property runs are CPU-bound and CI machines may be shared (no timing assertions here)
jest.setTimeout(300_000);

describe('loadPlaybook never throws and always answers with well-formed diagnostics', () => {
  it('structural mutations of valid playbooks (delete / duplicate / retype / rename keys)', () => {
    fc.assert(fc.property(fc.nat(), fc.array(arbOp, { minLength: 1, maxLength: 6 }), (which, ops) => {
      const doc = mutate(parse(CASES[which % CASES.length], { version: '1.2' }), ops);
      const text = stringify(doc, { version: '1.2' });
      wellFormed(loadPlaybook(text), text);
      wellFormed(loadPlaybook(text, { compat: true, strict: true }), text);
    }), { numRuns: RUNS });
  });

  it('text mutations of valid playbooks (splices, duplicated lines, truncation)', () => {
    fc.assert(fc.property(fc.nat(), fc.nat(), fc.nat(), fc.string({ maxLength: 12 }), fc.integer({ min: 0, max: 2 }), (which, a, b, ins, mode) => {
      const src = CASES[which % CASES.length];
      let text: string;
      if (mode === 0) {
        const i = a % (src.length + 1);
        text = src.slice(0, i) + ins + src.slice(Math.min(src.length, i + (b % 8)));
      } else if (mode === 1) {
        const lines = src.split('\n');
        const i = a % lines.length;
        lines.splice(i, 0, lines[b % lines.length]);
        text = lines.join('\n');
      } else {
        text = src.slice(0, a % (src.length + 1));
      }
      wellFormed(loadPlaybook(text), text);
    }), { numRuns: RUNS });
  });

  it('arbitrary strings and bytes', () => {
    fc.assert(fc.property(fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.array(fc.constantFrom('-', ':', ' ', '\n', '[', ']', '{', '}', '&a', '*a', '<<', '? ', '"', "'", '|', '>', '#', 'x', '---', '!!', '%'), { maxLength: 80 }).map((xs) => xs.join('')),
    ), (text) => {
      wellFormed(loadPlaybook(text), text);
    }), { numRuns: RUNS });
  });

  it('arbitrary JSON documents', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (v) => {
      const text = stringify(v);
      wellFormed(loadPlaybook(text), text);
    }), { numRuns: RUNS });
  });
});
