// runtime.md §15 scenario 22 end to end: a parent loop calls a child playbook file per item; the
// child sees the caller's iteration as `iter.parent` (outside and inside its own loop, R10.15) and
// returns its `return_step` result; a failing child makes the task fail with kind `child_failed`
// (details.child_execution_id, child_error), routable by a failure-aware arc.
import { count, eventually, ofType, payloadOf, pidAlive, playbook, readWhenWritten, scenarioDir, waitForEvent, useRuntime } from './testing/scenario-kit';

const d = scenarioDir('scn-sub');

d.write(
  'lib/city.yaml',
  playbook(
    'scn_city',
    `workload: { city: none }
workflow:
  - step: start
    tool:
      kind: noop
      result:
        parent_city: "{{ iter.parent.city }}"
        parent_index: "{{ iter.parent.index }}"
        parent_total: "{{ iter.parent.total }}"
        arg_city: "{{ city }}"
    next: { arcs: [ { step: hotels } ] }
  - step: hotels
    loop: { in: [1, 2], iterator: hotel }
    tool:
      kind: python
      input: { city: "{{ iter.parent.city }}", hotel: "{{ iter.hotel }}", grand: "{{ iter.parent.parent is defined }}" }
      code: |
        result = {"key": f"{city}:{hotel}", "grand": grand}
    next: { arcs: [ { step: summarize } ] }
  - step: summarize
    tool:
      kind: noop
      result:
        city: "{{ start.parent_city }}"
        index: "{{ start.parent_index }}"
        total: "{{ start.parent_total }}"
        arg: "{{ start.arg_city }}"
        keys: "{{ hotels.results | map(attribute='key') | list }}"
        grand: "{{ hotels.results[0].grand }}"
    next: { arcs: [ { step: tail } ] }
  - step: tail
    tool: { kind: noop, result: { not: returned } }
`,
  ),
);

d.write(
  'lib/failing.yaml',
  playbook(
    'scn_failing',
    `workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: boom } ] }
  - step: boom
    tool:
      kind: python
      code: |
        raise ValueError("child exploded")
`,
  ),
);

const PARENT = d.write(
  'parent.yaml',
  playbook(
    'scn_parent',
    `workload:
  cities: [oslo, rome, lima]
workflow:
  - step: start
    loop: { in: "{{ cities }}", iterator: city, spec: { mode: parallel, max_in_flight: 2 } }
    tool:
      kind: playbook
      path: lib/city
      input: { city: "{{ iter.city }}" }
      return_step: summarize
    next: { arcs: [ { step: whole } ] }
  - step: whole
    tool: { kind: playbook, path: lib/city, input: { city: solo } }
    next: { arcs: [ { step: call_failing } ] }
  - step: call_failing
    tool: { kind: playbook, path: lib/failing }
    next:
      arcs:
        - step: never
        - step: handled
          when: "{{ event.name == 'step.failed' and event.error.kind == 'child_failed' }}"
          args:
            kind: "{{ event.error.kind }}"
            child: "{{ event.error.details.child_execution_id }}"
            child_kind: "{{ event.error.details.child_error.kind }}"
  - step: never
    tool: { kind: noop }
  - step: handled
    tool: { kind: noop, result: { kind: "{{ args.kind }}", child: "{{ args.child }}", child_kind: "{{ args.child_kind }}" } }
`,
  ),
);

d.write(
  'lib/slow.yaml',
  playbook(
    'scn_slow_child',
    `workload: { pidfile: none }
workflow:
  - step: start
    tool:
      kind: python
      input: { pidfile: "{{ pidfile }}" }
      code: |
        import os, time
        with open(pidfile, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(30)
`,
  ),
);

const onChildError = (path: string, extra: string) => `workflow:
  - step: start
    tool: { kind: playbook, path: ${path}${extra} }
    next:
      arcs:
        - step: handled
          when: "{{ event.name == 'step.failed' }}"
          args: { kind: "{{ event.error.kind }}", child: "{{ event.error.details.child_execution_id }}" }
  - step: handled
    tool: { kind: noop, result: { kind: "{{ args.kind }}", child: "{{ args.child }}" } }
`;

