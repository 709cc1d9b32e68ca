import { makeError } from '@noetl/common';
import type { NoetlEvent } from '@noetl/events';
import { activeTimers, createExecutionState, processEvent, replay, summarize } from '@noetl/engine';
import { buildPlaybook } from './testing/builder';
import { hydrateNone, noopScript, Sim } from './testing/sim';

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
type Ev = NoetlEvent & { payload: Record<string, unknown> };

function checkReplay(sim: Sim) {
  expect(plain(replay(sim.playbook, sim.log))).toEqual(plain(sim.state));
}

describe('execution start (runtime §8.2, dsl R2.16)', () => {
  it('shallow-merges the payload over the workload and renders string leaves once against the bootstrap context', () => {
    const pb = buildPlaybook({
      workload: {
        region: 'eu',
        nested: { keep: 1, tag: 'x' },
        run_tag: 'nightly-{{ execution_id }}',
        from_payload: "{{ payload.who | default('nobody') }}",
        alias: "{{ input.who | default('nobody') }}",
        other: '{{ region }}-{{ workload.region }}',
        home: '{{ env.HOME_DIR }}',
        job_id: '{{ job.uuid }}',
        pb: '{{ playbook.name }}',
        stamp: '{{ now() }}',
        raw: '{{ run_tag }}',
      },
      steps: [{ name: 'start' }],
    });
    const sim = new Sim(pb, { payload: { nested: { tag: 'y' }, who: 'me', region: 'us' }, env: { envAllowList: { HOME_DIR: '/h' } } });
    sim.start();
    const started = sim.events('execution.started')[0] as Ev;
    expect(started.payload.workload).toEqual({
      region: 'us',
      nested: { tag: 'y' }, // shallow: replaced entirely
      run_tag: `nightly-${sim.exec}`,
      from_payload: 'me',
      alias: 'me',
      other: 'us-us',
      home: '/h',
      job_id: sim.exec,
      pb: 'test',
      stamp: started.ts,
      raw: 'nightly-{{ execution_id }}', // rendered values are never rendered again; others seen unrendered
      who: 'me',
    });
    expect(started.payload).toMatchObject({ entry_step: 'start', ctx: {}, keychain: [], playbook: { name: 'test', path: 'test/test', digest: 'sha256:test' }, limits: { max_step_runs: 100000 } });
    const tok = sim.events('token.created')[0] as Ev;
    expect(tok.payload).toEqual({ token_id: `${sim.exec}/t/1.0`, target_step: 'start', args: {}, origin: { kind: 'entry', event: 'execution.started' }, back_edge: false });
  });

  it('initial ctx comes from the request; limits merge deployment and playbook', () => {
    const pb = buildPlaybook({ policy: { limits: { max_step_runs: 7 } }, steps: [{ name: 'start' }] });
    const sim = new Sim(pb, { ctx: { a: 1 }, env: { deploymentLimits: { loop_max_in_flight: 4, max_step_runs: 9 } } });
    sim.start();
    expect(sim.state.ctx).toEqual({ a: 1 });
    expect(sim.state.limits).toMatchObject({ loop_max_in_flight: 4, max_step_runs: 7 });
  });

  it('a workload template error rejects the execution before start (phase start)', () => {
    const pb = buildPlaybook({ workload: { bad: '{{ 1 / 0 }}' }, steps: [{ name: 'start' }] });
    const sim = new Sim(pb);
    sim.start();
    expect(sim.state.status).toBe('failed');
    expect(sim.count('execution.started')).toBe(0);
    expect((sim.events('execution.failed')[0] as Ev).payload).toMatchObject({ phase: 'start', error: { kind: 'template', details: { phase: 'start' } } });
    checkReplay(sim);
  });

  it('honours executor.entry_step', () => {
    const pb = buildPlaybook({ entry: 'boot', steps: [{ name: 'boot', next: ['x'] }, { name: 'x' }] });
    expect(new Sim(pb).run().status).toBe('completed');
  });
});

