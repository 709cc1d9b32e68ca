/**
 * Static graph analysis (runtime.md §8.3): arc edges, Reach, back-edges, forward upstreams,
 * joins, unreachable steps, and per-step template references to other steps (T4.1).
 * Also fills each Arc's `target_defined`, `back_edge` and `failure_aware` (R11.4).
 */
import { isPlainObject } from '@noetl/common';
import type { GraphAnalysis, SetBlock, Step, Task } from './model';
import type { TemplateAnalyzer } from './templates';
import { isTemplate } from './templates';

export function analyzeGraph(steps: Step[], entry: string, analyzer: TemplateAnalyzer): GraphAnalysis {
  // first definition wins (duplicates are reported elsewhere)
  const byName = new Map<string, number>();
  const nodes: Step[] = [];
  for (const s of steps) {
    if (byName.has(s.name)) continue;
    byName.set(s.name, nodes.length);
    nodes.push(s);
  }
  const n = nodes.length;
  const adj: number[][] = nodes.map(() => []);
  const edges: GraphAnalysis['edges'] = [];
  nodes.forEach((s, u) => {
    for (const arc of s.next.arcs) {
      const t = byName.get(arc.step);
      arc.target_defined = t !== undefined;
      if (t === undefined) continue;
      if (!adj[u].includes(t)) adj[u].push(t);
      edges.push({ from: s.name, to: arc.step, arc: arc.index, back_edge: false });
    }
  });

  const names = nodes.map((s) => s.name);
  const { reachOf, inReach } = computeReach(adj);
  const reach = record<string[]>();
  const forward = record<string[]>();
  // nodes of one strongly connected component share one (frozen later) list
  const lists = new Map<number, string[]>();
  for (let s = 0; s < n; s++) {
    const key = reachOf[s];
    let list = lists.get(key.id);
    if (!list) {
      list = [];
      const bits = key.bits;
      for (let w = 0; w < bits.length; w++) {
        let word = bits[w];
        while (word !== 0) {
          const low = word & -word;
          list.push(names[(w << 5) + 31 - Math.clz32(low)]);
          word ^= low;
        }
      }
      lists.set(key.id, list);
    }
    reach[names[s]] = list;
    forward[names[s]] = [];
  }
  const reachBits = (s: number, t: number) => inReach(reachOf[s].bits, t);

  for (const e of edges) {
    const u = byName.get(e.from) as number;
    const t = byName.get(e.to) as number;
    e.back_edge = reachBits(t, u);
    if (!e.back_edge && !forward[e.to].includes(e.from)) forward[e.to].push(e.from);
  }
  nodes.forEach((s) => {
    const u = byName.get(s.name) as number;
    for (const arc of s.next.arcs) {
      const t = byName.get(arc.step);
      arc.back_edge = t !== undefined && reachBits(t, u);
    }
  });
  // duplicate step definitions keep their own arcs consistent too
  for (const s of steps) {
    for (const arc of s.next.arcs) arc.target_defined = byName.has(arc.step);
  }

  const joins = names.filter((name) => forward[name].length >= 2);
  const entryIdx = byName.get(entry);
  const unreachable = entryIdx === undefined
    ? [...names]
    : names.filter((_, i) => i !== entryIdx && !reachBits(entryIdx, i));

  const stepRefs = record<{ steps: string[]; dynamic: boolean }>();
  const references = new StepReferences(byName, analyzer);
  for (const s of steps) {
    const refs = references.of(s);
    if (!Object.prototype.hasOwnProperty.call(stepRefs, s.name)) stepRefs[s.name] = refs;
    for (const arc of s.next.arcs) {
      arc.failure_aware = typeof arc.when === 'string' && analyzer.facts(arc.when, !isTemplate(arc.when)).roots.includes('event');
    }
  }
  return { entry, edges, reach, forward_upstreams: forward, joins, step_refs: stepRefs, unreachable };
}

/**
 * Reach sets through the condensation of the graph (Tarjan's SCCs, iterative): every node of a
 * component has the same Reach, computed once as a bitset from its successor components.
 */
