import { defineFallback } from '@noetl/template';
import { isManifest, isPlainObject, isResultRef, NoetlError, type ErrorObject, type Manifest, type ResultRef } from '@noetl/common';

/** Own keys of an http result (tools.md §2.3); any other key read falls back to the body (K2.16). */
export const HTTP_RESULT_KEYS = ['status_code', 'headers', 'data', 'body', 'url', 'elapsed_ms'] as const;

/** Reads a payload stored by reference. Synchronous: shells pre-fetch or read locally. Throws on failure. */
export type Hydrator = (ref: ResultRef) => unknown;

/** Hydration refused because the payload exceeds `hydrate_max_bytes` (dsl R13.9): kind reference_too_large. */
export class HydrationLimitError extends NoetlError {
  readonly kind = 'reference_too_large' as const;
  constructor(ref: ResultRef, max: number, side: string) {
    super('REFERENCE_TOO_LARGE', `result ${ref.uri} is ${ref.raw_size} bytes, over the ${side} hydrate limit ${max} (hydrate_max_bytes)`);
  }
}

/**
 * `hydrate` bounded by `hydrate_max_bytes` (dsl R13.9, runtime.md §8.10: scheduler default 8 MiB,
 * worker 64 MiB, playbook override): an oversized payload fails without being fetched. Shared by
 * the scheduler (engine) and the worker (worker-runtime).
 */
export function boundedHydrator(hydrate: Hydrator, limit: () => number, side: 'scheduler' | 'worker'): Hydrator {
  return (ref) => {
    const max = limit();
    if (typeof ref.raw_size === 'number' && ref.raw_size > max) throw new HydrationLimitError(ref, max, side);
    return hydrate(ref);
  };
}

/**
 * Http result view (tools.md K2.16): a read rule only. The returned object IS the value (same own
 * keys, serializes identically); reading a key it lacks returns the body's key when the body is a
 * mapping. Copies (tojson, set, args, input) are plain.
 */
export function httpView(resp: unknown): unknown {
  if (!isPlainObject(resp)) return resp;
  const body = resp.data !== undefined ? resp.data : resp.body;
  if (!isPlainObject(body)) return resp;
  const view = { ...resp };
  return defineFallback(view, (key) => (Object.prototype.hasOwnProperty.call(body, key) ? body[key] : undefined));
}

/**
 * Data view of a result R (dsl R13.4): R plus a synthetic `data` key equal to R when R is a
 * mapping without its own `data` key. With `http: true`, R is an http result and gets the body
 * fallback instead (it has its own `data`).
 */
export function dataView(R: unknown, opts: { http?: boolean } = {}): unknown {
  if (opts.http) return httpView(R);
  if (!isPlainObject(R) || Object.prototype.hasOwnProperty.call(R, 'data')) return R;
  const view = { ...R };
  return defineFallback(view, (key) => (key === 'data' ? R : undefined));
}

/**
 * View of a result stored by reference (dsl §13.7, R13.9): `_ref`, `_store`, `_preview` and the
 * extracted fields are read without fetching; any other key hydrates the payload once.
 */
export function refView(ref: ResultRef, hydrate: Hydrator, opts: { http?: boolean; extracted?: Record<string, unknown> } = {}): unknown {
  // A stored list or scalar has no keys (`_ref` etc. are unreachable on it in templates), and a
  // mapping-shaped view would make `x[0]` undefined and `x | length` count the view's keys. A list
  // is a lazy list (fetched on first element/length read); a scalar is materialized at once.
  if (ref.schema?.type === 'array') return lazyList(ref, hydrate);
  if (ref.schema?.type === 'scalar') return hydrate(ref);
  const own: Record<string, unknown> = { ...(opts.extracted ?? ref.extracted ?? {}), _ref: ref, _store: ref.store, _preview: ref.preview ?? null };
  let loaded = false;
  let raw: unknown;
  return defineFallback(own, (key) => {
    if (!loaded) {
      raw = hydrate(ref);
      loaded = true;
    }
    return readWithViewRules(raw, key, opts.http === true);
  });
}

/**
 * An array that fetches its stored payload on first use (any element, `length`, iteration,
 * serialization). `Array.isArray` is true for it, so templates index, loop and filter it as a list.
 */
function lazyList(ref: ResultRef, hydrate: Hydrator): unknown[] {
  return lazyArray(() => {
    const v = hydrate(ref);
    return Array.isArray(v) ? v : [v];
  });
}

