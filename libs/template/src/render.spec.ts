import {
  chainScopes, compileExpression, compileTemplate, defineFallback, evaluateCondition, hasTemplateSyntax, isTruthy, renderTemplate,
  renderValue, scopeFromObject, toTemplateString, type Scope,
} from './index';
import { templateCacheStats } from './api';
import { err, r, rs } from './test-helpers';

describe('typed rendering (R12.2-R12.4)', () => {
  const vars = { ctx: { ids: [1, 2, 3], flag: true, name: 'x', n: null, obj: { a: 1 }, f: 1.5, zero: 0 }, iter: { index: 3 } };
  it.each<[string, unknown]>([
    ['{{ ctx.ids }}', [1, 2, 3]],
    ['  {{ ctx.ids }}  ', [1, 2, 3]],
    ['\n{{ ctx.ids }}\n', [1, 2, 3]],
    ['{{ctx.ids}}', [1, 2, 3]],
    ['{{- ctx.ids -}}', [1, 2, 3]],
    ['{{ ctx.ids | length }}', 3],
    ['{{ ctx.flag }}', true],
    ['{{ ctx.name }}', 'x'],
    ['{{ ctx.n }}', null],
    ['{{ ctx.missing }}', null],
    ['{{ ctx.obj }}', { a: 1 }],
    ['{{ ctx.f }}', 1.5],
    ['{{ ctx.zero }}', 0],
    ['{{ ctx.ids | tojson }}', '[1,2,3]'],
    ['{{ "42" }}', '42'], // strings are never re-parsed
    ["{{ 'true' }}", 'true'],
    ['batch-{{ iter.index }}', 'batch-3'],
    ['{{ ctx.ids }} ', [1, 2, 3]],
    ['{{ 1 }}{{ 2 }}', '12'], // not re-parsed into a number (R12.4 decision)
    ['x{{ ctx.missing }}y', 'xy'],
    ['{{ ctx.flag }}!', 'true!'],
    ['{{ ctx.obj }}!', '{"a":1}!'],
    ['{{ ctx.n }}|', '|'],
    ['{{ ctx.f }} {{ ctx.zero }}', '1.5 0'],
    ['{{ ctx.ids }}{# c #}', '[1,2,3]'], // a comment makes it mixed
    ['{% if true %}{{ ctx.ids }}{% endif %}', '[1,2,3]'],
    ['plain text', 'plain text'],
    ['', ''],
    ['{ not a template }', '{ not a template }'],
    ['a {# not a comment without expression/statement markers #}', 'a {# not a comment without expression/statement markers #}'],
    ['a {# comment #}{{ 1 }}', 'a 1'],
  ])('%j', (src, want) => {
    expect(r(src, vars)).toEqual(want);
  });

  it('classifies templates', () => {
    expect(compileTemplate('plain').kind).toBe('literal');
    expect(compileTemplate('echo ${#arr[@]}').kind).toBe('literal');
    expect(compileTemplate(' {{ x }} ').kind).toBe('single-expression');
    expect(compileTemplate('{{ x }}{{ y }}').kind).toBe('mixed');
    expect(compileTemplate('a{{ x }}').kind).toBe('mixed');
    expect(compileTemplate('{% raw %}x{% endraw %}').kind).toBe('mixed');
    expect(compileTemplate('{{ x }}{# c #}').kind).toBe('mixed');
    expect(compileTemplate('{{ x }}').source).toBe('{{ x }}');
  });

  it('renderString always returns a string (§12.7)', () => {
    expect(rs('{{ ctx.ids }}', vars)).toBe('[1,2,3]');
    expect(rs('{{ ctx.missing }}', vars)).toBe('');
    expect(rs('{{ ctx.flag }}', vars)).toBe('true');
    expect(rs('{{ 2.0 }}', vars)).toBe('2');
    expect(rs('literal', vars)).toBe('literal');
    expect(rs('a{{ 1 }}', vars)).toBe('a1');
  });

  it('results of single expressions are the native values (not copies)', () => {
    const ids = [1, 2];
    expect(r('{{ ids }}', { ids })).toBe(ids);
  });
});