function computeReach(adj: number[][]): {
  reachOf: Array<{ id: number; bits: Uint32Array }>;
  inReach: (bits: Uint32Array, t: number) => boolean;
} {
  const n = adj.length;
  const words = (n + 31) >>> 5;
  const comp = new Int32Array(n).fill(-1);
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const members: number[][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: Array<[number, number]> = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      if (i < adj[v].length) {
        frame[1] = i + 1;
        const w = adj[v][i];
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v], index[w]);
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === index[v]) {
        const c = members.length;
        const ms: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = 0;
          comp[w] = c;
          ms.push(w);
        } while (w !== v);
        members.push(ms);
      }
    }
  }
  // Tarjan emits components in reverse topological order: successors come first
  const bits: Uint32Array[] = [];
  for (let c = 0; c < members.length; c++) {
    const b = new Uint32Array(words);
    let cyclic = false;
    const merged = new Set<number>();
    for (const v of members[c]) {
      for (const w of adj[v]) {
        const d = comp[w];
        if (d === c) {
          cyclic = true;
        } else if (!merged.has(d)) {
          merged.add(d);
          const db = bits[d];
          for (let k = 0; k < words; k++) b[k] |= db[k];
          for (const m of members[d]) b[m >>> 5] |= 1 << (m & 31);
        }
      }
    }
    // an edge inside the component (or a self-loop): every member reaches every member
    if (cyclic) for (const m of members[c]) b[m >>> 5] |= 1 << (m & 31);
    bits.push(b);
  }
  return {
    reachOf: Array.from({ length: n }, (_, v) => ({ id: comp[v], bits: bits[comp[v]] })),
    inReach: (b, t) => (b[t >>> 5] & (1 << (t & 31))) !== 0,
  };
}

function record<T>(): Record<string, T> {
  return {};
}

/**
 * Step names referenced by the templates of a step (scheduler and worker side). One instance per
 * analysis, reset per step: no closures are created per step (they cost ~1 µs each under tsx,
 * which names every function it defines).
 */
class StepReferences {
  private found = new Set<string>();
  private dynamic = false;

  constructor(
    private readonly byName: Map<string, number>,
    private readonly analyzer: TemplateAnalyzer,
  ) {}

  of(step: Step): { steps: string[]; dynamic: boolean } {
    this.found = new Set<string>();
    this.dynamic = false;
    for (const r of step.admit?.rules ?? []) this.cond(r.when);
    if (step.loop) {
      this.values(step.loop.in);
      this.values(step.loop.max_in_flight);
      this.values(step.loop.spec);
    }
    this.values(step.input);
    this.values(step.spec);
    for (const t of step.tasks) this.task(t);
    this.sets(step.set);
    for (const arc of step.next.arcs) {
      this.cond(arc.when);
      this.sets(arc.set);
      this.values(arc.args);
    }
    const byName = this.byName;
    const order = [...this.found].sort((a, b) => (byName.get(a) as number) - (byName.get(b) as number));
    return { steps: order, dynamic: this.dynamic };
  }

  private visit(text: string, expr: boolean): void {
    for (const ref of this.analyzer.facts(text, expr).references) {
      if (ref.root === 'steps') {
        const target = ref.path[0];
        if (target === undefined) this.dynamic = true;
        else if (this.byName.has(target)) this.found.add(target);
      } else if (this.byName.has(ref.root)) {
        this.found.add(ref.root);
      }
    }
  }

  /** every template string leaf of a value */
  private values(v: unknown): void {
    if (typeof v === 'string') {
      if (isTemplate(v)) this.visit(v, false);
    } else if (Array.isArray(v)) {
      for (const x of v) this.values(x);
    } else if (isPlainObject(v)) {
      for (const k in v) this.values(v[k]);
    }
  }

  private cond(w: unknown): void {
    if (typeof w === 'string') this.visit(w, !isTemplate(w));
  }

  private sets(b: SetBlock | undefined): void {
    if (b) for (const e of b) this.values(e.value);
  }

  private task(t: Task): void {
    this.values(t.input);
    this.values(t.auth);
    this.values(t.spec);
    this.values(t.fields);
    this.sets(t.set);
    for (const r of t.policy?.rules ?? []) {
      this.cond(r.when);
      this.sets(r.then.set);
      this.values(r.then.attempts);
      this.values(r.then.delay);
      this.values(r.then.max_delay);
    }
    if (t.workbook) this.task(t.workbook.task);
  }
}
