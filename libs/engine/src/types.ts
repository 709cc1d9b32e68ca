import type { ErrorObject, ResultRef } from '@noetl/common';
import type { Command, ControlMessage, FailedStepRecord, NoetlEvent, ParentLink, PlaybookIdentity } from '@noetl/events';
import type { Hydrator } from '@noetl/scope';
import type { PMap } from './pmap';

/**
 * Effective limits of one execution (runtime.md §8.10): engine defaults, overridden by the
 * deployment (`EngineEnv.deploymentLimits`), overridden by `executor.spec.policy.limits`.
 * Recorded in `execution.started.limits`, so replay never needs the deployment configuration.
 */
export interface Limits {
  loop_max_in_flight: number;
  max_task_executions: number;
  max_step_runs: number;
  max_loop_items: number;
  max_event_bytes: number;
  ctx_value_inline_max_bytes: number;
  /** scheduler-side hydration bound (default 8 MiB) */
  hydrate_max_bytes: number;
  /** worker-side hydration bound shipped in commands (default 64 MiB) */
  worker_hydrate_max_bytes: number;
  /** deployment default of T7.7 (102,400) */
  inline_max_bytes: number;
  preview_max_bytes: number;
  /** cancel grace (runtime.md §11 step 4), seconds */
  cancel_grace_s: number;
}

/** Inputs the pure engine needs from its shell: time, ids and reads come in, never go out. */
export interface EngineEnv {
  /** log position of the input event (seeds the deterministic ids of T2.3) */
  seq: number;
  /** ISO timestamp used for emitted events and timers */
  now: string;
  producerId: string;
  /** synchronous read of a ResultRef (scheduler templates reading externalized values) */
  hydrate: Hydrator;
  deploymentLimits?: Partial<Limits>;
  /** `env` for workload rendering (dsl §13.2) */
  envAllowList?: Record<string, string>;
  /**
   * Store a ctx value larger than `ctx_value_inline_max_bytes` (T7.20) and return its ResultRef.
   * Synchronous from the engine's point of view; the shell must make the object durable before it
   * persists the event that carries the ref (persist before emit, T7.8). Absent: values stay inline.
   */
  storeValue?: (location: { executionId: string; entity: string }, value: unknown) => ResultRef;
}

/** A timer the shell must arm: when `at` is due, feed `input` (an `x.timer.fired` event) to `processEvent`. */
export interface TimerRequest {
  id: string;
  at: string;
  input: NoetlEvent;
}

/** Read-only for callers: an input that produces nothing returns shared empty outputs. */
export interface ProcessResult {
  state: ExecutionState;
  /** emitted by the scheduler, in order, already folded into `state` */
  events: readonly NoetlEvent[];
  /** to publish after the events are persisted (outbox order, T4.1) */
  commands: readonly Command[];
  controls: readonly ControlMessage[];
  timers: { readonly set: readonly TimerRequest[]; readonly clear: readonly string[] };
}

export type ExecutionStatus = 'new' | 'running' | 'failing' | 'cancelling' | 'completed' | 'failed' | 'cancelled';

/** A token waiting in a step's input place (runtime.md §3.2, §8.4). */
export interface PendingToken {
  id: string;
  target: string;
  args: Record<string, unknown>;
  back_edge: boolean;
  /** `event` of the target's admission (T8.7): `{name: 'execution.started'}` or the boundary object (R11.12) */
  event: Record<string, unknown>;
}

/**
 * Duplicate filter of one command (T10.1): worker event ids are `<command_id>/e<epoch>/<n>` and
 * one delivery publishes sequentially (T9.2), so "seen" = `n <= seen[epoch]`. Bounded by the
 * number of deliveries, dropped with the run/iteration.
 */
export type SeenCounters = Record<string, number>;

export interface IterationState {
  index: number;
  id: string;
  command_id: string;
  started: boolean;
  seen: SeenCounters;
  /** `loop.iteration.scheduled.deadline` (loop.spec.iteration_timeout_s) */
  deadline?: string;
}

export interface LoopState {
  loop_id: string;
  iterator: string;
  mode: 'sequential' | 'parallel' | 'cursor';
  max_in_flight: number;
  failure_mode: 'fail_fast' | 'best_effort';
  total: number;
  /** the frozen collection of `loop.started` */
  items: unknown[];
  next_index: number;
  /** in-flight iterations in dispatch order (at most max_in_flight); completed ones keep only their result (below) */
  in_flight: IterationState[];
  /** iteration results by index, in chunks of RESULT_CHUNK (copy-on-write stays O(chunk)) */
  results: unknown[][];
  succeeded: number;
  failed: number;
  errors: Array<{ index: number; error: ErrorObject }>;
  /** first failure in log order (step.failed error of a fail_fast loop, §10.6) */
  first_error: ErrorObject | null;
  halted: boolean;
  /** every successful iteration so far produced an http result (K2.16 per element) */
  http_results: boolean;
  /** some iteration was scheduled with a deadline (the timers then look at `in_flight`) */
  timed?: boolean;
}