describe('string conversion (§12.7) — toTemplateString', () => {
  it.each<[unknown, string]>([
    ['s', 's'],
    ['', ''],
    [0, '0'],
    [1, '1'],
    [-1.5, '-1.5'],
    [2.0, '2'],
    [0.1 + 0.2, '0.30000000000000004'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [123456789012, '123456789012'],
    [-0, '0'],
    [true, 'true'],
    [false, 'false'],
    [null, ''],
    [undefined, ''],
    [[], '[]'],
    [{}, '{}'],
    [[1, 'a', null, true, [2]], '[1,"a",null,true,[2]]'],
    [{ b: 1, a: { c: [1] } }, '{"b":1,"a":{"c":[1]}}'],
    [{ s: 'quote " and \\ and \n' }, '{"s":"quote \\" and \\\\ and \\n"}'],
    [{ u: undefined, v: 1 }, '{"v":1}'],
    [[undefined], '[null]'],
  ])('%j -> %j', (v, want) => {
    expect(toTemplateString(v)).toBe(want);
  });

  it('serializes own keys only and functions never', () => {
    const proto = { inherited: 1 };
    const o = Object.create(proto) as Record<string, unknown>;
    o.own = 2;
    expect(toTemplateString(o)).toBe('{"own":2}');
    expect(toTemplateString(() => 1)).toBe('');
    expect(toTemplateString({ f: () => 1, a: 1 })).toBe('{"a":1}');
  });
});

describe('truthiness (R6.3) — isTruthy', () => {
  it.each<[unknown, boolean]>([
    [false, false],
    [null, false],
    [undefined, false],
    [0, false],
    [0.0, false],
    ['', false],
    [[], false],
    [{}, false],
    ['false', false],
    ['False', false],
    [' FALSE ', false],
    ['0', false],
    ['no', false],
    ['No', false],
    ['off', false],
    ['OFF', false],
    ['none', false],
    ['None', false],
    ['null', false],
    ['NULL', false],
    ['\tnull\n', false],
    ['      false      ', false],
    ['   no   ', false],
    [true, true],
    [1, true],
    [-1, true],
    [0.5, true],
    ['x', true],
    ['true', true],
    ['yes', true],
    ['1', true],
    ['0.0', true],
    ['{}', true],
    ['[]', true],
    ['nope', true],
    [' ', true],
    [[0], true],
    [{ a: 0 }, true],
    [NaN, false],
  ])('%j -> %s', (v, want) => {
    expect(isTruthy(v)).toBe(want);
  });
});

describe('evaluateCondition (R6.2, R6.3)', () => {
  const scope = scopeFromObject({
    ctx: { ready: true, count: 3, s: 'false', off: 'off', list: [] },
    args: { count: 2 },
    output: { status: 'error', data: { count: 5 } },
  });
  it.each<[unknown, boolean]>([
    [true, true],
    [false, false],
    ['{{ ctx.ready and args.count > 0 }}', true],
    ['ctx.ready', true],
    ['ctx.ready and args.count > 5', false],
    ["{{ output.status == 'error' }}", true],
    ['output.data.count > 0', true],
    ['ctx.missing', false],
    ['{{ ctx.missing }}', false],
    ['ctx.s', false], // native string 'false' is falsy (string falsy set)
    ['{{ ctx.s }}', false],
    ['{{ ctx.off }}', false],
    ['{{ ctx.list }}', false],
    ['ctx.list', false],
    ['result: {{ ctx.s }}', true], // rendered string 'result: false' is not in the falsy set
    ['{{ ctx.s }}{{ "" }}', false], // mixed -> 'false' string -> falsy
    ['{% if ctx.ready %}yes{% endif %}', true],
    ['{% if ctx.missing %}yes{% endif %}', false],
    ['  ', false],
    ['', false],
    [null, false],
    [undefined, false],
    [1, true],
    [0, false],
    ['not ctx.ready', false],
    ['ctx.count in [1, 2, 3]', true],
  ])('%j -> %s', (when, want) => {
    expect(evaluateCondition(when, scope)).toBe(want);
  });

  it('syntax errors propagate', () => {
    expect(() => evaluateCondition('ctx.ready and', scope)).toThrow(/unexpected end/);
    expect(() => evaluateCondition('{{ ctx.ready and }}', scope)).toThrow();
  });
});

describe('hasTemplateSyntax', () => {
  it.each<[string, boolean]>([
    ['{{ x }}', true],
    ['{% if %}', true],
    ['{# c #}', true],
    ['plain', false],
    ['{ x }', false],
    ['$' + '{x}', false],
  ])('%j', (s, want) => {
    expect(hasTemplateSyntax(s)).toBe(want);
  });
});

describe('renderValue', () => {
  const scope = scopeFromObject({ ctx: { ids: [1, 2], name: 'n' }, workload: { url: 'http://x' } });
  it('renders strings typed, containers recursively, keys never, other scalars as is', () => {
    const input = {
      ids: '{{ ctx.ids }}',
      count: '{{ ctx.ids | length }}',
      label: 'batch-{{ ctx.name }}',
      '{{ key }}': 'literal',
      nested: [{ u: '{{ workload.url }}/x' }, 1, true, null],
      n: 5,
      b: false,
      z: null,
      blank: '{{ ctx.missing }}',
    };
    expect(renderValue(input, scope)).toEqual({
      ids: [1, 2],
      count: 2,
      label: 'batch-n',
      '{{ key }}': 'literal',
      nested: [{ u: 'http://x/x' }, 1, true, null],
      n: 5,
      b: false,
      z: null,
      blank: null,
    });
    expect(renderValue('{{ ctx.name }}', scope)).toBe('n');
    expect(renderValue(7, scope)).toBe(7);
    expect(renderValue(undefined, scope)).toBeUndefined();
  });
  it('returns fresh containers and keeps __proto__ keys as data', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "{{ ctx.name }}"}, "a": [1]}') as Record<string, unknown>;
    const out = renderValue(input, scope) as Record<string, unknown>;
    expect(out).not.toBe(input);
    expect(out.a).not.toBe(input.a);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it('strips fallbacks from rendered data (copies are plain data, K2.16)', () => {
    const body = { page: 2 };
    const res = defineFallback({ status_code: 200, data: body }, (k) => (k in body ? (body as Record<string, unknown>)[k] : undefined));
    const s = scopeFromObject({ res, list: [res] });
    expect(renderTemplate('{{ res.page }}', s)).toBe(2);
    const copy = renderValue({ r: '{{ res }}', l: '{{ list }}' }, s) as Record<string, Record<string, unknown>>;
    expect(copy.r).toEqual({ status_code: 200, data: { page: 2 } });
    expect(copy.r).not.toBe(res);
    const again = scopeFromObject({ copy });
    expect(renderTemplate('{{ copy.r.page }}', again)).toBeNull();
    expect(renderTemplate('{{ copy.l[0].page }}', again)).toBeNull();
    expect(renderTemplate('{{ copy.r.data.page }}', again)).toBe(2);
  });
});

