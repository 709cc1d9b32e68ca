// Public entry points: compile (cached), render, conditions, analysis, validation.
import { Analyzer, type TemplateAnalysis } from './analysis';
import type { Expr, ParsedTemplate, TemplateKind } from './ast';
import { FILTERS, TESTS } from './builtins';
import { checkValueSize, compileExpr, compileParsed, finishOutput, type Ev, type Ex } from './compiler';
import { RuntimeFail, TemplateError, TemplateEvalError, TemplateLimitError, TemplateSyntaxError } from './errors';
import { hasTemplateMarkers, parseExpressionSource, parseTemplate } from './parser';
import { makeCtx, type Ctx, type RenderOptions, type Scope } from './runtime';
import { hasFallback, isTruthy, setKey, toTemplateString, type Dict } from './values';

export interface CompiledTemplate {
  readonly source: string;
  readonly kind: TemplateKind;
  render(scope: Scope, opts?: RenderOptions): unknown;
  renderString(scope: Scope, opts?: RenderOptions): string;
}

export interface CompiledExpression {
  readonly source: string;
  evaluate(scope: Scope, opts?: RenderOptions): unknown;
}

// ---------------------------------------------------------------- scopes
const hasOwn = Object.prototype.hasOwnProperty;

class ObjectScope implements Scope {
  constructor(private readonly vars: Record<string, unknown>) {}
  lookup(name: string): unknown {
    return hasOwn.call(this.vars, name) ? this.vars[name] : undefined;
  }
}

class ChainScope implements Scope {
  constructor(private readonly scopes: Scope[]) {}
  lookup(name: string): unknown {
    for (let i = 0; i < this.scopes.length; i++) {
      const v = this.scopes[i].lookup(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }
}

export function scopeFromObject(vars: Record<string, unknown>): Scope {
  return new ObjectScope(vars ?? {});
}

export function chainScopes(...scopes: Scope[]): Scope {
  return new ChainScope(scopes);
}

// ---------------------------------------------------------------- LRU cache
const CACHE_SIZE = 5000;

class Lru<V> {
  private readonly map = new Map<string, { v: V; seq: number }>();
  private seq = 0;
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const e = this.map.get(k);
    if (e === undefined) return undefined;
    // refresh recency only when the entry is in the older half: keeps hits allocation- and churn-free
    if (this.seq - e.seq > this.max >> 1) {
      this.map.delete(k);
      e.seq = ++this.seq;
      this.map.set(k, e);
    }
    return e.v;
  }
  set(k: string, v: V): void {
    if (this.map.size >= this.max) {
      const oldest = this.map.keys().next();
      if (!oldest.done) this.map.delete(oldest.value);
    }
    this.map.set(k, { v, seq: ++this.seq });
  }
  get size(): number {
    return this.map.size;
  }
  clear(): void {
    this.map.clear();
  }
}

const templates = new Lru<Template | TemplateSyntaxError>(CACHE_SIZE);
const expressions = new Lru<Expression | TemplateSyntaxError>(CACHE_SIZE);

/** For tests and diagnostics. */
export function templateCacheStats(): { templates: number; expressions: number; capacity: number } {
  return { templates: templates.size, expressions: expressions.size, capacity: CACHE_SIZE };
}

export function clearTemplateCache(): void {
  templates.clear();
  expressions.clear();
}

// ---------------------------------------------------------------- compiled objects
function positionless(e: unknown, source: string): never {
  if (e instanceof RuntimeFail) {
    throw e.kind === 'limit' ? new TemplateLimitError(e.message, { source }) : new TemplateEvalError(e.message, { source });
  }
  throw e;
}

class Template implements CompiledTemplate {
  readonly kind: TemplateKind;
  private readonly ev: Ev | null;
  private readonly body: Ex | null;
  private readonly needsFrame: boolean;

  constructor(
    readonly source: string,
    readonly parsed: ParsedTemplate,
  ) {
    this.kind = parsed.kind;
    const prog = compileParsed(parsed);
    this.ev = prog.expr;
    this.body = prog.body;
    this.needsFrame = prog.needsFrame;
  }

