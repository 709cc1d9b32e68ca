import { ids, type NoetlEvent } from '@noetl/events';
import { createExecutionState, foldEvent, isTerminal, pendingCommands, processEvent, replay, summarize } from '@noetl/engine';
import { buildPlaybook } from './testing/builder';
import { hydrateNone, Sim } from './testing/sim';

const chain = buildPlaybook({
  steps: [
    { name: 'start', next: ['middle'] },
    { name: 'middle', result: { status: 'ok', message: 'halfway' }, next: ['end'] },
    { name: 'end', result: { done: true, via: '{{ middle.message }}' } },
  ],
});

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('linear chain (runtime §15 scenario 1)', () => {
  it('emits the §6.3 sequence and completes with the end result', () => {
    const sim = new Sim(chain);
    const st = sim.run();
    expect(st.status).toBe('completed');
    const types = sim.log.filter((e) => e.source === 'scheduler').map((e) => `${e.event_type}${e.step ? ':' + e.step : ''}`);
    expect(types).toEqual([
      'execution.started', 'token.created:start', 'step.scheduled:start',
      'token.created:middle', 'next.evaluated:start', 'step.scheduled:middle',
      'token.created:end', 'next.evaluated:middle', 'step.scheduled:end',
      'next.evaluated:end', 'execution.completed',
    ]);
    const done = sim.events('execution.completed')[0] as NoetlEvent & { payload: { result: unknown; final_step: string } };
    expect(done.payload.result).toEqual({ done: true, via: 'halfway' });
    expect(done.payload.final_step).toBe('end');
    const sum = summarize(st, hydrateNone);
    expect(sum).toMatchObject({
      status: 'completed',
      error: null,
      steps: { start: { status: 'done', runs: 1, result: { status: 'ok', message: 'noop' } }, end: { status: 'done', runs: 1, result: { done: true, via: 'halfway' } } },
    });
  });

  it('mints deterministic ids from the input seq (T2.3)', () => {
    const sim = new Sim(chain);
    sim.start();
    const sched = sim.log.filter((e) => e.source === 'scheduler');
    expect(sched.map((e) => e.event_id)).toEqual([1, 2, 3].map((k, i) => ids.schedulerEvent(sim.exec, 1, i)));
    const tok = sim.events('token.created')[0] as NoetlEvent & { payload: { token_id: string } };
    expect(tok.payload.token_id).toBe(ids.token(sim.exec, 1, 0));
    expect(sim.commands[0].command_id).toBe(`${ids.stepRun(sim.exec, 1, 0)}/c1`);
  });

  it('processing the same input twice from the same state yields identical output (T8.3, T10.5)', () => {
    const sim = new Sim(chain);
    sim.start();
    const before = sim.state;
    const snapshot = plain(before);
    const stream = sim.streams[0];
    const input = stream.events[stream.events.length - 1]; // step.done of start
    const env = sim.env(42);
    const a = processEvent(before, chain, input, env);
    const b = processEvent(before, chain, input, env);
    expect(plain(a)).toEqual(plain(b));
    expect(plain(before)).toEqual(snapshot); // the input state is never mutated
    // and from a JSON-restored snapshot
    const c = processEvent(plain(before), chain, input, env);
    expect(plain(c)).toEqual(plain(a));
  });

  it('replay(log) equals the live state and the state is plain JSON', () => {
    const sim = new Sim(chain);
    const st = sim.run();
    expect(plain(replay(chain, sim.log))).toEqual(plain(st));
    expect(plain(st)).toEqual(st);
  });

  it('a second event with an already seen event_id is a no-op (T10.1)', () => {
    const sim = new Sim(chain);
    sim.start();
    sim.step(); // step.started
    sim.step(); // task.started
    const dup = sim.log[sim.log.length - 1];
    const before = sim.state;
    const r = processEvent(before, chain, dup, sim.env(99));
    expect(r.state).toBe(before);
    expect(r.events).toEqual([]);
  });

  it('first terminal wins (T3.2, T10.8): a later step.failed of a done run changes nothing', () => {
    const sim = new Sim(chain);
    sim.start();
    while (sim.count('step.done') === 0) sim.step();
    const done = sim.events('step.done')[0];
    const late = { ...done, event_id: done.event_id.replace('/e1/', '/e2/'), lease_epoch: 2, event_type: 'step.failed', status: 'error', payload: { error: { kind: 'internal', code: 'X', message: 'x', retryable: false }, ctx_patch: [], reason: 'pipeline' } } as unknown as NoetlEvent;
    const before = sim.state;
    const r = processEvent(before, chain, late, sim.env(500));
    expect(r.state).toBe(before);
    expect(r.events).toEqual([]);
    expect(sim.run().status).toBe('completed');
  });

  it('redelivery: events of a new epoch are accepted, the first terminal counts', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', result: { n: 1 }, next: ['b'] }, { name: 'b' }] });
    const sim = new Sim(pb);
    sim.start();
    const s = sim.streams[0];
    sim.step(); // epoch 1 step.started
    // epoch 2 (worker crashed, redelivered) completes first
    const e2 = s.events.map((e) => ({ ...e, event_id: e.event_id.replace('/e1/', '/e2/'), lease_epoch: 2 }) as NoetlEvent);
    for (const e of e2) sim.feed(e);
    expect(sim.count('step.scheduled', 'b')).toBe(1);
    // epoch 1 finishes later: superseded, no duplicate token
    while (s.pos < s.events.length) sim.step();
    expect(sim.count('token.created', 'b')).toBe(1);
    expect(sim.run().status).toBe('completed');
  });

  it('replay drops re-derived duplicate scheduler events (crash between publish and ack, T8.3/T10.1)', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', next: ['b'] }, { name: 'b' }] });
    const sim = new Sim(pb);
    const st = sim.run();
    // the scheduler crashed after publishing the outputs of the step.done of start, then re-processed it
    const i = sim.log.findIndex((e) => e.event_type === 'step.done');
    const outputs = sim.log.filter((e) => e.source === 'scheduler' && e.causation_id === sim.log[i].event_id);
    const withDupes = [...sim.log.slice(0, i + 1 + outputs.length), ...outputs, ...sim.log.slice(i + 1 + outputs.length)];
    expect(plain(replay(pb, withDupes))).toEqual(plain(st));
  });

  it('a JSON snapshot taken mid-run continues exactly like the live state', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', next: { mode: 'inclusive', arcs: ['a', 'b'] } }, { name: 'a', loop: { in: [1, 2, 3], mode: 'parallel', max_in_flight: 2 }, next: ['j'] }, { name: 'b', next: ['j'] }, { name: 'j' }] });
    const live = new Sim(pb);
    live.start();
    for (let k = 0; k < 12; k++) live.step();
    const snap = plain(live.state);
    const rest = live.streams.flatMap((s) => s.events.slice(s.pos));
    let restored = snap;
    let liveState = live.state;
    let seq = 1000;
    for (const e of rest.slice(0, 5)) {
      const env = live.env(++seq);
      liveState = processEvent(liveState, pb, e, env).state;
      restored = processEvent(restored, pb, e, env).state;
    }
    expect(plain(restored)).toEqual(plain(liveState));
  });

  it('ignores everything after a terminal state (T3.1) and unknown event types (T6.1)', () => {
    const sim = new Sim(chain);
    const st = sim.run();
    expect(isTerminal(st)).toBe(true);
    const any = sim.log[5];
    expect(processEvent(st, chain, any, sim.env(1000)).events).toEqual([]);
    const fresh = createExecutionState('X');
    expect(foldEvent(fresh, chain, { ...any, execution_id: 'X', event_type: 'x.unknown' } as unknown as NoetlEvent)).toBe(fresh);
  });

  it('pendingCommands re-derives unstarted commands with the same command_id (T4.1)', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', next: { mode: 'inclusive', arcs: ['a', 'b'] } }, { name: 'a' }, { name: 'b' }] });
    const sim = new Sim(pb);
    sim.start();
    while (sim.count('step.done', 'start') === 0) sim.step();
    const published = sim.commands.filter((c) => c.step !== 'start');
    const restored = replay(pb, sim.log);
    const again = pendingCommands(restored, pb, { now: sim.now() });
    expect(again.map((c) => c.command_id)).toEqual(published.map((c) => c.command_id));
    sim.step(); // a: step.started
    expect(pendingCommands(sim.state, pb, { now: sim.now() }).map((c) => c.step)).toEqual(['b']);
  });
});

