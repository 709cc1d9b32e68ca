// Static analysis: which free root names and static paths a template references, which filters
// and tests it uses, and whether it calls now(). Names bound inside the template are not free.
import type { Expr, Stmt } from './ast';
import { GLOBALS } from './builtins';

export interface TemplateReference {
  root: string;
  path: string[];
  dynamic: boolean;
}

export interface TemplateAnalysis {
  references: TemplateReference[];
  roots: string[];
  filters: string[];
  tests: string[];
  usesNow: boolean;
}

export interface NameUse {
  name: string;
  offset: number;
  kind: 'filter' | 'test';
}

type Seg = { kind: 'key'; key: string } | { kind: 'dynamic'; expr: Expr } | { kind: 'cut' };

export class Analyzer {
  private readonly refs = new Map<string, TemplateReference>();
  private readonly filters = new Set<string>();
  private readonly tests = new Set<string>();
  /** every filter/test name occurrence, with its offset (for checkTemplate) */
  readonly uses: NameUse[] = [];
  private usesNow = false;
  private readonly scopes: Set<string>[] = [new Set()];

  private bound(name: string): boolean {
    for (const s of this.scopes) if (s.has(name)) return true;
    return false;
  }

  result(): TemplateAnalysis {
    const references = [...this.refs.values()];
    const roots: string[] = [];
    for (const r of references) if (!roots.includes(r.root)) roots.push(r.root);
    return { references, roots, filters: [...this.filters], tests: [...this.tests], usesNow: this.usesNow };
  }

  private addRef(root: string, path: string[], dynamic: boolean): void {
    const key = JSON.stringify([root, path, dynamic]);
    if (!this.refs.has(key)) this.refs.set(key, { root, path, dynamic });
  }

  stmts(body: Stmt[]): void {
    for (const s of body) {
      switch (s.t) {
        case 'text':
          break;
        case 'output':
          this.expr(s.expr);
          break;
        case 'if':
          for (const [c, b] of s.branches) {
            this.expr(c);
            this.stmts(b);
          }
          if (s.else) this.stmts(s.else);
          break;
        case 'for':
          this.expr(s.iter);
          this.scopes.push(new Set([...s.targets, 'loop']));
          if (s.cond) this.expr(s.cond);
          this.stmts(s.body);
          this.scopes.pop();
          if (s.else) this.stmts(s.else);
          break;
        case 'set':
          this.expr(s.expr);
          for (const t of s.targets) this.scopes[this.scopes.length - 1].add(t);
          break;
        case 'setblock':
          this.stmts(s.body);
          this.scopes[this.scopes.length - 1].add(s.target);
          break;
      }
    }
  }

  private use(kind: 'filter' | 'test', name: string, offset: number): void {
    (kind === 'filter' ? this.filters : this.tests).add(name);
    this.uses.push({ name, offset, kind });
  }

  /** Flatten an access chain; `.get('k')` with a constant key counts as a path segment. */
  private chain(e: Expr): { base: Expr; segs: Seg[]; args: Expr[] } {
    const segs: Seg[] = [];
    const args: Expr[] = [];
    let b = e;
    for (;;) {
      if (b.t === 'attr') {
        segs.unshift({ kind: 'key', key: b.key });
        b = b.obj;
      } else if (b.t === 'item') {
        const k = b.key;
        segs.unshift(k.t === 'const' && (typeof k.v === 'string' || typeof k.v === 'number') ? { kind: 'key', key: String(k.v) } : { kind: 'dynamic', expr: k });
        b = b.obj;
      } else if (b.t === 'slice') {
        segs.unshift({ kind: 'cut' });
        for (const x of [b.start, b.stop, b.step]) if (x) args.push(x);
        b = b.obj;
      } else if (b.t === 'call' && b.callee.t === 'attr' && b.callee.key === 'get' && b.args.length >= 1 && b.args[0].t === 'const' && typeof b.args[0].v === 'string' && b.kwargs.length === 0) {
        segs.unshift({ kind: 'key', key: b.args[0].v });
        args.push(...b.args.slice(1));
        b = b.callee.obj;
      } else break;
    }
    return { base: b, segs, args };
  }

