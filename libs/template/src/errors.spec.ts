import {
  TemplateError, TemplateEvalError, TemplateLimitError, TemplateSyntaxError, TemplateUndefinedError, checkTemplate, compileExpression,
  compileTemplate, evaluateCondition, renderTemplate, scopeFromObject,
} from './index';
import { err, ev, r } from './test-helpers';

describe('syntax errors (R12.14) carry source, line and column', () => {
  it.each<[string, number, number, RegExp]>([
    ['{{ }}', 1, 4, /empty expression/],
    ['{{ x', 1, 1, /not closed with '}}'/],
    ['a\nb {{ x + }}', 2, 10, /unexpected '}}'/],
    ['{{ x y }}', 1, 6, /expected '}}'/],
    ['{{ (1 }}', 1, 7, /unexpected '}'/],
    ['{{ [1, 2 }}', 1, 10, /unexpected '}'/],
    ['{{ (1 ]', 1, 7, /unexpected '\]'/],
    ["{{ 'abc }}", 1, 4, /unterminated string/],
    ['{{ x | }}', 1, 8, /expected a name/],
    ['{{ x. }}', 1, 7, /attribute name/],
    ['{{ x ! y }}', 1, 6, /unexpected character '!'/],
    ['{{ x ) }}', 1, 6, /unexpected '\)'/],
    ['{% if x %}yes', 1, 4, /not closed/],
    ['{% for x in y %}', 1, 4, /not closed/],
    ['{% endif %}', 1, 4, /unexpected '{% endif %}'/],
    ['{% if x %}{% endfor %}', 1, 14, /unexpected '{% endfor %}'/],
    ['{% frobnicate %}', 1, 4, /unknown statement 'frobnicate'/],
    ['{% %}', 1, 4, /statement name/],
    ['{{ 1 }}{# never closed', 1, 8, /unclosed comment/],
    ['{% raw %}abc', 1, 1, /unclosed \{% raw %\}/],
    ['{% for in y %}{% endfor %}', 1, 8, /expected a loop variable name before 'in'/],
    ['{% for x y %}{% endfor %}', 1, 10, /expected 'in'/],
    ['{% set %}', 1, 8, /expected a name/],
    ['{{ x is }}', 1, 9, /expected a name/],
    ["{{ '\\xZZ' }}", 1, 5, /invalid \\x escape/],
        ['{{ a[1, 2] }}', 1, 7, /tuple subscripts/],
    ['line1\nline2\n  {{ 1 +* 2 }}', 3, 9, /unexpected '\*'/],
  ])('%j -> line %d col %d', (src, line, column, re) => {
    const e = err(() => compileTemplate(src));
    expect(e).toBeInstanceOf(TemplateSyntaxError);
    expect(e).toBeInstanceOf(TemplateError);
    expect(e.code).toBe('E_TEMPLATE_SYNTAX');
    expect(e.source).toBe(src);
    expect({ line: e.line, column: e.column }).toEqual({ line, column });
    expect(e.message).toMatch(re);
  });

  it('bare expressions report positions inside the expression', () => {
    const e = err(() => compileExpression('a and (b or'));
    expect(e).toBeInstanceOf(TemplateSyntaxError);
    expect(e.column).toBe(12);
    expect(err(() => compileExpression('')).message).toMatch(/empty expression/);
    expect(err(() => compileExpression('a b')).message).toMatch(/after expression/);
    expect(err(() => compileExpression('(a')).message).toMatch(/unclosed/);
  });

  it('deeply nested input is rejected instead of overflowing the stack', () => {
    const deep = '{{ ' + '('.repeat(5000) + '1' + ')'.repeat(5000) + ' }}';
    expect(err(() => compileTemplate(deep)).message).toMatch(/nested too deeply/);
    const deepNot = '{{ ' + 'not '.repeat(5000) + '1 }}';
    expect(err(() => compileTemplate(deepNot)).message).toMatch(/nested too deeply/);
  });
});

