import { runCommand } from './index';
import { makeHarness, makeCommand, task, when, otherwise, policy, delivery, ok, err, trace, ofType, terminalPayload } from './testing/harness';

const res = (n: Record<string, unknown>) => ({ result: n });

describe('directives (dsl §8.3/§8.4, runtime §9.2)', () => {
  test('no policy: ok continues, error fails with partial_result over the ended visits', async () => {
    const h = makeHarness();
    h.script.on('b', err('server_error', 'HTTP_503', 'down', { retryable: true, data: { body: 'partial' } }));
    const out = await runCommand(makeCommand({ pipeline: [task('a', 'script', res({ x: 1 })), task('b', 'script'), task('c', 'script', res({ y: 2 }))] }), delivery(), h.deps);
    expect(out.status).toBe('failed');
    expect(trace(h.events)).toEqual([
      'step.started', 'task.started:a', 'task.attempt.done:a#1', 'task.done:a',
      'task.started:b', 'task.attempt.failed:b#1', 'task.failed:b', 'step.failed',
    ]);
    const p = terminalPayload(h.events);
    expect(p['error']).toMatchObject({ kind: 'server_error', code: 'HTTP_503', retryable: true });
    expect(p['failed_task']).toBe('b');
    expect(p['reason']).toBe('pipeline');
    expect(p['partial_result']).toEqual({ x: 1, body: 'partial', results: { a: { x: 1 }, b: { body: 'partial' } }, a: { x: 1 }, b: { body: 'partial' } });
    expect(ofType(h.events, 'task.failed')[0].payload).toMatchObject({ directive: 'fail', attempts: 1 });
    expect(ofType(h.events, 'task.attempt.failed')[0].payload.decision).toEqual({ source: 'default', rule_index: null, do: 'fail', set_keys: [] });
  });

  test('policy without a match: auto; on_unmatched continue and fail', async () => {
    const h = makeHarness();
    h.script.on('swallow', err('not_found', 'HTTP_404', 'nf'));
    h.script.on('tolerant', err('not_found', 'HTTP_404', 'nf'));
    h.script.on('strict', err('not_found', 'HTTP_404', 'nf'));
    const okRule = when("{{ output.status == 'ok' }}", { do: 'continue' });
    await runCommand(makeCommand({
      pipeline: [
        task('fine', 'script', { policy: [when("{{ output.status == 'error' }}", { do: 'fail' })] }),
        task('swallow', 'script', { policy: [when("{{ output.error.kind == 'not_found' }}", { do: 'continue', set: { 'ctx.swallowed': '{{ output.error.code }}' } })] }),
        task('tolerant', 'script', { policy: policy([okRule], 'continue') }),
        task('strict', 'script', { policy: [okRule] }),
        task('never', 'script'),
      ],
    }), delivery(), h.deps);
    expect(trace(h.events).filter((t) => t.startsWith('task.started'))).toEqual(['task.started:fine', 'task.started:swallow', 'task.started:tolerant', 'task.started:strict']);
    const done = [...ofType(h.events, 'task.done'), ...ofType(h.events, 'task.failed')].map((e) => [e.task, e.event_type, e.payload.directive]);
    expect(done).toEqual(expect.arrayContaining([
      ['fine', 'task.done', 'continue'], ['swallow', 'task.failed', 'continue'], ['tolerant', 'task.failed', 'continue'], ['strict', 'task.failed', 'fail'],
    ]));
    const p = terminalPayload(h.events);
    expect(h.events[h.events.length - 1].event_type).toBe('step.failed');
    expect(p['ctx_patch']).toEqual([{ path: ['swallowed'], value: 'HTTP_404', task: 'swallow', attempt: 1 }]);
    const tolerant = ofType(h.events, 'task.attempt.failed').find((e) => e.task === 'tolerant')!;
    expect(tolerant.payload.decision).toMatchObject({ source: 'default', do: 'continue', rule_index: null });
  });

  test('retry then success: one visit, attempts counted, _attempt/_task bound', async () => {
    const h = makeHarness();
    h.script.on('fetch', err('server_error', 'HTTP_500', 'a', { retryable: true }), err('server_error', 'HTTP_503', 'b', { retryable: true }), ok({ n: 5 }));
    const out = await runCommand(makeCommand({
      pipeline: [task('fetch', 'script', {
        policy: [
          when("{{ output.status == 'error' and output.error.retryable }}", { do: 'retry', attempts: 3, delay: 0 }),
          when("{{ output.status == 'error' }}", { do: 'fail' }),
          otherwise({ do: 'continue', set: { 'ctx.attempts_used': '{{ _attempt }}', 'ctx.task_name': '{{ _task }}' } }),
        ],
      })],
    }), delivery(), h.deps);
    expect(out.status).toBe('done');
    expect(trace(h.events)).toEqual(['step.started', 'task.started:fetch', 'task.attempt.failed:fetch#1', 'task.attempt.failed:fetch#2', 'task.attempt.done:fetch#3', 'task.done:fetch', 'step.done']);
    expect(h.sleeps).toEqual([0, 0]);
    expect(terminalPayload(h.events)['ctx_patch']).toEqual([
      { path: ['attempts_used'], value: 3, task: 'fetch', attempt: 3 },
      { path: ['task_name'], value: 'fetch', task: 'fetch', attempt: 3 },
    ]);
    expect(ofType(h.events, 'task.done')[0].payload).toMatchObject({ attempts: 3, directive: 'continue', final_attempt_event_id: h.events[4].event_id });
    expect(ofType(h.events, 'task.attempt.failed')[0].payload.decision).toEqual({ source: 'rule', rule_index: 0, do: 'retry', attempts: 3, delay_ms: 0, set_keys: [] });
  });

  test('retry exhausted on an error: last error with details.retry_exhausted', async () => {
    const h = makeHarness();
    h.script.on('t', err('server_error', 'HTTP_503', 'down', { retryable: true, http_status: 503 }));
    await runCommand(makeCommand({ pipeline: [task('t', 'script', { policy: [when("{{ output.status == 'error' }}", { do: 'retry', attempts: 2, backoff: 'fixed', delay: 0.01 })] })] }), delivery(), h.deps);
    expect(h.sleeps).toEqual([10]);
    expect(ofType(h.events, 'task.attempt.failed')).toHaveLength(2);
    const last = ofType(h.events, 'task.attempt.failed')[1].payload.decision;
    expect(last).toEqual({ source: 'rule', rule_index: 0, do: 'retry', attempts: 2, set_keys: [] });
    expect(ofType(h.events, 'task.failed')[0].payload).toMatchObject({ directive: 'fail', retry_exhausted: true, attempts: 2 });
    expect(terminalPayload(h.events)['error']).toMatchObject({ kind: 'server_error', code: 'HTTP_503', http_status: 503, retryable: true, details: { retry_exhausted: true } });
  });

  test('retry exhausted on ok (polling): policy_fail RETRY_EXHAUSTED', async () => {
    const h = makeHarness();
    h.script.on('poll', ok({ state: 'running' }));
    await runCommand(makeCommand({ pipeline: [task('poll', 'script', { policy: [when("{{ output.data.state == 'running' }}", { do: 'retry', attempts: 3 })] })] }), delivery(), h.deps);
    expect(h.sleeps).toEqual([1000, 1000]); // default delay 1.0 s, backoff fixed (R8.8)
    expect(ofType(h.events, 'task.done')[0].payload).toMatchObject({ directive: 'fail', retry_exhausted: true, attempts: 3 });
    expect(terminalPayload(h.events)['error']).toEqual({ kind: 'policy_fail', code: 'RETRY_EXHAUSTED', message: 'retry exhausted at task poll', retryable: false, source: 'engine', details: { retry_exhausted: true } });
  });

  test.each([
    ['none', { delay: 2 }, [0, 0, 0, 0]],
    ['fixed', { delay: 2 }, [2000, 2000, 2000, 2000]],
    ['linear', { delay: 1.5 }, [1500, 3000, 4500, 6000]],
    ['exponential', { delay: 0.5 }, [500, 1000, 2000, 4000]],
    ['exponential', { delay: 1, max_delay: 3 }, [1000, 2000, 3000, 3000]],
    ['exponential', { delay: 100 }, [100000, 200000, 300000, 300000]],
    ['fixed', { delay: "{{ output.error.retry_after | default(2) }}" }, [7000, 7000, 7000, 7000]],
  ])('retry delays: backoff %s %j', async (backoff, extra, expected) => {
    const h = makeHarness();
    h.script.on('t', { status: 'error', error: { kind: 'rate_limit', code: 'HTTP_429', message: 'slow', retryable: true, retry_after: 7 } });
    await runCommand(makeCommand({ pipeline: [task('t', 'script', { policy: [when(true, { do: 'retry', attempts: 5, backoff: backoff as never, ...extra })] })] }), delivery(), h.deps);
    expect(h.sleeps).toEqual(expected);
    expect(ofType(h.events, 'task.attempt.failed').map((e) => e.payload.decision.delay_ms)).toEqual([...expected, undefined]);
  });

  test('attempts default 3 and may be a template', async () => {
    const h = makeHarness();
    h.script.on('a', err('timeout', 'T', 't', { retryable: true }), err('timeout', 'T', 't', { retryable: true }), ok(1));
    h.script.on('b', err('timeout', 'T', 't', { retryable: true }));
    await runCommand(makeCommand({
      pipeline: [
        task('a', 'script', { policy: [when("{{ output.status == 'error' and _task == 'a' }}", { do: 'retry', delay: 0 }), otherwise({ do: 'continue' })] }),
        task('b', 'script', { policy: [when("{{ output.status == 'error' }}", { do: 'retry', attempts: '{{ workload.n }}', delay: 0 })] }),
      ],
      workload: { n: 2 },
    }), delivery(), h.deps);
    expect(ofType(h.events, 'task.attempt.failed').map((e) => `${e.task}#${e.attempt}`)).toEqual(['a#1', 'a#2', 'b#1', 'b#2']);
    expect(ofType(h.events, 'task.attempt.done').map((e) => `${e.task}#${e.attempt}`)).toEqual(['a#3']);
  });

  test('fail on an ok outcome: policy_fail POLICY_FAIL', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({ pipeline: [task('a', 'script', { result: { bad: true }, policy: [when('{{ output.data.bad }}', { do: 'fail' })] }), task('b', 'script')] }), delivery(), h.deps);
    const p = terminalPayload(h.events);
    expect(p['error']).toMatchObject({ kind: 'policy_fail', code: 'POLICY_FAIL', retryable: false, message: 'policy requested fail at task a' });
    expect(p['partial_result']).toEqual({ bad: true, results: { a: { bad: true } }, a: { bad: true } });
    expect(ofType(h.events, 'task.done')[0].payload.directive).toBe('fail');
  });

  test('jump forward skips tasks; list order continues after the target (case 26)', async () => {
    const h = makeHarness();
    const out = await runCommand(makeCommand({
      pipeline: [
        task('decide', 'script', { result: { route: 'skip' }, policy: [when("{{ output.data.route == 'skip' }}", { do: 'jump', to: 'land' })] }),
        task('skipped_task', 'script', res({ visited: true })),
        task('land', 'script', res({ skipped_visited: '{{ skipped_task is defined }}', prev_route: '{{ _prev.route }}' })),
        task('tail', 'script', res({ reached_tail: true })),
      ],
    }), delivery(), h.deps);
    expect(out.status).toBe('done');
    expect(trace(h.events).filter((t) => t.startsWith('task.started'))).toEqual(['task.started:decide', 'task.started:land', 'task.started:tail']);
    const r = terminalPayload(h.events)['result'] as Record<string, unknown>;
    expect(r).toMatchObject({ route: 'skip', skipped_visited: false, prev_route: 'skip', reached_tail: true });
    expect(Object.keys(r['results'] as object)).toEqual(['decide', 'land', 'tail']);
    expect(r).not.toHaveProperty('skipped_task');
    expect(ofType(h.events, 'task.done')[0].payload).toMatchObject({ directive: 'jump', jump_to: 'land' });
    expect(ofType(h.events, 'task.attempt.done')[0].payload.decision).toMatchObject({ do: 'jump', to: 'land' });
  });

  test('jump back with iter state (case 27): each visit re-renders late', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({
      pipeline: [
        task('init', 'script', { policy: [otherwise({ do: 'continue', set: { 'iter.i': 0 } })] }),
        task('work', 'script', { result: { i_at_work: '{{ iter.i }}' }, policy: [otherwise({ do: 'continue', set: { 'iter.i': '{{ iter.i + 1 }}' } })] }),
        task('check', 'script', { policy: [when('{{ iter.i < 3 }}', { do: 'jump', to: 'work' }), otherwise({ do: 'continue' })] }),
        task('done', 'script', res({ final_i: '{{ iter.i }}', last_work: '{{ work.i_at_work }}' })),
      ],
    }), delivery(), h.deps);
    const started = ofType(h.events, 'task.started');
    expect(started.map((e) => `${e.task}/v${e.visit}`)).toEqual(['init/v1', 'work/v1', 'check/v1', 'work/v2', 'check/v2', 'work/v3', 'check/v3', 'done/v1']);
    expect(terminalPayload(h.events)['result']).toMatchObject({ final_i: 3, last_work: 2, i_at_work: 2 });
    expect(terminalPayload(h.events)['task_visits']).toBe(8);
  });

  test('jump to previous goes to the task executed before, not the list predecessor (case 28)', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({
      pipeline: [
        task('a', 'script', { policy: [otherwise({ do: 'jump', to: 'c', set: { 'iter.k': '{{ iter.k | default(0) + 1 }}' } })] }),
        task('b', 'script', res({ b_ran: true })),
        task('c', 'script', { policy: [when('{{ iter.k < 2 }}', { do: 'jump', to: 'previous' }), otherwise({ do: 'continue' })] }),
        task('d', 'script', res({ k: '{{ iter.k }}', b_defined: '{{ b is defined }}' })),
      ],
    }), delivery(), h.deps);
    expect(ofType(h.events, 'task.started').map((e) => e.task)).toEqual(['a', 'c', 'a', 'c', 'd']);
    expect(terminalPayload(h.events)['result']).toMatchObject({ k: 2, b_defined: false });
    expect(ofType(h.events, 'task.done')[1].payload).toMatchObject({ directive: 'jump', jump_to: 'previous' });
  });

  test('jump to previous from the first executed task fails with JUMP_NO_PREVIOUS', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({ pipeline: [task('a', 'script', { policy: [otherwise({ do: 'jump', to: 'previous' })] }), task('b', 'script')] }), delivery(), h.deps);
    expect(h.events[h.events.length - 1].event_type).toBe('step.failed');
    expect(terminalPayload(h.events)['error']).toMatchObject({ kind: 'config', code: 'JUMP_NO_PREVIOUS', retryable: false });
    expect(ofType(h.events, 'task.done')[0].payload.directive).toBe('fail');
  });

  test('break ends the pipeline successfully (case 29)', async () => {
    const h = makeHarness();
    const out = await runCommand(makeCommand({
      pipeline: [task('first', 'script', res({ a: 1 })), task('stop', 'script', { result: { b: 2 }, policy: [when('{{ output.data.b == 2 }}', { do: 'break' })] }), task('never', 'script', res({ c: 3 }))],
    }), delivery(), h.deps);
    expect(out.status).toBe('done');
    const p = terminalPayload(h.events);
    expect(p['terminated_by']).toBe('break');
    expect(p['result']).toEqual({ a: 1, b: 2, results: { first: { a: 1 }, stop: { b: 2 } }, first: { a: 1 }, stop: { b: 2 } });
    expect(ofType(h.events, 'task.started').map((e) => e.task)).toEqual(['first', 'stop']);
  });

  test('max_task_executions guard fails with max_iterations', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({
      pipeline: [task('spin', 'script', { policy: [otherwise({ do: 'jump', to: 'spin' })] })],
      limits: { max_task_executions: 5 },
    }), delivery(), h.deps);
    expect(ofType(h.events, 'task.started')).toHaveLength(5);
    const p = terminalPayload(h.events);
    expect(p['error']).toMatchObject({ kind: 'max_iterations', code: 'MAX_ITERATIONS', retryable: false });
    expect(p['failed_task']).toBe('spin');
    expect(p['partial_result']).toBeNull();
  });
});

