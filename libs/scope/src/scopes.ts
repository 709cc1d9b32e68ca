import type { Scope } from '@noetl/template';
import type { StepView } from '@noetl/events';
import { resultView, type Hydrator } from './views';

/** Reserved root names of dsl §13.3: never shadowed by steps, workload, ctx or task names. */
export const RESERVED_ROOTS: ReadonlySet<string> = new Set([
  'workload', 'ctx', 'args', 'input', 'iter', 'step', 'steps', 'output', 'outcome', 'event', 'keychain',
  'execution_id', 'catalog_id', 'job', 'playbook', 'env', 'loop', '_prev', '_task', '_attempt', 'now', 'range',
  'dict', 'true', 'false', 'none', 'True', 'False', 'None',
]);

export interface Globals {
  execution_id: string;
  catalog_id: string;
  job: { uuid: string; id: string; execution_id: string };
  playbook: { path: string; name: string; version: number | string; catalog_id: string };
}

export function makeGlobals(executionId: string, playbook: { path: string; name: string; version: number | string; catalog_id: string }): Globals {
  return {
    execution_id: executionId,
    catalog_id: playbook.catalog_id,
    job: { uuid: executionId, id: executionId, execution_id: executionId },
    playbook,
  };
}

const own = (o: unknown, k: string): boolean => o !== null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k);

/**
 * Lazily built `steps` root (dsl R13.5) and step-name views (R13.6): a step name refers to its
 * most recent successful run; `steps['x']` is the record of its latest run.
 */
export class StepResults {
  /** made on the first view (most commands read no step result) */
  private viewCache: Map<string, unknown> | undefined;
  private recordsCache: Record<string, unknown> | undefined;
  constructor(private readonly steps: Record<string, StepView>, private readonly hydrate: Hydrator) {}

  /** data view of the latest successful result, or undefined (R13.7) */
  view(name: string): unknown {
    if (!own(this.steps, name)) return undefined;
    const s = this.steps[name];
    if (s.data === undefined && !s.ref) return undefined;
    const cache = (this.viewCache ??= new Map());
    if (!cache.has(name)) cache.set(name, resultView(s, this.hydrate));
    return cache.get(name);
  }

  records(): Record<string, unknown> {
    if (!this.recordsCache) {
      const out: Record<string, unknown> = {};
      for (const [name, s] of Object.entries(this.steps)) {
        out[name] = {
          status: s.status,
          data: this.view(name) ?? null,
          error: s.error ?? null,
          ref: s.ref ?? null,
          step_run_id: s.step_run_id ?? null,
          completed_at: s.completed_at ?? null,
          runs: s.runs,
        };
      }
      this.recordsCache = out;
    }
    return this.recordsCache;
  }
}

/** Inputs of a scheduler-side template (admission, loop.in, step set, arcs; dsl §13.1). */
export interface SchedulerScopeInput {
  globals: Globals;
  workload: Record<string, unknown>;
  ctx: Record<string, unknown>;
  args: Record<string, unknown>;
  steps: StepResults;
  /** admission: token origin; arcs: boundary event */
  event?: unknown;
  /** step set / arcs: the step outcome view (R13.8) */
  output?: unknown;
}

/**
 * Scope for scheduler-evaluated templates. Bare names resolve: step result (R13.2 item 5), ctx,
 * workload. In step `set`/arcs (`output` given) the legacy bare `result` is a step named
 * `result`, else `output.data` (R13.8).
 */
export function schedulerScope(input: SchedulerScopeInput): Scope {
  const { globals, workload, ctx, args, steps } = input;
  return {
    lookup(name: string): unknown {
      switch (name) {
        case 'workload': return workload;
        case 'ctx': return ctx;
        case 'args': return args;
        case 'steps': return steps.records();
        case 'event': return input.event;
        case 'output':
        case 'outcome': return input.output;
        case 'execution_id': return globals.execution_id;
        case 'catalog_id': return globals.catalog_id;
        case 'job': return globals.job;
        case 'playbook': return globals.playbook;
        case 'result':
          if (input.output !== undefined) {
            const v = steps.view('result');
            return v !== undefined ? v : (input.output as { data?: unknown }).data;
          }
          break;
      }
      if (RESERVED_ROOTS.has(name)) return undefined;
      const v = steps.view(name);
      if (v !== undefined) return v;
      if (own(ctx, name)) return ctx[name];
      if (own(workload, name)) return workload[name];
      return undefined;
    },
  };
}

/** Inputs of a worker-side template (task fields, input, policies, task set; dsl §13.1). */
export interface WorkerScopeInput {
  globals: Globals;
  workload: Record<string, unknown>;
  /** the pipeline's ctx view: dispatch snapshot + own writes (R9.3) */
  ctx: Record<string, unknown>;
  args: Record<string, unknown>;
  steps: StepResults;
  /** rendered step input (R9.8) */
  input?: Record<string, unknown>;
  iter: Record<string, unknown>;
  /** loop iterator name, bound as a bare name (R10.9) */
  iterator?: string;
  /** step-local variables (`step.k`, bare keys of task set) */
  stepLocals: Record<string, unknown>;
  /** data views of tasks with an ended visit in this pipeline run (R13.2 item 2) */
  taskViews: Map<string, unknown>;
  /** rendered input of the current task, while rendering its other fields (R13.2 item 1) */
  taskInput?: Record<string, unknown>;
  output?: unknown;
  prev?: unknown;
  task?: string;
  attempt?: number;
  /** resolved lazily by the worker: keychain.<name>.<field> */
  keychain?: unknown;
}

export function workerScope(input: WorkerScopeInput): Scope {
  return {
    lookup(name: string): unknown {
      switch (name) {
        case 'workload': return input.workload;
        case 'ctx': return input.ctx;
        case 'args': return input.args;
        case 'input': return input.input ?? {};
        case 'iter': return input.iter;
        case 'step': return input.stepLocals;
        case 'steps': return input.steps.records();
        case 'output':
        case 'outcome': return input.output;
        case 'keychain': return input.keychain;
        case '_prev': return input.prev;
        case '_task': return input.task;
        case '_attempt': return input.attempt;
        case 'execution_id': return input.globals.execution_id;
        case 'catalog_id': return input.globals.catalog_id;
        case 'job': return input.globals.job;
        case 'playbook': return input.globals.playbook;
      }
      if (RESERVED_ROOTS.has(name)) return undefined;
      if (input.taskInput && own(input.taskInput, name)) return input.taskInput[name];
      if (input.taskViews.has(name)) return input.taskViews.get(name);
      if (input.iterator !== undefined && name === input.iterator) return input.iter[name];
      if (own(input.stepLocals, name)) return input.stepLocals[name];
      const v = input.steps.view(name);
      if (v !== undefined) return v;
      if (own(input.ctx, name)) return input.ctx[name];
      if (own(input.workload, name)) return input.workload[name];
      return undefined;
    },
  };
}
