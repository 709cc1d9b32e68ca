// runtime.md §15 scenarios 24 (step deadline) and 25 (workbook calls) end to end: real timer
// service, real python processes, real workbook resolution.
import { existsSync } from 'node:fs';
import { count, eventually, ofType, payloadOf, pidAlive, playbook, readWhenWritten, scenarioDir, useRuntime } from './testing/scenario-kit';

const d = scenarioDir('scn-lifecycle');
afterAll(() => d.cleanup());

describe('scenario 24: step deadline (spec.policy.lifecycle.timeout_s)', () => {
  const rt = useRuntime(d, { workers: 3 });

  it('fails the run with kind timeout, routable by a failure-aware arc; the running python is interrupted', async () => {
    const pidfile = d.path('deadline-pid');
    const file = d.write(
      'deadline.yaml',
      playbook(
        'scn_deadline',
        `workflow:
  - step: start
    tool: { kind: python, code: "result = {'warm': True}" }
    next: { arcs: [ { step: slow } ] }
  - step: slow
    spec: { policy: { lifecycle: { timeout_s: 1.5 } } }
    tool:
      - name: sleep
        kind: python
        input: { pidfile: "${pidfile}" }
        code: |
          import os, time
          with open(pidfile, "w") as f:
              f.write(str(os.getpid()))
          time.sleep(30)
          result = {"slept": True}
      - name: after_sleep
        kind: noop
    set: { ctx.slow_succeeded: true }
    next:
      spec: { mode: exclusive }
      arcs:
        - step: on_success
        - step: on_timeout
          when: "{{ event.name == 'step.failed' and event.error.kind == 'timeout' }}"
          set: { ctx.timed_out_step: "{{ event.step }}" }
          args: { kind: "{{ event.error.kind }}", retryable: "{{ event.error.retryable }}" }
  - step: on_success
    tool: { kind: noop }
  - step: on_timeout
    tool: { kind: noop, result: { kind: "{{ args.kind }}", retryable: "{{ args.retryable }}" } }
`,
      ),
    );
    const t0 = Date.now();
    const id = await rt.submit(file);
    const pid = Number(await readWhenWritten(pidfile));
    const out = await rt.waitForTerminal(id);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');
    // the scheduler's cancel signal for the run stops the python process (T8.13)
    expect(await eventually(() => !pidAlive(pid), 5_000)).toBe(true);

    const ev = rt.events(id);
    const runId = ofType(ev, 'step.scheduled', 'slow')[0].step_run_id as string;
    const failed = ofType(ev, 'step.failed', 'slow');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ event_id: `${runId}/timeout`, source: 'scheduler' });
    expect(payloadOf(failed[0])).toMatchObject({ reason: 'timeout', error: { kind: 'timeout', retryable: true } });
    expect(count(ev, 'x.timer.fired')).toBe(1);
    // routed by the failure-aware arc only; the step set and the success arc did not run
    const doc = await rt.document(id);
    expect(doc.steps.on_timeout).toMatchObject({ status: 'done', runs: 1, result: { kind: 'timeout', retryable: true } });
    expect(doc.steps.slow).toMatchObject({ status: 'failed', runs: 1 });
    expect(count(ev, 'step.scheduled', 'on_success')).toBe(0);
    expect(doc.ctx).toEqual({ timed_out_step: 'slow' });
    // the pipeline stopped: the second task never started; a later worker terminal is superseded
    expect(count(ev, 'task.started', 'slow')).toBe(1);
    expect(await eventually(() => count(rt.events(id), 'step.cancelled', 'slow') + count(rt.events(id), 'step.done', 'slow') === 1, 5_000)).toBe(true);
    expect((await rt.document(id)).steps.slow).toMatchObject({ status: 'failed', runs: 1 });
  });

  it('a loop step deadline cancels the running iteration, dispatches no more and routes the timeout', async () => {
    const file = d.write(
      'loop-deadline.yaml',
      playbook(
        'scn_loop_deadline',
        `workflow:
  - step: start
    spec: { policy: { lifecycle: { timeout_s: 1 } } }
    loop: { in: [1, 2, 3], iterator: n }
    tool: { kind: shell, command: "echo $$ > ${d.path('loop-deadline-pid')}-{{ iter.n }}; exec sleep 30" }
    next:
      arcs:
        - step: after
          when: "{{ event.name == 'step.failed' }}"
          args: { kind: "{{ event.error.kind }}" }
  - step: after
    tool: { kind: noop, result: { kind: "{{ args.kind }}" } }
`,
      ),
    );
    const t0 = Date.now();
    const id = await rt.submit(file);
    const pid = Number(await readWhenWritten(`${d.path('loop-deadline-pid')}-1`));
    const out = await rt.waitForTerminal(id);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out).toMatchObject({ status: 'completed', error: null, result: { kind: 'timeout' } });
    expect(await eventually(() => !pidAlive(pid), 5_000)).toBe(true);
    const ev = rt.events(id);
    expect(payloadOf(ofType(ev, 'step.failed', 'start')[0])).toMatchObject({ reason: 'timeout', error: { kind: 'timeout' } });
    expect(count(ev, 'loop.iteration.scheduled', 'start')).toBe(1);
    expect(count(ev, 'loop.done', 'start')).toBe(0);
  });
});

