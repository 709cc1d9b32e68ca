import { NoetlError } from '@noetl/common';
import { EVENT_TYPES, type NoetlEvent } from './catalog';

const KNOWN = new Set<string>(EVENT_TYPES);
const STATUSES = new Set(['in_progress', 'ok', 'error', 'skipped', 'cancelled']);
const SOURCES = new Set(['api', 'scheduler', 'worker']);

export class EventValidationError extends NoetlError {
  constructor(message: string, context: Record<string, unknown> = {}) {
    super('E_EVENT_INVALID', message, context);
  }
}

/** Payload fields that must be present per event type (the rest of §6.2 is optional or defaulted). */
const REQUIRED_PAYLOAD: Partial<Record<string, string[]>> = {
  'execution.started': ['playbook', 'entry_step', 'ctx'],
  'execution.failed': ['error', 'phase', 'failed_steps'],
  'ctx.patched': ['origin', 'ops'],
  'token.created': ['token_id', 'target_step', 'args', 'origin'],
  'step.scheduled': ['step_run_id', 'step', 'run_no', 'token_ids', 'args', 'loop'],
  'step.skipped': ['step', 'token_ids', 'reason'],
  'step.started': ['command_id', 'lease_epoch', 'worker_id'],
  'step.done': ['ctx_patch', 'terminated_by'],
  'step.failed': ['error', 'reason'],
  'next.evaluated': ['step_run_id', 'boundary', 'fired', 'tokens'],
  'loop.started': ['step_run_id', 'loop_id', 'total'],
  'loop.iteration.scheduled': ['loop_id', 'iteration_id', 'index', 'command_id'],
  'loop.iteration.done': ['iteration_id', 'index', 'ctx_patch'],
  'loop.iteration.failed': ['iteration_id', 'index', 'error'],
  'loop.done': ['step_run_id', 'loop_id', 'stats'],
  'task.started': ['task_run_id', 'task', 'task_index', 'kind', 'visit'],
  'task.attempt.done': ['task_run_id', 'attempt', 'outcome', 'decision'],
  'task.attempt.failed': ['task_run_id', 'attempt', 'outcome', 'decision'],
  'task.done': ['task_run_id', 'attempts', 'directive'],
  'task.failed': ['task_run_id', 'attempts', 'directive'],
};

/**
 * Validate bytes-turned-object at a boundary (STYLE.md rule 8). Returns the typed event, or
 * `null` for a well-formed event of an unknown type (consumers ignore those, T6.1). Throws
 * `EventValidationError` for malformed input.
 */
export function parseEvent(input: unknown): NoetlEvent | null {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new EventValidationError('event is not an object');
  const e = input as Record<string, unknown>;
  for (const f of ['event_id', 'event_type', 'ts', 'execution_id', 'root_execution_id', 'producer_id']) {
    if (typeof e[f] !== 'string' || (e[f] as string).length === 0) throw new EventValidationError(`event field '${f}' must be a non-empty string`, { event_id: e.event_id });
  }
  if (e.v !== 1) throw new EventValidationError(`unsupported envelope version ${String(e.v)}`, { event_id: e.event_id });
  if (!SOURCES.has(e.source as string)) throw new EventValidationError(`bad source '${String(e.source)}'`, { event_id: e.event_id });
  if (!STATUSES.has(e.status as string)) throw new EventValidationError(`bad status '${String(e.status)}'`, { event_id: e.event_id });
  if (e.payload === null || typeof e.payload !== 'object' || Array.isArray(e.payload)) throw new EventValidationError('payload must be an object', { event_id: e.event_id });
  const type = e.event_type as string;
  if (!KNOWN.has(type)) return null;
  const required = REQUIRED_PAYLOAD[type] ?? [];
  const payload = e.payload as Record<string, unknown>;
  for (const f of required) {
    if (!(f in payload)) throw new EventValidationError(`${type}: payload field '${f}' is required`, { event_id: e.event_id });
  }
  return input as NoetlEvent;
}
