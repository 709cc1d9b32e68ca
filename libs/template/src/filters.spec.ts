import { FILTER_NAMES, TemplateEvalError, TemplateSyntaxError, compileTemplate, defineFallback } from './index';
import { err, ev, r, rs } from './test-helpers';

const covered = new Set<string>();
function cases(filter: string, rows: [string, unknown][], vars: Record<string, unknown> = {}): void {
  covered.add(filter);
  describe(`filter ${filter}`, () => {
    it.each(rows)('%s', (src, want) => {
      expect(ev(src, vars)).toEqual(want);
    });
  });
}
function errors(filter: string, rows: [string, RegExp][], vars: Record<string, unknown> = {}): void {
  describe(`filter ${filter} errors`, () => {
    it.each(rows)('%s', (src, re) => {
      const e = err(() => ev(src, vars));
      expect(e).toBeInstanceOf(TemplateEvalError);
      expect(e.message).toMatch(re);
    });
  });
}

const V = {
  users: [
    { name: 'bob', age: 30, tags: ['a'], active: true, addr: { city: 'Oslo' } },
    { name: 'Alice', age: 25, tags: [], active: false, addr: { city: 'Bergen' } },
    { name: 'carol', age: 35, tags: ['b', 'c'], active: true, addr: { city: 'Oslo' } },
  ],
  m: { b: 2, a: 1, c: 3 },
  nums: [3, 1, 2],
  s: 'Hello World',
};

