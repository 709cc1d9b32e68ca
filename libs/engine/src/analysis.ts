import type { NormalizedPlaybook, Step } from '@noetl/dsl';

/**
 * Per-playbook lookup tables derived from the catalog's graph analysis (runtime.md §8.3), built
 * once per playbook object and cached (the playbook is immutable).
 */
export interface Analysis {
  steps: Map<string, Step>;
  /** Reach(s) as a set, built on first use (a long chain has O(n²) reach entries in total) */
  reachOf(step: string): Set<string>;
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
  const reach = new Map<string, Set<string>>();
  const reachOf = (step: string): Set<string> => {
    let r = reach.get(step);
    if (!r) reach.set(step, (r = new Set(g?.reach?.[step] ?? [])));
    return r;
  };
  const forwardUpstreams = new Map<string, string[]>();
  for (const s of playbook.steps) forwardUpstreams.set(s.name, g?.forward_upstreams?.[s.name] ?? []);
  const joins = new Set<string>(g?.joins ?? [...forwardUpstreams].filter(([, u]) => new Set(u).size >= 2).map(([n]) => n));
  a = { steps, reachOf, joins, forwardUpstreams, order };
  CACHE.set(playbook, a);
  return a;
}

export function stepOf(playbook: NormalizedPlaybook, name: string): Step {
  const s = analysis(playbook).steps.get(name);
  if (!s) throw new Error(`engine: step '${name}' is not defined in playbook ${playbook.metadata.path}`);
  return s;
}
