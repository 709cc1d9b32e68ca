import { loadPlaybook } from './index';
import { HEAD, codes, ok, wf } from './test-helpers';

describe('tool shapes and synthetic names (R4.2)', () => {
  it('normalizes shapes A, A-named, B, C, mixed lists and routing-only steps', () => {
    const pb = ok(wf(`  - step: start
    next: { arcs: [ { step: a }, { step: a_named }, { step: b }, { step: c } ] }
  - step: a
    tool: { kind: noop }
  - step: a_named
    tool: { name: only, kind: noop }
  - step: b
    tool:
      - { name: first, kind: noop }
      - { name: second, kind: noop }
  - step: c
    tool:
      - { kind: noop }
      - { name: named, kind: noop }
      - { kind: noop }
`));
    const names = Object.fromEntries(pb.steps.map((s) => [s.name, s.tasks.map((t) => `${t.name}:${t.kind}`)]));
    expect(names).toEqual({
      start: ['start_task:noop'],
      a: ['a_task:noop'],
      a_named: ['only:noop'],
      b: ['first:noop', 'second:noop'],
      c: ['task_0:noop', 'named:noop', 'task_2:noop'],
    });
    expect(pb.steps[0].tasks[0]).toMatchObject({ spec: {}, fields: {} });
  });

  it('rejects a synthetic name colliding with an explicit one', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      - { name: task_1, kind: noop }
      - { kind: noop }
`));
    expect(codes(r, 'error')).toEqual(['E_DUPLICATE_TASK@8']);
  });

  it('splits task keys into input/auth/spec/policy/set/fields', () => {
    const pb = ok(wf(`  - step: start
    tool:
      kind: http
      desc: fetch things
      url: "{{ workload.api }}/x"
      method: POST
      auth: "{{ db_auth }}"
      input: { a: 1 }
      headers: { X-A: b }
      spec:
        timeout: 5
        pool: fast
        policy:
          rules:
            - when: "{{ output.status == 'error' }}"
              then: { do: retry, attempts: 4, backoff: exponential, delay: 0.5, max_delay: 10 }
      set: { fetched: "{{ output }}" }
`));
    const t = pb.steps[0].tasks[0];
    expect(t).toMatchObject({
      name: 'start_task', kind: 'http', desc: 'fetch things', auth: '{{ db_auth }}', input: { a: 1 },
      spec: { timeout: 5, pool: 'fast' },
      fields: { url: '{{ workload.api }}/x', method: 'POST', headers: { 'X-A': 'b' } },
      set: [{ target: 'fetched', scope: 'step', path: ['fetched'], value: '{{ output }}' }],
    });
    expect(t.spec).not.toHaveProperty('policy');
    expect(t.policy).toEqual({
      on_unmatched: 'auto',
      rules: [expect.objectContaining({
        when: "{{ output.status == 'error' }}", else: false,
        then: { do: 'retry', attempts: 4, backoff: 'exponential', delay: 0.5, max_delay: 10 },
      })],
    });
  });
});

describe('legacy aliases (§18)', () => {
  it('task args -> input; both -> W_ARGS_ALIAS with input winning; container args stays a field', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      - { name: a, kind: python, args: { x: 1 }, code: "result = x" }
      - { name: b, kind: python, input: { y: 2 }, args: { x: 1 }, code: "result = y" }
      - { name: c, kind: container, image: busybox, args: [echo, hi] }
`), { toolKinds: ['python', 'container'] });
    expect(codes(r)).toEqual(['W_ARGS_ALIAS@8']);
    const [a, b, c] = r.playbook!.steps[0].tasks;
    expect(a.input).toEqual({ x: 1 });
    expect(b.input).toEqual({ y: 2 });
    expect(c.input).toBeUndefined();
    expect(c.fields.args).toEqual(['echo', 'hi']);
  });

  it('set_ctx / set_iter -> set with ctx./iter. targets (W_LEGACY_SET)', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      kind: noop
      spec:
        policy:
          rules:
            - else:
                then:
                  do: continue
                  set: { a: 1 }
                  set_ctx: { total: 2 }
                  set_iter: { page: 3 }
`));
    expect(codes(r)).toEqual(['W_LEGACY_SET@15', 'W_LEGACY_SET@16']);
    expect(r.playbook!.steps[0].tasks[0].policy!.rules[0].then.set).toEqual([
      { target: 'a', scope: 'step', path: ['a'], value: 1 },
      { target: 'ctx.total', scope: 'ctx', path: ['total'], value: 2 },
      { target: 'iter.page', scope: 'iter', path: ['page'], value: 3 },
    ]);
  });

  it('else shorthand {else: {do, set}} -> {else: {then}}', () => {
    const pb = ok(wf(`  - step: start
    tool:
      kind: noop
      spec:
        policy:
          rules:
            - when: "{{ false }}"
              then: { do: fail }
            - else: { do: continue, set: { ctx.n: 1 } }
`));
    expect(pb.steps[0].tasks[0].policy!.rules[1]).toMatchObject({
      else: true, then: { do: 'continue', set: [{ target: 'ctx.n', scope: 'ctx', path: ['n'], value: 1 }] },
    });
    expect(pb.steps[0].tasks[0].policy!.rules[1]).not.toHaveProperty('when');
  });

  it("rewrites 'call.done' / \"call.error\" in arc when (W_LEGACY_EVENT_NAME)", () => {
    const r = loadPlaybook(wf(`  - step: start
    tool: { kind: noop }
    next:
      arcs:
        - { step: a, when: "{{ event.name == 'call.done' }}" }
        - { step: b, when: "event.name == \\"call.error\\"" }
        - { step: c, when: "{{ 'call.done_not' }}" }
  - { step: a, tool: { kind: noop } }
  - { step: b, tool: { kind: noop } }
  - { step: c, tool: { kind: noop } }
`));
    expect(codes(r)).toEqual(['W_LEGACY_EVENT_NAME@9', 'W_LEGACY_EVENT_NAME@10']);
    const arcs = r.playbook!.steps[0].next.arcs;
    expect(arcs.map((a) => a.when)).toEqual(["{{ event.name == 'step.done' }}", 'event.name == "step.failed"', "{{ 'call.done_not' }}"]);
    expect(arcs.map((a) => a.failure_aware)).toEqual([true, true, false]);
  });

  it('apiVersion noetl.io/v10 -> v2; keychain secret_manager -> secrets', () => {
    const pb = ok(`apiVersion: noetl.io/v10
kind: Playbook
metadata: { name: x }
keychain:
  - { name: gcp, kind: secret_manager, provider: gcp, map: { token: "projects/p/secrets/t" } }
  - { name: tok, kind: bearer, scope: local, token: "{{ keychain.gcp.token }}" }
workflow:
  - step: start
    tool: { kind: noop }
`);
    expect(pb.apiVersion).toBe('noetl.io/v2');
    expect(pb.keychain).toEqual([
      { name: 'gcp', kind: 'secrets', scope: 'global', fields: { provider: 'gcp', map: { token: 'projects/p/secrets/t' } } },
      { name: 'tok', kind: 'bearer', scope: 'local', fields: { token: '{{ keychain.gcp.token }}' } },
    ]);
    expect(pb.metadata).toEqual({ name: 'x', path: 'x' });
  });

  it('jump aliases prev / _previous / @previous -> previous', () => {
    const pb = ok(wf(`  - step: start
    tool:
${['prev', '_previous', '@previous', 'previous'].map((to, i) => `      - name: t${i}
        kind: noop
        spec: { policy: { rules: [ { when: "{{ false }}", then: { do: jump, to: "${to}" } } ] } }`).join('\n')}
`));
    expect(pb.steps[0].tasks.map((t) => t.policy!.rules[0].then.to)).toEqual(['previous', 'previous', 'previous', 'previous']);
  });

  it('legacy task output / output_select -> spec.result (explicit spec.result wins); step output', () => {
    const pb = ok(wf(`  - step: start
    tool:
      - name: a
        kind: noop
        output: { store: { kind: fs }, output_select: [count], inline_max_bytes: 10 }
        output_select: [{ path: "$.next", as: next_cursor }]
        spec: { result: { inline_max_bytes: 20 } }
    output: { preview_max_bytes: 64, select: [n] }
`));
    expect(pb.steps[0].tasks[0].spec.result).toEqual({
      store: { kind: 'fs' }, select: ['count', { path: '$.next', as: 'next_cursor' }], inline_max_bytes: 20,
    });
    expect(pb.steps[0].tasks[0].fields).toEqual({});
    expect(pb.steps[0].output).toEqual({ preview_max_bytes: 64, select: ['n'] });
  });

  it('kind: playbook retry block -> prepended policy rule (tools K2.14)', () => {
    const pb = ok(wf(`  - step: start
    tool:
      - name: child
        kind: playbook
        path: demo/child
        retry: { max_attempts: 4, retry_on: [timeout, connection_error, child_failed, weird], backoff: 2 }
        spec: { policy: { rules: [ { when: "{{ output.status == 'error' }}", then: { do: fail } } ] } }
      - name: plain
        kind: playbook
        path: demo/child
        retry: { max_attempts: 2 }
`));
    const [child, plain] = pb.steps[0].tasks;
    expect(child.fields).toEqual({ path: 'demo/child' });
    expect(child.policy!.rules.map((r) => [r.when, r.then])).toEqual([
      ["{{ output.status == 'error' and output.error.kind in ['timeout', 'connection', 'child_failed', 'weird'] }}",
        { do: 'retry', attempts: 4, backoff: 'fixed', delay: 2 }],
      ["{{ output.status == 'error' }}", { do: 'fail' }],
    ]);
    expect(plain.policy).toEqual({
      on_unmatched: 'auto',
      rules: [expect.objectContaining({ when: "{{ output.status == 'error' }}", then: { do: 'retry', attempts: 2, backoff: 'fixed', delay: 1 } })],
    });
  });
});

describe('set targets (R9.13)', () => {
  it('resolves scopes per location and warns where bare/step. keys go to ctx', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      kind: noop
      set: { ctx.a.b: 1, iter.p: 2, step.s: 3, bare: 4, dotted.x: 5 }
    set: { ctx.c: 1, step.d: 2, e: 3 }
    next:
      arcs:
        - step: end
          set: { ctx.f: 1, g: 2 }
`));
    expect(codes(r)).toEqual(['W_SET_TARGET_TO_CTX@9', 'W_SET_TARGET_TO_CTX@9', 'W_SET_TARGET_TO_CTX@13']);
    const s = r.playbook!.steps[0];
    const view = (b: typeof s.set) => b!.map((e) => `${e.target}->${e.scope}:${e.path.join('.')}`);
    expect(view(s.tasks[0].set)).toEqual(['ctx.a.b->ctx:a.b', 'iter.p->iter:p', 'step.s->step:s', 'bare->step:bare', 'dotted.x->step:dotted.x']);
    expect(view(s.set)).toEqual(['ctx.c->ctx:c', 'step.d->ctx:d', 'e->ctx:e']);
    expect(view(s.next.arcs[0].set)).toEqual(['ctx.f->ctx:f', 'g->ctx:g']);
  });

  it('rejects read-only scopes, iter outside pipelines and malformed targets', () => {
    const r = loadPlaybook(wf(`  - step: start
    tool:
      kind: noop
      set: { workload.a: 1, keychain.b: 1, args.c: 1, input.d: 1, output.e: 1, event.f: 1, ctx: 1, "ctx. x": 1 }
    set: { iter.p: 1 }
    next: { arcs: [ { step: end, set: { iter.q: 1, outcome.z: 1 } } ] }
`));
    expect(codes(r, 'error')).toEqual([
      ...Array(6).fill('E_SET_READONLY_SCOPE@8'), 'E_SET_TARGET@8', 'E_SET_TARGET@8',
      'E_ITER_OUTSIDE_PIPELINE@9', 'E_ITER_OUTSIDE_PIPELINE@10', 'E_SET_READONLY_SCOPE@10',
    ]);
  });
});

