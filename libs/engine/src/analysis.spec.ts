// T8.5 join enabling from per-join feeder sets agrees with the rule as written (runtime.md
// §8.4): Active = {steps with a live run} ∪ {targets of pending tokens} ∖ {t}; a forward upstream
// u is potentially active iff u ∈ Active or u ∈ Reach(s) for some s ∈ Active.
import { seededRandom as rng } from '@noetl/common';
import { loadPlaybook, type NormalizedPlaybook } from '@noetl/dsl';
import { analysis } from './analysis';
import { createExecutionState } from './state';
import { joinEnabled } from './tokens';
import type { ExecutionState } from './types';
import { buildPlaybook } from './testing/builder';


function load(names: string[], targets: string[][]): NormalizedPlaybook {
  const lines = ['apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: g, path: g }', 'workflow:'];
  names.forEach((name, i) => {
    const arcs = targets[i];
    const next = arcs.length ? `, next: { spec: { mode: inclusive }, arcs: [ ${arcs.map((t) => `{ step: ${t} }`).join(', ')} ] }` : '';
    lines.push(`  - { step: ${name}, tool: { kind: noop }${next} }`);
  });
  const r = loadPlaybook(lines.join('\n'));
  if (!r.ok || !r.playbook) throw new Error(JSON.stringify(r.diagnostics));
  return r.playbook;
}

const state = (runs: string[], tokens: string[]): ExecutionState => ({
  ...createExecutionState('E'),
  runs: Object.fromEntries(runs.map((s, i) => [`r${i}`, { id: `r${i}`, step: s, run_no: 1, args: {}, pool: 'default', scheduled_at: '', started: false, seen: {}, is_loop: false }])),
  tokens: tokens.map((t, i) => ({ id: `t${i}`, target: t, args: {}, back_edge: false, event: {} })),
});

/** the rule as written, with Reach(s) by brute force over the playbook's arcs */
function expected(pb: NormalizedPlaybook, st: ExecutionState, target: string): boolean {
  const defined = new Set(pb.steps.map((s) => s.name));
  const succ = new Map(pb.steps.map((s) => [s.name, s.next.arcs.map((a) => a.step).filter((t) => defined.has(t))]));
  const reach = (s: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(succ.get(s) ?? [])];
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...succ.get(x)!);
    }
    return seen;
  };
  const active = new Set<string>([...Object.values(st.runs).map((r) => r.step), ...st.tokens.map((t) => t.target)]);
  active.delete(target);
  for (const u of pb.graph.forward_upstreams[target] ?? []) {
    if (active.has(u)) return false;
    for (const s of active) if (reach(s).has(u)) return false;
  }
  return true;
}

describe('joinEnabled from feeder sets (T8.5)', () => {
  it('agrees with the potentially-active rule on random graphs and active sets', () => {
    const r = rng(8_5);
    let joinsSeen = 0;
    let disabled = 0;
    for (let k = 0; k < 300; k++) {
      const n = 2 + Math.floor(r() * 12);
      const names = Array.from({ length: n }, (_, i) => (i === 0 ? 'start' : `s${i}`));
      const targets = names.map(() => Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.08 ? 'end' : names[Math.floor(r() * n)])));
      const pb = load(names, targets);
      const an = analysis(pb);
      for (const j of pb.graph.joins) {
        joinsSeen++;
        for (let q = 0; q < 20; q++) {
          const pick = () => names.filter(() => r() < 0.2);
          const st = state(pick(), [j, ...pick()]);
          const want = expected(pb, st, j);
          if (!want) disabled++;
          expect([names, targets, st.runs, st.tokens, j, joinEnabled(st, an, j)]).toEqual([names, targets, st.runs, st.tokens, j, want]);
        }
      }
    }
    expect(joinsSeen).toBeGreaterThan(50);
    expect(disabled).toBeGreaterThan(100);
  });

  it('a hand-edited forward upstream that names no step still counts when active', () => {
    const pb = buildPlaybook({ steps: [{ name: 'start', next: { mode: 'inclusive', arcs: ['a', 'b'] } }, { name: 'a', next: ['j'] }, { name: 'b', next: ['j'] }, { name: 'j' }] });
    const g = pb.graph as { forward_upstreams: Record<string, string[]> };
    g.forward_upstreams = { ...g.forward_upstreams, j: ['a', 'b', 'ghost'] };
    const an = analysis(pb);
    expect(joinEnabled(state(['ghost'], ['j']), an, 'j')).toBe(false);
    expect(joinEnabled(state(['start'], ['j']), an, 'j')).toBe(false); // start reaches a and b
    expect(joinEnabled(state(['j'], ['j']), an, 'j')).toBe(true); // the join itself is excluded
    expect(joinEnabled(state([], ['j', 'j']), an, 'j')).toBe(true);
  });

  it('a join on a 20,000-step chain: feeders are one bitset, not n²/2 Reach entries', () => {
    const n = 20_000;
    const steps = Array.from({ length: n }, (_, i) => ({ name: i === 0 ? 'start' : `s${i}`, next: i + 1 < n ? [`s${i + 1}`] : [] as string[] }));
    steps[0].next = ['s1', `s${n - 1}`]; // s{n-1} is a join of start and s{n-2}
    const pb = load(steps.map((s) => s.name), steps.map((s) => s.next));
    expect(pb.graph.joins).toEqual([`s${n - 1}`]);
    const an = analysis(pb);
    const t0 = Date.now();
    for (let i = 0; i < n - 1; i += 97) expect(joinEnabled(state([steps[i].name], [`s${n - 1}`]), an, `s${n - 1}`)).toBe(false);
    expect(joinEnabled(state([], [`s${n - 1}`]), an, `s${n - 1}`)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
