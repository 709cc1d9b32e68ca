import { isPlainObject, type ResultRef } from '@noetl/common';

export const DEFAULT_PREVIEW_MAX_BYTES = 1024;
const MAX_TOP_KEYS = 100;

/**
 * First `maxBytes` bytes of the JSON text, cut back to a UTF-8 character boundary
 * (runtime.md §7.4 `preview`). `bytes` is the byte length of `text`.
 */
export function makePreview(jsonText: string, maxBytes: number = DEFAULT_PREVIEW_MAX_BYTES): NonNullable<ResultRef['preview']> {
  const buf = Buffer.from(jsonText, 'utf8');
  if (buf.length <= maxBytes) return { bytes: buf.length, truncated: false, text: jsonText };
  let end = Math.max(0, maxBytes);
  // back off continuation bytes (10xxxxxx) so a multi-byte character is never split
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  const text = buf.subarray(0, end).toString('utf8');
  return { bytes: end, truncated: true, text };
}

/**
 * Shape hint of a stored value (runtime.md §7.4 `schema`): `table` for the tabular result of the
 * SQL tools (`{rows: [...], columns: [...]}`), `object` with its first 100 `top_keys`, `array`
 * with its length as `row_count`, otherwise `scalar`.
 */
export function schemaHint(value: unknown): NonNullable<ResultRef['schema']> {
  if (Array.isArray(value)) return { type: 'array', row_count: value.length };
  if (isPlainObject(value)) {
    const top_keys = Object.keys(value).slice(0, MAX_TOP_KEYS);
    const rows = value['rows'];
    const columns = value['columns'];
    if (Array.isArray(rows) && Array.isArray(columns) && columns.every((c) => typeof c === 'string')) {
      return {
        type: 'table',
        top_keys,
        columns: (columns as string[]).map((name) => ({ name })),
        row_count: typeof value['row_count'] === 'number' ? (value['row_count'] as number) : rows.length,
      };
    }
    return { type: 'object', top_keys };
  }
  if (value !== null && typeof value === 'object') return { type: 'object', top_keys: Object.keys(value).slice(0, MAX_TOP_KEYS) };
  return { type: 'scalar' };
}
