import { isResultRef, jsonByteSize, type ResultRef } from '@noetl/common';
import { runCommand, stepResult } from './index';
import { makeHarness, makeCommand, task, when, otherwise, delivery, ok, ofType, terminalPayload, fsHydrator } from './testing/harness';
import { jsonSizeWithin } from './result';

describe('step result R (dsl R13.3)', () => {
  test('single task: its final data, whatever its shape', () => {
    expect(stepResult(1, [{ task: 't', data: [1, 2], ref: null }])).toEqual([1, 2]);
    expect(stepResult(1, [{ task: 't', data: 'x', ref: null }, { task: 't', data: 3, ref: null }])).toBe(3);
    expect(stepResult(1, [])).toBeNull();
  });

  test('multi task: merge of mappings in execution order, results and task keys; scalars only under their names', () => {
    const R = stepResult(3, [
      { task: 'a', data: { k: 1, shared: 'a' }, ref: null },
      { task: 'b', data: 42, ref: null },
      { task: 'a', data: { k: 2, shared: 'a2' }, ref: null },
      { task: 'shared', data: { shared: 'c', z: true }, ref: null },
    ]);
    expect(R).toEqual({
      k: 2, shared: 'c', z: true,
      results: { a: { k: 2, shared: 'a2' }, b: 42, shared: { shared: 'c', z: true } },
      a: { k: 2, shared: 'a2' }, b: 42,
    });
  });

  test('a data key named results is replaced by the results map', () => {
    expect(stepResult(2, [{ task: 'a', data: { results: 'mine' }, ref: null }, { task: 'b', data: null, ref: null }])).toEqual({
      results: { a: { results: 'mine' }, b: null }, a: { results: 'mine' }, b: null,
    });
  });
});

const big = (n: number) => 'x'.repeat(n);

