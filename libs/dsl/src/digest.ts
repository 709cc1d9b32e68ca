/**
 * Streaming equivalent of `digestOf` from @noetl/common (sha256 of canonicalJson: keys sorted,
 * no whitespace) that never materializes the whole JSON text or a sorted copy: a playbook of
 * tens of thousands of steps is a large document; digest.spec.ts proves equality.
 */
import { createHash } from 'node:crypto';

const CHUNK = 1 << 16;

/**
 * Keys to leave out along a known spine of the value (the model's `loc` fields, the root's
 * `digest`): the digest of the playbook without copying it first. `keys` / `items` describe the
 * members of an object / the items of a list; anything else is hashed as is.
 */
export interface DigestShape {
  omit?: string;
  keys?: Record<string, DigestShape>;
  items?: DigestShape;
}

export function streamingDigest(value: unknown, shape?: DigestShape): string {
  const hash = createHash('sha256');
  // appended to token by token (measured faster than collecting parts and joining them) and
  // handed to the hash whenever a container is complete and the buffer is large enough
  let buf = '';
  const quoted = new Map<string, string>();
  const keyText = new Map<string, string>();
  const arrays = new WeakMap<unknown[], string>();
  const flush = () => {
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
  /** `"key":` (keys repeat across objects: quoted once) */
  const key = (k: string): string => {
    let q = keyText.get(k);
    if (q === undefined) {
      q = `${JSON.stringify(k)}:`;
      keyText.set(k, q);
    }
    return q;
  };
  const write = (v: unknown, shape?: DigestShape): void => {
    if (v === null) {
      buf += 'null';
      return;
    }
    switch (typeof v) {
      case 'string':
        buf += str(v);
        if (v.length > 64) flush();
        return;
      case 'number':
        // what JSON.stringify writes: Number#toString (-0 -> 0), null for NaN and infinities
        buf += Number.isFinite(v) ? String(v) : 'null';
        return;
      case 'boolean':
        buf += v ? 'true' : 'false';
        return;
      case 'object':
        break;
      default:
        // undefined / functions / symbols at the top level or in arrays serialize as null
        buf += 'null';
        return;
    }
    if (Array.isArray(v)) {
      if (allPrimitive(v)) {
        // no keys to sort: JSON.stringify is already canonical; a long list shared by several
        // places is serialized once
        let text = v.length >= 8 ? arrays.get(v) : undefined;
        if (text === undefined) {
          text = JSON.stringify(v);
          if (v.length >= 8) arrays.set(v, text);
        }
        buf += text;
      } else {
        const items = shape?.items;
        buf += '[';
        for (let i = 0; i < v.length; i++) {
          if (i > 0) buf += ',';
          const x = v[i];
          write(x === undefined || typeof x === 'function' || typeof x === 'symbol' ? null : x, items);
        }
        buf += ']';
      }
      flush();
      return;
    }
    const obj = v as Record<string, unknown>;
    const keys = canonicalKeyOrder(Object.keys(obj));
    const skip = shape?.omit;
    const sub = shape?.keys;
    let first = true;
    buf += '{';
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i];
      const x = obj[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol' || k === skip) continue;
      if (!first) buf += ',';
      first = false;
      buf += key(k);
      write(x, sub !== undefined && Object.prototype.hasOwnProperty.call(sub, k) ? sub[k] : undefined);
    }
    buf += '}';
    flush();
  };
  write(value, shape);
  if (buf.length > 0) hash.update(buf);
  return `sha256:${hash.digest('hex')}`;
}

const INDEX_KEY = /^(?:0|[1-9][0-9]*)$/;

/**
 * The order in which JSON.stringify visits the keys of an object rebuilt with sorted keys (what
 * canonicalJson does): array-index keys first in numeric order, then the rest sorted. `keys` is
 * a fresh array (Object.keys) and may be sorted in place.
 */
function canonicalKeyOrder(keys: string[]): string[] {
  // common case: no key starts with a digit (so none is an index); often already in order
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    const c = keys[i].charCodeAt(0);
    if (c >= 48 && c <= 57) return withIndexKeys(keys);
    if (sorted && i > 0 && keys[i - 1] > keys[i]) sorted = false;
  }
  if (sorted) return keys;
  if (keys.length > 16) return keys.sort();
  // insertion sort: objects have few keys, and this beats Array#sort's generic comparison
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i];
    let j = i - 1;
    while (j >= 0 && keys[j] > k) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
}

function withIndexKeys(keys: string[]): string[] {
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
