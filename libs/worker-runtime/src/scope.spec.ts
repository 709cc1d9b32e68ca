import type { ResultRef } from '@noetl/common';
import { runCommand } from './index';
import { makeHarness, makeCommand, task, when, otherwise, delivery, ok, ofType, terminalPayload, fsHydrator, EXEC } from './testing/harness';

const resultOf = (events: Parameters<typeof terminalPayload>[0]) => terminalPayload(events)['result'] as Record<string, unknown>;

describe('set targets and visibility (dsl §9.6, R9.12, R9.13, R8.10)', () => {
  test('policy and task-level set scopes (case 31)', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({
      pipeline: [
        task('t1', 'script', {
          result: { v: 5 },
          policy: [otherwise({ do: 'continue', set: { 'ctx.from_policy': '{{ output.data.v }}', 'iter.page': 2, 'iter.order': 'rule', 'step.note': 'policy-note', local_flag: true } })],
          set: { 'iter.order': 'task', fetched_v: '{{ output.data.v * 10 }}', fetched_plain: '{{ output.v }}', forwarded: '{{ output }}' },
        }),
        task('t2', 'script', {
          result: {
            ctx_now: '{{ ctx.from_policy }}', page: '{{ iter.page }}', order: '{{ iter.order }}', note: '{{ step.note }}', local_flag: '{{ local_flag }}',
            fetched_v: '{{ fetched_v }}', fetched_plain: '{{ fetched_plain }}', forwarded_v: '{{ forwarded.v }}', forwarded_status: '{{ forwarded.status is defined }}',
          },
        }),
      ],
    }), delivery(), h.deps);
    expect(resultOf(h.events)).toMatchObject({
      ctx_now: 5, page: 2, order: 'task', note: 'policy-note', local_flag: true, fetched_v: 50, fetched_plain: 5, forwarded_v: 5, forwarded_status: false,
    });
    expect(terminalPayload(h.events)['ctx_patch']).toEqual([{ path: ['from_policy'], value: 5, task: 't1', attempt: 1 }]);
    expect(ofType(h.events, 'task.attempt.done')[0].payload.decision.set_keys).toEqual(['ctx.from_policy', 'iter.page', 'iter.order', 'step.note', 'local_flag']);
  });

  test('all values of one block see the state before the block (R9.12); nested paths create mappings (R9.9)', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({
      ctx: { n: 1, stats: 'scalar' },
      pipeline: [
        task('a', 'script', { policy: [otherwise({ do: 'continue', set: { 'ctx.n': '{{ ctx.n + 1 }}', 'ctx.seen': '{{ ctx.n }}', 'ctx.stats.rows': 3, 'ctx.stats.cols': 2 } })] }),
        task('b', 'script', { result: { n: '{{ ctx.n }}', seen: '{{ ctx.seen }}', stats: '{{ ctx.stats }}' } }),
      ],
    }), delivery(), h.deps);
    expect(resultOf(h.events)).toMatchObject({ n: 2, seen: 1, stats: { rows: 3, cols: 2 } });
    expect(terminalPayload(h.events)['ctx_patch']).toEqual([
      { path: ['n'], value: 2, task: 'a', attempt: 1 },
      { path: ['seen'], value: 1, task: 'a', attempt: 1 },
      { path: ['stats', 'rows'], value: 3, task: 'a', attempt: 1 },
      { path: ['stats', 'cols'], value: 2, task: 'a', attempt: 1 },
    ]);
  });

  test('task-level set runs once per visit after the final attempt, whatever the directive; output is the data view', async () => {
    const h = makeHarness();
    h.script.on('t', { status: 'error', error: { kind: 'timeout', code: 'T', message: 't', retryable: true } }, ok({ data: { inner: 1 }, k: 2 }));
    await runCommand(makeCommand({
      pipeline: [
        task('t', 'script', {
          policy: [when("{{ output.status == 'error' }}", { do: 'retry', attempts: 3, delay: 0 })],
          set: { 'ctx.count': '{{ ctx.count | default(0) + 1 }}', 'ctx.own_data': '{{ output.data.inner }}', 'ctx.k': '{{ output.k }}', 'ctx.status_hidden': '{{ output.status is defined }}' },
        }),
        task('u', 'script', { result: 'x', policy: [otherwise({ do: 'fail' })], set: { 'ctx.after_fail': '{{ output }}' } }),
      ],
    }), delivery(), h.deps);
    const patch = terminalPayload(h.events)['ctx_patch'] as Array<{ path: string[]; value: unknown }>;
    expect(patch.map((p) => [p.path.join('.'), p.value])).toEqual([['count', 1], ['own_data', 1], ['k', 2], ['status_hidden', false], ['after_fail', 'x']]);
  });

  test('template error in a task-level set fails the pipeline with kind template (R12.15)', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({ pipeline: [task('a', 'script', { set: { x: '{{ 1 // 0 }}' } }), task('b', 'script')] }), delivery(), h.deps);
    expect(ofType(h.events, 'task.started')).toHaveLength(1);
    expect(terminalPayload(h.events)['error']).toMatchObject({ kind: 'template', retryable: false });
    expect(String((terminalPayload(h.events)['error'] as { message: string }).message)).toContain('task a set x');
  });
});

