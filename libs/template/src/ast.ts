// AST of the template language. `s`/`e` are source offsets (start inclusive, end exclusive).

export interface Span {
  s: number;
  e: number;
}

export type Kwarg = [name: string, value: Expr];

export type Expr =
  | (Span & { t: 'const'; v: string | number | boolean | null })
  | (Span & { t: 'name'; name: string })
  | (Span & { t: 'attr'; obj: Expr; key: string })
  | (Span & { t: 'item'; obj: Expr; key: Expr })
  | (Span & { t: 'slice'; obj: Expr; start: Expr | null; stop: Expr | null; step: Expr | null })
  | (Span & { t: 'list'; items: Expr[] })
  | (Span & { t: 'dict'; pairs: [Expr, Expr][] })
  | (Span & { t: 'call'; callee: Expr; args: Expr[]; kwargs: Kwarg[] })
  | (Span & { t: 'filter'; node: Expr; name: string; ns: number; args: Expr[]; kwargs: Kwarg[] })
  | (Span & { t: 'test'; node: Expr; name: string; ns: number; negate: boolean; args: Expr[]; kwargs: Kwarg[] })
  | (Span & { t: 'unary'; op: '-' | '+' | 'not'; node: Expr })
  | (Span & { t: 'bin'; op: '+' | '-' | '*' | '/' | '//' | '%' | '**'; left: Expr; right: Expr })
  | (Span & { t: 'concat'; items: Expr[] })
  | (Span & { t: 'and' | 'or'; left: Expr; right: Expr })
  | (Span & { t: 'compare'; first: Expr; ops: [CmpOp, Expr][] })
  | (Span & { t: 'cond'; test: Expr; then: Expr; else: Expr | null });

export type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'notin';

export type Stmt =
  | (Span & { t: 'text'; v: string })
  | (Span & { t: 'output'; expr: Expr })
  | (Span & { t: 'if'; branches: [Expr, Stmt[]][]; else: Stmt[] | null })
  | (Span & { t: 'for'; targets: string[]; iter: Expr; cond: Expr | null; body: Stmt[]; else: Stmt[] | null })
  | (Span & { t: 'set'; targets: string[]; expr: Expr })
  | (Span & { t: 'setblock'; target: string; body: Stmt[] });

export type TemplateKind = 'literal' | 'single-expression' | 'mixed';

export interface ParsedTemplate {
  source: string;
  kind: TemplateKind;
  body: Stmt[];
  /** the expression of a single-expression template */
  expr: Expr | null;
}
