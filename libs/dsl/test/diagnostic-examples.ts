/**
 * One minimal failing playbook per diagnostic code. A trailing `# @CODE` comment marks the line
 * where that diagnostic must be reported. Used by diagnostics.spec.ts and to generate
 * docs/diagnostics.md (gen-diagnostics-doc.ts), so the documentation is tested.
 */
import { HEAD, type DiagnosticExample } from './diagnostic-example';
import { POLICY_AND_ROUTING_EXAMPLES } from './diagnostic-examples-2';

export { HEAD };
export type { DiagnosticExample };

export const DIAGNOSTIC_EXAMPLES: DiagnosticExample[] = [
  {
    code: 'E_YAML',
    fix: 'A key may appear once per mapping; a file holds one document; the text must be YAML 1.2.',
    yaml: `${HEAD}metadata: { name: again }   # @E_YAML
workflow:
  - step: start
    tool: { kind: noop }
`,
  },
  {
    code: 'E_ROOT_FIELD',
    fix: 'Root needs apiVersion: noetl.io/v2, kind: Playbook, metadata.name and a non-empty workflow.',
    yaml: `apiVersion: noetl.io/v2
kind: Workflow   # @E_ROOT_FIELD
metadata: { name: demo }
workflow:
  - step: start
    tool: { kind: noop }
`,
  },
  {
    code: 'E_ROOT_VARS',
    fix: 'Put defaults in `workload`; write runtime values with `set: {ctx.<name>: ...}`.',
    yaml: `${HEAD}vars: { retries: 3 }   # @E_ROOT_VARS
workflow:
  - step: start
    tool: { kind: noop }
`,
  },
  {
    code: 'W_UNKNOWN_ROOT_KEY',
    fix: 'Remove the key (it is ignored; `strict: true` makes it an error).',
    yaml: `${HEAD}tracing: { enabled: true }   # @W_UNKNOWN_ROOT_KEY
workflow:
  - step: start
    tool: { kind: noop }
`,
  },
  {
    code: 'E_FIELD_TYPE',
    fix: 'Step `input` is a mapping of names to values.',
    yaml: `${HEAD}workflow:
  - step: start
    input: [1, 2]   # @E_FIELD_TYPE
    tool: { kind: noop }
`,
  },
  {
    code: 'E_FIELD_VALUE',
    fix: 'Loop modes are sequential, parallel and cursor.',
    yaml: `${HEAD}workload: { items: [1, 2] }
workflow:
  - step: start
    loop:
      in: "{{ items }}"
      iterator: item
      spec: { mode: async }   # @E_FIELD_VALUE
    tool: { kind: noop }
`,
  },
  {
    code: 'E_UNKNOWN_FIELD',
    fix: '`mode` and `max_in_flight` live under `loop.spec`.',
    yaml: `${HEAD}workload: { items: [1, 2] }
workflow:
  - step: start
    loop:
      in: "{{ items }}"
      iterator: item
      mode: parallel   # @E_UNKNOWN_FIELD
    tool: { kind: noop }
`,
  },
  {
    code: 'W_UNKNOWN_FIELD',
    fix: 'Remove the field; it has no meaning here and is ignored.',
    yaml: `${HEAD}executor:
  engine: fast   # @W_UNKNOWN_FIELD
workflow:
  - step: start
    tool: { kind: noop }
`,
  },
  {
    code: 'E_KEYCHAIN_ENTRY',
    fix: 'Keychain entries need an identifier `name` (unique) and a known `kind`.',
    yaml: `${HEAD}keychain:
  - name: api
    kind: vault_magic   # @E_KEYCHAIN_ENTRY
workflow:
  - step: start
    tool: { kind: noop }
`,
  },
  {
    code: 'W_WORKLOAD_KEY_SHADOWED',
    fix: 'Rename the key, or read it as `workload.input`.',
    yaml: `${HEAD}workload:
  input: 3   # @W_WORKLOAD_KEY_SHADOWED
workflow:
  - step: start
    tool: { kind: noop }
`,
  },
  {
    code: 'E_NO_ENTRY_STEP',
    fix: 'Name the first step `start`, or set `executor.spec.entry_step`.',
    yaml: `${HEAD}workflow:   # @E_NO_ENTRY_STEP
  - step: begin
    tool: { kind: noop }
`,
  },
  {
    code: 'E_STEP_NAME',
    fix: 'A step name is a non-empty string without surrounding whitespace.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: " padded" } ] }
  - step: " padded"   # @E_STEP_NAME
    tool: { kind: noop }
`,
  },
  {
    code: 'E_DUPLICATE_STEP',
    fix: 'Step names are unique; every repeated definition after the first is reported.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
  - step: start   # @E_DUPLICATE_STEP
    tool: { kind: noop }
`,
  },
  {
    code: 'E_RESERVED_STEP_NAME',
    fix: 'Reserved root names (dsl §13.3) cannot name steps: rename it.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: ctx } ] }
  - step: ctx   # @E_RESERVED_STEP_NAME
    tool: { kind: noop }
`,
  },
  {
    code: 'E_STEP_EMPTY',
    fix: 'Give the step a `tool`, or `next` for a routing-only step.',
    yaml: `${HEAD}workflow:
  - step: start   # @E_STEP_EMPTY
    desc: nothing to do
`,
  },
  {
    code: 'E_UNKNOWN_STEP_FIELD',
    fix: 'Step-level `when` is gone: use `spec.policy.admit`.',
    yaml: `${HEAD}workflow:
  - step: start
    when: "{{ true }}"   # @E_UNKNOWN_STEP_FIELD
    tool: { kind: noop }
`,
  },
  {
    code: 'W_UNREACHABLE_STEP',
    fix: 'Add an arc to the step, or remove it.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
  - step: orphan   # @W_UNREACHABLE_STEP
    tool: { kind: noop }
`,
  },
  {
    code: 'E_DUPLICATE_TASK',
    fix: 'Task names are unique within a step (synthetic task_<i> names included).',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      - name: fetch
        kind: noop
      - name: fetch   # @E_DUPLICATE_TASK
        kind: noop
`,
  },
  {
    code: 'E_TASK_KIND_MISSING',
    fix: 'Every task needs `kind`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      - name: first   # @E_TASK_KIND_MISSING
        message: no kind here
`,
  },
  {
    code: 'E_UNKNOWN_TOOL_KIND',
    fix: 'Use a kind this deployment supports (see the hint).',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: snowflake   # @E_UNKNOWN_TOOL_KIND
      command: SELECT 1
`,
  },
  {
    code: 'E_INTERNAL_TOOL_KIND',
    fix: 'Looping is `step.loop`; pipelines are `step.tool` lists.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: iterator   # @E_INTERNAL_TOOL_KIND
`,
  },
  {
    code: 'E_LEGACY_LABELED_TASK',
    fix: 'Write `- name: fetch` followed by the task fields.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      - fetch:   # @E_LEGACY_LABELED_TASK
          kind: noop
`,
  },
  {
    code: 'W_LEGACY_LABELED_TASK',
    options: { compat: true },
    fix: 'Accepted in compatibility mode only; rewrite as `- name: fetch`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      - fetch:   # @W_LEGACY_LABELED_TASK
          kind: noop
`,
  },
  {
    code: 'E_LEGACY_EVAL',
    fix: 'Use `spec.policy.rules` with `when`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      eval: "{{ output.status == 'ok' }}"   # @E_LEGACY_EVAL
`,
  },
  {
    code: 'W_ARGS_ALIAS',
    fix: 'Merge `args` into `input` (input wins).',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: python
      input: { a: 1 }
      args: { b: 2 }   # @W_ARGS_ALIAS
      code: "result = a"
`,
  },
  {
    code: 'W_TOOL_FIELD_UNDER_SPEC',
    fix: 'Move the tool field next to `kind`; `spec` holds knobs (timeout, policy, result, pool).',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: postgres
      auth: pg
      spec:
        command: SELECT 1   # @W_TOOL_FIELD_UNDER_SPEC
`,
  },
  ...POLICY_AND_ROUTING_EXAMPLES,
];

/** Lines carrying `# @CODE` markers: code -> 1-based lines. */
export function markers(yaml: string): Array<{ code: string; line: number }> {
  const out: Array<{ code: string; line: number }> = [];
  yaml.split('\n').forEach((l, i) => {
    for (const m of l.matchAll(/# @([A-Z_]+)/g)) out.push({ code: m[1], line: i + 1 });
  });
  return out;
}