  private run(c: Ctx): string {
    if (this.needsFrame) c.frame = { vars: Object.create(null) as Record<string, unknown>, parent: null };
    (this.body as Ex)(c);
    return finishOutput(c, this.source);
  }

  render(scope: Scope, opts?: RenderOptions): unknown {
    const ev = this.ev;
    if (ev !== null) {
      const c = makeCtx(scope, opts);
      const v = ev(c);
      if (v === undefined) return null;
      if (typeof v === 'string' && v.length * 3 > c.maxOut) checkValueSize(c, v, this.source);
      return v;
    }
    if (this.body === null) return this.source;
    return this.run(makeCtx(scope, opts));
  }

  renderString(scope: Scope, opts?: RenderOptions): string {
    const ev = this.ev;
    if (ev !== null) {
      const c = makeCtx(scope, opts);
      const v = ev(c);
      let s: string;
      try {
        s = typeof v === 'string' ? v : toTemplateString(v);
      } catch (e) {
        return positionless(e, this.source);
      }
      checkValueSize(c, s, this.source);
      return s;
    }
    if (this.body === null) return this.source;
    return this.run(makeCtx(scope, opts));
  }
}

class Expression implements CompiledExpression {
  private readonly ev: Ev;
  constructor(
    readonly source: string,
    readonly ast: Expr,
  ) {
    this.ev = compileExpr(source, ast);
  }
  evaluate(scope: Scope, opts?: RenderOptions): unknown {
    return this.ev(makeCtx(scope, opts));
  }
}

function checkSource(source: unknown, what: string): asserts source is string {
  if (typeof source !== 'string') throw new TypeError(`${what}: source must be a string, got ${source === null ? 'null' : typeof source}`);
}

export function compileTemplate(source: string): CompiledTemplate {
  checkSource(source, 'compileTemplate');
  const hit = templates.get(source);
  if (hit !== undefined) {
    if (hit instanceof TemplateSyntaxError) throw hit;
    return hit;
  }
  let t: Template;
  try {
    t = new Template(source, parseTemplate(source));
  } catch (e) {
    if (e instanceof TemplateSyntaxError) templates.set(source, e);
    throw e;
  }
  templates.set(source, t);
  return t;
}

export function compileExpression(expr: string): CompiledExpression {
  checkSource(expr, 'compileExpression');
  const hit = expressions.get(expr);
  if (hit !== undefined) {
    if (hit instanceof TemplateSyntaxError) throw hit;
    return hit;
  }
  let x: Expression;
  try {
    x = new Expression(expr, parseExpressionSource(expr));
  } catch (e) {
    if (e instanceof TemplateSyntaxError) expressions.set(expr, e);
    throw e;
  }
  expressions.set(expr, x);
  return x;
}

export function renderTemplate(source: string, scope: Scope, opts?: RenderOptions): unknown {
  // cache first: a hit skips the marker scan of the source
  const hit = typeof source === 'string' ? templates.get(source) : undefined;
  if (hit !== undefined && !(hit instanceof TemplateSyntaxError)) return hit.render(scope, opts);
  if (typeof source === 'string' && !hasTemplateMarkers(source)) return source;
  return compileTemplate(source).render(scope, opts);
}

/** Copy-on-write removal of fallback-carrying objects: rendered data handed to the engine is plain. */
function plain(v: unknown, depth = 0): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (depth > 512) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      const y = plain(x, depth + 1);
      if (y !== x && out === null) out = v.slice(0, i);
      if (out !== null) out.push(y);
    }
    return out ?? v;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return v;
  const keys = Object.keys(v);
  let copy = hasFallback(v);
  const vals = keys.map((k) => {
    const x = (v as Dict)[k];
    const y = plain(x, depth + 1);
    if (y !== x) copy = true;
    return y;
  });
  if (!copy) return v;
  const out: Dict = {};
  keys.forEach((k, i) => setKey(out, k, vals[i]));
  return out;
}

export function renderValue(value: unknown, scope: Scope, opts?: RenderOptions): unknown {
  if (typeof value === 'string') {
    return hasTemplateMarkers(value) ? plain(compileTemplate(value).render(scope, opts)) : value;
  }
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => renderValue(v, scope, opts));
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Dict = {};
  for (const k of Object.keys(value)) setKey(out, k, renderValue((value as Dict)[k], scope, opts));
  return out;
}

