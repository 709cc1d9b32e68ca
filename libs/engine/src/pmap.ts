/**
 * A persistent string-keyed map that is plain JSON: keys are spread over a fixed number of
 * buckets, so an update copies one bucket and the bucket index (O(√n)-ish for the sizes that
 * occur) instead of the whole map (a 1,000-step chain would otherwise copy O(n) per step). The
 * index is an array (copying it is a memcpy; empty buckets are null, which JSON keeps).
 * Iteration order: bucket order, then insertion order — callers that present entries sort them.
 */
import { adopt, ownWith } from './cow';

export interface PMap<T> {
  /** number of keys */
  n: number;
  /** bucket index -> bucket (null: empty) */
  b: Array<Record<string, T> | null>;
}

const BUCKETS = 64;
const hasOwn = Object.prototype.hasOwnProperty;

function bucketOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}

// one copy function per kind of object (see ownWith)
const copyMap = (x: PMap<unknown>): PMap<unknown> => ({ n: x.n, b: x.b });
const copyIndex = (x: PMap<unknown>['b']): PMap<unknown>['b'] => x.slice();
const copyBucket = (x: Record<string, unknown>): Record<string, unknown> => ({ ...x });

export function pmapEmpty<T>(): PMap<T> {
  return { n: 0, b: new Array<Record<string, T> | null>(BUCKETS).fill(null) };
}

export function pmapGet<T>(m: PMap<T>, key: string): T | undefined {
  const bucket = m.b[bucketOf(key)];
  return bucket != null && hasOwn.call(bucket, key) ? bucket[key] : undefined;
}

export function pmapHas<T>(m: PMap<T>, key: string): boolean {
  const bucket = m.b[bucketOf(key)];
  return bucket != null && hasOwn.call(bucket, key);
}

/** Copy-on-write update (see cow.ts): one bucket and the index are copied at most once per session. */
export function pmapSet<T>(m: PMap<T>, key: string, value: T): PMap<T> {
  const bk = bucketOf(key);
  const old = m.b[bk];
  const had = old != null && hasOwn.call(old, key);
  const out = ownWith(m, copyMap as (x: PMap<T>) => PMap<T>);
  const index = (out.b = ownWith(out.b, copyIndex as (x: PMap<T>['b']) => PMap<T>['b']));
  const bucket = (index[bk] = old == null ? adopt({} as Record<string, T>) : ownWith(old, copyBucket as (x: Record<string, T>) => Record<string, T>));
  bucket[key] = value;
  if (!had) out.n = m.n + 1;
  return out;
}

export function pmapEntries<T>(m: PMap<T>): Array<[string, T]> {
  const out: Array<[string, T]> = [];
  for (const bucket of m.b) if (bucket) for (const k of Object.keys(bucket)) out.push([k, bucket[k]]);
  return out;
}

export function pmapKeys<T>(m: PMap<T>): string[] {
  const out: string[] = [];
  for (const bucket of m.b) if (bucket) for (const k of Object.keys(bucket)) out.push(k);
  return out;
}