cases('default', [
  ["missing | default('x')", 'x'],
  ["none | default('x')", 'x'], // none counts (decision)
  ["0 | default('x')", 0],
  ["'' | default('x')", ''],
  ["false | default('x')", false],
  ["0 | default('x', true)", 'x'],
  ["'' | default('x', boolean=true)", 'x'],
  ["[] | default('x', true)", 'x'],
  ["'v' | default('x', true)", 'v'],
  ['missing | default', ''],
  ["missing.a.b | default('deep')", 'deep'],
  ["missing | default(none)", null],
  ['missing | default([1])', [1]],
  ["{'a': 1}.a | default('x')", 1],
  ["missing | default(other | default('y'))", 'y'],
]);
cases('d', [
  ["missing | d('x')", 'x'],
  ["none | d('x')", 'x'],
  ["0 | d('x', true)", 'x'],
]);
cases('int', [
  ['3.7 | int', 3],
  ['-3.7 | int', -3],
  ["'42' | int", 42],
  ["' 42 ' | int", 42],
  ["'3.7' | int", 3],
  ["'-3.7' | int", -3],
  ["'1e3' | int", 1000],
  ["'1_000' | int", 1000],
  ['true | int', 1],
  ['false | int', 0],
  ["'abc' | int", 0],
  ["'abc' | int(7)", 7],
  ["'abc' | int(default=-1)", -1],
  ['none | int', 0],
  ['missing | int', 0],
  ['[1] | int', 0],
  ["'' | int", 0],
  ["'inf' | int", 0],
  ["'ff' | int(0, 16)", 255],
  ["'0xff' | int(base=16)", 255],
  ["'0x1A' | int", 0],
  ["'101' | int(base=2)", 5],
]);
cases('float', [
  ["'3.5' | float", 3.5],
  ["'1e-2' | float", 0.01],
  ['2 | float', 2],
  ["'x' | float", 0],
  ["'x' | float(1.5)", 1.5],
  ['none | float', 0],
  ['true | float', 1],
  ["'nan' | float", 0],
]);
cases('string', [
  ['1 | string', '1'],
  ['1.5 | string', '1.5'],
  ['true | string', 'true'],
  ['false | string | upper', 'FALSE'],
  ['none | string', ''],
  ['missing | string', ''],
  ["[1, 'a'] | string", '[1,"a"]'],
  ["{'a': true} | string", '{"a":true}'],
  ["(true | string | lower) == 'true'", true],
]);
cases('bool', [
  ['1 | bool', true],
  ['0 | bool', false],
  ["'false' | bool", false],
  ["' No ' | bool", false],
  ["'off' | bool", false],
  ["'null' | bool", false],
  ["'none' | bool", false],
  ["'0' | bool", false],
  ["'yes' | bool", true],
  ["'true' | bool", true],
  ['[] | bool', false],
  ['[0] | bool', true],
  ['missing | bool', false],
]);
cases('lower', [["'AbC' | lower", 'abc'], ['missing | lower', ''], ['true | lower', 'true']]);
cases('upper', [["'AbC' | upper", 'ABC'], ['missing | upper', ''], ['none | upper', ''], ['1 | upper', '1']]);
cases('trim', [["'  x y  ' | trim", 'x y'], ["'\\n\\tx\\n' | trim", 'x'], ["'xxhixx' | trim('x')", 'hi'], ['missing | trim', '']]);
cases('strip', [["' a ' | strip", 'a']]);
cases('capitalize', [["'hELLO wORLD' | capitalize", 'Hello world'], ["'' | capitalize", '']]);
cases('title', [
  ["'hello world' | title", 'Hello World'],
  ["'hELLO-wORLD foo_bar' | title", 'Hello-World Foo_bar'],
  ["'(a) [b]' | title", '(A) [B]'],
]);
cases('replace', [
  ["'aaa' | replace('a', 'b')", 'bbb'],
  ["'aaa' | replace('a', 'b', 2)", 'bba'],
  ["'abc' | replace('', '-')", '-a-b-c-'],
  ["'x.y.z' | replace('.', '/')", 'x/y/z'],
  ["missing | replace('a', 'b')", ''],
  ['123 | replace(2, 9)', '193'],
]);
cases('length', [
  ["'abc' | length", 3],
  ["'😀' | length", 1],
  ['[1, 2] | length', 2],
  ["{'a': 1, 'b': 2} | length", 2],
  ['missing | length', 0],
  ['none | length', 0],
  ["'' | length", 0],
]);
cases('count', [['[1, 2, 3] | count', 3]]);
errors('length', [['5 | length', /has no length/]]);
cases('first', [
  ['[1, 2, 3] | first', 1],
  ['[] | first', undefined],
  ["'abc' | first", 'a'],
  ['missing | first', undefined],
  ["{'k': 1} | first", 'k'],
]);
cases('last', [
  ['[1, 2, 3] | last', 3],
  ['[] | last', undefined],
  ["'abc' | last", 'c'],
  ["'a😀' | last", '😀'],
]);
cases(
  'join',
  [
    ['[1, 2, 3] | join', '123'],
    ["[1, 2, 3] | join(', ')", '1, 2, 3'],
    ["['a', none, true, [1]] | join('|')", 'a||true|[1]'],
    ["users | join(',', attribute='name')", 'bob,Alice,carol'],
    ["'abc' | join('-')", 'a-b-c'],
    ['missing | join', ''],
    ["[] | join(',')", ''],
  ],
  V,
);
cases('split', [
  ["'a,b,c' | split(',')", ['a', 'b', 'c']],
  ["'a b  c' | split", ['a', 'b', 'c']],
  ["'  a b ' | split", ['a', 'b']],
  ["'a b  c' | split(' ')", ['a', 'b', '', 'c']],
  ["'a,b,c' | split(',', 1)", ['a', 'b,c']],
  ["'' | split(',')", ['']],
  ["'' | split", []],
]);
errors('split', [["'a' | split('')", /empty separator/]]);
cases('tojson', [
  ["{'b': 1, 'a': [1, 'x', none, true]} | tojson", '{"b":1,"a":[1,"x",null,true]}'],
  ['missing | tojson', 'null'],
  ['none | tojson', 'null'],
  ["'a\"b' | tojson", '"a\\"b"'],
  ["'<&>' | tojson", '"<&>"'],
  ['1.5 | tojson', '1.5'],
  ["{'a': [1]} | tojson(2)", '{\n  "a": [\n    1\n  ]\n}'],
  ["{'a': missing, 'b': 1} | tojson", '{"b":1}'],
  ['[missing] | tojson', '[null]'],
]);
cases('fromjson', [
  ['\'{"a": [1, 2]}\' | fromjson', { a: [1, 2] }],
  ["'1' | fromjson", 1],
  ["'\"s\"' | fromjson", 's'],
  ["'null' | fromjson", null],
  ['missing | fromjson', undefined],
  ["{'a': 1} | fromjson", { a: 1 }],
  ['\'{"a":1}\' | fromjson | tojson', '{"a":1}'],
]);
errors('fromjson', [
  ["'{bad' | fromjson", /fromjson: invalid JSON/],
  ["'' | fromjson", /invalid JSON/],
]);
cases('keys', [["{'b': 1, 'a': 2} | keys", ['b', 'a']], ['missing | keys', []]], V);
cases('values', [["{'b': 1, 'a': 2} | values", [1, 2]], ['none | values', []]]);
cases('items', [["{'b': 1, 'a': 2} | items", [['b', 1], ['a', 2]]], ['missing | items', []]]);
errors('items', [['[1] | items', /items expects a mapping/], ['[1] | keys', /keys expects a mapping/]]);
cases('dictsort', [
  ['m | dictsort', [['a', 1], ['b', 2], ['c', 3]]],
  ['m | dictsort(reverse=true)', [['c', 3], ['b', 2], ['a', 1]]],
  ["{'x': 2, 'y': 1} | dictsort(by='value')", [['y', 1], ['x', 2]]],
], V);
cases('list', [
  ["'abc' | list", ['a', 'b', 'c']],
  ["{'a': 1, 'b': 2} | list", ['a', 'b']],
  ['[1, 2] | list', [1, 2]],
  ['missing | list', []],
  ['range(3) | list', [0, 1, 2]],
]);
cases('round', [
  ['3.14159 | round', 3],
  ['3.5 | round', 4],
  ['2.5 | round', 3],
  ['-2.5 | round', -3],
  ['42.55 | round(1)', 42.6],
  ['3.14159 | round(2)', 3.14],
  ['1.005 | round(2)', 1.01], // decimal rounding, not the binary 1.00499...
  ['2.675 | round(2)', 2.68],
  ["0.29 | round(2, 'floor')", 0.29],
  ["-3.7 | round(0, 'floor')", -4],
  ['-0.4 | round', 0],
  ["3.7 | round(0, 'floor')", 3],
  ["3.2 | round(method='ceil')", 4],
  ["3.14159 | round(2, 'floor')", 3.14],
  ["-3.14159 | round(2, 'ceil')", -3.14],
  ['1234 | round(-2)', 1200],
  ['5 | round', 5],
]);
errors('round', [["'x' | round", /round expects a number/], ["1 | round(0, 'banker')", /round method/]]);
cases('abs', [['-3 | abs', 3], ['3.5 | abs', 3.5], ['0 | abs', 0]]);
errors('abs', [["'x' | abs", /abs expects a number/]]);
cases(
  'min',
  [
    ['nums | min', 1],
    ["['b', 'A', 'c'] | min", 'A'],
    ["['b', 'A', 'c'] | min(case_sensitive=true)", 'A'],
    ["users | min(attribute='age') | attr('name')", 'Alice'],
    ['[] | min', undefined],
  ],
  V,
);
cases(
  'max',
  [
    ['nums | max', 3],
    ["['b', 'a', 'C'] | max", 'C'],
    ["['b', 'a', 'C'] | max(case_sensitive=true)", 'b'],
    ["(users | max(attribute='age')).name", 'carol'],
  ],
  V,
);
cases(
  'sum',
  [
    ['nums | sum', 6],
    ['[] | sum', 0],
    ["users | sum(attribute='age')", 90],
    ['[1.5, 2.5] | sum(start=10)', 14],
    ['[[1, 2], [3], []] | sum(start=[])', [1, 2, 3]],
    ["[{'x': [1]}, {'x': [2, 3]}] | sum(attribute='x', start=[0])", [0, 1, 2, 3]],
  ],
  V,
);
errors('sum', [["[1, 'a'] | sum", /sum expects a number/], ['[[1], 2] | sum(start=[])', /sum with a list start expects lists, got/]]);
cases(
  'sort',
  [
    ['nums | sort', [1, 2, 3]],
    ['nums | sort(reverse=true)', [3, 2, 1]],
    ["['b', 'A', 'c'] | sort", ['A', 'b', 'c']],
    ["['b', 'A', 'c'] | sort(case_sensitive=true)", ['A', 'b', 'c']],
    ["['b', 'a', 'C'] | sort(case_sensitive=true)", ['C', 'a', 'b']],
    ["users | sort(attribute='age') | map(attribute='name') | list", ['Alice', 'bob', 'carol']],
    ["users | sort(attribute='name') | map(attribute='name') | list", ['Alice', 'bob', 'carol']],
    ["users | sort(attribute='addr.city,age', reverse=true) | map(attribute='age') | list", [35, 30, 25]],
    ['[3, none, 1, "a"] | sort', [null, 1, 3, 'a']],
    ['missing | sort', []],
  ],
  V,
);
cases('unique', [
  ['[1, 2, 1, 3, 2] | unique', [1, 2, 3]],
  ["['a', 'A', 'b'] | unique", ['a', 'b']],
  ["['a', 'A', 'b'] | unique(case_sensitive=true)", ['a', 'A', 'b']],
  ["[1, '1', [1], [1]] | unique", [1, '1', [1]]],
  ["[{'a': 1}, {'a': 1}] | unique", [{ a: 1 }]],
]);
cases(
  'unique (attribute)',
  [["users | unique(attribute='addr.city') | map(attribute='name') | list", ['bob', 'Alice']]],
  V,
);
covered.add('unique');
cases('reverse', [
  ['[1, 2, 3] | reverse', [3, 2, 1]],
  ["'abc' | reverse", 'cba'],
  ['missing | reverse', []],
]);
cases(
  'map',
  [
    ["users | map(attribute='name') | list", ['bob', 'Alice', 'carol']],
    ["users | map(attribute='addr.city') | join(',')", 'Oslo,Bergen,Oslo'],
    ["users | map(attribute='nope', default='-') | list", ['-', '-', '-']],
    ["users | map(attribute='tags.0') | list", ['a', undefined, 'b']],
    ["['a', 'b'] | map('upper') | list", ['A', 'B']],
    ["['a-b', 'c-d'] | map('replace', '-', '+') | list", ['a+b', 'c+d']],
    ["['1', '2'] | map('int') | sum", 3],
    ["[[1, 2], [3]] | map('length') | list", [2, 1]],
    ["['x'] | map('default', 'd') | list", ['x']],
  ],
  V,
);
errors('map', [['[1] | map', /map requires a filter name/], ['[1] | map(f)', /no filter named/]], { f: 'nope' });
cases(
  'select',
  [
    ['[0, 1, 2, 3, none, false] | select | list', [1, 2, 3]],
    ["[1, 2, 3, 4] | select('odd') | list", [1, 3]],
    ["[1, 2, 3, 4] | select('even') | list", [2, 4]],
    ["[1, 2, 3, 4] | select('gt', 2) | list", [3, 4]],
    ["[1, 2, 3, 4] | select('>', 2) | list", [3, 4]],
    ["[1, 2, 3] | select('equalto', 2) | list", [2]],
    ["[1, 2, 3] | select('in', [1, 3]) | list", [1, 3]],
    ["[1, 'a', none] | select('string') | list", ['a']],
    ["[1, 2, 3, 4] | select('divisibleby', 2) | list", [2, 4]],
  ],
  V,
);
cases('reject', [
  ["[1, 2, 3, 4] | reject('odd') | list", [2, 4]],
  ['[0, 1, none, 2] | reject | list', [0, null]],
  ["[1, none, 2] | reject('none') | list", [1, 2]],
]);
cases(
  'selectattr',
  [
    ["users | selectattr('active') | map(attribute='name') | list", ['bob', 'carol']],
    ["users | selectattr('age', 'gt', 28) | map(attribute='name') | list", ['bob', 'carol']],
    ["users | selectattr('name', 'equalto', 'bob') | list | length", 1],
    ["users | selectattr('addr.city', 'eq', 'Oslo') | map(attribute='name') | join(',')", 'bob,carol'],
    ["users | selectattr('missing', 'defined') | list", []],
    ["users | selectattr('tags') | map(attribute='name') | list", ['bob', 'carol']],
  ],
  V,
);
cases(
  'rejectattr',
  [
    ["users | rejectattr('active') | map(attribute='name') | list", ['Alice']],
    ["users | rejectattr('age', 'lt', 30) | map(attribute='age') | list", [30, 35]],
  ],
  V,
);
cases('b64encode', [
  ["'hello' | b64encode", 'aGVsbG8='],
  ["'héllo 😀' | b64encode", Buffer.from('héllo 😀').toString('base64')],
  ["'' | b64encode", ''],
  ["'user:pass' | b64encode", 'dXNlcjpwYXNz'],
]);
cases('b64decode', [
  ["'aGVsbG8=' | b64decode", 'hello'],
  ["'aGVsbG8' | b64decode", 'hello'],
  [`'${Buffer.from('héllo 😀').toString('base64')}' | b64decode`, 'héllo 😀'],
  ["'hello' | b64encode | b64decode", 'hello'],
]);
errors('b64decode', [["'***' | b64decode", /invalid base64/]]);
cases('urlencode', [
  ["'a b/c?d=é' | urlencode", 'a%20b/c%3Fd%3D%C3%A9'],
  ["{'q': 'a b', 'n': 1, 'x': 'a/b&c'} | urlencode", 'q=a+b&n=1&x=a%2Fb%26c'],
  ["[['a', 1], ['b', 'x y']] | urlencode", 'a=1&b=x+y'],
  ["'~._-' | urlencode", '~._-'],
  ["\"it's (ok)*!\" | urlencode", 'it%27s%20%28ok%29%2A%21'],
]);
cases(
  'get',
  [
    ["m | get('a')", 1],
    ["m | get('zz')", null],
    ["m | get('zz', 'd')", 'd'],
    ["missing | get('a', 5)", 5],
    ['nums | get(0)', 3],
  ],
  V,
);
cases(
  'attr',
  [
    ["m | attr('a')", 1],
    ["m | attr('constructor')", undefined],
  ],
  V,
);
cases('safe', [["'<b>' | safe", '<b>'], ['[1] | safe', [1]]]);
cases('escape', [["'<a href=\"x\">&\\'</a>' | escape", '&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;'], ['missing | escape', '']]);
cases('e', [["'<' | e", '&lt;']]);
cases('forceescape', [["'&' | forceescape", '&amp;']]);
cases('center', [["'ab' | center(6)", '  ab  '], ["'abc' | center(6)", ' abc  '], ["'abc' | center(2)", 'abc']]);
cases('indent', [
  ["'a\\nb\\n\\nc' | indent(2)", 'a\n  b\n\n  c'],
  ["'a\\nb' | indent(2, true)", '  a\n  b'],
  ["'a\\n\\nb' | indent(2, blank=true)", 'a\n  \n  b'],
  ["'a\\nb' | indent('> ')", 'a\n> b'],
]);
cases('truncate', [
  ["'hello world' | truncate(100)", 'hello world'],
  ["'foo bar baz qux' | truncate(9)", 'foo...'],
  ["'foo bar baz qux' | truncate(9, true)", 'foo ba...'],
  ["'foo bar baz qux' | truncate(11, false, '!', 0)", 'foo bar!'],
]);
cases('wordcount', [["'one two, three!' | wordcount", 3], ["'' | wordcount", 0]]);
cases('striptags', [["'<p>Hello <b>world</b></p>  <!-- c -->x' | striptags", 'Hello world x']]);
cases('format', [
  ["'%s-%s' | format('a', 1)", 'a-1'],
  ["'%d items' | format(3.9)", '3 items'],
  ["'%.2f' | format(3.14159)", '3.14'],
  ["'%5s|%-5s|' | format('ab', 'cd')", '   ab|cd   |'],
  ["'%05d' | format(42)", '00042'],
  ["'%x %o %%' | format(255, 8)", 'ff 10 %'],
  ["'%(name)s is %(age)d' | format(name='bob', age=30)", 'bob is 30'],
]);
errors('format', [["'%s %s' | format('a')", /not enough arguments/]]);
cases('batch', [
  ['[1, 2, 3, 4, 5] | batch(2) | list', [[1, 2], [3, 4], [5]]],
  ["[1, 2, 3] | batch(2, 'x') | list", [[1, 2], [3, 'x']]],
]);

