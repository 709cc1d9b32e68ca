/**
 * Streaming equivalent of `digestOf` from @noetl/common (sha256 of canonicalJson: keys sorted,
 * no whitespace) that never materializes the whole JSON text or a sorted copy. Large playbooks
 * carry O(steps^2) graph data (Reach lists), so this matters; digest.spec.ts proves equality.
 */
import { createHash } from 'node:crypto';

const CHUNK = 1 << 16;

export function streamingDigest(value: unknown): string {
  const hash = createHash('sha256');
  let buf = '';
  const quoted = new Map<string, string>();
  const arrays = new WeakMap<unknown[], string>();
  const emit = (s: string) => {
    buf += s;
    if (buf.length >= CHUNK) {
      hash.update(buf);
      buf = '';
    }
  };
  const str = (s: string): string => {
    if (s.length > 64) return JSON.stringify(s);
    let q = quoted.get(s);
    if (q === undefined) {
      q = JSON.stringify(s);
      quoted.set(s, q);
    }
    return q;
  };
  const write = (v: unknown): void => {
    if (v === null) return emit('null');
    switch (typeof v) {
      case 'string':
        return emit(str(v));
      case 'number':
      case 'boolean':
        return emit(JSON.stringify(v));
      case 'object':
        break;
      default:
        // undefined / functions / symbols at the top level or in arrays serialize as null
        return emit('null');
    }
    if (Array.isArray(v)) {
      if (allPrimitive(v)) {
        // no keys to sort: JSON.stringify is already canonical; shared lists are serialized once
        let text = arrays.get(v);
        if (text === undefined) {
          text = JSON.stringify(v);
          arrays.set(v, text);
        }
        return emit(text);
      }
      emit('[');
      for (let i = 0; i < v.length; i++) {
        if (i > 0) emit(',');
        const x = v[i];
        write(x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : x);
      }
      return emit(']');
    }
    const obj = v as Record<string, unknown>;
    const keys = canonicalKeyOrder(Object.keys(obj));
    emit('{');
    let first = true;
    for (const k of keys) {
      const x = obj[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      if (!first) emit(',');
      first = false;
      emit(str(k));
      emit(':');
      write(x);
    }
    emit('}');
  };
  write(value);
  if (buf.length > 0) hash.update(buf);
  return `sha256:${hash.digest('hex')}`;
}

const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;

/**
 * The order in which JSON.stringify visits the keys of an object rebuilt with sorted keys (what
 * canonicalJson does): array-index keys first in numeric order, then the rest sorted.
 */
function canonicalKeyOrder(keys: string[]): string[] {
  const index: string[] = [];
  const named: string[] = [];
  for (const k of keys) {
    if (INDEX_KEY.test(k) && Number(k) < 4294967295) index.push(k);
    else named.push(k);
  }
  named.sort();
  if (index.length === 0) return named;
  index.sort((a, b) => Number(a) - Number(b));
  return [...index, ...named];
}

function allPrimitive(a: unknown[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (x !== null && typeof x === 'object') return false;
  }
  return true;
}