describe('deadlines and lost work (T8.13, T8.14, R16.5)', () => {
  it('a step deadline fails the run with kind timeout, routable, and supersedes later worker events', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', timeout_s: 5, next: ['ok', { step: 'late', when: "{{ event.name == 'step.failed' and event.error.kind == 'timeout' }}" }] },
        { name: 'ok' },
        { name: 'late' },
      ],
    });
    const sim = new Sim(pb);
    const r = sim.start();
    expect(r.timers.set.map((t) => t.id)).toEqual([`${sim.exec}/r/1.0/deadline`]);
    expect(r.timers.set[0].at).toBe(new Date(Date.parse(sim.commands[0].issued_at) + 5000).toISOString());
    sim.step(); // step.started
    const fired = sim.fireNextTimer()!;
    expect(fired.controls).toEqual([{ type: 'cancel', execution_id: sim.exec, step_run_id: `${sim.exec}/r/1.0`, reason: 'timeout' }]);
    const failed = sim.events('step.failed')[0] as Ev;
    expect(failed.event_id).toBe(`${sim.exec}/r/1.0/timeout`);
    expect(failed.payload).toMatchObject({ reason: 'timeout', error: { kind: 'timeout' } });
    const st = sim.run();
    expect(st.status).toBe('completed');
    expect(summarize(st, hydrateNone).steps).toMatchObject({ start: { status: 'failed' }, late: { status: 'done' } });
    expect(sim.count('step.scheduled', 'ok')).toBe(0);
    checkReplay(sim);
  });

  it('a finished run clears its deadline timer; a stale timer is a no-op', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', timeout_s: 5, next: ['b'] }, { name: 'b' }] });
    const sim = new Sim(pb);
    const first = sim.start();
    const timer = first.timers.set[0];
    const st = sim.run();
    expect(sim.results.some((r) => r.timers.clear.includes(timer.id))).toBe(true);
    expect(sim.timers.size).toBe(0);
    const again = processEvent(sim.state, pb, timer.input, sim.env(999));
    expect(again.events).toEqual([]);
    expect(st.status).toBe('completed');
  });

  it('the execution deadline cancels everything and fails with phase timeout', () => {
    const pb = buildPlaybook({ policy: { lifecycle: { timeout_s: 60 } }, steps: [{ name: 'start', next: ['b'] }, { name: 'b' }] });
    const sim = new Sim(pb);
    const r = sim.start();
    expect(r.timers.set.map((t) => t.id)).toEqual([`${sim.exec}/deadline`]);
    sim.fireNextTimer();
    const st = sim.run();
    expect(st.status).toBe('failed');
    expect(sim.events('execution.cancel_requested')[0].event_id).toBe(`${sim.exec}/timeout`);
    expect((sim.events('execution.failed')[0] as Ev).payload).toMatchObject({ phase: 'timeout', error: { kind: 'timeout', details: { phase: 'timeout' } } });
    expect(summarize(st, hydrateNone).steps.start.status).toBe('cancelled');
    checkReplay(sim);
  });

  it('a dead-lettered command fails its run with worker_lost; an iteration likewise', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', next: [{ step: 'h', when: "{{ event.error.kind == 'worker_lost' }}" }] }, { name: 'h', loop: { in: [1, 2] }, failure_mode: 'best_effort' }] });
    const sim = new Sim(pb);
    sim.start();
    const c = sim.commands[0];
    const dl = (cmd: typeof c, iteration_id?: string) =>
      ({ v: 1, event_id: `${cmd.command_id}/dead`, event_type: 'x.command.dead_lettered', ts: sim.now(), execution_id: sim.exec, root_execution_id: sim.exec, source: 'scheduler', producer_id: 'js', status: 'error', payload: { command_id: cmd.command_id, step_run_id: cmd.step_run_id, ...(iteration_id ? { iteration_id } : {}), deliveries: 3 } }) as NoetlEvent;
    sim.streams[0].events = []; // the worker never answers
    sim.feed(dl(c));
    expect(sim.events('step.failed')[0].event_id).toBe(`${c.step_run_id}/lost`);
    const it0 = sim.commands.find((x) => x.iteration?.index === 0)!;
    sim.streams.find((s) => s.cmd === it0)!.events = [];
    sim.feed(dl(it0, it0.iteration!.iteration_id));
    expect(sim.events('loop.iteration.failed')[0]).toMatchObject({ event_id: `${it0.iteration!.iteration_id}/lost`, payload: { reason: 'worker_lost', error: { kind: 'worker_lost' } } });
    const st = sim.run();
    expect(summarize(st, hydrateNone).steps.h.result).toMatchObject({ stats: { total: 2, succeeded: 1, failed: 1 } });
    checkReplay(sim);
  });
});

