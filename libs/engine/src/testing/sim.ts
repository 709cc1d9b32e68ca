// Test utility: a simulated worker that turns each Command into the worker events of runtime.md
// §6.3 with scripted outcomes, and a harness that feeds them (in a chosen or random interleaving)
// through processEvent while keeping the whole log. Not part of the public API.
import { isPlainObject, makeError, type ErrorObject } from '@noetl/common';
import type { NormalizedPlaybook } from '@noetl/dsl';
import { ids, type Command, type ControlMessage, type CtxPatchEntry, type NoetlEvent } from '@noetl/events';
import { StepResults, workerScope } from '@noetl/scope';
import { renderValue } from '@noetl/template';
import { processEvent } from '../drive';
import { createExecutionState, isTerminal } from '../state';
import type { EngineEnv, ExecutionState, ProcessResult, TimerRequest } from '../types';

export interface StepOutcome {
  ok: boolean;
  result?: unknown;
  error?: ErrorObject;
  ctx_patch?: CtxPatchEntry[];
  http?: boolean;
  partial_result?: unknown;
}

export type Script = (cmd: Command, render: (v: unknown) => unknown) => StepOutcome | undefined;

export const hydrateNone = (): never => {
  throw new Error('no result store in tests');
};

/** iter mapping a worker binds for an iteration command (R10.8). */
export function iterOf(cmd: Command): Record<string, unknown> {
  const it = cmd.iteration;
  if (!it) return {};
  return { [it.iterator]: it.item, index: it.index, _index: it.index, total: it.total, _total: it.total, first: it.first, _first: it.first, last: it.last, _last: it.last };
}

/** Render a value the way a worker renders task fields (enough for noop `result` fields in tests). */
export function workerRender(cmd: Command, v: unknown, ctxOverride?: Record<string, unknown>): unknown {
  const c = cmd.context;
  const scope = workerScope({
    globals: c.globals as never,
    workload: c.workload,
    ctx: ctxOverride ?? c.ctx,
    args: c.args,
    steps: new StepResults(c.steps, hydrateNone),
    iter: iterOf(cmd),
    iterator: cmd.iteration?.iterator,
    stepLocals: {},
    taskViews: new Map(),
  });
  return renderValue(v, scope);
}

/** Default behaviour: every task is a noop; the step result is the last task's `result` (or the K2.15 default). */
export const noopScript: Script = (cmd, render) => {
  const task = cmd.pipeline[cmd.pipeline.length - 1];
  const f = task.fields ?? {};
  const result = f.result !== undefined ? render(f.result) : { status: 'ok', message: f.message ?? 'noop' };
  return { ok: true, result };
};

export const fail = (kind: Parameters<typeof makeError>[0] = 'server_error', code = 'HTTP_503'): StepOutcome => ({ ok: false, error: makeError(kind, code, `${kind} ${code}`) });

