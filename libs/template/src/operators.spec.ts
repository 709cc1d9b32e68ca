import { TemplateEvalError } from './index';
import { err, ev, r, rs } from './test-helpers';

describe('literals (dsl §12.3)', () => {
  it.each<[string, unknown]>([
    ['1', 1],
    ['-1', -1],
    ['1.5', 1.5],
    ['1_000', 1000],
    ['1e3', 1000],
    ['2.5E-1', 0.25],
    ["'abc'", 'abc'],
    ['"abc"', 'abc'],
    ["'it\\'s'", "it's"],
    ['"a\\"b"', 'a"b'],
    ["'a\\nb'", 'a\nb'],
    ["'a\\tb'", 'a\tb'],
    ["'\\\\'", '\\'],
    ["'\\x41\\u00e9\\U0001F600'", 'Aé😀'],
    ["'\\d+'", '\\d+'],
    ["'a' 'b'", 'ab'],
    ['true', true],
    ['false', false],
    ['True', true],
    ['False', false],
    ['none', null],
    ['None', null],
    ['[]', []],
    ['[1, 2, 3]', [1, 2, 3]],
    ['[1, 2,]', [1, 2]],
    ["[1, 'a', none, true, [2]]", [1, 'a', null, true, [2]]],
    ['{}', {}],
    ["{'a': 1, 'b': [1, 2]}", { a: 1, b: [1, 2] }],
    ["{'a': {'b': {'c': 1}}}", { a: { b: { c: 1 } } }],
    ['{1: 2}', { '1': 2 }],
    ['(1, 2)', [1, 2]],
    ['(1,)', [1]],
    ['()', []],
    ['(1)', 1],
  ])('%s', (src, want) => {
    expect(ev(src)).toEqual(want);
    expect(r(`{{ ${src} }}`)).toEqual(want);
  });

  it('dict literals with nested closing braces inside {{ }}', () => {
    expect(r("{{ {'a': {'b': 1}} }}")).toEqual({ a: { b: 1 } });
    expect(rs("x{{ {'a': {'b': 1}}}}y")).toBe('x{"a":{"b":1}}y');
  });

  it('strings may contain }} and %}', () => {
    expect(r("{{ '}}' }}")).toBe('}}');
    expect(rs("{% if '%}' %}yes{% endif %}")).toBe('yes');
  });
});

describe('data access (R12.5)', () => {
  const vars = {
    ctx: { a: { b: { c: 42 } }, list: [10, 20, 30], s: 'hello', 'k-1': 'dash', n: null, zero: 0 },
    steps: { 'name-with-dash': { status: 'done', data: { x: 1 } } },
    m: { '0': 'zero-key' },
  };
  it.each<[string, unknown]>([
    ['ctx.a.b.c', 42],
    ["ctx['a']['b']['c']", 42],
    ["ctx.a['b'].c", 42],
    ['ctx.list[0]', 10],
    ['ctx.list[-1]', 30],
    ['ctx.list[-3]', 10],
    ['ctx.list[3]', undefined],
    ['ctx.list[-4]', undefined],
    ['ctx.list.0', undefined], // numeric attributes on lists are not supported (R12.5)
    ['m.0', 'zero-key'],
    ['m[0]', 'zero-key'],
    ['ctx.s[0]', 'h'],
    ['ctx.s[-1]', 'o'],
    ["ctx['k-1']", 'dash'],
    ["steps['name-with-dash'].status", 'done'],
    ["steps['name-with-dash'].data.x", 1],
    ['ctx.missing', undefined],
    ['ctx.missing.deeper.still', undefined],
    ['ctx.n.x', undefined],
    ['ctx.zero.x', undefined],
    ['ctx.s.x', undefined],
    ['nothing', undefined],
    ['nothing.at.all', undefined],
    ['nothing[0]["x"]', undefined],
    ["ctx.list['0']", undefined],
    ['ctx.list[1.5]', undefined],
    ['ctx.list[1:]', [20, 30]],
    ['ctx.list[:2]', [10, 20]],
    ['ctx.list[::-1]', [30, 20, 10]],
    ['ctx.list[::2]', [10, 30]],
    ['ctx.list[-2:]', [20, 30]],
    ['ctx.list[5:]', []],
    ['ctx.s[1:3]', 'el'],
    ['ctx.s[::-1]', 'olleh'],
    ['nothing[1:2]', undefined],
  ])('%s', (src, want) => {
    expect(ev(src, vars)).toEqual(want);
  });

  it('slices and indices count code points', () => {
    expect(ev("'a😀b'[1]")).toBe('😀');
    expect(ev("'a😀b'[-1]")).toBe('b');
    expect(ev("'a😀b'[1:]")).toBe('😀b');
    expect(ev("'a😀b' | length")).toBe(3);
  });

  it('slice step 0 is an error', () => {
    expect(err(() => ev('[1,2][::0]'))).toBeInstanceOf(TemplateEvalError);
  });

  it('dynamic subscripts', () => {
    expect(ev('steps[name].status', { ...vars, name: 'name-with-dash' })).toBe('done');
    expect(ev('ctx.list[i + 1]', { ...vars, i: 1 })).toBe(30);
  });
});