describe('scenario 22: sub-playbooks (embedded, child files, real python)', () => {
  const rt = useRuntime(d, { workers: 4 }, d.cleanup);

  it('iter.parent in the child, return_step per iteration, child_failed routable', async () => {
    const id = await rt.submit(PARENT);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');
    const doc = await rt.document(id);

    // each loop iteration got its child's `summarize` result (return_step), not the child's execution result (tail)
    const results = (doc.steps.start.result as { results: unknown[] }).results;
    expect(results).toEqual([
      { city: 'oslo', index: 0, total: 3, arg: 'oslo', keys: ['oslo:1', 'oslo:2'], grand: false },
      { city: 'rome', index: 1, total: 3, arg: 'rome', keys: ['rome:1', 'rome:2'], grand: false },
      { city: 'lima', index: 2, total: 3, arg: 'lima', keys: ['lima:1', 'lima:2'], grand: false },
    ]);
    // without return_step the task data is the child's execution result (R16.4: the last step's)
    expect(doc.steps.whole.result).toEqual({ not: 'returned' });

    const tree = rt.treeEvents(id);
    const childStarts = tree.filter((e) => e.execution_id !== id && e.event_type === 'execution.started');
    expect(childStarts).toHaveLength(5);
    for (const s of childStarts) {
      expect(s).toMatchObject({ root_execution_id: id, parent_execution_id: id });
    }
    // the parent link carries the caller's iteration (R10.15); outside a loop it is null
    const requested = tree.filter((e) => e.execution_id !== id && e.event_type === 'execution.requested');
    const iters = requested.map((e) => (payloadOf(e).parent as { iter: Record<string, unknown> | null }).iter);
    expect(iters.filter((i) => i !== null).map((i) => i?.city).sort()).toEqual(['lima', 'oslo', 'rome']);
    expect(iters.filter((i) => i === null)).toHaveLength(2);
    for (const e of requested) {
      const parent = payloadOf(e).parent as { execution_id: string; step_run_id: string; task_run_id: string };
      expect(parent.execution_id).toBe(id);
      expect(parent.task_run_id.startsWith(parent.step_run_id)).toBe(true);
    }
    // the sibling without a loop: iter.parent is undefined in the child
    const solo = childStarts.map((s) => s.execution_id).find((c) => ofType(tree, 'execution.requested').some((e) => e.execution_id === c && (payloadOf(e).workload as { city?: string }).city === 'solo')) as string;
    expect(payloadOf(ofType(rt.events(solo), 'step.done', 'start')[0]).result).toMatchObject({ parent_city: null, arg_city: 'solo' });

    // child failure -> child_failed with the child's id and error, handled by the failure-aware arc
    const failed = ofType(rt.events(id), 'step.failed', 'call_failing');
    expect(failed).toHaveLength(1);
    const err = payloadOf(failed[0]).error as { kind: string; details: { child_execution_id: string; child_error: { kind: string } } };
    expect(err.kind).toBe('child_failed');
    const childId = err.details.child_execution_id;
    expect((await rt.waitForTerminal(childId)).status).toBe('failed');
    expect(err.details.child_error.kind).toBe('schema');
    expect(doc.steps.handled).toMatchObject({ status: 'done', result: { kind: 'child_failed', child: childId, child_kind: 'schema' } });
    expect(count(rt.events(id), 'step.scheduled', 'never')).toBe(0);
    expect(ofType(rt.events(childId), 'execution.failed')[0]).toMatchObject({ parent_execution_id: id, root_execution_id: id });
  });

  it('a child over the task timeout is cancelled (its python killed) and the task fails with kind timeout', async () => {
    const pidfile = d.path('timeout-child-pid');
    const file = d.write('parent-timeout.yaml', playbook('scn_parent_timeout', onChildError('lib/slow', `, timeout: 3, input: { pidfile: "${pidfile}" }`)));
    const t0 = Date.now();
    const id = await rt.submit(file);
    const pid = Number(await readWhenWritten(pidfile));
    const out = await rt.waitForTerminal(id);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out.status).toBe('completed');
    const doc = await rt.document(id);
    const childId = (doc.steps.handled.result as { child: string }).child;
    expect(doc.steps.handled.result).toMatchObject({ kind: 'timeout' });
    expect((await rt.waitForTerminal(childId)).status).toBe('cancelled');
    expect(await eventually(() => !pidAlive(pid), 5_000)).toBe(true);
  });

  it('a child cancelled on its own makes the task fail with kind child_cancelled; the parent goes on', async () => {
    const pidfile = d.path('cancelled-child-pid');
    const file = d.write('parent-child-cancelled.yaml', playbook('scn_parent_child_cancelled', onChildError('lib/slow', `, input: { pidfile: "${pidfile}" }`)));
    const id = await rt.submit(file);
    await readWhenWritten(pidfile);
    const childId = (await waitForEvent(rt, id, (e) => e.execution_id !== id && e.event_type === 'execution.started')).execution_id;
    await rt.cancel(childId, 'only the child');
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('completed');
    expect((await rt.document(id)).steps.handled.result).toEqual({ kind: 'child_cancelled', child: childId });
    expect(count(rt.events(id), 'execution.cancel_requested')).toBe(0);
  });
});

