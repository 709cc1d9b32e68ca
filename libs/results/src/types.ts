import type { ResultRef } from '@noetl/common';

/** Where a payload belongs (runtime.md T7.11 key layout). */
export interface ResultLocation {
  executionId: string;
  /** entity path below the execution, e.g. `r17.0/i3/fetch/v2-a1` or `r17.0/result` */
  entity: string;
  scope?: ResultRef['scope'];
}

export interface PutOptions {
  /** values selected by spec.result.select, copied into the ref (T7.17) */
  extracted?: Record<string, unknown>;
  previewMaxBytes?: number;
  compression?: 'none' | 'gzip';
  contentType?: string;
}

export interface GetOptions {
  /** hydrate_max_bytes: larger payloads fail with kind reference_too_large */
  maxBytes?: number;
}

/**
 * The results gateway seen from a producer or a reader. `put` resolves only after the object is
 * durably written and its checksum verified (persist before emit, T7.8). `get` verifies the
 * checksum (T7.12) and throws `ResultStoreError` with kind `reference_not_available` or
 * `reference_too_large`.
 */
export interface ResultStore {
  readonly storeKind: ResultRef['store'];
  put(location: ResultLocation, value: unknown, opts?: PutOptions): Promise<ResultRef>;
  get(ref: ResultRef, opts?: GetOptions): Promise<unknown>;
  /** Resolve a `noetl://` URI previously returned by put (artifact tool `uri` form). */
  getByUri?(uri: string, opts?: GetOptions): Promise<unknown>;
}
