// Sandbox: templates come from many authors and must never reach JavaScript internals.
import { TemplateError, renderTemplate, renderValue, scopeFromObject, compileExpression } from './index';

const g = globalThis as Record<string, unknown>;

class Widget {
  own = 'own-value';
  method(): string {
    g.__pwned = true;
    return 'called';
  }
}

function scope() {
  return scopeFromObject({
    x: { a: 1, list: [1, 2] },
    s: 'str',
    l: [1, 2, 3],
    fn: () => {
      g.__pwned = true;
      return 'called';
    },
    inst: new Widget(),
    ctx: { nested: { deep: true } },
  });
}

/** Outcome of a payload: a TemplateError, or a value that is not a function and not JS internals. */
function attempt(src: string): { error?: TemplateError; value?: unknown } {
  try {
    return { value: renderTemplate(src, scope()) };
  } catch (e) {
    if (!(e instanceof TemplateError)) throw new Error(`payload ${src} raised a non-template error: ${String(e)}`);
    return { error: e };
  }
}

const CANARY = "g=globalThis; g.__pwned = true; return process";

const PAYLOADS = [
  // nunjucks / JS-style escapes
  "{{ range.constructor('return 1')() }}",
  `{{ range.constructor("${CANARY}")() }}`,
  `{{ ''.constructor.constructor('${CANARY}')() }}`,
  `{{ "".constructor.constructor("${CANARY}")() }}`,
  `{{ [].map.constructor('${CANARY}')() }}`,
  "{{ [].map.constructor('return 1')() }}",
  `{{ x.constructor.constructor('${CANARY}')() }}`,
  `{{ x['constructor']['constructor']('${CANARY}')() }}`,
  `{{ s.constructor.constructor('${CANARY}')() }}`,
  `{{ fn.constructor('${CANARY}')() }}`,
  `{{ fn.call(none) }}`,
  `{{ fn.apply(none, []) }}`,
  `{{ fn.bind(none)() }}`,
  '{{ fn() }}',
  '{{ fn }}',
  '{{ inst.method() }}',
  '{{ inst.method }}',
  '{{ inst.constructor }}',
  '{{ x.__proto__ }}',
  "{{ x['__proto__'] }}",
  '{{ x.__proto__.constructor }}',
  '{{ x.prototype }}',
  '{{ l.__proto__.constructor }}',
  "{{ [].__proto__.constructor('x') }}",
  '{{ l.constructor }}',
  '{{ l.length }}',
  '{{ s.length }}',
  "{{ s['length'] }}",
  "{{ l['length'] }}",
  '{{ x.toString() }}',
  '{{ x.toString }}',
  '{{ x.valueOf() }}',
  "{{ x.hasOwnProperty('a') }}",
  '{{ l.map }}',
  "{{ l.map('x') }}",
  '{{ l.push(4) }}',
  '{{ s.concat }}',
  "{{ s.concat('x') }}",
  '{{ (1).toFixed(2) }}',
  "{{ 'a'.format.constructor }}",
  "{{ 'a'.format.constructor('return 1')() }}",
  // Jinja / Python-style escapes
  '{{ cycler.__init__ }}',
  '{{ cycler.__init__.__globals__.os }}',
  "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
  '{{ joiner.__init__.__globals__ }}',
  '{{ lipsum.__globals__ }}',
  "{{ ''.__class__.__mro__[1].__subclasses__() }}",
  "{{ ''.__class__.__base__.__subclasses__() }}",
  '{{ self.__init__.__globals__.__builtins__ }}',
  '{{ config.items() }}',
  "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
  "{{ namespace.__init__.__globals__.os.popen('id').read() }}",
  '{{ range.__globals__ }}',
  '{{ dict.__class__ }}',
  // host globals
  '{{ process }}',
  '{{ process.env }}',
  "{{ process.mainModule.require('child_process') }}",
  "{{ require('child_process') }}",
  '{{ globalThis }}',
  '{{ global }}',
  '{{ this }}',
  '{{ module }}',
  '{{ Function }}',
  "{{ Function('return process')() }}",
  "{{ eval('1') }}",
  '{{ constructor }}',
  '{{ __proto__ }}',
  '{{ toString }}',
  '{{ hasOwnProperty }}',
  // filters/tests used as reflection
  "{{ x | attr('constructor') }}",
  "{{ x | attr('__proto__') }}",
  "{{ s | attr('constructor') | attr('constructor') }}",
  "{{ [x] | map(attribute='constructor') | list }}",
  "{{ [x] | map(attribute='__proto__.constructor') | list }}",
  "{{ [x, x] | sort(attribute='constructor') | length }}",
  "{{ [x] | selectattr('constructor') | list }}",
  "{{ x | get('constructor') }}",
  "{{ x.get('constructor') }}",
  "{{ x.get('__proto__') }}",
  "{{ '{0.constructor.constructor}'.format(x) }}",
  "{{ '{0.__proto__}'.format(x) }}",
  "{{ '%(constructor)s' | format(a=1) }}",
  "{{ x is constructor }}",
  "{{ x | constructor }}",
  "{{ l | map('constructor') | list }}",
  "{{ l | select('constructor') | list }}",
];

