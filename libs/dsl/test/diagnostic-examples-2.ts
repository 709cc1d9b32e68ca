/** Diagnostic examples, continued (policies, set, loops, routing, templates, workbook). */
import { HEAD, type DiagnosticExample } from './diagnostic-example';

export const POLICY_AND_ROUTING_EXAMPLES: DiagnosticExample[] = [
  {
    code: 'E_LEGACY_CONDITION',
    fix: '`when` is the only condition keyword.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    next:
      arcs:
        - step: done
          cond: "{{ true }}"   # @E_LEGACY_CONDITION
  - step: done
    tool: { kind: noop }
`,
  },
  {
    code: 'E_POLICY_SHAPE',
    fix: 'A task policy is a mapping `{rules: [...]}`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      spec:
        policy:   # @E_POLICY_SHAPE
          - when: "{{ true }}"
            then: { do: continue }
`,
  },
  {
    code: 'E_THEN_DO_MISSING',
    fix: 'Every task-policy `then` names a directive with `do`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      spec:
        policy:
          rules:
            - else:
                then: { set: { ctx.x: 1 } }   # @E_THEN_DO_MISSING
`,
  },
  {
    code: 'E_UNKNOWN_DIRECTIVE',
    fix: 'Directives are continue, retry, jump, break, fail.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      spec:
        policy:
          rules:
            - else:
                then:
                  do: skip   # @E_UNKNOWN_DIRECTIVE
`,
  },
  {
    code: 'E_DIRECTIVE_OUTSIDE_TASK_POLICY',
    fix: 'Admission rules decide with `allow`; `do` belongs to task policies.',
    yaml: `${HEAD}workflow:
  - step: start
    spec:
      policy:
        admit:
          rules:
            - when: "{{ true }}"
              then:
                allow: true
                do: continue   # @E_DIRECTIVE_OUTSIDE_TASK_POLICY
    tool: { kind: noop }
`,
  },
  {
    code: 'E_ADMIT_THEN',
    fix: 'Admission `then` is `{allow: true}` or `{allow: false}`.',
    yaml: `${HEAD}workflow:
  - step: start
    spec:
      policy:
        admit:
          rules:
            - when: "{{ true }}"
              then: { allow: maybe }   # @E_ADMIT_THEN
    tool: { kind: noop }
`,
  },
  {
    code: 'E_UNKNOWN_JUMP_TARGET',
    fix: 'Jump to a task of the same step, or `previous`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      - name: first
        kind: noop
        spec:
          policy:
            rules:
              - else:
                  then:
                    do: jump
                    to: nowhere   # @E_UNKNOWN_JUMP_TARGET
`,
  },
  {
    code: 'W_UNREACHABLE_RULE',
    fix: 'Put the `else` rule last.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      spec:
        policy:
          rules:
            - else: { then: { do: continue } }
            - when: "{{ true }}"   # @W_UNREACHABLE_RULE
              then: { do: fail }
`,
  },
  {
    code: 'W_LEGACY_SET',
    fix: 'Write `set: {ctx.count: 1}`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      spec:
        policy:
          rules:
            - else:
                then:
                  do: continue
                  set_ctx: { count: 1 }   # @W_LEGACY_SET
`,
  },
  {
    code: 'E_SET_READONLY_SCOPE',
    fix: 'workload, keychain, args, input, output and event are read-only; write ctx.<name>.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    set:
      workload.limit: 5   # @E_SET_READONLY_SCOPE
`,
  },
  {
    code: 'E_ITER_OUTSIDE_PIPELINE',
    fix: 'iter.* exists only inside the pipeline: write it from a task policy `then.set`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    set:
      iter.page: 2   # @E_ITER_OUTSIDE_PIPELINE
`,
  },
  {
    code: 'E_SET_TARGET',
    fix: 'A target is `<scope>.<name>(.<name>)*` or a bare name, without empty segments.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    set:
      ctx..total: 1   # @E_SET_TARGET
`,
  },
  {
    code: 'W_SET_TARGET_TO_CTX',
    fix: 'Write `ctx.total` explicitly in step and arc `set`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    set:
      total: 1   # @W_SET_TARGET_TO_CTX
`,
  },
  {
    code: 'E_CTX_WRITE_IN_PARALLEL_LOOP',
    fix: 'Write iter.*/step.* instead, or declare `loop.spec.policy.ctx_merge: last_write_wins`.',
    yaml: `${HEAD}workload: { items: [1, 2] }
workflow:
  - step: start
    loop:
      in: "{{ items }}"
      iterator: item
      spec: { mode: parallel }
    tool:
      kind: noop
      set:
        ctx.last: "{{ iter.item }}"   # @E_CTX_WRITE_IN_PARALLEL_LOOP
`,
  },
  {
    code: 'E_LOOP_ITERATOR',
    fix: 'The iterator is an identifier.',
    yaml: `${HEAD}workload: { items: [1, 2] }
workflow:
  - step: start
    loop:
      in: "{{ items }}"
      iterator: 1st   # @E_LOOP_ITERATOR
    tool: { kind: noop }
`,
  },
  {
    code: 'E_LOOP_SOURCE',
    fix: 'A loop needs exactly one source: `in` (or `cursor` with mode cursor).',
    yaml: `${HEAD}workflow:
  - step: start
    loop:   # @E_LOOP_SOURCE
      iterator: item
    tool: { kind: noop }
`,
  },
  {
    code: 'E_UNSUPPORTED_PROFILE',
    fix: 'This engine does not implement cursor loops: loop over `in` instead.',
    yaml: `${HEAD}workflow:
  - step: start
    loop:
      cursor: { kind: postgres, auth: pg, claim: "SELECT 1" }
      iterator: row
      spec:
        mode: cursor   # @E_UNSUPPORTED_PROFILE
    tool: { kind: noop }
`,
  },
  {
    code: 'E_NEXT_SHAPE',
    fix: 'Write `next: {arcs: [{step: done}]}` (list/string forms load only in compatibility mode).',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    next: [end]   # @E_NEXT_SHAPE
`,
  },
  {
    code: 'W_LEGACY_NEXT',
    options: { compat: true },
    fix: 'Accepted in compatibility mode only; write `next: {arcs: [...]}`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    next: done   # @W_LEGACY_NEXT
  - step: done
    tool: { kind: noop }
`,
  },
  {
    code: 'E_LEGACY_NEXT_MODE',
    fix: 'Set `next.spec.mode` instead.',
    yaml: `${HEAD}workflow:
  - step: start
    spec:
      next_mode: inclusive   # @E_LEGACY_NEXT_MODE
    tool: { kind: noop }
`,
  },
  {
    code: 'E_UNKNOWN_ARC_TARGET',
    fix: 'Target an existing step (or `end` as a sentinel).',
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    next:
      arcs:
        - step: nowhere   # @E_UNKNOWN_ARC_TARGET
`,
  },
  {
    code: 'W_LEGACY_EVENT_NAME',
    fix: "Write `event.name == 'step.done'` (or 'step.failed').",
    yaml: `${HEAD}workflow:
  - step: start
    tool: { kind: noop }
    next:
      arcs:
        - step: done
          when: "{{ event.name == 'call.done' }}"   # @W_LEGACY_EVENT_NAME
  - step: done
    tool: { kind: noop }
`,
  },
  {
    code: 'E_KEYCHAIN_IN_SCHEDULER_TEMPLATE',
    fix: 'Secrets go to tools only (task fields and input), never into conditions, set or args.',
    yaml: `${HEAD}keychain:
  - name: api
    kind: bearer
    token: abc
workflow:
  - step: start
    tool: { kind: noop }
    next:
      arcs:
        - step: done
          args: { token: "{{ keychain.api.token }}" }   # @E_KEYCHAIN_IN_SCHEDULER_TEMPLATE
  - step: done
    tool: { kind: noop }
`,
  },
  {
    code: 'E_TEMPLATE_SYNTAX',
    fix: 'Close the parenthesis.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      result: "{{ (1 + 2 }}"   # @E_TEMPLATE_SYNTAX
`,
  },
  {
    code: 'E_UNKNOWN_FILTER',
    fix: 'Use a supported filter (dsl §12.5).',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      result: "{{ 'a' | frobnicate }}"   # @E_UNKNOWN_FILTER
`,
  },
  {
    code: 'E_UNKNOWN_TEST',
    fix: 'Use a supported test (dsl §12.6).',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      result: "{{ 1 is frobnicated }}"   # @E_UNKNOWN_TEST
`,
  },
  {
    code: 'E_UNSUPPORTED_TEMPLATE_FEATURE',
    fix: 'Macros, include, import, extends and blocks are not supported.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: noop
      result: "{% include 'other.j2' %}"   # @E_UNSUPPORTED_TEMPLATE_FEATURE
`,
  },
  {
    code: 'E_UNKNOWN_WORKBOOK_ENTRY',
    fix: 'Call an entry defined under `workbook`.',
    yaml: `${HEAD}workflow:
  - step: start
    tool:
      kind: workbook
      name: missing_entry   # @E_UNKNOWN_WORKBOOK_ENTRY
`,
  },
  {
    code: 'E_WORKBOOK_ENTRY',
    fix: 'Workbook entries have unique names and a single, non-workbook tool object.',
    yaml: `${HEAD}workbook:
  - name: helper
    tool: { kind: noop }
  - name: helper   # @E_WORKBOOK_ENTRY
    tool: { kind: noop }
workflow:
  - step: start
    tool: { kind: workbook, name: helper }
`,
  },
];
