// The persistent map behind the engine's step records: a model-based property test against a
// Map, under copy-on-write sessions and outside them, with every older version frozen (an update
// that wrote into a shared node would throw).
import fc from 'fast-check';
import { cowSession } from './cow';
import { pmapEmpty, pmapEntries, pmapGet, pmapHas, pmapKeys, pmapSet, type PMap } from './pmap';

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

function check(m: PMap<number>, model: Map<string, number>): void {
  expect(m.n).toBe(model.size);
  for (const [k, v] of model) {
    expect(pmapHas(m, k)).toBe(true);
    expect(pmapGet(m, k)).toBe(v);
  }
  expect(pmapKeys(m).sort()).toEqual([...model.keys()].sort());
  expect(new Map(pmapEntries(m))).toEqual(model);
}

const keyArb = fc.oneof(fc.constantFrom('a', 'b', 'step_1', 'constructor', '__proto__', 'toString', '0', ''), fc.string({ maxLength: 6 }), fc.nat(5000).map((i) => `step_${i}`));

describe('pmap', () => {
  it('agrees with a Map over random inserts and overwrites, old versions untouched', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(keyArb, fc.integer(), fc.nat(7)), { maxLength: 600 }), (ops) => {
        let m = pmapEmpty<number>();
        const model = new Map<string, number>();
        const versions: Array<[PMap<number>, Map<string, number>]> = [];
        // group ops into sessions of 1..8 updates (as processEvent folds several events per input)
        let i = 0;
        while (i < ops.length) {
          const size = (ops[i][2] % 8) + 1;
          const batch = ops.slice(i, i + size);
          i += size;
          deepFreeze(m);
          versions.push([m, new Map(model)]);
          m = cowSession(() => {
            let x = m;
            for (const [k, v] of batch) {
              x = pmapSet(x, k, v);
              model.set(k, v);
            }
            return x;
          });
        }
        check(m, model);
        for (const [old, oldModel] of versions) check(old, oldModel);
      }),
      { numRuns: 200 },
    );
  });

  it('stays shallow for many keys: lookups and updates touch O(log n) nodes', () => {
    let m = pmapEmpty<number>();
    for (let i = 0; i < 20000; i++) m = pmapSet(m, `step_${i}`, i);
    expect(m.n).toBe(20000);
    const depth = (node: unknown, d: number): number =>
      Array.isArray(node) ? Math.max(d, ...node.map((s) => depth(s, d + 1))) : d;
    // 20,000 keys in leaves of <= 16: 32^3 = 32,768 leaf slots are enough with room for skew
    expect(depth(m.b, 0)).toBeLessThanOrEqual(5);
    const leaves: number[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node) leaves.push(Object.keys(node).length);
    };
    walk(m.b);
    expect(Math.max(...leaves)).toBeLessThanOrEqual(16);
    expect(leaves.reduce((a, b) => a + b, 0)).toBe(20000);
    expect(pmapGet(m, 'step_12345')).toBe(12345);
  });

  it('is plain JSON: a round trip through JSON keeps every entry', () => {
    let m = pmapEmpty<{ v: number }>();
    for (let i = 0; i < 500; i++) m = pmapSet(m, `k${i}`, { v: i });
    const back = JSON.parse(JSON.stringify(m)) as PMap<{ v: number }>;
    expect(pmapEntries(back)).toEqual(pmapEntries(m));
    expect(pmapGet(back, 'k499')).toEqual({ v: 499 });
  });
});
