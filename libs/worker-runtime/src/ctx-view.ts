import { isPlainObject, isResultRef } from '@noetl/common';
import type { Hydrator } from '@noetl/scope';

/**
 * The pipeline's `ctx` view (dsl R9.3): the dispatch snapshot plus own writes. Values the
 * scheduler externalized (T7.20: a ResultRef in place of the value) are hydrated transparently on
 * first read (T7.19) through enumerable getters, so a template that never reads them never
 * fetches them. Containers without refs are shared, not copied.
 */
export function hydratingView(value: Record<string, unknown>, hydrate: Hydrator): Record<string, unknown> {
  return containsRef(value) ? (wrap(value, hydrate) as Record<string, unknown>) : value;
}

function containsRef(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (isResultRef(v)) return true;
  if (Array.isArray(v)) return v.some((x) => containsRef(x, depth + 1));
  if (isPlainObject(v)) return Object.values(v).some((x) => containsRef(x, depth + 1));
  return false;
}

function wrap(v: unknown, hydrate: Hydrator): unknown {
  if (Array.isArray(v)) return containsRef(v) ? v.map((x) => wrapValue(x, hydrate)) : v;
  if (!isPlainObject(v) || !containsRef(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (isResultRef(x)) {
      let loaded = false;
      let cached: unknown;
      Object.defineProperty(out, k, {
        enumerable: true,
        configurable: true,
        get() {
          if (!loaded) {
            cached = hydrate(x);
            loaded = true;
          }
          return cached;
        },
      });
    } else {
      out[k] = wrap(x, hydrate);
    }
  }
  return out;
}

function wrapValue(x: unknown, hydrate: Hydrator): unknown {
  // a ref inside a list: hydrate eagerly (lists have no getters worth the trouble)
  if (isResultRef(x)) return hydrate(x);
  return wrap(x, hydrate);
}

/**
 * `setPath` of dsl R9.9 that keeps the lazy getters of untouched siblings (a plain spread would
 * call them and hydrate every referenced value on the first write).
 */
export function setPathLazy(root: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  if (path.length === 0) return root;
  const out = Object.defineProperties({}, Object.getOwnPropertyDescriptors(root)) as Record<string, unknown>;
  const [head, ...rest] = path;
  if (rest.length === 0) {
    Object.defineProperty(out, head, { value, enumerable: true, configurable: true, writable: true });
  } else {
    const child = out[head];
    const next = setPathLazy(isPlainObject(child) ? child : {}, rest, value);
    Object.defineProperty(out, head, { value: next, enumerable: true, configurable: true, writable: true });
  }
  return out;
}
