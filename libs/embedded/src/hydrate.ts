import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { isManifest, isResultRef, sha256Hex, type Manifest, type ResultRef } from '@noetl/common';
import { ResultStoreError } from '@noetl/results';

/**
 * Synchronous reader of fs-store ResultRefs (templates are synchronous, so the `Hydrator` of
 * @noetl/scope is too). Verifies the checksum (T7.12) and the size limit like the async store.
 */
export function readFsRefSync(ref: ResultRef, maxBytes = 64 * 1024 * 1024): unknown {
  if (!ref.path) throw new ResultStoreError('reference_not_available', 'REFERENCE_NOT_AVAILABLE', `result ${ref.uri} has no file path (store ${ref.store})`);
  if (ref.raw_size > maxBytes) {
    throw new ResultStoreError('reference_too_large', 'REFERENCE_TOO_LARGE', `result ${ref.uri} is ${ref.raw_size} bytes, over the hydrate limit ${maxBytes}`);
  }
  let stored: Buffer;
  try {
    stored = readFileSync(ref.path);
  } catch (e) {
    throw new ResultStoreError('reference_not_available', 'REFERENCE_NOT_AVAILABLE', `result ${ref.uri} cannot be read: ${(e as Error).message}`);
  }
  if (`sha256:${sha256Hex(stored)}` !== ref.checksum) {
    throw new ResultStoreError('reference_not_available', 'REFERENCE_NOT_AVAILABLE', `result ${ref.uri}: checksum mismatch`);
  }
  const raw = ref.compression === 'gzip' ? gunzipSync(stored) : stored;
  return JSON.parse(raw.toString('utf8'));
}

/**
 * Replaces ResultRefs and manifests anywhere in a value (a loop aggregate's `results`, a ctx value
 * stored by reference at a nested path) by their payloads, for the `--json` document ("hydrated if
 * it was stored by reference"). A payload that cannot be read (e.g. a replay on another machine)
 * keeps its reference. Other values pass through; containers are copied only where something changed.
 */
export function hydrateDeep(value: unknown, read: (ref: ResultRef) => unknown = readFsRefSync): unknown {
  if (isResultRef(value)) {
    try {
      return read(value);
    } catch {
      return value;
    }
  }
  if (isManifest(value)) return hydrateManifest(value, read);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((v, i) => {
      const h = hydrateDeep(v, read);
      if (h !== v) (out ??= value.slice())[i] = h;
    });
    return out ?? value;
  }
  if (value !== null && typeof value === 'object') {
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(value)) {
      const h = hydrateDeep(v, read);
      if (h !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = h;
    }
    return out ?? value;
  }
  return value;
}

function hydrateManifest(m: Manifest, read: (ref: ResultRef) => unknown): unknown {
  const parts = [...m.parts].sort((a, b) => a.index - b.index).map((p) => (p.ref ? hydrateDeep(p.ref, read) : p.inline));
  return parts;
}
