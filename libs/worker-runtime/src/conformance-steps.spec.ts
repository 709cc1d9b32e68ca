// Conformance cases 24–31, 39, 40–44, 47–49 driven step by step through the worker with the real
// noop, python and http tools (the scheduler's part — routing, ctx folding, loop aggregation — is
// emulated minimally: the next command gets the folded ctx and the step views).
import type { NoetlEvent, StepView } from '@noetl/events';
import { createHttpTool, createNoopTool, createPythonTool, type PythonToolHandler } from '@noetl/tools';
import { setPath, type ResultRef } from '@noetl/common';
import { runCommand } from './index';
import { makeHarness, commandFor, loadCase, startRoutes, stepViewOf, delivery, ofType, fsHydrator, type Harness, type Routes, type RouteSpec } from './testing/harness';

let python: PythonToolHandler;
beforeAll(() => {
  python = createPythonTool({ poolSize: 2 });
});
afterAll(async () => {
  await python.close();
});

const harness = () => makeHarness({ tools: [createNoopTool(), createHttpTool(), python] });
const count = (events: NoetlEvent[], match: Record<string, unknown>) =>
  events.filter((e) => Object.entries(match).every(([k, v]) => (e as unknown as Record<string, unknown>)[k] === v)).length;
const foldCtx = (ctx: Record<string, unknown>, terminal: NoetlEvent) => {
  let out = ctx;
  for (const p of ((terminal.payload as { ctx_patch?: Array<{ path: string[]; value: unknown }> }).ctx_patch ?? [])) out = setPath(out, p.path, p.value);
  return out;
};
const result = (t: NoetlEvent): unknown => {
  const p = t.payload as { result?: unknown; result_ref?: ResultRef };
  return p.result_ref ? fsHydrator(p.result_ref) : p.result;
};

/** Runs steps in order the way a linear route would, carrying ctx and step views. */
async function runSteps(h: Harness, file: string, steps: string[], opts: { payload?: Record<string, unknown>; args?: Record<string, Record<string, unknown>> } = {}) {
  const pb = loadCase(file);
  let ctx: Record<string, unknown> = {};
  const views: Record<string, StepView> = {};
  const terminals: Record<string, NoetlEvent> = {};
  for (const s of steps) {
    const out = await runCommand(commandFor(pb, s, { payload: opts.payload, ctx, steps: views, args: opts.args?.[s] }), delivery(), h.deps);
    terminals[s] = out.terminal;
    ctx = foldCtx(ctx, out.terminal);
    views[s] = stepViewOf(out.terminal);
  }
  return { ctx, terminals, views };
}

async function withRoutes<T>(routes: RouteSpec[], fn: (r: Routes) => Promise<T>): Promise<T> {
  const r = await startRoutes(routes);
  try {
    return await fn(r);
  } finally {
    await r.close();
  }
}

test('24 retry then success (http)', () => withRoutes([{ method: 'GET', path: '/flaky', responses: [{ status: 500, json: { error: 'first' } }, { status: 503, json: { error: 'second' } }, { status: 200, json: { ok: true, n: 5 } }] }], async (srv) => {
  const h = harness();
  const { ctx, terminals } = await runSteps(h, '24-retry-then-success.yaml', ['start'], { payload: { api_url: srv.url } });
  expect(ctx).toEqual({ attempts_used: 3, task_name: 'fetch' });
  expect(result(terminals['start'])).toMatchObject({ n: 5, status_code: 200 });
  expect(count(h.events, { event_type: 'task.started', task: 'fetch' })).toBe(1);
  expect(count(h.events, { event_type: 'task.attempt.failed', task: 'fetch' })).toBe(2);
  expect(count(h.events, { event_type: 'task.attempt.done', task: 'fetch', attempt: 3 })).toBe(1);
  expect(h.sleeps).toEqual([0, 0]);
}));

test('25 retry exhausted', () => withRoutes([{ method: 'GET', path: '/down', responses: [{ status: 503, json: { error: 'down' } }] }], async (srv) => {
  const h = harness();
  const { terminals } = await runSteps(h, '25-retry-exhausted.yaml', ['start'], { payload: { api_url: srv.url } });
  expect(terminals['start'].event_type).toBe('step.failed');
  expect(terminals['start'].payload).toMatchObject({ error: { kind: 'server_error', code: 'HTTP_503', http_status: 503, retryable: true, details: { retry_exhausted: true } } });
  expect(count(h.events, { event_type: 'task.attempt.failed', task: 'start_task' })).toBe(2);
  expect(count(h.events, { event_type: 'task.failed', task: 'start_task' })).toBe(1);
  expect(h.sleeps).toEqual([10]);
}));