/** A read-only array whose elements come from `load`, called once, on first use. */
function lazyArray(load0: () => unknown[]): unknown[] {
  let loaded: unknown[] | undefined;
  const load = (): unknown[] => (loaded ??= load0());
  return new Proxy<unknown[]>([], {
    get: (_t, key) => Reflect.get(load(), key),
    has: (_t, key) => Reflect.has(load(), key),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_t, key) => {
      const d = Reflect.getOwnPropertyDescriptor(load(), key);
      return d && key !== 'length' ? { ...d, configurable: true } : d;
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}

/** One key of R read through the data-view rules (R13.4) or the http body fallback (K2.16). */
function readWithViewRules(R: unknown, key: string, http: boolean): unknown {
  if (!isPlainObject(R)) return undefined;
  if (Object.prototype.hasOwnProperty.call(R, key)) return R[key];
  if (http) {
    const body = R.data !== undefined ? R.data : R.body;
    return isPlainObject(body) && Object.prototype.hasOwnProperty.call(body, key) ? body[key] : undefined;
  }
  return key === 'data' ? R : undefined;
}

/**
 * The compact form of a large loop aggregate (dsl §10.7, runtime.md §7.5; see docs/results.md
 * "Loop aggregates as manifests"): `results` and `data` are one `append` Manifest of the
 * iteration results — inline, or a ResultRef to the stored manifest (T7.13) — while `stats` stays
 * inline and `errors` is inline or (many failures) the ResultRef of the stored list. Returns the
 * manifest (or its ref), else undefined.
 */
export function loopManifestOf(agg: unknown): Manifest | ResultRef | undefined {
  if (!isPlainObject(agg) || !isPlainObject(agg.stats) || !(Array.isArray(agg.errors) || isResultRef(agg.errors))) return undefined;
  const m = agg.results;
  const d = agg.data;
  if (isManifest(m)) return isManifest(d) && d.uri === m.uri ? m : undefined;
  if (isResultRef(m)) return isResultRef(d) && d.uri === m.uri ? m : undefined;
  return undefined;
}

/** The shape of a loop step's result (R10.14): `{results, data, stats, errors}`, inline or compact (manifest). */
export function isLoopAggregate(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  if (Array.isArray(v.results)) return Array.isArray(v.data) && isPlainObject(v.stats) && Array.isArray(v.errors);
  return loopManifestOf(v) !== undefined;
}

/**
 * The list an `append` manifest stands for (runtime.md §7.5), without fetching its parts: the
 * parts in index order, a part stored by reference as its ResultRef (read lazily, like an
 * iteration result stored by reference in an inline aggregate), a part without data as `null`.
 * A manifest of another strategy is not a loop `results` list: reference_not_available.
 */
export function manifestItems(m: Manifest): unknown[] {
  if (m.strategy !== 'append') {
    throw new NoetlError('REFERENCE_NOT_AVAILABLE', `manifest ${m.uri}: strategy '${String(m.strategy)}' cannot be read as a list here (loop manifests are 'append')`);
  }
  const parts = m.parts;
  let sorted = true;
  for (let i = 1; i < parts.length && sorted; i++) if (parts[i - 1].index > parts[i].index) sorted = false;
  const ordered = sorted ? parts : [...parts].sort((a, b) => a.index - b.index);
  const out = new Array<unknown>(ordered.length);
  for (let i = 0; i < ordered.length; i++) {
    const p = ordered[i];
    out[i] = p.ref !== undefined && p.ref !== null ? p.ref : p.inline === undefined ? null : p.inline;
  }
  return out;
}

/** The manifest behind `m`: itself, or the stored manifest its ResultRef points to (fetched through `hydrate`). */
function manifestOf(m: Manifest | ResultRef, hydrate: Hydrator): Manifest {
  if (isManifest(m)) return m;
  const v = hydrate(m);
  if (!isManifest(v)) throw new NoetlError('REFERENCE_NOT_AVAILABLE', `result ${m.uri} is not a manifest`);
  return v;
}

/** One element of a loop `results` list as templates read it (see loopItemsView). */
function loopItem(r: unknown, hydrate: Hydrator, http: boolean): unknown {
  if (isResultRef(r)) return refView(r, hydrate, { http });
  return http ? httpView(r) : r;
}

/**
 * Loop aggregate (dsl R10.14) as templates read it: iteration results stored by reference (T7.7)
 * read through lazy ref views (T7.19: loop items hydrate on access), and with `http` (iterations
 * are single http tasks) each element reads with the body fallback (tools K2.16). `results` and
 * `data` stay the same list; other values are returned as is.
 *
 * A compact aggregate (`results`/`data` = a Manifest or its ResultRef, see `loopManifestOf`)
 * reads as the inline one would (T7.14, dsl §10.7 "hydrated on access"): `results` and `data`
 * are one lazy list that fetches the manifest on first use (bounded by `hydrate`), its parts
 * stored by reference again read lazily; `stats` is inline and never fetches, nor does `errors`
 * unless it was stored (then it is a lazy list too, fetched on first use).
 */
export function loopItemsView(agg: unknown, hydrate: Hydrator, http: boolean): unknown {
  if (!isPlainObject(agg)) return agg;
  if (!Array.isArray(agg.results)) {
    const m = loopManifestOf(agg);
    if (m === undefined) return agg;
    const list = lazyArray(() => {
      const items = manifestItems(manifestOf(m, hydrate));
      for (let i = 0; i < items.length; i++) items[i] = loopItem(items[i], hydrate, http);
      return items;
    });
    const errors = agg.errors;
    return { ...agg, results: list, data: list, errors: isResultRef(errors) ? lazyList(errors, hydrate) : errors };
  }
  let changed = false;
  const list = agg.results.map((r) => {
    if (isResultRef(r)) {
      changed = true;
      return refView(r, hydrate, { http });
    }
    if (!http) return r;
    changed = true;
    return httpView(r);
  });
  return changed ? { ...agg, results: list, data: list } : agg;
}

const noHydrate: Hydrator = (ref) => {
  throw new Error(`result ${ref.uri} cannot be read here`);
};

/** `loopItemsView` for an aggregate of http iterations whose results are all inline. */
export function httpItemsView(agg: unknown): unknown {
  return loopItemsView(agg, noHydrate, true);
}

/** The view of a result that may be inline or by reference. */
export function resultView(
  entry: { data?: unknown; ref?: ResultRef | null; extracted?: Record<string, unknown>; http_result?: boolean; http_items?: boolean },
  hydrate: Hydrator,
): unknown {
  if (entry.ref) return refView(entry.ref, hydrate, { http: entry.http_result, extracted: entry.extracted });
  return dataView(loopItemsView(entry.data, hydrate, entry.http_items === true), { http: entry.http_result });
}

/**
 * Step outcome for step `set` and arcs (dsl R13.8): `{status, data: R, error, ref, meta}`;
 * `output.result` aliases `output.data`; no kind helpers; no synthetic `data` alias, but the
 * http body fallback applies when R is an http result.
 */
export function stepOutcomeView(o: {
  status: 'ok' | 'error';
  data: unknown;
  error: ErrorObject | null;
  ref: ResultRef | null;
  meta: { step: string; step_run_id: string; run_no: number };
  http_result?: boolean;
}, hydrate: Hydrator): unknown {
  const data = o.ref ? refView(o.ref, hydrate, { http: o.http_result }) : o.http_result ? httpView(o.data) : o.data;
  const view = { status: o.status, data, error: o.error ? errorView(o.error) : null, ref: o.ref, meta: o.meta };
  return defineFallback(view, (key) => (key === 'result' ? data : undefined));
}

/** Error object as templates see it: `error.status` aliases `error.http_status` (runtime.md §7.2). */
export function errorView(err: ErrorObject): unknown {
  const view = { ...err };
  return defineFallback(view, (key) => (key === 'status' ? err.http_status : undefined));
}

/**
 * Attempt outcome for task policies (dsl §8.3 step 2): the outcome envelope with its kind
 * helpers; `output.data` of an http attempt reads with the body fallback; `output.result` aliases
 * `output.data`; `output.error.status` aliases `http_status`.
 */
export function attemptOutcomeView(outcome: { data?: unknown; error?: ErrorObject | null; [k: string]: unknown }, opts: { http?: boolean; hydrated?: unknown } = {}): unknown {
  const rawData = opts.hydrated !== undefined ? opts.hydrated : outcome.data;
  const data = opts.http ? httpView(rawData) : rawData;
  const view: Record<string, unknown> = { ...outcome, data, error: outcome.error ? errorView(outcome.error) : null };
  return defineFallback(view, (key) => (key === 'result' ? data : undefined));
}