describe('filter arguments and registration', () => {
  it('unknown filters are rejected at compile time (R12.9)', () => {
    const e = err(() => compileTemplate('{{ x | nosuchfilter }}'));
    expect(e).toBeInstanceOf(TemplateSyntaxError);
    expect(e.code).toBe('E_UNKNOWN_FILTER');
    expect(e.column).toBe(8);
  });
  it('unknown filter/test names in map/select are rejected when constant', () => {
    expect(err(() => compileTemplate("{{ x | map('nosuch') }}")).code).toBe('E_UNKNOWN_FILTER');
    expect(err(() => compileTemplate("{{ x | select('nosuch') }}")).code).toBe('E_UNKNOWN_TEST');
    expect(err(() => compileTemplate("{{ x | selectattr('a', 'nosuch') }}")).code).toBe('E_UNKNOWN_TEST');
  });
  it('too many / unknown keyword arguments are syntax errors', () => {
    expect(err(() => compileTemplate('{{ x | upper(1) }}'))).toBeInstanceOf(TemplateSyntaxError);
    expect(err(() => compileTemplate('{{ x | default(1, 2, 3) }}')).message).toMatch(/at most 2 arguments/);
    expect(err(() => compileTemplate('{{ x | default(nope=1) }}')).message).toMatch(/unexpected keyword argument 'nope'/);
    expect(err(() => compileTemplate("{{ x | default('a', default_value='b') }}")).message).toMatch(/multiple values/);
    expect(err(() => compileTemplate('{{ x | default(a=1, a=2) }}')).message).toMatch(/duplicate keyword/);
    expect(err(() => compileTemplate('{{ x | default(a=1, 2) }}')).message).toMatch(/positional argument follows keyword/);
  });
  it('filter chains and filters inside expressions', () => {
    expect(ev("'  A,b ' | trim | lower | split(',') | join('+')")).toBe('a+b');
    expect(rs("{{ items | map(attribute='v') | sum }}", { items: [{ v: 1 }, { v: 2 }] })).toBe('3');
    expect(r("{{ (ctx.ids | length) > 1 }}", { ctx: { ids: [1, 2] } })).toBe(true);
  });
  it('filters read fallback keys but serialize own keys only', () => {
    const body = { page: 2 };
    const res = defineFallback({ status_code: 200, data: body }, (k) => (Object.prototype.hasOwnProperty.call(body, k) ? (body as Record<string, unknown>)[k] : undefined));
    const vars = { res };
    expect(ev("res | get('page')", vars)).toBe(2);
    expect(ev("res | attr('page')", vars)).toBe(2);
    expect(ev('res | tojson', vars)).toBe('{"status_code":200,"data":{"page":2}}');
    expect(ev('res | length', vars)).toBe(2);
    expect(ev('res | keys | list', vars)).toEqual(['status_code', 'data']);
    expect(ev('res | items | length', vars)).toBe(2);
    expect(ev("'page' in res", vars)).toBe(false);
  });
});

describe('coverage of the registered filters', () => {
  it('every name in FILTER_NAMES is exercised by this file', () => {
    const missing = FILTER_NAMES.filter((n) => !covered.has(n));
    expect(missing).toEqual([]);
  });
  it('every filter required by dsl §12.5 is registered', () => {
    const required = [
      'default', 'd', 'int', 'float', 'string', 'bool', 'lower', 'upper', 'trim', 'capitalize', 'title', 'replace', 'length', 'count',
      'first', 'last', 'join', 'split', 'tojson', 'fromjson', 'keys', 'values', 'items', 'list', 'round', 'abs', 'min', 'max', 'sum',
      'sort', 'unique', 'reverse', 'map', 'select', 'reject', 'selectattr', 'rejectattr', 'b64encode', 'b64decode', 'urlencode', 'get',
      'safe', 'e', 'escape',
    ];
    expect(required.filter((n) => !FILTER_NAMES.includes(n))).toEqual([]);
  });
});
