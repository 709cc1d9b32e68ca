import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPayload, parseJsonExact } from './payload';

const dir = mkdtempSync(join(tmpdir(), 'noetl-payload-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('--set / --payload numbers that a JS number cannot hold exactly stay strings', () => {
  it('--set: an integer beyond MAX_SAFE_INTEGER and an out-of-range number keep their text', () => {
    expect(buildPayload(undefined, ['s=12345678901234567890', 'n=1e400', 'm=-1e400', 'neg=-9007199254740993'], dir)).toEqual({
      s: '12345678901234567890', n: '1e400', m: '-1e400', neg: '-9007199254740993',
    });
  });

  it('--set: representable numbers are still numbers', () => {
    expect(buildPayload(undefined, ['a=5', 'b=-1.25', 'c=9007199254740991', 'd=-9007199254740991', 'e=1e20', 'f=0', 'g=2.5e-3'], dir)).toEqual({
      a: 5, b: -1.25, c: 9007199254740991, d: -9007199254740991, e: 1e20, f: 0, g: 0.0025,
    });
  });

  it('inside arrays and objects only the inexact numbers become strings; strings are left alone', () => {
    expect(buildPayload(undefined, ['ids=[1, 12345678901234567890, 1e400]', 'o={"id": 99999999999999999999, "t": "x 1e400 \\" 99999999999999999999", "k": 3}'], dir)).toEqual({
      ids: [1, '12345678901234567890', '1e400'],
      o: { id: '99999999999999999999', t: 'x 1e400 " 99999999999999999999', k: 3 },
    });
    expect(parseJsonExact('"12345678901234567890"')).toBe('12345678901234567890');
  });

  it('invalid JSON is still a plain string for --set and a usage error for --payload', () => {
    expect(buildPayload(undefined, ['x={oops 99999999999999999999'], dir)).toEqual({ x: '{oops 99999999999999999999' });
    expect(() => buildPayload('{"a": 99999999999999999999', [], dir)).toThrow(/not valid JSON/);
  });

  it('--payload JSON and @FILE (YAML) alike', () => {
    expect(buildPayload('{"id": 12345678901234567890, "n": 7}', [], dir)).toEqual({ id: '12345678901234567890', n: 7 });
    const f = join(dir, 'p.yaml');
    writeFileSync(f, 'id: 12345678901234567890\nn: 7\nlist: [1, -9007199254740993]\nf: 1.5\nnested: { big: 18446744073709551615 }\n');
    expect(buildPayload(`@${f}`, [], dir)).toEqual({ id: '12345678901234567890', n: 7, list: [1, '-9007199254740993'], f: 1.5, nested: { big: '18446744073709551615' } });
  });
});
