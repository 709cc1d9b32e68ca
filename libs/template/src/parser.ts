// Recursive-descent parser with Jinja2's precedence:
//   cond-expr < or < and < not < compare/in < + - < ~ < * / // % < ** < unary < filters/tests < postfix
import type { CmpOp, Expr, Kwarg, ParsedTemplate, Stmt } from './ast';
import { TemplateSyntaxError } from './errors';
import { lexExpression, lexTemplate, type Token } from './lexer';

const UNSUPPORTED_TAGS = new Set([
  'macro', 'endmacro', 'call', 'endcall', 'filter', 'endfilter', 'include', 'import', 'from', 'extends',
  'block', 'endblock', 'with', 'endwith', 'autoescape', 'endautoescape', 'do', 'break', 'continue',
  'trans', 'endtrans', 'pluralize',
]);
const MAX_DEPTH = 200;
const CMP_OPS = new Set(['==', '!=', '<', '<=', '>', '>=']);
/** names that end a bare (parenthesis-less) test argument */
const TEST_ARG_STOP = new Set(['else', 'or', 'and', 'if', 'in', 'not', 'is']);

export function hasTemplateMarkers(s: string): boolean {
  return s.includes('{{') || s.includes('{%');
}

export class Parser {
  private i = 0;
  private depth = 0;

  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  // ------------------------------------------------------------ helpers
  private get cur(): Token {
    return this.toks[this.i];
  }
  private peek(k = 1): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.toks[this.i];
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  private atEof(): boolean {
    return this.toks[this.i].t === 'eof';
  }
  private isOp(v: string, t: Token = this.cur): boolean {
    return t.t === 'op' && t.v === v;
  }
  private isName(v: string, t: Token = this.cur): boolean {
    return t.t === 'name' && t.v === v;
  }
  error(msg: string, offset: number = this.cur.s, code?: string): TemplateSyntaxError {
    return new TemplateSyntaxError(msg, { source: this.src, offset, code });
  }
  private describe(t: Token): string {
    switch (t.t) {
      case 'eof':
        return 'end of input';
      case 'vend':
      case 'bend':
        return `'${t.v}'`;
      case 'str':
        return 'string literal';
      case 'num':
        return `number ${t.v}`;
      default:
        return `'${t.v}'`;
    }
  }
  private expectOp(v: string): Token {
    if (!this.isOp(v)) throw this.error(`expected '${v}', got ${this.describe(this.cur)}`);
    return this.next();
  }
  private expectName(): Token {
    if (this.cur.t !== 'name') throw this.error(`expected a name, got ${this.describe(this.cur)}`);
    return this.next();
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw this.error('expression nested too deeply');
  }

  // ------------------------------------------------------------ template
  parseTemplateBody(): Stmt[] {
    const body = this.parseBody([]);
    if (this.cur.t !== 'eof') throw this.error(`unexpected ${this.describe(this.cur)}`);
    return body;
  }

  parseBareExpression(): Expr {
    if (this.atEof()) throw this.error('empty expression');
    const e = this.parseExpression(true);
    if (!this.atEof()) throw this.error(`unexpected ${this.describe(this.cur)} after expression`);
    return e;
  }