describe('events (runtime §5, §6.3, T2.3)', () => {
  const pipeline = () => [
    task('fetch', 'script', { policy: [when("{{ output.status == 'error' }}", { do: 'retry', attempts: 2, delay: 0 })] }),
    task('save', 'script', res({ saved: true })),
  ];

  test('emission order of §6.3 and envelope fields', async () => {
    const h = makeHarness();
    h.script.on('fetch', err('connection', 'CONN', 'refused', { retryable: true }), ok({ rows: [] }));
    const out = await runCommand(makeCommand({ pipeline: pipeline() }), delivery(1), h.deps);
    expect(trace(h.events)).toEqual([
      'step.started',
      'task.started:fetch', 'task.attempt.failed:fetch#1', 'task.attempt.done:fetch#2', 'task.done:fetch',
      'task.started:save', 'task.attempt.done:save#1', 'task.done:save',
      'step.done',
    ]);
    expect(out.terminal).toBe(h.events[h.events.length - 1]);
    const cmd = makeCommand({ pipeline: pipeline() });
    h.events.forEach((e, i) => {
      expect(e).toMatchObject({
        v: 1, event_id: `${cmd.command_id}/e1/${i + 1}`, source: 'worker', producer_id: 'w-test', execution_id: cmd.execution_id,
        root_execution_id: cmd.root_execution_id, step: 'start', step_run_id: cmd.step_run_id, command_id: cmd.command_id, lease_epoch: 1,
        causation_id: i === 0 ? cmd.command_id : h.events[i - 1].event_id,
      });
      expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    });
    expect(h.events.map((e) => e.status)).toEqual(['in_progress', 'in_progress', 'error', 'ok', 'ok', 'in_progress', 'ok', 'ok', 'ok']);
    expect(h.events[0].payload).toMatchObject({ command_id: cmd.command_id, lease_epoch: 1, worker_id: 'w-test' });
    expect(h.events[2]).toMatchObject({ task: 'fetch', task_index: 0, task_run_id: `${cmd.command_id}/e1/t0/v1`, visit: 1, attempt: 1 });
    expect(h.events[4].attempt).toBeUndefined();
    const meta = ofType(h.events, 'task.attempt.done')[0].payload.outcome.meta;
    expect(meta).toMatchObject({ task: 'fetch', kind: 'script', attempt: 2, worker_id: 'w-test' });
    expect(meta.duration_ms).toBe(Date.parse(meta.finished_at) - Date.parse(meta.started_at));
  });

  test('ids are deterministic per delivery epoch', async () => {
    const run = async (epoch: number) => {
      const h = makeHarness();
      h.script.on('fetch', err('connection', 'CONN', 'refused', { retryable: true }), ok({ rows: [] }));
      await runCommand(makeCommand({ pipeline: pipeline() }), delivery(epoch), h.deps);
      return h.events;
    };
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    const idsOf = (evs: typeof a) => evs.map((e) => [e.event_id, e.task_run_id, e.causation_id]);
    expect(idsOf(a)).toEqual(idsOf(b));
    expect(c[1].task_run_id).toMatch(/\/e2\/t0\/v1$/);
    expect(c[1].event_id).toMatch(/\/e2\/2$/);
    expect(c.every((e) => e.lease_epoch === 2)).toBe(true);
  });

  test('iteration commands carry loop coordinates', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({ pipeline: [task('t', 'script')], iteration: { index: 2, total: 3, iterator: 'x', item: 7 } }), delivery(), h.deps);
    expect(trace(h.events)).toEqual(['loop.iteration.started', 'task.started:t', 'task.attempt.done:t#1', 'task.done:t', 'loop.iteration.done']);
    for (const e of h.events) expect(e).toMatchObject({ iteration_index: 2, iteration_id: expect.stringMatching(/\/i2$/), loop_id: expect.any(String) });
    expect(h.events[0].payload).toMatchObject({ index: 2, lease_epoch: 1, worker_id: 'w-test' });
  });
});