describe('arithmetic (§12.4, R12.8)', () => {
  it.each<[string, unknown]>([
    ['1 + 2', 3],
    ['1.5 + 1.5', 3],
    ['5 - 7', -2],
    ['3 * 4', 12],
    ['7 / 2', 3.5],
    ['6 / 3', 2],
    ['7 // 2', 3],
    ['-7 // 2', -4],
    ['7 // -2', -4],
    ['7.5 // 2', 3],
    ['7 % 3', 1],
    ['-7 % 3', 2],
    ['7 % -3', -2],
    ['-7 % -3', -1],
    ['7.5 % 2', 1.5],
    ['2 ** 10', 1024],
    ['2 ** -1', 0.5],
    ['4 ** 0.5', 2],
    ['-2 ** 2', 4], // unary binds tighter than ** in Jinja2
    ['2 ** 3 ** 2', 64], // Jinja2 ** is left-associative
    ['-(2 ** 2)', -4],
    ['+5', 5],
    ['- -5', 5],
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 2 - 3', 5],
    ['100 / 10 / 5', 2],
    ['2 * 3 % 4', 2],
    ["'ab' + 'cd'", 'abcd'],
    ['[1] + [2, 3]', [1, 2, 3]],
    ['0.1 + 0.2', 0.30000000000000004],
  ])('%s', (src, want) => {
    expect(ev(src)).toEqual(want);
  });

  it.each([
    ["'a' + 1", /unsupported operand types for \+: 'string' and 'number'/],
    ['1 + none', /'number' and 'none'/],
    ['x + 1', /'undefined' and 'number'/],
    ["'a' * 3", /unsupported operand types for \*/],
    ['[1] - [1]', /unsupported operand/],
    ['true + 1', /'boolean' and 'number'/],
    ['{} + {}', /'mapping' and 'mapping'/],
    ['1 / 0', /division by zero/],
    ['1 // 0', /division by zero/],
    ['1 % 0', /modulo by zero/],
    ['0 ** -1', /negative power/],
    ['(-8) ** 0.5', /fractional power/],
    ['10 ** 400', /out of range/],
    ["-'a'", /unary -/],
    ['-none', /unary -/],
  ])('%s is an evaluation error', (src, re) => {
    const e = err(() => ev(src));
    expect(e).toBeInstanceOf(TemplateEvalError);
    expect(e.code).toBe('E_TEMPLATE_EVAL');
    expect(e.message).toMatch(re);
  });
});

