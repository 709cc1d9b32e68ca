/** The verdict on one case (or on the run-wide secrets check). */
export interface CaseResult {
  name: string;
  ok: boolean;
  /** why it failed (empty when ok) */
  reasons: string[];
  durationMs: number;
}

/** `PASS name` or `FAIL name: reason; reason` (one line; newlines in reasons are flattened). */
export function formatCaseLine(r: CaseResult): string {
  if (r.ok) return `PASS ${r.name}`;
  const why = r.reasons.length ? r.reasons.join('; ') : 'failed';
  return `FAIL ${r.name}: ${why.replace(/\s*\n\s*/g, ' ')}`;
}

/** The final line CI reads, exactly `N passed, M failed`. */
export function formatSummaryLine(results: ReadonlyArray<CaseResult>): string {
  const passed = results.filter((r) => r.ok).length;
  return `${passed} passed, ${results.length - passed} failed`;
}

/** The `--json` report of `noetl conformance`. */
export interface ConformanceReport {
  mode: string;
  dir: string;
  passed: number;
  failed: number;
  results: Array<{ name: string; status: 'pass' | 'fail'; reasons: string[]; duration_ms: number }>;
}

export function toJsonReport(mode: string, dir: string, results: ReadonlyArray<CaseResult>): ConformanceReport {
  const passed = results.filter((r) => r.ok).length;
  return {
    mode,
    dir,
    passed,
    failed: results.length - passed,
    results: results.map((r) => ({ name: r.name, status: r.ok ? 'pass' : 'fail', reasons: r.reasons, duration_ms: Math.round(r.durationMs) })),
  };
}
