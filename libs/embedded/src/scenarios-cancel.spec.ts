// runtime.md §15 scenario 21 end to end: cancellation discards pending work (a token waiting at a
// join, undispatched loop iterations), interrupts running tools for real (a python interpreter and
// a shell process are gone, a postgres backend query is cancelled), ends with execution.cancelled,
// and cascades to a running child playbook (whose python process is killed too).
import { createEmbeddedRuntime } from './runtime';
import {
  count, createTestDatabase, eventually, json, ofType, payloadOf, pidAlive, playbook, readWhenWritten, scenarioDir, startLoopback, waitForEvent, type TestDatabase, useRuntime } from './testing/scenario-kit';
import type { EmbeddedRuntime } from './types';

const d = scenarioDir('scn-cancel');
afterAll(() => d.cleanup());

const SLEEP_PY = `      code: |
        import os, time
        with open(pidfile, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(30)
        result = {"slept": True}`;

describe('scenario 21: cancellation (embedded, real python / shell / postgres)', () => {
  let rt: EmbeddedRuntime;
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
    rt = createEmbeddedRuntime({ env: d.env, cwd: d.dir, workers: 6, credentials: { pg_scn: db.credential } });
  });
  afterAll(async () => {
    await rt.close();
    await db.drop();
  });

  it('discards the pending join token and undispatched iterations, kills python and shell, cancels the SQL query', async () => {
    const marker = `noetl_cancel_marker_${Date.now()}`;
    const file = d.write(
      'cancel.yaml',
      playbook(
        'scn_cancel',
        `workload:
  pydir: "${d.path('pids')}"
workflow:
  - step: start
    tool: { kind: noop }
    next:
      spec: { mode: inclusive }
      arcs: [ { step: py_sleep }, { step: sql_sleep }, { step: sh_loop }, { step: quick } ]
  - step: py_sleep
    tool:
      kind: python
      input: { pidfile: "{{ pydir }}-py" }
${SLEEP_PY}
    next: { arcs: [ { step: join } ] }
  - step: sql_sleep
    tool:
      kind: postgres
      auth: pg_scn
      query: "SELECT pg_sleep(30) AS ${marker}"
    next: { arcs: [ { step: join } ] }
  - step: sh_loop
    loop: { in: [1, 2, 3], iterator: n }
    tool:
      kind: shell
      command: "echo $$ > {{ pydir }}-sh-{{ iter.n }}; exec sleep 30"
    next: { arcs: [ { step: join } ] }
  - step: quick
    tool: { kind: noop, result: { fast: true } }
    next: { arcs: [ { step: join } ] }
  - step: join
    tool: { kind: noop }
`,
      ),
    );
    const id = await rt.submit(file);
    const pyPid = Number(await readWhenWritten(`${d.path('pids')}-py`));
    const shPid = Number(await readWhenWritten(`${d.path('pids')}-sh-1`));
    await waitForEvent(rt, id, (e) => e.event_type === 'step.done' && e.step === 'quick');
    const sqlActive = () => db.adminQuery(`SELECT pid FROM pg_stat_activity WHERE query LIKE '%${marker}%' AND state = 'active' AND pid <> pg_backend_pid()`);
    expect(await eventually(async () => (await sqlActive()).length === 1, 10_000)).toBe(true);
    expect(pidAlive(pyPid) && pidAlive(shPid)).toBe(true);
    // the join waits for the three running branches: quick's token is pending there
    const joinToken = ofType(rt.events(id), 'token.created', 'join').map((e) => payloadOf(e).token_id);
    expect(joinToken).toHaveLength(1);

    const t0 = Date.now();
    expect(await rt.cancel(id, 'scenario 21')).toBe(true);
    const out = await rt.waitForTerminal(id);
    const elapsed = Date.now() - t0;
    expect(out.status).toBe('cancelled');
    expect(elapsed).toBeLessThan(10_000); // the 30 s sleeps were interrupted
    // the processes and the backend query are really gone
    expect(await eventually(() => !pidAlive(pyPid), 5_000)).toBe(true);
    expect(await eventually(() => !pidAlive(shPid), 5_000)).toBe(true);
    expect(await eventually(async () => (await sqlActive()).length === 0, 5_000)).toBe(true);

    const ev = rt.events(id);
    expect(count(ev, 'execution.cancel_requested')).toBe(1);
    expect(count(ev, 'execution.cancelled')).toBe(1);
    expect(count(ev, 'execution.completed') + count(ev, 'execution.failed')).toBe(0);
    const cancelled = payloadOf(ofType(ev, 'execution.cancelled')[0]);
    expect(cancelled.discarded_tokens).toEqual(joinToken);
    const runIds = (step: string) => ofType(ev, 'step.scheduled', step).map((e) => e.step_run_id);
    expect([...(cancelled.cancelled_step_runs as string[])].sort()).toEqual([...runIds('py_sleep'), ...runIds('sql_sleep'), ...runIds('sh_loop')].sort());
    // pending work discarded: the join never ran, iterations 1 and 2 were never dispatched
    expect(count(ev, 'step.scheduled', 'join')).toBe(0);
    expect(ofType(ev, 'loop.iteration.scheduled', 'sh_loop').map((e) => e.iteration_index)).toEqual([0]);
    // running work interrupted: task.cancelled, then the run's cancelled terminal (§11 step 3)
    for (const step of ['py_sleep', 'sql_sleep']) {
      expect(count(ev, 'task.cancelled', step)).toBe(1);
      expect(count(ev, 'step.cancelled', step)).toBe(1);
      expect(count(ev, 'step.done', step) + count(ev, 'step.failed', step)).toBe(0);
    }
    expect(count(ev, 'loop.iteration.cancelled', 'sh_loop')).toBe(1);
    expect(count(ev, 'loop.done', 'sh_loop')).toBe(0);
    // cancellation evaluates no arcs (§11 step 5)
    const cancelAt = ev.findIndex((e) => e.event_type === 'execution.cancel_requested');
    expect(ev.slice(cancelAt).filter((e) => ['token.created', 'next.evaluated', 'step.scheduled'].includes(e.event_type))).toEqual([]);
    const doc = await rt.document(id);
    expect(doc.steps.py_sleep).toMatchObject({ status: 'cancelled', runs: 1 });
  });

  it('cascades to a running child playbook and kills its python task', async () => {
    d.write(
      'lib/sleepy_child.yaml',
      playbook(
        'scn_sleepy_child',
        `workload: { pidfile: none }
workflow:
  - step: start
    tool:
      kind: python
      input: { pidfile: "{{ pidfile }}" }
${SLEEP_PY}
    next: { arcs: [ { step: after } ] }
  - step: after
    tool: { kind: noop }
`,
      ),
    );
    const parent = d.write(
      'cascade-parent.yaml',
      playbook(
        'scn_cascade_parent',
        `workflow:
  - step: start
    tool: { kind: playbook, path: lib/sleepy_child, input: { pidfile: "${d.path('child-pid')}" } }
    next: { arcs: [ { step: after } ] }
  - step: after
    tool: { kind: noop }
`,
      ),
    );
    const id = await rt.submit(parent);
    const pid = Number(await readWhenWritten(d.path('child-pid')));
    const childStarted = await waitForEvent(rt, id, (e) => e.execution_id !== id && e.event_type === 'execution.started');
    const childId = childStarted.execution_id;

    const t0 = Date.now();
    await rt.cancel(id, 'stop the tree');
    const [parentOut, childOut] = await Promise.all([rt.waitForTerminal(id), rt.waitForTerminal(childId)]);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(parentOut.status).toBe('cancelled');
    expect(childOut.status).toBe('cancelled');
    expect(await eventually(() => !pidAlive(pid), 5_000)).toBe(true);

    const child = rt.events(childId);
    const req = ofType(child, 'execution.cancel_requested');
    expect(req.length).toBeGreaterThanOrEqual(1);
    // the cascade names its origin; the parent's own request cascades
    expect(req.some((e) => payloadOf(e).origin_execution_id === id)).toBe(true);
    expect(payloadOf(ofType(rt.events(id), 'execution.cancel_requested')[0]).cascade).toBe(true);
    expect(count(child, 'step.cancelled', 'start')).toBe(1);
    expect(count(child, 'step.scheduled', 'after')).toBe(0);
    expect(count(rt.events(id), 'step.scheduled', 'after')).toBe(0);
    expect(count(child, 'execution.cancelled')).toBe(1);
  });
});

