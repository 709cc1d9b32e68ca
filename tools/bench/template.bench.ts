// Benchmark for @noetl/template: cached renders/s next to an equivalent hand-written JS function,
// measured in the same run. Run: npx tsx tools/bench/template.bench.ts
// Target (issue): >= 1,000,000 cached renders/s of `{{ a.b == 1 and c in [1,2] }}` on one core.
import { compileTemplate, renderTemplate, scopeFromObject, type Scope } from '@noetl/template';

interface Result {
  name: string;
  opsPerSec: number;
}

let sink: unknown;

/** Run `fn` in batches until `ms` elapsed; return ops/s of the best of 5 rounds. */
function measure(name: string, fn: () => unknown, ms = 400): Result {
  // warm-up (lets V8 optimize)
  const warmEnd = Date.now() + 150;
  while (Date.now() < warmEnd) for (let i = 0; i < 1000; i++) sink = fn();
  let best = 0;
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const deadline = start + BigInt(ms) * 1_000_000n;
    let now = start;
    while (now < deadline) {
      for (let i = 0; i < 2000; i++) sink = fn();
      n += 2000;
      now = process.hrtime.bigint();
    }
    const ops = n / (Number(now - start) / 1e9);
    if (ops > best) best = ops;
  }
  return { name, opsPerSec: best };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(14);

function report(title: string, tmpl: Result, cached: Result | null, base: Result): void {
  console.log(`\n${title}`);
  console.log(`  plain JS baseline             ${fmt(base.opsPerSec)} ops/s`);
  const line = (label: string, x: Result) =>
    console.log(`  ${label} ${fmt(x.opsPerSec)} ops/s   template/baseline = ${(x.opsPerSec / base.opsPerSec).toFixed(3)}   slowdown = ${(base.opsPerSec / x.opsPerSec).toFixed(2)}x`);
  line('compiled.render()            ', tmpl);
  if (cached) line('renderTemplate(src) [LRU hit]', cached);
}

// ------------------------------------------------------------------ 1. the expression
const EXPR = '{{ a.b == 1 and c in [1,2] }}';
const vars1: Record<string, unknown> = { a: { b: 1 }, c: 2 };
const scope1: Scope = scopeFromObject(vars1);
const compiled1 = compileTemplate(EXPR);
if (compiled1.render(scope1) !== true) throw new Error('bench sanity check failed');

const own = Object.prototype.hasOwnProperty;
// Equivalent hand-written function: same scope interface, own-property checks, same semantics.
function baseline1(scope: Scope): unknown {
  const a = scope.lookup('a');
  const b = typeof a === 'object' && a !== null && !Array.isArray(a) && own.call(a, 'b') ? (a as Record<string, unknown>).b : undefined;
  if (b !== 1) return false;
  const c = scope.lookup('c');
  return c === 1 || c === 2;
}
// A second, "raw" baseline without the scope indirection (what a hard-coded closure over an object would do).
function baseline1raw(v: Record<string, unknown>): unknown {
  const a = v.a as { b?: unknown } | undefined;
  return a?.b === 1 && (v.c === 1 || v.c === 2);
}

// ------------------------------------------------------------------ 2. 50-key scope lookup
const vars2: Record<string, unknown> = {};
for (let i = 0; i < 50; i++) vars2[`key_${i}`] = { value: i, name: `n${i}` };
const scope2 = scopeFromObject(vars2);
const EXPR2 = '{{ key_37.value }}';
const compiled2 = compileTemplate(EXPR2);
if (compiled2.render(scope2) !== 37) throw new Error('bench sanity check 2 failed');
function baseline2(scope: Scope): unknown {
  const k = scope.lookup('key_37');
  const v = typeof k === 'object' && k !== null && !Array.isArray(k) && own.call(k, 'value') ? (k as Record<string, unknown>).value : undefined;
  return v === undefined ? null : v;
}

// A mixed template touching all 50 keys (string building).
let mixed = '';
for (let i = 0; i < 50; i++) mixed += `{{ key_${i}.name }},`;
const compiled3 = compileTemplate(mixed);
const KEYS = Array.from({ length: 50 }, (_v, i) => `key_${i}`);
function baseline3(scope: Scope): string {
  let s = '';
  for (let i = 0; i < 50; i++) {
    const k = scope.lookup(KEYS[i]) as Record<string, unknown> | undefined;
    const n = k && own.call(k, 'name') ? k.name : undefined;
    s += (n === undefined || n === null ? '' : String(n)) + ',';
  }
  return s;
}
if (compiled3.render(scope2) !== baseline3(scope2)) throw new Error('bench sanity check 3 failed');

console.log(`@noetl/template benchmark — node ${process.version}, one core, best of 5 rounds`);

const r1 = measure('compiled', () => compiled1.render(scope1));
const r1c = measure('cached', () => renderTemplate(EXPR, scope1));
const b1 = measure('baseline', () => baseline1(scope1));
const b1raw = measure('baseline raw', () => baseline1raw(vars1));
report(`1. ${EXPR}`, r1, r1c, b1);
console.log(`  raw JS (no Scope interface)   ${fmt(b1raw.opsPerSec)} ops/s   ratio template/raw = ${(r1.opsPerSec / b1raw.opsPerSec).toFixed(3)}`);
console.log(`  target >= 1,000,000 cached renders/s: ${r1c.opsPerSec >= 1e6 ? 'MET' : 'NOT MET'}`);

const r2 = measure('compiled', () => compiled2.render(scope2));
const r2c = measure('cached', () => renderTemplate(EXPR2, scope2));
const b2 = measure('baseline', () => baseline2(scope2));
report(`2. 50-key scope lookup ${EXPR2}`, r2, r2c, b2);

const r3 = measure('compiled', () => compiled3.render(scope2), 300);
const b3 = measure('baseline', () => baseline3(scope2), 300);
report('3. mixed template reading all 50 keys (50 outputs, string result)', r3, null, b3);
void sink;
