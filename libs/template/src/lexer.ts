// Lexer: template text -> flat token stream (text, {{ ... }}, {% ... %}); comments, raw blocks and
// whitespace control are resolved here. Expression tokens inside tags use Jinja2's bracket
// balancing so that `{{ {'a': {'b': 1}} }}` works.
import { TemplateSyntaxError } from './errors';

export type TokType = 'text' | 'vbegin' | 'vend' | 'bbegin' | 'bend' | 'name' | 'str' | 'num' | 'op' | 'eof';

export interface Token {
  t: TokType;
  /** text/name/op: the string; str: the decoded string value; num: the number (as string in `v`, value in `n`). */
  v: string;
  n?: number;
  s: number; // start offset in source
  e: number; // end offset in source
}

export interface LexResult {
  tokens: Token[];
  /** number of {{ }} blocks, {% %} blocks and {# #} comments seen (for typed-rendering classification) */
  vars: number;
  blocks: number;
  comments: number;
}

const NAME_RE = /[A-Za-z_\p{L}][A-Za-z0-9_\p{L}\p{N}]*/uy;
const NUM_RE = /[0-9](?:_?[0-9])*(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?/y;
const INT_RE = /[0-9]+/y;
const OPS3: string[] = [];
const OPS2 = ['//', '**', '==', '!=', '<=', '>='];
const OPS1 = '+-*/%~<>=.,:|()[]{}';
const RAW_OPEN = /\s*raw\s*([-+]?)%\}/y;
const ENDRAW = /\{%([-+]?)\s*endraw\s*(-?)%\}/g;
const WS = /\s/;

function syntaxError(src: string, msg: string, offset: number, code?: string): TemplateSyntaxError {
  return new TemplateSyntaxError(msg, { source: src, offset, code });
}

function skipWs(src: string, pos: number): number {
  while (pos < src.length && WS.test(src[pos])) pos++;
  return pos;
}

/** Tokenize a whole template. */
export function lexTemplate(src: string): LexResult {
  const tokens: Token[] = [];
  const res: LexResult = { tokens, vars: 0, blocks: 0, comments: 0 };
  let pos = 0;
  let lstripNext = false;
  const pushText = (text: string, s: number) => {
    if (lstripNext) {
      const t = text.replace(/^\s+/, '');
      s += text.length - t.length;
      text = t;
      lstripNext = false;
    }
    if (text.length > 0) tokens.push({ t: 'text', v: text, s, e: s + text.length });
  };
  while (pos < src.length) {
    let i = src.indexOf('{', pos);
    while (i !== -1 && i + 1 < src.length && !'{%#'.includes(src[i + 1])) i = src.indexOf('{', i + 1);
    if (i === -1 || i + 1 >= src.length) {
      pushText(src.slice(pos), pos);
      break;
    }
    const kind = src[i + 1];
    let j = i + 2;
    let text = src.slice(pos, i);
    if (src[j] === '-') {
      text = text.replace(/\s+$/, '');
      j++;
    } else if (src[j] === '+') j++;
    pushText(text, pos);

    if (kind === '#') {
      res.comments++;
      const end = src.indexOf('#}', j);
      if (end === -1) throw syntaxError(src, 'unclosed comment: missing #}', i);
      pos = end + 2;
      if (src[end - 1] === '-' && end - 1 >= j) lstripNext = true;
      continue;
    }
    if (kind === '%') {
      RAW_OPEN.lastIndex = j;
      const m = RAW_OPEN.exec(src);
      if (m) {
        res.blocks++;
        const bodyStart = RAW_OPEN.lastIndex;
        ENDRAW.lastIndex = bodyStart;
        const em = ENDRAW.exec(src);
        if (!em) throw syntaxError(src, "unclosed {% raw %}: missing {% endraw %}", i);
        let body = src.slice(bodyStart, em.index);
        let bs = bodyStart;
        if (m[1] === '-') {
          const t = body.replace(/^\s+/, '');
          bs += body.length - t.length;
          body = t;
        }
        if (em[1] === '-') body = body.replace(/\s+$/, '');
        if (body.length > 0) tokens.push({ t: 'text', v: body, s: bs, e: bs + body.length });
        pos = em.index + em[0].length;
        lstripNext = em[2] === '-';
        continue;
      }
      res.blocks++;
    } else {
      res.vars++;
    }
    const isVar = kind === '{';
    tokens.push({ t: isVar ? 'vbegin' : 'bbegin', v: src.slice(i, j), s: i, e: j });
    const r = lexExpr(src, j, isVar ? '}}' : '%}', tokens, i);
    pos = r.pos;
    lstripNext = r.strip;
  }
  tokens.push({ t: 'eof', v: '', s: src.length, e: src.length });
  return res;
}