describe('workbook (R15.1, R15.2)', () => {
  it('resolves list-form entries with deep-merged input/spec; label <step>_task for shape A', () => {
    const pb = ok(`${HEAD}workbook:
  - name: add
    desc: adds
    tool:
      kind: python
      input: { a: 1, opts: { x: 1, y: 2 } }
      spec: { timeout: 5, result: { inline_max_bytes: 9 } }
      code: "result = a + b"
    assert: { expects: [a, b], returns: [] }
workflow:
  - step: start
    tool:
      kind: workbook
      name: add
      input: { b: 2, opts: { y: 3 } }
      spec: { timeout: 7 }
    next: { arcs: [ { step: listed } ] }
  - step: listed
    tool:
      - { name: call_it, kind: workbook, entry: add }
      - { name: add, kind: workbook }
`);
    const t = pb.steps[0].tasks[0];
    expect(t.name).toBe('start_task');
    expect(t.workbook).toEqual({
      entry: 'add', expects: ['a', 'b'], returns: [],
      task: expect.objectContaining({
        name: 'start_task', kind: 'python', input: { a: 1, b: 2, opts: { x: 1, y: 3 } },
        spec: { timeout: 7, result: { inline_max_bytes: 9 } }, fields: { code: 'result = a + b' },
      }),
    });
    expect(pb.workbook.add).toMatchObject({ name: 'add', desc: 'adds', assert: { expects: ['a', 'b'], returns: [] } });
    const [callIt, add] = pb.steps[1].tasks;
    expect([callIt.name, callIt.workbook!.entry, callIt.workbook!.task.name]).toEqual(['call_it', 'add', 'call_it']);
    expect([add.name, add.workbook!.entry]).toEqual(['add', 'add']);
  });

  it('accepts the {tasks: {...}} form', () => {
    const pb = ok(`${HEAD}workbook:
  tasks:
    hello: { kind: noop, result: { hi: 1 } }
workflow:
  - step: start
    tool: { kind: workbook, entry: hello }
`);
    expect(pb.workbook).toEqual({ hello: { name: 'hello', tool: { kind: 'noop', result: { hi: 1 } } } });
    expect(pb.steps[0].tasks[0].workbook!.task.fields).toEqual({ result: { hi: 1 } });
  });

  it('rejects unknown entries, list tools, recursion and a bad workbook shape', () => {
    const r = loadPlaybook(`${HEAD}workbook:
  - { name: listy, tool: [ { kind: noop } ] }
  - { name: loop, tool: { kind: workbook, name: listy } }
workflow:
  - step: start
    tool:
      - { name: a, kind: workbook, entry: nope }
      - { name: b, kind: workbook, entry: listy }
      - { name: c, kind: workbook }
`);
    expect(codes(r, 'error')).toEqual(['E_WORKBOOK_ENTRY@5', 'E_WORKBOOK_ENTRY@6', 'E_UNKNOWN_WORKBOOK_ENTRY@10', 'E_UNKNOWN_WORKBOOK_ENTRY@12']);
    expect(codes(loadPlaybook(`${HEAD}workbook: 3\nworkflow: [ { step: start, tool: { kind: noop } } ]\n`), 'error')).toEqual(['E_WORKBOOK_ENTRY@4']);
  });
});

