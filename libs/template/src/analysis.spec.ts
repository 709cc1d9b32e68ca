import * as fc from 'fast-check';
import { analyzeExpression, analyzeTemplate, compileExpression, isTruthy, renderTemplate, scopeFromObject, toTemplateString, TemplateSyntaxError } from './index';
import { deepEqual } from './values';

describe('analyzeTemplate', () => {
  it('collects roots and static paths', () => {
    const a = analyzeTemplate("{{ ctx.a['b'][0] }} {{ workload.x }} {{ ctx.a.c }} {{ db_auth }}");
    expect(a.references).toEqual([
      { root: 'ctx', path: ['a', 'b', '0'], dynamic: false },
      { root: 'workload', path: ['x'], dynamic: false },
      { root: 'ctx', path: ['a', 'c'], dynamic: false },
      { root: 'db_auth', path: [], dynamic: false },
    ]);
    expect(a.roots).toEqual(['ctx', 'workload', 'db_auth']);
    expect(a.usesNow).toBe(false);
  });
  it('marks chains cut by non-constant subscripts as dynamic and analyzes the key', () => {
    const a = analyzeTemplate('{{ steps[name].data.rows }}');
    expect(a.references).toEqual([
      { root: 'name', path: [], dynamic: false },
      { root: 'steps', path: [], dynamic: true },
    ]);
    expect(analyzeTemplate("{{ steps['name-with-dash'].data }}").references).toEqual([{ root: 'steps', path: ['name-with-dash', 'data'], dynamic: false }]);
    expect(analyzeTemplate('{{ rows[i + 1].x }}').references).toEqual([
      { root: 'i', path: [], dynamic: false },
      { root: 'rows', path: [], dynamic: true },
    ]);
  });
  it('names bound inside the template are not free roots', () => {
    const a = analyzeTemplate(
      '{% for row in ctx.rows %}{{ row.id }}{{ loop.index }}{% set tmp = row.v %}{{ tmp }}{% endfor %}{% set total = 1 %}{{ total }}{{ loop }}',
    );
    expect(a.roots).toEqual(['ctx', 'loop']);
    expect(a.references).toEqual([
      { root: 'ctx', path: ['rows'], dynamic: false },
      { root: 'loop', path: [], dynamic: false },
    ]);
    // used before the set: free
    expect(analyzeTemplate('{{ x }}{% set x = 1 %}{{ x }}').roots).toEqual(['x']);
    // loop target in the else branch / after the loop: free again
    expect(analyzeTemplate('{% for x in xs %}{% else %}{{ x }}{% endfor %}{{ x }}').roots).toEqual(['xs', 'x']);
    expect(analyzeTemplate('{% for k, v in d.items() %}{{ k }}{{ v.z }}{% endfor %}').references).toEqual([{ root: 'd', path: [], dynamic: false }]);
    expect(analyzeTemplate('{% set b %}{{ q }}{% endset %}{{ b }}').roots).toEqual(['q']);
  });
  it('reports filters, tests and now()', () => {
    const a = analyzeTemplate("{{ now() }} {{ x | default(y | upper) | tojson }} {% if z is defined and z is not none %}{% endif %} {{ l | map('lower') | select('odd') }} {{ l | selectattr('a', 'eq', 1) }}");
    expect(a.usesNow).toBe(true);
    expect([...a.filters].sort()).toEqual(['default', 'lower', 'map', 'select', 'selectattr', 'tojson', 'upper']);
    expect([...a.tests].sort()).toEqual(['defined', 'eq', 'none', 'odd']);
    expect(a.roots).toEqual(['x', 'y', 'z', 'l']);
  });
  it('globals are not references unless shadowed', () => {
    expect(analyzeTemplate('{{ range(3) }}{{ dict(a=b) }}').roots).toEqual(['b']);
    expect(analyzeTemplate('{% set now = 1 %}{{ now() }}').usesNow).toBe(false);
    expect(analyzeTemplate('{{ foo() }}').roots).toEqual(['foo']);
  });
  it('method calls: receiver chains, and .get(const) as a path segment', () => {
    expect(analyzeTemplate("{{ ctx.get('k', d) }}").references).toEqual([
      { root: 'd', path: [], dynamic: false },
      { root: 'ctx', path: ['k'], dynamic: false },
    ]);
    expect(analyzeTemplate('{{ m.items() }}').references).toEqual([{ root: 'm', path: [], dynamic: false }]);
    expect(analyzeTemplate("{{ s.split(sep) }}").roots).toEqual(['s', 'sep']);
    expect(analyzeTemplate('{{ a.b[1:2] }}').references).toEqual([{ root: 'a', path: ['b'], dynamic: false }]);
  });
  it('literals and syntax errors', () => {
    expect(analyzeTemplate('plain')).toEqual({ references: [], roots: [], filters: [], tests: [], usesNow: false });
    expect(() => analyzeTemplate('{{ x + }}')).toThrow(TemplateSyntaxError);
    // analysis works even with unknown filters (validation is checkTemplate's job)
    expect(analyzeTemplate('{{ x | nosuch }}').filters).toEqual(['nosuch']);
  });
  it('deduplicates references', () => {
    expect(analyzeTemplate('{{ a.b }}{{ a.b }}{{ a.b | upper }}').references).toHaveLength(1);
  });
});

