import { duckdb } from './duckdb-module';
import type { DuckDBValue } from '@duckdb/node-api';

/**
 * DuckDB value -> JSON value, following the postgres mapping of tools.md K2.10 where it applies:
 * integers -> number (64/128-bit outside ±(2^53−1) -> decimal string); DECIMAL -> number when the
 * decimal text round-trips through a double, else decimal string; floats -> number (NaN/±Infinity
 * -> string); DATE `YYYY-MM-DD`; TIME `HH:MM:SS[.ffffff]`; TIMESTAMP `YYYY-MM-DDTHH:MM:SS[.ffffff]`;
 * TIMESTAMPTZ RFC 3339 in UTC (`...Z`); INTERVAL ISO 8601 duration; BLOB base64; UUID string;
 * LIST/ARRAY -> array; STRUCT -> object; MAP -> object (scalar keys) or `[{key, value}]`;
 * UNION/VARIANT -> their value; JSON columns -> parsed JSON; anything else -> its text form.
 */
export function duckdbToJson(v: DuckDBValue, isJsonColumn = false): unknown {
  const D = duckdb();
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'string':
      if (isJsonColumn) {
        try {
          return JSON.parse(v);
        } catch {
          return v;
        }
      }
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'bigint':
      return bigintToJson(v);
    default:
      break;
  }
  if (v instanceof D.DuckDBDecimalValue) return decimalToJson(v.toString());
  if (v instanceof D.DuckDBDateValue) return v.isFinite ? v.toString() : infinity(v.days > 0);
  if (v instanceof D.DuckDBTimestampTZValue) {
    if (!v.isFinite) return infinity(v.micros > 0n);
    return `${new D.DuckDBTimestampValue(v.micros).toString().replace(' ', 'T')}Z`;
  }
  if (v instanceof D.DuckDBTimestampValue || v instanceof D.DuckDBTimestampSecondsValue
    || v instanceof D.DuckDBTimestampMillisecondsValue || v instanceof D.DuckDBTimestampNanosecondsValue) {
    if (!v.isFinite) return infinity(v.toString().startsWith('infinity'));
    return v.toString().replace(' ', 'T');
  }
  if (v instanceof D.DuckDBTimeValue || v instanceof D.DuckDBTimeTZValue || v instanceof D.DuckDBTimeNSValue) return v.toString();
  if (v instanceof D.DuckDBIntervalValue) return intervalToIso(v.months, v.days, v.micros);
  if (v instanceof D.DuckDBBlobValue) return Buffer.from(v.bytes).toString('base64');
  if (v instanceof D.DuckDBUUIDValue || v instanceof D.DuckDBBitValue || v instanceof D.DuckDBGeometryValue) return v.toString();
  if (v instanceof D.DuckDBListValue || v instanceof D.DuckDBArrayValue) return v.items.map((x) => duckdbToJson(x));
  if (v instanceof D.DuckDBStructValue) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v.entries)) out[k] = duckdbToJson(x);
    return out;
  }
  if (v instanceof D.DuckDBMapValue) {
    const scalarKeys = v.entries.every((e) => ['string', 'number', 'bigint', 'boolean'].includes(typeof e.key));
    if (scalarKeys) {
      const out: Record<string, unknown> = {};
      for (const e of v.entries) out[String(e.key)] = duckdbToJson(e.value);
      return out;
    }
    return v.entries.map((e) => ({ key: duckdbToJson(e.key), value: duckdbToJson(e.value) }));
  }
  if (v instanceof D.DuckDBUnionValue) return duckdbToJson(v.value);
  if (v instanceof D.DuckDBVariantValue) return duckdbToJson(v.value);
  return String(v);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function bigintToJson(v: bigint): number | string {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
}

function infinity(positive: boolean): string {
  return positive ? 'infinity' : '-infinity';
}

/** Canonical decimal text: no leading zeros, no trailing fractional zeros, no `-0`. */
function canonicalDecimal(s: string): string {
  let neg = false;
  let t = s.trim();
  if (t.startsWith('-')) {
    neg = true;
    t = t.slice(1);
  } else if (t.startsWith('+')) {
    t = t.slice(1);
  }
  let [int, frac = ''] = t.split('.');
  int = int.replace(/^0+(?=\d)/, '');
  frac = frac.replace(/0+$/, '');
  const body = frac ? `${int || '0'}.${frac}` : int || '0';
  return neg && body !== '0' ? `-${body}` : body;
}

/** DECIMAL text -> number when it survives a round trip through a double, else the text. */
export function decimalToJson(text: string): number | string {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  const back = String(n);
  if (back.includes('e')) return text;
  return canonicalDecimal(back) === canonicalDecimal(text) ? n : text;
}

/** ISO 8601 duration as PostgreSQL's `iso_8601` interval style prints it (e.g. `P1Y2M3DT4H5M6.5S`, `PT0S`). */
export function intervalToIso(months: number, days: number, micros: bigint): string {
  const years = Math.trunc(months / 12);
  const mons = months % 12;
  let date = '';
  if (years) date += `${years}Y`;
  if (mons) date += `${mons}M`;
  if (days) date += `${days}D`;
  const neg = micros < 0n;
  let rest = neg ? -micros : micros;
  const hours = rest / 3_600_000_000n;
  rest %= 3_600_000_000n;
  const minutes = rest / 60_000_000n;
  rest %= 60_000_000n;
  const seconds = rest / 1_000_000n;
  const fraction = rest % 1_000_000n;
  const sign = neg ? '-' : '';
  let time = '';
  if (hours) time += `${sign}${hours}H`;
  if (minutes) time += `${sign}${minutes}M`;
  if (seconds || fraction) {
    const frac = fraction ? `.${fraction.toString().padStart(6, '0').replace(/0+$/, '')}` : '';
    time += `${sign}${seconds}${frac}S`;
  }
  if (!date && !time) return 'PT0S';
  return `P${date}${time ? `T${time}` : ''}`;
}
