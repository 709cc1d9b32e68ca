import { TEST_NAMES, TemplateEvalError, TemplateSyntaxError, compileTemplate } from './index';
import { err, ev } from './test-helpers';

const covered = new Set<string>();
function cases(name: string, rows: [string, boolean][], vars: Record<string, unknown> = {}): void {
  covered.add(name);
  describe(`test ${name}`, () => {
    it.each(rows)('%s', (src, want) => {
      expect(ev(src, vars)).toBe(want);
    });
  });
}

const V = { n: null, z: 0, e: '', l: [1, 2], m: { a: 1 }, s: 'abc' };

cases(
  'defined',
  [
    ['x is defined', false],
    ['n is defined', true], // R12.10: null is defined
    ['z is defined', true],
    ['m.a is defined', true],
    ['m.b is defined', false],
    ['x.y.z is defined', false],
    ['l[5] is defined', false],
    ['x is not defined', true],
    ['n is not defined', false],
  ],
  V,
);
cases('undefined', [['x is undefined', true], ['n is undefined', false], ['m.a is undefined', false]], V);
cases('none', [['n is none', true], ['x is none', false], ['z is none', false], ['n is not none', false], ['m is not none', true]], V);
cases('true', [['true is true', true], ['1 is true', false], ["'true' is true", false]]);
cases('false', [['false is false', true], ['0 is false', false], ['none is false', false]]);
cases('boolean', [['true is boolean', true], ['false is boolean', true], ['1 is boolean', false], ['x is boolean', false]]);
cases('string', [["'a' is string", true], ['1 is string', false], ['none is string', false]]);
cases('number', [['1 is number', true], ['1.5 is number', true], ["'1' is number", false], ['true is number', false]]);
cases('integer', [['1 is integer', true], ['1.0 is integer', true], ['1.5 is integer', false], ["'1' is integer", false]]);
cases('float', [['1.5 is float', true], ['1 is float', false], ["'1.5' is float", false]]);
cases('mapping', [['m is mapping', true], ['l is mapping', false], ['n is mapping', false], ['{} is mapping', true]], V);
cases('sequence', [['l is sequence', true], ['s is sequence', true], ['m is sequence', false], ['1 is sequence', false]], V);
cases('iterable', [['l is iterable', true], ['s is iterable', true], ['m is iterable', true], ['1 is iterable', false], ['x is iterable', false]], V);
cases('even', [['2 is even', true], ['3 is even', false], ['0 is even', true], ['-4 is even', true], ["'2' is even", false], ['2.5 is even', false]]);
cases('odd', [['3 is odd', true], ['2 is odd', false], ['-3 is odd', true], ['x is odd', false]]);
cases('divisibleby', [['9 is divisibleby 3', true], ['9 is divisibleby(3)', true], ['10 is divisibleby 3', false], ['x is divisibleby 3', false]]);
cases('in', [['1 is in [1, 2]', true], ['3 is in [1, 2]', false], ["'a' is in 'cat'", true], ["'k' is in {'k': 1}", true]]);
cases('eq', [['1 is eq 1', true], ['1 is eq(1.0)', true], ["1 is eq '1'", false], ['[1] is eq [1]', true]]);
cases('equalto', [['2 is equalto 2', true], ['2 is equalto 3', false]]);
cases('==', [["[1, 2, 2] | select('==', 2) | list | length == 2", true]]);
cases('ne', [['1 is ne 2', true], ['1 is ne 1', false]]);
cases('!=', [["[1, 2] | select('!=', 2) | list == [1]", true]]);
cases('lt', [['1 is lt 2', true], ['2 is lt 1', false], ["1 is lt 'a'", false], ['x is lt 1', false]]);
cases('lessthan', [['1 is lessthan 2', true]]);
cases('<', [["[1, 2, 3] | select('<', 2) | list == [1]", true]]);
cases('le', [['2 is le 2', true], ['3 is le 2', false]]);
cases('<=', [["[1, 2, 3] | select('<=', 2) | list == [1, 2]", true]]);
cases('gt', [['3 is gt 2', true], ["'b' is gt 'a'", true], ['none is gt 1', false]]);
cases('greaterthan', [['3 is greaterthan 2', true]]);
cases('>', [["[1, 2, 3] | select('>', 2) | list == [3]", true]]);
cases('ge', [['2 is ge 2', true], ['1 is ge 2', false]]);
cases('>=', [["[1, 2, 3] | select('>=', 2) | list == [2, 3]", true]]);
cases('sameas', [['none is sameas none', true], ['1 is sameas 1', true], ['true is sameas 1', false], ['l is sameas l', true], ['[1] is sameas [1]', false]], V);
cases('lower', [["'abc' is lower", true], ["'aBc' is lower", false], ['1 is lower', false]]);
cases('upper', [["'ABC' is upper", true], ["'AbC' is upper", false]]);
cases('callable', [['l is callable', false], ['range is callable', false]], V);
cases('escaped', [["'a' is escaped", false]]);
cases('filter', [["'upper' is filter", true], ["'nope' is filter", false]]);
cases('test', [["'defined' is test", true], ["'nope' is test", false]]);

describe('test syntax', () => {
  it('negation and combination', () => {
    expect(ev('x is not defined and 1 is number')).toBe(true);
    expect(ev('not x is defined')).toBe(true);
    expect(ev("x is defined or 'fallback'")).toBe('fallback');
    expect(ev("'y' if x is defined else 'n'")).toBe('n');
    expect(ev('l | length is even', V)).toBe(true);
  });
  it('unknown tests are rejected at compile time', () => {
    const e = err(() => compileTemplate('{{ x is nosuchtest }}'));
    expect(e).toBeInstanceOf(TemplateSyntaxError);
    expect(e.code).toBe('E_UNKNOWN_TEST');
  });
  it('bad arity is a syntax error; division by zero in divisibleby is an eval error', () => {
    expect(err(() => compileTemplate('{{ 1 is defined(1) }}'))).toBeInstanceOf(TemplateSyntaxError);
    expect(err(() => ev('4 is divisibleby 0'))).toBeInstanceOf(TemplateEvalError);
  });
});

describe('coverage of the registered tests', () => {
  it('every name in TEST_NAMES is exercised by this file', () => {
    expect(TEST_NAMES.filter((n) => !covered.has(n))).toEqual([]);
  });
  it('every test required by dsl §12.6 is registered', () => {
    const required = [
      'defined', 'undefined', 'none', 'true', 'false', 'boolean', 'string', 'number', 'integer', 'float', 'mapping', 'sequence',
      'iterable', 'even', 'odd', 'divisibleby', 'in', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
    ];
    expect(required.filter((n) => !TEST_NAMES.includes(n))).toEqual([]);
  });
});
