import { makeError } from '@noetl/common';
import type { NoetlEvent } from '@noetl/events';
import { replay, summarize } from '@noetl/engine';
import { buildPlaybook } from './testing/builder';
import { hydrateNone, noopScript, Sim, type Script } from './testing/sim';

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
type Ev = NoetlEvent & { payload: Record<string, unknown> };

/** Script: steps listed fail with the given error; everything else is a noop. */
const failing = (fails: Record<string, ReturnType<typeof makeError>>): Script => (cmd, render) =>
  fails[cmd.step] ? { ok: false, error: fails[cmd.step], partial_result: null } : noopScript(cmd, render);

function run(pb: ReturnType<typeof buildPlaybook>, script?: Script, payload?: Record<string, unknown>) {
  const sim = new Sim(pb, { script, payload });
  const st = sim.run();
  expect(plain(replay(pb, sim.log))).toEqual(plain(st));
  return { sim, st, sum: summarize(st, hydrateNone) };
}

describe('routing (dsl §11, runtime §8.7)', () => {
  it('exclusive picks the first true arc: template, bare expression and boolean forms (case 12)', () => {
    const pb = buildPlaybook({
      workload: { n: 3 },
      steps: [
        { name: 'start', next: { mode: 'exclusive', arcs: [{ step: 'big', when: '{{ n > 5 }}' }, { step: 'three', when: 'n == 3' }, 'fallback'] } },
        { name: 'big' },
        { name: 'three', result: { hit: 'three' }, next: [{ step: 'lit_false', when: false }, { step: 'lit_true', when: true }, 'also_true'] },
        { name: 'fallback' },
        { name: 'lit_false' },
        { name: 'lit_true' },
        { name: 'also_true' },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.status).toBe('completed');
    expect(Object.keys(sum.steps).sort()).toEqual(['lit_true', 'start', 'three']);
    const ne = sim.events('next.evaluated', 'start')[0] as Ev;
    expect(ne.payload).toMatchObject({ fired: [1], no_match: false, arcs: [{ index: 0, matched: false }, { index: 1, matched: true }, { index: 2, matched: false }] });
  });

  it('inclusive fires every true arc with R6.3 truthiness (case 13)', () => {
    const pb = buildPlaybook({
      workload: { flag_off: 'off', flag_yes: 'yes', zero_str: '0', empty_list: [], spaced_false: ' False ' },
      steps: [
        {
          name: 'start',
          next: {
            mode: 'inclusive',
            arcs: [
              'a', { step: 'b', when: '{{ flag_off }}' }, { step: 'c', when: '{{ flag_yes }}' }, { step: 'd', when: '{{ zero_str }}' },
              { step: 'e', when: '{{ empty_list }}' }, { step: 'f', when: '{{ spaced_false }}' }, { step: 'g', when: 'mixed {{ flag_off }}' },
            ],
          },
        },
        ...['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => ({ name })),
      ],
    });
    const { sum } = run(pb);
    expect(Object.keys(sum.steps).sort()).toEqual(['a', 'c', 'g', 'start']);
  });

  it('several fired arcs to one target make one token with args merged in YAML order (R11.10, case 14)', () => {
    const pb = buildPlaybook({
      steps: [
        {
          name: 'start',
          result: { n: 4 },
          next: { mode: 'inclusive', arcs: [{ step: 'target', args: { x: 1, shared: 'first' } }, 'other', { step: 'target', args: { y: '{{ output.data.n * 2 }}', shared: 'second' } }] },
        },
        { name: 'target', result: { x: '{{ args.x }}', y: '{{ args.y }}', shared: '{{ args.shared }}' } },
        { name: 'other', result: { args_empty: '{{ args | length == 0 }}' } },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.steps.target).toEqual({ status: 'done', runs: 1, result: { x: 1, y: 8, shared: 'second' } });
    expect(sum.steps.other.result).toEqual({ args_empty: true });
    const tok = sim.events('token.created', 'target')[0] as Ev;
    expect(tok.payload).toMatchObject({ args: { x: 1, y: 8, shared: 'second' }, origin: { kind: 'arc', event: 'step.done', source_step: 'start', arc_indices: [0, 2] } });
  });

  it('arc set writes ctx in YAML order, args see their own set (R11.6, case 15)', () => {
    const pb = buildPlaybook({
      steps: [
        {
          name: 'start',
          result: { count: 3 },
          set: { 'ctx.base': 100 },
          next: {
            mode: 'inclusive',
            arcs: [
              { step: 'left', set: { 'ctx.left_seen': '{{ ctx.base + output.data.count }}', 'ctx.stats.arcs': 1 }, args: { label: 'L-{{ output.data.count }}', count: '{{ output.data.count }}', seen: '{{ ctx.left_seen }}' } },
              { step: 'right', set: { 'ctx.right_seen': '{{ ctx.left_seen + 1 }}' }, args: { items: "{{ [output.data.count, 'z'] }}" } },
            ],
          },
        },
        { name: 'left', result: { label: '{{ args.label }}', count_is_number: '{{ args.count is number }}', seen: '{{ args.seen }}' }, next: ['after'] },
        { name: 'right', result: { items: '{{ args.items }}' } },
        { name: 'after', result: { label_seen: '{{ args.label is defined }}' } },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.ctx).toEqual({ base: 100, left_seen: 103, right_seen: 104, stats: { arcs: 1 } });
    expect(sum.steps.left.result).toEqual({ label: 'L-3', count_is_number: true, seen: 103 });
    expect(sum.steps.right.result).toEqual({ items: [3, 'z'] });
    expect(sum.steps.after.result).toEqual({ label_seen: false });
    // R9.15 order at the boundary of start: step_set, arc_set(0), arc_set(1), tokens, next.evaluated
    const startRun = (sim.events('step.scheduled', 'start')[0] as Ev).payload.step_run_id;
    const seq = sim.log.filter((e) => e.source === 'scheduler' && (e.step_run_id === startRun || (e.event_type === 'token.created' && (e as Ev).payload.origin && ((e as Ev).payload.origin as { source_step_run_id?: string }).source_step_run_id === startRun)));
    expect(seq.map((e) => (e.event_type === 'ctx.patched' ? `ctx:${(e as Ev).payload.origin}` : e.event_type))).toEqual([
      'step.scheduled', 'ctx:step_set', 'ctx:arc_set', 'ctx:arc_set', 'token.created', 'token.created', 'next.evaluated',
    ]);
  });

  it('step set runs before arc conditions; one block renders against the state before it (R9.12, R9.14, case 16)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', next: ['calc'] },
        {
          name: 'calc',
          result: { x: 7 },
          set: { 'ctx.x': '{{ output.data.x }}', 'ctx.y': '{{ calc.x }}', 'ctx.z': '{{ result.x }}', 'ctx.st': '{{ output.status }}', 'ctx.first': 1, 'ctx.second': "{{ ctx.first | default('unset') }}" },
          next: { mode: 'exclusive', arcs: [{ step: 'big', when: '{{ ctx.x > 5 }}', set: { 'ctx.after_arc': '{{ ctx.x + 1 }}' } }, 'small'] },
        },
        { name: 'big', result: { seen_x: '{{ ctx.x }}', seen_after: '{{ ctx.after_arc }}' } },
        { name: 'small' },
      ],
    });
    const { sum } = run(pb);
    expect(sum.ctx).toEqual({ x: 7, y: 7, z: 7, st: 'ok', first: 1, second: 'unset', after_arc: 8 });
    expect(sum.steps.big.result).toEqual({ seen_x: 7, seen_after: 8 });
    expect(sum.steps.small).toBeUndefined();
  });

  it('a failure-aware arc handles step.failed; success arcs and step set do not run (R11.4, case 17)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', next: ['risky'] },
        {
          name: 'risky',
          set: { 'ctx.risky_set_ran': true },
          next: {
            mode: 'exclusive',
            arcs: [
              'publish',
              { step: 'handler', when: "{{ event.name == 'step.failed' }}", set: { 'ctx.handled': true }, args: { kind: '{{ event.error.kind }}', status: '{{ event.status }}', failed_step: '{{ event.step }}', out: '{{ output.status }}' } },
            ],
          },
        },
        { name: 'publish' },
        { name: 'handler', result: { kind: '{{ args.kind }}', status: '{{ args.status }}', failed_step: '{{ args.failed_step }}', out: '{{ args.out }}', step_set_ran: '{{ ctx.risky_set_ran is defined }}' } },
      ],
    });
    const { sum, st, sim } = run(pb, failing({ risky: makeError('policy_fail', 'POLICY_FAIL', 'policy requested fail') }));
    expect(sum.status).toBe('completed');
    expect(sum.ctx).toEqual({ handled: true });
    expect(sum.steps.risky).toEqual({ status: 'failed', runs: 1, result: null });
    expect(sum.steps.handler.result).toEqual({ kind: 'policy_fail', status: 'error', failed_step: 'risky', out: 'error', step_set_ran: false });
    expect(sum.steps.publish).toBeUndefined();
    expect(st.stats.handled_failures).toBe(1);
    expect((sim.events('next.evaluated', 'risky')[0] as Ev).payload).toMatchObject({ boundary: 'step.failed', fired: [1], arcs: [{ index: 0, failure_aware: false, matched: false }, { index: 1, failure_aware: true, matched: true }] });
  });

  it('an unhandled failure drains in-flight runs, then fails the execution (§8.8, case 18)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', next: { mode: 'inclusive', arcs: ['work', 'slow'] } },
        { name: 'work', next: { mode: 'inclusive', arcs: ['after', { step: 'after_true', when: '{{ true }}' }] } },
        { name: 'slow', next: ['after_slow'] },
        { name: 'after' },
        { name: 'after_true' },
        { name: 'after_slow' },
      ],
    });
    const err = makeError('not_found', 'HTTP_404', 'HTTP 404', { http_status: 404 });
    const sim = new Sim(pb, { script: failing({ work: err }) });
    sim.start();
    // deliver start, then 'work' completely (fails) while 'slow' is in flight
    while (sim.count('step.done', 'start') === 0) sim.step();
    const work = sim.streams.find((s) => s.cmd.step === 'work')!;
    sim.step(); // slow? FIFO picks the first live stream: work
    while (work.pos < work.events.length) sim.feed(work.events[work.pos++]);
    expect(sim.state.status).toBe('failing');
    expect(sim.count('execution.failed')).toBe(0); // slow still in flight
    const st = sim.run();
    expect(st.status).toBe('failed');
    expect(sim.count('step.scheduled', 'after_slow')).toBe(0); // no new runs while failing
    expect(sim.count('step.done', 'slow')).toBe(1); // drained
    const failed = sim.events('execution.failed')[0] as Ev;
    expect(failed.payload).toMatchObject({
      phase: 'run',
      error: { kind: 'not_found', code: 'HTTP_404', http_status: 404, step: 'work', details: { phase: 'run' } },
      failed_steps: [{ step: 'work', error: { kind: 'not_found' } }],
    });
    const sum = summarize(st, hydrateNone);
    expect(sum.error).toMatchObject({ step: 'work', kind: 'not_found' });
    expect(sum.steps.after).toBeUndefined();
    expect(plain(replay(pb, sim.log))).toEqual(plain(st));
  });

  it('on_no_match: fail records no_route without a step.failed (R11.11, case 19)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', result: { n: 1 }, next: { mode: 'exclusive', on_no_match: 'fail', arcs: [{ step: 'never', when: '{{ output.data.n > 5 }}' }] } },
        { name: 'never' },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.status).toBe('failed');
    expect(sum.error).toMatchObject({ step: 'start', kind: 'no_route', code: 'NO_ROUTE' });
    expect(sum.steps.start.status).toBe('done');
    expect(sim.count('step.failed')).toBe(0);
    expect((sim.events('next.evaluated')[0] as Ev).payload).toMatchObject({ unhandled_failure: true, no_match: true, error: { kind: 'no_route' } });
  });

  it('no_next_is_error makes a step without next fail with no_route', () => {
    const pb = buildPlaybook({ no_next_is_error: true, steps: [{ name: 'start' }] });
    expect(run(pb).sum.error).toMatchObject({ kind: 'no_route', step: 'start' });
  });

  it('an arc to the undefined `end` sentinel ends the branch (R3.8); execution result = last success (R16.4)', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', result: { v: 1 }, next: ['a'] }, { name: 'a', result: { v: 2 }, next: ['end'] }] });
    const { sim, st } = run(pb);
    expect(st.status).toBe('completed');
    expect(sim.count('token.created')).toBe(2);
    expect((sim.events('execution.completed')[0] as Ev).payload).toMatchObject({ result: { v: 2 }, final_step: 'a' });
  });

  it('a template error in an arc fails the execution (phase routing, kind template) after draining (T8.9)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', next: { mode: 'inclusive', arcs: ['bad', 'other'] } },
        { name: 'bad', next: [{ step: 'x', when: '{{ 1 / 0 }}' }] },
        { name: 'other' },
        { name: 'x' },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.status).toBe('failed');
    expect(sum.error).toMatchObject({ kind: 'template', step: 'bad', details: { phase: 'routing' } });
    expect((sim.events('execution.failed')[0] as Ev).payload.phase).toBe('routing');
    expect((sim.events('next.evaluated', 'bad')[0] as Ev).payload).toMatchObject({ unhandled_failure: true, error: { kind: 'template' }, tokens: [] });
    expect(sum.steps.other.status).toBe('done');
  });

  it('a template error in step set fails the execution too', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', set: { 'ctx.a': "{{ 'x' * none }}" }, next: ['b'] }, { name: 'b' }] });
    const { sum } = run(pb);
    expect(sum.error).toMatchObject({ kind: 'template', step: 'start', details: { phase: 'routing' } });
    expect(sum.steps.b).toBeUndefined();
  });

  it('worker ctx_patch is applied first, on failures too (R9.15 step 1)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', set: { 'ctx.seen': '{{ ctx.w }}' }, next: ['f'] },
        { name: 'f', next: [{ step: 'h', when: "{{ event.name == 'step.failed' and ctx.fw == 2 }}" }] },
        { name: 'h' },
      ],
    });
    const script: Script = (cmd, r) => {
      if (cmd.step === 'start') return { ok: true, result: {}, ctx_patch: [{ path: ['w'], value: 1, task: 'start_task', attempt: 1 }] };
      if (cmd.step === 'f') return { ok: false, error: makeError('script_error', 'EXIT_1', 'boom'), ctx_patch: [{ path: ['fw'], value: 2 }] };
      return noopScript(cmd, r);
    };
    const { sum, sim } = run(pb, script);
    expect(sum.status).toBe('completed');
    expect(sum.ctx).toEqual({ w: 1, seen: 1, fw: 2 });
    expect(sum.steps.h.status).toBe('done');
    expect(sim.events('ctx.patched').map((e) => (e as Ev).payload.origin)).toEqual(['task', 'step_set', 'task']);
  });
});