describe('~ concatenation', () => {
  it.each<[string, unknown]>([
    ["'a' ~ 'b'", 'ab'],
    ["'n=' ~ 1", 'n=1'],
    ["1 ~ 2", '12'],
    ["'x' ~ none ~ 'y'", 'xy'],
    ["'x' ~ undefinedname ~ 'y'", 'xy'],
    ["'b=' ~ true", 'b=true'],
    ["'l=' ~ [1, 'a']", 'l=[1,"a"]'],
    ["'m=' ~ {'k': false}", 'm={"k":false}'],
    ["1.5 ~ ''", '1.5'],
    ["2.0 ~ ''", '2'],
  ])('%s', (src, want) => {
    expect(ev(src)).toBe(want);
  });

  it('binds tighter than + (Jinja2): a ~ b + c is (a ~ b) + c', () => {
    expect(ev("'a' ~ 'b' + 'c'")).toBe('abc');
    // 2 ~ 3 = '23'; 1 + '23' is an error
    expect(err(() => ev("1 + 2 ~ 3")).message).toMatch(/'number' and 'string'/);
    expect(ev("(1 + 2) ~ 3")).toBe('33');
    expect(ev("'a' ~ 2 * 3")).toBe('a6');
  });
});

describe('comparison (R12.6, R12.7)', () => {
  it.each<[string, boolean]>([
    ['1 == 1', true],
    ['1 == 1.0', true],
    ["'200' == 200", false],
    ["'a' == 'a'", true],
    ['none == none', true],
    ['x == y', true], // undefined == undefined
    ['x == none', false],
    ['none == x', false],
    ['x == 0', false],
    ["x == ''", false],
    ['true == 1', false],
    ['false == 0', false],
    ['[1, 2] == [1, 2]', true],
    ['[1, 2] == [2, 1]', false],
    ['[1, [2, 3]] == [1, [2, 3.0]]', true],
    ["{'a': 1, 'b': 2} == {'b': 2, 'a': 1}", true],
    ["{'a': 1} == {'a': 1, 'b': 2}", false],
    ["{'a': none} == {}", false],
    ['1 != 2', true],
    ['1 != 1', false],
    ["'1' != 1", true],
    ['1 < 2', true],
    ['2 < 1', false],
    ['1 <= 1', true],
    ['2 > 1', true],
    ['1 >= 2', false],
    ["'a' < 'b'", true],
    ["'B' < 'a'", true],
    ["'abc' < 'abd'", true],
    ["'ab' < 'abc'", true],
    ["'\uFFFF' < '😀'", true], // code-point order, not UTF-16 unit order
    ["1 < '2'", false],
    ["'2' > 1", false],
    ['x < 1', false],
    ['x > 1', false],
    ['x >= x', false],
    ['none < 1', false],
    ['none >= none', false],
    ['[1] < [2]', false],
    ['true > false', false],
    ['1 < 2 < 3', true],
    ['1 < 3 < 2', false],
    ['3 > 2 > 1', true],
    ['1 == 1 == 1', true],
    ['1 < 2 == 2', true],
  ])('%s -> %s', (src, want) => {
    expect(ev(src)).toBe(want);
  });
});

describe('membership: in / not in', () => {
  const vars = { l: [1, 'a', [1, 2], { k: 1 }], m: { key: 1 }, s: 'hello world' };
  it.each<[string, boolean]>([
    ['1 in l', true],
    ['1.0 in l', true],
    ["'1' in l", false],
    ["'a' in l", true],
    ['[1, 2] in l', true],
    ["{'k': 1} in l", true],
    ['3 in l', false],
    ["'key' in m", true],
    ["'nope' in m", false],
    ['1 in m', false],
    ["'world' in s", true],
    ["'' in s", true],
    ["'xyz' in s", false],
    ['1 in s', false],
    ['1 in missing', false],
    ['1 in none', false],
    ['3 not in l', true],
    ['1 not in l', false],
    ["'key' not in m", false],
    ['c in [1, 2]', true],
    ['c in [3, 4]', false],
    ['c not in [3, 4]', true],
    ["'x' in ['x', 'y']", true],
    ['none in [none]', true],
    ['missing in [none]', false],
    ['x in ["x"]', false],
  ])('%s -> %s', (src, want) => {
    expect(ev(src, { ...vars, c: 2 })).toBe(want);
  });

  it('mapping `in` sees own keys only', () => {
    expect(ev("'toString' in m", vars)).toBe(false);
    expect(ev("'constructor' in m", vars)).toBe(false);
    expect(ev("'__proto__' in m", vars)).toBe(false);
  });
});