describe('executor, router and loop defaults', () => {
  it('executor defaults: entry start, pool default, no_next_is_error false, empty policy', () => {
    const pb = ok(wf('  - step: start\n    tool: { kind: noop }\n'));
    expect(pb.executor).toEqual({ spec: {}, policy: {}, entry_step: 'start', pool: 'default', no_next_is_error: false });
    expect(pb.steps[0].next).toEqual({ mode: 'exclusive', on_no_match: 'complete', arcs: [] });
    expect(pb.workload).toEqual({});
    expect(pb.workbook).toEqual({});
    expect(pb.keychain).toEqual([]);
  });

  it('executor spec and policy; no_next_is_error flips the on_no_match default', () => {
    const pb = ok(`${HEAD}executor:
  profile: distributed
  spec:
    entry_step: boot
    pool: etl
    no_next_is_error: true
    timeout: 30
    policy:
      defaults: { timeout_s: 45 }
      results: { reference_first: true, inline_max_bytes: 1000 }
      limits: { loop_max_in_flight: 4, max_step_runs: 10 }
      failure: { on_unhandled: cancel }
      lifecycle: { timeout_s: 7200 }
workflow:
  - step: boot
    tool: { kind: noop }
    next: { spec: { mode: inclusive }, arcs: [ { step: b } ] }
  - step: b
    tool: { kind: noop }
    next: { spec: { on_no_match: quiet }, arcs: [] }
`);
    expect(pb.executor).toEqual({
      profile: 'distributed', entry_step: 'boot', pool: 'etl', no_next_is_error: true,
      spec: { entry_step: 'boot', pool: 'etl', no_next_is_error: true, timeout: 30 },
      policy: {
        defaults: { timeout_s: 45 }, results: { reference_first: true, inline_max_bytes: 1000 },
        limits: { loop_max_in_flight: 4, max_step_runs: 10 }, failure: { on_unhandled: 'cancel' }, lifecycle: { timeout_s: 7200 },
      },
    });
    expect(pb.steps[0].next).toMatchObject({ mode: 'inclusive', on_no_match: 'fail' });
    expect(pb.steps[1].next).toMatchObject({ mode: 'exclusive', on_no_match: 'quiet' });
    expect(pb.graph.entry).toBe('boot');
  });

  it('step spec/policy: admit, lifecycle, failure mode; loop fields', () => {
    const pb = ok(`${HEAD}workload: { items: [1, 2] }
workflow:
  - step: start
    spec:
      timeout: 9
      policy:
        admit:
          mode: inclusive
          rules:
            - { when: "{{ workload.items | length > 5 }}", then: { allow: false } }
            - else: { then: { allow: true } }
        lifecycle: { timeout_s: 60 }
        failure: { mode: best_effort }
    loop:
      in: "{{ items }}"
      iterator: item
      spec:
        mode: parallel
        max_in_flight: "{{ 1 + 1 }}"
        timeout: 3
        policy: { exec: local, ctx_merge: last_write_wins }
    input: { a: "{{ iter.item }}" }
    tool: { kind: noop }
`);
    const s = pb.steps[0];
    expect(s.spec).toEqual({ timeout: 9 });
    expect(s.admit).toEqual({
      mode: 'inclusive',
      rules: [
        expect.objectContaining({ when: '{{ workload.items | length > 5 }}', else: false, allow: false }),
        expect.objectContaining({ else: true, allow: true }),
      ],
    });
    expect([s.timeout_s, s.failure_mode, s.input]).toEqual([60, 'best_effort', { a: '{{ iter.item }}' }]);
    expect(s.loop).toEqual({
      in: '{{ items }}', iterator: 'item', mode: 'parallel', max_in_flight: '{{ 1 + 1 }}', spec: { timeout: 3 }, exec: 'local', ctx_merge: 'last_write_wins',
    });
    const seq = ok(wf('  - step: start\n    loop: { in: [1, 2], iterator: n }\n    tool: { kind: noop }\n')).steps[0].loop;
    expect(seq).toEqual({ in: [1, 2], iterator: 'n', mode: 'sequential', spec: {}, exec: 'distributed' });
    const timed = ok(wf('  - step: start\n    loop: { in: [1, 2], iterator: n, spec: { iteration_timeout_s: 2.5 } }\n    tool: { kind: noop }\n')).steps[0].loop;
    expect(timed).toEqual({ in: [1, 2], iterator: 'n', mode: 'sequential', spec: {}, exec: 'distributed', iteration_timeout_s: 2.5 });
  });

  it('loop.spec.iteration_timeout_s must be a positive number; misplaced under loop it points to loop.spec', () => {
    for (const bad of ['0', '-1', '"10"', 'true']) {
      const r = loadPlaybook(wf(`  - step: start\n    loop: { in: [1], iterator: n, spec: { iteration_timeout_s: ${bad} } }\n    tool: { kind: noop }\n`));
      expect(r.ok).toBe(false);
      expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: 'E_FIELD_VALUE', path: 'workflow[0].loop.spec.iteration_timeout_s', line: 6 }));
    }
    const r = loadPlaybook(wf('  - step: start\n    loop: { in: [1], iterator: n, iteration_timeout_s: 5 }\n    tool: { kind: noop }\n'));
    expect(r.diagnostics).toContainEqual(expect.objectContaining({ code: 'E_UNKNOWN_FIELD', hint: 'move it under loop.spec: {iteration_timeout_s: ...}' }));
  });
});

