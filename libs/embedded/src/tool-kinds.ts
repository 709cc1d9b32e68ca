import type { NormalizedPlaybook } from '@noetl/dsl';

/**
 * Tool kinds a playbook needs at run time, sorted: every task's kind, with `kind: workbook` calls
 * replaced by the kind of the workbook entry they run.
 */
export function toolKindsOf(playbook: NormalizedPlaybook): string[] {
  const kinds = new Set<string>();
  for (const step of playbook.steps) {
    for (const t of step.tasks) {
      if (t.workbook) kinds.add(t.workbook.task.kind);
      else kinds.add(t.kind);
    }
  }
  return [...kinds].sort();
}