/** The worker events of one delivery of a command (§6.3, §9.1), ids `<command_id>/e<epoch>/<n>`. */
export function workerEvents(cmd: Command, out: StepOutcome, opts: { epoch?: number; workerId?: string; ts: string }): NoetlEvent[] {
  const epoch = opts.epoch ?? 1;
  let n = 0;
  const base = {
    v: 1 as const,
    ts: opts.ts,
    execution_id: cmd.execution_id,
    root_execution_id: cmd.root_execution_id,
    source: 'worker' as const,
    producer_id: opts.workerId ?? 'w1',
    step: cmd.step,
    step_run_id: cmd.step_run_id,
    command_id: cmd.command_id,
    lease_epoch: epoch,
    ...(cmd.iteration ? { loop_id: cmd.iteration.loop_id, iteration_id: cmd.iteration.iteration_id, iteration_index: cmd.iteration.index } : {}),
  };
  const ev = (event_type: string, status: string, payload: unknown, extra: Record<string, unknown> = {}) =>
    ({ ...base, ...extra, event_id: ids.workerEvent(cmd.command_id, epoch, ++n), event_type, status, payload }) as unknown as NoetlEvent;
  const events: NoetlEvent[] = [];
  const it = cmd.iteration;
  events.push(
    it
      ? ev('loop.iteration.started', 'in_progress', { iteration_id: it.iteration_id, index: it.index, command_id: cmd.command_id, lease_epoch: epoch, worker_id: 'w1' })
      : ev('step.started', 'in_progress', { command_id: cmd.command_id, lease_epoch: epoch, worker_id: 'w1' }),
  );
  const tasks = cmd.pipeline;
  tasks.forEach((t, i) => {
    const last = i === tasks.length - 1;
    const okTask = out.ok || !last;
    const trid = ids.taskRun(cmd.command_id, epoch, i, 1);
    const tf = { task: t.name, task_index: i, task_run_id: trid, visit: 1 };
    events.push(ev('task.started', 'in_progress', { task_run_id: trid, task: t.name, task_index: i, kind: t.kind, visit: 1 }, tf));
    const outcome = { status: okTask ? 'ok' : 'error', data: okTask ? (last ? out.result : null) : null, error: okTask ? null : out.error, ref: null, meta: { task: t.name, kind: t.kind, attempt: 1, started_at: opts.ts, finished_at: opts.ts, duration_ms: 0, worker_id: 'w1' } };
    const decision = { source: 'default', rule_index: null, do: okTask ? 'continue' : 'fail', set_keys: [] };
    events.push(ev(okTask ? 'task.attempt.done' : 'task.attempt.failed', okTask ? 'ok' : 'error', { task_run_id: trid, attempt: 1, outcome, decision }, { ...tf, attempt: 1 }));
    events.push(ev(okTask ? 'task.done' : 'task.failed', okTask ? 'ok' : 'error', { task_run_id: trid, attempts: 1, final_attempt_event_id: 'x', directive: okTask ? 'continue' : 'fail' }, tf));
  });
  const ctx_patch = out.ctx_patch ?? [];
  if (it) {
    events.push(
      out.ok
        ? ev('loop.iteration.done', 'ok', { iteration_id: it.iteration_id, index: it.index, result: out.result ?? null, ctx_patch, terminated_by: 'end', ...(out.http ? { http_result: true } : {}) })
        : ev('loop.iteration.failed', 'error', { iteration_id: it.iteration_id, index: it.index, error: out.error, ctx_patch, reason: 'pipeline' }),
    );
  } else {
    events.push(
      out.ok
        ? ev('step.done', 'ok', { result: out.result ?? null, ctx_patch, terminated_by: 'end', task_visits: tasks.length, duration_ms: 0, ...(out.http ? { http_result: true } : {}) })
        : ev('step.failed', 'error', { error: out.error, ctx_patch, reason: 'pipeline', failed_task: tasks[tasks.length - 1].name, partial_result: out.partial_result ?? null }),
    );
  }
  return events;
}

export function cancelledEvent(cmd: Command, epoch: number, n: number, ts: string): NoetlEvent {
  const it = cmd.iteration;
  return {
    v: 1,
    ts,
    execution_id: cmd.execution_id,
    root_execution_id: cmd.root_execution_id,
    source: 'worker',
    producer_id: 'w1',
    step: cmd.step,
    step_run_id: cmd.step_run_id,
    command_id: cmd.command_id,
    lease_epoch: epoch,
    ...(it ? { loop_id: it.loop_id, iteration_id: it.iteration_id, iteration_index: it.index } : {}),
    event_id: ids.workerEvent(cmd.command_id, epoch, n),
    event_type: it ? 'loop.iteration.cancelled' : 'step.cancelled',
    status: 'cancelled',
    payload: it ? { iteration_id: it.iteration_id, index: it.index, reason: 'cancelled' } : { reason: 'cancelled' },
  } as unknown as NoetlEvent;
}

export interface Stream {
  cmd: Command;
  events: NoetlEvent[];
  pos: number;
}

