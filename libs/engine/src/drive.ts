import { makeError, type ErrorObject } from '@noetl/common';
import type { NormalizedPlaybook } from '@noetl/dsl';
import { ids, type Command, type EventEnvelope, type NoetlEvent } from '@noetl/events';
import { makeGlobals } from '@noetl/scope';
import { onBoundary } from './boundary';
import { pmapGet } from './pmap';
import { Driver, NO_CONTROLS } from './emit';
import { recordUnhandled } from './failure';
import { beginSession, endSession } from './cow';
import { applyEvent, type Trigger } from './fold';
import { effectiveLimits } from './limits';
import { advanceLoops, onIterationEnd } from './loops';
import { bootstrapScope, EvalFailure, render } from './render';
import { isLive, isTerminal, liveRun, loopStats } from './state';
import { diffTimers, NO_TIMER_CHANGES, timerIds } from './timers';
import { scheduleTokens } from './tokens';
import type { EngineEnv, ExecutionState, ProcessResult } from './types';

/**
 * The scheduler step of T8.1: fold the input event, then drive (§8.9), which emits events (each
 * folded at once), commands, control messages and timer requests. Pure and deterministic:
 * the same (state, playbook, input, env) always gives the same result (T10.5).
 */
export function processEvent(state: ExecutionState, playbook: NormalizedPlaybook, input: NoetlEvent, env: EngineEnv): ProcessResult {
  // begin/end rather than cowSession: no closure per input
  if (!beginSession()) return processInSession(state, playbook, input, env);
  try {
    return processInSession(state, playbook, input, env);
  } finally {
    endSession();
  }
}

/**
 * Most inputs (worker bookkeeping) produce nothing: their results share these empty outputs
 * (ProcessResult's arrays are readonly; callers only read them). Not frozen: a frozen array has
 * another elements kind, which makes V8 allocate an iterator result per step of a caller's for-of.
 */
const NO_EVENTS: readonly NoetlEvent[] = [];
const NO_COMMANDS: readonly Command[] = [];

function nothing(state: ExecutionState): ProcessResult {
  return { state, events: NO_EVENTS, commands: NO_COMMANDS, controls: NO_CONTROLS, timers: NO_TIMER_CHANGES };
}

const BOOKKEEPING: ReadonlySet<string> = new Set(['step.started', 'loop.iteration.started', 'task.done', 'task.failed']);

function processInSession(state: ExecutionState, playbook: NormalizedPlaybook, input: NoetlEvent, env: EngineEnv): ProcessResult {
  const r = applyEvent(state, playbook, input);
  if (!r.applied) return nothing(state);
  // The state before an input is a fixpoint of drive (every earlier input was driven to the end,
  // and recovery re-processes the last input, T8.3). Bookkeeping inputs change only a started
  // flag or a counter, which can neither enable a token, advance a loop, end the execution nor
  // move a timer: driving after them would find nothing to do.
  if (r.triggers.length === 0 && BOOKKEEPING.has(input.event_type)) return nothing(r.state);
  const d = new Driver(r.state, playbook, env, input);
  for (const t of r.triggers) d.queue.push(t);
  drive(d);
  return { state: d.state, events: d.events, commands: d.commands, controls: d.sentControls, timers: diffTimers(state, d.state, playbook) };
}

function drive(d: Driver): void {
  for (let guard = 0; ; guard++) {
    if (guard > 10_000_000) throw new Error('engine: drive did not converge'); // defensive: a bug, never a playbook property
    while (d.queue.length > 0) handle(d, d.queue.shift()!);
    if (isTerminal(d.state)) return;
    let progressed = false;
    if (d.state.status === 'running') progressed = scheduleTokens(d);
    if (d.queue.length > 0) continue;
    if (advanceLoops(d)) progressed = true;
    if (d.queue.length > 0 || progressed) continue;
    if (!isLive(d.state)) {
      finish(d);
      return;
    }
    if (d.state.status === 'running' && d.state.tokens.length > 0 && Object.keys(d.state.runs).length === 0) {
      // T8.12: pending tokens, nothing running, no join enabled — impossible by construction of T8.5
      const targets = [...new Set(d.state.tokens.map((t) => t.target))].join(', ');
      recordUnhandled(d, makeError('internal', 'DEADLOCK', `tokens wait at ${targets} but nothing can enable them`, { source: 'engine' }), 'run');
      continue;
    }
    return;
  }
}

