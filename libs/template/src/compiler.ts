// Closure compiler: AST -> tree of JS closures `(c: Ctx) => value`. No eval / new Function.
// Each closure that can fail knows its source span, so errors carry line/column/expression.
import type { CmpOp, Expr, Kwarg, ParsedTemplate, Span, Stmt } from './ast';
import { bindParams, callMethod, FILTERS, GLOBALS, METHOD_NAMES, rangeSpec, TESTS, toList, type FilterDef, type Kw, type RangeSpec } from './builtins';
import {
  RuntimeFail, TemplateEvalError, TemplateLimitError, TemplateSyntaxError, TemplateUndefinedError, type TemplateErrorInit,
} from './errors';
import type { Ctx, Frame } from './runtime';
import {
  compareOrder, contains, deepEqual, getAttr, getItem, isIdentifier, sliceValue, toTemplateString, truthy, typeName,
  utf8Length, type Dict, setKey,
} from './values';

export type Ev = (c: Ctx) => unknown;
export type Ex = (c: Ctx) => void;

const EMPTY: unknown[] = [];

function isAccess(n: Expr): boolean {
  return n.t === 'name' || n.t === 'attr' || n.t === 'item';
}

function scopeLookup(c: Ctx, name: string): unknown {
  const v = c.scope.lookup(name);
  return typeof v === 'function' ? undefined : v;
}

function localLookup(c: Ctx, name: string): unknown {
  for (let f: Frame | null = c.frame; f !== null; f = f.parent) if (name in f.vars) return f.vars[name];
  return scopeLookup(c, name);
}

/** Names bound inside a template ({% for %} targets, `loop`, {% set %}). */
export function boundNames(body: Stmt[], out = new Set<string>()): Set<string> {
  for (const s of body) {
    switch (s.t) {
      case 'for':
        for (const t of s.targets) out.add(t);
        out.add('loop');
        boundNames(s.body, out);
        if (s.else) boundNames(s.else, out);
        break;
      case 'if':
        for (const [, b] of s.branches) boundNames(b, out);
        if (s.else) boundNames(s.else, out);
        break;
      case 'set':
        for (const t of s.targets) out.add(t);
        break;
      case 'setblock':
        out.add(s.target);
        boundNames(s.body, out);
        break;
      default:
        break;
    }
  }
  return out;
}

function exprMentions(e: Expr | null, name: string): boolean {
  if (e === null) return false;
  switch (e.t) {
    case 'const':
      return false;
    case 'name':
      return e.name === name;
    case 'attr':
      return exprMentions(e.obj, name);
    case 'item':
      return exprMentions(e.obj, name) || exprMentions(e.key, name);
    case 'slice':
      return exprMentions(e.obj, name) || exprMentions(e.start, name) || exprMentions(e.stop, name) || exprMentions(e.step, name);
    case 'list':
    case 'concat':
      return e.items.some((x) => exprMentions(x, name));
    case 'dict':
      return e.pairs.some(([k, v]) => exprMentions(k, name) || exprMentions(v, name));
    case 'call':
      return exprMentions(e.callee, name) || e.args.some((x) => exprMentions(x, name)) || e.kwargs.some(([, x]) => exprMentions(x, name));
    case 'filter':
    case 'test':
      return exprMentions(e.node, name) || e.args.some((x) => exprMentions(x, name)) || e.kwargs.some(([, x]) => exprMentions(x, name));
    case 'unary':
      return exprMentions(e.node, name);
    case 'bin':
    case 'and':
    case 'or':
      return exprMentions(e.left, name) || exprMentions(e.right, name);
    case 'compare':
      return exprMentions(e.first, name) || e.ops.some(([, x]) => exprMentions(x, name));
    case 'cond':
      return exprMentions(e.test, name) || exprMentions(e.then, name) || exprMentions(e.else, name);
  }
}

