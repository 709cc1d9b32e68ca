import type { ErrorObject, ResultRef, Manifest } from '@noetl/common';
import type { Outcome } from './outcome';

/** Loop statistics object of dsl R11.12 (one object under five names). */
export interface LoopStats {
  total: number;
  succeeded: number;
  failed: number;
  dispatched?: number;
}

/** ctx patch op as recorded by workers in terminal events (runtime.md §6.2). */
export interface CtxPatchEntry {
  path: string[];
  value?: unknown;
  value_ref?: ResultRef;
  task?: string;
  attempt?: number;
}

export interface CtxPatchOp {
  op: 'set';
  path: string[];
  value?: unknown;
  value_ref?: ResultRef;
}

export interface PlaybookIdentity {
  catalog_id: string;
  path: string;
  name: string;
  version: number | string;
  digest: string;
}

export interface ParentLink {
  execution_id: string;
  step_run_id: string;
  task_run_id: string;
  iter: Record<string, unknown> | null;
  root_execution_id?: string;
}

export interface FailedStepRecord {
  step: string;
  step_run_id: string | null;
  error: ErrorObject;
}

/** Decision recorded with each attempt (runtime.md §6.2). */
export interface AttemptDecision {
  source: 'rule' | 'else' | 'default';
  rule_index: number | null;
  do: 'continue' | 'retry' | 'jump' | 'break' | 'fail';
  to?: string;
  attempts?: number;
  delay_ms?: number;
  set_keys: string[];
}

