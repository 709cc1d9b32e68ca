import { digestOf } from '@noetl/common';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { streamingDigest } from './digest';
import { loadPlaybook, withoutLocs } from './load';

const DIR = process.env.NOETL_CONFORMANCE_DIR ?? path.resolve(__dirname, '../../../../shared/conformance/cases');

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

  it('equals digestOf with a __proto__ key (found by the property above: canonicalJson used to drop it)', () => {
    for (const text of ['{"__proto__":null}', '{"b":2,"__proto__":{"a":1}}']) {
      const v: unknown = JSON.parse(text);
      expect(streamingDigest(v)).toBe(digestOf(v));
      expect(digestOf(v)).not.toBe(digestOf({}));
    }
  });

  it('a loaded playbook carries digestOf(withoutLocs(playbook))', () => {
    let n = 0;
    for (const f of readdirSync(DIR).filter((x) => x.endsWith('.yaml') && !x.endsWith('.expect.yaml'))) {
      const r = loadPlaybook(readFileSync(path.join(DIR, f), 'utf8'), { compat: true });
      if (!r.playbook) continue;
      expect(r.playbook.digest).toBe(digestOf(withoutLocs(r.playbook)));
      n++;
    }
    expect(n).toBeGreaterThan(20);
  });
});