describe('scenario 21: cancellation of queued and sleeping work (one worker)', () => {
  const rt = useRuntime(d, { workers: 1 });

  it('a command picked up after the cancel runs as cancelled without starting (durable flag, §9.1)', async () => {
    const pidfile = d.path('busy-pid');
    const file = d.write(
      'queued.yaml',
      playbook(
        'scn_queued',
        `workflow:
  - step: start
    tool: { kind: noop }
    next:
      spec: { mode: inclusive }
      arcs: [ { step: busy }, { step: queued } ]
  - step: busy
    tool:
      kind: python
      input: { pidfile: "${pidfile}" }
${SLEEP_PY}
  - step: queued
    tool: { kind: noop, result: { ran: true } }
`,
      ),
    );
    const id = await rt.submit(file);
    const pid = Number(await readWhenWritten(pidfile));
    // the only worker is busy: `queued` waits in the work queue
    expect(count(rt.events(id), 'step.scheduled', 'queued')).toBe(1);
    expect(count(rt.events(id), 'step.started', 'queued')).toBe(0);
    await rt.cancel(id, 'queued scenario');
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('cancelled');
    expect(await eventually(() => !pidAlive(pid), 5_000)).toBe(true);
    const ev = rt.events(id);
    expect(count(ev, 'step.cancelled', 'queued')).toBe(1);
    expect(count(ev, 'step.started', 'queued') + count(ev, 'task.started', 'queued') + count(ev, 'step.done', 'queued')).toBe(0);
    expect(count(ev, 'step.cancelled', 'busy')).toBe(1);
    // execution.cancelled only once every run is terminal (§11 step 4)
    expect(ev.findIndex((e) => e.event_type === 'execution.cancelled')).toBeGreaterThan(ev.findIndex((e) => e.event_type === 'step.cancelled' && e.step === 'queued'));
  });

  it('a cancel during a retry delay stops the sleep: task.cancelled, no further attempt', async () => {
    const srv = await startLoopback((_req, res) => json(res, 503, { error: 'down' }));
    try {
      const file = d.write(
        'retry-sleep.yaml',
        playbook(
          'scn_retry_sleep',
          `workflow:
  - step: start
    tool:
      kind: http
      url: "${srv.url}/down"
      spec:
        policy:
          rules:
            - when: "{{ output.status == 'error' }}"
              then: { do: retry, attempts: 5, delay: 30 }
`,
        ),
      );
      const id = await rt.submit(file);
      await waitForEvent(rt, id, (e) => e.event_type === 'task.attempt.failed');
      const t0 = Date.now();
      await rt.cancel(id, 'retry scenario');
      const out = await rt.waitForTerminal(id);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(out.status).toBe('cancelled');
      const ev = rt.events(id);
      expect(ofType(ev, 'task.attempt.failed').map((e) => (payloadOf(e).decision as { do: string; delay_ms: number })).map((x) => [x.do, x.delay_ms])).toEqual([['retry', 30_000]]);
      expect(count(ev, 'task.cancelled')).toBe(1);
      expect(count(ev, 'step.cancelled')).toBe(1);
      expect(srv.requests).toHaveLength(1);
    } finally {
      await srv.close();
    }
  });
});