/** event_type -> payload. The single source of truth for the catalog of runtime.md §6. */
export interface EventPayloads {
  'execution.requested': {
    playbook: { path: string; version?: number | string } | { catalog_id: string };
    workload: Record<string, unknown>;
    ctx: Record<string, unknown>;
    parent?: ParentLink;
    request_id?: string;
    labels?: Record<string, string>;
    requested_by: string;
  };
  'execution.started': {
    playbook: PlaybookIdentity;
    entry_step: string;
    workload?: Record<string, unknown>;
    workload_ref?: ResultRef;
    ctx: Record<string, unknown>;
    keychain: Array<{ name: string; kind: string; scope: string }>;
    limits: Record<string, number>;
    parent?: ParentLink;
  };
  'execution.completed': {
    result?: unknown;
    result_ref?: ResultRef;
    final_step: string | null;
    stats: { step_runs: number; tasks: number; handled_failures: number };
    duration_ms: number;
  };
  'execution.failed': {
    error: ErrorObject;
    phase: 'start' | 'run' | 'routing' | 'timeout';
    failed_steps: FailedStepRecord[];
    unfinished?: string[];
    discarded_tokens?: string[];
  };
  'execution.cancel_requested': {
    reason: string;
    cascade: boolean;
    requested_by: string;
    origin_execution_id?: string;
  };
  'execution.cancelled': { reason: string; cancelled_step_runs: string[]; discarded_tokens: string[] };
  'ctx.patched': {
    origin: 'task' | 'step_set' | 'arc_set' | 'iteration';
    step_run_id?: string;
    iteration_index?: number;
    arc_index?: number;
    ops: CtxPatchOp[];
  };
  'token.created': {
    token_id: string;
    target_step: string;
    args: Record<string, unknown>;
    origin: {
      kind: 'entry' | 'arc';
      event: string;
      source_step?: string;
      source_step_run_id?: string;
      arc_indices?: number[];
      /** the boundary event object of dsl R11.12 (`event` in the target's admission templates, T8.7) */
      boundary?: Record<string, unknown>;
    };
    back_edge: boolean;
  };
  'step.scheduled': {
    step_run_id: string;
    step: string;
    run_no: number;
    token_ids: string[];
    args: Record<string, unknown>;
    admission: { evaluated: boolean; rule_index: number | null };
    loop: boolean;
    command_id?: string;
    pool: string;
    deadline?: string;
  };
  'step.skipped': { step: string; token_ids: string[]; reason: 'admission_denied'; rule_index: number | null };
  'step.started': { command_id: string; lease_epoch: number; worker_id: string; pipeline_digest?: string };
  'step.done': {
    result?: unknown;
    result_ref?: ResultRef;
    extracted?: Record<string, unknown>;
    preview?: ResultRef['preview'];
    ctx_patch: CtxPatchEntry[];
    terminated_by: 'end' | 'break';
    task_visits: number;
    duration_ms: number;
    /** true when the step is a single http task (K2.16 body fallback applies to its result) */
    http_result?: boolean;
  };
  'step.failed': {
    error: ErrorObject;
    failed_task?: string;
    partial_result?: unknown;
    partial_result_ref?: ResultRef;
    ctx_patch: CtxPatchEntry[];
    loop?: LoopStats;
    reason: 'pipeline' | 'timeout' | 'worker_lost' | 'loop_failed' | 'loop_source';
    http_result?: boolean;
  };
  'step.cancelled': { reason: string; at_task?: string };
  'next.evaluated': {
    step_run_id: string;
    boundary: 'step.done' | 'loop.done' | 'step.failed';
    mode: 'exclusive' | 'inclusive';
    arcs: Array<{ index: number; target: string; failure_aware: boolean; matched: boolean }>;
    fired: number[];
    tokens: string[];
    no_match: boolean;
    on_no_match: 'complete' | 'quiet' | 'fail';
    unhandled_failure?: boolean;
    error?: ErrorObject;
  };
  'loop.started': {
    step_run_id: string;
    loop_id: string;
    iterator: string;
    mode: 'sequential' | 'parallel' | 'cursor';
    max_in_flight: number;
    failure_mode: 'fail_fast' | 'best_effort';
    total: number;
    items?: unknown[];
    items_ref?: ResultRef;
  };
  /** `deadline`: the iteration's deadline (`loop.spec.iteration_timeout_s`, T8.13 MAY), absent without one */
  'loop.iteration.scheduled': { loop_id: string; iteration_id: string; index: number; command_id: string; deadline?: string };
  'loop.iteration.started': { iteration_id: string; index: number; command_id: string; lease_epoch: number; worker_id: string };
  'loop.iteration.done': {
    iteration_id: string;
    index: number;
    result?: unknown;
    result_ref?: ResultRef;
    ctx_patch: CtxPatchEntry[];
    terminated_by: 'end' | 'break';
    iter_final?: Record<string, unknown>;
    http_result?: boolean;
  };
  'loop.iteration.failed': {
    iteration_id: string;
    index: number;
    error: ErrorObject;
    failed_task?: string;
    ctx_patch: CtxPatchEntry[];
    reason: 'pipeline' | 'timeout' | 'worker_lost';
    partial_result?: unknown;
    /** the failed iteration's R when it was externalized (worker-runtime; additive) */
    partial_result_ref?: ResultRef;
  };
  'loop.iteration.cancelled': { iteration_id: string; index: number; reason: string };
  'loop.done': {
    step_run_id: string;
    loop_id: string;
    stats: LoopStats;
    /** the loop aggregate `{results, data, stats, errors}` (dsl R10.14), when it travels inline */
    result?: unknown;
    /**
     * instead of `result` for a large aggregate (dsl §10.7): the `append` Manifest of the iteration
     * results in index order (runtime.md §7.5), inline or its ResultRef when stored (T7.13)
     */
    manifest_ref?: ResultRef | Manifest;
    /**
     * with `manifest_ref`: the aggregate's `errors` (one entry per failed iteration, index order),
     * or — when that list alone is over the step's `inline_max_bytes` — the ResultRef of the stored list
     */
    errors?: Array<{ index: number; error: ErrorObject }> | ResultRef;
    /** true when every iteration's result is an http result (tools K2.16 fallback applies per element of `results`) */
    http_results?: boolean;
  };
  'task.started': { task_run_id: string; task: string; task_index: number; kind: string; visit: number };
  'task.attempt.done': { task_run_id: string; attempt: number; outcome: Outcome; rendered_input?: unknown; decision: AttemptDecision };
  'task.attempt.failed': { task_run_id: string; attempt: number; outcome: Outcome; rendered_input?: unknown; decision: AttemptDecision };
  'task.done': {
    task_run_id: string;
    attempts: number;
    final_attempt_event_id: string;
    directive: 'continue' | 'jump' | 'break' | 'fail';
    jump_to?: string;
    retry_exhausted?: boolean;
  };
  'task.failed': {
    task_run_id: string;
    attempts: number;
    final_attempt_event_id: string;
    directive: 'continue' | 'jump' | 'break' | 'fail';
    jump_to?: string;
    retry_exhausted?: boolean;
  };
  'task.cancelled': { task_run_id: string; attempt: number };
  'result.stored': {
    ref: ResultRef | Manifest;
    for: { task_run_id?: string; attempt?: number; step_run_id?: string; iteration_id?: string };
  };
  /** scheduler timer input (deadline expiry); an `x.` extension event per T6.1 */
  'x.timer.fired': { timer_id: string; kind: 'step_deadline' | 'iteration_deadline' | 'execution_deadline' | 'cancel_grace'; step_run_id?: string; iteration_id?: string };
  /**
   * scheduler input (T8.14): the command stream reports that a command exceeded its max
   * deliveries (JetStream advisory). The scheduler answers with step.failed / loop.iteration.failed
   * `reason: worker_lost`.
   */
  'x.command.dead_lettered': { command_id: string; step_run_id: string; iteration_id?: string; deliveries: number };
  /**
   * scheduler decision: an unhandled failure (runtime.md §8.8, T8.10/T8.11). The first one moves the
   * execution from `running` to `failing` (pending tokens in `discarded_tokens` are discarded, loops
   * halted); later ones append to `failed_steps`. `step`/`step_run_id` absent for failures that
   * belong to no step (DEADLOCK).
   */
  'x.execution.failing': {
    error: ErrorObject;
    phase: 'run' | 'routing' | 'timeout';
    step?: string;
    step_run_id?: string | null;
    discarded_tokens: string[];
  };
}

