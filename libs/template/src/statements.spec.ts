import { TemplateEvalError } from './index';
import { err, r, rs } from './test-helpers';

describe('{% if %} / {% elif %} / {% else %} (R12.11)', () => {
  const t = '{% if n > 10 %}big{% elif n > 5 %}mid{% elif n > 0 %}small{% else %}none{% endif %}';
  it.each<[number, string]>([
    [11, 'big'],
    [6, 'mid'],
    [1, 'small'],
    [0, 'none'],
  ])('n=%d', (n, want) => {
    expect(r(t, { n })).toBe(want);
  });
  it('truthiness inside the language', () => {
    expect(r('{% if x %}y{% else %}n{% endif %}', { x: [] })).toBe('n');
    expect(r('{% if x %}y{% else %}n{% endif %}', { x: {} })).toBe('n');
    expect(r('{% if x %}y{% else %}n{% endif %}', { x: '' })).toBe('n');
    expect(r('{% if x %}y{% else %}n{% endif %}', { x: 0 })).toBe('n');
    expect(r('{% if x %}y{% else %}n{% endif %}', {})).toBe('n');
    expect(r('{% if x %}y{% else %}n{% endif %}', { x: null })).toBe('n');
    expect(r('{% if x %}y{% else %}n{% endif %}', { x: 'a' })).toBe('y');
    expect(r('{% if x is defined and x.y %}y{% else %}n{% endif %}', { x: { y: 1 } })).toBe('y');
  });
  it('nested ifs', () => {
    const src = '{% if a %}A{% if b %}B{% else %}b{% endif %}{% else %}-{% endif %}';
    expect(r(src, { a: 1, b: 1 })).toBe('AB');
    expect(r(src, { a: 1, b: 0 })).toBe('Ab');
    expect(r(src, { a: 0, b: 1 })).toBe('-');
  });
  it('if without else renders nothing when false', () => {
    expect(r('[{% if false %}x{% endif %}]')).toBe('[]');
  });
});

describe('{% for %}', () => {
  it('iterates lists, strings, mapping keys; undefined and none are empty', () => {
    expect(r('{% for x in l %}{{ x }},{% endfor %}', { l: [1, 'a', null, true] })).toBe('1,a,,true,');
    expect(r('{% for c in "abc" %}{{ c }}.{% endfor %}')).toBe('a.b.c.');
    expect(r("{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}")).toBe('ba');
    expect(r('[{% for x in missing %}{{ x }}{% endfor %}]')).toBe('[]');
    expect(r('[{% for x in none %}{{ x }}{% endfor %}]')).toBe('[]');
  });
  it('non-iterables are an evaluation error', () => {
    const e = err(() => r('{% for x in 5 %}{% endfor %}'));
    expect(e).toBeInstanceOf(TemplateEvalError);
    expect(e.message).toMatch(/not iterable/);
  });
  it('loop variables', () => {
    const src =
      '{% for x in l %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.revindex0 }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }}|{% endfor %}';
    expect(r(src, { l: ['a', 'b', 'c'] })).toBe('1/0/3/2/true/false/3|2/1/2/1/false/false/3|3/2/1/0/false/true/3|');
    expect(r('{% for x in l %}{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }};{% endfor %}', { l: [1, 2, 3] })).toBe('<1>2;1<2>3;2<3>;');
    expect(r('{% for x in l %}{{ loop.previtem is defined }}{% endfor %}', { l: [1, 2] })).toBe('falsetrue');
  });
  it('loop is only bound inside the body', () => {
    expect(r('{% for x in [1] %}{% endfor %}{{ loop.index }}')).toBe('');
    expect(r('{{ loop }}', { loop: 'outer' })).toBe('outer');
  });
  it('{% for %}{% else %}', () => {
    const src = '{% for x in l %}{{ x }}{% else %}empty{% endfor %}';
    expect(r(src, { l: [] })).toBe('empty');
    expect(r(src, {})).toBe('empty');
    expect(r(src, { l: [1] })).toBe('1');
  });
  it('tuple unpacking over items()', () => {
    expect(r('{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}', { d: { a: 1, b: [2] } })).toBe('a=1;b=[2];');
    expect(r('{% for k, v in d | items %}{{ k }}={{ v }};{% endfor %}', { d: { a: 1 } })).toBe('a=1;');
    expect(r('{% for k, v in d | dictsort %}{{ k }}{% endfor %}', { d: { b: 1, a: 2 } })).toBe('ab');
    expect(r('{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %}')).toBe('3,7,');
    expect(err(() => r('{% for a, b in [[1, 2, 3]] %}{% endfor %}')).message).toMatch(/cannot unpack list of length 3 into 2 names/);
    expect(err(() => r('{% for a, b in [1] %}{% endfor %}')).message).toMatch(/cannot unpack number/);
  });
  it('loop filter `for x in seq if cond` (loop counts filtered items)', () => {
    expect(r('{% for x in range(10) if x is odd %}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}')).toBe('1,3,5,7,9');
    expect(r('{% for x in l if x > 5 %}{{ loop.length }}{% else %}none{% endfor %}', { l: [1, 2] })).toBe('none');
  });
  it('nested loops shadow loop and targets', () => {
    const src = '{% for row in rows %}{% for c in row %}{{ loop.index }}{{ c }}{% endfor %}@{{ loop.index }};{% endfor %}';
    expect(r(src, { rows: [['a', 'b'], ['c']] })).toBe('1a2b@1;1c@2;');
    expect(r('{% for x in [1, 2] %}{% for x in [3] %}{{ x }}{% endfor %}{{ x }}{% endfor %}{{ x }}', { x: 'outer' })).toBe('3132outer');
  });
  it('range loops are lazy', () => {
    expect(r('{% for i in range(3) %}{{ i }}{% endfor %}')).toBe('012');
    expect(r('{% for i in range(5, 0, -2) %}{{ i }}{% endfor %}')).toBe('531');
    expect(r('{% for i in range(0) %}x{% else %}empty{% endfor %}')).toBe('empty');
  });
  it('loop over the iterable snapshot', () => {
    expect(r('{% for u in users %}{{ u.name }}{% if not loop.last %}, {% endif %}{% endfor %}', { users: [{ name: 'a' }, { name: 'b' }] })).toBe('a, b');
  });
});

