import { loadPlaybook } from './index';
import { HEAD, codes, ok, wf } from './test-helpers';

describe('template checks on every template-bearing place (R12.1, R12.14)', () => {
  const BAD = '{{ (1 }}';
  const places: Array<[string, string]> = [
    ['workload value', `${HEAD}workload: { a: { deep: ["${BAD}"] } }\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`],
    ['keychain field', `${HEAD}keychain: [ { name: k, kind: bearer, token: "${BAD}" } ]\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`],
    ['executor spec', `${HEAD}executor: { spec: { timeout: "${BAD}" } }\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`],
    ['step input', wf(`  - { step: start, input: { a: "${BAD}" }, tool: { kind: noop } }\n`)],
    ['step spec', wf(`  - { step: start, spec: { timeout: "${BAD}" }, tool: { kind: noop } }\n`)],
    ['admission when', wf(`  - { step: start, spec: { policy: { admit: { rules: [ { when: "${BAD}", then: { allow: true } } ] } } }, tool: { kind: noop } }\n`)],
    ['admission bare-expression when', wf('  - { step: start, spec: { policy: { admit: { rules: [ { when: "a b", then: { allow: true } } ] } } }, tool: { kind: noop } }\n')],
    ['loop.in', wf(`  - { step: start, loop: { in: "${BAD}", iterator: x }, tool: { kind: noop } }\n`)],
    ['loop.in literal list item', wf(`  - { step: start, loop: { in: [1, "${BAD}"], iterator: x }, tool: { kind: noop } }\n`)],
    ['max_in_flight', wf(`  - { step: start, loop: { in: [1], iterator: x, spec: { mode: parallel, max_in_flight: "${BAD}" } }, tool: { kind: noop } }\n`)],
    ['loop spec', wf(`  - { step: start, loop: { in: [1], iterator: x, spec: { timeout: "${BAD}" } }, tool: { kind: noop } }\n`)],
    ['task field (nested)', wf(`  - { step: start, tool: { kind: http, url: x, headers: { A: ["${BAD}"] } } }\n`)],
    ['task input', wf(`  - { step: start, tool: { kind: noop, input: { a: "${BAD}" } } }\n`)],
    ['task args', wf(`  - { step: start, tool: { kind: noop, args: { a: "${BAD}" } } }\n`)],
    ['task auth', wf(`  - { step: start, tool: { kind: postgres, auth: "${BAD}", query: x } }\n`)],
    ['task spec', wf(`  - { step: start, tool: { kind: noop, spec: { timeout: "${BAD}" } } }\n`)],
    ['task set', wf(`  - { step: start, tool: { kind: noop, set: { a: "${BAD}" } } }\n`)],
    ['policy when', wf(`  - { step: start, tool: { kind: noop, spec: { policy: { rules: [ { when: "${BAD}", then: { do: fail } } ] } } } }\n`)],
    ['policy then.set', wf(`  - { step: start, tool: { kind: noop, spec: { policy: { rules: [ { else: { then: { do: continue, set: { ctx.a: "${BAD}" } } } } ] } } } }\n`)],
    ['policy retry delay', wf(`  - { step: start, tool: { kind: noop, spec: { policy: { rules: [ { else: { then: { do: retry, delay: "${BAD}" } } } ] } } } }\n`)],
    ['step set', wf(`  - { step: start, tool: { kind: noop }, set: { ctx.a: "${BAD}" } }\n`)],
    ['arc when', wf(`  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: end, when: "${BAD}" } ] } }\n`)],
    ['arc set', wf(`  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: end, set: { ctx.a: "${BAD}" } } ] } }\n`)],
    ['arc args', wf(`  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: end, args: { a: "${BAD}" } } ] } }\n`)],
    ['workbook entry tool', `${HEAD}workbook: [ { name: w, tool: { kind: noop, result: "${BAD}" } } ]\nworkflow: [ { step: start, tool: { kind: workbook, name: w } } ]\n`],
  ];

  it.each(places)('%s', (_where, text) => {
    const r = loadPlaybook(text);
    const errs = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errs.map((d) => d.code)).toEqual(['E_TEMPLATE_SYNTAX']);
    const line = text.split('\n')[errs[0].line - 1];
    const col = errs[0].column - 1;
    expect(line.slice(col, col + 1)).toBe('"');
  });

  it('does not treat mapping keys, names, kinds or plain strings as templates', () => {
    ok(wf('  - { step: start, tool: { name: "t", kind: noop, input: { "{{ not a template": 1 }, text: "just { braces }" } }\n'));
  });

  it('points at the string holding the template; block scalars report the inner position in the message', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      kind: python
      code: |
        x = 1
        y = {{ 1 + }}
`));
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'E_TEMPLATE_SYNTAX', line: 8, column: 13, path: 'workflow[0].tool.code' })]);
    expect(r.diagnostics[0].message).toMatch(/template line 2/);
  });

  it('reports unknown filters and tests, and unsupported features', () => {
    const r = loadPlaybook(wf('  - { step: start, tool: { kind: noop, input: { a: "{{ x | nope }}", b: "{{ x is nope }}", c: "{% macro m() %}{% endmacro %}" } } }\n'));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['E_UNKNOWN_FILTER', 'E_UNKNOWN_TEST', 'E_UNSUPPORTED_TEMPLATE_FEATURE']);
  });
});

describe('keychain in scheduler-side templates (R2.12)', () => {
  const K = '{{ keychain.k.token }}';
  const kc = 'keychain: [ { name: k, kind: bearer, token: t } ]\n';
  const forbidden: Array<[string, string]> = [
    ['admission when', `  - { step: start, spec: { policy: { admit: { rules: [ { when: "${K}", then: { allow: true } } ] } } }, tool: { kind: noop } }\n`],
    ['policy when (bare expression)', '  - { step: start, tool: { kind: noop, spec: { policy: { rules: [ { when: "keychain.k.token == 1", then: { do: fail } } ] } } } }\n'],
    ['policy then.set', `  - { step: start, tool: { kind: noop, spec: { policy: { rules: [ { else: { then: { do: continue, set: { iter.a: "${K}" } } } } ] } } } }\n`],
    ['task set', `  - { step: start, tool: { kind: noop, set: { a: "${K}" } } }\n`],
    ['step set', `  - { step: start, tool: { kind: noop }, set: { ctx.a: "${K}" } }\n`],
    ['arc when', `  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: end, when: "${K}" } ] } }\n`],
    ['arc set', `  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: end, set: { ctx.a: { nested: "${K}" } } } ] } }\n`],
    ['arc args', `  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: end, args: { a: "x {{ keychain['k'] }}" } } ] } }\n`],
    ['loop.in', `  - { step: start, loop: { in: "${K}", iterator: x }, tool: { kind: noop } }\n`],
    ['max_in_flight', `  - { step: start, loop: { in: [1], iterator: x, spec: { mode: parallel, max_in_flight: "${K}" } }, tool: { kind: noop } }\n`],
  ];
  it.each(forbidden)('rejected in %s', (_w, steps) => {
    const r = loadPlaybook(wf(steps, kc));
    expect(r.diagnostics.map((d) => d.code)).toEqual(['E_KEYCHAIN_IN_SCHEDULER_TEMPLATE']);
  });

  it('rejected in workload values: the scheduler renders them at start, without keychain (R2.12, R2.16)', () => {
    const r = loadPlaybook(`workload:\n  token: "Bearer ${K}"\n` + wf('  - { step: start, tool: { kind: noop } }\n', kc));
    expect(r.diagnostics.map((d) => [d.code, d.path])).toEqual([['E_KEYCHAIN_IN_SCHEDULER_TEMPLATE', 'workload.token']]);
  });

  it('allowed in task fields, task input, step input, auth and keychain fields', () => {
    ok(wf(`  - step: start
    input: { t: "${K}" }
    tool: { kind: http, url: x, auth: "${K}", headers: { A: "Bearer ${K}" }, input: { t: "${K}" } }
