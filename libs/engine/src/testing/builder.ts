// Test utility: build `NormalizedPlaybook` objects from a compact description, computing the
// graph analysis of runtime.md §8.3 the way the catalog does. Not part of the public API.
import type { AdmitRule, Arc, NormalizedPlaybook, SetBlock, Step, Task } from '@noetl/dsl';

export interface ArcDef {
  step: string;
  when?: boolean | string;
  set?: Record<string, unknown>;
  args?: Record<string, unknown>;
}

export interface StepDef {
  name: string;
  /** noop result of a single task (`<step>_task`) */
  result?: unknown;
  tasks?: Array<Partial<Task> & { name: string }>;
  next?: { mode?: 'exclusive' | 'inclusive'; on_no_match?: 'complete' | 'quiet' | 'fail'; arcs: Array<ArcDef | string> } | Array<ArcDef | string>;
  set?: Record<string, unknown>;
  admit?: Array<{ when?: boolean | string; else?: boolean; allow: boolean }>;
  loop?: { in: unknown; iterator?: string; mode?: 'sequential' | 'parallel'; max_in_flight?: number | string; ctx_merge?: 'last_write_wins'; iteration_timeout_s?: number };
  failure_mode?: 'fail_fast' | 'best_effort';
  timeout_s?: number;
  input?: Record<string, unknown>;
  spec?: Record<string, unknown>;
}

export interface PlaybookDef {
  name?: string;
  workload?: Record<string, unknown>;
  steps: StepDef[];
  entry?: string;
  policy?: NormalizedPlaybook['executor']['policy'];
  spec?: Record<string, unknown>;
  no_next_is_error?: boolean;
}

export function setBlock(m: Record<string, unknown> | undefined, bare: 'ctx' | 'step' = 'ctx'): SetBlock | undefined {
  if (!m) return undefined;
  return Object.entries(m).map(([target, value]) => {
    const parts = target.split('.');
    const scoped = parts[0] === 'ctx' || parts[0] === 'iter' || parts[0] === 'step';
    const scope = (scoped ? parts[0] : bare) as 'ctx' | 'iter' | 'step';
    const path = scoped ? parts.slice(1) : parts;
    return { target, scope: bare === 'ctx' && scope === 'step' ? 'ctx' : scope, path, value };
  });
}

const refersToEvent = (when: unknown): boolean => typeof when === 'string' && /\bevent\b/.test(when);

export function buildPlaybook(def: PlaybookDef): NormalizedPlaybook {
  const names = new Set(def.steps.map((s) => s.name));
  const rawArcs = new Map<string, ArcDef[]>();
  const routers = new Map<string, { mode: 'exclusive' | 'inclusive'; on_no_match: 'complete' | 'quiet' | 'fail' }>();
  for (const s of def.steps) {
    const n = s.next;
    const list = n === undefined ? [] : Array.isArray(n) ? n : n.arcs;
    rawArcs.set(s.name, list.map((a) => (typeof a === 'string' ? { step: a } : a)));
    routers.set(s.name, {
      mode: (!Array.isArray(n) && n?.mode) || 'exclusive',
      on_no_match: (!Array.isArray(n) && n?.on_no_match) || (def.no_next_is_error ? 'fail' : 'complete'),
    });
  }
  // graph analysis (§8.3)
  const succ = new Map<string, string[]>();
  for (const s of def.steps) succ.set(s.name, rawArcs.get(s.name)!.map((a) => a.step).filter((t) => names.has(t)));
  const reach: Record<string, string[]> = {};
  for (const s of def.steps) {
    const seen = new Set<string>();
    const stack = [...succ.get(s.name)!];
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...succ.get(x)!);
    }
    reach[s.name] = [...seen];
  }
  const edges: NormalizedPlaybook['graph']['edges'] = [];
  const fwd: Record<string, string[]> = {};
  for (const s of def.steps) fwd[s.name] = [];
  for (const s of def.steps) {
    rawArcs.get(s.name)!.forEach((a, i) => {
      if (!names.has(a.step)) return;
      const back = reach[a.step].includes(s.name);
      edges.push({ from: s.name, to: a.step, arc: i, back_edge: back });
      if (!back && !fwd[a.step].includes(s.name)) fwd[a.step].push(s.name);
    });
  }
  const joins = Object.entries(fwd).filter(([, u]) => u.length >= 2).map(([n]) => n);
  const step_refs: Record<string, { steps: string[]; dynamic: boolean }> = {};
  for (const s of def.steps) step_refs[s.name] = { steps: [], dynamic: true };

  const steps: Step[] = def.steps.map((s) => {
    const arcs: Arc[] = rawArcs.get(s.name)!.map((a, i) => ({
      index: i,
      step: a.step,
      ...(a.when !== undefined ? { when: a.when } : {}),
      failure_aware: refersToEvent(a.when),
      ...(a.set ? { set: setBlock(a.set) } : {}),
      ...(a.args ? { args: a.args } : {}),
      target_defined: names.has(a.step),
      back_edge: names.has(a.step) && reach[a.step].includes(s.name),
    }));
    const tasks: Task[] = s.tasks
      ? s.tasks.map((t) => ({ kind: 'noop', spec: {}, fields: {}, ...t }) as Task)
      : [{ name: `${s.name}_task`, kind: 'noop', spec: {}, fields: s.result !== undefined ? { result: s.result } : {} }];
    const step: Step = {
      name: s.name,
      spec: s.spec ?? {},
      failure_mode: s.failure_mode ?? 'fail_fast',
      tasks,
      next: { ...routers.get(s.name)!, arcs },
    };
    if (s.admit) step.admit = { mode: 'exclusive', rules: s.admit.map((r) => ({ ...(r.when !== undefined ? { when: r.when } : {}), else: r.else === true, allow: r.allow }) as AdmitRule) };
    if (s.set) step.set = setBlock(s.set);
    if (s.timeout_s !== undefined) step.timeout_s = s.timeout_s;
    if (s.input) step.input = s.input;
    if (s.loop) {
      step.loop = {
        in: s.loop.in,
        iterator: s.loop.iterator ?? 'item',
        mode: s.loop.mode ?? 'sequential',
        ...(s.loop.max_in_flight !== undefined ? { max_in_flight: s.loop.max_in_flight } : {}),
        spec: {},
        exec: 'distributed',
        ...(s.loop.ctx_merge ? { ctx_merge: s.loop.ctx_merge } : {}),
        ...(s.loop.iteration_timeout_s !== undefined ? { iteration_timeout_s: s.loop.iteration_timeout_s } : {}),
      };
    }
    return step;
  });
  const entry = def.entry ?? 'start';
  return {
    apiVersion: 'noetl.io/v2',
    kind: 'Playbook',
    metadata: { name: def.name ?? 'test', path: `test/${def.name ?? 'test'}` },
    keychain: [],
    executor: { spec: def.spec ?? {}, policy: def.policy ?? {}, entry_step: entry, pool: 'default', no_next_is_error: def.no_next_is_error === true },
    workload: def.workload ?? {},
    steps,
    workbook: {},
    graph: { entry, edges, forward_upstreams: fwd, joins, step_refs, unreachable: [] },
    digest: 'sha256:test',
  };
}
