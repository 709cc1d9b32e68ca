import { deepMerge, canonicalJson, setPath, getPath, digestOf, makeError, newUlid, setOwn } from '@noetl/common';

describe('deepMerge (dsl R5.2)', () => {
  it('merges mappings recursively, b wins', () => {
    expect(deepMerge({ a: 1, n: { x: 1, y: 2 } }, { n: { y: 3 }, b: 2 })).toEqual({ a: 1, b: 2, n: { x: 1, y: 3 } });
  });
  it('replaces lists and scalars and type mismatches', () => {
    expect(deepMerge({ l: [1, 2] }, { l: [3] })).toEqual({ l: [3] });
    expect(deepMerge({ a: { x: 1 } }, { a: 5 })).toEqual({ a: 5 });
  });
  it('explicit null sets null rather than deleting', () => {
    expect(deepMerge({ a: { x: 1 } }, { a: null })).toEqual({ a: null });
  });
  it('does not mutate its inputs', () => {
    const a = { n: { x: 1 } };
    deepMerge(a, { n: { x: 2 } });
    expect(a.n.x).toBe(1);
  });
});

describe('paths', () => {
  it('setPath creates nested mappings and replaces non-mappings (R9.9)', () => {
    expect(setPath({ a: 1 }, ['a', 'b'], 2)).toEqual({ a: { b: 2 } });
    expect(setPath({}, ['s', 'rows'], 3)).toEqual({ s: { rows: 3 } });
  });
  it('getPath reads own keys only', () => {
    expect(getPath({ a: [{ b: 1 }] }, ['a', '0', 'b'])).toBe(1);
    expect(getPath({}, ['constructor'])).toBeUndefined();
  });
});

describe('canonical json and digests', () => {
  it('is independent of key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    expect(digestOf({ a: 1, b: 2 })).toBe(digestOf({ b: 2, a: 1 }));
  });
});

describe('makeError', () => {
  it('fills retryable from the kind table and truncates long messages', () => {
    expect(makeError('server_error', 'HTTP_503', 'x').retryable).toBe(true);
    const e = makeError('internal', 'X', 'y'.repeat(10000));
    expect(e.truncated).toBe(true);
    expect(e.message.length).toBe(8192);
  });
});

describe('newUlid', () => {
  it('is 26 Crockford characters and sorts by time', () => {
    const a = newUlid(1000);
    const b = newUlid(2000);
    expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(a < b).toBe(true);
  });
});

describe('setOwn', () => {
  it('canonicalJson keeps a __proto__ key (it used to set the prototype and vanish)', () => {
    expect(canonicalJson(JSON.parse('{"b":2,"__proto__":{"a":1}}'))).toBe('{"__proto__":{"a":1},"b":2}');
  });

  it('stores a __proto__ key as an own property, without touching the prototype', () => {
    const o: Record<string, unknown> = {};
    setOwn(o, '__proto__', { polluted: true });
    setOwn(o, 'a', 1);
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect(Object.keys(o)).toEqual(['__proto__', 'a']);
    expect(JSON.stringify(o)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
