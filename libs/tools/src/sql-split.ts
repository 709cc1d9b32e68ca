/**
 * SQL statement splitting of tools.md K2.7, shared by the duckdb and postgres tools.
 *
 * Splits on `;` outside single-quoted strings (`''` escapes; `E'...'` strings also honour
 * backslash escapes), double-quoted identifiers (`""` escapes), dollar-quoted bodies (`$$...$$`,
 * `$tag$...$tag$`), `--` line comments and `/* *\/` block comments (nested, as in PostgreSQL).
 * Statements are returned trimmed and without their terminating `;`; statements that contain
 * nothing but whitespace and comments are dropped. An unterminated quote or comment runs to the
 * end of the text (the database reports the syntax error).
 *
 * @example splitSqlStatements("select 1; select ';'; -- done") // ['select 1', "select ';'"]
 */
export function splitSqlStatements(sql: string): string[] {
  const out: string[] = [];
  let start = 0;
  let hasContent = false; // the current statement has a token other than whitespace/comments
  let i = 0;
  const n = sql.length;

  const flush = (end: number): void => {
    if (hasContent) out.push(sql.slice(start, end).trim());
    start = end + 1;
    hasContent = false;
  };

  while (i < n) {
    const c = sql[i];
    const next = i + 1 < n ? sql[i + 1] : '';
    if (c === ';') {
      flush(i);
      i++;
      continue;
    }
    if (c === '-' && next === '-') {
      const nl = sql.indexOf('\n', i + 2);
      i = nl === -1 ? n : nl + 1;
      continue;
    }
    if (c === '/' && next === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else {
          i++;
        }
      }
      continue;
    }
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    hasContent = true;
    if (c === "'") {
      const backslash = i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e') && !isIdentChar(sql[i - 2]);
      i = skipQuoted(sql, i, "'", backslash);
      continue;
    }
    if (c === '"') {
      i = skipQuoted(sql, i, '"', false);
      continue;
    }
    if (c === '$' && !isIdentChar(sql[i - 1])) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 256));
      if (m) {
        const tag = m[0];
        const close = sql.indexOf(tag, i + tag.length);
        i = close === -1 ? n : close + tag.length;
        continue;
      }
    }
    i++;
  }
  if (hasContent) out.push(sql.slice(start).trim());
  return out;
}

/** Index just after the closing quote (doubled quote = escaped quote). */
function skipQuoted(sql: string, openAt: number, quote: string, backslashEscapes: boolean): number {
  let i = openAt + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_$]/.test(c);
}
