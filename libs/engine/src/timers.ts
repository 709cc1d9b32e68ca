import type { NormalizedPlaybook } from '@noetl/dsl';
import type { EventPayloads, NoetlEvent } from '@noetl/events';
import { isTerminal } from './state';
import type { ExecutionState, TimerRequest } from './types';

/** Timer ids: `<step_run_id>/deadline`, `<iteration_id>/deadline`, `<execution_id>/deadline`, `<execution_id>/grace`. */
export const timerIds = {
  step: (stepRunId: string) => `${stepRunId}/deadline`,
  iteration: (iterationId: string) => `${iterationId}/deadline`,
  execution: (executionId: string) => `${executionId}/deadline`,
  grace: (executionId: string) => `${executionId}/grace`,
};

function timer(state: ExecutionState, id: string, at: string, payload: EventPayloads['x.timer.fired']): TimerRequest {
  const input = {
    v: 1,
    event_id: `${id}/fired`,
    event_type: 'x.timer.fired',
    ts: at,
    execution_id: state.execution_id,
    root_execution_id: state.root_execution_id,
    ...(state.parent_execution_id ? { parent_execution_id: state.parent_execution_id } : {}),
    source: 'scheduler',
    producer_id: 'timer',
    ...(payload.step_run_id ? { step_run_id: payload.step_run_id } : {}),
    status: 'ok',
    payload,
  } as NoetlEvent;
  return { id, at, input };
}

const plusSeconds = (iso: string, s: number): string => new Date(Date.parse(iso) + s * 1000).toISOString();

/**
 * Timers the state needs armed right now (derivable from the state alone, so a recovering shell
 * can re-arm them after `replay`): step deadlines of live runs (T8.13), the execution deadline
 * (R16.5) and the cancel grace (§11 item 4; also for `on_unhandled: cancel`).
 */
export function activeTimers(state: ExecutionState, playbook: NormalizedPlaybook): TimerRequest[] {
  const out: TimerRequest[] = [];
  if (isTerminal(state) || state.status === 'new') return out;
  for (const run of Object.values(state.runs)) {
    if (run.deadline) out.push(timer(state, timerIds.step(run.id), run.deadline, { timer_id: timerIds.step(run.id), kind: 'step_deadline', step_run_id: run.id }));
    if (run.loop?.timed) {
      for (const it of run.loop.in_flight) {
        if (!it.deadline) continue;
        const id = timerIds.iteration(it.id);
        out.push(timer(state, id, it.deadline, { timer_id: id, kind: 'iteration_deadline', step_run_id: run.id, iteration_id: it.id }));
      }
    }
  }
  const ttl = playbook.executor.policy.lifecycle?.timeout_s;
  if ((state.status === 'running' || state.status === 'failing') && typeof ttl === 'number' && ttl > 0 && state.started_at) {
    const id = timerIds.execution(state.execution_id);
    out.push(timer(state, id, plusSeconds(state.started_at, ttl), { timer_id: id, kind: 'execution_deadline' }));
  }
  const graceFrom = state.status === 'cancelling' ? state.cancel?.at : state.status === 'failing' && state.failure?.cancel_running ? state.failure.at : undefined;
  if (graceFrom) {
    const id = timerIds.grace(state.execution_id);
    out.push(timer(state, id, plusSeconds(graceFrom, state.limits.cancel_grace_s), { timer_id: id, kind: 'cancel_grace' }));
  }
  return out;
}

/** What the armed timers depend on: status (+ cancel/failure record), start time, live runs and in-flight iterations with deadlines. */
function signature(state: ExecutionState): string {
  let sig = `${state.status}|${state.started_at ?? ''}|${state.cancel?.at ?? ''}|${state.failure?.cancel_running ? state.failure.at : ''}`;
  for (const id in state.runs) {
    const run = state.runs[id];
    if (run.deadline) sig += `|${id}`;
    if (run.loop?.timed) for (const it of run.loop.in_flight) if (it.deadline) sig += `|${it.id}`;
  }
  return sig;
}

function anyDeadline(state: ExecutionState): boolean {
  for (const id in state.runs) if (state.runs[id].deadline || state.runs[id].loop?.timed) return true;
  return false;
}

/** No timer change (shared: callers only read the result, ProcessResult's timers are readonly). */
export const NO_TIMER_CHANGES: { readonly set: readonly TimerRequest[]; readonly clear: readonly string[] } = { set: [], clear: [] };

/** Timers to set (new in `after`) and to clear (gone since `before`). */
export function diffTimers(before: ExecutionState, after: ExecutionState, playbook: NormalizedPlaybook): { readonly set: readonly TimerRequest[]; readonly clear: readonly string[] } {
  if (before.runs === after.runs && before.status === after.status) return NO_TIMER_CHANGES;
  // the common case (same status, no run with a deadline on either side) without building signatures
  if (before.status === after.status && before.started_at === after.started_at && before.cancel === after.cancel && before.failure === after.failure &&
    !anyDeadline(before) && !anyDeadline(after)) return NO_TIMER_CHANGES;
  if (signature(before) === signature(after)) return NO_TIMER_CHANGES;
  const a = activeTimers(before, playbook);
  const b = activeTimers(after, playbook);
  const had = new Map(a.map((t) => [t.id, t.at]));
  const has = new Set(b.map((t) => t.id));
  return {
    set: b.filter((t) => had.get(t.id) !== t.at),
    clear: a.filter((t) => !has.has(t.id)).map((t) => t.id),
  };
}