  private parseBody(ends: string[], opener?: Token): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      const t = this.cur;
      if (t.t === 'eof') {
        if (ends.length > 0) {
          throw this.error(`unexpected end of template: '{% ${opener?.v ?? ''} %}' is not closed (expected {% ${ends[ends.length - 1]} %})`, opener?.s ?? t.s);
        }
        return out;
      }
      if (t.t === 'text') {
        this.next();
        out.push({ t: 'text', v: t.v, s: t.s, e: t.e });
      } else if (t.t === 'vbegin') {
        this.next();
        if (this.cur.t === 'vend') throw this.error('empty expression in {{ }}');
        const expr = this.parseExpression(true);
        const end = this.cur;
        if (end.t !== 'vend') throw this.error(`expected '}}', got ${this.describe(end)}`);
        this.next();
        out.push({ t: 'output', expr, s: t.s, e: end.e });
      } else if (t.t === 'bbegin') {
        const tag = this.peek();
        if (tag.t !== 'name') throw this.error('expected a statement name after {%', tag.s);
        if (ends.includes(tag.v)) return out;
        this.next();
        out.push(this.parseStatement(t));
      } else {
        throw this.error(`unexpected ${this.describe(t)}`);
      }
    }
  }

  private endTag(): Token {
    const t = this.cur;
    if (t.t !== 'bend') throw this.error(`expected '%}', got ${this.describe(t)}`);
    return this.next();
  }

  /** consume `{% name %}` where the current token is bbegin */
  private closeTag(name: string): Token {
    this.next(); // bbegin
    const n = this.expectName();
    if (n.v !== name) throw this.error(`expected {% ${name} %}`, n.s);
    return this.endTag();
  }

  private parseStatement(begin: Token): Stmt {
    const tag = this.next();
    switch (tag.v) {
      case 'if': {
        const branches: [Expr, Stmt[]][] = [];
        let cond = this.parseExpression(true);
        this.endTag();
        let elseBody: Stmt[] | null = null;
        for (;;) {
          const body = this.parseBody(['elif', 'else', 'endif'], tag);
          branches.push([cond, body]);
          this.next(); // bbegin
          const kw = this.next();
          if (kw.v === 'elif') {
            cond = this.parseExpression(true);
            this.endTag();
            continue;
          }
          if (kw.v === 'else') {
            this.endTag();
            elseBody = this.parseBody(['endif'], tag);
            this.closeTag('endif');
          } else this.endTag();
          break;
        }
        return { t: 'if', branches, else: elseBody, s: begin.s, e: this.toks[this.i - 1].e };
      }
      case 'for': {
        if (this.isName('in') && !this.isName('in', this.peek())) throw this.error("expected a loop variable name before 'in'");
        const targets = [this.expectName().v];
        while (this.isOp(',')) {
          this.next();
          if (this.isName('in')) break;
          targets.push(this.expectName().v);
        }
        if (this.isOp('(')) throw this.error('parenthesized loop targets are not supported');
        if (!this.isName('in')) throw this.error(`expected 'in' in for statement, got ${this.describe(this.cur)}`);
        this.next();
        const iter = this.parseExpression(false);
        let cond: Expr | null = null;
        if (this.isName('if')) {
          this.next();
          cond = this.parseExpression(true);
        }
        if (this.isName('recursive')) throw this.error('recursive for loops are not supported', this.cur.s, 'E_UNSUPPORTED_TEMPLATE_FEATURE');
        this.endTag();
        const body = this.parseBody(['else', 'endfor'], tag);
        let elseBody: Stmt[] | null = null;
        if (this.isName('else', this.peek())) {
          this.next();
          this.next();
          this.endTag();
          elseBody = this.parseBody(['endfor'], tag);
        }
        this.closeTag('endfor');
        return { t: 'for', targets, iter, cond, body, else: elseBody, s: begin.s, e: this.toks[this.i - 1].e };
      }
      case 'set': {
        const targets = [this.expectName().v];
        if (this.isOp('.') || this.isOp('[')) {
          throw this.error('assignment to attributes or items (namespace) is not supported', this.cur.s, 'E_UNSUPPORTED_TEMPLATE_FEATURE');
        }
        while (this.isOp(',')) {
          this.next();
          targets.push(this.expectName().v);
        }
        if (this.isOp('=')) {
          this.next();
          const expr = this.parseExpression(true);
          if (this.isOp(',')) {
            // `{% set a, b = 1, 2 %}` -> tuple
            const items = [expr];
            while (this.isOp(',')) {
              this.next();
              items.push(this.parseExpression(true));
            }
            const last = this.endTag();
            return { t: 'set', targets, expr: { t: 'list', items, s: expr.s, e: items[items.length - 1].e }, s: begin.s, e: last.e };
          }
          const last = this.endTag();
          return { t: 'set', targets, expr, s: begin.s, e: last.e };
        }
        if (targets.length !== 1) throw this.error("expected '=' in set statement");
        if (this.isOp('|')) throw this.error('filters on set blocks are not supported', this.cur.s, 'E_UNSUPPORTED_TEMPLATE_FEATURE');
        this.endTag();
        const body = this.parseBody(['endset'], tag);
        this.closeTag('endset');
        return { t: 'setblock', target: targets[0], body, s: begin.s, e: this.toks[this.i - 1].e };
      }
      default:
        if (UNSUPPORTED_TAGS.has(tag.v)) {
          throw this.error(`'{% ${tag.v} %}' is not supported in NoETL templates`, tag.s, 'E_UNSUPPORTED_TEMPLATE_FEATURE');
        }
        if (['elif', 'else', 'endif', 'endfor', 'endset', 'endraw'].includes(tag.v)) {
          throw this.error(`unexpected '{% ${tag.v} %}'`, tag.s);
        }
        throw this.error(`unknown statement '${tag.v}'`, tag.s);
    }
  }

  // ------------------------------------------------------------ expressions
  parseExpression(withCond: boolean): Expr {
    this.enter();
    try {
      return withCond ? this.parseCondExpr() : this.parseOr();
    } finally {
      this.depth--;
    }
  }

  private parseCondExpr(): Expr {
    let e = this.parseOr();
    while (this.isName('if')) {
      this.next();
      const test = this.parseOr();
      let alt: Expr | null = null;
      if (this.isName('else')) {
        this.next();
        alt = this.parseExpression(true);
      }
      e = { t: 'cond', test, then: e, else: alt, s: e.s, e: (alt ?? test).e };
    }
    return e;
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isName('or')) {
      this.next();
      const right = this.parseAnd();
      left = { t: 'or', left, right, s: left.s, e: right.e };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isName('and')) {
      this.next();
      const right = this.parseNot();
      left = { t: 'and', left, right, s: left.s, e: right.e };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.isName('not')) {
      const t = this.next();
      this.enter();
      try {
        const node = this.parseNot();
        return { t: 'unary', op: 'not', node, s: t.s, e: node.e };
      } finally {
        this.depth--;
      }
    }
    return this.parseCompare();
  }

  private parseCompare(): Expr {
    const first = this.parseMath1();
    const ops: [CmpOp, Expr][] = [];
    for (;;) {
      const t = this.cur;
      let op: CmpOp | undefined;
      if (t.t === 'op' && CMP_OPS.has(t.v)) {
        op = t.v as CmpOp;
        this.next();
      } else if (this.isName('in')) {
        op = 'in';
        this.next();
      } else if (this.isName('not') && this.isName('in', this.peek())) {
        op = 'notin';
        this.next();
        this.next();
      } else break;
      ops.push([op, this.parseMath1()]);
    }
    if (ops.length === 0) return first;
    return { t: 'compare', first, ops, s: first.s, e: ops[ops.length - 1][1].e };
  }

  private parseMath1(): Expr {
    let left = this.parseConcat();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().v as '+' | '-';
      const right = this.parseConcat();
      left = { t: 'bin', op, left, right, s: left.s, e: right.e };
    }
    return left;
  }

  private parseConcat(): Expr {
    const first = this.parseMath2();
    if (!this.isOp('~')) return first;
    const items = [first];
    while (this.isOp('~')) {
      this.next();
      items.push(this.parseMath2());
    }
    return { t: 'concat', items, s: first.s, e: items[items.length - 1].e };
  }

  private parseMath2(): Expr {
    let left = this.parsePow();
    while (this.isOp('*') || this.isOp('/') || this.isOp('//') || this.isOp('%')) {
      const op = this.next().v as '*' | '/' | '//' | '%';
      const right = this.parsePow();
      left = { t: 'bin', op, left, right, s: left.s, e: right.e };
    }
    return left;
  }

  private parsePow(): Expr {
    let left = this.parseUnary(true);
    while (this.isOp('**')) {
      this.next();
      const right = this.parseUnary(true);
      left = { t: 'bin', op: '**', left, right, s: left.s, e: right.e };
    }
    return left;
  }

  private parseUnary(withFilter: boolean): Expr {
    this.enter();
    try {
      let node: Expr;
      if (this.isOp('-') || this.isOp('+')) {
        const t = this.next();
        const inner = this.parseUnary(false);
        node = { t: 'unary', op: t.v as '-' | '+', node: inner, s: t.s, e: inner.e };
      } else {
        node = this.parsePrimary();
      }
      node = this.parsePostfix(node);
      if (withFilter) node = this.parseFilterExpr(node);
      return node;
    } finally {
      this.depth--;
    }
  }

  private parsePrimary(): Expr {
    const t = this.cur;
    switch (t.t) {
      case 'name': {
        this.next();
        switch (t.v) {
          case 'true':
          case 'True':
            return { t: 'const', v: true, s: t.s, e: t.e };
          case 'false':
          case 'False':
            return { t: 'const', v: false, s: t.s, e: t.e };
          case 'none':
          case 'None':
            return { t: 'const', v: null, s: t.s, e: t.e };
          default:
            return { t: 'name', name: t.v, s: t.s, e: t.e };
        }
      }
      case 'str': {
        this.next();
        let v = t.v;
        let e = t.e;
        while (this.cur.t === 'str') {
          v += this.cur.v;
          e = this.next().e;
        }
        return { t: 'const', v, s: t.s, e };
      }
      case 'num':
        this.next();
        return { t: 'const', v: t.n as number, s: t.s, e: t.e };
      case 'op':
        if (t.v === '(') {
          this.next();
          if (this.isOp(')')) return { t: 'list', items: [], s: t.s, e: this.next().e };
          const first = this.parseExpression(true);
          if (this.isOp(',')) {
            const items = [first];
            while (this.isOp(',')) {
              this.next();
              if (this.isOp(')')) break;
              items.push(this.parseExpression(true));
            }
            const end = this.expectOp(')');
            return { t: 'list', items, s: t.s, e: end.e };
          }
          this.expectOp(')');
          return first;
        }
        if (t.v === '[') {
          this.next();
          const items: Expr[] = [];
          while (!this.isOp(']')) {
            if (items.length > 0) {
              this.expectOp(',');
              if (this.isOp(']')) break;
            }
            items.push(this.parseExpression(true));
          }
          const end = this.next();
          return { t: 'list', items, s: t.s, e: end.e };
        }
        if (t.v === '{') {
          this.next();
          const pairs: [Expr, Expr][] = [];
          while (!this.isOp('}')) {
            if (pairs.length > 0) {
              this.expectOp(',');
              if (this.isOp('}')) break;
            }
            const k = this.parseExpression(true);
            this.expectOp(':');
            pairs.push([k, this.parseExpression(true)]);
          }
          const end = this.next();
          return { t: 'dict', pairs, s: t.s, e: end.e };
        }
        break;
      default:
        break;
    }
    throw this.error(`unexpected ${this.describe(t)}`);
  }

  private parsePostfix(node: Expr): Expr {
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        const a = this.cur;
        if (a.t === 'name') {
          this.next();
          node = { t: 'attr', obj: node, key: a.v, s: node.s, e: a.e };
        } else if (a.t === 'num' && /^[0-9]+$/.test(a.v)) {
          this.next();
          node = { t: 'attr', obj: node, key: a.v, s: node.s, e: a.e };
        } else throw this.error(`expected an attribute name after '.', got ${this.describe(a)}`);
      } else if (this.isOp('[')) {
        node = this.parseSubscript(node);
      } else if (this.isOp('(')) {
        node = this.parseCall(node);
      } else return node;
    }
  }

  private parseSubscript(obj: Expr): Expr {
    this.next(); // [
    let start: Expr | null = null;
    if (!this.isOp(':')) {
      start = this.parseExpression(true);
      if (this.isOp(']')) {
        const end = this.next();
        return { t: 'item', obj, key: start, s: obj.s, e: end.e };
      }
      if (this.isOp(',')) throw this.error('tuple subscripts are not supported');
    }
    this.expectOp(':');
    let stop: Expr | null = null;
    let step: Expr | null = null;
    if (!this.isOp(']') && !this.isOp(':')) stop = this.parseExpression(true);
    if (this.isOp(':')) {
      this.next();
      if (!this.isOp(']')) step = this.parseExpression(true);
    }
    const end = this.expectOp(']');
    return { t: 'slice', obj, start, stop, step, s: obj.s, e: end.e };
  }

  private parseArgs(): { args: Expr[]; kwargs: Kwarg[]; end: number } {
    this.expectOp('(');
    const args: Expr[] = [];
    const kwargs: Kwarg[] = [];
    while (!this.isOp(')')) {
      if (args.length + kwargs.length > 0) {
        this.expectOp(',');
        if (this.isOp(')')) break;
      }
      if (this.isOp('*') || this.isOp('**')) throw this.error('*args / **kwargs in calls are not supported', this.cur.s, 'E_UNSUPPORTED_TEMPLATE_FEATURE');
      if (this.cur.t === 'name' && this.isOp('=', this.peek())) {
        const n = this.next();
        this.next();
        if (kwargs.some(([k]) => k === n.v)) throw this.error(`duplicate keyword argument '${n.v}'`, n.s);
        kwargs.push([n.v, this.parseExpression(true)]);
      } else {
        if (kwargs.length > 0) throw this.error('positional argument follows keyword argument');
        args.push(this.parseExpression(true));
      }
    }
    const end = this.next().e;
    return { args, kwargs, end };
  }

  private parseCall(callee: Expr): Expr {
    const { args, kwargs, end } = this.parseArgs();
    return { t: 'call', callee, args, kwargs, s: callee.s, e: end };
  }

  private parseFilterExpr(node: Expr): Expr {
    for (;;) {
      if (this.isOp('|')) {
        this.next();
        const n = this.expectName();
        let args: Expr[] = [];
        let kwargs: Kwarg[] = [];
        let e = n.e;
        if (this.isOp('(')) {
          const r = this.parseArgs();
          args = r.args;
          kwargs = r.kwargs;
          e = r.end;
        }
        node = { t: 'filter', node, name: n.v, ns: n.s, args, kwargs, s: node.s, e };
      } else if (this.isName('is')) {
        this.next();
        let negate = false;
        if (this.isName('not')) {
          this.next();
          negate = true;
        }
        const n = this.expectName();
        let args: Expr[] = [];
        let kwargs: Kwarg[] = [];
        let e = n.e;
        const c = this.cur;
        if (this.isOp('(')) {
          const r = this.parseArgs();
          args = r.args;
          kwargs = r.kwargs;
          e = r.end;
        } else if (
          (c.t === 'name' && !TEST_ARG_STOP.has(c.v)) ||
          c.t === 'str' ||
          c.t === 'num' ||
          this.isOp('[') ||
          this.isOp('{')
        ) {
          const arg = this.parsePostfix(this.parsePrimary());
          args = [arg];
          e = arg.e;
        }
        node = { t: 'test', node, name: n.v, ns: n.s, negate, args, kwargs, s: node.s, e };
      } else if (this.isOp('(')) {
        node = this.parseCall(node);
      } else return node;
    }
  }
}

export function parseTemplate(source: string): ParsedTemplate {
  if (!hasTemplateMarkers(source)) return { source, kind: 'literal', body: [{ t: 'text', v: source, s: 0, e: source.length }], expr: null };
  const lx = lexTemplate(source);
  const p = new Parser(source, lx.tokens);
  const body = p.parseTemplateBody();
  let kind: ParsedTemplate['kind'] = 'mixed';
  let expr: Expr | null = null;
  if (lx.vars === 1 && lx.blocks === 0 && lx.comments === 0) {
    const outs = body.filter((n) => n.t === 'output');
    const ws = body.every((n) => n.t === 'output' || (n.t === 'text' && /^\s*$/.test(n.v)));
    // whitespace around the block must be whitespace in the *source* too (not only after `-` stripping)
    if (outs.length === 1 && ws && /^\s*\{\{[\s\S]*\}\}\s*$/.test(source)) {
      kind = 'single-expression';
      expr = (outs[0] as Extract<Stmt, { t: 'output' }>).expr;
    }
  }
  return { source, kind, body, expr };
}

export function parseExpressionSource(source: string): Expr {
  const p = new Parser(source, lexExpression(source));
  return p.parseBareExpression();
}