describe('commands (runtime §4)', () => {
  it('carries pipeline, merged base_spec, step input, context, limits and pool', () => {
    const pb = buildPlaybook({
      workload: { w: 1 },
      spec: { timeout: 30, pool: 'etl', result: { inline_max_bytes: 65536 } },
      policy: { defaults: { timeout_s: 45 }, results: { reference_first: true } },
      steps: [{ name: 'start', spec: { timeout: 90 }, input: { customer: '{{ args.id }}' }, timeout_s: 10 }],
    });
    const sim = new Sim(pb);
    sim.start();
    const c = sim.commands[0];
    expect(c).toMatchObject({
      v: 1,
      type: 'step_run',
      step: 'start',
      iteration: null,
      base_spec: { timeout: 90, pool: 'etl', result: { inline_max_bytes: 65536 } },
      step_input: { customer: '{{ args.id }}' },
      context: { workload: { w: 1 }, ctx: {}, args: {}, steps: {}, parent_iter: null, globals: { execution_id: sim.exec } },
      limits: { max_task_executions: 100000, inline_max_bytes: 65536, preview_max_bytes: 1024, hydrate_max_bytes: 64 * 1024 * 1024, reference_first: true, default_timeout_s: 45 },
      pool: 'etl',
      issued_at: sim.now(),
    });
    expect(c.deadline).toBe(new Date(Date.parse(sim.now()) + 10_000).toISOString());
    expect(c.pipeline).toBe(pb.steps[0].tasks);
  });

  it('ships views of referenced steps only (T4.1) unless the reference is dynamic', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', result: { a: 1 }, next: ['x'] }, { name: 'x', result: { b: 2 }, next: ['y'] }, { name: 'y' }] });
    (pb.graph.step_refs as Record<string, { steps: string[]; dynamic: boolean }>).y = { steps: ['start'], dynamic: false };
    const sim = new Sim(pb);
    sim.run();
    const cy = sim.commands.find((c) => c.step === 'y')!;
    expect(Object.keys(cy.context.steps)).toEqual(['start']);
    expect(cy.context.steps.start).toMatchObject({ status: 'done', data: { a: 1 }, runs: 1 });
    const cx = sim.commands.find((c) => c.step === 'x')!;
    expect(Object.keys(cx.context.steps)).toEqual(['start']);
  });
});
