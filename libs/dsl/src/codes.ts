/**
 * The diagnostic catalogue (dsl.md §17) plus the few codes this front-end adds for shapes the
 * catalogue leaves implicit (wrong field types, malformed keychain/workbook entries, ...).
 * Every code is documented with a minimal failing example in `docs/diagnostics.md`.
 */

export type Severity = 'error' | 'warning';

export interface CodeInfo {
  severity: Severity;
  summary: string;
}

export const DIAGNOSTIC_CODES: Record<string, CodeInfo> = {
  // --- text and root (§2) ---
  E_YAML: { severity: 'error', summary: 'not valid YAML 1.2, more than one document, a duplicate key, or input too large/deep' },
  E_ROOT_FIELD: { severity: 'error', summary: 'a required root field (apiVersion, kind, metadata.name, workflow) is missing or invalid' },
  E_ROOT_VARS: { severity: 'error', summary: 'root `vars` is not part of the language' },
  W_UNKNOWN_ROOT_KEY: { severity: 'warning', summary: 'unknown root key (ignored; an error in strict mode)' },
  E_FIELD_TYPE: { severity: 'error', summary: 'a field has the wrong type' },
  E_FIELD_VALUE: { severity: 'error', summary: 'a field has a value outside its allowed set or range' },
  E_UNKNOWN_FIELD: { severity: 'error', summary: 'unknown field in a closed mapping (loop)' },
  W_UNKNOWN_FIELD: { severity: 'warning', summary: 'unknown field, ignored' },
  E_KEYCHAIN_ENTRY: { severity: 'error', summary: 'malformed or duplicate keychain entry' },
  W_WORKLOAD_KEY_SHADOWED: { severity: 'warning', summary: 'workload key is a reserved root name; reachable only as workload.<name>' },
  // --- steps (§3) ---
  E_NO_ENTRY_STEP: { severity: 'error', summary: 'the entry step does not exist' },
  E_STEP_NAME: { severity: 'error', summary: 'step name missing, not a string, empty or padded with whitespace' },
  E_DUPLICATE_STEP: { severity: 'error', summary: 'a step name is defined more than once' },
  E_RESERVED_STEP_NAME: { severity: 'error', summary: 'a step name is a reserved root name' },
  E_STEP_EMPTY: { severity: 'error', summary: 'a step has neither `tool` nor `next`' },
  E_UNKNOWN_STEP_FIELD: { severity: 'error', summary: 'unknown or legacy step field' },
  W_UNREACHABLE_STEP: { severity: 'warning', summary: 'step not reachable from the entry step' },
  // --- tasks (§4) ---
  E_DUPLICATE_TASK: { severity: 'error', summary: 'a task name is used more than once in one step' },
  E_TASK_KIND_MISSING: { severity: 'error', summary: 'a task has no `kind`' },
  E_UNKNOWN_TOOL_KIND: { severity: 'error', summary: 'the tool kind is not registered in this deployment' },
  E_INTERNAL_TOOL_KIND: { severity: 'error', summary: '`iterator` and `task_sequence` are not author-facing kinds' },
  E_LEGACY_LABELED_TASK: { severity: 'error', summary: 'label-as-key task (shape L) outside compatibility mode' },
  W_LEGACY_LABELED_TASK: { severity: 'warning', summary: 'label-as-key task normalized (compatibility mode)' },
  E_LEGACY_EVAL: { severity: 'error', summary: 'a task carries legacy `eval` / `expr`' },
  W_ARGS_ALIAS: { severity: 'warning', summary: 'task has both `input` and legacy `args`; `input` wins' },
  W_TOOL_FIELD_UNDER_SPEC: { severity: 'warning', summary: 'a tool field sits under `spec` and is not hoisted' },
  // --- policies and conditions (§6-§8) ---
  E_LEGACY_CONDITION: { severity: 'error', summary: '`expr`, `cond`, `if`, `eval`, `case` where a condition is expected' },
  E_POLICY_SHAPE: { severity: 'error', summary: 'task policy is not `{rules: [...]}` or a rule/then is malformed' },
  E_THEN_DO_MISSING: { severity: 'error', summary: 'a task policy `then` has no `do`' },
  E_UNKNOWN_DIRECTIVE: { severity: 'error', summary: '`do` is not continue | retry | jump | break | fail' },
  E_DIRECTIVE_OUTSIDE_TASK_POLICY: { severity: 'error', summary: '`do:` outside a task policy (admit, loop, next, step, executor)' },
  E_ADMIT_THEN: { severity: 'error', summary: 'admission `then` without a boolean `allow`' },
  E_UNKNOWN_JUMP_TARGET: { severity: 'error', summary: '`jump` target is not a task of the same step' },
  W_UNREACHABLE_RULE: { severity: 'warning', summary: 'rule after an `else` rule can never match' },
  W_LEGACY_SET: { severity: 'warning', summary: '`set_ctx` / `set_iter` normalized to `set`' },
  // --- set (§9) ---
  E_SET_READONLY_SCOPE: { severity: 'error', summary: '`set` target in a read-only scope (workload, keychain, args, input, output, event)' },
  E_ITER_OUTSIDE_PIPELINE: { severity: 'error', summary: '`iter.*` target in a step or arc `set`' },
  E_SET_TARGET: { severity: 'error', summary: 'malformed `set` target (empty segment or bare scope)' },
  W_SET_TARGET_TO_CTX: { severity: 'warning', summary: 'bare or `step.` target in a step/arc `set` writes ctx' },
  E_CTX_WRITE_IN_PARALLEL_LOOP: { severity: 'error', summary: '`ctx.*` write in a parallel loop without `ctx_merge: last_write_wins`' },
  // --- loops (§10) ---
  E_LOOP_ITERATOR: { severity: 'error', summary: 'loop `iterator` missing or not an identifier' },
  E_LOOP_SOURCE: { severity: 'error', summary: 'loop needs exactly one of `in` / `cursor` (cursor iff mode cursor)' },
  E_UNSUPPORTED_PROFILE: { severity: 'error', summary: 'cursor loops (profile "cursor") are not supported by this engine' },
  // --- routing (§11) ---
  E_NEXT_SHAPE: { severity: 'error', summary: '`next` is not `{spec?, arcs: [...]}` or an arc is malformed' },
  W_LEGACY_NEXT: { severity: 'warning', summary: 'legacy `next` list/string normalized (compatibility mode)' },
  E_LEGACY_NEXT_MODE: { severity: 'error', summary: '`step.spec.next_mode` is not supported' },
  E_UNKNOWN_ARC_TARGET: { severity: 'error', summary: 'arc target is not a step (and not the `end` sentinel)' },
  W_LEGACY_EVENT_NAME: { severity: 'warning', summary: "'call.done' / 'call.error' in an arc `when` rewritten" },
  // --- keychain and templates (§2.3, §12) ---
  E_KEYCHAIN_IN_SCHEDULER_TEMPLATE: { severity: 'error', summary: '`keychain` referenced in workload / when / set / args / loop.in / max_in_flight' },
  E_TEMPLATE_SYNTAX: { severity: 'error', summary: 'a template does not parse' },
  E_UNKNOWN_FILTER: { severity: 'error', summary: 'a template uses an unknown filter' },
  E_UNKNOWN_TEST: { severity: 'error', summary: 'a template uses an unknown test' },
  E_UNSUPPORTED_TEMPLATE_FEATURE: { severity: 'error', summary: 'macros, include, import, extends, blocks are not supported' },
  // --- workbook (§15) ---
  E_UNKNOWN_WORKBOOK_ENTRY: { severity: 'error', summary: 'a `kind: workbook` task names an entry that does not exist' },
  E_WORKBOOK_ENTRY: { severity: 'error', summary: 'malformed or duplicate workbook entry' },
  // --- last resort ---
  E_INTERNAL: { severity: 'error', summary: 'unexpected internal failure of the validator (a bug; please report)' },
};