describe('compatibility mode', () => {
  const legacy = wf(`  - step: start
    tool:
      - fetch: { kind: noop, result: 1 }
      - { name: after, kind: noop }
    next: [a, b]
  - step: a
    tool: { kind: noop }
    next: c
  - step: b
    tool: { kind: noop }
    next:
      - { step: c, when: "{{ true }}", args: { x: 1 } }
  - step: c
    tool: { kind: noop }
`);

  it('rejects shape L and legacy next by default', () => {
    expect(codes(loadPlaybook(legacy), 'error')).toEqual(['E_LEGACY_LABELED_TASK@7', 'E_NEXT_SHAPE@9', 'E_NEXT_SHAPE@12', 'E_NEXT_SHAPE@15']);
  });

  it('normalizes shape L and legacy next lists/strings with warnings', () => {
    const r = loadPlaybook(legacy, { compat: true });
    expect(codes(r)).toEqual(['W_LEGACY_LABELED_TASK@7', 'W_LEGACY_NEXT@9', 'W_LEGACY_NEXT@12', 'W_LEGACY_NEXT@15']);
    const [start, a, b] = r.playbook!.steps;
    expect(start.tasks.map((t) => t.name)).toEqual(['fetch', 'after']);
    expect(start.tasks[0].fields).toEqual({ result: 1 });
    expect([start.next.mode, start.next.arcs.map((x) => x.step)]).toEqual(['inclusive', ['a', 'b']]);
    expect([a.next.mode, a.next.arcs.map((x) => x.step)]).toEqual(['exclusive', ['c']]);
    expect(b.next).toMatchObject({ mode: 'exclusive', arcs: [{ step: 'c', when: '{{ true }}', args: { x: 1 } }] });
  });
});

