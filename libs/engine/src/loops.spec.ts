import { makeError } from '@noetl/common';
import type { NoetlEvent } from '@noetl/events';
import { activeTimers, replay, summarize } from '@noetl/engine';
import { toLoopItems } from './loops';
import { buildPlaybook } from './testing/builder';
import { hydrateNone, noopScript, Sim, type Script } from './testing/sim';

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
type Ev = NoetlEvent & { payload: Record<string, unknown> };

function run(pb: ReturnType<typeof buildPlaybook>, script?: Script, random?: () => number) {
  const sim = new Sim(pb, { script, random });
  const st = sim.run();
  expect(plain(replay(pb, sim.log))).toEqual(plain(st));
  return { sim, st, sum: summarize(st, hydrateNone) };
}

/** max concurrent in-flight iterations observed in the log, per loop */
function maxInFlight(sim: Sim): number {
  let cur = 0;
  let max = 0;
  const ended = new Set<string>();
  for (const e of sim.log) {
    if (e.event_type === 'loop.iteration.scheduled') max = Math.max(max, ++cur);
    if (['loop.iteration.done', 'loop.iteration.failed', 'loop.iteration.cancelled'].includes(e.event_type) && !ended.has(e.iteration_id!)) {
      ended.add(e.iteration_id!);
      cur--;
    }
  }
  return max;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

describe('loops (dsl §10, runtime §8.6)', () => {
  it('R10.3 conversions', () => {
    expect(toLoopItems([1, 2])).toEqual([1, 2]);
    expect(toLoopItems({ a: 1, b: 2 })).toEqual([{ key: 'a', value: 1 }, { key: 'b', value: 2 }]);
    expect(toLoopItems('[10, 20]')).toEqual([10, 20]);
    for (const v of [undefined, null, 5, 'abc', '{"a":1}', true]) expect(toLoopItems(v)).toBeUndefined();
  });

  it('sequential loop: index order, ctx writes of iteration i visible to i+1 (case 32)', () => {
    const pb = buildPlaybook({
      workload: { numbers: [1, 2, 3, 4] },
      steps: [
        { name: 'start', set: { 'ctx.sum': 0, 'ctx.seen': '' }, next: ['accumulate'] },
        { name: 'accumulate', loop: { in: '{{ numbers }}', iterator: 'n', mode: 'sequential' }, next: ['report'] },
        { name: 'report', result: { sum: '{{ ctx.sum }}', stats: '{{ accumulate.stats }}' } },
      ],
    });
    const script: Script = (cmd, r) => {
      if (cmd.step !== 'accumulate') return noopScript(cmd, r);
      const ctx = cmd.context.ctx as { sum: number; seen: string };
      const n = cmd.iteration!.item as number;
      return { ok: true, result: ctx.sum, ctx_patch: [{ path: ['sum'], value: ctx.sum + n }, { path: ['seen'], value: ctx.seen + String(n) }] };
    };
    const { sum, sim } = run(pb, script);
    expect(sum.ctx).toEqual({ sum: 10, seen: '1234' });
    expect(sum.steps.accumulate).toEqual({
      status: 'done',
      runs: 1,
      result: { results: [0, 1, 3, 6], data: [0, 1, 3, 6], stats: { total: 4, succeeded: 4, failed: 0 }, errors: [] },
    });
    expect(sum.steps.report.result).toEqual({ sum: 10, stats: { total: 4, succeeded: 4, failed: 0 } });
    expect(sim.count('loop.started')).toBe(1);
    expect(sim.count('loop.iteration.scheduled')).toBe(4);
    expect(sim.count('loop.done')).toBe(1);
    expect(sim.count('step.done', 'accumulate')).toBe(0);
    expect((sim.events('step.scheduled', 'accumulate')[0] as Ev).payload).toMatchObject({ loop: true });
    expect((sim.events('step.scheduled', 'accumulate')[0] as Ev).payload.command_id).toBeUndefined();
    expect(sim.events('ctx.patched').filter((e) => (e as Ev).payload.origin === 'iteration').map((e) => e.iteration_index)).toEqual([0, 1, 2, 3]);
    expect(maxInFlight(sim)).toBe(1);
    // iteration i+1 is scheduled only after iteration i's ctx.patched
    const order = sim.log.filter((e) => e.event_type === 'loop.iteration.scheduled' || (e.event_type === 'ctx.patched' && (e as Ev).payload.origin === 'iteration')).map((e) => `${e.event_type === 'ctx.patched' ? 'p' : 's'}${e.iteration_index}`);
    expect(order).toEqual(['s0', 'p0', 's1', 'p1', 's2', 'p2', 's3', 'p3']);
  });

  it('iteration commands carry {loop_id, iteration_id, index, total, iterator, item, first, last} (case 33)', () => {
    const pb = buildPlaybook({
      workload: { letters: ['a', 'b', 'c'], prices: { apple: 3, pear: 5 } },
      steps: [
        { name: 'start', loop: { in: '{{ letters }}', iterator: 'letter' }, result: '{{ iter.index }}|{{ iter.letter }}|{{ letter }}|{{ iter.total }}|{{ iter.first }}|{{ iter.last }}|{{ iter._index }}', next: ['by_map'] },
        { name: 'by_map', loop: { in: '{{ prices }}', iterator: 'entry' }, result: '{{ entry.key }}={{ entry.value }}', next: ['by_json_text'] },
        { name: 'by_json_text', loop: { in: '[10, 20]', iterator: 'v' }, result: '{{ v * 2 }}' },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.steps.start.result).toMatchObject({ results: ['0|a|a|3|true|false|0', '1|b|b|3|false|false|1', '2|c|c|3|false|true|2'], stats: { total: 3, succeeded: 3, failed: 0 } });
    expect((sum.steps.by_map.result as { results: unknown }).results).toEqual(['apple=3', 'pear=5']);
    expect((sum.steps.by_json_text.result as { results: unknown }).results).toEqual([20, 40]);
    const c = sim.commands.find((x) => x.step === 'start' && x.iteration?.index === 2)!;
    expect(c.type).toBe('iteration');
    expect(c.iteration).toEqual({ loop_id: c.step_run_id, iteration_id: `${c.step_run_id}/i2`, index: 2, total: 3, iterator: 'letter', item: 'c', first: false, last: true });
    expect(c.command_id).toBe(`${c.step_run_id}/i2/c1`);
    expect((sim.events('loop.started', 'start')[0] as Ev).payload).toMatchObject({ iterator: 'letter', mode: 'sequential', max_in_flight: 1, failure_mode: 'fail_fast', total: 3, items: ['a', 'b', 'c'] });
  });

  it('parallel loop: max_in_flight respected, results ordered by index for any completion order (case 34)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const pb = buildPlaybook({
        workload: { ids: [0, 1, 2, 3, 4, 5, 6] },
        steps: [
          { name: 'start', loop: { in: '{{ ids }}', iterator: 'id', mode: 'parallel', max_in_flight: '{{ 1 + 2 }}' }, result: { id: '{{ iter.id }}' }, next: ['report'] },
          { name: 'report', result: { first: '{{ start.results[0].id }}', same: '{{ start.results == start.data }}' } },
        ],
      });
      const { sum, sim } = run(pb, undefined, lcg(seed));
      expect((sum.steps.start.result as { results: unknown }).results).toEqual([0, 1, 2, 3, 4, 5, 6].map((id) => ({ id })));
      expect(sum.steps.report.result).toEqual({ first: 0, same: true });
      expect(maxInFlight(sim)).toBe(3);
      // dispatch in index order
      expect(sim.events('loop.iteration.scheduled').map((e) => e.iteration_index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    }
  });

  it('parallel default max_in_flight is limits.loop_max_in_flight (R10.6)', () => {
    const pb = buildPlaybook({ policy: { limits: { loop_max_in_flight: 2 } }, steps: [{ name: 'start', loop: { in: [1, 2, 3, 4, 5], mode: 'parallel' } }] });
    const { sim } = run(pb);
    expect((sim.events('loop.started')[0] as Ev).payload.max_in_flight).toBe(2);
    expect(maxInFlight(sim)).toBe(2);
  });

  it('fail_fast: first failure halts dispatch, in-flight finish, step.failed with loop stats (case 35)', () => {
    const pb = buildPlaybook({
      workload: { names: ['gone', 'late1', 'late2', 'ok3', 'ok4', 'ok5'] },
      steps: [
        { name: 'start', loop: { in: '{{ names }}', iterator: 'name', mode: 'parallel', max_in_flight: 3 }, next: ['never'] },
        { name: 'never' },
      ],
    });
    const err = makeError('not_found', 'HTTP_404', 'HTTP 404', { http_status: 404 });
    for (let seed = 1; seed <= 10; seed++) {
      const { sum, sim } = run(pb, (cmd) => ((cmd.iteration!.index < 3) ? { ok: false, error: err } : { ok: true, result: 1 }), lcg(seed));
      expect(sum.status).toBe('failed');
      expect(sum.error).toMatchObject({ step: 'start', kind: 'not_found', code: 'HTTP_404', http_status: 404, details: { loop: { total: 6, succeeded: 0, failed: 3 } } });
      expect(sim.count('loop.iteration.scheduled')).toBe(3);
      expect(sim.count('loop.iteration.failed')).toBe(3);
      expect(sim.count('step.failed', 'start')).toBe(1);
      expect(sim.count('loop.done')).toBe(0);
      expect((sim.events('step.failed', 'start')[0] as Ev).payload).toMatchObject({ reason: 'loop_failed', loop: { total: 6, succeeded: 0, failed: 3 } });
      expect(sum.steps.never).toBeUndefined();
    }
  });

  it('fail_fast failure is routable by a failure-aware arc with event.loop', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', loop: { in: [1, 2, 3] }, next: [{ step: 'h', when: "{{ event.name == 'step.failed' }}", args: { s: '{{ event.loop }}', k: '{{ event.error.kind }}' } }] },
        { name: 'h', result: { s: '{{ args.s }}', k: '{{ args.k }}' } },
      ],
    });
    const { sum } = run(pb, (cmd, r) => (cmd.iteration?.index === 1 ? { ok: false, error: makeError('script_error', 'EXIT_1', 'x') } : noopScript(cmd, r)));
    expect(sum.status).toBe('completed');
    expect(sum.steps.h.result).toEqual({ s: { total: 3, succeeded: 1, failed: 1 }, k: 'script_error' });
  });

  it('best_effort runs every iteration; errors ordered by index; loop.done routes (case 36)', () => {
    const pb = buildPlaybook({
      workload: { values: [1, 0, 3, 0] },
      steps: [
        { name: 'start', failure_mode: 'best_effort', loop: { in: '{{ values }}', iterator: 'v', mode: 'parallel', max_in_flight: 2 }, next: [{ step: 'summary', when: "{{ event.name == 'loop.done' }}" }] },
        { name: 'summary', result: { err_count: '{{ start.errors | length }}', err_kind: '{{ start.errors[0].error.kind }}', idx: "{{ start.errors | map(attribute='index') | list }}", r1_is_none: '{{ start.results[1] is none }}' } },
      ],
    });
    const script: Script = (cmd, r) => (cmd.step === 'start' ? (cmd.iteration!.item === 0 ? { ok: false, error: makeError('policy_fail', 'POLICY_FAIL', 'x') } : { ok: true, result: (cmd.iteration!.item as number) * 10 }) : noopScript(cmd, r));
    for (let seed = 1; seed <= 10; seed++) {
      const { sum, sim } = run(pb, script, lcg(seed));
      expect(sum.steps.start.result).toMatchObject({ results: [10, null, 30, null], data: [10, null, 30, null], stats: { total: 4, succeeded: 2, failed: 2 } });
      expect(sum.steps.summary.result).toEqual({ err_count: 2, err_kind: 'policy_fail', idx: [1, 3], r1_is_none: true });
      expect(sim.count('step.failed')).toBe(0);
      expect(sim.count('loop.done')).toBe(1);
    }
  });

  it('empty list: loop.started total 0 then loop.done, routed with event.loop (case 37)', () => {
    const pb = buildPlaybook({
      workload: { nothing: [] },
      steps: [
        { name: 'start', loop: { in: '{{ nothing }}' }, next: [{ step: 'after', when: "{{ event.name == 'loop.done' }}", args: { t: '{{ event.loop.total }}' } }] },
        { name: 'after', result: { total: '{{ start.stats.total }}', results: '{{ start.results }}', t: '{{ args.t }}' } },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.steps.start).toEqual({ status: 'done', runs: 1, result: { results: [], data: [], stats: { total: 0, succeeded: 0, failed: 0 }, errors: [] } });
    expect(sum.steps.after.result).toEqual({ total: 0, results: [], t: 0 });
    expect(sim.count('loop.iteration.scheduled')).toBe(0);
    expect(sim.commands.filter((c) => c.step === 'start')).toEqual([]);
  });

  it('loop_not_iterable for numbers and undefined; routable (case 38)', () => {
    const pb = buildPlaybook({
      workload: { count: 5 },
      steps: [
        { name: 'start', loop: { in: '{{ count }}' }, next: ['never', { step: 'handler', when: "{{ event.name == 'step.failed' }}", args: { kind: '{{ event.error.kind }}' } }] },
        { name: 'never' },
        { name: 'handler', result: { kind: '{{ args.kind }}' }, next: ['undefined_source'] },
        { name: 'undefined_source', loop: { in: '{{ missing_list }}' } },
      ],
    });
    const { sum, sim } = run(pb);
    expect(sum.status).toBe('failed');
    expect(sum.error).toMatchObject({ step: 'undefined_source', kind: 'loop_not_iterable' });
    expect(sum.steps.start).toMatchObject({ status: 'failed', runs: 1 });
    expect(sum.steps.handler.result).toEqual({ kind: 'loop_not_iterable' });
    expect(sum.steps.undefined_source).toMatchObject({ status: 'failed', runs: 1 });
    expect(sim.count('loop.started')).toBe(0);
    expect((sim.events('step.failed', 'start')[0] as Ev).payload.reason).toBe('loop_source');
  });

  it('invalid max_in_flight fails the step run with LOOP_MAX_IN_FLIGHT_INVALID; too many items with TOO_MANY_ITEMS', () => {
    const bad = buildPlaybook({ steps: [{ name: 'start', loop: { in: [1], mode: 'parallel', max_in_flight: '{{ 0 }}' } }] });
    expect(run(bad).sum.error).toMatchObject({ kind: 'config', code: 'LOOP_MAX_IN_FLIGHT_INVALID' });
    const many = buildPlaybook({ policy: { limits: { max_loop_items: 2 } }, steps: [{ name: 'start', loop: { in: [1, 2, 3] } }] });
    expect(run(many).sum.error).toMatchObject({ kind: 'loop_not_iterable', code: 'TOO_MANY_ITEMS' });
    const tmpl = buildPlaybook({ steps: [{ name: 'start', loop: { in: '{{ 1 / 0 }}' } }] });
    expect(run(tmpl).sum.error).toMatchObject({ kind: 'template', step: 'start' });
  });

  it('parallel loop with ctx_merge: last_write_wins applies patches in log order; without it they are ignored', () => {
    const script: Script = (cmd, r) => (cmd.iteration ? { ok: true, result: 1, ctx_patch: [{ path: ['last'], value: cmd.iteration.index }] } : noopScript(cmd, r));
    const lww = buildPlaybook({ steps: [{ name: 'start', loop: { in: [0, 1, 2], mode: 'parallel', max_in_flight: 3, ctx_merge: 'last_write_wins' } }] });
    const r1 = run(lww, script, lcg(7));
    const lastDone = r1.sim.events('loop.iteration.done').map((e) => e.iteration_index).pop();
    expect(r1.sum.ctx).toEqual({ last: lastDone });
    const plainPar = buildPlaybook({ steps: [{ name: 'start', loop: { in: [0, 1, 2], mode: 'parallel', max_in_flight: 3 } }] });
    expect(run(plainPar, script).sum.ctx).toEqual({});
  });

  it('iteration results of single-http-task loops are marked for the K2.16 fallback (scheduler-side templates)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', loop: { in: [1, 2] }, next: [{ step: 'r', args: { a: '{{ output.data.results[1].id }}', b: '{{ start.results[1].id }}', c: '{{ start.results[1].data.id }}' } }] },
        { name: 'r', result: { a: '{{ args.a }}', b: '{{ args.b }}', c: '{{ args.c }}' } },
      ],
    });
    const script: Script = (cmd, r) => (cmd.iteration ? { ok: true, http: true, result: { status_code: 200, headers: {}, data: { id: cmd.iteration.item }, body: { id: cmd.iteration.item }, url: 'u', elapsed_ms: 1 } } : noopScript(cmd, r));
    const { sum, sim } = run(pb, script);
    expect((sim.events('loop.done')[0] as Ev).payload.http_results).toBe(true);
    expect(sum.steps.r.result).toEqual({ a: 2, b: 2, c: 2 });
    expect(sum.steps.start.result).toMatchObject({ results: [{ status_code: 200 }, { status_code: 200 }] });
  });

  it('late events of a finished iteration are ignored (T10.8)', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', loop: { in: [1, 2], mode: 'parallel', max_in_flight: 2 } }] });
    const sim = new Sim(pb);
    sim.start();
    const s0 = sim.streams[0];
    while (s0.pos < s0.events.length) sim.feed(s0.events[s0.pos++]);
    const doneEv = s0.events[s0.events.length - 1];
    const late = { ...doneEv, event_id: doneEv.event_id.replace('/e1/', '/e2/'), lease_epoch: 2, event_type: 'loop.iteration.failed', payload: { iteration_id: doneEv.iteration_id, index: 0, error: makeError('internal', 'X', 'x'), ctx_patch: [], reason: 'pipeline' } } as unknown as NoetlEvent;
    expect(sim.feed(late).events).toEqual([]);
    const st = sim.run();
    expect(summarize(st, hydrateNone).steps.start.result).toMatchObject({ stats: { total: 2, succeeded: 2, failed: 0 } });
  });
});

