// SQL helpers shared by the duckdb and postgres tools: the result shape (tools.md §2.2, K2.9) and
// identifier quoting. Statement splitting (K2.7) is in sql-split.ts.

/** One statement of the result. */
export interface SqlStatementResult {
  index: number;
  command_tag: string;
  rows: Record<string, unknown>[];
  columns: string[];
  row_count: number;
  affected_rows: number;
}

/** The whole `data` of a SQL tool outcome (K2.9). */
export interface SqlResultData {
  rows: Record<string, unknown>[];
  columns: string[];
  row_count: number;
  affected_rows: number;
  statement_count: number;
  statements: SqlStatementResult[];
  [commandKey: `command_${number}`]: SqlStatementResult;
}

/** Build the K2.9 data object from the statements that ran (the last one is the top level). */
export function sqlResultData(statements: SqlStatementResult[]): SqlResultData {
  const last = statements[statements.length - 1];
  const data: SqlResultData = {
    rows: last?.rows ?? [],
    columns: last?.columns ?? [],
    row_count: last?.row_count ?? 0,
    affected_rows: last?.affected_rows ?? 0,
    statement_count: statements.length,
    statements,
  };
  statements.forEach((s, i) => (data[`command_${i}`] = s));
  return data;
}

/** A double-quoted SQL identifier (`"` doubled). */
export function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}