describe('cancellation (runtime §11)', () => {
  const pb = buildPlaybook({
    steps: [
      { name: 'start', next: { mode: 'inclusive', arcs: ['a', 'loop'] } },
      { name: 'a', next: ['after'] },
      { name: 'loop', loop: { in: [1, 2, 3, 4], mode: 'parallel', max_in_flight: 2 } },
      { name: 'after' },
    ],
  });

  it('discards tokens, halts loops, sends the cancel control, ends with execution.cancelled', () => {
    const sim = new Sim(pb);
    sim.start();
    while (sim.count('step.done', 'start') === 0) sim.step();
    sim.step(); // a: step.started
    const r = sim.cancel('user asked');
    expect(sim.state.status).toBe('cancelling');
    expect(r.controls).toEqual([{ type: 'cancel', execution_id: sim.exec, reason: 'user asked' }]);
    expect(r.timers.set.map((t) => t.id)).toEqual([`${sim.exec}/grace`]);
    const st = sim.run();
    expect(st.status).toBe('cancelled');
    expect(sim.count('loop.iteration.scheduled')).toBe(2);
    expect(sim.count('step.scheduled', 'after')).toBe(0);
    expect(sim.count('next.evaluated', 'a')).toBe(0); // cancelled runs never route
    const ev = sim.events('execution.cancelled')[0] as Ev;
    expect(ev.payload).toMatchObject({ reason: 'user asked' });
    expect((ev.payload.cancelled_step_runs as string[]).length).toBe(2); // a and the loop
    const sum = summarize(st, hydrateNone);
    expect(sum).toMatchObject({ status: 'cancelled', error: { kind: 'cancelled' }, steps: { a: { status: 'cancelled' }, loop: { status: 'cancelled' } } });
    expect(st.cancel?.cascade).toBe(true);
    checkReplay(sim);
  });

  it('after the grace, the scheduler cancels stragglers itself (grace_expired)', () => {
    const sim = new Sim(pb, { ignoreControls: true });
    sim.start();
    while (sim.count('step.done', 'start') === 0) sim.step();
    sim.cancel();
    const fired = sim.fireNextTimer()!;
    expect(fired.events.map((e) => e.event_type)).toEqual(['step.cancelled', 'step.cancelled', 'execution.cancelled']);
    expect((fired.events[0] as Ev).payload.reason).toBe('grace_expired');
    expect(sim.state.status).toBe('cancelled');
    // late worker events are stored but change nothing (T3.1)
    const before = sim.state;
    sim.step();
    expect(sim.state).toBe(before);
    checkReplay(sim);
  });

  it('a second cancel request and a cancel of a terminal execution are no-ops', () => {
    const sim = new Sim(pb);
    sim.start();
    sim.cancel();
    expect(sim.cancel().events).toEqual([]);
    sim.run();
    expect(sim.cancel().events).toEqual([]);
  });

  it('on_unhandled: cancel cancels running work on the first unhandled failure but ends failed', () => {
    const p2 = buildPlaybook({
      policy: { failure: { on_unhandled: 'cancel' } },
      steps: [{ name: 'start', next: { mode: 'inclusive', arcs: ['bad', 'slow'] } }, { name: 'bad' }, { name: 'slow' }],
    });
    const sim = new Sim(p2, { script: (cmd, r) => (cmd.step === 'bad' ? { ok: false, error: makeError('script_error', 'EXIT_2', 'x') } : noopScript(cmd, r)) });
    sim.start();
    while (sim.count('step.done', 'start') === 0) sim.step();
    const bad = sim.streams.find((s) => s.cmd.step === 'bad')!;
    while (bad.pos < bad.events.length) sim.feed(bad.events[bad.pos++]);
    expect(sim.controls).toEqual([{ type: 'cancel', execution_id: sim.exec, reason: 'unhandled_failure' }]);
    expect([...sim.timers.keys()]).toEqual([`${sim.exec}/grace`]);
    const st = sim.run();
    expect(st.status).toBe('failed');
    expect(summarize(st, hydrateNone)).toMatchObject({ error: { step: 'bad', kind: 'script_error' }, steps: { slow: { status: 'cancelled' } } });
    checkReplay(sim);
  });
});

describe('activeTimers (recovery)', () => {
  it('re-derives armed timers from a replayed state', () => {
    const pb = buildPlaybook({ policy: { lifecycle: { timeout_s: 60 } }, steps: [{ name: 'start', timeout_s: 5 }] });
    const sim = new Sim(pb);
    sim.start();
    const ids = activeTimers(replay(pb, sim.log), pb).map((t) => t.id).sort();
    expect(ids).toEqual([`${sim.exec}/deadline`, `${sim.exec}/r/1.0/deadline`].sort());
    expect(activeTimers(createExecutionState('x'), pb)).toEqual([]);
  });
});
