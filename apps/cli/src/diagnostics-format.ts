import type { Diagnostic } from '@noetl/common';

/** Diagnostic as printed in JSON documents (README: code, message, line, column, path; plus severity, hint, file). */
export function diagnosticJson(d: Diagnostic, file?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    code: d.code,
    severity: d.severity,
    message: d.message,
    line: d.line,
    column: d.column,
    path: d.path,
  };
  if (d.hint) out.hint = d.hint;
  if (file ?? d.file) out.file = file ?? d.file;
  return out;
}

/**
 * Compiler-style text: `file:line:col severity CODE message`, then the offending source line with a
 * caret under the column (when the line exists), then the hint.
 */
export function formatDiagnosticWithExcerpt(d: Diagnostic, file: string, source: string | null): string {
  let s = `${file}:${d.line}:${d.column} ${d.severity} ${d.code} ${d.message}\n`;
  const lines = source?.split(/\r?\n/);
  const text = lines && d.line >= 1 && d.line <= lines.length ? lines[d.line - 1] : undefined;
  if (text !== undefined) {
    const no = String(d.line);
    const pad = ' '.repeat(no.length);
    // keep tabs so the caret lines up under them
    const lead = text.slice(0, Math.max(0, d.column - 1)).replace(/[^\t]/g, ' ');
    s += ` ${no} | ${text}\n ${pad} | ${lead}^\n`;
  }
  if (d.hint) s += `  hint: ${d.hint}\n`;
  return s;
}