describe('iteration deadlines (loop.spec.iteration_timeout_s, runtime T8.13 MAY)', () => {
  const timedLoop = (failure_mode: 'fail_fast' | 'best_effort') =>
    buildPlaybook({
      workload: { values: [1, 2, 3] },
      steps: [
        {
          name: 'start', failure_mode, loop: { in: '{{ values }}', iterator: 'v', mode: 'parallel', max_in_flight: 3, iteration_timeout_s: 5 },
          next: [{ step: 'after', when: "{{ event.name == 'loop.done' }}" }, { step: 'timed_out', when: "{{ event.name == 'step.failed' and event.error.kind == 'timeout' }}" }],
        },
        { name: 'after', result: { stats: '{{ start.stats }}', kinds: "{{ start.errors | map(attribute='error.kind') | list }}", idx: "{{ start.errors | map(attribute='index') | list }}" } },
        { name: 'timed_out' },
      ],
    });

  /** start, then deliver every event of iteration 0 only: iterations 1 and 2 stay in flight */
  function startWithFirstDone(pb: ReturnType<typeof buildPlaybook>): Sim {
    const sim = new Sim(pb);
    sim.start();
    while (sim.count('loop.iteration.done') === 0) expect(sim.step()).toBe(true);
    return sim;
  }

  it('each iteration gets a deadline from its dispatch; a timer per in-flight iteration, cleared when it ends', () => {
    const pb = timedLoop('best_effort');
    const sim = new Sim(pb);
    const r = sim.start();
    const scheduled = sim.events('loop.iteration.scheduled') as Ev[];
    expect(scheduled).toHaveLength(3);
    for (const e of scheduled) expect(e.payload.deadline).toBe(new Date(Date.parse(e.ts) + 5000).toISOString());
    expect(r.timers.set.map((t) => t.id).sort()).toEqual([0, 1, 2].map((i) => `${sim.exec}/r/1.0/i${i}/deadline`));
    expect(r.timers.set.map((t) => t.input.payload)).toContainEqual({ timer_id: `${sim.exec}/r/1.0/i1/deadline`, kind: 'iteration_deadline', step_run_id: `${sim.exec}/r/1.0`, iteration_id: `${sim.exec}/r/1.0/i1` });
    // a restarted scheduler re-arms them from the replayed state alone
    expect(plain(activeTimers(replay(pb, sim.log), pb))).toEqual(plain(r.timers.set));
    const st = sim.run();
    expect(st.status).toBe('completed');
    expect(sim.timers.size).toBe(0); // every iteration ended in time: all cleared
    expect(sim.count('loop.iteration.failed')).toBe(0);
  });

  it('best_effort: the expired iteration fails with kind timeout, its command is cancelled, the others finish; loop.done routes', () => {
    const pb = timedLoop('best_effort');
    const sim = startWithFirstDone(pb);
    expect([...sim.timers.keys()].sort()).toEqual([`${sim.exec}/r/1.0/i1/deadline`, `${sim.exec}/r/1.0/i2/deadline`]);
    const fired = sim.fireNextTimer()!;
    const failed = sim.events('loop.iteration.failed') as Ev[];
    expect(failed).toHaveLength(1);
    const which = failed[0].payload.index as number;
    expect(failed[0].event_id).toBe(`${sim.exec}/r/1.0/i${which}/timeout`);
    expect(failed[0].payload).toMatchObject({ reason: 'timeout', error: { kind: 'timeout', code: 'ITERATION_TIMEOUT' } });
    expect(fired.controls).toEqual([{ type: 'cancel', execution_id: sim.exec, step_run_id: `${sim.exec}/r/1.0`, iteration_id: `${sim.exec}/r/1.0/i${which}`, reason: 'timeout' }]);
    expect(fired.timers.clear).toEqual([`${sim.exec}/r/1.0/i${which}/deadline`]);
    const st = sim.run();
    expect(st.status).toBe('completed');
    const sum = summarize(st, hydrateNone);
    expect(sum.steps.after.result).toEqual({ stats: { total: 3, succeeded: 2, failed: 1 }, kinds: ['timeout'], idx: [which] });
    expect(sim.count('step.scheduled', 'timed_out')).toBe(0);
    expect(sim.timers.size).toBe(0);
    expect(plain(replay(pb, sim.log))).toEqual(plain(st));
  });

  it('a late worker event of the timed-out iteration is superseded; a stale timer is a no-op', () => {
    const pb = timedLoop('best_effort');
    const sim = startWithFirstDone(pb);
    const timer = [...sim.timers.values()].find((t) => t.id.endsWith('/i1/deadline'))!;
    sim.timers.delete(timer.id);
    sim.feed(timer.input); // i1 times out
    const lateDone = { ...(sim.streams.find((s) => s.cmd.iteration?.index === 1)!.cmd), };
    expect(lateDone.iteration!.index).toBe(1);
    // what i1's worker would have sent had it finished anyway
    const late: NoetlEvent = {
      v: 1, event_id: `${lateDone.command_id}/e1/9`, event_type: 'loop.iteration.done', ts: sim.now(), execution_id: sim.exec, root_execution_id: sim.exec,
      source: 'worker', producer_id: 'w', step: 'start', step_run_id: lateDone.step_run_id, loop_id: lateDone.step_run_id, iteration_id: lateDone.iteration!.iteration_id,
      iteration_index: 1, command_id: lateDone.command_id, lease_epoch: 1, status: 'ok',
      payload: { iteration_id: lateDone.iteration!.iteration_id, index: 1, result: 'late', ctx_patch: [], terminated_by: 'end' },
    } as NoetlEvent;
    expect(sim.feed(late).events).toEqual([]);
    expect(sim.feed(timer.input).events).toEqual([]); // the same timer again
    const st = sim.run();
    expect(summarize(st, hydrateNone).steps.after.result).toMatchObject({ stats: { total: 3, succeeded: 2, failed: 1 }, idx: [1] });
  });

  it('fail_fast: the first timeout halts the loop and fails the step with kind timeout (routable)', () => {
    const pb = timedLoop('fail_fast');
    const sim = startWithFirstDone(pb);
    sim.fireNextTimer();
    const st = sim.run();
    expect(st.status).toBe('completed');
    const failed = sim.events('step.failed', 'start') as Ev[];
    expect(failed).toHaveLength(1);
    expect(failed[0].payload).toMatchObject({ reason: 'loop_failed', error: { kind: 'timeout', code: 'ITERATION_TIMEOUT' } });
    expect(sim.count('step.scheduled', 'timed_out')).toBe(1);
    expect(sim.count('step.scheduled', 'after')).toBe(0);
    expect(plain(replay(pb, sim.log))).toEqual(plain(st));
  });

  it('sequential: each iteration is timed from its own dispatch', () => {
    const pb = buildPlaybook({ workload: { values: [1, 2] }, steps: [{ name: 'start', loop: { in: '{{ values }}', iterator: 'v', iteration_timeout_s: 2 } }] });
    const sim = new Sim(pb);
    sim.start();
    sim.advance(10_000);
    const st = sim.run();
    expect(st.status).toBe('completed');
    const s = sim.events('loop.iteration.scheduled') as Ev[];
    expect(s.map((e) => Date.parse(e.payload.deadline as string) - Date.parse(e.ts))).toEqual([2000, 2000]);
    expect(Date.parse(s[1].ts) - Date.parse(s[0].ts)).toBeGreaterThanOrEqual(10_000);
  });

  it('a loop without iteration_timeout_s schedules no iteration timers', () => {
    const pb = buildPlaybook({ workload: { values: [1, 2] }, steps: [{ name: 'start', loop: { in: '{{ values }}', iterator: 'v', mode: 'parallel' } }] });
    const sim = new Sim(pb);
    const r = sim.start();
    expect(r.timers.set).toEqual([]);
    expect((sim.events('loop.iteration.scheduled') as Ev[]).every((e) => !('deadline' in e.payload))).toBe(true);
  });
});
