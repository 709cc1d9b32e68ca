import {
  ToolConfigError, configFailure, describeType, optBool, optMapping, optNumber, optString, optStringList, optStringMap, readConfig,
} from './config';
import { KeyedCache } from './keyed-cache';
import { effectiveTimeoutMs } from './timeout';
import { makeTestContext } from './testing';

const thrown = (fn: () => unknown): ToolConfigError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof ToolConfigError) return e;
    throw e;
  }
  throw new Error('nothing thrown');
};

describe('config readers (K1.2, K1.3)', () => {
  it('strings: rendered numbers and booleans are converted (dsl §12.7), containers are config errors', () => {
    expect(optString({ a: 1.5, b: true, c: 'x', d: null }, 'a')).toBe('1.5');
    expect(optString({ b: false }, 'b')).toBe('false');
    expect(optString({ d: null }, 'd')).toBeUndefined();
    const e = thrown(() => optString({ a: { x: 1 } }, 'a'));
    expect([e.field, e.message]).toEqual(['a', "field 'a' must be a string, got a mapping"]);
    expect(thrown(() => optStringList({ l: ['a', 2, [3]] }, 'l')).message).toBe("field 'l' item 2 must be a string, got a list");
    expect(optStringList({ l: ['a', 2, true] }, 'l')).toEqual(['a', '2', 'true']);
  });

  it('string maps convert values, drop nulls; mappings and string maps name what they expect', () => {
    expect(optStringMap({ m: { a: 1, b: null, c: [1, { d: 'e' }], f: true } }, 'm')).toEqual({ a: '1', c: '[1,{"d":"e"}]', f: 'true' });
    expect(thrown(() => optStringMap({ m: [1] }, 'm')).message).toBe("field 'm' must be a mapping of strings, got a list");
    expect(thrown(() => optMapping({ m: 'x' }, 'm')).message).toBe("field 'm' must be a mapping, got a string");
  });

  it('booleans and numbers accept their string forms', () => {
    expect(optBool({ b: 'false' }, 'b', true)).toBe(false);
    expect(optBool({}, 'b', true)).toBe(true);
    expect(thrown(() => optBool({ b: 'yes' }, 'b', true)).field).toBe('b');
    expect(optNumber({ n: ' 42 ' }, 'n')).toBe(42);
    expect(thrown(() => optNumber({ n: '' }, 'n')).message).toBe("field 'n' must be a number, got a string");
    expect([null, [], {}, new Date(0), 1].map(describeType)).toEqual(['null', 'a list', 'a mapping', 'an object', 'a number']);
  });

  it('readConfig turns config and timeout errors into a redacted config outcome naming the field; rethrows others', () => {
    const ctx = makeTestContext();
    ctx.registerSecret('hunter2');
    const out = readConfig(ctx, 'http', () => optString({ url: ['hunter2'] }, 'url'));
    expect(out).toEqual({
      outcome: { status: 'error', error: { kind: 'config', code: 'CONFIG', retryable: false, source: 'http', message: "http: field 'url' must be a string, got a list", details: { field: 'url' } } },
    });
    const timeout = readConfig(ctx, 'shell', () => effectiveTimeoutMs({ timeout: 'soon' }, { spec: {} }, 300));
    expect('outcome' in timeout && timeout.outcome.error).toMatchObject({ kind: 'config', details: { field: 'timeout' } });
    expect(readConfig(ctx, 'x', () => 7)).toEqual({ ok: 7 });
    expect(() => configFailure(ctx, 'x', new Error('boom'))).toThrow('boom');
    expect(configFailure(ctx, 'x', new ToolConfigError('f', 'bad hunter2')).error?.message).toBe('x: bad ***');
  });
});

describe('KeyedCache', () => {
  it('creates once per key, forgets only the value it holds, and disposes everything on closeAll', async () => {
    const disposed: string[] = [];
    const cache = new KeyedCache<string>((v) => void disposed.push(v));
    let n = 0;
    const make = () => `v${++n}`;
    expect(cache.get('a', make)).toBe('v1');
    expect(cache.get('a', make)).toBe('v1');
    expect(cache.get('b', make)).toBe('v2');
    cache.forget('a', 'stale');
    expect(cache.get('a', make)).toBe('v1');
    cache.forget('a', 'v1');
    expect(cache.get('a', make)).toBe('v3');
    await cache.closeAll();
    expect(disposed.sort()).toEqual(['v2', 'v3']);
    expect(cache.get('a', make)).toBe('v4');
  });
});