describe('externalization (T7.7–T7.10, §7.6)', () => {
  test('large attempt data is stored before the event; the event carries the ref; the pipeline reads it without fetching', async () => {
    const h = makeHarness();
    let fetches = 0;
    h.deps.hydrate = (r: ResultRef) => {
      fetches += 1;
      return fsHydrator(r);
    };
    await runCommand(makeCommand({
      pipeline: [
        task('big', 'script', { result: { blob: big(150_000), n: 7, tag: 'big' }, spec: { result: { select: ['n', { path: '$.tag', as: 'label' }] } } }),
        task('read', 'script', { result: { n: '{{ big.n }}', len: '{{ big.blob | length }}', uri: '{{ big._ref.uri }}', label: '{{ big.label }}', prev_n: '{{ _prev.n }}' } }),
      ],
    }), delivery(), h.deps);
    const att = ofType(h.events, 'task.attempt.done')[0].payload.outcome;
    expect(att).not.toHaveProperty('data');
    expect(isResultRef(att.ref)).toBe(true);
    const ref = att.ref!;
    expect(ref).toMatchObject({ uri: expect.stringMatching(/^noetl:\/\/.*\/r3.0\/big\/v1-a1$/), checksum: expect.stringMatching(/^sha256:/), raw_size: expect.any(Number), extracted: { n: 7, label: 'big' } });
    expect(ref.raw_size).toBeGreaterThan(102_400);
    expect(ref.preview!.truncated).toBe(true);
    expect(fsHydrator(ref)).toMatchObject({ n: 7, tag: 'big' });
    const read = ofType(h.events, 'task.attempt.done')[1].payload.outcome.data;
    expect(read).toEqual({ n: 7, len: 150_000, uri: ref.uri, label: 'big', prev_n: 7 });
    expect(fetches).toBe(0);
    // the multi-task step result contains the blob: stored as the step result
    const done = terminalPayload(h.events);
    expect(done).not.toHaveProperty('result');
    expect(done['result_ref']).toMatchObject({ uri: expect.stringMatching(/\/r3.0\/result$/) });
    expect(fsHydrator(done['result_ref'] as ResultRef)).toMatchObject({ n: 7, results: { read: { n: 7 } } });
    expect(JSON.stringify(h.events).length).toBeLessThan(20_000);
  });

  test('single-task step reuses the task ref for the step result (T7.10) and sets extracted/preview', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({ pipeline: [task('only', 'script', { result: { blob: big(120_000), n: 1 }, spec: { result: { select: ['n'] } } })] }), delivery(), h.deps);
    const att = ofType(h.events, 'task.attempt.done')[0].payload.outcome;
    const done = terminalPayload(h.events);
    expect(done['result_ref']).toEqual(att.ref);
    expect(done['extracted']).toEqual({ n: 1 });
    expect(done['preview']).toMatchObject({ truncated: true });
  });

  test('inline_max_bytes precedence: task spec.result > base_spec result > limits; reference_first stores small values', async () => {
    const h = makeHarness();
    const data = { s: big(500) };
    await runCommand(makeCommand({
      limits: { inline_max_bytes: 100_000 },
      base_spec: { result: { inline_max_bytes: 100 } },
      pipeline: [
        task('own', 'script', { result: data, spec: { result: { inline_max_bytes: 10_000 } } }),
        task('layered', 'script', { result: data }),
      ],
    }), delivery(), h.deps);
    const [own, layered] = ofType(h.events, 'task.attempt.done').map((e) => e.payload.outcome);
    expect(own.ref).toBeNull();
    expect(own.data).toEqual(data);
    expect(isResultRef(layered.ref)).toBe(true);

    const h2 = makeHarness();
    await runCommand(makeCommand({ limits: { reference_first: true }, pipeline: [task('small', 'script', { result: { a: 1 } }), task('nil', 'script', { result: null })] }), delivery(), h2.deps);
    const [small, nil] = ofType(h2.events, 'task.attempt.done').map((e) => e.payload.outcome);
    expect(isResultRef(small.ref)).toBe(true);
    expect(small).not.toHaveProperty('data');
    expect(nil.ref).toBeNull();
    expect(nil.data).toBeNull();
  });

  test('step output options apply to the step result; a large failed R travels as partial_result_ref', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({
      step_output: { inline_max_bytes: 10, select: ['a'] },
      pipeline: [task('x', 'script', { result: { a: 1 } }), task('y', 'script', { result: { b: 2 } })],
    }), delivery(), h.deps);
    const done = terminalPayload(h.events);
    expect(done['extracted']).toEqual({ a: 1 });
    expect(fsHydrator(done['result_ref'] as ResultRef)).toEqual({ a: 1, b: 2, results: { x: { a: 1 }, y: { b: 2 } }, x: { a: 1 }, y: { b: 2 } });

    const h2 = makeHarness();
    await runCommand(makeCommand({
      pipeline: [task('x', 'script', { result: { blob: big(110_000) }, spec: { result: { inline_max_bytes: 1_000_000 } } }), task('y', 'script', { result: 1, policy: [otherwise({ do: 'fail' })] })],
    }), delivery(), h2.deps);
    const failed = terminalPayload(h2.events);
    expect(failed).not.toHaveProperty('partial_result');
    expect(fsHydrator(failed['partial_result_ref'] as ResultRef)).toMatchObject({ results: { y: 1 } });
  });

  test('a results store failure turns the attempt into an error (persist before emit)', async () => {
    const h = makeHarness();
    h.deps.results = { storeKind: 'fs', put: () => Promise.reject(Object.assign(new Error('disk full'), { kind: 'reference_not_available', code: 'RESULT_WRITE' })), get: () => Promise.reject(new Error('x')) };
    await runCommand(makeCommand({ pipeline: [task('big', 'script', { result: big(200_000) })] }), delivery(), h.deps);
    const o = ofType(h.events, 'task.attempt.failed')[0].payload.outcome;
    expect(o.error).toMatchObject({ kind: 'reference_not_available', code: 'RESULT_WRITE' });
    expect(o).not.toHaveProperty('data');
    expect(h.events[h.events.length - 1].event_type).toBe('step.failed');
  });

  test('http_result is true only for a single-task http step', async () => {
    const httpish = { kind: 'http', run: async () => ok({ status_code: 200, headers: {}, data: { x: 1 }, body: { x: 1 }, url: 'u', elapsed_ms: 1 }) };
    const h = makeHarness({ tools: [httpish] });
    await runCommand(makeCommand({ pipeline: [task('get', 'http', { policy: [when('{{ output.data.x == 1 }}', { do: 'continue', set: { 'ctx.x': '{{ output.data.x }}' } })] })] }), delivery(), h.deps);
    expect(terminalPayload(h.events)['http_result']).toBe(true);
    expect(terminalPayload(h.events)['ctx_patch']).toEqual([{ path: ['x'], value: 1, task: 'get', attempt: 1 }]);
    const h2 = makeHarness({ tools: [httpish] });
    await runCommand(makeCommand({ pipeline: [task('get', 'http'), task('n', 'script', { result: { x: '{{ get.x }}', code: '{{ get.status_code }}' } })] }), delivery(), h2.deps);
    expect(terminalPayload(h2.events)['http_result']).toBe(false);
    expect(ofType(h2.events, 'task.attempt.done')[1].payload.outcome.data).toEqual({ x: 1, code: 200 });
  });
});

describe('jsonSizeWithin (result sizing without building the JSON text)', () => {
  const samples: unknown[] = [
    null, undefined, true, false, 0, -0, 7, 42, 999, 1000, 123456789, -3.25, 1e21, 1e-7, Number.NaN, Number.POSITIVE_INFINITY,
    '', 'plain', 'quote " and \\ backslash', 'tab\tnew\nline\u0001\u001f', 'é ü ß', '日本語', 'emoji 😀', 'lone \ud800 high', 'lone \udc00 low',
    'x'.repeat(300), `${'é'.repeat(200)}"\n`, [], [1, 'a', null], [undefined, () => 1, Symbol('s')], { a: 1, b: undefined, c: () => 1, d: [1, { e: 'f' }] },
    { 'kéy "q"': 'v' }, Object.assign(Object.create(null) as Record<string, unknown>, { n: 1 }), { date: new Date(0) }, new Date(0), { boxed: Object('s') },
    { nested: { deeper: { deepest: ['x', 2, { y: null }] } } }, { status: 'ok', message: 'noop' },
  ];
  it('equals jsonByteSize for every value it can size, and bails out to it for the rest', () => {
    for (const v of samples) expect([v, jsonSizeWithin(v, 1e9)]).toEqual([v, jsonByteSize(v)]);
  });
  it('stops early above the budget (any number over it)', () => {
    const big = { a: 'x'.repeat(100), b: Array.from({ length: 1000 }, (_, i) => i) };
    expect(jsonSizeWithin(big, 50)).toBeGreaterThan(50);
    expect(jsonSizeWithin(big, 1e9)).toBe(jsonByteSize(big));
  });
});