describe('analyzeExpression', () => {
  it('works on bare expressions', () => {
    const a = analyzeExpression("output.status == 'error' and output.http.status in [429, 500] and now() > ctx.deadline");
    expect(a.references).toEqual([
      { root: 'output', path: ['status'], dynamic: false },
      { root: 'output', path: ['http', 'status'], dynamic: false },
      { root: 'ctx', path: ['deadline'], dynamic: false },
    ]);
    expect(a.usesNow).toBe(true);
  });
});

describe('properties (fast-check)', () => {
  const json = fc.jsonValue({ maxDepth: 3 });

  it('string conversion of containers is compact JSON with insertion order', () => {
    fc.assert(
      fc.property(fc.oneof(fc.array(json), fc.dictionary(fc.string(), json)), (v) => {
        const norm = JSON.parse(JSON.stringify(v)) as unknown; // -0 -> 0
        expect(toTemplateString(norm)).toBe(JSON.stringify(norm));
      }),
    );
  });

  it('tojson | fromjson round-trips and == is reflexive on JSON values', () => {
    fc.assert(
      fc.property(json, (v) => {
        const norm = JSON.parse(JSON.stringify(v)) as unknown;
        const s = scopeFromObject({ v: norm });
        expect(renderTemplate('{{ v | tojson | fromjson }}', s)).toEqual(norm);
        expect(renderTemplate('{{ v == v }}', s)).toBe(true);
        expect(deepEqual(norm, JSON.parse(JSON.stringify(norm)))).toBe(true);
      }),
    );
  });

  it('integer arithmetic matches Python semantics', () => {
    const pyMod = (a: number, b: number) => ((a % b) + b) % b;
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1000, max: 1000 }).filter((b) => b !== 0), (a, b) => {
        const s = scopeFromObject({ a, b });
        const e = (src: string) => compileExpression(src).evaluate(s);
        expect(e('a + b * 2 - a')).toBe(a + b * 2 - a + 0);
        expect(e('a // b')).toBe(Math.floor(a / b) + 0);
        expect(e('a % b')).toBe(pyMod(a, b) === 0 ? 0 : pyMod(a, b));
        expect(e('(a // b) * b + a % b')).toBe(a);
        expect(e('a < b')).toBe(a < b);
        expect(e('a == b or a != b')).toBe(true);
      }),
    );
  });

  it('isTruthy agrees with the R6.3 definition on arbitrary strings', () => {
    const falsy = new Set(['false', '0', 'no', 'off', 'none', 'null']); // whitespace-only strings are truthy
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom(' ', ' No ', '\tOFF\n', 'nULl', '  0  ', 'falsey')), (str) => {
        expect(isTruthy(str)).toBe(!(str === '' || falsy.has(str.trim().toLowerCase())));
      }),
    );
  });

  it('mixed rendering concatenates literal text and converted values', () => {
    fc.assert(
      fc.property(fc.string().filter((t) => t.trim().length > 0 && !t.includes('{') && !t.includes('}')), json, (text, v) => {
        const norm = JSON.parse(JSON.stringify(v)) as unknown;
        expect(renderTemplate(`${text}{{ v }}${text}`, scopeFromObject({ v: norm }))).toBe(text + toTemplateString(norm) + text);
      }),
    );
  });
});