test.each([
  ['26-jump-forward.yaml', { route: 'skip', skipped_visited: false, prev_route: 'skip', reached_tail: true }, { skipped_task: 0, land: 1, tail: 1 }],
  ['27-jump-back-named.yaml', { final_i: 3, last_work: 2, i_at_work: 2 }, { init: 1, work: 3, check: 3, done: 1 }],
  ['28-jump-previous.yaml', { k: 2, b_defined: false }, { a: 2, b: 0, c: 2, d: 1 }],
])('%s', async (file, expected, starts) => {
  const h = harness();
  const { terminals } = await runSteps(h, file, ['start']);
  expect(result(terminals['start'])).toMatchObject(expected);
  for (const [t, n] of Object.entries(starts)) expect(count(h.events, { event_type: 'task.started', task: t })).toBe(n);
});

test('29 break', async () => {
  const h = harness();
  const { terminals } = await runSteps(h, '29-break-ends-pipeline.yaml', ['start', 'after']);
  expect(result(terminals['start'])).toMatchObject({ a: 1, b: 2 });
  expect(result(terminals['after'])).toEqual({ saw_b: 2, saw_c: false });
  expect(terminals['start'].payload).toMatchObject({ terminated_by: 'break' });
});

test('30 continue and unmatched', () => withRoutes([{ method: 'GET', path: '/ok', responses: [{ status: 200, json: { fine: true } }] }], async (srv) => {
  const h = harness();
  const { ctx, terminals } = await runSteps(h, '30-policy-continue-and-unmatched.yaml', ['start'], { payload: { api_url: srv.url } });
  expect(terminals['start'].event_type).toBe('step.failed');
  expect(ctx).toEqual({ swallowed: 'HTTP_404' });
  expect((terminals['start'].payload as { error: unknown }).error).toMatchObject({ kind: 'not_found', code: 'HTTP_404' });
  for (const t of ['swallow', 'tolerant', 'strict']) expect(count(h.events, { event_type: 'task.attempt.failed', task: t })).toBe(1);
  expect(count(h.events, { event_type: 'task.started', task: 'never' })).toBe(0);
}));

test('31 set scopes', async () => {
  const h = harness();
  const { ctx, terminals } = await runSteps(h, '31-policy-set-scopes.yaml', ['start', 'after']);
  expect(ctx).toEqual({ from_policy: 5 });
  expect(result(terminals['start'])).toMatchObject({ ctx_now: 5, page: 2, order: 'task', note: 'policy-note', local_flag: true, fetched_v: 50, fetched_plain: 5, forwarded_v: 5, forwarded_status: false });
  expect(result(terminals['after'])).toEqual({ ctx_published: 5, iter_kept: false, step_kept: false });
});

test('39 pagination inside loop iterations with jump and break', () => withRoutes([
  { method: 'GET', path: '/feed/a', responses: [{ status: 200, json: { items: [1, 2], more: true } }, { status: 200, json: { items: [3], more: true } }, { status: 200, json: { items: [4, 5, 6], more: false } }] },
  { method: 'GET', path: '/feed/b', responses: [{ status: 200, json: { items: [7], more: false } }] },
], async (srv) => {
  const h = harness();
  const pb = loadCase('39-loop-pagination-jump-break.yaml');
  const items = ['a', 'b'];
  const results: unknown[] = [];
  for (const [index, item] of items.entries()) {
    const out = await runCommand(commandFor(pb, 'start', { payload: { api_url: srv.url }, iteration: { index, total: 2, iterator: 'src', item } }), delivery(), h.deps);
    expect(out.terminal.event_type).toBe('loop.iteration.done');
    expect(out.terminal.payload).toMatchObject({ terminated_by: 'break' });
    results.push(result(out.terminal));
  }
  expect(results[0]).toMatchObject({ src: 'a', count: 6, pages: 3 });
  expect(results[1]).toMatchObject({ src: 'b', count: 1, pages: 1 });
  expect(results[0]).not.toHaveProperty('never');
  expect(count(h.events, { event_type: 'task.started', task: 'fetch', iteration_index: 0 })).toBe(3);
  expect(count(h.events, { event_type: 'task.started', task: 'fetch', iteration_index: 1 })).toBe(1);
  expect(count(h.events, { event_type: 'task.started', task: 'paginate' })).toBe(4);
  expect(srv.requests.map((r) => r.url)).toEqual(['/feed/a?page=1', '/feed/a?page=2', '/feed/a?page=3', '/feed/b?page=1']);
}));

test('40 http ok shape: helpers and body fallback in the policy, body fallback in later steps', () => withRoutes([
  { method: 'GET', path: '/status', responses: [{ status: 200, json: { service: { name: 'alpha', up: true }, url: '/elsewhere' }, headers: { 'X-Page': '7' } }] },
  { method: 'POST', path: '/submit', responses: [{ status: 201, json: { created: true } }] },
], async (srv) => {
  const h = harness();
  const { ctx, terminals } = await runSteps(h, '40-http-ok-shape.yaml', ['start', 'post_it', 'read'], { payload: { api_url: srv.url } });
  expect(ctx['policy']).toEqual({ http_status: 200, http_header: '7', body_via_data: 'alpha', body_direct: 'alpha', own_url_wins: true, body_url: '/elsewhere' });
  expect(terminals['start'].payload).toMatchObject({ http_result: true, result: { status_code: 200, data: { service: { name: 'alpha' } }, headers: { 'x-page': '7' } } });
  expect(result(terminals['read'])).toEqual({ name_by_data: 'alpha', name_direct: 'alpha', status_code: 200, start_keys: 6, created: true });
  const attempt = ofType(h.events, 'task.attempt.done')[0].payload.outcome;
  expect(attempt.http).toMatchObject({ status: 200, method: 'GET' });
}));