describe('unsupported features (R12.12)', () => {
  it.each([
    '{% macro m() %}{% endmacro %}',
    "{% include 'x' %}",
    "{% import 'x' as y %}",
    "{% from 'x' import y %}",
    "{% extends 'base' %}",
    '{% block b %}{% endblock %}',
    '{% filter upper %}x{% endfilter %}',
    '{% call m() %}{% endcall %}',
    '{% with a = 1 %}{% endwith %}',
    '{% autoescape true %}{% endautoescape %}',
    '{% do x %}',
    '{% for x in y %}{% break %}{% endfor %}',
    '{% for x in y %}{% continue %}{% endfor %}',
    '{% for x in y recursive %}{% endfor %}',
    '{% set ns.x = 1 %}',
    '{% set x | upper %}a{% endset %}',
    '{{ f(*a) }}',
    '{{ dict(**a) }}',
  ])('%s', (src) => {
    const e = err(() => compileTemplate(src));
    expect(e).toBeInstanceOf(TemplateSyntaxError);
    expect(e.code).toBe('E_UNSUPPORTED_TEMPLATE_FEATURE');
    const issues = checkTemplate(src);
    expect(issues).toHaveLength(1);
    expect(issues[0].code).toBe('E_UNSUPPORTED_TEMPLATE_FEATURE');
  });
});

describe('checkTemplate', () => {
  it('returns [] for valid templates and literals', () => {
    expect(checkTemplate('plain')).toEqual([]);
    expect(checkTemplate('{{ a | default(1) }}')).toEqual([]);
    expect(checkTemplate('a.b and c', { asExpression: true })).toEqual([]);
  });
  it('reports every unknown filter and test with positions', () => {
    const src = '{{ a | nope }}\n{{ b is weird }} {{ c | map("alsonope") | upper }}';
    expect(checkTemplate(src)).toEqual([
      { code: 'E_UNKNOWN_FILTER', message: "no filter named 'nope'", line: 1, column: 8, offset: 7 },
      { code: 'E_UNKNOWN_TEST', message: "no test named 'weird'", line: 2, column: 9, offset: 23 },
      { code: 'E_UNKNOWN_FILTER', message: "no filter named 'alsonope'", line: 2, column: 29, offset: 43 },
    ]);
  });
  it('reports syntax errors without throwing', () => {
    const issues = checkTemplate('{{ a +');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'E_TEMPLATE_SYNTAX', line: 1, column: 1, offset: 0 });
    expect(checkTemplate('a +', { asExpression: true })[0].code).toBe('E_TEMPLATE_SYNTAX');
    expect(checkTemplate('{{ x | upper(1, 2) }}')[0]).toMatchObject({ code: 'E_TEMPLATE_SYNTAX', column: 8 });
    expect(checkTemplate(42 as unknown as string)[0].code).toBe('E_TEMPLATE_SYNTAX');
  });
  it('expression mode does not treat braces as template syntax', () => {
    expect(checkTemplate("x | nope", { asExpression: true })[0]).toMatchObject({ code: 'E_UNKNOWN_FILTER', column: 5 });
  });
});

describe('evaluation errors (R12.15) carry position and expression', () => {
  it('division by zero in a mixed template', () => {
    const src = 'total: {{ a + b }}\nratio: {{ a / b }}';
    const e = err(() => r(src, { a: 1, b: 0 }));
    expect(e).toBeInstanceOf(TemplateEvalError);
    expect(e.code).toBe('E_TEMPLATE_EVAL');
    expect(e.source).toBe(src);
    expect(e.line).toBe(2);
    expect(e.column).toBe(11);
    expect(e.expression).toBe('a / b');
    expect(e.message).toMatch(/division by zero \(line 2, column 11, in 'a \/ b'\)/);
  });
  it('filter errors point at the filter expression', () => {
    const e = err(() => r("{{ x }} {{ payload | fromjson }}", { payload: '{oops' }));
    expect(e).toBeInstanceOf(TemplateEvalError);
    expect(e.column).toBe(12);
    expect(e.expression).toBe('payload | fromjson');
  });
  it('calling a non-function', () => {
    const e = err(() => r('{{ x() }}', { x: 1 }));
    expect(e).toBeInstanceOf(TemplateEvalError);
    expect(e.message).toMatch(/'x' is not callable/);
    expect(err(() => r('{{ x.y() }}')).message).toMatch(/'y' is not an allowed method/);
  });
  it('errors in bare expressions', () => {
    const e = err(() => ev('a // 0', { a: 1 }));
    expect(e).toBeInstanceOf(TemplateEvalError);
    expect(e.column).toBe(1);
    expect(e.expression).toBe('a // 0');
  });
  it('errors inside conditions propagate from evaluateCondition', () => {
    expect(err(() => evaluateCondition('1 / 0', scopeFromObject({})))).toBeInstanceOf(TemplateEvalError);
  });
});

