/**
 * A persistent string-keyed map that is plain JSON: keys are spread over a fixed number of
 * buckets, so an immutable update copies one bucket and the bucket index (O(√n)-ish for the sizes
 * that occur) instead of the whole map (a 1,000-step chain would otherwise copy O(n) per step).
 * Iteration order: bucket order, then insertion order — callers that present entries sort them.
 */
export interface PMap<T> {
  /** number of keys */
  n: number;
  /** bucket index -> bucket */
  b: Record<string, Record<string, T>>;
}

const BUCKETS = 64;
const hasOwn = Object.prototype.hasOwnProperty;

function bucketOf(key: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return `b${(h >>> 0) % BUCKETS}`;
}

export function pmapEmpty<T>(): PMap<T> {
  return { n: 0, b: {} };
}

export function pmapGet<T>(m: PMap<T>, key: string): T | undefined {
  const bucket = m.b[bucketOf(key)];
  return bucket !== undefined && hasOwn.call(bucket, key) ? bucket[key] : undefined;
}

export function pmapHas<T>(m: PMap<T>, key: string): boolean {
  const bucket = m.b[bucketOf(key)];
  return bucket !== undefined && hasOwn.call(bucket, key);
}

export function pmapSet<T>(m: PMap<T>, key: string, value: T): PMap<T> {
  const bk = bucketOf(key);
  const bucket = m.b[bk];
  const had = bucket !== undefined && hasOwn.call(bucket, key);
  return { n: had ? m.n : m.n + 1, b: { ...m.b, [bk]: { ...(bucket ?? {}), [key]: value } } };
}

export function pmapEntries<T>(m: PMap<T>): Array<[string, T]> {
  const out: Array<[string, T]> = [];
  for (const bk of Object.keys(m.b)) for (const [k, v] of Object.entries(m.b[bk])) out.push([k, v]);
  return out;
}

export function pmapKeys<T>(m: PMap<T>): string[] {
  const out: string[] = [];
  for (const bk of Object.keys(m.b)) for (const k of Object.keys(m.b[bk])) out.push(k);
  return out;
}