/** A step run that is not terminal yet (terminal runs are dropped: later events for them are ignored). */
export interface RunState {
  id: string;
  step: string;
  run_no: number;
  args: Record<string, unknown>;
  pool: string;
  command_id?: string;
  deadline?: string;
  scheduled_at: string;
  started: boolean;
  seen: SeenCounters;
  /** loop runs after `loop.started` */
  loop?: LoopState;
  is_loop: boolean;
}

/**
 * Per step name: what templates (`<step>`, `steps['x']`, R13.5/R13.6) and the run summary need.
 * Field names follow `StepView` so the record doubles as the view shipped in commands.
 */
export interface StepRecord {
  /** first-reached ordinal (presentation order of the summary) */
  order: number;
  runs: number;
  /** status of the last counted terminal (log order) */
  status?: 'done' | 'failed' | 'cancelled';
  skipped?: boolean;
  step_run_id?: string;
  completed_at?: string;
  error?: ErrorObject | null;
  /**
   * latest successful result R (absent = no successful run yet, or stored by ref). For a loop step
   * whose aggregate left `loop.done` as a Manifest (dsl §10.7) this is the compact aggregate
   * `{results: M, data: M, stats, errors}` (M = the Manifest or its ResultRef, as in the event):
   * readers materialize `results`/`data` on access (@noetl/scope `loopItemsView`).
   */
  data?: unknown;
  ref?: ResultRef | null;
  extracted?: Record<string, unknown>;
  http_result?: boolean;
  /** loop step whose aggregate `results` are http results (K2.16 per element) */
  http_items?: boolean;
  /** true once a run succeeded (data may legitimately be null) */
  has_result?: boolean;
}

export interface FailureState {
  error: ErrorObject;
  phase: 'run' | 'routing' | 'timeout';
  step?: string;
  /** `failure.on_unhandled: cancel` — running work gets the cancellation protocol */
  cancel_running: boolean;
  at: string;
}

export interface CancelState {
  reason: string;
  cascade: boolean;
  requested_by: string;
  at: string;
  /** the execution deadline expired: ends as `execution.failed` (phase timeout), runtime §11 item 6 */
  deadline: boolean;
}

/**
 * The scheduler's state of one execution. Plain JSON (snapshots: `JSON.stringify` / `JSON.parse`
 * round-trips it), no playbook copy (pass the playbook in), treated as immutable: every function
 * returns a new state and never mutates its input.
 */
export interface ExecutionState {
  v: 1;
  execution_id: string;
  root_execution_id: string;
  parent_execution_id?: string;
  parent?: ParentLink;
  status: ExecutionStatus;
  playbook?: PlaybookIdentity;
  entry_step?: string;
  started_at?: string;
  ended_at?: string;
  workload: Record<string, unknown>;
  ctx: Record<string, unknown>;
  /** set once a ctx value is a ResultRef (`value_ref`): scheduler scopes then hydrate on read */
  ctx_has_refs?: boolean;
  limits: Limits;
  /** pending tokens in creation order */
  tokens: PendingToken[];
  /** live (non-terminal) step runs in creation order */
  runs: Record<string, RunState>;
  /** per step name (persistent bucketed map, see pmap.ts) */
  steps: PMap<StepRecord>;
  /** step whose successful run completed last (R16.4) */
  last_success?: string;
  failure?: FailureState;
  failed_steps: FailedStepRecord[];
  cancel?: CancelState;
  /** step runs that ended cancelled while the execution was cancelling/failing */
  cancelled_runs: string[];
  discarded_tokens: string[];
  stats: { step_runs: number; tasks: number; handled_failures: number };
  /** highest scheduler event id `(seq, k)` folded: a scheduler event at or below it is a duplicate */
  mark?: [number, number];
  /** terminal outcome */
  result?: unknown;
  result_ref?: ResultRef;
  final_step?: string | null;
  error?: ErrorObject | null;
}

/** `noetl run --json` document without `events` (the shell appends those from the log). */
export interface RunSummary {
  execution_id: string;
  status: string;
  error: (ErrorObject & { step?: string }) | null;
  ctx: Record<string, unknown>;
  steps: Record<string, { status?: string; runs: number; result: unknown }>;
}

export type { FailedStepRecord };
