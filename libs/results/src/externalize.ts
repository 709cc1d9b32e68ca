import { jsonByteSize, type ResultRef } from '@noetl/common';
import type { ResultLocation, ResultStore } from './types';
import { selectValues, type SelectSpec } from './select';

/** Deployment default of `inline_max_bytes` (runtime.md T7.7). */
export const DEFAULT_INLINE_MAX_BYTES = 102_400;

export interface ExternalizeOptions {
  /** effective `inline_max_bytes` (default 102,400) */
  inlineMaxBytes?: number;
  /** `executor.spec.policy.results.reference_first` (T7.9): store every non-null value */
  referenceFirst?: boolean;
  /** `spec.result.select` (T7.17); computed from the full value and copied into `extracted` */
  select?: readonly SelectSpec[];
  /** effective `preview_max_bytes` (default 1,024) */
  previewMaxBytes?: number;
  compression?: 'none' | 'gzip';
  /** `ctx_value_inline_max_bytes`: larger selected values are dropped (default 65,536) */
  extractedMaxBytes?: number;
  onWarning?: (message: string) => void;
}

/** `inline`: the value travels in the event; `ref`: it was stored (and verified) first. */
export type Externalized =
  | { inline: unknown; ref?: undefined; size: number }
  | { ref: ResultRef; inline?: undefined; size: number };

/**
 * Producer side of runtime.md §7.3. Size = UTF-8 bytes of the value's JSON text; that equals the
 * canonical JSON size (key order does not change the length). A value over `inlineMaxBytes`, or
 * any non-null value under `referenceFirst`, is written with `store.put` (which resolves only
 * after the object is durable, T7.8) and the ResultRef is returned.
 *
 * @example
 * const r = await externalizeIfLarge(store, { executionId, entity: 'r3/fetch/v1-a1' }, data,
 *   { inlineMaxBytes: 65536, select: ['count', { path: '$.data.next', as: 'next_cursor' }] });
 * const eventData = r.ref ? { ref: r.ref } : { data: r.inline };
 */
export async function externalizeIfLarge(
  store: ResultStore,
  location: ResultLocation,
  value: unknown,
  opts: ExternalizeOptions = {},
): Promise<Externalized> {
  const v = value === undefined ? null : value;
  const size = jsonByteSize(v);
  const limit = opts.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
  const mustStore = (opts.referenceFirst === true && v !== null) || size > limit;
  if (!mustStore) return { inline: v, size };
  const extracted = opts.select && opts.select.length > 0
    ? selectValues(v, opts.select, { maxValueBytes: opts.extractedMaxBytes, onWarning: opts.onWarning })
    : undefined;
  const ref = await store.put(location, v, { extracted, previewMaxBytes: opts.previewMaxBytes, compression: opts.compression });
  return { ref, size };
}