export interface SimOptions {
  script?: Script;
  /** random source in [0,1) for interleavings; default: FIFO, one command at a time */
  random?: () => number;
  payload?: Record<string, unknown>;
  ctx?: Record<string, unknown>;
  env?: Partial<EngineEnv>;
  executionId?: string;
  /** max worker events before giving up (non-termination guard) */
  maxSteps?: number;
  /** the simulated worker ignores control messages (to exercise the cancel grace) */
  ignoreControls?: boolean;
  /**
   * Chaos (uses `random`): with probability `redeliver` a command is delivered a second time
   * (epoch 2, outcome from `script` called again) and both deliveries race; with probability
   * `duplicate` an already delivered worker event is delivered again.
   */
  chaos?: { redeliver: number; duplicate: number };
  /** keep (state before, input, env) of every fed event, for determinism checks */
  trace?: boolean;
  /**
   * Deep-freeze every state before it is handed to processEvent: a write to any object the input
   * state holds then throws (strict mode), which checks the copy-on-write discipline (cow.ts).
   */
  freezeInputs?: boolean;
}

function deepFreeze(v: unknown): void {
  if (v === null || typeof v !== 'object' || Object.isFrozen(v)) return;
  Object.freeze(v);
  for (const x of Object.values(v as Record<string, unknown>)) deepFreeze(x);
}

/** Runs one execution against the simulated worker, keeping the full log with sequence numbers. */
export class Sim {
  readonly log: Array<NoetlEvent & { seq: number }> = [];
  readonly controls: ControlMessage[] = [];
  readonly timers = new Map<string, TimerRequest>();
  readonly streams: Stream[] = [];
  readonly commands: Command[] = [];
  readonly results: ProcessResult[] = [];
  readonly trace: Array<{ before: ExecutionState; input: NoetlEvent; env: EngineEnv; result: ProcessResult }> = [];
  private delivered: NoetlEvent[] = [];
  state: ExecutionState;
  readonly exec: string;
  private clock = Date.parse('2026-01-01T00:00:00.000Z');

  constructor(readonly playbook: NormalizedPlaybook, readonly opts: SimOptions = {}) {
    this.exec = opts.executionId ?? '01JTESTEXEC0000000000000000';
    this.state = createExecutionState(this.exec);
  }

  now(): string {
    return new Date(this.clock).toISOString();
  }

  advance(ms: number): void {
    this.clock += ms;
  }

  env(seq: number): EngineEnv {
    return { seq, now: this.now(), producerId: 'sched-1', hydrate: hydrateNone, ...(this.opts.env ?? {}) };
  }

  /** Append an input event to the log and process it. */
  feed(ev: NoetlEvent): ProcessResult {
    this.clock += 1;
    const seq = this.log.length + 1;
    this.log.push({ ...ev, seq });
    const env = this.env(seq);
    const before = this.state;
    if (this.opts.freezeInputs) deepFreeze(before);
    const res = processEvent(this.state, this.playbook, ev, env);
    if (this.opts.trace) this.trace.push({ before, input: ev, env, result: res });
    this.results.push(res);
    this.state = res.state;
    for (const e of res.events) this.log.push({ ...e, seq: this.log.length + 1 });
    for (const c of res.commands) {
      this.commands.push(c);
      this.streams.push({ cmd: c, events: this.outcomeEvents(c), pos: 0 });
      const rnd = this.opts.random;
      if (this.opts.chaos && rnd && rnd() < this.opts.chaos.redeliver) this.streams.push({ cmd: c, events: this.outcomeEvents(c, 2), pos: 0 });
    }
    for (const c of res.controls) this.onControl(c);
    for (const id of res.timers.clear) this.timers.delete(id);
    for (const t of res.timers.set) this.timers.set(t.id, t);
    return res;
  }

  requestEvent(): NoetlEvent {
    return {
      v: 1,
      event_id: `${this.exec}/api/REQ`,
      event_type: 'execution.requested',
      ts: this.now(),
      execution_id: this.exec,
      root_execution_id: this.exec,
      source: 'api',
      producer_id: 'api',
      status: 'in_progress',
      payload: { playbook: { path: this.playbook.metadata.path }, workload: this.opts.payload ?? {}, ctx: this.opts.ctx ?? {}, requested_by: 'test' },
    } as NoetlEvent;
  }