describe('name resolution (R13.2) and pipeline locals (§8.6)', () => {
  test('bare names: task input, task name, iterator, step local, step result, ctx, workload', async () => {
    const h = makeHarness();
    const levels = ['n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7'];
    const upTo = (k: number, v: unknown) => Object.fromEntries(levels.slice(0, k).map((n) => [n, v]));
    const steps = Object.fromEntries(levels.slice(0, 5).map((n) => [n, { status: 'done' as const, data: 'step', runs: 1 }]));
    await runCommand(makeCommand({
      workload: upTo(7, 'workload'),
      ctx: upTo(6, 'ctx'),
      steps,
      iteration: { index: 0, total: 1, iterator: 'n3', item: 'iterator' },
      pipeline: [
        task('n1', 'script', { result: 'task' }),
        task('n2', 'script', { result: 'task', policy: [otherwise({ do: 'continue', set: upTo(4, 'local') })] }),
        task('probe', 'script', { input: { n1: 'input' }, result: Object.fromEntries(levels.map((n) => [n, `{{ ${n} }}`])) }),
      ],
    }), delivery(), h.deps);
    const probe = ofType(h.events, 'task.attempt.done')[2].payload.outcome.data;
    expect(probe).toEqual({ n1: 'input', n2: 'task', n3: 'iterator', n4: 'local', n5: 'step', n6: 'ctx', n7: 'workload' });
  });

  test('task names see the latest ended visit (also failed ones); unvisited tasks are undefined; _prev is the previous visit', async () => {
    const h = makeHarness();
    h.script.on('flaky', { status: 'error', error: { kind: 'server_error', code: 'E', message: 'x', retryable: true }, data: { partial: true } });
    await runCommand(makeCommand({
      pipeline: [
        task('first', 'script', { result: { p: 1 }, policy: [when('{{ _prev is defined }}', { do: 'fail' }), otherwise({ do: 'continue' })] }),
        task('flaky', 'script', { policy: [otherwise({ do: 'continue' })] }),
        task('probe', 'script', { result: { partial: '{{ flaky.partial }}', prev: '{{ _prev.partial }}', first_p: '{{ first.p }}', first_data_p: '{{ first.data.p }}', later: '{{ later is defined }}', self: '{{ probe is defined }}' } }),
        task('later', 'script'),
      ],
    }), delivery(), h.deps);
    expect(ofType(h.events, 'task.attempt.done').find((e) => e.task === 'probe')!.payload.outcome.data).toEqual({ partial: true, prev: true, first_p: 1, first_data_p: 1, later: false, self: false });
  });

  test('iteration scope, iterator binding and injection into task input (R10.8, R10.9)', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({
      iteration: { index: 1, total: 3, iterator: 'city', item: { name: 'Oslo' } },
      parent_iter: { index: 4, region: 'north' },
      step_input: { base: '{{ city.name }}-{{ iter.index }}' },
      pipeline: [
        task('a', 'script', {
          result: {
            bare: '{{ city.name }}', via_iter: '{{ iter.city.name }}', index: '{{ iter.index }}', total: '{{ iter._total }}', first: '{{ iter.first }}', last: '{{ iter._last }}',
            parent_region: '{{ iter.parent.region }}', input_city: '{{ input.base }}',
          },
          policy: [otherwise({ do: 'continue', set: { 'iter.city': { name: 'Bergen' }, 'iter.extra': 1 } })],
        }),
        task('b', 'script', { input: { own: 1 } }),
        task('c', 'script', { input: { city: 'mine' } }),
      ],
    }), delivery(), h.deps);
    const data = ofType(h.events, 'task.attempt.done')[0].payload.outcome.data;
    expect(data).toEqual({ bare: 'Oslo', via_iter: 'Oslo', index: 1, total: 3, first: false, last: false, parent_region: 'north', input_city: 'Oslo-1' });
    const inputs = h.script.calls.map((c) => c.config['input']);
    expect(inputs[0]).toEqual({ base: 'Oslo-1', city: { name: 'Oslo' } });
    expect(inputs[1]).toEqual({ base: 'Oslo-1', city: { name: 'Bergen' }, own: 1 });
    expect(inputs[2]).toEqual({ base: 'Oslo-1', city: 'mine' });
    const done = terminalPayload(h.events);
    expect(h.events[h.events.length - 1].event_type).toBe('loop.iteration.done');
    expect(done['iter_final']).toEqual({ city: { name: 'Bergen' }, index: 1, total: 3, first: false, last: false, _index: 1, _total: 3, _first: false, _last: false, extra: 1 });
  });

  test('non-loop step: iter is local ({parent} when a parent iteration exists) (R9.7)', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({ parent_iter: { city: 'x' }, pipeline: [task('a', 'script', { result: { p: '{{ iter.parent.city }}', keys: '{{ iter | list }}' } })] }), delivery(), h.deps);
    expect(terminalPayload(h.events)['result']).toEqual({ p: 'x', keys: ['parent'] });
  });

  test('step input is rendered once and merged under task input; its values are not rendered again (R9.8)', async () => {
    const h = makeHarness();
    h.script.on('a', { status: 'error', error: { kind: 'timeout', code: 'T', message: 't', retryable: true } }, ok(1));
    await runCommand(makeCommand({
      args: { id: 7 },
      step_input: { stamp: '{{ now() }}', id: '{{ args.id }}', literal: '{% raw %}{{ not_rendered }}{% endraw %}', shared: 'step' },
      pipeline: [
        task('a', 'script', { input: { shared: 'task' }, policy: [when("{{ output.status == 'error' }}", { do: 'retry', delay: 0 })] }),
        task('b', 'script', { echo: '{{ literal }}', id2: '{{ input.id }}' }),
      ],
    }), delivery(), h.deps);
    const [c1, c2, c3] = h.script.calls.map((c) => c.config);
    expect(c1['input']).toEqual({ stamp: expect.any(String), id: 7, literal: '{{ not_rendered }}', shared: 'task' });
    expect((c2['input'] as Record<string, unknown>)['stamp']).toBe((c1['input'] as Record<string, unknown>)['stamp']);
    expect((c3['input'] as Record<string, unknown>)['stamp']).toBe((c1['input'] as Record<string, unknown>)['stamp']);
    expect(c3['echo']).toBe('{{ not_rendered }}');
    expect(c3['id2']).toBe(7);
  });

  test('step input render error fails the step with kind template before any task', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({ step_input: { bad: '{{ 1 / 0 }}' }, pipeline: [task('a', 'script')] }), delivery(), h.deps);
    expect(h.events.map((e) => e.event_type)).toEqual(['step.started', 'step.failed']);
    expect(terminalPayload(h.events)['error']).toMatchObject({ kind: 'template' });
    expect(terminalPayload(h.events)).not.toHaveProperty('partial_result');
  });
});