`, `keychain: [ { name: k, kind: bearer, token: t }, { name: j, kind: bearer, token: "${K}" } ]\n`));
  });

  it('a template-local variable named keychain is not the keychain', () => {
    ok(wf('  - { step: start, tool: { kind: noop }, set: { ctx.a: "{% set keychain = 1 %}{{ keychain }}" } }\n'));
  });
});

describe('cross references', () => {
  it('arc targets: steps and the end sentinel are fine; unknown targets are reported at the scalar with a hint', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: end }, { step: fetch_dta } ] }
  - step: fetch_data
    tool: { kind: noop }
`));
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([
      expect.objectContaining({ code: 'E_UNKNOWN_ARC_TARGET', line: 7, column: 44, hint: 'did you mean `fetch_data`?' }),
    ]);
  });

  it('end as a defined step is an ordinary target', () => {
    const pb = ok(wf('  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: end } ] } }\n  - { step: end, tool: { kind: noop } }\n'));
    expect(pb.steps[0].next.arcs[0].target_defined).toBe(true);
    const sentinel = ok(wf('  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: end } ] } }\n'));
    expect(sentinel.steps[0].next.arcs[0].target_defined).toBe(false);
    expect(sentinel.graph.edges).toEqual([]);
  });

  it('duplicate steps are reported at every repeat; the first gets none', () => {
    const r = loadPlaybook(wf(`  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: a } ] } }
  - { step: a, tool: { kind: noop } }
  - { step: a, tool: { kind: noop } }
  - { step: a, tool: { kind: noop } }
`));
    expect(codes(r)).toEqual(['E_DUPLICATE_STEP@7', 'E_DUPLICATE_STEP@8']);
  });

  it('duplicate tasks at every repeat', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      - { name: a, kind: noop }
      - { name: a, kind: noop }
      - { name: a, kind: noop }
`));
    expect(codes(r)).toEqual(['E_DUPLICATE_TASK@8', 'E_DUPLICATE_TASK@9']);
  });

  it('entry step: custom entry_step must exist; start is required otherwise', () => {
    const r = loadPlaybook(`${HEAD}executor: { spec: { entry_step: boot } }\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`);
    expect(r.diagnostics).toEqual([expect.objectContaining({ code: 'E_NO_ENTRY_STEP', line: 4, column: 33 })]);
  });

  it('jump targets: same-step tasks and previous; tasks of other steps get a hint', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      - { name: a, kind: noop, spec: { policy: { rules: [ { when: "{{ false }}", then: { do: jump, to: b } } ] } } }
      - { name: b, kind: noop, spec: { policy: { rules: [ { when: "{{ false }}", then: { do: jump, to: prev } } ] } } }
      - { name: c, kind: noop, spec: { policy: { rules: [ { when: "{{ false }}", then: { do: jump, to: x } } ] } } }
      - { name: d, kind: noop, spec: { policy: { rules: [ { when: "{{ false }}", then: { do: jump } } ] } } }
    next: { arcs: [ { step: other } ] }
  - step: other
    tool: [ { name: x, kind: noop } ]
`));
    expect(r.diagnostics.map((d) => [d.code, d.line, d.hint])).toEqual([
      ['E_UNKNOWN_JUMP_TARGET', 9, expect.stringContaining('belongs to step `other`')],
      ['E_UNKNOWN_JUMP_TARGET', 10, undefined],
    ]);
  });

  it('ctx writes in parallel loops (R9.16): task set, policy set, set_ctx; not with ctx_merge or sequential', () => {
    const loop = (spec: string) => wf(`  - step: start
    loop: { in: [1, 2], iterator: x, spec: ${spec} }
    tool:
      - name: a
        kind: noop
        set: { ctx.a: 1, iter.b: 2, step.c: 3 }
        spec:
          policy:
            rules:
              - else: { then: { do: continue, set: { ctx.d: 1 }, set_ctx: { e: 2 } } }
`);
    const r = loadPlaybook(loop('{ mode: parallel }'));
    expect(codes(r, 'error')).toEqual(['E_CTX_WRITE_IN_PARALLEL_LOOP@10', 'E_CTX_WRITE_IN_PARALLEL_LOOP@14', 'E_CTX_WRITE_IN_PARALLEL_LOOP@14']);
    expect(codes(loadPlaybook(loop('{ mode: parallel, policy: { ctx_merge: last_write_wins } }')), 'error')).toEqual([]);
    expect(codes(loadPlaybook(loop('{ mode: sequential }')), 'error')).toEqual([]);
  });

  it('unreachable steps are warnings; cycles and the entry are reachable', () => {
    const r = loadPlaybook(wf(`  - { step: start, tool: { kind: noop }, next: { arcs: [ { step: a } ] } }
  - { step: a, tool: { kind: noop }, next: { arcs: [ { step: start } ] } }
  - { step: island, tool: { kind: noop }, next: { arcs: [ { step: island2 } ] } }
  - { step: island2, tool: { kind: noop }, next: { arcs: [ { step: island } ] } }
`));
    expect(r.ok).toBe(true);
    expect(codes(r)).toEqual(['W_UNREACHABLE_STEP@7', 'W_UNREACHABLE_STEP@8']);
    expect(r.playbook!.graph.unreachable).toEqual(['island', 'island2']);
  });
});