describe('{% set %}', () => {
  it('binds template-local names', () => {
    expect(r('{% set x = 1 + 2 %}{{ x }}')).toBe('3');
    expect(r("{% set x = {'a': [1, 2]} %}{{ x.a[1] }}")).toBe('2');
    expect(r('{% set a, b = [1, 2] %}{{ a }}{{ b }}')).toBe('12');
    expect(r('{% set a, b = 1, 2 %}{{ b }}{{ a }}')).toBe('21');
    expect(r('{% set x = 1 %}{% set x = x + 1 %}{{ x }}')).toBe('2');
  });
  it('shadows scope names after the set, not before', () => {
    expect(r('{{ x }}{% set x = 2 %}{{ x }}', { x: 1 })).toBe('12');
  });
  it('sets inside loops do not leak out (Jinja2 scoping) and are fresh per iteration', () => {
    expect(r('{% set total = 0 %}{% for i in [1, 2] %}{% set total = total + i %}{{ total }},{% endfor %}{{ total }}')).toBe('1,2,0');
  });
  it('sets inside if blocks are visible afterwards', () => {
    expect(r('{% if true %}{% set y = 5 %}{% endif %}{{ y }}')).toBe('5');
  });
  it('block set captures rendered text', () => {
    expect(r('{% set sql %}SELECT {{ 1 + 1 }}{% endset %}[{{ sql }}]')).toBe('[SELECT 2]');
    expect(r('{% set s %}{% for i in range(3) %}{{ i }}{% endfor %}{% endset %}{{ s | length }}')).toBe('3');
  });
  it('set does not touch the caller scope', () => {
    const vars: Record<string, unknown> = { x: 1 };
    r('{% set x = 99 %}{{ x }}', vars);
    expect(vars.x).toBe(1);
  });
});

describe('{% raw %} and comments', () => {
  it('raw blocks are literal', () => {
    expect(r('{% raw %}{{ not_rendered }} {% if %}{% endraw %}')).toBe('{{ not_rendered }} {% if %}');
    expect(r('a{% raw %}f"{{{{x}}}}"{% endraw %}b')).toBe('af"{{{{x}}}}"b');
    expect(r('{%- raw -%}  {{ x }}  {%- endraw -%}')).toBe('{{ x }}');
    expect(r('{% raw %}{% endraw %}')).toBe('');
  });
  it('comments are removed', () => {
    expect(r('a{# comment {{ x }} #}b')).toBe('ab');
    expect(r('a{# multi\nline #}b{{ 1 }}')).toBe('ab1');
  });
});

describe('whitespace control', () => {
  it.each<[string, string]>([
    ['a  {{- 1 }}  b', 'a1  b'],
    ['a  {{ 1 -}}  b', 'a  1b'],
    ['a \n {{- 1 -}} \n b', 'a1b'],
    ['x\n{%- if true %}\ny{% endif %}', 'x\ny'],
    ['x\n{% if true -%}\ny{% endif %}', 'x\ny'],
    ['x\n{%- if true -%}\n  y\n{%- endif %}\nz', 'xy\nz'],
    ['{% for i in [1, 2] -%}\n  {{ i }}\n{%- endfor %}', '12'],
    ['a {#- c -#} b{{ "" }}', 'ab'],
    ['a {%+ if true %}b{% endif %}', 'a b'],
    ['{{ 5 -1 }}', '4'],
  ])('%j', (src, want) => {
    expect(rs(src)).toBe(want);
  });
  it('keeps the template trailing newline (no Jinja keep_trailing_newline stripping)', () => {
    expect(r('SELECT {{ 1 }}\n')).toBe('SELECT 1\n');
  });
});

describe('realistic templates', () => {
  it('SQL body', () => {
    const src = `SELECT id, tier
FROM accounts
WHERE id = {{ args.id | int }}
{%- if args.tiers %}
  AND tier IN ({% for t in args.tiers %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif %}
LIMIT {{ args.limit | default(10) }};`;
    expect(r(src, { args: { id: '42', tiers: ['gold', 'silver'] } })).toBe(
      "SELECT id, tier\nFROM accounts\nWHERE id = 42\n  AND tier IN ('gold', 'silver')\nLIMIT 10;",
    );
    expect(r(src, { args: { id: 7, limit: 5 } })).toBe('SELECT id, tier\nFROM accounts\nWHERE id = 7\nLIMIT 5;');
  });
  it('shell commands and python code with raw f-strings', () => {
    expect(r('curl -s "{{ api }}/x?{{ q | urlencode }}"', { api: 'http://h', q: { a: 'b c' } })).toBe('curl -s "http://h/x?a=b+c"');
    expect(r('print(f"{% raw %}{x}{% endraw %}") # {{ n }}', { n: 1 })).toBe('print(f"{x}") # 1');
  });
  it('multi-line template positions in loops', () => {
    const src = 'line1\n{% for x in l %}\n{{ 10 / x }}\n{% endfor %}';
    const e = err(() => r(src, { l: [1, 0] }));
    expect(e.line).toBe(3);
    expect(e.column).toBe(4);
    expect(e.expression).toBe('10 / x');
  });
});