describe('hydration of referenced values (T7.19, R13.9)', () => {
  test('ctx values and step results stored by reference hydrate lazily; _ref and extracted do not fetch', async () => {
    const h = makeHarness();
    const big = await h.store.put({ executionId: EXEC, entity: 'r1/big/v1-a1' }, { n: 7, rows: [1, 2, 3] }, { extracted: { count: 3 } });
    const unread = await h.store.put({ executionId: EXEC, entity: 'r1/unread/v1-a1' }, { never: true });
    let fetches = 0;
    h.deps.hydrate = (ref: ResultRef) => {
      fetches += 1;
      return fsHydrator(ref);
    };
    await runCommand(makeCommand({
      ctx: { list_ref: big, untouched: unread, plain: 1 },
      steps: { big: { status: 'done', ref: big, runs: 1 } },
      pipeline: [
        task('a', 'script', { result: { count: '{{ big.count }}', uri: '{{ big._ref.uri }}', store: '{{ big._store }}' } }),
        task('b', 'script', { result: { n: '{{ big.n }}', rows: '{{ ctx.list_ref.rows }}' }, policy: [otherwise({ do: 'continue', set: { 'ctx.plain': 2 } })] }),
        task('c', 'script', { result: { again: '{{ ctx.list_ref.n }}', whole: '{{ big }}' } }),
      ],
    }), delivery(), h.deps);
    const datas = ofType(h.events, 'task.attempt.done').map((e) => e.payload.outcome.data);
    expect(datas[0]).toEqual({ count: 3, uri: big.uri, store: 'fs' });
    expect(datas[1]).toEqual({ n: 7, rows: [1, 2, 3] });
    expect(datas[2]).toEqual({ again: 7, whole: { n: 7, rows: [1, 2, 3] } });
    expect(fetches).toBe(3); // big (step view, once), ctx.list_ref (once, kept across the ctx write), big again for the whole-value copy
  });

  test('a list result stored by reference reads as a list, fetched once on first use (fix in @noetl/scope refView)', async () => {
    const h = makeHarness();
    let fetches = 0;
    h.deps.hydrate = (r: ResultRef) => {
      fetches += 1;
      return fsHydrator(r);
    };
    const ref = await h.store.put({ executionId: EXEC, entity: 'r1/list/v1-a1' }, [{ a: 1 }, { a: 2 }]);
    await runCommand(makeCommand({
      steps: { biglist: { status: 'done', ref, runs: 1 } },
      pipeline: [
        task('probe', 'script', { result: { seq: '{{ biglist is sequence }}' } }),
        task('t', 'script', {
          result: {
            first: '{{ biglist[0].a }}', last: '{{ biglist[-1].a }}', n: '{{ biglist | length }}', whole: '{{ biglist }}',
            loop: '{% for x in biglist %}{{ x.a }}{% endfor %}', mapped: "{{ biglist | map(attribute='a') | list }}", json: '{{ biglist | tojson }}',
          },
        }),
      ],
    }), delivery(), h.deps);
    const [probe, t] = ofType(h.events, 'task.attempt.done').map((e) => e.payload.outcome.data);
    expect(probe).toEqual({ seq: true });
    expect(t).toEqual({ first: 1, last: 2, n: 2, whole: [{ a: 1 }, { a: 2 }], loop: '12', mapped: [1, 2], json: '[{"a":1},{"a":2}]' });
    expect(fetches).toBe(1);
  });

  test('a missing referenced payload gives an attempt error of kind reference_not_available', async () => {
    const h = makeHarness();
    const ref = await h.store.put({ executionId: EXEC, entity: 'r1/gone/v1-a1' }, { n: 1 });
    await runCommand(makeCommand({ steps: { gone: { status: 'done', ref: { ...ref, path: '/nonexistent/x.json' }, runs: 1 } }, pipeline: [task('a', 'script', { result: '{{ gone.n }}' })] }), delivery(), h.deps);
    expect(ofType(h.events, 'task.attempt.failed')[0].payload.outcome.error).toMatchObject({ kind: 'reference_not_available', retryable: true });
  });
});
