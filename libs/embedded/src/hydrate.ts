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
 * Replaces ResultRefs (and manifests of inline/ref parts) in a value by their payloads, for the
 * `--json` document ("result ... hydrated if it was stored by reference"). Other values pass through.
 */
export function hydrateDeep(value: unknown, read: (ref: ResultRef) => unknown = readFsRefSync): unknown {
  if (isResultRef(value)) return read(value);
  if (isManifest(value)) return hydrateManifest(value, read);
  return value;
}

function hydrateManifest(m: Manifest, read: (ref: ResultRef) => unknown): unknown {
  const parts = [...m.parts].sort((a, b) => a.index - b.index).map((p) => (p.ref ? read(p.ref) : p.inline));
  return parts;
}
