// String helpers with Python semantics, implemented here (never by calling host methods on
// template-controlled receivers).
import { fail } from './errors';
import { codePoints, cpIndex, getAttr, getItem, toTemplateString } from './values';

const PY_WS = ' \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function isWs(ch: string, chars: string | null): boolean {
  return chars === null ? PY_WS.includes(ch) : chars.includes(ch);
}

export function pyStrip(s: string, chars: unknown, left: boolean, right: boolean): string {
  const set = chars === undefined || chars === null ? null : toTemplateString(chars);
  let a = 0;
  let b = s.length;
  if (left) while (a < b && isWs(s[a], set)) a++;
  if (right) while (b > a && isWs(s[b - 1], set)) b--;
  return s.slice(a, b);
}

export function pySplit(s: string, sep: unknown, maxsplit: unknown): string[] {
  const max = typeof maxsplit === 'number' && maxsplit >= 0 ? Math.floor(maxsplit) : -1;
  if (sep === undefined || sep === null) {
    const out: string[] = [];
    let i = 0;
    const n = s.length;
    while (i < n) {
      while (i < n && PY_WS.includes(s[i])) i++;
      if (i >= n) break;
      if (max >= 0 && out.length === max) {
        out.push(pyStrip(s.slice(i), null, false, true));
        return out;
      }
      let j = i;
      while (j < n && !PY_WS.includes(s[j])) j++;
      out.push(s.slice(i, j));
      i = j;
    }
    return out;
  }
  const sp = toTemplateString(sep);
  if (sp === '') fail('empty separator');
  const parts = s.split(sp);
  if (max < 0 || parts.length <= max + 1) return parts;
  return [...parts.slice(0, max), parts.slice(max).join(sp)];
}

export function pyReplace(s: string, oldv: unknown, newv: unknown, count: unknown): string {
  const o = toTemplateString(oldv);
  const n = toTemplateString(newv);
  const max = typeof count === 'number' && count >= 0 ? Math.floor(count) : -1;
  if (o === '') {
    const cps = codePoints(s);
    const limit = max < 0 ? cps.length + 1 : Math.min(max, cps.length + 1);
    let out = '';
    for (let i = 0; i <= cps.length; i++) {
      if (i < limit) out += n;
      if (i < cps.length) out += cps[i];
    }
    return out;
  }
  if (max < 0) return s.split(o).join(n);
  let out = '';
  let pos = 0;
  for (let k = 0; k < max; k++) {
    const i = s.indexOf(o, pos);
    if (i === -1) break;
    out += s.slice(pos, i) + n;
    pos = i + o.length;
  }
  return out + s.slice(pos);
}

export function pyCapitalize(s: string): string {
  if (s.length === 0) return s;
  const cps = codePoints(s);
  return cps[0].toUpperCase() + cps.slice(1).join('').toLowerCase();
}