describe('strict mode', () => {
  const vars = { ctx: { a: { b: 1 }, n: null, list: [1] }, steps: { 'x-y': { data: 1 } } };
  const strict = { strict: true };
  it.each<[string, string, RegExp]>([
    ['{{ missing }}', 'missing', /'missing' is undefined/],
    ['{{ ctx.missing }}', 'ctx.missing', /'ctx.missing' is undefined/],
    ['{{ ctx.missing.x }}', 'ctx.missing.x', /'ctx.missing.x' is undefined \('ctx.missing' is undefined\)/],
    ['{{ missing.a.b }}', 'missing.a.b', /\('missing' is undefined\)/],
    ['{{ ctx.a.c }}', 'ctx.a.c', /'ctx.a.c' is undefined/],
    ['{{ ctx.n.x }}', 'ctx.n.x', /'ctx.n.x' is undefined/],
    ['{{ ctx.list[3] }}', 'ctx.list[3]', /'ctx.list\[3\]' is undefined/],
    ["{{ steps['a-b'].data }}", 'steps["a-b"].data', /'steps\["a-b"\].data' is undefined \('steps\["a-b"\]' is undefined\)/],
    ['x {{ ctx.missing }} y', 'ctx.missing', /undefined/],
    ['{% if ctx.missing %}{% endif %}', 'ctx.missing', /undefined/],
    ['{{ ctx.missing == 1 }}', 'ctx.missing', /undefined/],
    ['{{ ctx.missing | upper }}', 'ctx.missing', /undefined/],
    ['{% for x in nope %}{% endfor %}', 'nope', /undefined/],
    ['{{ ctx[key] }}', 'key', /'key' is undefined/],
  ])('%s', (src, path, re) => {
    const e = err(() => r(src, vars, strict));
    expect(e).toBeInstanceOf(TemplateUndefinedError);
    expect(e.code).toBe('E_TEMPLATE_UNDEFINED');
    expect(e.path).toBe(path);
    expect(e.message).toMatch(re);
    expect(e.line).toBe(1);
  });
  it('default, defined/none tests, and existing values are fine', () => {
    expect(r("{{ ctx.missing | default('d') }}", vars, strict)).toBe('d');
    expect(r("{{ missing.a.b | d('d') }}", vars, strict)).toBe('d');
    expect(r('{{ ctx.missing is defined }}', vars, strict)).toBe(false);
    expect(r('{{ ctx.missing is not defined }}', vars, strict)).toBe(true);
    expect(r('{{ missing is undefined }}', vars, strict)).toBe(true);
    expect(r('{{ ctx.missing is none }}', vars, strict)).toBe(false);
    expect(r('{{ ctx.n }}', vars, strict)).toBeNull();
    expect(r('{{ ctx.a.b }}', vars, strict)).toBe(1);
    expect(r("{{ ctx.get('missing') }}", vars, strict)).toBeNull();
    expect(r("{{ steps['x-y'].data }}", vars, strict)).toBe(1);
    expect(r('{% set v = 1 %}{{ v }}', vars, strict)).toBe('1');
    expect(r('{% for i in [1] %}{{ loop.index }}{% endfor %}', vars, strict)).toBe('1');
    expect(r("{{ 'a' if ctx.missing is defined else 'b' }}", vars, strict)).toBe('b');
    expect(r("{{ 'a' if false }}", vars, strict)).toBeNull();
  });
  it('non-strict renders the same templates leniently', () => {
    expect(r('{{ ctx.missing.x }}', vars)).toBeNull();
    expect(r('a{{ ctx.missing }}b', vars)).toBe('ab');
  });
  it('strict in bare expressions and conditions', () => {
    expect(err(() => ev('ctx.nope', vars, strict))).toBeInstanceOf(TemplateUndefinedError);
    expect(err(() => evaluateCondition('ctx.nope', scopeFromObject(vars), strict))).toBeInstanceOf(TemplateUndefinedError);
    expect(evaluateCondition('ctx.nope is defined', scopeFromObject(vars), strict)).toBe(false);
  });
});