function handle(d: Driver, t: Trigger): void {
  if (isTerminal(d.state)) return;
  switch (t.kind) {
    case 'start':
      return start(d, t.event);
    case 'boundary':
      return onBoundary(d, t.run, t.event);
    case 'iteration':
      return onIterationEnd(d, t.runId, t.index, t.event);
    case 'timer':
      return onTimer(d, t.event);
    case 'lost':
      return onLost(d, t.event);
    case 'cancel':
      d.controls.push({ type: 'cancel', execution_id: d.exec, reason: d.state.cancel?.reason ?? 'cancel' });
      return;
  }
}

/** §8.2: build the workload (R2.16), emit `execution.started` and the entry token. */
function start(d: Driver, ev: EventEnvelope<'execution.requested'>): void {
  const pb = d.playbook;
  const p = ev.payload;
  const req = (p.playbook ?? {}) as { catalog_id?: string; path?: string; version?: number | string };
  const meta = pb.metadata;
  const identity = {
    catalog_id: req.catalog_id ?? (typeof meta.catalog_id === 'string' ? meta.catalog_id : meta.path),
    path: meta.path,
    name: meta.name,
    version: req.version ?? meta.version ?? 1,
    digest: pb.digest,
  };
  const globals = makeGlobals(d.exec, { path: identity.path, name: identity.name, version: identity.version, catalog_id: identity.catalog_id });
  const payload = p.workload ?? {};
  const merged = { ...pb.workload, ...payload };
  let workload: Record<string, unknown>;
  try {
    workload = render(merged, bootstrapScope(globals, merged, payload, d.env.envAllowList ?? {}), d.env.now, 'workload') as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof EvalFailure)) throw e;
    const error: ErrorObject = { ...e.error, details: { ...(e.error.details ?? {}), phase: 'start' } };
    d.emit('execution.failed', { error, phase: 'start', failed_steps: [] });
    return;
  }
  const limits = effectiveLimits(pb, d.env.deploymentLimits);
  const entry = pb.executor.entry_step || 'start';
  d.emit('execution.started', {
    playbook: identity,
    entry_step: entry,
    workload,
    ctx: p.ctx ?? {},
    keychain: pb.keychain.map((k) => ({ name: k.name, kind: k.kind, scope: k.scope })),
    limits: limits as unknown as Record<string, number>,
    ...(p.parent ? { parent: p.parent } : {}),
  });
  const tokenId = d.nextTokenId();
  d.emit('token.created', { token_id: tokenId, target_step: entry, args: {}, origin: { kind: 'entry', event: 'execution.started' }, back_edge: false }, { step: entry });
}

/** T8.13 step and iteration deadlines, R16.5 execution deadline, §11 item 4 cancel grace. */
function onTimer(d: Driver, ev: EventEnvelope<'x.timer.fired'>): void {
  const p = ev.payload;
  const s = d.state;
  if (p.kind === 'step_deadline') {
    const run = liveRun(s, p.step_run_id);
    if (!run?.deadline || p.timer_id !== timerIds.step(run.id)) return;
    const error = makeError('timeout', 'STEP_TIMEOUT', `step '${run.step}' exceeded its deadline (lifecycle.timeout_s)`, { source: 'engine' });
    d.controls.push({ type: 'cancel', execution_id: d.exec, step_run_id: run.id, reason: 'timeout' });
    d.emit('step.failed', { error, ctx_patch: [], reason: 'timeout', ...(run.loop ? { loop: loopStats(run.loop) } : {}) }, { step: run.step, step_run_id: run.id }, ids.timeout(run.id));
    return;
  }
  if (p.kind === 'iteration_deadline') {
    const run = liveRun(s, p.step_run_id);
    const loop = run?.loop;
    const it = loop?.in_flight.find((x) => x.id === p.iteration_id);
    if (!run || !loop || !it?.deadline || p.timer_id !== timerIds.iteration(it.id)) return;
    const error = makeError('timeout', 'ITERATION_TIMEOUT', `iteration ${it.index} of step '${run.step}' exceeded its deadline (loop.spec.iteration_timeout_s)`, { source: 'engine' });
    d.controls.push({ type: 'cancel', execution_id: d.exec, step_run_id: run.id, iteration_id: it.id, reason: 'timeout' });
    d.emit(
      'loop.iteration.failed',
      { iteration_id: it.id, index: it.index, error, ctx_patch: [], reason: 'timeout' },
      { step: run.step, step_run_id: run.id, loop_id: loop.loop_id, iteration_id: it.id, iteration_index: it.index, command_id: it.command_id },
      ids.timeout(it.id),
    );
    return;
  }
  if (p.kind === 'execution_deadline') {
    if ((s.status !== 'running' && s.status !== 'failing') || p.timer_id !== timerIds.execution(d.exec)) return;
    d.emit('execution.cancel_requested', { reason: 'deadline', cascade: true, requested_by: 'scheduler' }, {}, ids.timeout(d.exec));
    return;
  }
  if (p.kind === 'cancel_grace') {
    const graceActive = s.status === 'cancelling' || (s.status === 'failing' && s.failure?.cancel_running === true);
    if (!graceActive || p.timer_id !== timerIds.grace(d.exec)) return;
    for (const id of Object.keys(s.runs)) {
      const run = d.state.runs[id];
      if (run) d.emit('step.cancelled', { reason: 'grace_expired' }, { step: run.step, step_run_id: run.id });
    }
  }
}