describe('the normalized model', () => {
  const text = wf(`  - step: start
    tool:
      - name: a
        kind: noop
        spec: { policy: { rules: [ { else: { then: { do: continue } } } ] } }
    spec: { policy: { admit: { rules: [ { else: { then: { allow: true } } } ] } } }
    next: { arcs: [ { step: end } ] }
`, 'workload: { loc: here }\n');

  it('is deep-frozen and JSON-serializable', () => {
    const pb = ok(text);
    expect(Object.isFrozen(pb)).toBe(true);
    expect(Object.isFrozen(pb.steps[0].tasks[0].policy!.rules[0])).toBe(true);
    expect(Object.isFrozen(pb.workload)).toBe(true);
    expect(JSON.parse(JSON.stringify(pb))).toStrictEqual(pb);
  });

  it('carries loc on steps, tasks, rules and arcs', () => {
    const s = ok(text).steps[0];
    expect(s.loc).toEqual({ line: 6, column: 5, path: 'workflow[0]' });
    expect(s.tasks[0].loc).toEqual({ line: 8, column: 9, path: 'workflow[0].tool[0]' });
    expect(s.tasks[0].policy!.rules[0].loc).toMatchObject({ line: 10, path: 'workflow[0].tool[0].spec.policy.rules[0]' });
    expect(s.admit!.rules[0].loc).toMatchObject({ line: 11 });
    expect(s.next.arcs[0].loc).toMatchObject({ line: 12, path: 'workflow[0].next.arcs[0]' });
  });

  it('digest ignores formatting, comments and locations but not semantics', () => {
    const a = ok(text).digest;
    const reformatted = ok(`# a comment\n\n${text.replace('workload: { loc: here }', 'workload:\n  loc: here   # same value')}`).digest;
    expect(reformatted).toBe(a);
    expect(ok(text.replace('loc: here', 'loc: there')).digest).not.toBe(a);
    expect(ok(text.replace('do: continue', 'do: fail')).digest).not.toBe(a);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('metadata keeps extra keys; labels and tags are strings; path defaults to name', () => {
    const pb = ok(`apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: m, version: 3, description: d, labels: { team: x, n: 1 }, tags: [a, 2], owner: me }
workflow: [ { step: start, tool: { kind: noop } } ]
`);
    expect(pb.metadata).toEqual({ name: 'm', path: 'm', version: 3, description: 'd', labels: { team: 'x', n: '1' }, tags: ['a', '2'], owner: 'me' });
  });
});