describe('limits', () => {
  it('loop step limit (default 1,000,000 per render)', () => {
    const e = err(() => r('{% for i in range(2000000) %}{% endfor %}'));
    expect(e).toBeInstanceOf(TemplateLimitError);
    expect(e.code).toBe('E_TEMPLATE_LIMIT');
    expect(e.message).toMatch(/loop step limit exceeded \(1000000/);
    expect(r('{% for i in range(1000000) %}{% endfor %}ok')).toBe('ok');
  });
  it('nested loops count total iterations', () => {
    const src = '{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}';
    expect(err(() => r(src, {}, { maxLoopSteps: 10000 }))).toBeInstanceOf(TemplateLimitError);
    expect(r(src + 'ok', {}, { maxLoopSteps: 10100 })).toBe('ok');
  });
  it('materialized range() counts against the budget', () => {
    expect(err(() => r('{{ range(1000) | length }}', {}, { maxLoopSteps: 999 }))).toBeInstanceOf(TemplateLimitError);
    expect(r('{{ range(1000) | length }}', {}, { maxLoopSteps: 1000 })).toBe(1000);
    expect(err(() => r('{{ range(10 ** 12) | length }}'))).toBeInstanceOf(TemplateLimitError);
  });
  it('loop filters count too', () => {
    expect(err(() => r('{% for i in range(50) if i > 100 %}{% endfor %}', {}, { maxLoopSteps: 10 }))).toBeInstanceOf(TemplateLimitError);
  });
  it('output size limit (default 10 MiB)', () => {
    const big = 'x'.repeat(1024 * 1024);
    expect(err(() => r('{% for i in range(11) %}{{ big }}{% endfor %}', { big }))).toBeInstanceOf(TemplateLimitError);
    expect((r('{% for i in range(9) %}{{ big }}{% endfor %}', { big }) as string).length).toBe(9 * 1024 * 1024);
    const e = err(() => r('{% for i in range(100) %}0123456789{% endfor %}', {}, { maxOutputBytes: 500 }));
    expect(e).toBeInstanceOf(TemplateLimitError);
    expect(e.message).toMatch(/output size limit exceeded \(500 bytes\)/);
  });
  it('counts UTF-8 bytes, not UTF-16 units', () => {
    // 200 x 'é' = 200 UTF-16 units but 400 bytes
    expect(err(() => r('{{ s }}!', { s: 'é'.repeat(200) }, { maxOutputBytes: 300 }))).toBeInstanceOf(TemplateLimitError);
    expect(r('{{ s }}!', { s: 'é'.repeat(100) }, { maxOutputBytes: 300 })).toBe('é'.repeat(100) + '!');
  });
  it('applies to typed string results, concatenation and join', () => {
    expect(err(() => r('{{ s }}', { s: 'x'.repeat(100) }, { maxOutputBytes: 50 }))).toBeInstanceOf(TemplateLimitError);
    expect(err(() => r('{{ s ~ s }}', { s: 'x'.repeat(40) }, { maxOutputBytes: 50 }))).toBeInstanceOf(TemplateLimitError);
    expect(err(() => r('{{ s + s }}', { s: 'x'.repeat(40) }, { maxOutputBytes: 50 }))).toBeInstanceOf(TemplateLimitError);
    expect(err(() => r('{{ l | join(s) }}', { l: [1, 2, 3], s: 'x'.repeat(40) }, { maxOutputBytes: 50 }))).toBeInstanceOf(TemplateLimitError);
    expect(err(() => r('{% set b %}{{ s }}{{ s }}{% endset %}', { s: 'x'.repeat(40) }, { maxOutputBytes: 50 }))).toBeInstanceOf(TemplateLimitError);
  });
  it('limits are per render', () => {
    const t = compileTemplate('{% for i in range(600) %}{% endfor %}ok');
    const s = scopeFromObject({});
    for (let k = 0; k < 3; k++) expect(t.render(s, { maxLoopSteps: 1000 })).toBe('ok');
  });
  it('cyclic data cannot hang serialization or comparison', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(err(() => renderTemplate('x{{ a }}', scopeFromObject({ a })))).toBeInstanceOf(TemplateEvalError);
    const b: Record<string, unknown> = {};
    b.self = b;
    expect(err(() => renderTemplate('{{ a == b }}', scopeFromObject({ a, b })))).toBeInstanceOf(TemplateEvalError);
    expect(err(() => renderTemplate('{{ a | tojson }}', scopeFromObject({ a })))).toBeInstanceOf(TemplateEvalError);
  });
});
