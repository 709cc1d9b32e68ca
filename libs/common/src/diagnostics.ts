/** Diagnostics are data (STYLE.md rule 5): the same objects in the CLI, the API and the editor schema. */
export type DiagnosticSeverity = 'error' | 'warning';

export interface Diagnostic {
  /** stable code from dsl.md §17, e.g. `E_UNKNOWN_ARC_TARGET` */
  code: string;
  severity: DiagnosticSeverity;
  message: string;
  file?: string;
  /** 1-based line of the offending node (dsl.md R17.1) */
  line: number;
  /** 1-based column of the offending node */
  column: number;
  /** location as a dotted path, e.g. `workflow[2].next.arcs[1]` */
  path: string;
  /** one-line migration or fix hint */
  hint?: string;
}

export function isError(d: Diagnostic): boolean {
  return d.severity === 'error';
}

/** Compiler-style one-liner: `file:line:col error CODE message`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.file ?? '<input>'}:${d.line}:${d.column}`;
  return `${where} ${d.severity} ${d.code} ${d.message}${d.hint ? ` (hint: ${d.hint})` : ''}`;
}