describe('scopes (§13: the caller resolves names)', () => {
  it('scopeFromObject reads own keys only', () => {
    const s = scopeFromObject({ a: 1 });
    expect(s.lookup('a')).toBe(1);
    expect(s.lookup('toString')).toBeUndefined();
    expect(s.lookup('constructor')).toBeUndefined();
    expect(s.lookup('__proto__')).toBeUndefined();
    expect(s.lookup('hasOwnProperty')).toBeUndefined();
  });
  it('chainScopes: first non-undefined wins', () => {
    const s = chainScopes(scopeFromObject({ a: undefined, b: null }), scopeFromObject({ a: 2, b: 3, c: 4 }));
    expect(s.lookup('a')).toBe(2);
    expect(s.lookup('b')).toBeNull();
    expect(s.lookup('c')).toBe(4);
    expect(s.lookup('d')).toBeUndefined();
    expect(renderTemplate('{{ a }}-{{ b }}-{{ c }}', s)).toBe('2--4');
  });
  it('custom scopes are consulted lazily, once per reference', () => {
    const seen: string[] = [];
    const s: Scope = {
      lookup(name) {
        seen.push(name);
        return name === 'workload' ? { x: 1 } : undefined;
      },
    };
    expect(renderTemplate('{{ workload.x }}', s)).toBe(1);
    expect(renderTemplate('{{ false and other }}', s)).toBe(false);
    expect(seen).toEqual(['workload']);
  });
  it('errors thrown by a scope propagate unchanged (e.g. hydration failures)', () => {
    class Hydrate extends Error {}
    const s: Scope = {
      lookup() {
        throw new Hydrate('reference_not_available');
      },
    };
    expect(err(() => renderTemplate('{{ big.rows }}', s))).toBeInstanceOf(Hydrate);
  });
});

