import type { NoetlEvent } from '@noetl/events';
import { replay, summarize } from '@noetl/engine';
import { analysis } from './analysis';
import { joinEnabled } from './tokens';
import { buildPlaybook } from './testing/builder';
import { hydrateNone, Sim } from './testing/sim';
import type { ExecutionState } from './types';
import { createExecutionState } from './state';

const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
type Ev = NoetlEvent & { payload: Record<string, unknown> };

/** Deliver all worker events of the first live command of `step`. */
function complete(sim: Sim, step: string): void {
  const s = sim.streams.find((x) => x.cmd.step === step && x.pos < x.events.length);
  if (!s) throw new Error(`no live command for ${step}`);
  while (s.pos < s.events.length) sim.feed(s.events[s.pos++]);
}

// runtime.md §8.4 example
const example = (temp: number) =>
  buildPlaybook({
    workload: { temp },
    steps: [
      { name: 'start', next: { mode: 'exclusive', arcs: [{ step: 'hot', when: '{{ temp > 20 }}' }, 'cold'] } },
      { name: 'hot', next: ['fan'] },
      { name: 'fan', next: { mode: 'inclusive', arcs: ['a', 'b'] } },
      { name: 'cold', next: ['c'] },
      { name: 'a', result: { v: 'a' }, next: ['end'] },
      { name: 'b', result: { v: 'b' }, next: ['end'] },
      { name: 'c', result: { v: 'c' }, next: ['end'] },
      { name: 'end', result: { seen: "{{ a.v ~ '+' ~ b.v }}", c_ran: '{{ c is defined }}' } },
    ],
  });