/** T8.14: a command exceeded its max deliveries. */
function onLost(d: Driver, ev: EventEnvelope<'x.command.dead_lettered'>): void {
  const p = ev.payload;
  const run = liveRun(d.state, p.step_run_id);
  if (!run) return;
  const error = makeError('worker_lost', 'WORKER_LOST', `command ${p.command_id} exceeded max deliveries (${p.deliveries})`, { source: 'engine' });
  if (p.iteration_id !== undefined) {
    const m = /\/i(\d+)$/.exec(p.iteration_id);
    const index = m ? Number(m[1]) : -1;
    const it = run.loop?.in_flight.find((x) => x.index === index);
    if (!it || it.id !== p.iteration_id) return;
    d.emit(
      'loop.iteration.failed',
      { iteration_id: it.id, index, error, ctx_patch: [], reason: 'worker_lost' },
      { step: run.step, step_run_id: run.id, loop_id: run.loop!.loop_id, iteration_id: it.id, iteration_index: index, command_id: it.command_id },
      ids.lost(it.id),
    );
    return;
  }
  if (run.is_loop) return;
  d.emit('step.failed', { error, ctx_patch: [], reason: 'worker_lost' }, { step: run.step, step_run_id: run.id }, ids.lost(run.id));
}

/** §8.9: nothing is live — emit the terminal event for the current status. */
function finish(d: Driver): void {
  const s = d.state;
  const duration = s.started_at ? Math.max(0, Date.parse(d.env.now) - Date.parse(s.started_at)) : 0;
  if (s.status === 'running') {
    const endRec = pmapGet(s.steps, 'end');
    const finalStep = endRec?.has_result && d.playbook.steps.some((x) => x.name === 'end') ? 'end' : (s.last_success ?? null);
    const rec = finalStep ? pmapGet(s.steps, finalStep) : undefined;
    d.emit('execution.completed', {
      ...(rec?.ref ? { result_ref: rec.ref } : { result: rec?.has_result ? (rec.data ?? null) : null }),
      final_step: finalStep,
      stats: { ...s.stats },
      duration_ms: duration,
    });
    return;
  }
  const failedPayload = (error: ErrorObject, step: string | undefined, phase: 'run' | 'routing' | 'timeout') => ({
    error: { ...error, ...(step !== undefined ? { step } : {}), details: { ...(error.details ?? {}), phase } },
    phase,
    failed_steps: s.failed_steps,
    ...(s.discarded_tokens.length > 0 ? { discarded_tokens: s.discarded_tokens } : {}),
  });
  if (s.status === 'failing' && s.failure) {
    d.emit('execution.failed', failedPayload(s.failure.error, s.failure.step, s.failure.phase));
    return;
  }
  if (s.status === 'cancelling') {
    if (s.cancel?.deadline) {
      const f = s.failure;
      const error = f?.error ?? makeError('timeout', 'EXECUTION_TIMEOUT', 'execution exceeded its deadline (lifecycle.timeout_s)', { source: 'engine' });
      d.emit('execution.failed', failedPayload(error, f?.step, f ? f.phase : 'timeout'));
      return;
    }
    d.emit('execution.cancelled', { reason: s.cancel?.reason ?? 'cancelled', cancelled_step_runs: s.cancelled_runs, discarded_tokens: s.discarded_tokens });
  }
}