/** Tokenize a bare expression (no braces). */
export function lexExpression(src: string): Token[] {
  const tokens: Token[] = [];
  lexExpr(src, 0, null, tokens, 0);
  tokens.push({ t: 'eof', v: '', s: src.length, e: src.length });
  return tokens;
}

const CLOSER: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

function lexExpr(
  src: string,
  pos: number,
  end: '}}' | '%}' | null,
  out: Token[],
  tagStart: number,
): { pos: number; strip: boolean } {
  const stack: string[] = [];
  for (;;) {
    pos = skipWs(src, pos);
    if (pos >= src.length) {
      if (end === null) {
        if (stack.length > 0) throw syntaxError(src, `unexpected end of expression: unclosed '${stack[stack.length - 1]}'`, pos);
        return { pos, strip: false };
      }
      throw syntaxError(src, `unexpected end of template: tag opened here is not closed with '${end}'`, tagStart);
    }
    if (end !== null && stack.length === 0) {
      if (src.startsWith(end, pos)) {
        out.push({ t: end === '}}' ? 'vend' : 'bend', v: end, s: pos, e: pos + 2 });
        return { pos: pos + 2, strip: false };
      }
      if ((src[pos] === '-' || src[pos] === '+') && src.startsWith(end, pos + 1)) {
        out.push({ t: end === '}}' ? 'vend' : 'bend', v: src[pos] + end, s: pos, e: pos + 3 });
        return { pos: pos + 3, strip: src[pos] === '-' };
      }
    }
    const ch = src[pos];
    const prev = out.length > 0 ? out[out.length - 1] : undefined;
    // numbers (after a '.', only an integer: `a.0.1` is a[0][1])
    if (ch >= '0' && ch <= '9') {
      const re = prev && prev.t === 'op' && prev.v === '.' ? INT_RE : NUM_RE;
      re.lastIndex = pos;
      const m = re.exec(src);
      if (m) {
        const text = m[0];
        const n = Number(text.replace(/_/g, ''));
        out.push({ t: 'num', v: text, n, s: pos, e: pos + text.length });
        pos += text.length;
        continue;
      }
    }
    NAME_RE.lastIndex = pos;
    const nm = NAME_RE.exec(src);
    if (nm) {
      out.push({ t: 'name', v: nm[0], s: pos, e: pos + nm[0].length });
      pos += nm[0].length;
      continue;
    }
    if (ch === '"' || ch === "'") {
      const r = lexString(src, pos);
      out.push({ t: 'str', v: r.value, s: pos, e: r.end });
      pos = r.end;
      continue;
    }
    let op: string | undefined;
    for (const o of OPS3) if (src.startsWith(o, pos)) op = o;
    if (op === undefined) for (const o of OPS2) if (src.startsWith(o, pos)) op = o;
    if (op === undefined && OPS1.includes(ch)) op = ch;
    if (op === undefined) throw syntaxError(src, `unexpected character '${ch}'`, pos);
    if (op === '(' || op === '[' || op === '{') stack.push(op);
    else if (op === ')' || op === ']' || op === '}') {
      const top = stack.pop();
      if (top === undefined || CLOSER[top] !== op) throw syntaxError(src, `unexpected '${op}'`, pos);
    }
    out.push({ t: 'op', v: op, s: pos, e: pos + op.length });
    pos += op.length;
  }
}

const SIMPLE_ESC: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '0': '\0',
  '\n': '',
};

/** Python-style string literal; unknown escapes keep their backslash (`'\d'` is `\d`). */
function lexString(src: string, start: number): { value: string; end: number } {
  const q = src[start];
  let i = start + 1;
  let out = '';
  while (i < src.length) {
    const c = src[i];
    if (c === q) return { value: out, end: i + 1 };
    if (c === '\\' && i + 1 < src.length) {
      const n = src[i + 1];
      if (n in SIMPLE_ESC && !(n === '0' && /[0-7]/.test(src[i + 2] ?? ''))) {
        out += SIMPLE_ESC[n];
        i += 2;
        continue;
      }
      const hexLen = n === 'x' ? 2 : n === 'u' ? 4 : n === 'U' ? 8 : 0;
      if (hexLen > 0) {
        const hex = src.slice(i + 2, i + 2 + hexLen);
        if (hex.length !== hexLen || !/^[0-9a-fA-F]+$/.test(hex)) throw syntaxError(src, `invalid \\${n} escape in string`, i);
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) throw syntaxError(src, 'invalid unicode escape in string', i);
        out += String.fromCodePoint(cp);
        i += 2 + hexLen;
        continue;
      }
      if (/[0-7]/.test(n)) {
        const m = /^[0-7]{1,3}/.exec(src.slice(i + 1, i + 4));
        const oct = m ? m[0] : n;
        out += String.fromCharCode(parseInt(oct, 8));
        i += 1 + oct.length;
        continue;
      }
      out += c + n;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  throw syntaxError(src, 'unterminated string literal', start);
}