describe('iteration deadlines (loop.spec.iteration_timeout_s, runtime T8.13 MAY)', () => {
  const rt = useRuntime(d, { workers: 3 });

  it('only the slow iteration fails with kind timeout and its process is stopped; best_effort finishes the others and loop.done routes', async () => {
    const pidfile = d.path('iteration-deadline-pid');
    const file = d.write(
      'iteration-deadline.yaml',
      playbook(
        'scn_iteration_deadline',
        `workflow:
  - step: start
    spec: { policy: { failure: { mode: best_effort } } }
    loop:
      in: [0.05, 30, 0.2]
      iterator: secs
      spec: { mode: parallel, max_in_flight: 3, iteration_timeout_s: 1.5 }
    tool: { kind: shell, command: "echo $$ > ${pidfile}-{{ iter.index }}; exec sleep {{ iter.secs }}" }
    next:
      arcs:
        - step: report
          when: "{{ event.name == 'loop.done' }}"
  - step: report
    tool:
      kind: noop
      result:
        stats: "{{ start.stats }}"
        kinds: "{{ start.errors | map(attribute='error.kind') | list }}"
        failed_index: "{{ start.errors[0].index }}"
`,
      ),
    );
    const t0 = Date.now();
    const id = await rt.submit(file);
    const slowPid = Number(await readWhenWritten(`${pidfile}-1`));
    const out = await rt.waitForTerminal(id);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out).toMatchObject({ status: 'completed', error: null, result: { stats: { total: 3, succeeded: 2, failed: 1 }, kinds: ['timeout'], failed_index: 1 } });
    // the scheduler's cancel signal for that iteration's command stops its process (T8.13)
    expect(await eventually(() => !pidAlive(slowPid), 5_000)).toBe(true);
    const ev = rt.events(id);
    const scheduled = ofType(ev, 'loop.iteration.scheduled', 'start');
    const slowIteration = scheduled.find((e) => e.iteration_index === 1)!.iteration_id as string;
    const failed = ofType(ev, 'loop.iteration.failed', 'start');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ event_id: `${slowIteration}/timeout`, source: 'scheduler', iteration_index: 1 });
    expect(payloadOf(failed[0])).toMatchObject({ reason: 'timeout', error: { kind: 'timeout', code: 'ITERATION_TIMEOUT' } });
    expect(count(ev, 'loop.iteration.done', 'start')).toBe(2);
    expect(ofType(ev, 'x.timer.fired').map((e) => payloadOf(e).kind)).toEqual(['iteration_deadline']);
    const doc = await rt.document(id);
    expect(doc.steps.start).toMatchObject({ status: 'done', runs: 1 });
  });
});