  expr(e: Expr | null): void {
    if (e === null) return;
    switch (e.t) {
      case 'const':
        return;
      case 'name':
      case 'attr':
      case 'item':
      case 'slice': {
        const { base, segs, args } = this.chain(e);
        for (const a of args) this.expr(a);
        for (const s of segs) if (s.kind === 'dynamic') this.expr(s.expr);
        if (base.t === 'name') {
          if (this.bound(base.name)) return;
          const path: string[] = [];
          let dynamic = false;
          for (const s of segs) {
            if (s.kind === 'key') path.push(s.key);
            else {
              dynamic = s.kind === 'dynamic';
              break;
            }
          }
          this.addRef(base.name, path, dynamic);
        } else this.expr(base);
        return;
      }
      case 'list':
      case 'concat':
        for (const x of e.items) this.expr(x);
        return;
      case 'dict':
        for (const [k, v] of e.pairs) {
          this.expr(k);
          this.expr(v);
        }
        return;
      case 'call': {
        const c = e.callee;
        const { base, args } = this.chain(e);
        if (base !== e) {
          // `x.get('k', d)`: a chain reading x.k (+ the default expression)
          for (const a of args) this.expr(a);
          this.expr(rebuild(e));
          return;
        }
        if (c.t === 'name' && !this.bound(c.name) && GLOBALS.has(c.name)) {
          if (c.name === 'now') this.usesNow = true;
        } else if (c.t === 'attr') this.expr(c.obj);
        else this.expr(c);
        for (const a of e.args) this.expr(a);
        for (const [, a] of e.kwargs) this.expr(a);
        return;
      }
      case 'filter': {
        this.use('filter', e.name, e.ns);
        this.expr(e.node);
        for (const a of e.args) this.expr(a);
        for (const [, a] of e.kwargs) this.expr(a);
        let dyn: Expr | undefined;
        let kind: 'filter' | 'test' = 'test';
        if (e.name === 'map' && !e.kwargs.some(([k]) => k === 'attribute')) {
          dyn = e.args[0];
          kind = 'filter';
        } else if (e.name === 'select' || e.name === 'reject') dyn = e.args[0];
        else if (e.name === 'selectattr' || e.name === 'rejectattr') dyn = e.args[1];
        if (dyn && dyn.t === 'const' && typeof dyn.v === 'string') this.use(kind, dyn.v, dyn.s);
        return;
      }
      case 'test':
        this.use('test', e.name, e.ns);
        this.expr(e.node);
        for (const a of e.args) this.expr(a);
        for (const [, a] of e.kwargs) this.expr(a);
        return;
      case 'unary':
        this.expr(e.node);
        return;
      case 'bin':
      case 'and':
      case 'or':
        this.expr(e.left);
        this.expr(e.right);
        return;
      case 'compare':
        this.expr(e.first);
        for (const [, x] of e.ops) this.expr(x);
        return;
      case 'cond':
        this.expr(e.test);
        this.expr(e.then);
        this.expr(e.else);
        return;
    }
  }
}

/** `x.get('k', d)` seen as an access chain: represent it as `x['k']` for reference collection. */
function rebuild(e: Expr): Expr {
  if (e.t === 'call' && e.callee.t === 'attr' && e.callee.key === 'get' && e.args[0]?.t === 'const') {
    const k = e.args[0];
    return { t: 'item', obj: rebuild(e.callee.obj), key: k, s: e.s, e: e.e };
  }
  if (e.t === 'attr') return { ...e, obj: rebuild(e.obj) };
  if (e.t === 'item') return { ...e, obj: rebuild(e.obj) };
  if (e.t === 'slice') return { ...e, obj: rebuild(e.obj) };
  return e;
}
