// runtime.md §15 scenarios that the shared conformance cases pin only by outcome (counts, final
// values), checked end to end at the level of the event log: 1 (the §6.3 emission order of a real
// step run), 7 (ctx.patched origins in order), 8 (recorded retry delays, fixed by default), 3 (an
// unhandled failure drains in-flight runs before execution.failed), 11 (max_in_flight respected by
// real workers; ctx writes in a parallel loop rejected at submit).
import { createEmbeddedRuntime } from './runtime';
import { count, json, ofType, payloadOf, playbook, scenarioDir, startLoopback, type LoopbackServer } from './testing/scenario-kit';
import { PlaybookRejectedError, type EmbeddedRuntime } from './types';

const d = scenarioDir('scn-core');

describe('event-level scenarios (embedded, real http/python)', () => {
  let rt: EmbeddedRuntime;
  let srv: LoopbackServer;
  const hits = new Map<string, number>();
  beforeAll(async () => {
    srv = await startLoopback((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const n = (hits.get(req.url) ?? 0) + 1;
      hits.set(req.url, n);
      if (path === '/flaky') return n === 1 ? json(res, 503, { error: 'busy' }) : json(res, 200, { v: 5 });
      if (path === '/poll') return n < 4 ? json(res, 503, { error: 'not yet' }) : json(res, 200, { done: true });
      return json(res, 404, {});
    });
    rt = createEmbeddedRuntime({ env: d.env, cwd: d.dir, workers: 4 });
  });
  afterAll(async () => {
    await rt.close();
    await srv.close();
    d.cleanup();
  });

  it('1, 7, 8: §6.3 emission order, ctx.patched task -> step_set -> arc_set, fixed and exponential retry delays', async () => {
    const file = d.write(
      'sequence.yaml',
      playbook(
        'scn_sequence',
        `workload: { api: "${srv.url}" }
workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: a } ] }
  - step: a
    tool:
      - name: fetch
        kind: http
        url: "{{ api }}/flaky?run={{ execution_id }}"
        spec:
          policy:
            rules:
              - when: "{{ output.status == 'error' }}"
                then: { do: retry, attempts: 3, delay: 0.05 }
              - else:
                  then: { do: continue, set: { ctx.from_task: "{{ output.data.data.v }}" } }
      - name: save
        kind: noop
        result: { v: "{{ fetch.data.v }}" }
    set: { ctx.from_step: "{{ ctx.from_task + 1 }}" }
    next:
      arcs:
        - step: b
          set: { ctx.from_arc: "{{ ctx.from_step + 1 }}" }
  - step: b
    tool:
      kind: http
      url: "{{ api }}/poll?run={{ execution_id }}"
      spec:
        policy:
          rules:
            - when: "{{ output.status == 'error' }}"
              then: { do: retry, attempts: 5, delay: 0.01, backoff: exponential }
    next: { arcs: [ { step: end } ] }
  - step: end
    tool: { kind: noop, result: { v: "{{ a.v }}", ctx_chain: ["{{ ctx.from_task }}", "{{ ctx.from_step }}", "{{ ctx.from_arc }}"] } }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out).toMatchObject({ status: 'completed', error: null, result: { v: 5, ctx_chain: [5, 6, 7] } });
    const ev = rt.events(id);

    // §6.3 for the run of `a`, from its token to the next step's scheduling
    const from = ev.findIndex((e) => e.event_type === 'token.created' && e.step === 'a');
    const to = ev.findIndex((e) => e.event_type === 'step.scheduled' && e.step === 'b');
    const label = (e: (typeof ev)[number]) =>
      [e.event_type, e.step ?? '', e.task ?? '', e.attempt ?? '', e.event_type === 'ctx.patched' ? String(payloadOf(e).origin) : ''].join(':').replace(/:+$/, '');
    expect(ev.slice(from, to + 1).map(label)).toEqual([
      'token.created:a',
      'next.evaluated:start',
      'step.scheduled:a',
      'step.started:a',
      'task.started:a:fetch',
      'task.attempt.failed:a:fetch:1',
      'task.attempt.done:a:fetch:2',
      'task.done:a:fetch',
      'task.started:a:save',
      'task.attempt.done:a:save:1',
      'task.done:a:save',
      'step.done:a',
      'ctx.patched:a:::task',
      'ctx.patched:a:::step_set',
      'ctx.patched:a:::arc_set',
      'token.created:b',
      'next.evaluated:a',
      'step.scheduled:b',
    ]);
    // ... and the whole log's invariants: seq 1.., unique ids, scheduler events before the worker events they enable
    expect(ev.map((e) => e.seq)).toEqual(ev.map((_, i) => i + 1));
    expect(new Set(ev.map((e) => e.event_id)).size).toBe(ev.length);
    // 8: backoff omitted -> fixed (R8.8); exponential doubles: delay x 2^(n-1)
    const delays = (step: string) => ofType(ev, 'task.attempt.failed', step).map((e) => (payloadOf(e).decision as { delay_ms?: number }).delay_ms);
    expect(delays('a')).toEqual([50]);
    expect(delays('b')).toEqual([10, 20, 40]);
    expect(ofType(ev, 'task.attempt.done', 'b').map((e) => e.attempt)).toEqual([4]);
  });

  it('3: an unhandled failure drains the in-flight run (recorded, not routed) before execution.failed', async () => {
    const file = d.write(
      'drain.yaml',
      playbook(
        'scn_drain',
        `workflow:
  - step: start
    tool: { kind: noop }
    next:
      spec: { mode: inclusive }
      arcs: [ { step: bad }, { step: slow } ]
  - step: bad
    tool:
      kind: python
      code: |
        raise ValueError("bad input")
    next:
      arcs:
        - step: not_on_failure
        - step: not_on_failure_either
          when: "{{ true }}"
  - step: slow
    tool:
      kind: python
      code: |
        import time
        time.sleep(0.8)
        result = {"finished": True}
    set: { ctx.slow_set: true }
    next: { arcs: [ { step: after_slow } ] }
  - step: not_on_failure
    tool: { kind: noop }
  - step: not_on_failure_either
    tool: { kind: noop }
  - step: after_slow
    tool: { kind: noop }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('failed');
    expect(out.error).toMatchObject({ step: 'bad', kind: 'schema' });
    const ev = rt.events(id);
    const at = (type: string, step?: string) => ev.findIndex((e) => e.event_type === type && (step === undefined || e.step === step));
    // the failure came first; the in-flight `slow` finished and was recorded before the execution failed
    expect(at('step.failed', 'bad')).toBeLessThan(at('step.done', 'slow'));
    expect(at('step.done', 'slow')).toBeLessThan(at('execution.failed'));
    expect(payloadOf(ofType(ev, 'next.evaluated', 'bad')[0])).toMatchObject({ unhandled_failure: true, fired: [] });
    // recorded but not routed: no step set, no tokens after the failure
    for (const s of ['not_on_failure', 'not_on_failure_either', 'after_slow']) expect(count(ev, 'step.scheduled', s)).toBe(0);
    const doc = await rt.document(id);
    expect(doc.steps.slow).toMatchObject({ status: 'done', runs: 1, result: { finished: true } });
    expect(doc.ctx).toEqual({});
    expect(payloadOf(ofType(ev, 'execution.failed')[0])).toMatchObject({ phase: 'run', failed_steps: [{ step: 'bad' }] });
  });

  it('11: a parallel loop never exceeds max_in_flight and orders results by index', async () => {
    const file = d.write(
      'inflight.yaml',
      playbook(
        'scn_inflight',
        `workflow:
  - step: start
    loop: { in: [0, 1, 2, 3, 4, 5], iterator: i, spec: { mode: parallel, max_in_flight: 2 } }
    tool:
      kind: python
      input: { i: "{{ iter.i }}" }
      code: |
        import time
        time.sleep(0.02 * (6 - i))
        result = {"i": i}
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    const ev = rt.events(id);
    let inFlight = 0;
    let max = 0;
    for (const e of ev) {
      if (e.event_type === 'loop.iteration.scheduled') max = Math.max(max, ++inFlight);
      if (['loop.iteration.done', 'loop.iteration.failed', 'loop.iteration.cancelled'].includes(e.event_type)) inFlight--;
    }
    expect(max).toBe(2);
    expect(count(ev, 'loop.iteration.done')).toBe(6);
    expect((out.result as { results: Array<{ i: number }> }).results.map((r) => r.i)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('11: a ctx write in a parallel loop is rejected at submit (R9.16)', async () => {
    const file = d.write(
      'parallel-ctx.yaml',
      playbook(
        'scn_parallel_ctx',
        `workflow:
  - step: start
    loop: { in: [1, 2], iterator: i, spec: { mode: parallel } }
    tool:
      kind: noop
      spec:
        policy:
          rules:
            - else: { then: { do: continue, set: { ctx.last: "{{ iter.i }}" } } }
`,
      ),
    );
    const err = await rt.submit(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlaybookRejectedError);
    expect((err as PlaybookRejectedError).diagnostics.filter((x) => x.severity === 'error').map((x) => x.code)).toEqual(['E_CTX_WRITE_IN_PARALLEL_LOOP']);
  });
});
