/**
 * Value mapping of tools.md K2.10 for PostgreSQL text-format results. Installed per pool through
 * the `types` option (never globally on pg-types). Types not listed map to their text form.
 */

export const PG_OID = {
  bool: 16, bytea: 17, int8: 20, int2: 21, int4: 23, oid: 26, json: 114, float4: 700, float8: 701,
  date: 1082, time: 1083, timestamp: 1114, timestamptz: 1184, interval: 1186, timetz: 1266, numeric: 1700,
  uuid: 2950, jsonb: 3802,
} as const;

type Parser = (text: string) => unknown;
const identity: Parser = (s) => s;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export function parseInt8(s: string): number | string {
  try {
    const b = BigInt(s);
    return b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : s;
  } catch {
    return s;
  }
}

function parseIntSmall(s: string): number | string {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : s;
}

/** Canonical `digits@pointPosition` form of a decimal string, for exact-value comparison. */
function canonDecimal(s: string): string | null {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const sign = m[1] === '-' ? '-' : '';
  let digits = (m[2] ?? '') + (m[3] ?? '');
  let point = (m[2] ?? '').length + Number(m[4] ?? 0);
  const lead = /^0*/.exec(digits)![0].length;
  digits = digits.slice(lead);
  point -= lead;
  digits = digits.replace(/0+$/, '');
  if (!digits) return '0';
  return `${sign}${digits}@${point}`;
}

/** numeric -> number when the double round-trips to the same decimal value, else the decimal string. */
export function parseNumeric(s: string): number | string {
  const n = Number(s);
  if (!Number.isFinite(n)) return s; // NaN, Infinity
  const a = canonDecimal(s);
  return a !== null && a === canonDecimal(String(n)) ? (Object.is(n, -0) ? 0 : n) : s;
}

export function parseFloatValue(s: string): number | string {
  const n = Number(s);
  return Number.isFinite(n) ? n : s === 'NaN' ? 'NaN' : s.startsWith('-') ? '-Infinity' : 'Infinity';
}

/** bytea text output (`\x` hex, or the legacy escape format) -> base64. */
export function parseBytea(s: string): string {
  if (s.startsWith('\\x')) return Buffer.from(s.slice(2), 'hex').toString('base64');
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      if (s[i + 1] === '\\') {
        out.push(0x5c);
        i++;
      } else {
        out.push(parseInt(s.slice(i + 1, i + 4), 8));
        i += 3;
      }
    } else {
      out.push(s.charCodeAt(i));
    }
  }
  return Buffer.from(out).toString('base64');
}

/** timestamp without time zone: `YYYY-MM-DD HH:MM:SS[.ffffff]` -> `YYYY-MM-DDTHH:MM:SS[.ffffff]`. */
export function parseTimestamp(s: string): string {
  return /^\d{4,}-\d\d-\d\d \d/.test(s) ? s.replace(' ', 'T') : s;
}

const TZ_RE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/;

/** timestamptz in any session time zone -> RFC 3339 in UTC, keeping microseconds. */
export function parseTimestamptz(s: string): string {
  const m = TZ_RE.exec(s);
  if (!m) return s; // infinity, BC dates, years beyond 9999: text form
  const [, y, mo, d, h, mi, sec, frac, sign, oh, om, os] = m;
  const offsetS = (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0));
  const dt = new Date(0);
  dt.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  dt.setUTCHours(Number(h), Number(mi), Number(sec), 0);
  const t = new Date(dt.getTime() - offsetS * 1000);
  const yy = t.getUTCFullYear();
  if (yy < 0 || yy > 9999) return s;
  const p2 = (n: number) => String(n).padStart(2, '0');
  return `${String(yy).padStart(4, '0')}-${p2(t.getUTCMonth() + 1)}-${p2(t.getUTCDate())}T${p2(t.getUTCHours())}:${p2(t.getUTCMinutes())}:${p2(t.getUTCSeconds())}${frac ?? ''}Z`;
}

/**
 * interval (IntervalStyle `postgres`, the default: `1 year 2 mons 3 days 04:05:06.789`,
 * `-1 days +02:00:00`) -> ISO 8601 duration in PostgreSQL's `iso_8601` style
 * (`P1Y2M3DT4H5M6.789S`, per-field signs). ISO input passes through; other styles stay text.
 */