describe('iteration deadlines: commands still queued when their deadline passed', () => {
  const rt = useRuntime(d, { workers: 1 });

  it('are dropped by the worker that picks them up after their deadline: their tools never start, the timeout decides', async () => {
    const marks = d.path('queued-mark');
    const file = d.write(
      'queued-deadline.yaml',
      playbook(
        'scn_queued_deadline',
        `workflow:
  - step: start
    spec: { policy: { failure: { mode: best_effort } } }
    loop:
      in: [0, 1, 2, 3]
      iterator: n
      spec: { mode: parallel, max_in_flight: 4, iteration_timeout_s: 0.5 }
    tool: { kind: shell, command: "touch ${marks}-{{ iter.n }}; sleep 2" }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('completed');
    const ev = rt.events(id);
    expect(count(ev, 'loop.iteration.failed', 'start')).toBe(4); // all four timed out
    // one worker: iteration 0 ran; 1-3 were still queued at their deadline and never ran their shell
    expect(existsSync(`${marks}-0`)).toBe(true);
    for (const n of [1, 2, 3]) expect(existsSync(`${marks}-${n}`)).toBe(false);
    expect(ofType(ev, 'loop.iteration.started', 'start').map((e) => e.iteration_index)).toEqual([0]);
    expect(ofType(ev, 'loop.iteration.failed', 'start').map((e) => (payloadOf(e).error as { kind: string }).kind)).toEqual(['timeout', 'timeout', 'timeout', 'timeout']);
  });
});

describe('scenario 25: workbook calls (input merge, assert.expects / returns)', () => {
  const rt = useRuntime(d, { workers: 2 });

  it('deep-merges the call input over the entry input; missing/null expected keys fail with schema before the tool runs', async () => {
    const marks = d.path('wb-marks');
    const file = d.write(
      'workbook.yaml',
      playbook(
        'scn_workbook',
        `workbook:
  - name: price
    tool:
      kind: python
      input: { amount: null, rate: 0.2, opts: { round: 2, currency: EUR }, mark: "${marks}" }
      code: |
        open(mark + "-" + str(amount), "w").close()
        result = {"total": round(amount * (1 + rate), opts["round"]), "currency": opts["currency"]}
    assert:
      expects: [amount, rate]
      returns: [total, currency]
  - name: no_currency
    tool:
      kind: python
      input: { amount: 1 }
      code: |
        result = {"total": amount}
    assert:
      returns: [total, currency]
workflow:
  - step: start
    tool:
      - name: ok_call
        kind: workbook
        entry: price
        input: { amount: 10, opts: { currency: USD } }
      - name: missing
        kind: workbook
        entry: price
        input: { rate: 0.5 }
        spec:
          policy:
            rules:
              - when: "{{ output.status == 'error' }}"
                then: { do: continue, set: { ctx.missing_kind: "{{ output.error.kind }}", ctx.missing_msg: "{{ output.error.message }}" } }
      - name: null_rate
        kind: workbook
        entry: price
        input: { amount: 7, rate: null }
        spec:
          policy:
            rules:
              - when: "{{ output.status == 'error' }}"
                then: { do: continue, set: { ctx.null_kind: "{{ output.error.kind }}" } }
      - name: bad_returns
        kind: workbook
        entry: no_currency
    next:
      arcs:
        - step: report
          when: "{{ event.name == 'step.failed' }}"
          args: { kind: "{{ event.error.kind }}", ok: "{{ output.data.ok_call }}" }
  - step: report
    tool: { kind: noop, result: { kind: "{{ args.kind }}", ok: "{{ args.ok }}" } }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');
    const ev = rt.events(id);
    const doc = await rt.document(id);

    // merge: amount from the call, rate and opts.round from the entry, opts.currency from the call
    // (read from the failed run's partial result, output.data in failure routing, R13.3)
    expect(doc.steps.report.result).toMatchObject({ kind: 'schema', ok: { total: 12, currency: 'USD' } });
    // expects: the tool did not run for the missing / null keys (only the amount=10 call wrote its mark)
    expect(existsSync(`${marks}-10`)).toBe(true);
    expect(existsSync(`${marks}-None`)).toBe(false);
    expect(existsSync(`${marks}-7`)).toBe(false);
    expect(doc.ctx).toMatchObject({ missing_kind: 'schema', null_kind: 'schema' });
    expect(String(doc.ctx.missing_msg)).toContain('amount');
    // returns: ok data without `currency` becomes a schema error (no policy: the pipeline fails)
    const failedAttempt = ofType(ev, 'task.attempt.failed', 'start').find((e) => e.task === 'bad_returns');
    expect(payloadOf(failedAttempt).outcome).toMatchObject({ status: 'error', error: { kind: 'schema' } });
    expect(doc.steps.start).toMatchObject({ status: 'failed', runs: 1 });
    // the calls keep their own task labels
    expect(ofType(ev, 'task.started', 'start').map((e) => e.task)).toEqual(['ok_call', 'missing', 'null_rate', 'bad_returns']);
  });

  it('the call spec is deep-merged over the entry spec (call wins): the entry timeout applies unless the call overrides it', async () => {
    const file = d.write(
      'workbook-spec.yaml',
      playbook(
        'scn_workbook_spec',
        `workbook:
  - name: nap
    tool:
      kind: python
      input: { s: 2 }
      spec: { timeout: 0.5 }
      code: |
        import time
        time.sleep(s)
        result = {"slept": s}
workflow:
  - step: start
    tool:
      - name: entry_timeout
        kind: workbook
        entry: nap
        spec:
          policy:
            rules:
              - when: "{{ output.status == 'error' }}"
                then: { do: continue, set: { ctx.entry_timeout_kind: "{{ output.error.kind }}" } }
      - name: call_timeout
        kind: workbook
        entry: nap
        input: { s: 1 }
        spec: { timeout: 20 }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    const doc = await rt.document(id);
    expect(doc.ctx).toEqual({ entry_timeout_kind: 'timeout' });
    expect(doc.steps.start.result).toMatchObject({ call_timeout: { slept: 1 } });
  });
});
