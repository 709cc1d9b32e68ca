import type { NormalizedPlaybook, Step } from '@noetl/dsl';

/** A set of step names, as a bitset over the steps' document order (plus names without a step). */
export interface StepSet {
  has(step: string): boolean;
}

/**
 * Per-playbook lookup tables derived from the catalog's graph analysis (runtime.md §8.3), built
 * once per playbook object and cached (the playbook is immutable).
 */
export interface Analysis {
  steps: Map<string, Step>;
  /**
   * T8.5: the steps that can still deliver a forward token to `join`: its forward upstreams `u`
   * and every step `s` with `u ∈ Reach(s)`. A join waits while one of them is active. Built per
   * join on first use by one backward walk over the edges: no Reach set is materialized (a chain
   * of n steps has n²/2 Reach entries in total).
   */
  feeders(join: string): StepSet;
  joins: Set<string>;
  forwardUpstreams: Map<string, string[]>;
  /** step index in document order */
  order: Map<string, number>;
}

const CACHE = new WeakMap<NormalizedPlaybook, Analysis>();

export function analysis(playbook: NormalizedPlaybook): Analysis {
  let a = CACHE.get(playbook);
  if (a) return a;
  const steps = new Map<string, Step>();
  const order = new Map<string, number>();
  playbook.steps.forEach((s, i) => {
    steps.set(s.name, s);
    order.set(s.name, i);
  });
  const g = playbook.graph;
  const forwardUpstreams = new Map<string, string[]>();
  for (const s of playbook.steps) forwardUpstreams.set(s.name, g?.forward_upstreams?.[s.name] ?? []);
  const joins = new Set<string>(g?.joins ?? [...forwardUpstreams].filter(([, u]) => new Set(u).size >= 2).map(([n]) => n));
  const feeders = new Map<string, StepSet>();
  let preds: number[][] | undefined;
  const feedersOf = (join: string): StepSet => {
    let f = feeders.get(join);
    if (!f) {
      preds ??= predecessors(playbook, order);
      f = walkBack(preds, order, forwardUpstreams.get(join) ?? []);
      feeders.set(join, f);
    }
    return f;
  };
  a = { steps, feeders: feedersOf, joins, forwardUpstreams, order };
  CACHE.set(playbook, a);
  return a;
}

/** Predecessors of every step (by document index) along the graph's edges (any arc, any condition). */
function predecessors(playbook: NormalizedPlaybook, order: Map<string, number>): number[][] {
  const preds: number[][] = playbook.steps.map(() => []);
  const add = (from: string, to: string) => {
    const u = order.get(from);
    const t = order.get(to);
    if (u !== undefined && t !== undefined) preds[t].push(u);
  };
  const edges = playbook.graph?.edges;
  if (edges) {
    for (const e of edges) add(e.from, e.to);
  } else {
    for (const s of playbook.steps) for (const arc of s.next.arcs) add(s.name, arc.step);
  }
  return preds;
}

/** `targets` and every step from which one of them is reachable, as a StepSet. */
function walkBack(preds: number[][], order: Map<string, number>, targets: string[]): StepSet {
  const bits = new Uint32Array((preds.length + 31) >>> 5);
  let extra: Set<string> | undefined; // names without a step (an inconsistent graph analysis)
  const stack: number[] = [];
  for (const u of targets) {
    const i = order.get(u);
    if (i === undefined) {
      (extra ??= new Set<string>()).add(u);
    } else if ((bits[i >>> 5] & (1 << (i & 31))) === 0) {
      bits[i >>> 5] |= 1 << (i & 31);
      stack.push(i);
    }
  }
  while (stack.length > 0) {
    const x = stack.pop() as number;
    for (const p of preds[x]) {
      if ((bits[p >>> 5] & (1 << (p & 31))) === 0) {
        bits[p >>> 5] |= 1 << (p & 31);
        stack.push(p);
      }
    }
  }
  return {
    has(step: string): boolean {
      const i = order.get(step);
      if (i === undefined) return extra !== undefined && extra.has(step);
      return (bits[i >>> 5] & (1 << (i & 31))) !== 0;
    },
  };
}

export function stepOf(playbook: NormalizedPlaybook, name: string): Step {
  const s = analysis(playbook).steps.get(name);
  if (!s) throw new Error(`engine: step '${name}' is not defined in playbook ${playbook.metadata.path}`);
  return s;
}