describe('structure checks', () => {
  it('root fields, vars, unknown keys (strict mode), workflow shape', () => {
    expect(codes(loadPlaybook('kind: Playbook\nworkflow: []\nvars: {}\nextra: 1\n'), 'error'))
      .toEqual(['E_ROOT_FIELD@1', 'E_ROOT_FIELD@1', 'E_ROOT_FIELD@2', 'E_ROOT_VARS@3']);
    const extra = `${HEAD}spec: {}\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`;
    expect(loadPlaybook(extra).diagnostics).toEqual([expect.objectContaining({ code: 'W_UNKNOWN_ROOT_KEY', severity: 'warning', line: 4, column: 1 })]);
    const strict = loadPlaybook(extra, { strict: true });
    expect(strict.ok).toBe(false);
    expect(strict.diagnostics).toEqual([expect.objectContaining({ code: 'W_UNKNOWN_ROOT_KEY', severity: 'error' })]);
  });

  it('legacy step fields carry a migration hint', () => {
    const r = loadPlaybook(wf('  - { step: start, tool: { kind: noop }, case: [], retry: {}, args: {}, sink: {}, bogus: 1 }\n'));
    expect(r.diagnostics.map((d) => [d.code, d.hint !== undefined])).toEqual(Array(5).fill(['E_UNKNOWN_STEP_FIELD', true]));
  });

  it('legacy condition keywords in rules and arcs', () => {
    const r = loadPlaybook(wf(`  - step: start
    spec: { policy: { admit: { rules: [ { expr: "x", then: { allow: true } } ] } } }
    tool: { kind: noop, spec: { policy: { rules: [ { if: "x", then: { do: fail } } ] } } }
    next: { arcs: [ { step: end, case: x } ] }
`));
    expect(r.diagnostics.filter((d) => d.code === 'E_LEGACY_CONDITION').map((d) => d.line)).toEqual([6, 7, 8]);
  });

  it('tool kinds: missing, internal, unknown, custom registry, executor.requires', () => {
    const r = loadPlaybook(`${HEAD}executor: { requires: { tools: [python, wasm] } }
workflow:
  - step: start
    tool:
      - { name: a, message: x }
      - { name: b, kind: task_sequence }
      - { name: c, kind: snowflake }
      - { name: d, kind: 7 }
`);
    expect(codes(r)).toEqual(['E_UNKNOWN_TOOL_KIND@4', 'E_TASK_KIND_MISSING@8', 'E_INTERNAL_TOOL_KIND@9', 'E_UNKNOWN_TOOL_KIND@10', 'E_UNKNOWN_TOOL_KIND@11']);
    ok(wf('  - { step: start, tool: { kind: snowflake } }\n'), { toolKinds: ['snowflake'] });
    expect(loadPlaybook(wf('  - { step: start, tool: { kind: noop } }\n'), { toolKinds: ['python'] }).ok).toBe(false);
  });

  it('tool fields under spec warn; spec knobs do not', () => {
    const r = loadPlaybook(wf('  - { step: start, tool: { kind: python, spec: { code: x, timeout: 3, pool: p, result: {} }, code: "result = 1" } }\n'));
    expect(codes(r)).toEqual(['W_TOOL_FIELD_UNDER_SPEC@5']);
  });

  it('task policy shape errors', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      - { name: a, kind: noop, spec: { policy: { on_unmatched: never, rules: [] } } }
      - { name: b, kind: noop, spec: { policy: { on_unmatched: fail } } }
      - { name: c, kind: noop, spec: { policy: { rules: [ { then: { do: fail } } ] } } }
      - { name: d, kind: noop, spec: { policy: { rules: [ { when: 1, then: { do: fail } } ] } } }
      - { name: e, kind: noop, spec: { policy: { rules: [ { when: x, then: { do: retry, attempts: 0, backoff: random } } ] } } }
      - { name: f, kind: noop, spec: { policy: { rules: [ { when: x, then: { do: continue, bogus: 1 } } ] } } }
`));
    expect(codes(r)).toEqual(['E_POLICY_SHAPE@7', 'E_POLICY_SHAPE@8', 'E_POLICY_SHAPE@9', 'E_POLICY_SHAPE@10', 'E_FIELD_VALUE@11', 'E_FIELD_VALUE@11', 'E_POLICY_SHAPE@12']);
  });

  it('directives outside task policies are rejected wherever they appear', () => {
    const r = loadPlaybook(`${HEAD}executor: { spec: { policy: { do: fail } } }
workflow:
  - step: start
    spec: { policy: { do: fail, admit: { rules: [ { else: { then: { do: continue } } } ] } } }
    loop: { in: [1], iterator: x, spec: { policy: { do: retry } } }
    tool: { kind: noop }
    next: { spec: { policy: { do: break } }, arcs: [ { step: end, spec: { policy: { do: jump } } } ] }
`);
    expect(codes(r)).toEqual([
      'E_DIRECTIVE_OUTSIDE_TASK_POLICY@4', 'E_DIRECTIVE_OUTSIDE_TASK_POLICY@7', 'E_ADMIT_THEN@7', 'E_DIRECTIVE_OUTSIDE_TASK_POLICY@7',
      'E_DIRECTIVE_OUTSIDE_TASK_POLICY@8', 'E_DIRECTIVE_OUTSIDE_TASK_POLICY@10', 'E_DIRECTIVE_OUTSIDE_TASK_POLICY@10',
    ]);
  });

  it('loops: iterator, source, cursor profile', () => {
    const r = loadPlaybook(wf(`  - { step: start, loop: { in: 5, iterator: x }, tool: { kind: noop }, next: { arcs: [ { step: b } ] } }
  - { step: b, loop: { in: [1], cursor: {}, iterator: "a-b" }, tool: { kind: noop }, next: { arcs: [ { step: c } ] } }
  - { step: c, loop: { cursor: { claim: x }, iterator: r, spec: { mode: cursor } }, tool: { kind: noop } }
`));
    expect(codes(r)).toEqual(['E_LOOP_SOURCE@5', 'E_LOOP_SOURCE@6', 'E_LOOP_SOURCE@6', 'E_UNSUPPORTED_PROFILE@6', 'E_LOOP_ITERATOR@6', 'E_UNSUPPORTED_PROFILE@7']);
  });

  it('next shape: missing arcs, bad mode, unknown arc fields, arcs without step', () => {
    const r = loadPlaybook(wf(`  - { step: start, tool: { kind: noop }, next: { spec: { mode: random } } }
  - { step: b, tool: { kind: noop }, next: { arcs: [ { to: c }, { step: c, weight: 2 } ] } }
`));
    expect(codes(r, 'error')).toEqual(['E_NEXT_SHAPE@5', 'E_NEXT_SHAPE@5', 'E_NEXT_SHAPE@6', 'E_NEXT_SHAPE@6', 'E_UNKNOWN_ARC_TARGET@6', 'E_NEXT_SHAPE@6']);
  });

  it('reserved step names and step name shape', () => {
    const r = loadPlaybook(wf(`  - { step: start, tool: { kind: noop } }
  - { step: output, tool: { kind: noop } }
  - { step: "", tool: { kind: noop } }
  - { tool: { kind: noop } }
`));
    expect(codes(r, 'error')).toEqual(['E_RESERVED_STEP_NAME@6', 'E_STEP_NAME@7', 'E_STEP_NAME@8']);
  });

  it('W_WORKLOAD_KEY_SHADOWED for every reserved workload key', () => {
    const r = loadPlaybook(`${HEAD}workload: { ctx: 1, steps: 2, fine: 3 }\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`);
    expect(codes(r)).toEqual(['W_WORKLOAD_KEY_SHADOWED@4', 'W_WORKLOAD_KEY_SHADOWED@4']);
  });
});