  start(): ProcessResult {
    return this.feed(this.requestEvent());
  }

  cancel(reason = 'user'): ProcessResult {
    return this.feed({
      v: 1, event_id: `${this.exec}/api/CANCEL${this.log.length}`, event_type: 'execution.cancel_requested', ts: this.now(), execution_id: this.exec,
      root_execution_id: this.exec, source: 'api', producer_id: 'api', status: 'in_progress', payload: { reason, cascade: true, requested_by: 'test' },
    } as NoetlEvent);
  }

  private outcomeEvents(cmd: Command, epoch = 1): NoetlEvent[] {
    const render = (v: unknown) => workerRender(cmd, v);
    const out = (this.opts.script ?? noopScript)(cmd, render) ?? noopScript(cmd, render)!;
    return workerEvents(cmd, out, { ts: this.now(), epoch });
  }

  private onControl(c: ControlMessage): void {
    this.controls.push(c);
    if (this.opts.ignoreControls) return;
    // the simulated worker honours cancellation: remaining events of affected commands become a cancel
    for (const s of this.streams) {
      if (s.pos >= s.events.length) continue;
      if (c.step_run_id !== undefined && s.cmd.step_run_id !== c.step_run_id) continue;
      if (c.iteration_id !== undefined && s.cmd.iteration?.iteration_id !== c.iteration_id) continue;
      if (c.step_run_id !== undefined) {
        s.events = s.events.slice(0, s.pos); // deadline: the run was already failed by the scheduler
        continue;
      }
      const epoch = (s.events[0] as { lease_epoch?: number }).lease_epoch ?? 1;
      s.events = [...s.events.slice(0, s.pos), cancelledEvent(s.cmd, epoch, s.pos + 1, this.now())];
    }
  }

  live(): Stream[] {
    return this.streams.filter((s) => s.pos < s.events.length);
  }

  /** Deliver one worker event of a live stream (random stream if a random source is given). */
  step(): boolean {
    const live = this.live();
    if (live.length === 0) return false;
    const rnd = this.opts.random;
    if (this.opts.chaos && rnd && this.delivered.length > 0 && rnd() < this.opts.chaos.duplicate) {
      this.feed(this.delivered[Math.floor(rnd() * this.delivered.length)]);
    }
    const s = rnd ? live[Math.floor(rnd() * live.length)] : live[0];
    const ev = { ...s.events[s.pos++], ts: this.now() } as NoetlEvent;
    if (this.opts.chaos) this.delivered.push(ev);
    this.feed(ev);
    return true;
  }

  /** Run until the execution is terminal or no work is left. */
  run(): ExecutionState {
    if (this.state.status === 'new') this.start();
    let n = 0;
    const max = this.opts.maxSteps ?? 200_000;
    while (!isTerminal(this.state) && this.step()) {
      if (++n > max) throw new Error('sim: too many steps');
    }
    return this.state;
  }

  /** Fire the earliest pending timer (as the shell would when it is due). */
  fireNextTimer(): ProcessResult | undefined {
    const next = [...this.timers.values()].sort((a, b) => a.at.localeCompare(b.at))[0];
    if (!next) return undefined;
    this.timers.delete(next.id);
    this.clock = Math.max(this.clock, Date.parse(next.at));
    return this.feed(next.input);
  }

  events(type?: string, step?: string): Array<NoetlEvent & { seq: number }> {
    return this.log.filter((e) => (type === undefined || e.event_type === type) && (step === undefined || e.step === step));
  }

  count(type: string, step?: string): number {
    return this.events(type, step).length;
  }
}

export function plain(v: unknown): unknown {
  return isPlainObject(v) || Array.isArray(v) ? JSON.parse(JSON.stringify(v)) : v;
}