describe('parking (runtime.md §12 item 5): a task waiting for its child releases its worker slot', () => {
  const pd = scenarioDir('scn-park');
  pd.write(
    'lib/leaf.yaml',
    playbook('park_leaf', `workload: { n: 0 }
workflow:
  - step: start
    tool: { kind: noop, result: { leaf: "{{ n }}" } }
`),
  );
  pd.write(
    'lib/mid.yaml',
    playbook('park_mid', `workload: { n: 0 }
workflow:
  - step: start
    loop: { in: [1, 2, 3], iterator: k, spec: { mode: parallel, max_in_flight: 3 } }
    tool: { kind: playbook, path: leaf, input: { n: "{{ n * 10 + iter.k }}" } }
`),
  );
  const TOP = pd.write(
    'top.yaml',
    playbook('park_top', `workflow:
  - step: start
    loop: { in: "{{ range(0, 6) | list }}", iterator: n, spec: { mode: parallel, max_in_flight: 6 } }
    tool: { kind: playbook, path: lib/mid, input: { n: "{{ iter.n }}" } }
    next: { arcs: [ { step: sum } ] }
  - step: sum
    tool: { kind: noop, result: { leaves: "{{ start.results | map(attribute='results') | sum(start=[]) | map(attribute='leaf') | list }}" } }
`),
  );
  const BROKEN = pd.write(
    'top-broken.yaml',
    playbook('park_top_broken', `workflow:
  - step: start
    loop: { in: "{{ range(0, 6) | list }}", iterator: n, spec: { mode: parallel, max_in_flight: 6 } }
    tool: { kind: playbook, path: lib/mid_broken }
`),
  );
  pd.write(
    'lib/mid_broken.yaml',
    playbook('park_mid_broken', `workflow:
  - step: start
    loop: { in: [1, 2, 3], iterator: k, spec: { mode: parallel, max_in_flight: 3 } }
    tool: { kind: playbook, path: no_such_playbook }
`),
  );
  // one worker loop, 6 parents x 3 children x 1 grandchild in flight at once: without parking the
  // first parent's wait holds the only loop and nothing else ever runs
  const rt = useRuntime(pd, { workers: 1 }, pd.cleanup);

  it('a parallel loop of nested sub-playbook calls wider than the worker count completes', async () => {
    const id = await rt.submit(TOP);
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('completed');
    const leaves = (out.result as { leaves: number[] }).leaves;
    expect(leaves).toEqual([0, 1, 2, 3, 4, 5].flatMap((n) => [1, 2, 3].map((k) => n * 10 + k)));
    const tree = rt.treeEvents(id);
    expect(new Set(tree.map((e) => e.execution_id)).size).toBe(1 + 6 + 18);
    // stand-in loops run the work of parked ones: more than one worker id appears in the log
    expect(new Set(tree.filter((e) => e.source === 'worker').map((e) => e.producer_id)).size).toBeGreaterThan(1);
  });

  it('children failing together end the tree (resumed loops retire one at a time, never all at once)', async () => {
    for (let i = 0; i < 5; i++) {
      const id = await rt.submit(BROKEN);
      const out = await rt.waitForTerminal(id);
      expect(out.status).toBe('failed');
      expect(out.error).toMatchObject({ kind: 'child_failed' });
    }
  });
});