export function hasTemplateSyntax(s: string): boolean {
  return typeof s === 'string' && (s.includes('{{') || s.includes('{%') || s.includes('{#'));
}

export function evaluateCondition(when: unknown, scope: Scope, opts?: RenderOptions): boolean {
  if (typeof when === 'boolean') return when;
  if (typeof when === 'string') {
    if (hasTemplateSyntax(when)) return isTruthy(compileTemplate(when).render(scope, opts));
    if (when.trim() === '') return false;
    return isTruthy(compileExpression(when).evaluate(scope, opts));
  }
  return isTruthy(when);
}

// ---------------------------------------------------------------- analysis and validation
export function analyzeTemplate(source: string): TemplateAnalysis {
  checkSource(source, 'analyzeTemplate');
  const p = parseTemplate(source);
  const a = new Analyzer();
  if (p.kind !== 'literal') a.stmts(p.body);
  return a.result();
}

export function analyzeExpression(expr: string): TemplateAnalysis {
  checkSource(expr, 'analyzeExpression');
  const a = new Analyzer();
  a.expr(parseExpressionSource(expr));
  return a.result();
}

export type TemplateIssueCode = 'E_TEMPLATE_SYNTAX' | 'E_UNKNOWN_FILTER' | 'E_UNKNOWN_TEST' | 'E_UNSUPPORTED_TEMPLATE_FEATURE';

export interface TemplateIssue {
  code: TemplateIssueCode;
  message: string;
  line: number;
  column: number;
  offset: number;
}

const ISSUE_CODES = new Set<string>(['E_TEMPLATE_SYNTAX', 'E_UNKNOWN_FILTER', 'E_UNKNOWN_TEST', 'E_UNSUPPORTED_TEMPLATE_FEATURE']);

function issueOf(e: TemplateError): TemplateIssue {
  return {
    code: (ISSUE_CODES.has(e.code) ? e.code : 'E_TEMPLATE_SYNTAX') as TemplateIssueCode,
    message: (e as TemplateError & { reason?: string }).reason ?? e.message,
    line: e.line ?? 1,
    column: e.column ?? 1,
    offset: e.offset ?? 0,
  };
}

export function checkTemplate(source: string, opts?: { asExpression?: boolean }): TemplateIssue[] {
  if (typeof source !== 'string') {
    return [{ code: 'E_TEMPLATE_SYNTAX', message: 'template source must be a string', line: 1, column: 1, offset: 0 }];
  }
  const asExpr = opts?.asExpression === true;
  try {
    const a = new Analyzer();
    if (asExpr) a.expr(parseExpressionSource(source));
    else {
      const p = parseTemplate(source);
      if (p.kind === 'literal') return [];
      a.stmts(p.body);
    }
    const issues: TemplateIssue[] = [];
    for (const u of a.uses) {
      const known = u.kind === 'filter' ? FILTER_SET.has(u.name) : TEST_SET.has(u.name);
      if (!known) {
        const e = new TemplateSyntaxError(`no ${u.kind} named '${u.name}'`, {
          source,
          offset: u.offset,
          code: u.kind === 'filter' ? 'E_UNKNOWN_FILTER' : 'E_UNKNOWN_TEST',
        });
        issues.push(issueOf(e));
      }
    }
    if (issues.length > 0) return issues;
    if (asExpr) compileExpression(source);
    else compileTemplate(source);
    return [];
  } catch (e) {
    if (e instanceof TemplateError) return [issueOf(e)];
    return [{ code: 'E_TEMPLATE_SYNTAX', message: String((e as Error)?.message ?? e), line: 1, column: 1, offset: 0 }];
  }
}

const FILTER_SET = new Set(FILTERS.keys());
const TEST_SET = new Set(TESTS.keys());
export const FILTER_NAMES: readonly string[] = Object.freeze([...FILTERS.keys()].sort());
export const TEST_NAMES: readonly string[] = Object.freeze([...TESTS.keys()].sort());