test('41 http error kinds in policies', () => withRoutes([
  { method: 'GET', path: '/boom', responses: [{ status: 500, json: { error: 'boom' } }] },
  { method: 'GET', path: '/limited', responses: [{ status: 429, json: { error: 'slow down' }, headers: { 'Retry-After': '3' } }] },
  { method: 'GET', path: '/denied', responses: [{ status: 401, json: { error: 'denied' } }] },
  { method: 'GET', path: '/bad', responses: [{ status: 400, json: { error: 'bad' } }] },
], async (srv) => {
  const h = harness();
  const { ctx, terminals } = await runSteps(h, '41-http-error-kinds.yaml', ['start'], { payload: { api_url: srv.url } });
  expect(terminals['start'].event_type).toBe('step.done');
  expect(ctx).toMatchObject({
    nf: { kind: 'not_found', code: 'HTTP_404', retryable: false, http_status: 404, status_code: 404, body_error: 'no route', helper_status: 404 },
    boom: { kind: 'server_error', code: 'HTTP_500', retryable: true, body_error: 'boom' },
    limited: { kind: 'rate_limit', code: 'HTTP_429', retryable: true, retry_after: 3 },
    denied: { kind: 'auth', code: 'HTTP_401', retryable: false },
    bad: { kind: 'client_error', code: 'HTTP_400', retryable: false },
  });
  expect(count(h.events, { event_type: 'task.attempt.failed', step: 'start' })).toBe(5);
}));

test('42 python globals and result', async () => {
  const h = harness();
  const { terminals } = await runSteps(h, '42-python-result-globals.yaml', ['start', 'after', 'collide']);
  expect(result(terminals['start'])).toEqual({ total: 12, names_upper: ['X', 'Y'], via_input_data: 3, step: 'start', pair: [1, 2], status: 'error' });
  expect(result(terminals['after'])).toEqual({ total: 12, status_field: 'error' });
  expect(result(terminals['collide'])).toEqual({ rows_len: 3, label: 'inner', wrapped: false, other: 7 });
});

test('43 python return/main/scalar in one pipeline', async () => {
  const h = harness();
  const { terminals } = await runSteps(h, '43-python-return-main-scalar.yaml', ['start']);
  expect(result(terminals['start'])).toEqual({ doubled: 8, sum: 7, scalar: 42, results: { with_return: { doubled: 8 }, with_main: { sum: 7 }, scalar: 42 }, with_return: { doubled: 8 }, with_main: { sum: 7 } });
});

test('44 python exceptions become error outcomes', async () => {
  const h = harness();
  const { terminals } = await runSteps(h, '44-python-exception-kinds.yaml', ['start', 'bad_value']);
  expect(terminals['start'].payload).toMatchObject({ error: { kind: 'script_error', code: 'PY_RuntimeError', exception_type: 'RuntimeError', retryable: false } });
  expect(terminals['bad_value'].payload).toMatchObject({ error: { kind: 'schema', code: 'PY_ValueError', exception_type: 'ValueError', retryable: false } });
});

test('47 large python result is externalized and read by a later step', async () => {
  const h = harness();
  const { terminals } = await runSteps(h, '47-large-result-externalized.yaml', ['start', 'big', 'read']);
  expect(terminals['big'].payload).toMatchObject({ result_ref: { kind: 'result_ref', raw_size: expect.any(Number) } });
  expect(result(terminals['read'])).toEqual({ n: 7, tag: 'big', blob_length: 150000, ref_kind: 'result_ref', ref_uri_noetl: true, ref_checksum_sha256: true, ref_raw_size_large: true, small_has_ref: false });
});

test('48 keychain secret redacted from the python error, partial result kept', async () => {
  const h = harness();
  const { terminals } = await runSteps(h, '48-keychain-secret-redacted.yaml', ['start']);
  const p = terminals['start'].payload as { error: { message: string }; partial_result: unknown };
  expect(terminals['start'].event_type).toBe('step.failed');
  expect(p.error.message).toContain('***');
  expect(p.partial_result).toMatchObject({ length: 27, prefix: 'tok-' });
  expect(JSON.stringify(h.events)).not.toContain('tok-5ecret-Q7Z9-conformance');
});

test('49 workbook call under the caller label', async () => {
  const h = harness();
  const { terminals } = await runSteps(h, '49-workbook-call.yaml', ['start']);
  expect(result(terminals['start'])).toEqual({ total: 15, rate: 0.5 });
  expect(count(h.events, { event_type: 'task.done', step: 'start', task: 'start_task' })).toBe(1);
  expect(count(h.events, { event_type: 'task.started', step: 'start' })).toBe(1);
});