describe('sandbox payloads never execute', () => {
  beforeEach(() => {
    g.__pwned = false;
  });
  afterAll(() => {
    delete g.__pwned;
  });

  it.each(PAYLOADS)('%s', (src) => {
    let outcome: { error?: TemplateError; value?: unknown } | undefined;
    let compileError: unknown;
    try {
      outcome = attempt(src);
    } catch (e) {
      compileError = e; // only TemplateSyntaxError subclasses may escape compile (checked in attempt)
    }
    expect(compileError).toBeUndefined();
    expect(g.__pwned).toBe(false);
    if (outcome?.error === undefined) {
      // rendered: must be inert data — null/undefined, or plain data that is not a host object
      const v = outcome?.value;
      expect(typeof v).not.toBe('function');
      expect(v === null || v === undefined || v === '' || (Array.isArray(v) && v.every((e) => e === undefined || e === null)) || typeof v === 'number' || typeof v === 'boolean').toBe(true);
    } else {
      expect(outcome.error).toBeInstanceOf(TemplateError);
    }
  });

  it('own properties of class instances are readable; inherited methods are not', () => {
    expect(renderTemplate('{{ inst.own }}', scope())).toBe('own-value');
    expect(renderTemplate('{{ inst.method }}', scope())).toBeNull();
  });

  it('non-enumerable own properties of non-plain objects are hidden (e.g. Error.stack)', () => {
    const s = scopeFromObject({ e: new Error('boom') });
    expect(renderTemplate('{{ e.stack }}', s)).toBeNull();
    expect(renderTemplate('{{ e.message }}', s)).toBeNull();
  });

  it('no function ever becomes a template value', () => {
    expect(renderTemplate('{{ fn }}', scope())).toBeNull();
    expect(renderTemplate('{{ [fn, 1] | tojson }}', scope())).toBe('[null,1]');
    expect(renderTemplate('{{ fn is defined }}', scope())).toBe(false);
    expect(renderTemplate('{{ {"f": fn} | tojson }}', scope())).toBe('{}');
  });
});

describe('no prototype pollution', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
  });
  it('{% set __proto__ = ... %} binds a local name only', () => {
    expect(renderTemplate("{% set __proto__ = {'polluted': 1} %}{{ __proto__.polluted }}", scopeFromObject({}))).toBe('1');
    expect(renderTemplate("{% set constructor = 'c' %}{% set x = {} %}{{ x.polluted }}", scopeFromObject({}))).toBe('');
    expect(renderTemplate("{% for __proto__ in [{'polluted': 1}] %}{{ __proto__.polluted }}{% endfor %}", scopeFromObject({}))).toBe('1');
  });
  it('dict literals, dict() and fromjson keep __proto__ as a plain own key', () => {
    const v = renderTemplate("{{ {'__proto__': {'polluted': 1}} }}", scopeFromObject({})) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(v.polluted).toBeUndefined();
    expect(renderTemplate("{{ {'__proto__': {'polluted': 1}}.polluted }}", scopeFromObject({}))).toBeNull();
    const d = renderTemplate("{{ dict(__proto__={'polluted': 1}) }}", scopeFromObject({})) as Record<string, unknown>;
    expect(Object.getPrototypeOf(d)).toBe(Object.prototype);
    expect(d.polluted).toBeUndefined();
    const p = renderTemplate('{{ \'{"__proto__": {"polluted": 1}}\' | fromjson }}', scopeFromObject({})) as Record<string, unknown>;
    expect(p.polluted).toBeUndefined();
    expect(renderTemplate("{{ [['__proto__', {'polluted': 1}]] | items if false else dict([['__proto__', {'polluted': 1}]]) }}", scopeFromObject({}))).toEqual(
      JSON.parse('{"__proto__": {"polluted": 1}}'),
    );
  });
  it('renderValue with a __proto__ key', () => {
    const out = renderValue(JSON.parse('{"__proto__": {"polluted": "{{ 1 }}"}}'), scopeFromObject({})) as Record<string, unknown>;
    expect(out.polluted).toBeUndefined();
    expect(Object.keys(out)).toEqual(['__proto__']);
  });
  it('expressions cannot assign', () => {
    expect(() => compileExpression('x.a = 1')).toThrow(TemplateError);
    expect(() => compileExpression('x = 1')).toThrow(TemplateError);
  });
  it('templates cannot mutate scope data', () => {
    const data = { l: [3, 1, 2], m: { b: 1, a: 2 } };
    renderTemplate('{{ l | sort }}{{ l | reverse }}{{ m | dictsort }}{{ l.count(1) }}{{ (l + [4]) | length }}', scopeFromObject(data));
    expect(data).toEqual({ l: [3, 1, 2], m: { b: 1, a: 2 } });
  });
});
