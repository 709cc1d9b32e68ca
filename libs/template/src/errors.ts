// Error classes of @noetl/template. Every error carries the template source and, when known,
// the 1-based line/column inside that source and the text of the expression that failed.

export interface TemplateErrorInit {
  code?: string;
  source: string;
  offset?: number;
  expression?: string;
}

/** 1-based line and column of a 0-based offset inside `source`. */
export function lineColumn(source: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.max(0, Math.min(offset, source.length));
  for (let i = 0; i < end; i++) {
    if (source.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

export class TemplateError extends Error {
  readonly code: string;
  readonly source: string;
  readonly line?: number;
  readonly column?: number;
  readonly offset?: number;
  readonly expression?: string;

  constructor(message: string, init: TemplateErrorInit) {
    let where = '';
    let line: number | undefined;
    let column: number | undefined;
    if (init.offset !== undefined) {
      const lc = lineColumn(init.source, init.offset);
      line = lc.line;
      column = lc.column;
      where = ` (line ${line}, column ${column}${init.expression !== undefined ? `, in '${clip(init.expression)}'` : ''})`;
    }
    super(message + where);
    this.name = new.target.name;
    this.code = init.code ?? 'TEMPLATE_ERROR';
    this.source = init.source;
    this.line = line;
    this.column = column;
    this.offset = init.offset;
    this.expression = init.expression;
    /** The message without the position suffix. */
    Object.defineProperty(this, 'reason', { value: message, enumerable: false });
  }
}

function clip(s: string): string {
  const t = s.trim();
  return t.length > 120 ? `${t.slice(0, 117)}...` : t;
}

/** Parse-time error. `code` is E_TEMPLATE_SYNTAX, or the more specific issue code
 *  (E_UNKNOWN_FILTER, E_UNKNOWN_TEST, E_UNSUPPORTED_TEMPLATE_FEATURE) when that is the cause. */
export class TemplateSyntaxError extends TemplateError {
  constructor(message: string, init: TemplateErrorInit) {
    super(message, { ...init, code: init.code ?? 'E_TEMPLATE_SYNTAX' });
  }
}

/** Runtime evaluation error: division by zero, bad arithmetic, invalid JSON for fromjson, calling a non-function. */
export class TemplateEvalError extends TemplateError {
  constructor(message: string, init: TemplateErrorInit) {
    super(message, { ...init, code: init.code ?? 'E_TEMPLATE_EVAL' });
  }
}

/** Output size or loop-step limit exceeded. */
export class TemplateLimitError extends TemplateError {
  constructor(message: string, init: TemplateErrorInit) {
    super(message, { ...init, code: init.code ?? 'E_TEMPLATE_LIMIT' });
  }
}

/** Strict mode: an undefined name or attribute was used. `path` is the access chain, e.g. "ctx.missing.x". */
export class TemplateUndefinedError extends TemplateError {
  readonly path: string;
  constructor(message: string, path: string, init: TemplateErrorInit) {
    super(message, { ...init, code: init.code ?? 'E_TEMPLATE_UNDEFINED' });
    this.path = path;
  }
}

/**
 * Internal failure raised by filters, tests, methods and globals, which do not know where they
 * were called from. The compiled call site converts it into a positioned TemplateEvalError /
 * TemplateLimitError. Never escapes the library.
 */
export class RuntimeFail extends Error {
  constructor(
    readonly kind: 'eval' | 'limit',
    message: string,
  ) {
    super(message);
  }
}

export function fail(message: string): never {
  throw new RuntimeFail('eval', message);
}

export function limitFail(message: string): never {
  throw new RuntimeFail('limit', message);
}