export function parseInterval(s: string): string {
  if (s.startsWith('P') || s.startsWith('-P')) return s;
  let y = 0, mo = 0, d = 0, h = 0, mi = 0;
  let sec = '0';
  let rest = s.trim();
  const unitRe = /^([+-]?\d+) (years?|mons?|days?)\s*/;
  let m: RegExpExecArray | null;
  while ((m = unitRe.exec(rest))) {
    const n = Number(m[1]);
    if (m[2].startsWith('year')) y = n;
    else if (m[2].startsWith('mon')) mo = n;
    else d = n;
    rest = rest.slice(m[0].length);
  }
  if (rest) {
    const t = /^([+-])?(\d+):(\d\d):(\d\d)(\.\d+)?$/.exec(rest);
    if (!t) return s;
    const neg = t[1] === '-';
    h = Number(t[2]) * (neg ? -1 : 1);
    mi = Number(t[3]) * (neg ? -1 : 1);
    const secAbs = `${Number(t[4])}${t[5] ? t[5].replace(/0+$/, '') : ''}`.replace(/\.$/, '');
    sec = secAbs === '0' ? '0' : `${neg ? '-' : ''}${secAbs}`;
  }
  let out = 'P';
  if (y) out += `${y}Y`;
  if (mo) out += `${mo}M`;
  if (d) out += `${d}D`;
  let time = '';
  if (h) time += `${h}H`;
  if (mi) time += `${mi}M`;
  if (sec !== '0') time += `${sec}S`;
  if (time) out += `T${time}`;
  return out === 'P' ? 'PT0S' : out;
}

/**
 * Parse a PostgreSQL array literal (`{1,2,NULL}`, `{{a,b},{"c d",e}}`, `[0:1]={x,y}`) into nested
 * arrays, applying `elem` to every non-null element.
 */
export function parseArray(text: string, elem: Parser): unknown {
  let s = text;
  if (s.startsWith('[')) {
    const eq = s.indexOf('=');
    if (eq > 0) s = s.slice(eq + 1);
  }
  let i = 0;
  const parseLevel = (): unknown[] => {
    if (s[i] !== '{') throw new Error('array literal must start with {');
    i++;
    const out: unknown[] = [];
    if (s[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (s[i] === '{') {
        out.push(parseLevel());
      } else if (s[i] === '"') {
        i++;
        let v = '';
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\') i++;
          v += s[i++];
        }
        i++;
        out.push(elem(v));
      } else {
        let j = i;
        while (j < s.length && s[j] !== ',' && s[j] !== '}') j++;
        const raw = s.slice(i, j).trim();
        i = j;
        out.push(raw.toUpperCase() === 'NULL' ? null : elem(raw));
      }
      if (s[i] === ',') {
        i++;
        continue;
      }
      if (s[i] === '}') {
        i++;
        return out;
      }
      throw new Error('malformed array literal');
    }
  };
  try {
    return parseLevel();
  } catch {
    return text;
  }
}

const jsonParse: Parser = (s) => {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
};

const SCALARS: Record<number, Parser> = {
  [PG_OID.bool]: (s) => s === 't' || s === 'true',
  [PG_OID.bytea]: parseBytea,
  [PG_OID.int8]: parseInt8,
  [PG_OID.int2]: parseIntSmall,
  [PG_OID.int4]: parseIntSmall,
  [PG_OID.oid]: parseIntSmall,
  [PG_OID.json]: jsonParse,
  [PG_OID.jsonb]: jsonParse,
  [PG_OID.float4]: parseFloatValue,
  [PG_OID.float8]: parseFloatValue,
  [PG_OID.numeric]: parseNumeric,
  [PG_OID.date]: identity,
  [PG_OID.time]: identity,
  [PG_OID.timetz]: identity,
  [PG_OID.timestamp]: parseTimestamp,
  [PG_OID.timestamptz]: parseTimestamptz,
  [PG_OID.interval]: parseInterval,
  [PG_OID.uuid]: identity,
};

/** array type oid -> element type oid (element types without a scalar parser map to text) */
const ARRAYS: Record<number, number> = {
  1000: PG_OID.bool, 1001: PG_OID.bytea, 1016: PG_OID.int8, 1005: PG_OID.int2, 1007: PG_OID.int4, 1028: PG_OID.oid,
  199: PG_OID.json, 3807: PG_OID.jsonb, 1021: PG_OID.float4, 1022: PG_OID.float8, 1231: PG_OID.numeric,
  1182: PG_OID.date, 1183: PG_OID.time, 1270: PG_OID.timetz, 1115: PG_OID.timestamp, 1185: PG_OID.timestamptz,
  1187: PG_OID.interval, 2951: PG_OID.uuid,
  // text-like element types
  1009: 25, 1015: 1043, 1014: 1042, 1002: 18, 1003: 19, 143: 142, 1041: 869, 651: 650, 1040: 829, 791: 790,
};

/** `types` option for pg.Pool/Client: K2.10 mapping, identity (text form) for everything else. */
export const pgTypes = {
  getTypeParser(oid: number, format?: string): Parser {
    if (format === 'binary') return identity;
    const scalar = SCALARS[oid];
    if (scalar) return scalar;
    const elemOid = ARRAYS[oid];
    if (elemOid !== undefined) {
      const elem = SCALARS[elemOid] ?? identity;
      return (s: string) => parseArray(s, elem);
    }
    return identity;
  },
};