describe('defineFallback (tools.md K2.16, dsl R13.4)', () => {
  const body = { page: 2, status_code: 'body-status', nested: { k: 'v' } };
  const make = () =>
    defineFallback({ status_code: 200, headers: {}, data: body, body, url: 'u', elapsed_ms: 1 }, (k) =>
      Object.prototype.hasOwnProperty.call(body, k) ? (body as Record<string, unknown>)[k] : undefined,
    );
  it('reads missing keys through the hook; own keys win', () => {
    const scope = scopeFromObject({ output: { data: make() } });
    expect(renderTemplate('{{ output.data.page }}', scope)).toBe(2);
    expect(renderTemplate('{{ output.data.data.page }}', scope)).toBe(2);
    expect(renderTemplate('{{ output.data.status_code }}', scope)).toBe(200);
    expect(renderTemplate("{{ output.data['nested'].k }}", scope)).toBe('v');
    expect(renderTemplate('{{ output.data.nope }}', scope)).toBeNull();
    expect(renderTemplate("{{ output.data.get('page') }}", scope)).toBe(2);
    expect(renderTemplate('{{ output.data.page is defined }}', scope)).toBe(true);
  });
  it('serialization, length, keys and `in` see own keys only', () => {
    const scope = scopeFromObject({ r: make() });
    expect(renderTemplate('{{ r | length }}', scope)).toBe(6);
    expect(renderTemplate("{{ 'page' in r }}", scope)).toBe(false);
    expect(renderTemplate('{{ r.keys() | list }}', scope)).toEqual(['status_code', 'headers', 'data', 'body', 'url', 'elapsed_ms']);
    expect(renderTemplate('{{ r | tojson }}', scope)).toBe(JSON.stringify(make()));
    expect(renderTemplate('x{{ r }}', scope)).toBe('x' + JSON.stringify(make()));
    expect(renderTemplate('{% for k in r %}{{ k }},{% endfor %}', scope)).toBe('status_code,headers,data,body,url,elapsed_ms,');
  });
  it('synthetic data key of a step-result data view (R13.4)', () => {
    const R = { rows: [1], count: 1 };
    const view = defineFallback({ ...R }, (k) => (k === 'data' ? R : undefined));
    const scope = scopeFromObject({ s: view });
    expect(renderTemplate('{{ s.count }}', scope)).toBe(1);
    expect(renderTemplate('{{ s.data.count }}', scope)).toBe(1);
    expect(renderTemplate('{{ s | tojson }}', scope)).toBe('{"rows":[1],"count":1}');
  });
  it('a hook returning a function yields undefined; bad arguments are rejected', () => {
    const o = defineFallback({}, () => () => 1);
    expect(renderTemplate('{{ o.x }}', scopeFromObject({ o }))).toBeNull();
    expect(() => defineFallback(null as unknown as object, () => 1)).toThrow(TypeError);
  });
});

describe('compilation cache', () => {
  it('compiles once per distinct source', () => {
    const a = compileTemplate('{{ cache_test_1 }}');
    expect(compileTemplate('{{ cache_test_1 }}')).toBe(a);
    const e = compileExpression('cache_test_2 + 1');
    expect(compileExpression('cache_test_2 + 1')).toBe(e);
    expect(templateCacheStats().capacity).toBe(5000);
  });
  it('caches syntax errors too', () => {
    const e1 = err(() => compileTemplate('{{ bad ( }}'));
    const e2 = err(() => compileTemplate('{{ bad ( }}'));
    expect(e1).toBe(e2);
  });
  it('evicts beyond capacity without failing', () => {
    for (let i = 0; i < 5100; i++) compileTemplate(`{{ evict_${i} }}`);
    expect(templateCacheStats().templates).toBeLessThanOrEqual(5000);
    expect(renderTemplate('{{ evict_0 }}', scopeFromObject({ evict_0: 1 }))).toBe(1);
  });
  it('non-string sources are a TypeError', () => {
    expect(() => compileTemplate(1 as unknown as string)).toThrow(TypeError);
    expect(() => compileExpression(null as unknown as string)).toThrow(TypeError);
  });
});

describe('globals', () => {
  it('now() is ISO-8601 UTC with milliseconds and Z, from the injected clock', () => {
    const fixed = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6));
    expect(r('{{ now() }}', {}, { now: () => fixed })).toBe('2024-01-02T03:04:05.006Z');
    expect(r('{{ now() }}')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(r("{{ now()[:4] }}", {}, { now: () => fixed })).toBe('2024');
    expect(err(() => r('{{ now(1) }}')).message).toMatch(/no arguments/);
  });
  it('range()', () => {
    expect(r('{{ range(3) }}')).toEqual([0, 1, 2]);
    expect(r('{{ range(1, 4) }}')).toEqual([1, 2, 3]);
    expect(r('{{ range(0, 10, 3) }}')).toEqual([0, 3, 6, 9]);
    expect(r('{{ range(5, 0, -2) }}')).toEqual([5, 3, 1]);
    expect(r('{{ range(0) }}')).toEqual([]);
    expect(r('{{ range(3, 1) }}')).toEqual([]);
    expect(err(() => r('{{ range(1, 2, 0) }}')).message).toMatch(/step must not be zero/);
    expect(err(() => r("{{ range('a') }}")).message).toMatch(/expects an integer/);
    expect(err(() => r('{{ range() }}')).message).toMatch(/1 to 3 arguments/);
  });
  it('dict()', () => {
    expect(r('{{ dict(a=1, b=[2]) }}')).toEqual({ a: 1, b: [2] });
    expect(r('{{ dict() }}')).toEqual({});
    expect(r("{{ dict({'a': 1}, b=2) }}")).toEqual({ a: 1, b: 2 });
    expect(r("{{ dict([['k', 'v']]) }}")).toEqual({ k: 'v' });
  });
  it('lipsum, cycler, joiner, namespace are not provided', () => {
    expect(err(() => r('{{ lipsum() }}')).message).toMatch(/not callable/);
    expect(err(() => r('{{ namespace() }}')).message).toMatch(/not callable/);
    expect(r('{{ cycler }}')).toBeNull();
  });
});

