/* Test-only helpers (not exported from index.ts). */
import type { LoadOptions, LoadResult } from './load';
import { loadPlaybook } from './load';
import type { NormalizedPlaybook } from './model';

export const HEAD = 'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: demo, path: tests/demo }\n';

/** Load and require success (throws with the diagnostics otherwise). */
export function ok(yaml: string, opts?: LoadOptions): NormalizedPlaybook {
  const r = loadPlaybook(yaml, opts);
  if (!r.ok || !r.playbook) {
    throw new Error(`expected a valid playbook, got:\n${r.diagnostics.map((d) => `${d.code}@${d.line}:${d.column} ${d.path} ${d.message}`).join('\n')}`);
  }
  return r.playbook;
}

/** `code@line` of every diagnostic (optionally only one severity). */
export function codes(r: LoadResult, severity?: 'error' | 'warning'): string[] {
  return r.diagnostics.filter((d) => !severity || d.severity === severity).map((d) => `${d.code}@${d.line}`);
}

/** A playbook whose workflow is the given YAML (indented by the caller, two spaces per level). */
export function wf(workflow: string, extra = ''): string {
  return `${HEAD}${extra}workflow:\n${workflow}`;
}
