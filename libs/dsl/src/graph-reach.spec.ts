// Graph analysis without materialized Reach sets: back-edges, forward upstreams, joins and
// unreachable steps agree with a brute-force Reach(s) (runtime.md §8.3) on random graphs, and a
// long chain is analysed in linear time and memory.
import { seededRandom as rng } from '@noetl/common';
import { ok, wf } from './test-helpers';

interface RandomGraph {
  names: string[];
  targets: string[][];
}

function randomGraph(r: () => number): RandomGraph {
  const n = 1 + Math.floor(r() * 12);
  const names = Array.from({ length: n }, (_, i) => (i === 0 ? 'start' : `s${i}`));
  const density = r() * 0.3;
  const targets = names.map(() => {
    const out: string[] = [];
    const k = Math.floor(r() * 4);
    for (let j = 0; j < k; j++) {
      const x = r();
      if (x < 0.1) out.push('end'); // the sentinel (no step named end): no edge
      else out.push(names[Math.floor(r() * n)]); // self-loops and duplicate arcs included
    }
    if (r() < density && names.length > 1) out.push(names[Math.floor(r() * n)]);
    return out;
  });
  return { names, targets };
}

function yamlOf(g: RandomGraph): string {
  return wf(g.names.map((name, i) => {
    const arcs = g.targets[i];
    const next = arcs.length ? `, next: { spec: { mode: inclusive }, arcs: [ ${arcs.map((t) => `{ step: ${t} }`).join(', ')} ] }` : '';
    return `  - { step: ${name}, tool: { kind: noop }${next} }\n`;
  }).join(''));
}

/** the definitions of runtime.md §8.3 with Reach(s) computed by brute force */
function reference(g: RandomGraph) {
  const defined = new Set(g.names);
  const succ = new Map(g.names.map((name, i) => [name, g.targets[i].filter((t) => defined.has(t))]));
  const reach = new Map<string, Set<string>>();
  for (const s of g.names) {
    const seen = new Set<string>();
    const stack = [...succ.get(s)!];
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...succ.get(x)!);
    }
    reach.set(s, seen);
  }
  const edges: Array<{ from: string; to: string; arc: number; back_edge: boolean }> = [];
  const forward: Record<string, string[]> = Object.fromEntries(g.names.map((n) => [n, [] as string[]]));
  g.names.forEach((from, i) => g.targets[i].forEach((to, arc) => {
    if (!defined.has(to)) return;
    const back = reach.get(to)!.has(from);
    edges.push({ from, to, arc, back_edge: back });
    if (!back && !forward[to].includes(from)) forward[to].push(from);
  }));
  const joins = g.names.filter((n) => forward[n].length >= 2);
  const unreachable = g.names.filter((n) => n !== 'start' && !reach.get('start')!.has(n));
  const arcBack = g.names.map((from, i) => g.targets[i].map((to) => defined.has(to) && reach.get(to)!.has(from)));
  return { edges, forward, joins, unreachable, arcBack };
}

describe('graph analysis agrees with brute-force Reach sets', () => {
  it('on 500 random graphs (cycles, self-loops, duplicate arcs, the end sentinel, unreachable steps)', () => {
    const r = rng(20240611);
    for (let k = 0; k < 500; k++) {
      const g = randomGraph(r);
      const pb = ok(yamlOf(g));
      const want = reference(g);
      const got = pb.graph;
      const ctx = JSON.stringify(g);
      expect([ctx, got.edges]).toEqual([ctx, want.edges]);
      expect([ctx, got.forward_upstreams]).toEqual([ctx, want.forward]);
      expect([ctx, got.joins]).toEqual([ctx, want.joins]);
      expect([ctx, got.unreachable]).toEqual([ctx, want.unreachable]);
      expect([ctx, pb.steps.map((s) => s.next.arcs.map((a) => a.back_edge))]).toEqual([ctx, want.arcBack]);
      expect(Object.keys(got)).not.toContain('reach');
    }
  });

  it('a 20,000-step chain closed into a cycle: every edge is a back-edge, nothing is stored per pair', () => {
    const n = 20_000;
    const text = wf(Array.from({ length: n }, (_, i) => `  - { step: ${i === 0 ? 'start' : `s${i}`}, tool: { kind: noop }, next: { arcs: [ { step: ${i + 1 < n ? `s${i + 1}` : 'start'} } ] } }\n`).join(''));
    const pb = ok(text);
    expect(pb.graph.edges).toHaveLength(n);
    expect(pb.graph.edges.every((e) => e.back_edge)).toBe(true);
    expect(pb.graph.joins).toEqual([]);
    expect(pb.graph.unreachable).toEqual([]);
    // the whole analysis is O(steps): its JSON is a few bytes per step, not n²/2 names
    expect(JSON.stringify(pb.graph).length).toBeLessThan(200 * n);
  });
});
