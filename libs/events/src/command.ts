import type { Task } from '@noetl/dsl';

/** A compact view of a completed step for templates on the worker (T4.1 `context.steps`). */
export interface StepView {
  status: 'done' | 'failed' | 'cancelled' | 'skipped';
  /** the step result R (dsl R13.3), inline; absent when stored by reference */
  data?: unknown;
  ref?: import('@noetl/common').ResultRef | null;
  extracted?: Record<string, unknown>;
  step_run_id?: string;
  completed_at?: string;
  runs: number;
  error?: import('@noetl/common').ErrorObject | null;
  /** true when the step is a single http task (tools.md K2.16 body fallback applies to its result) */
  http_result?: boolean;
  /** loop step whose iterations are single http tasks: each element of `results`/`data` gets the K2.16 fallback */
  http_items?: boolean;
}

export interface CommandIteration {
  loop_id: string;
  iteration_id: string;
  index: number;
  total: number;
  iterator: string;
  item?: unknown;
  item_ref?: import('@noetl/common').ResultRef;
  first: boolean;
  last: boolean;
}

/**
 * Command schema of runtime.md §4: one unit of work for a worker (a step run or one loop
 * iteration). Published only after the event that creates it is persisted (T4.1). Never carries
 * resolved secrets (T4.2): `keychain.*` templates travel unrendered.
 */
export interface Command {
  v: 1;
  command_id: string;
  type: 'step_run' | 'iteration';
  execution_id: string;
  root_execution_id: string;
  parent_execution_id?: string;
  step: string;
  step_run_id: string;
  iteration: CommandIteration | null;
  playbook: { catalog_id: string; path: string; name: string; version: number | string; digest: string };
  pipeline: Task[];
  base_spec: Record<string, unknown>;
  step_input?: Record<string, unknown>;
  context: {
    globals: Record<string, unknown>;
    workload: Record<string, unknown>;
    ctx: Record<string, unknown>;
    args: Record<string, unknown>;
    steps: Record<string, StepView>;
    parent_iter: Record<string, unknown> | null;
  };
  /** keychain manifest + entry definitions (unresolved templates; values resolved by the worker) */
  keychain: Array<{ name: string; kind: string; scope: string; fields: Record<string, unknown> }>;
  /** workbook is pre-resolved into tasks by the catalog; kept for reference */
  limits: {
    max_task_executions: number;
    inline_max_bytes: number;
    preview_max_bytes: number;
    hydrate_max_bytes: number;
    reference_first: boolean;
    default_timeout_s?: number;
  };
  /** step `output:` result options for the step result (T7.15) */
  step_output?: Record<string, unknown>;
  deadline?: string;
  pool: string;
  issued_at: string;
}

/** Control messages from the scheduler to workers (cancellation, runtime.md §11). */
export interface ControlMessage {
  type: 'cancel';
  execution_id: string;
  /** absent: the whole execution; present: one step run (deadline, T8.13) */
  step_run_id?: string;
  /** with `step_run_id`: only this iteration's command (iteration deadline, T8.13) */
  iteration_id?: string;
  reason: string;
}
