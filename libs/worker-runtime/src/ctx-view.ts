import { isPlainObject, isResultRef, setOwn, type ResultRef } from '@noetl/common';
import type { StepView } from '@noetl/events';
import { isLoopAggregate, loopItemsView, type Hydrator } from '@noetl/scope';

/**
 * The pipeline's `ctx` view (dsl R9.3): the dispatch snapshot plus own writes. Values the
 * scheduler externalized (T7.20, or T4.3 for a command over `max_event_bytes`: a ResultRef in
 * place of the value) are hydrated transparently on first read (T7.19) through enumerable
 * getters, so a template that never reads them never fetches them. A hydrated value is viewed
 * the same way (refs nested in it hydrate on read, as they would had it travelled inline).
 * Containers without refs are shared, not copied.
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

/**
 * A shared frozen empty mapping for run state that is replaced, never mutated (empty step input,
 * `iter` outside loops, step locals; `set` writes through setPathLazy, which copies it).
 */
export const NO_VALUES = Object.freeze({}) as Record<string, unknown>;

/**
 * Mappings that may hold lazy getters: made by `wrap`, or copied from one by `setPathLazy`. Any
 * other mapping of a pipeline scope is plain data (dispatch snapshots, rendered and materialized
 * values) and is copied with a plain spread.
 */
const LAZY = new WeakSet<object>();

function wrap(v: unknown, hydrate: Hydrator): unknown {
  if (Array.isArray(v)) return containsRef(v) ? v.map((x) => wrapValue(x, hydrate)) : v;
  if (!isPlainObject(v) || !containsRef(v)) return v;
  const out: Record<string, unknown> = {};
  LAZY.add(out);
  for (const [k, x] of Object.entries(v)) {
    if (isResultRef(x)) {
      defineLazy(out, k, () => wrap(hydrate(x), hydrate));
    } else {
      setOwn(out, k, wrap(x, hydrate));
    }
  }
  return out;
}

/** An enumerable property of `o` whose value is `load()`, computed on first read and kept. */
function defineLazy(o: Record<string, unknown>, k: string, load: () => unknown): void {
  let loaded = false;
  let cached: unknown;
  Object.defineProperty(o, k, {
    enumerable: true,
    configurable: true,
    get() {
      if (!loaded) {
        cached = load();
        loaded = true;
      }
      return cached;
    },
  });
}

/**
 * `context.workload` as templates read it: a top-level value the scheduler carried by reference
 * (T4.3) hydrates on first read (T7.19); every other value is the inline one, as before (the
 * workload is not scanned deeply: only top-level values are ever externalized). O(keys) when no
 * value is a ref, and the workload itself is returned.
 */
export function workloadView(value: Record<string, unknown>, hydrate: Hydrator): Record<string, unknown> {
  let refs = false;
  for (const k in value) {
    if (isResultRef(value[k])) {
      refs = true;
      break;
    }
  }
  if (!refs) return value;
  const out: Record<string, unknown> = {};
  LAZY.add(out);
  for (const [k, x] of Object.entries(value)) {
    if (!isResultRef(x)) {
      setOwn(out, k, x);
      continue;
    }
    defineLazy(out, k, () => hydrate(x));
  }
  return out;
}

/**
 * The hydrator of `context.steps` (StepResults): a step view carried by reference — a large
 * result the worker stored (T7.7), or a view the scheduler externalized because the command was
 * over `max_event_bytes` (T4.3) — reads like the inline view would. In particular a loop
 * aggregate (`{results, data, stats, errors}`) read by reference gets the loop-items view of
 * R10.14 (iteration results stored by reference hydrate on access, the http body fallback of
 * `http_items`), as `resultView` gives an inline one — also in its compact form, whose `results`
 * are a manifest (dsl §10.7, `loopManifestOf`). Returns `hydrate` itself when no view is by
 * reference. (A compact aggregate carried inline needs nothing here: `resultView` reads it.)
 */
export function stepsHydrator(steps: Record<string, StepView>, hydrate: Hydrator): Hydrator {
  let byRef: Map<ResultRef, boolean> | undefined;
  for (const name in steps) {
    const v = steps[name];
    if (v?.ref) (byRef ??= new Map()).set(v.ref, v.http_items === true);
  }
  if (!byRef) return hydrate;
  const refs = byRef;
  return (ref) => {
    const value = hydrate(ref);
    const http = refs.get(ref);
    return http === undefined || !isLoopAggregate(value) ? value : loopItemsView(value, hydrate, http);
  };
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
  return path.length === 0 ? root : setFrom(root, path, 0, value);
}

function setFrom(root: Record<string, unknown>, path: readonly string[], i: number, value: unknown): Record<string, unknown> {
  const head = path[i];
  if ((!LAZY.has(root) && Object.isExtensible(root)) || root === NO_VALUES) {
    // plain data (no getters to keep): a spread copies the same own enumerable data properties as
    // the descriptor copy below, several times faster
    const out: Record<string, unknown> = { ...root };
    let v = value;
    if (i + 1 < path.length) {
      const child = out[head];
      v = setFrom(isPlainObject(child) ? child : {}, path, i + 1, value);
    }
    setOwn(out, head, v);
    return out;
  }
  const out = Object.defineProperties({}, Object.getOwnPropertyDescriptors(root)) as Record<string, unknown>;
  LAZY.add(out);
  if (i + 1 === path.length) {
    Object.defineProperty(out, head, { value, enumerable: true, configurable: true, writable: true });
  } else {
    const child = out[head];
    const next = setFrom(isPlainObject(child) ? child : {}, path, i + 1, value);
    Object.defineProperty(out, head, { value: next, enumerable: true, configurable: true, writable: true });
  }
  return out;
}