describe('admission (dsl §7, T8.7)', () => {
  it('first matching rule decides, else allow; denial ends the branch with step.skipped (case 11)', () => {
    const pb = buildPlaybook({
      workload: { mode: 'live' },
      steps: [
        { name: 'start', next: { mode: 'inclusive', arcs: ['publish', 'audit', 'notify'] } },
        { name: 'publish', admit: [{ when: "{{ mode == 'dry' }}", allow: false }, { else: true, allow: true }], result: { published: true } },
        { name: 'audit', admit: [{ when: "{{ mode == 'live' }}", allow: false }], next: ['after_audit'] },
        { name: 'after_audit' },
        { name: 'notify', admit: [{ when: "{{ mode == 'never' }}", allow: false }], result: { notified: true } },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.status).toBe('completed');
    expect(sum.steps.publish).toEqual({ status: 'done', runs: 1, result: { published: true } });
    expect(sum.steps.audit).toEqual({ status: 'skipped', runs: 0, result: null });
    expect(sum.steps.after_audit).toBeUndefined();
    expect(sum.steps.notify.status).toBe('done');
    expect((sim.events('step.skipped')[0] as Ev).payload).toMatchObject({ step: 'audit', reason: 'admission_denied', rule_index: 0 });
    expect((sim.events('step.scheduled', 'publish')[0] as Ev).payload.admission).toEqual({ evaluated: true, rule_index: 1 });
    expect((sim.events('step.scheduled', 'notify')[0] as Ev).payload.admission).toEqual({ evaluated: true, rule_index: null });
  });

  it('admission sees args, ctx, steps and the token origin event (R7.5)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', result: { k: 2 }, admit: [{ when: "{{ event.name != 'execution.started' }}", allow: false }], next: [{ step: 'gate', args: { a: 5 } }] },
        { name: 'gate', admit: [{ when: "{{ args.a == 5 and start.k == 2 and event.name == 'step.done' and event.step == 'start' }}", allow: true }, { else: true, allow: false }] },
      ],
    });
    const { sum } = run(pb);
    expect(sum.steps.gate.status).toBe('done');
  });

  it('a template error in admission fails the execution (phase routing)', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', next: ['g'] }, { name: 'g', admit: [{ when: '{{ 1 // 0 }}', allow: true }] }] });
    const { sum, sim } = run(pb);
    expect(sum.error).toMatchObject({ kind: 'template', step: 'g', details: { phase: 'routing' } });
    expect((sim.events('execution.failed')[0] as Ev).payload).toMatchObject({ failed_steps: [{ step: 'g', step_run_id: null }] });
    expect(sum.steps.g).toBeUndefined();
  });

  it('a step denied after runs reports its last run status (conformance README)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', set: { 'ctx.n': 0 }, next: ['tick'] },
        { name: 'tick', admit: [{ when: '{{ ctx.n >= 3 }}', allow: false }], set: { 'ctx.n': '{{ ctx.n + 1 }}' }, next: ['tick'] },
      ],
    });
    const { sum } = run(pb);
    expect(sum.steps.tick).toMatchObject({ status: 'done', runs: 3 });
  });
});