export type EventType = keyof EventPayloads;
export const EVENT_TYPES = [
  'execution.requested', 'execution.started', 'execution.completed', 'execution.failed',
  'execution.cancel_requested', 'execution.cancelled', 'ctx.patched', 'token.created',
  'step.scheduled', 'step.skipped', 'step.started', 'step.done', 'step.failed', 'step.cancelled',
  'next.evaluated', 'loop.started', 'loop.iteration.scheduled', 'loop.iteration.started',
  'loop.iteration.done', 'loop.iteration.failed', 'loop.iteration.cancelled', 'loop.done',
  'task.started', 'task.attempt.done', 'task.attempt.failed', 'task.done', 'task.failed',
  'task.cancelled', 'result.stored', 'x.timer.fired', 'x.command.dead_lettered', 'x.execution.failing',
] as const satisfies readonly EventType[];

export type EventStatus = 'in_progress' | 'ok' | 'error' | 'skipped' | 'cancelled';
export type EventSource = 'api' | 'scheduler' | 'worker';

/** The event envelope of runtime.md §5. */
export interface EventEnvelope<T extends EventType = EventType> {
  v: 1;
  event_id: string;
  event_type: T;
  ts: string;
  execution_id: string;
  root_execution_id: string;
  parent_execution_id?: string;
  source: EventSource;
  producer_id: string;
  step?: string;
  step_run_id?: string;
  loop_id?: string;
  iteration_id?: string;
  iteration_index?: number;
  command_id?: string;
  lease_epoch?: number;
  task?: string;
  task_index?: number;
  task_run_id?: string;
  visit?: number;
  attempt?: number;
  causation_id?: string;
  trace?: { trace_id: string; span_id: string };
  status: EventStatus;
  payload: EventPayloads[T];
}

/** Discriminated union of every catalogued event: narrow with `switch (e.event_type)`. */
export type NoetlEvent = { [T in EventType]: EventEnvelope<T> }[EventType];

/** An event with its position in the execution's log (JetStream stream sequence, or the embedded log index). */
export type LoggedEvent = NoetlEvent & { seq: number };