describe('boolean operators (Python semantics: return an operand)', () => {
  it.each<[string, unknown]>([
    ['true and true', true],
    ['true and false', false],
    ["1 and 'x'", 'x'],
    ["0 and 'x'", 0],
    ["'' or 'dflt'", 'dflt'],
    ["'v' or 'dflt'", 'v'],
    ['none or 0', 0],
    ['[] or {}', {}],
    ['missing or 5', 5],
    ['missing and 5', undefined],
    ['not true', false],
    ['not 0', true],
    ["not ''", true],
    ['not []', true],
    ['not {}', true],
    ["not 'false'", false], // inside the language a non-empty string is true (R6.3 applies to results)
    ['not missing', true],
    ['not not 1', true],
    ['not 1 == 2', true], // not (1 == 2)
    ['not 1 in [1]', false], // not (1 in [1])
    ['true or false and false', true], // and binds tighter
    ['(true or false) and false', false],
    ['false or not false and true', true],
  ])('%s', (src, want) => {
    expect(ev(src)).toEqual(want);
  });

  it('short-circuits (right side not evaluated)', () => {
    expect(ev('false and 1 / 0')).toBe(false);
    expect(ev('true or 1 / 0')).toBe(true);
  });
});

describe('conditional expression', () => {
  it.each<[string, unknown]>([
    ["'y' if true else 'n'", 'y'],
    ["'y' if false else 'n'", 'n'],
    ["'y' if x else 'n'", 'n'],
    ["'y' if 1 > 0", 'y'],
    ["'y' if 1 < 0", undefined],
    ["'a' if false else 'b' if true else 'c'", 'b'],
    ["'a' if false else 'b' if false else 'c'", 'c'],
    ['1 + 1 if true else 0', 2],
    ["('a' if true else 'b') ~ 'c'", 'ac'],
  ])('%s', (src, want) => {
    expect(ev(src)).toEqual(want);
  });

  it('without else renders empty in a mixed template and null when typed', () => {
    expect(r("{{ 'y' if false }}")).toBeNull();
    expect(r("[{{ 'y' if false }}]")).toBe('[]');
  });
});

describe('precedence of filters and tests (Jinja2)', () => {
  it.each<[string, unknown]>([
    ["x | int + 1", 4], // (x | int) + 1
    ["'3' | int * 2", 6],
    ['-x | int', -3], // (-x) | int in Jinja2: x is a string, so this is an error (checked below)
    ['-n | abs', 5],
    ['1 + 2 is number', null], // 1 + (2 is number): number + boolean is an error (checked below)
    ['n is number and n < 0', true],
    ['not n is number', false],
    ['[1,2,3] | length > 2', true],
    ["'a,b' | split(',') | length", 2],
    ['(n | abs) ** 2', 25],
  ])('%s', (src, want) => {
    if (src === '1 + 2 is number') {
      expect(err(() => ev(src, { x: '3', n: -5 })).message).toMatch(/'number' and 'boolean'/);
      return;
    }
    if (src === '-x | int') {
      // parsed as (-x) | int: unary minus on a string is an error
      expect(err(() => ev(src, { x: '3', n: -5 })).message).toMatch(/unary -/);
      return;
    }
    expect(ev(src, { x: '3', n: -5 })).toEqual(want);
  });
});
