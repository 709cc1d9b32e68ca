import { digestOf } from '@noetl/common';
import fc from 'fast-check';
import { streamingDigest } from './digest';

describe('streamingDigest', () => {
  it('equals digestOf (sha256 of canonicalJson) for arbitrary JSON values', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => streamingDigest(v) === digestOf(v)), { numRuns: 500 });
  });

  it('equals digestOf for objects with index-like keys, undefined members and long strings', () => {
    const v = { b: 1, 10: 'x', 2: [undefined, () => 1, 'y'.repeat(70_000)], a: { z: undefined, '01': 1, '1': 2 }, '-1': null, 4294967295: 0, 4294967294: 1 };
    expect(streamingDigest(v)).toBe(digestOf(v));
    expect(streamingDigest(undefined)).toBe(digestOf(undefined));
    expect(streamingDigest(-0)).toBe(digestOf(-0));
  });
});