/** dsl.md §13.3 — names that always resolve to the built-in definitions. */
export const RESERVED_ROOT_NAMES: readonly string[] = Object.freeze([
  'workload', 'ctx', 'args', 'input', 'iter', 'step', 'steps', 'output', 'outcome', 'event', 'keychain',
  'execution_id', 'catalog_id', 'job', 'playbook', 'env', 'loop', '_prev', '_task', '_attempt',
  'now', 'range', 'dict', 'true', 'false', 'none', 'True', 'False', 'None',
]);

/** Tool kinds this engine implements (tools.md K0.1 core kinds plus the extended ones it ships). */
export const DEFAULT_TOOL_KINDS: readonly string[] = Object.freeze([
  'python', 'postgres', 'http', 'duckdb', 'playbook', 'workbook', 'artifact', 'result_fetch', 'shell', 'noop', 'nats',
]);

/** Kinds that exist only inside engines (tools.md §5). */
export const INTERNAL_TOOL_KINDS: readonly string[] = Object.freeze(['iterator', 'task_sequence']);

/** Migration hints for legacy step fields (dsl R3.5). */
export const LEGACY_STEP_FIELD_HINTS: Record<string, string> = {
  when: 'move the condition to spec.policy.admit.rules: [{when: ..., then: {allow: true}}, {else: {then: {allow: false}}}]',
  case: 'route with next.arcs[].when instead of case',
  retry: 'use a task spec.policy rule: {when: "{{ output.status == \'error\' }}", then: {do: retry, attempts: N}}',
  sink: 'write results with an explicit task (e.g. kind: postgres) or spec.result.store',
  save: 'write results with an explicit task (e.g. kind: postgres) or spec.result.store',
  vars: 'use set with ctx.<name> targets',
  args: 'use input (step input is rendered once per step run)',
  eval: 'use task spec.policy.rules',
  expr: 'use spec.policy.admit for step conditions, spec.policy.rules in tasks',
  cond: 'use spec.policy.admit for step conditions, next.arcs[].when for routing',
  if: 'use spec.policy.admit for step conditions, next.arcs[].when for routing',
  set_ctx: 'use set: {ctx.<name>: ...}',
  set_iter: 'write iter.<name> from a task policy then.set',
  result: 'use output (result storage options) or a task set',
  outcome: 'read the step outcome as output in step set / arcs',
  type: 'use tool.kind',
};

export function codeSeverity(code: string): Severity {
  return DIAGNOSTIC_CODES[code]?.severity ?? (code.startsWith('W_') ? 'warning' : 'error');
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
export function isIdentifier(s: unknown): s is string {
  return typeof s === 'string' && IDENT.test(s);
}