/** Jinja's `title`: capitalize each word; words start after whitespace, '-', '(', '{', '[', '<'. */
export function jinjaTitle(s: string): string {
  return s
    .split(/([-\s({[<]+)/)
    .filter((x) => x.length > 0)
    .map((w) => pyCapitalize(w))
    .join('');
}

export function pyCount(s: string, sub: string): number {
  if (sub === '') return codePoints(s).length + 1;
  let n = 0;
  let pos = 0;
  for (;;) {
    const i = s.indexOf(sub, pos);
    if (i === -1) return n;
    n++;
    pos = i + sub.length;
  }
}

export function pyFind(s: string, sub: string): number {
  const i = s.indexOf(sub);
  return i < 0 ? -1 : cpIndex(s, i);
}

export function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&#34;' : '&#39;'));
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Python urllib.parse.quote: always-safe = letters, digits, `_.-~`, plus `safe`. */
export function pyQuote(s: string, safe: string, plus: boolean): string {
  let r = encodeURIComponent(s.replace(LONE_SURROGATE, '\uFFFD')).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  if (safe.includes('/')) r = r.replace(/%2F/g, '/');
  if (plus) r = r.replace(/%20/g, '+');
  return r;
}

export function center(s: string, width: number): string {
  const len = codePoints(s).length;
  if (width <= len) return s;
  const total = width - len;
  // Python: left = total // 2 + (total & width & 1)
  const left = Math.floor(total / 2) + (total & width & 1);
  return ' '.repeat(left) + s + ' '.repeat(total - left);
}

// ---------------------------------------------------------------- printf-style (`format` filter)
const PCT = /%(?:\(([^)]*)\))?([-+ #0]*)(\d+|\*)?(?:\.(\d+))?([sdiufFeEgGxXorac%])/g;

export function percentFormat(fmt: string, args: unknown[], kwargs: Record<string, unknown> | null): string {
  let ai = 0;
  const next = (): unknown => {
    if (ai >= args.length) fail('not enough arguments for format string');
    return args[ai++];
  };
  return fmt.replace(PCT, (_m, key: string | undefined, flags: string, width: string | undefined, prec: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    let w = width === '*' ? Number(next()) : width ? Number(width) : 0;
    const v = key !== undefined ? (kwargs ? getAttr(kwargs, key) : fail(`format key '${key}' requires keyword arguments`)) : next();
    const p = prec === undefined ? undefined : Number(prec);
    let body: string;
    switch (conv) {
      case 's':
      case 'r':
      case 'a':
        body = toTemplateString(v);
        if (p !== undefined) body = body.slice(0, p);
        break;
      case 'c':
        body = typeof v === 'number' ? String.fromCodePoint(v) : toTemplateString(v).slice(0, 1);
        break;
      default:
        body = formatNumber(toNum(v), conv, p, flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '-', flags.includes('#'), false);
    }
    const leftAlign = flags.includes('-');
    if (w < 0) {
      w = -w;
    }
    if (body.length < w) {
      if (leftAlign) body = body.padEnd(w);
      else if (flags.includes('0') && 'diufFeEgGxXo'.includes(conv)) {
        const sign = /^[-+ ]/.test(body) ? body[0] : '';
        body = sign + body.slice(sign.length).padStart(w - sign.length, '0');
      } else body = body.padStart(w);
    }
    return body;
  });
}

function toNum(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return fail(`a number is required, not ${v === null ? 'none' : typeof v}`);
}

function formatNumber(n: number, conv: string, prec: number | undefined, sign: string, alt: boolean, grouping: boolean): string {
  let body: string;
  const neg = n < 0 || Object.is(n, -0);
  const a = Math.abs(n);
  switch (conv) {
    case 'd':
    case 'i':
    case 'u':
      body = String(Math.trunc(a));
      break;
    case 'f':
    case 'F':
    case '%': {
      const x = conv === '%' ? a * 100 : a;
      body = Number.isFinite(x) ? x.toFixed(prec ?? 6) : String(x);
      if (conv === '%') body += '%';
      break;
    }
    case 'e':
    case 'E': {
      body = a.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
      if (conv === 'E') body = body.toUpperCase();
      break;
    }
    case 'g':
    case 'G': {
      const pp = prec === undefined ? 6 : Math.max(prec, 1);
      const exp = a === 0 ? 0 : Math.floor(Math.log10(a));
      if (exp < -4 || exp >= pp) body = a.toExponential(pp - 1).replace(/\.?0+e/, 'e').replace(/e([+-])(\d)$/, 'e$10$2');
      else body = String(Number(a.toPrecision(pp)));
      if (conv === 'G') body = body.toUpperCase();
      break;
    }
    case 'x':
    case 'X':
      body = (alt ? '0x' : '') + Math.trunc(a).toString(16);
      if (conv === 'X') body = body.toUpperCase();
      break;
    case 'o':
      body = (alt ? '0o' : '') + Math.trunc(a).toString(8);
      break;
    case 'b':
      body = (alt ? '0b' : '') + Math.trunc(a).toString(2);
      break;
    default:
      body = String(a);
  }
  if (grouping) {
    const [ip, fp] = body.split('.');
    body = ip.replace(/\B(?=(\d{3})+(?!\d))/g, ',') + (fp !== undefined ? `.${fp}` : '');
  }
  const isZeroInt = 'diuxXob'.includes(conv) && Math.trunc(a) === 0;
  if (neg && n !== 0 && !isZeroInt) return `-${body}`;
  return (sign === '-' ? '' : sign) + body;
}

// ---------------------------------------------------------------- str.format
const BRACE_FIELD = /\{\{|\}\}|\{([^{}]*)\}/g;
const SPEC = /^(?:(.)?([<>^=]))?([-+ ])?(#)?(0)?(\d+)?(,)?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/;

export function strFormat(fmt: string, args: unknown[], kwargs: Record<string, unknown> | null): string {
  let auto = 0;
  return fmt.replace(BRACE_FIELD, (m, field: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const f = field ?? '';
    const bang = f.indexOf('!');
    const colon = f.indexOf(':', bang < 0 ? 0 : bang);
    const fieldName = f.slice(0, bang >= 0 ? bang : colon >= 0 ? colon : f.length);
    const spec = colon >= 0 ? f.slice(colon + 1) : '';
    const head = /^[^.[]*/.exec(fieldName)?.[0] ?? '';
    let v: unknown;
    if (head === '') {
      if (auto >= args.length) fail('format: not enough positional arguments');
      v = args[auto++];
    } else if (/^\d+$/.test(head)) {
      const i = Number(head);
      if (i >= args.length) fail(`format: positional argument ${i} missing`);
      v = args[i];
    } else {
      if (!kwargs || getAttr(kwargs, head) === undefined) fail(`format: missing keyword argument '${head}'`);
      v = getAttr(kwargs, head);
    }
    // attribute / index chain, through the safe accessors only
    const rest = fieldName.slice(head.length);
    const seg = /\.([^.[]+)|\[([^\]]+)\]/g;
    let sm: RegExpExecArray | null;
    while ((sm = seg.exec(rest)) !== null) {
      if (sm[1] !== undefined) v = getAttr(v, sm[1]);
      else v = /^-?\d+$/.test(sm[2]) && Array.isArray(v) ? getItem(v, Number(sm[2])) : getItem(v, sm[2]);
    }
    return applySpec(v, spec);
  });
}

function applySpec(v: unknown, spec: string): string {
  if (spec === '') return toTemplateString(v);
  const m = SPEC.exec(spec);
  if (!m) return fail(`format: invalid format spec '${spec}'`);
  const [, fill, align, sign, alt, zero, width, comma, prec, type] = m;
  let body: string;
  if (type === 's' || (type === undefined && typeof v !== 'number')) {
    body = toTemplateString(v);
    if (prec !== undefined) body = body.slice(0, Number(prec));
  } else {
    const n = toNum(v);
    const conv = type === undefined || type === 'n' ? (Number.isInteger(n) && prec === undefined ? 'd' : 'g') : type === 'c' ? 'c' : type;
    if (conv === 'c') body = String.fromCodePoint(n);
    else body = formatNumber(n, conv, prec === undefined ? undefined : Number(prec), sign ?? '-', alt === '#', comma === ',');
  }
  const w = width ? Number(width) : 0;
  const len = codePoints(body).length;
  if (len >= w) return body;
  const pad = w - len;
  const f = fill ?? (zero ? '0' : ' ');
  const al = align ?? (zero ? '=' : typeof v === 'number' ? '>' : '<');
  switch (al) {
    case '<':
      return body + f.repeat(pad);
    case '^':
      return f.repeat(Math.floor(pad / 2)) + body + f.repeat(pad - Math.floor(pad / 2));
    case '=': {
      const s = /^[-+ ]/.test(body) ? body[0] : '';
      return s + f.repeat(pad) + body.slice(s.length);
    }
    default:
      return f.repeat(pad) + body;
  }
}
