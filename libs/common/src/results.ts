/** ResultRef of runtime.md §7.4: a pointer to an externalized payload. */
export interface ResultRef {
  kind: 'result_ref';
  /** logical address `noetl://<entity path>` */
  uri: string;
  store: 's3' | 'nats_object' | 'nats_kv' | 'postgres' | 'fs';
  bucket?: string;
  key?: string;
  /** fs store: absolute file path */
  path?: string;
  content_type: string;
  encoding: 'json' | 'jsonl' | 'arrow_ipc';
  compression: 'none' | 'gzip';
  /** stored bytes */
  size: number;
  /** canonical JSON bytes before compression */
  raw_size: number;
  /** `sha256:<hex>` of the stored bytes */
  checksum: string;
  schema?: { type: 'object' | 'array' | 'table' | 'scalar'; top_keys?: string[]; columns?: { name: string; type?: string }[]; row_count?: number };
  scope: 'step' | 'execution' | 'permanent';
  created_at: string;
  expires_at?: string | null;
  extracted?: Record<string, unknown>;
  preview?: { bytes: number; truncated: boolean; text: string };
}

/** Manifest of runtime.md §7.5: an aggregate of parts (loop results, paged collections). */
export interface ManifestPart {
  index: number;
  status: 'ok' | 'error';
  inline?: unknown;
  ref?: ResultRef;
}
export interface Manifest {
  kind: 'manifest';
  uri: string;
  strategy: 'append' | 'concat' | 'merge' | 'replace';
  merge_path: string | null;
  total_parts: number;
  total_size: number;
  parts: ManifestPart[];
}

export function isResultRef(v: unknown): v is ResultRef {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'result_ref' && typeof (v as { uri?: unknown }).uri === 'string';
}
export function isManifest(v: unknown): v is Manifest {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'manifest' && Array.isArray((v as { parts?: unknown }).parts);
}
