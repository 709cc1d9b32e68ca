import type { Diagnostic } from '@noetl/common';
import { codeSeverity } from './codes';
import type { SourceIndex } from './yaml-source';
import type { SourceLoc } from './model';

export interface ReportOptions {
  /** point at the mapping key of the node instead of its value (unknown/legacy fields, set targets) */
  atKey?: boolean;
  hint?: string;
  /** override the catalogue severity (strict mode turns W_UNKNOWN_ROOT_KEY into an error) */
  severity?: 'error' | 'warning';
  /** explicit position, e.g. inside a block scalar */
  line?: number;
  column?: number;
}

/** Collects diagnostics; resolves each path to its 1-based source position. */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  /** when > 0, reports are dropped (used to build derived objects such as resolved workbook tasks) */
  private muted = 0;

  constructor(
    private readonly index: SourceIndex,
    private readonly file?: string,
  ) {}

  report(code: string, path: string, message: string, opts: ReportOptions = {}): void {
    if (this.muted > 0) return;
    const pos = opts.line !== undefined ? { line: opts.line, column: opts.column ?? 1 } : this.index.locate(path, opts.atKey);
    const d: Diagnostic = {
      code,
      severity: opts.severity ?? codeSeverity(code),
      message,
      line: pos.line,
      column: pos.column,
      path,
    };
    if (this.file !== undefined) d.file = this.file;
    if (opts.hint !== undefined) d.hint = opts.hint;
    this.items.push(d);
  }

  /** Run `fn` with reporting switched off. */
  quietly<T>(fn: () => T): T {
    this.muted++;
    try {
      return fn();
    } finally {
      this.muted--;
    }
  }

  /** Source location of an entity; `raw` (the parsed mapping itself) makes it O(1). */
  loc(path: string, raw?: unknown): SourceLoc {
    const p = (raw !== undefined ? this.index.positionOf(raw) : undefined) ?? this.index.locate(path);
    return { line: p.line, column: p.column, path };
  }

  hasErrors(): boolean {
    return this.items.some((d) => d.severity === 'error');
  }
}