function stmtsMention(body: Stmt[], name: string): boolean {
  return body.some((s) => {
    switch (s.t) {
      case 'text':
        return false;
      case 'output':
        return exprMentions(s.expr, name);
      case 'if':
        return s.branches.some(([c, b]) => exprMentions(c, name) || stmtsMention(b, name)) || (s.else !== null && stmtsMention(s.else, name));
      case 'for':
        return exprMentions(s.iter, name) || exprMentions(s.cond, name) || stmtsMention(s.body, name) || (s.else !== null && stmtsMention(s.else, name));
      case 'set':
        return exprMentions(s.expr, name);
      case 'setblock':
        return stmtsMention(s.body, name);
    }
  });
}

function hasSet(body: Stmt[]): boolean {
  return body.some((s) => {
    switch (s.t) {
      case 'set':
      case 'setblock':
        return true;
      case 'if':
        return s.branches.some(([, b]) => hasSet(b)) || (s.else !== null && hasSet(s.else));
      default:
        return false; // nested for loops have their own frame
    }
  });
}

/** scalar constant (string/number/bool/none), or undefined if `e` is not one */
function scalarConst(e: Expr): { v: string | number | boolean | null } | undefined {
  return e.t === 'const' ? { v: e.v } : undefined;
}

function pathSegment(key: unknown): string {
  if (typeof key === 'string') return isIdentifier(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  if (typeof key === 'number') return `[${key}]`;
  return `[${toTemplateString(key) || typeName(key)}]`;
}

export class Compiler {
  private readonly bound: Set<string>;

  constructor(
    private readonly src: string,
    bound: Set<string>,
  ) {
    this.bound = bound;
  }

  // ------------------------------------------------------------ errors
  private init(n: Span): TemplateErrorInit {
    return { source: this.src, offset: n.s, expression: this.src.slice(n.s, n.e) };
  }
  evalError(n: Span, msg: string): TemplateEvalError {
    return new TemplateEvalError(msg, this.init(n));
  }
  limitError(n: Span, msg: string): TemplateLimitError {
    return new TemplateLimitError(msg, this.init(n));
  }
  syntaxError(offset: number, msg: string, code?: string): TemplateSyntaxError {
    return new TemplateSyntaxError(msg, { source: this.src, offset, code });
  }
  /** Convert an internal RuntimeFail into a positioned error; rethrow anything else unchanged. */
  rethrow(e: unknown, n: Span): never {
    if (e instanceof RuntimeFail) throw e.kind === 'limit' ? this.limitError(n, e.message) : this.evalError(n, e.message);
    throw e;
  }
  private outputLimit(c: Ctx, n: Span): never {
    throw this.limitError(n, `output size limit exceeded (${c.maxOut} bytes)`);
  }

  // ------------------------------------------------------------ expressions
  expr(n: Expr, tolerant = false): Ev {
    switch (n.t) {
      case 'const': {
        const v = n.v;
        return () => v;
      }
      case 'name':
      case 'attr':
      case 'item': {
        const raw = this.access(n);
        return tolerant ? raw : this.strictCheck(raw, n);
      }
      case 'slice': {
        const o = this.expr(n.obj);
        const a = n.start ? this.expr(n.start) : () => null;
        const b = n.stop ? this.expr(n.stop) : () => null;
        const st = n.step ? this.expr(n.step) : () => null;
        return (c) => {
          const ov = o(c);
          const av = a(c);
          const bv = b(c);
          const sv = st(c);
          try {
            return sliceValue(ov, av, bv, sv);
          } catch (e) {
            return this.rethrow(e, n);
          }
        };
      }
      case 'list': {
        const items = n.items.map((x) => this.expr(x));
        const len = items.length;
        return (c) => {
          const out = new Array<unknown>(len);
          for (let i = 0; i < len; i++) out[i] = items[i](c);
          return out;
        };
      }
      case 'dict': {
        const pairs = n.pairs.map(([k, v]) => [this.expr(k), this.expr(v)] as [Ev, Ev]);
        return (c) => {
          const o: Dict = {};
          for (const [k, v] of pairs) {
            const kv = k(c);
            setKey(o, typeof kv === 'string' ? kv : toTemplateString(kv), v(c));
          }
          return o;
        };
      }
      case 'call':
        return this.call(n);
      case 'filter':
        return this.filter(n);
      case 'test':
        return this.test(n);
      case 'unary':
        return this.unary(n);
      case 'bin':
        return this.binary(n);
      case 'concat': {
        const items = n.items.map((x) => this.expr(x));
        return (c) => {
          let s = '';
          for (let i = 0; i < items.length; i++) {
            const v = items[i](c);
            s += typeof v === 'string' ? v : this.str(v, n);
          }
          if (s.length > c.maxOut) this.outputLimit(c, n);
          return s;
        };
      }
      case 'and': {
        const l = this.expr(n.left);
        const r = this.expr(n.right);
        return (c) => {
          const v = l(c);
          return truthy(v) ? r(c) : v;
        };
      }
      case 'or': {
        const l = this.expr(n.left);
        const r = this.expr(n.right);
        return (c) => {
          const v = l(c);
          return truthy(v) ? v : r(c);
        };
      }
      case 'compare':
        return this.compare(n);
      case 'cond': {
        const t = this.expr(n.test);
        const a = this.expr(n.then);
        const b = n.else ? this.expr(n.else) : null;
        return b === null ? (c) => (truthy(t(c)) ? a(c) : undefined) : (c) => (truthy(t(c)) ? a(c) : b(c));
      }
    }
  }

  /** string conversion that can only fail on absurdly nested data */
  private str(v: unknown, n: Span): string {
    try {
      return toTemplateString(v);
    } catch (e) {
      return this.rethrow(e, n);
    }
  }

  /** access chain without the strict check (chainable undefined) */
  private access(n: Expr): Ev {
    if (n.t === 'name') {
      const name = n.name;
      return this.bound.has(name) ? (c) => localLookup(c, name) : (c) => scopeLookup(c, name);
    }
    if (n.t === 'attr') {
      const key = n.key;
      const o = n.obj;
      if (o.t === 'name' && !this.bound.has(o.name)) {
        const nm = o.name;
        return (c) => getAttr(c.scope.lookup(nm), key);
      }
      if (o.t === 'attr' && o.obj.t === 'name' && !this.bound.has(o.obj.name)) {
        const nm = o.obj.name;
        const k1 = o.key;
        return (c) => getAttr(getAttr(c.scope.lookup(nm), k1), key);
      }
      const oe = isAccess(o) ? this.access(o) : this.expr(o);
      return (c) => getAttr(oe(c), key);
    }
    if (n.t === 'item') {
      const oe = isAccess(n.obj) ? this.access(n.obj) : this.expr(n.obj);
      const k = scalarConst(n.key);
      if (k !== undefined) {
        const kv = k.v;
        return (c) => getItem(oe(c), kv);
      }
      const ke = this.expr(n.key);
      return (c) => getItem(oe(c), ke(c));
    }
    return this.expr(n);
  }

  private strictCheck(raw: Ev, n: Expr): Ev {
    return (c) => {
      const v = raw(c);
      if (v === undefined && c.strict) this.throwUndefined(c, n);
      return v;
    };
  }

  /** Re-walk the chain to find the first undefined link and report the whole path. */
  private throwUndefined(c: Ctx, n: Expr): never {
    const segs: Expr[] = [];
    let base: Expr = n;
    while (base.t === 'attr' || base.t === 'item') {
      segs.unshift(base);
      base = base.obj;
    }
    let path: string;
    let v: unknown;
    if (base.t === 'name') {
      path = base.name;
      v = this.access(base)(c);
    } else {
      path = this.src.slice(base.s, base.e).trim();
      v = this.expr(base)(c);
    }
    let firstMissing: string | null = v === undefined ? path : null;
    for (const s of segs) {
      let key: unknown;
      if (s.t === 'attr') key = s.key;
      else if (s.t === 'item') key = scalarConst(s.key)?.v ?? this.expr(s.key)(c);
      v = s.t === 'attr' ? getAttr(v, key as string) : getItem(v, key);
      path += pathSegment(key);
      if (v === undefined && firstMissing === null) firstMissing = path;
    }
    const what = firstMissing === null || firstMissing === path ? `'${path}' is undefined` : `'${path}' is undefined ('${firstMissing}' is undefined)`;
    throw new TemplateUndefinedError(what, path, this.init(n));
  }

  private evalArgs(args: Expr[], kwargs: Kwarg[]): { a: Ev[]; kw: [string, Ev][] } {
    return { a: args.map((x) => this.expr(x)), kw: kwargs.map(([k, x]) => [k, this.expr(x)] as [string, Ev]) };
  }

  private call(n: Extract<Expr, { t: 'call' }>): Ev {
    const callee = n.callee;
    const { a, kw } = this.evalArgs(n.args, n.kwargs);
    const runArgs = (c: Ctx): [unknown[], Kw] => {
      const av = a.length === 0 ? EMPTY : a.map((f) => f(c));
      let kv: Kw = null;
      if (kw.length > 0) {
        kv = Object.create(null) as Dict;
        for (const [k, f] of kw) kv[k] = f(c);
      }
      return [av, kv];
    };
    if (callee.t === 'attr') {
      const name = callee.key;
      if (!METHOD_NAMES.has(name)) {
        return () => {
          throw this.evalError(n, `'${name}' is not an allowed method (allowed: ${[...METHOD_NAMES].sort().join(', ')})`);
        };
      }
      const recv = this.expr(callee.obj);
      return (c) => {
        const r = recv(c);
        const [av, kv] = runArgs(c);
        try {
          return callMethod(r, name, av, kv);
        } catch (e) {
          return this.rethrow(e, n);
        }
      };
    }
    if (callee.t === 'name' && !this.bound.has(callee.name)) {
      const g = GLOBALS.get(callee.name);
      if (g !== undefined) {
        return (c) => {
          const [av, kv] = runArgs(c);
          try {
            return g(c, av, kv);
          } catch (e) {
            return this.rethrow(e, n);
          }
        };
      }
    }
    const text = this.src.slice(callee.s, callee.e).trim();
    return () => {
      throw this.evalError(n, `'${text}' is not callable (only the globals ${[...GLOBALS.keys()].join(', ')} and whitelisted methods can be called)`);
    };
  }

  /** Validate constant filter/test names passed to map/select/reject/selectattr/rejectattr. */
  private checkDynamicNames(n: Extract<Expr, { t: 'filter' }>): void {
    let arg: Expr | undefined;
    let kind: 'filter' | 'test' | undefined;
    if (n.name === 'map' && !n.kwargs.some(([k]) => k === 'attribute')) {
      arg = n.args[0];
      kind = 'filter';
    } else if (n.name === 'select' || n.name === 'reject') {
      arg = n.args[0];
      kind = 'test';
    } else if (n.name === 'selectattr' || n.name === 'rejectattr') {
      arg = n.args[1];
      kind = 'test';
    }
    if (arg === undefined || arg.t !== 'const' || typeof arg.v !== 'string') return;
    if (kind === 'filter' && !FILTERS.has(arg.v)) throw this.syntaxError(arg.s, `no filter named '${arg.v}'`, 'E_UNKNOWN_FILTER');
    if (kind === 'test' && !TESTS.has(arg.v)) throw this.syntaxError(arg.s, `no test named '${arg.v}'`, 'E_UNKNOWN_TEST');
  }

  private filter(n: Extract<Expr, { t: 'filter' }>): Ev {
    const f: FilterDef | undefined = FILTERS.get(n.name);
    if (f === undefined) throw this.syntaxError(n.ns, `no filter named '${n.name}'`, 'E_UNKNOWN_FILTER');
    const input = this.expr(n.node, f.tolerant === true);
    if (f.variadic) {
      this.checkDynamicNames(n);
      const { a, kw } = this.evalArgs(n.args, n.kwargs);
      return (c) => {
        const v = input(c);
        const av = a.map((x) => x(c));
        let kv: Kw = null;
        if (kw.length > 0) {
          kv = Object.create(null) as Dict;
          for (const [k, x] of kw) kv[k] = x(c);
        }
        try {
          return f.fn(c, v, av, kv);
        } catch (e) {
          return this.rethrow(e, n);
        }
      };
    }
    const bound = bindParams<Ev>(
      `filter '${n.name}'`,
      f.params,
      n.args.map((x) => this.expr(x)),
      n.kwargs.map(([k, x]) => [k, this.expr(x)]),
      (d) => () => d,
    );
    if (typeof bound === 'string') throw this.syntaxError(n.ns, bound);
    const fn = f.fn;
    if (bound.length === 0) {
      return (c) => {
        const v = input(c);
        try {
          return fn(c, v, EMPTY, null);
        } catch (e) {
          return this.rethrow(e, n);
        }
      };
    }
    if (bound.length === 1) {
      const a0 = bound[0];
      return (c) => {
        const v = input(c);
        const args = [a0(c)];
        try {
          return fn(c, v, args, null);
        } catch (e) {
          return this.rethrow(e, n);
        }
      };
    }
    if (bound.length === 2) {
      const a0 = bound[0];
      const a1 = bound[1];
      return (c) => {
        const v = input(c);
        const args = [a0(c), a1(c)];
        try {
          return fn(c, v, args, null);
        } catch (e) {
          return this.rethrow(e, n);
        }
      };
    }
    return (c) => {
      const v = input(c);
      const args = bound.map((x) => x(c));
      try {
        return fn(c, v, args, null);
      } catch (e) {
        return this.rethrow(e, n);
      }
    };
  }

  private test(n: Extract<Expr, { t: 'test' }>): Ev {
    const t = TESTS.get(n.name);
    if (t === undefined) throw this.syntaxError(n.ns, `no test named '${n.name}'`, 'E_UNKNOWN_TEST');
    const input = this.expr(n.node, t.tolerant === true);
    const bound = bindParams<Ev>(
      `test '${n.name}'`,
      t.params,
      n.args.map((x) => this.expr(x)),
      n.kwargs.map(([k, x]) => [k, this.expr(x)]),
      (d) => () => d,
    );
    if (typeof bound === 'string') throw this.syntaxError(n.ns, bound);
    const fn = t.fn;
    const neg = n.negate;
    if (bound.length === 0) {
      return (c) => fn(c, input(c), EMPTY) !== neg;
    }
    return (c) => {
      const v = input(c);
      const args = bound.map((x) => x(c));
      try {
        return fn(c, v, args) !== neg;
      } catch (e) {
        return this.rethrow(e, n);
      }
    };
  }

  private unary(n: Extract<Expr, { t: 'unary' }>): Ev {
    const x = this.expr(n.node);
    if (n.op === 'not') return (c) => !truthy(x(c));
    const neg = n.op === '-';
    return (c) => {
      const v = x(c);
      if (typeof v !== 'number') throw this.evalError(n, `bad operand type for unary ${n.op}: '${typeName(v)}'`);
      return neg ? (v === 0 ? 0 : -v) : v;
    };
  }

  private binary(n: Extract<Expr, { t: 'bin' }>): Ev {
    const l = this.expr(n.left);
    const r = this.expr(n.right);
    const bad = (a: unknown, b: unknown): never => {
      throw this.evalError(n, `unsupported operand types for ${n.op}: '${typeName(a)}' and '${typeName(b)}'`);
    };
    const fin = (x: number): number => {
      if (!Number.isFinite(x)) throw this.evalError(n, `numeric result out of range for ${n.op}`);
      return x === 0 ? 0 : x;
    };
    switch (n.op) {
      case '+':
        return (c) => {
          const a = l(c);
          const b = r(c);
          if (typeof a === 'number' && typeof b === 'number') return fin(a + b);
          if (typeof a === 'string' && typeof b === 'string') {
            const s = a + b;
            if (s.length > c.maxOut) this.outputLimit(c, n);
            return s;
          }
          if (Array.isArray(a) && Array.isArray(b)) return a.concat(b);
          return bad(a, b);
        };
      case '-':
        return (c) => {
          const a = l(c);
          const b = r(c);
          return typeof a === 'number' && typeof b === 'number' ? fin(a - b) : bad(a, b);
        };
      case '*':
        return (c) => {
          const a = l(c);
          const b = r(c);
          return typeof a === 'number' && typeof b === 'number' ? fin(a * b) : bad(a, b);
        };
      case '/':
        return (c) => {
          const a = l(c);
          const b = r(c);
          if (typeof a !== 'number' || typeof b !== 'number') return bad(a, b);
          if (b === 0) throw this.evalError(n, 'division by zero');
          return fin(a / b);
        };
      case '//':
        return (c) => {
          const a = l(c);
          const b = r(c);
          if (typeof a !== 'number' || typeof b !== 'number') return bad(a, b);
          if (b === 0) throw this.evalError(n, 'integer division by zero');
          return fin(Math.floor(a / b));
        };
      case '%':
        return (c) => {
          const a = l(c);
          const b = r(c);
          if (typeof a !== 'number' || typeof b !== 'number') return bad(a, b);
          if (b === 0) throw this.evalError(n, 'modulo by zero');
          let m = a % b;
          if (m !== 0 && m < 0 !== b < 0) m += b;
          return fin(m);
        };
      case '**':
        return (c) => {
          const a = l(c);
          const b = r(c);
          if (typeof a !== 'number' || typeof b !== 'number') return bad(a, b);
          if (a === 0 && b < 0) throw this.evalError(n, 'zero cannot be raised to a negative power');
          const p = a ** b;
          if (Number.isNaN(p)) throw this.evalError(n, 'negative number cannot be raised to a fractional power');
          return fin(p);
        };
    }
  }

  private static cmpFn(op: CmpOp): (a: unknown, b: unknown) => boolean {
    switch (op) {
      case '==':
        return deepEqual;
      case '!=':
        return (a, b) => !deepEqual(a, b);
      case '<':
        return (a, b) => compareOrder(a, b) < 0;
      case '<=':
        return (a, b) => compareOrder(a, b) <= 0;
      case '>':
        return (a, b) => compareOrder(a, b) > 0;
      case '>=':
        return (a, b) => compareOrder(a, b) >= 0;
      case 'in':
        return (a, b) => contains(b, a);
      case 'notin':
        return (a, b) => !contains(b, a);
    }
  }

  private compare(n: Extract<Expr, { t: 'compare' }>): Ev {
    const first = this.expr(n.first);
    if (n.ops.length === 1) {
      const [op, rn] = n.ops[0];
      const k = scalarConst(rn);
      // fast paths: `x == <scalar>` is identity; `x in [<scalars>]` against a folded constant list
      if (k !== undefined && (op === '==' || op === '!=')) {
        const kv = k.v;
        return op === '==' ? (c) => first(c) === kv : (c) => first(c) !== kv;
      }
      if ((op === 'in' || op === 'notin') && rn.t === 'list' && rn.items.every((x) => x.t === 'const')) {
        const arr = rn.items.map((x) => (x as Extract<Expr, { t: 'const' }>).v);
        return op === 'in' ? (c) => arr.includes(first(c) as never) : (c) => !arr.includes(first(c) as never);
      }
      const right = this.expr(rn);
      const fn = Compiler.cmpFn(op);
      return (c) => {
        const a = first(c);
        const b = right(c);
        try {
          return fn(a, b);
        } catch (e) {
          return this.rethrow(e, n);
        }
      };
    }
    const rest = n.ops.map(([op, x]) => [Compiler.cmpFn(op), this.expr(x)] as const);
    return (c) => {
      let a = first(c);
      for (const [fn, x] of rest) {
        const b = x(c);
        let ok: boolean;
        try {
          ok = fn(a, b);
        } catch (e) {
          return this.rethrow(e, n);
        }
        if (!ok) return false;
        a = b;
      }
      return true;
    };
  }

  // ------------------------------------------------------------ statements
  stmts(body: Stmt[]): Ex {
    const fns = body.map((s) => this.stmt(s));
    if (fns.length === 0) return () => undefined;
    if (fns.length === 1) return fns[0];
    return (c) => {
      for (let i = 0; i < fns.length; i++) fns[i](c);
    };
  }

  private stmt(s: Stmt): Ex {
    switch (s.t) {
      case 'text': {
        const v = s.v;
        return (c) => {
          c.out += v;
          if (c.out.length > c.maxOut) this.outputLimit(c, s);
        };
      }
      case 'output': {
        const ev = this.expr(s.expr);
        const at = s.expr;
        return (c) => {
          const v = ev(c);
          c.out += typeof v === 'string' ? v : this.str(v, at);
          if (c.out.length > c.maxOut) this.outputLimit(c, at);
        };
      }
      case 'if': {
        const branches = s.branches.map(([t, b]) => [this.expr(t), this.stmts(b)] as const);
        const alt = s.else ? this.stmts(s.else) : null;
        return (c) => {
          for (const [t, b] of branches) {
            if (truthy(t(c))) {
              b(c);
              return;
            }
          }
          if (alt !== null) alt(c);
        };
      }
      case 'for':
        return this.forLoop(s);
      case 'set': {
        const ev = this.expr(s.expr);
        const targets = s.targets;
        if (targets.length === 1) {
          const t = targets[0];
          return (c) => {
            const v = ev(c);
            (c.frame as Frame).vars[t] = v;
          };
        }
        return (c) => {
          const v = ev(c);
          this.unpack(s, (c.frame as Frame).vars, targets, v);
        };
      }
      case 'setblock': {
        const body = this.stmts(s.body);
        const t = s.target;
        return (c) => {
          const saved = c.out;
          c.out = '';
          let captured: string;
          try {
            body(c);
            captured = c.out;
          } finally {
            c.out = saved;
          }
          (c.frame as Frame).vars[t] = captured;
        };
      }
    }
  }

  private unpack(at: Span, vars: Record<string, unknown>, targets: string[], v: unknown): void {
    if (!Array.isArray(v) || v.length !== targets.length) {
      throw this.evalError(at, `cannot unpack ${typeName(v)}${Array.isArray(v) ? ` of length ${v.length}` : ''} into ${targets.length} names`);
    }
    for (let i = 0; i < targets.length; i++) vars[targets[i]] = v[i];
  }

  private forLoop(s: Extract<Stmt, { t: 'for' }>): Ex {
    const targets = s.targets;
    const single = targets.length === 1 ? targets[0] : null;
    const body = this.stmts(s.body);
    const alt = s.else ? this.stmts(s.else) : null;
    const cond = s.cond ? this.expr(s.cond) : null;
    const usesLoop = stmtsMention(s.body, 'loop');
    const freshVars = hasSet(s.body);
    const it = s.iter;
    const lazyRange =
      it.t === 'call' && it.callee.t === 'name' && it.callee.name === 'range' && !this.bound.has('range') && it.kwargs.length === 0
        ? it.args.map((x) => this.expr(x))
        : null;
    const iterEv = lazyRange === null ? this.expr(it) : null;
    const bind = (vars: Record<string, unknown>, item: unknown) => {
      if (single !== null) vars[single] = item;
      else this.unpack(s, vars, targets, item);
    };
    return (c) => {
      let items: unknown[] | null = null;
      let rs: RangeSpec | null = null;
      if (lazyRange !== null) {
        const args = lazyRange.map((x) => x(c));
        try {
          rs = rangeSpec(args);
        } catch (e) {
          this.rethrow(e, it);
        }
      } else {
        const v = (iterEv as Ev)(c);
        try {
          items = toList(v, 'for loop');
        } catch (e) {
          this.rethrow(e, it);
        }
      }
      let n = rs !== null ? rs.len : (items as unknown[]).length;
      const parent = c.frame;
      const frame: Frame = { vars: Object.create(null) as Record<string, unknown>, parent };
      if (cond !== null) {
        const kept: unknown[] = [];
        c.frame = frame;
        try {
          for (let i = 0; i < n; i++) {
            if (++c.steps > c.maxSteps) throw this.limitError(s, `loop step limit exceeded (${c.maxSteps} iterations per render)`);
            const item = rs !== null ? rs.start + i * rs.step : (items as unknown[])[i];
            bind(frame.vars, item);
            if (truthy(cond(c))) kept.push(item);
          }
        } finally {
          c.frame = parent;
        }
        items = kept;
        rs = null;
        n = kept.length;
        frame.vars = Object.create(null) as Record<string, unknown>;
      }
      if (n === 0) {
        if (alt !== null) alt(c);
        return;
      }
      c.frame = frame;
      try {
        for (let i = 0; i < n; i++) {
          if (++c.steps > c.maxSteps) throw this.limitError(s, `loop step limit exceeded (${c.maxSteps} iterations per render)`);
          const item = rs !== null ? rs.start + i * rs.step : (items as unknown[])[i];
          if (freshVars && i > 0) frame.vars = Object.create(null) as Record<string, unknown>;
          bind(frame.vars, item);
          if (usesLoop) {
            frame.vars.loop = {
              index: i + 1,
              index0: i,
              revindex: n - i,
              revindex0: n - i - 1,
              first: i === 0,
              last: i === n - 1,
              length: n,
              previtem: i > 0 ? (rs !== null ? rs.start + (i - 1) * rs.step : (items as unknown[])[i - 1]) : undefined,
              nextitem: i < n - 1 ? (rs !== null ? rs.start + (i + 1) * rs.step : (items as unknown[])[i + 1]) : undefined,
              depth: 1,
              depth0: 0,
            };
          }
          body(c);
        }
      } finally {
        c.frame = parent;
      }
    };
  }
}

// ---------------------------------------------------------------- compiled programs
export interface Program {
  /** single-expression or bare expression evaluator (null for statement templates) */
  expr: Ev | null;
  /** statement body (mixed templates) */
  body: Ex | null;
  needsFrame: boolean;
}

export function compileParsed(p: ParsedTemplate): Program {
  if (p.kind === 'literal') return { expr: null, body: null, needsFrame: false };
  const bound = boundNames(p.body);
  const comp = new Compiler(p.source, bound);
  if (p.kind === 'single-expression' && p.expr !== null) return { expr: comp.expr(p.expr), body: null, needsFrame: false };
  return { expr: null, body: comp.stmts(p.body), needsFrame: bound.size > 0 };
}

export function compileExpr(source: string, e: Expr): Ev {
  return new Compiler(source, new Set()).expr(e);
}

export function finishOutput(c: Ctx, source: string): string {
  const out = c.out;
  if (out.length * 3 > c.maxOut && utf8Length(out) > c.maxOut) {
    throw new TemplateLimitError(`output size limit exceeded (${c.maxOut} bytes)`, { source });
  }
  return out;
}

export function checkValueSize(c: Ctx, v: unknown, source: string): void {
  if (typeof v === 'string' && v.length * 3 > c.maxOut && (v.length > c.maxOut || utf8Length(v) > c.maxOut)) {
    throw new TemplateLimitError(`output size limit exceeded (${c.maxOut} bytes)`, { source });
  }
}

export { setKey };
