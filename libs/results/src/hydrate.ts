import { isManifest, isPlainObject, isResultRef, jsonByteSize, type Manifest, type ResultRef } from '@noetl/common';
import type { ResultStore } from './types';
import { ResultStoreError, notAvailable, tooLarge } from './errors';
import { parseResultPath, readResultPath } from './select';

/** Worker default of `hydrate_max_bytes` (runtime.md T7.19). */
export const DEFAULT_HYDRATE_MAX_BYTES = 64 * 1024 * 1024;

export interface HydrateOptions {
  /** `hydrate_max_bytes`; the whole materialized value must fit (default 64 MiB) */
  maxBytes?: number;
  /** parallel part fetches of a manifest (default 8) */
  concurrency?: number;
}

/**
 * Materialize a value for reading (T7.14, T7.19): a ResultRef is fetched (checksum verified), a
 * Manifest — inline or stored behind a ref — is assembled by its strategy; anything else is
 * returned unchanged. Throws `ResultStoreError` (`reference_not_available` /
 * `reference_too_large`).
 *
 * Manifest strategies: `append` = list of part values in index order (a failed part without
 * inline data is `null`); `concat` = the lists found at `merge_path` of every ok part, flattened
 * (a missing/null value adds nothing, a non-list adds itself); `merge` = shallow merge of the ok
 * mapping parts in index order; `replace` = the last ok part (or `null`).
 */
export async function hydrate(store: ResultStore, value: unknown, opts: HydrateOptions = {}): Promise<unknown> {
  const budget = { left: opts.maxBytes ?? DEFAULT_HYDRATE_MAX_BYTES, max: opts.maxBytes ?? DEFAULT_HYDRATE_MAX_BYTES };
  return hydrateWithin(store, value, budget, opts.concurrency ?? 8, 0);
}

interface Budget { left: number; max: number }

async function hydrateWithin(store: ResultStore, value: unknown, budget: Budget, concurrency: number, depth: number): Promise<unknown> {
  if (depth > 4) throw notAvailable('RESULT_MANIFEST_NESTING', 'manifests nested too deeply');
  if (isResultRef(value)) {
    const fetched = await fetchRef(store, value, budget);
    return isManifest(fetched) ? materialize(store, fetched, budget, concurrency, depth + 1) : fetched;
  }
  if (isManifest(value)) return materialize(store, value, budget, concurrency, depth + 1);
  return value;
}

async function fetchRef(store: ResultStore, ref: ResultRef, budget: Budget): Promise<unknown> {
  if (typeof ref.raw_size === 'number' && ref.raw_size > budget.left) {
    throw tooLarge(`result ${ref.uri} (${ref.raw_size} bytes) exceeds the hydration limit of ${budget.max} bytes`, { uri: ref.uri });
  }
  const v = await store.get(ref, { maxBytes: budget.left });
  budget.left -= typeof ref.raw_size === 'number' ? ref.raw_size : jsonByteSize(v);
  return v;
}

async function materialize(store: ResultStore, m: Manifest, budget: Budget, concurrency: number, depth: number): Promise<unknown> {
  const parts = [...m.parts].sort((a, b) => a.index - b.index);
  // account for everything known up front so an oversized aggregate fails before any fetch
  let known = 0;
  for (const p of parts) known += p.ref ? (typeof p.ref.raw_size === 'number' ? p.ref.raw_size : 0) : jsonByteSize(p.inline ?? null);
  if (known > budget.left) {
    throw tooLarge(`manifest ${m.uri} (${known} bytes) exceeds the hydration limit of ${budget.max} bytes`, { uri: m.uri });
  }
  const values: unknown[] = new Array(parts.length);
  let next = 0;
  const worker = async () => {
    while (next < parts.length) {
      const i = next++;
      const p = parts[i];
      if (p.ref) {
        if (!isResultRef(p.ref)) throw notAvailable('RESULT_REF_INVALID', `manifest ${m.uri} part ${p.index} has an invalid ref`);
        values[i] = await hydrateWithin(store, p.ref, budget, concurrency, depth);
      } else {
        const inline = p.inline === undefined ? null : p.inline;
        budget.left -= jsonByteSize(inline);
        values[i] = isManifest(inline) ? await hydrateWithin(store, inline, budget, concurrency, depth) : inline;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, parts.length)) }, worker));
  if (budget.left < 0) throw tooLarge(`manifest ${m.uri} exceeds the hydration limit of ${budget.max} bytes`, { uri: m.uri });
  const okValues = () => values.filter((_, i) => parts[i].status !== 'error');
  switch (m.strategy) {
    case 'append':
      return values;
    case 'concat': {
      let segs;
      try {
        segs = m.merge_path ? parseResultPath(m.merge_path) : [];
      } catch (e) {
        throw notAvailable('RESULT_MANIFEST_INVALID', `manifest ${m.uri}: ${(e as Error).message}`, { uri: m.uri });
      }
      const out: unknown[] = [];
      for (const v of okValues()) {
        const at = segs.length ? readResultPath(v, segs) : v;
        if (at === undefined || at === null) continue;
        if (Array.isArray(at)) out.push(...at);
        else out.push(at);
      }
      return out;
    }
    case 'merge': {
      const out: Record<string, unknown> = {};
      for (const v of okValues()) if (isPlainObject(v)) Object.assign(out, v);
      return out;
    }
    case 'replace': {
      const ok = okValues();
      return ok.length ? ok[ok.length - 1] : null;
    }
    default:
      throw new ResultStoreError('reference_not_available', 'RESULT_MANIFEST_INVALID', `manifest ${m.uri}: unknown strategy ${String(m.strategy)}`);
  }
}