describe('whitelisted methods (§12.8)', () => {
  const vars = { m: { a: 1, b: null }, s: '  Hello World  ', l: [1, 2, 2, 3], csv: 'a,b,,c' };
  it.each<[string, unknown]>([
    ["m.get('a')", 1],
    ["m.get('zz')", null],
    ["m.get('zz', 5)", 5],
    ["m.get('b', 5)", null],
    ['m.items()', [['a', 1], ['b', null]]],
    ['m.keys()', ['a', 'b']],
    ['m.values()', [1, null]],
    ["'abc'.startswith('ab')", true],
    ["'abc'.startswith(['x', 'a'])", true],
    ["'abc'.startswith('b', 1)", true],
    ["'abc'.endswith('bc')", true],
    ["'abc'.endswith('b')", false],
    ['s.strip()', 'Hello World'],
    ['s.lstrip()', 'Hello World  '],
    ['s.rstrip()', '  Hello World'],
    ["'xxaxx'.strip('x')", 'a'],
    ['s.split()', ['Hello', 'World']],
    ["csv.split(',')", ['a', 'b', '', 'c']],
    ["csv.split(',', 1)", ['a', 'b,,c']],
    ["'a b c'.split(maxsplit=1)", ['a', 'b c']],
    ["'abc'.upper()", 'ABC'],
    ["'ABC'.lower()", 'abc'],
    ["'aXa'.replace('a', 'b')", 'bXb'],
    ["'aaa'.replace('a', 'b', 1)", 'baa'],
    ["'{} and {}'.format(1, 'x')", '1 and x'],
    ["'{0}{1}{0}'.format('a', 'b')", 'aba'],
    ["'{name}!'.format(name='bob')", 'bob!'],
    ["'{m[a]} {m.a}'.format(m=m)", '1 1'],
    ["'{:>5}|{:<3}|{:^5}'.format('a', 'b', 'c')", '    a|b  |  c  '],
    ["'{:.2f} {:,} {:05d} {:x}'.format(3.14159, 1234567, 42, 255)", '3.14 1,234,567 00042 ff'],
    ["'{{literal}} {}'.format(1)", '{literal} 1'],
    ["', '.join(['a', 'b'])", 'a, b'],
    ["'-'.join(l)", '1-2-2-3'],
    ["'banana'.count('a')", 3],
    ['l.count(2)', 2],
    ["'banana'.index('n')", 2],
    ['l.index(3)', 3],
    ["'banana'.find('x')", -1],
    ["'a😀b'.find('b')", 2],
    ["'hello world'.title()", 'Hello World'],
    ["'hELLO'.capitalize()", 'Hello'],
    ["missing.get('a')", undefined],
    ["none.strip()", undefined],
    ["'{0.__class__}{0.constructor}'.format(1)", ''],
  ])('%s', (src, want) => {
    expect(compileExpression(src).evaluate(scopeFromObject(vars))).toEqual(want);
  });
  it.each<[string, RegExp]>([
    ["'abc'.index('z')", /substring not found/],
    ['l.index(9)', /not in list/],
    ["l.get('a')", /list has no method 'get'/],
    ["m.strip()", /mapping has no method 'strip'/],
    ["(1).upper()", /number has no method 'upper'/],
    ["'a'.pop()", /'pop' is not an allowed method/],
    ["m.update({'x': 1})", /'update' is not an allowed method/],
    ["'{}'.format()", /not enough positional/],
    ["'abc'.upper(1)", /takes 0 arguments/],
  ])('%s is an error', (src, re) => {
    const e = err(() => compileExpression(src).evaluate(scopeFromObject(vars)));
    expect(e.message).toMatch(re);
  });
  it('format field attribute access goes through the safe accessors only', () => {
    expect(compileExpression("'{0.constructor}|{0.__proto__}'.format(m)").evaluate(scopeFromObject(vars))).toBe('|');
  });
});
