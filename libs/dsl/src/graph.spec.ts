import { ok, wf } from './test-helpers';

const step = (name: string, targets: string[], extra = '') =>
  `  - { step: ${name}, tool: { kind: noop }${extra}${targets.length ? `, next: { spec: { mode: inclusive }, arcs: [ ${targets.map((t) => `{ step: ${t} }`).join(', ')} ] }` : ''} }\n`;

jest.setTimeout(120_000);

describe('graph analysis (runtime.md §8.3)', () => {
  it('runtime §8.4 join example: edges, forward upstreams, joins', () => {
    const pb = ok(wf(
      step('start', ['hot', 'cold']) + step('hot', ['fan']) + step('fan', ['a', 'b']) + step('cold', ['c'])
      + step('a', ['end']) + step('b', ['end']) + step('c', ['end']) + step('end', []),
    ));
    const g = pb.graph;
    expect(g.entry).toBe('start');
    expect(g.edges).toHaveLength(9);
    expect(g.edges.every((e) => !e.back_edge)).toBe(true);
    expect(g.forward_upstreams.end).toEqual(['a', 'b', 'c']);
    expect(g.forward_upstreams.start).toEqual([]);
    expect(g.joins).toEqual(['end']);
    expect(g.unreachable).toEqual([]);
  });

  it('edges on a cycle are back-edges (self-loops included); the entry arc is forward', () => {
    const pb = ok(wf(step('start', ['fetch']) + step('fetch', ['check']) + step('check', ['fetch', 'done']) + step('done', ['done'])));
    const be = Object.fromEntries(pb.graph.edges.map((e) => [`${e.from}->${e.to}`, e.back_edge]));
    expect(be).toEqual({ 'start->fetch': false, 'fetch->check': true, 'check->fetch': true, 'check->done': false, 'done->done': true });
    expect(pb.graph.forward_upstreams.fetch).toEqual(['start']);
    expect(pb.graph.forward_upstreams.check).toEqual([]);
    expect(pb.graph.joins).toEqual([]);
    const arcs = pb.steps.find((s) => s.name === 'check')!.next.arcs;
    expect(arcs.map((a) => [a.step, a.back_edge, a.target_defined])).toEqual([['fetch', true, true], ['done', false, true]]);
  });

  it('diamond: the merge step is a join; edge arc indices point into next.arcs', () => {
    const pb = ok(wf(step('start', ['left', 'right']) + step('left', ['merge']) + step('right', ['merge']) + step('merge', [])));
    expect(pb.graph.joins).toEqual(['merge']);
    expect(pb.graph.edges.filter((e) => e.from === 'start').map((e) => e.arc)).toEqual([0, 1]);
  });

  it('the end sentinel adds no edge; unreachable steps are listed', () => {
    const pb = ok(wf(step('start', ['end']) + step('lost', ['start'])));
    expect(pb.graph.edges).toEqual([{ from: 'lost', to: 'start', arc: 0, back_edge: false }]);
    expect(pb.graph.unreachable).toEqual(['lost']);
    expect(pb.steps[0].next.arcs[0].target_defined).toBe(false);
  });

  it('step_refs: bare names, steps.X, steps[\'X\'], dynamic subscripts; every template place', () => {
    const pb = ok(wf(`  - step: start
    spec: { policy: { admit: { rules: [ { when: "a_step is defined", then: { allow: true } } ] } } }
    loop: { in: "{{ b_step.rows }}", iterator: r }
    input: { x: "{{ steps['c-step'].data }}" }
    tool:
      - name: t
        kind: noop
        result: "{{ steps.d_step.status }} {{ unknown_name }} {{ workload.a_step }}"
        set: { y: "{{ e_step }}" }
        spec: { policy: { rules: [ { when: "{{ f_step }}", then: { do: continue, set: { z: "{{ g_step }}" } } } ] } }
    set: { ctx.q: "{{ h_step.x }}" }
    next: { arcs: [ { step: a_step, when: "{{ i_step }}", args: { k: "{{ start.v }}" } } ] }
  - step: dyn
    tool: { kind: noop, result: "{{ steps[workload.which].data }}" }
` + ['a_step', 'b_step', 'c-step', 'd_step', 'e_step', 'f_step', 'g_step', 'h_step', 'i_step'].map((n) => `  - { step: ${n}, tool: { kind: noop } }\n`).join('')));
    expect(pb.graph.step_refs.start).toEqual({
      steps: ['start', 'a_step', 'b_step', 'c-step', 'd_step', 'e_step', 'f_step', 'g_step', 'h_step', 'i_step'], dynamic: false,
    });
    expect(pb.graph.step_refs.dyn).toEqual({ steps: [], dynamic: true });
    expect(pb.graph.step_refs.a_step).toEqual({ steps: [], dynamic: false });
  });

  it('step_refs include the resolved workbook task', () => {
    const pb = ok(`apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: x }
workbook: [ { name: w, tool: { kind: noop, result: "{{ other.v }}" } } ]
workflow:
  - { step: start, tool: { kind: workbook, name: w }, next: { arcs: [ { step: other } ] } }
  - { step: other, tool: { kind: noop } }
`);
    expect(pb.graph.step_refs.start.steps).toEqual(['other']);
  });

  it('failure_aware iff the arc when references event', () => {
    const pb = ok(wf(`  - step: start
    tool: { kind: noop }
    next:
      arcs:
        - { step: end }
        - { step: end, when: true }
        - { step: end, when: "{{ event.name == 'step.failed' }}" }
        - { step: end, when: "event.error.kind == 'auth'" }
        - { step: end, when: "{{ events }}" }
`));
    expect(pb.steps[0].next.arcs.map((a) => a.failure_aware)).toEqual([false, false, true, true, false]);
  });

  it('handles 2,000 steps in a chain', () => {
    const n = 2000;
    const steps = Array.from({ length: n }, (_, i) => step(i === 0 ? 'start' : `s${i}`, i + 1 < n ? [`s${i + 1}`] : ['start'])).join('');
    const pb = ok(wf(steps));
    expect(pb.graph.unreachable).toEqual([]);
    expect(pb.graph.edges.every((e) => e.back_edge)).toBe(true);
  });
});
