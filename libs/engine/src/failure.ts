import type { ErrorObject } from '@noetl/common';
import type { Driver } from './emit';

/**
 * Record an unhandled failure (runtime.md §8.8): the first one moves the execution to `failing`
 * (T8.10: pending tokens discarded, loops halted, and with `on_unhandled: cancel` the
 * cancellation protocol for running work); later ones are appended to `failed_steps` (T8.11).
 */
export function recordUnhandled(d: Driver, error: ErrorObject, phase: 'run' | 'routing' | 'timeout', step?: string, stepRunId?: string | null): void {
  const wasRunning = d.state.status === 'running';
  if (!wasRunning && d.state.status !== 'failing') return;
  d.emit(
    'x.execution.failing',
    {
      error,
      phase,
      ...(step !== undefined ? { step, step_run_id: stepRunId ?? null } : {}),
      discarded_tokens: wasRunning ? d.state.tokens.map((t) => t.id) : [],
    },
    step !== undefined ? { step, ...(stepRunId ? { step_run_id: stepRunId } : {}) } : {},
  );
  if (wasRunning && d.state.failure?.cancel_running) {
    d.controls.push({ type: 'cancel', execution_id: d.exec, reason: 'unhandled_failure' });
  }
}
