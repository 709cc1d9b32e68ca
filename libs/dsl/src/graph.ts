/**
 * Static graph analysis (runtime.md §8.3): arc edges, back-edges, forward upstreams,
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
  // lastFrom[t] = the last node with an edge to t: a node's arcs are visited together, so this
  // dedupes its successors (and below its forward upstreams) in O(1) however many arcs it has
  const lastFrom = new Int32Array(n).fill(-1);
  nodes.forEach((s, u) => {
    for (const arc of s.next.arcs) {
      const t = byName.get(arc.step);
      arc.target_defined = t !== undefined;
      if (t === undefined) continue;
      if (lastFrom[t] !== u) {
        lastFrom[t] = u;
        adj[u].push(t);
      }
      edges.push({ from: s.name, to: arc.step, arc: arc.index, back_edge: false });
    }
  });

  const names = nodes.map((s) => s.name);
  // u -> t is a back-edge iff u ∈ Reach(t) (runtime.md §8.3), i.e. iff u and t lie on a common
  // cycle: the same strongly connected component (a self-loop included). No Reach set is
  // materialized: a chain of n steps has n²/2 Reach entries in total.
  const comp = components(adj);
  const forward = record<string[]>();
  for (const name of names) forward[name] = [];
  lastFrom.fill(-1);
  let k = 0;
  nodes.forEach((s, u) => {
    // edges were pushed in this same order (node by node, arc by arc)
    for (const arc of s.next.arcs) {
      const t = byName.get(arc.step);
      if (t === undefined) {
        arc.back_edge = false;
        continue;
      }
      const back = comp[t] === comp[u];
      arc.back_edge = back;
      edges[k++].back_edge = back;
      if (!back && lastFrom[t] !== u) {
        lastFrom[t] = u;
        forward[names[t]].push(s.name);
      }
    }
  });
  // duplicate step definitions keep their own arcs consistent too
  for (const s of steps) {
    for (const arc of s.next.arcs) arc.target_defined = byName.has(arc.step);
  }

  const joins = names.filter((name) => forward[name].length >= 2);
  const entryIdx = byName.get(entry);
  let unreachable: string[];
  if (entryIdx === undefined) {
    unreachable = [...names];
  } else {
    // steps reachable from the entry by one or more edges (the entry itself is never listed)
    const seen = new Uint8Array(n);
    const stack = [...adj[entryIdx]];
    for (const t of stack) seen[t] = 1;
    while (stack.length > 0) {
      const v = stack.pop() as number;
      for (const w of adj[v]) {
        if (seen[w] === 0) {
          seen[w] = 1;
          stack.push(w);
        }
      }
    }
    unreachable = names.filter((_, i) => i !== entryIdx && seen[i] === 0);
  }

  const stepRefs = record<{ steps: string[]; dynamic: boolean }>();
  const references = new StepReferences(byName, analyzer);
  for (const s of steps) {
    const refs = references.of(s);
    if (!Object.prototype.hasOwnProperty.call(stepRefs, s.name)) stepRefs[s.name] = refs;
    for (const arc of s.next.arcs) {
      arc.failure_aware = typeof arc.when === 'string' && analyzer.facts(arc.when, !isTemplate(arc.when)).roots.includes('event');
    }
  }
  return { entry, edges, forward_upstreams: forward, joins, step_refs: stepRefs, unreachable };
}

/** Strongly connected component of every node (Tarjan's algorithm, iterative): O(nodes + edges). */
function components(adj: number[][]): Int32Array {
  const n = adj.length;
  const comp = new Int32Array(n).fill(-1);
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  // the DFS path: node and next successor position, as two parallel stacks
  const pathNode: number[] = [];
  const pathNext: number[] = [];
  let counter = 0;
  let comps = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    pathNode.push(root);
    pathNext.push(0);
    while (pathNode.length > 0) {
      const top = pathNode.length - 1;
      const v = pathNode[top];
      const i = pathNext[top];
      if (i < adj[v].length) {
        pathNext[top] = i + 1;
        const w = adj[v][i];
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          pathNode.push(w);
          pathNext.push(0);
        } else if (onStack[w] === 1 && index[w] < low[v]) {
          low[v] = index[w];
        }
        continue;
      }
      pathNode.pop();
      pathNext.pop();
      if (pathNode.length > 0) {
        const parent = pathNode[pathNode.length - 1];
        if (low[v] < low[parent]) low[parent] = low[v];
      }
      if (low[v] === index[v]) {
        const c = comps++;
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = 0;
          comp[w] = c;
        } while (w !== v);
      }
    }
  }
  return comp;
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