describe('joins (runtime §8.4, T8.5–T8.7)', () => {
  it('the catalog analysis marks end as a join with forward upstreams a, b, c', () => {
    const an = analysis(example(30));
    expect(an.joins.has('end')).toBe(true);
    expect([...an.forwardUpstreams.get('end')!].sort()).toEqual(['a', 'b', 'c']);
  });

  it('§8.4 example: end waits for b, ignores the never-taken cold/c branch, fires once with merged tokens', () => {
    const pb = example(30);
    const sim = new Sim(pb);
    sim.start();
    complete(sim, 'start');
    complete(sim, 'hot');
    complete(sim, 'fan');
    complete(sim, 'a');
    expect(sim.state.tokens.map((t) => t.target)).toEqual(['end']); // waiting
    expect(sim.count('step.scheduled', 'end')).toBe(0);
    complete(sim, 'b');
    expect(sim.count('step.scheduled', 'end')).toBe(1);
    const sched = sim.events('step.scheduled', 'end')[0] as Ev;
    expect((sched.payload.token_ids as string[]).length).toBe(2);
    const st = sim.run();
    const sum = summarize(st, hydrateNone);
    expect(sum.steps.end).toEqual({ status: 'done', runs: 1, result: { seen: 'a+b', c_ran: false } });
    expect(sum.steps.c).toBeUndefined();
    expect(plain(replay(pb, sim.log))).toEqual(plain(st));
  });

  it('the cold branch alone also runs end exactly once', () => {
    const sim = new Sim(example(10));
    const st = sim.run();
    expect(st.status).toBe('completed');
    expect(sim.count('step.scheduled', 'end')).toBe(1);
    expect(summarize(st, hydrateNone).steps.end.result).toEqual({ seen: '+', c_ran: true });
  });

  it('inclusive fan-out then fan-in merges args of both tokens in creation order (case 20)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', next: { mode: 'inclusive', arcs: ['left', 'right'] } },
        { name: 'left', result: { side: 'L' }, next: [{ step: 'merge', args: { from_left: true, who: 'L' } }] },
        { name: 'right', result: { side: 'R' }, next: [{ step: 'merge', args: { from_right: true, who: 'R' } }] },
        { name: 'merge', result: { both: '{{ left.side ~ right.side }}', from_left: '{{ args.from_left }}', from_right: '{{ args.from_right }}', who: '{{ args.who }}' } },
      ],
    });
    const sim = new Sim(pb);
    sim.start();
    complete(sim, 'start');
    complete(sim, 'right'); // right's token is created first
    complete(sim, 'left');
    const st = sim.run();
    expect(summarize(st, hydrateNone).steps.merge).toEqual({ status: 'done', runs: 1, result: { both: 'LR', from_left: true, from_right: true, who: 'L' } });
  });

  it('a denied branch does not block the join (T8.6)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', next: { mode: 'inclusive', arcs: ['a', 'b'] } },
        { name: 'a', next: ['j'] },
        { name: 'b', admit: [{ else: true, allow: false }], next: ['j'] },
        { name: 'j' },
      ],
    });
    const sim = new Sim(pb);
    const st = sim.run();
    expect(st.status).toBe('completed');
    expect(sim.count('step.scheduled', 'j')).toBe(1);
  });

  it('a branch still able to reach the join through an intermediate step keeps it waiting', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', next: { mode: 'inclusive', arcs: ['a', 'x'] } },
        { name: 'a', next: ['j'] },
        { name: 'x', next: ['y'] },
        { name: 'y', next: ['b'] },
        { name: 'b', next: ['j'] },
        { name: 'j' },
      ],
    });
    const sim = new Sim(pb);
    sim.start();
    complete(sim, 'start');
    complete(sim, 'a');
    complete(sim, 'x'); // y is active and reaches b
    expect(sim.count('step.scheduled', 'j')).toBe(0);
    complete(sim, 'y');
    complete(sim, 'b');
    expect(sim.count('step.scheduled', 'j')).toBe(1);
    expect(sim.run().status).toBe('completed');
  });

  it('defensive DEADLOCK check (T8.12) on an inconsistent graph analysis', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', next: { mode: 'inclusive', arcs: ['j1', 'j2'] } }, { name: 'j1' }, { name: 'j2' }] });
    const g = pb.graph as { joins: string[]; forward_upstreams: Record<string, string[]> };
    g.joins = ['j1', 'j2'];
    g.forward_upstreams = { ...g.forward_upstreams, j1: ['start', 'j2'], j2: ['start', 'j1'] };
    const sim = new Sim(pb);
    const st = sim.run();
    expect(st.status).toBe('failed');
    expect(summarize(st, hydrateNone).error).toMatchObject({ kind: 'internal', code: 'DEADLOCK' });
    expect((sim.events('execution.failed')[0] as Ev).payload.discarded_tokens).toHaveLength(2);
  });

  it('joinEnabled implements the potentially-active rule exactly', () => {
    const pb = example(30);
    const an = analysis(pb);
    const st = (runs: string[], tokens: string[]): ExecutionState => ({
      ...createExecutionState('E'),
      runs: Object.fromEntries(runs.map((s, i) => [`r${i}`, { id: `r${i}`, step: s, run_no: 1, args: {}, pool: 'default', scheduled_at: '', started: false, seen: {}, is_loop: false }])),
      tokens: tokens.map((t, i) => ({ id: `t${i}`, target: t, args: {}, back_edge: false, event: {} })),
    });
    expect(joinEnabled(st(['b'], ['end']), an, 'end')).toBe(false); // b active
    expect(joinEnabled(st(['fan'], ['end']), an, 'end')).toBe(false); // fan reaches a, b
    expect(joinEnabled(st(['hot'], ['end']), an, 'end')).toBe(false); // hot reaches a, b
    expect(joinEnabled(st([], ['end', 'c'].slice(0, 1)), an, 'end')).toBe(true);
    expect(joinEnabled(st(['end'], ['end']), an, 'end')).toBe(true); // t itself is excluded
  });
});

describe('cycles (R11.14, T8.4)', () => {
  it('a back-edge pagination cycle runs N times with a monotonic ctx counter (case 22)', () => {
    const pages: Record<number, { items: number[]; next: number | null }> = { 1: { items: [1, 2], next: 2 }, 2: { items: [3, 4, 5], next: 3 }, 3: { items: [6], next: null } };
    const pb = buildPlaybook({
      steps: [
        { name: 'start', set: { 'ctx.page': 1, 'ctx.total': 0 }, next: ['fetch'] },
        { name: 'fetch', next: ['check'] },
        {
          name: 'check',
          result: { got: '{{ fetch.items | length }}', more: '{{ fetch.next is not none }}' },
          set: { 'ctx.total': '{{ ctx.total + output.data.got }}', 'ctx.page': '{{ ctx.page + 1 }}' },
          next: { mode: 'exclusive', arcs: [{ step: 'fetch', when: '{{ output.data.more }}' }, 'done'] },
        },
        { name: 'done', result: { total: '{{ ctx.total }}', pages: '{{ ctx.page - 1 }}' } },
      ],
    });
    const sim = new Sim(pb, { script: (cmd) => (cmd.step === 'fetch' ? { ok: true, result: pages[cmd.context.ctx.page as number] } : undefined) });
    const st = sim.run();
    const sum = summarize(st, hydrateNone);
    expect(sum.status).toBe('completed');
    expect(sum.ctx).toEqual({ page: 4, total: 6 });
    expect(sum.steps.fetch).toMatchObject({ status: 'done', runs: 3, result: { items: [6], next: null } });
    expect(sum.steps.check).toMatchObject({ runs: 3, result: { got: 1, more: false } });
    expect(sum.steps.done.result).toEqual({ total: 6, pages: 3 });
    const pagesSeen = sim.commands.filter((c) => c.step === 'fetch').map((c) => c.context.ctx.page);
    expect(pagesSeen).toEqual([1, 2, 3]);
    const backTokens = sim.events('token.created', 'fetch').map((e) => (e as Ev).payload.back_edge);
    expect(backTokens).toEqual([false, true, true]);
  });

  it('a self-loop carries args and ends through the end sentinel (case 23)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', set: { 'ctx.n': 0 }, next: ['tick'] },
        {
          name: 'tick',
          result: { seen: '{{ ctx.n }}', prev: "{{ args.prev | default('none') }}" },
          set: { 'ctx.n': '{{ ctx.n + 1 }}' },
          next: { mode: 'exclusive', arcs: [{ step: 'tick', when: '{{ ctx.n < 4 }}', args: { prev: '{{ output.data.seen }}' } }, 'end'] },
        },
      ],
    });
    const sim = new Sim(pb);
    const st = sim.run();
    const sum = summarize(st, hydrateNone);
    expect(sum.ctx).toEqual({ n: 4 });
    expect(sum.steps.tick).toEqual({ status: 'done', runs: 4, result: { seen: 3, prev: 2 } });
    expect(sim.count('execution.completed')).toBe(1);
  });

  it('max_step_runs bounds a runaway cycle (MAX_STEP_RUNS)', () => {
    const pb = buildPlaybook({ policy: { limits: { max_step_runs: 5 } }, steps: [{ name: 'start', next: ['start'] }] });
    const sim = new Sim(pb);
    const st = sim.run();
    expect(st.status).toBe('failed');
    expect(sim.count('step.scheduled')).toBe(5);
    expect(summarize(st, hydrateNone).error).toMatchObject({ kind: 'internal', code: 'MAX_STEP_RUNS', step: 'start' });
  });

  it('every token of a non-join step gets its own run; runs of one step may overlap (T8.4)', () => {
    const pb = buildPlaybook({
      steps: [
        { name: 'start', set: { 'ctx.n': 0 }, next: ['a'] },
        { name: 'a', set: { 'ctx.n': '{{ ctx.n + 1 }}' }, next: { mode: 'inclusive', arcs: [{ step: 'w', args: { n: '{{ ctx.n }}' } }, { step: 'a', when: '{{ ctx.n < 3 }}' }] } },
        { name: 'w', result: { n: '{{ args.n }}' } },
      ],
    });
    const sim = new Sim(pb);
    sim.start();
    complete(sim, 'start');
    complete(sim, 'a');
    complete(sim, 'a');
    expect(Object.values(sim.state.runs).filter((r) => r.step === 'w').length).toBe(2); // two w runs in flight
    const st = sim.run();
    expect(st.status).toBe('completed');
    expect(sim.count('step.scheduled', 'w')).toBe(3);
    expect(sim.commands.filter((c) => c.step === 'w').map((c) => c.context.args.n)).toEqual([1, 2, 3]);
  });
});
