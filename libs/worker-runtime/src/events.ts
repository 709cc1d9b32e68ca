import { type Command, type EventPayloads, type EventStatus, type EventType, type NoetlEvent } from '@noetl/events';
import type { WorkerDeps } from './types';

let lastMs = Number.NaN;
let lastIso = '';
/**
 * `d.toISOString()`, memoized for the last millisecond seen: events, outcome meta and the
 * scheduler stamp many timestamps within the same millisecond. Same string, same RangeError for an
 * invalid date.
 */
export function isoString(d: Date): string {
  const ms = d.getTime();
  if (ms !== lastMs) {
    lastIso = d.toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** `new Date(ms).toISOString()` through the same one-entry memo (no Date while the millisecond repeats). */
export function isoOfMs(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** The host clock in epoch ms: `deps.nowMs` when given (no Date allocated per reading), else `deps.now()`. */
export function clockMs(deps: WorkerDeps): number {
  return deps.nowMs ? deps.nowMs() : deps.now().getTime();
}

/** Task coordinates carried by task events (runtime.md §5). */
export interface TaskCoords {
  task: string;
  task_index: number;
  task_run_id: string;
  visit: number;
  attempt?: number;
}

/** A failure of `deps.emit`: never turned into an event (the host must not ack; redelivery follows). */
export class EmitFailure extends Error {
  constructor(readonly inner: unknown) {
    super(`event publish failed: ${(inner as Error)?.message ?? String(inner)}`);
  }
}

/**
 * Builds and publishes the worker events of one delivery of a command. Event ids are
 * `<command_id>/e<epoch>/<n>` with a per-delivery counter (T2.3), so re-running the same
 * delivery re-derives the same ids; publishing is sequential (T9.2): callers await `emit` before
 * the next one. Each event's `causation_id` is the previous event of the command (the first one:
 * the command id). A failure of `deps.emit` surfaces as an `EmitFailure`.
 *
 * Hot path: `emit` is not an async function. When the host's `emit` accepts the event
 * synchronously (returns no promise, as the embedded runtime's in-process inbox does) the event
 * itself is returned and the caller's `await` costs one microtask; only a host that returns a
 * promise pays for the chained one.
 */
export class CommandEmitter {
  private n = 0;
  private last: string;
  /**
   * `<command_id>/e<epoch>/` as one flat string: an id is then this + n (one cons string, not the
   * chain of four a template literal makes and the log's hashing flattens per event)
   */
  readonly idPrefix: string;

  constructor(
    private readonly command: Command,
    private readonly epoch: number,
    private readonly deps: WorkerDeps,
  ) {
    this.last = command.command_id;
    this.idPrefix = [command.command_id, '/e', epoch, '/'].join(''); // join builds a flat string
  }

  /** id of the most recently emitted event */
  get lastEventId(): string {
    return this.last;
  }

  /** `attempt`: the attempt number of a `task.attempt.*` event (or `task.attempt`), without an object per attempt */
  emit<T extends EventType>(type: T, status: EventStatus, payload: EventPayloads[T], task?: TaskCoords, attempt?: number): NoetlEvent | Promise<NoetlEvent> {
    this.n += 1;
    const c = this.command;
    const deps = this.deps;
    const eventId = this.idPrefix + this.n; // = ids.workerEvent(c.command_id, this.epoch, this.n)
    const ts = deps.nowMs ? isoOfMs(deps.nowMs()) : isoString(deps.now());
    const event = envelope(c, this.epoch, deps.workerId, eventId, type, ts, this.last, status, payload, task, attempt ?? task?.attempt) as unknown as NoetlEvent;
    let published: Promise<void> | void;
    try {
      published = deps.emit(event);
    } catch (err) {
      throw new EmitFailure(err);
    }
    if (published !== undefined && published !== null && typeof (published as Promise<void>).then === 'function') {
      return (published as Promise<void>).then(
        () => {
          this.last = eventId;
          return event;
        },
        (err: unknown) => {
          throw new EmitFailure(err);
        },
      );
    }
    this.last = eventId;
    return event;
  }
}

/**
 * The worker event envelope of runtime.md §5, fields in this fixed order: v, event_id, event_type,
 * ts, execution_id, root_execution_id, [parent_execution_id], source, producer_id, step,
 * step_run_id, [loop_id, iteration_id, iteration_index], command_id, lease_epoch, [task,
 * task_index, task_run_id, visit, [attempt]], causation_id, status, payload.
 *
 * Hot path: each common shape (no parent execution) is ONE object literal, so V8 allocates the
 * event with all its fields in-object in one go; adding ~15 fields one by one to a 6-field literal
 * re-allocates the out-of-object property store several times per event. These literals end with
 * `seq: undefined`, a slot for the position a log assigns later (the embedded log sets it in place
 * instead of adding a property); JSON drops it, and `toEqual` ignores it.
 */
function envelope(
  c: Command, epoch: number, producerId: string, eventId: string, type: string, ts: string, causation: string, status: EventStatus, payload: unknown, task?: TaskCoords,
  attempt?: number,
): Record<string, unknown> {
  const it = c.iteration;
  if (!c.parent_execution_id) {
    if (it) {
      if (!task) {
        return {
          v: 1, event_id: eventId, event_type: type, ts, execution_id: c.execution_id, root_execution_id: c.root_execution_id,
          source: 'worker', producer_id: producerId, step: c.step, step_run_id: c.step_run_id,
          loop_id: it.loop_id, iteration_id: it.iteration_id, iteration_index: it.index,
          command_id: c.command_id, lease_epoch: epoch, causation_id: causation, status, payload, seq: undefined,
        };
      }
      if (attempt === undefined) {
        return {
          v: 1, event_id: eventId, event_type: type, ts, execution_id: c.execution_id, root_execution_id: c.root_execution_id,
          source: 'worker', producer_id: producerId, step: c.step, step_run_id: c.step_run_id,
          loop_id: it.loop_id, iteration_id: it.iteration_id, iteration_index: it.index,
          command_id: c.command_id, lease_epoch: epoch,
          task: task.task, task_index: task.task_index, task_run_id: task.task_run_id, visit: task.visit,
          causation_id: causation, status, payload, seq: undefined,
        };
      }
      return {
        v: 1, event_id: eventId, event_type: type, ts, execution_id: c.execution_id, root_execution_id: c.root_execution_id,
        source: 'worker', producer_id: producerId, step: c.step, step_run_id: c.step_run_id,
        loop_id: it.loop_id, iteration_id: it.iteration_id, iteration_index: it.index,
        command_id: c.command_id, lease_epoch: epoch,
        task: task.task, task_index: task.task_index, task_run_id: task.task_run_id, visit: task.visit, attempt,
        causation_id: causation, status, payload, seq: undefined,
      };
    }
    if (!task) {
      return {
        v: 1, event_id: eventId, event_type: type, ts, execution_id: c.execution_id, root_execution_id: c.root_execution_id,
        source: 'worker', producer_id: producerId, step: c.step, step_run_id: c.step_run_id,
        command_id: c.command_id, lease_epoch: epoch, causation_id: causation, status, payload, seq: undefined,
      };
    }
    if (attempt === undefined) {
      return {
        v: 1, event_id: eventId, event_type: type, ts, execution_id: c.execution_id, root_execution_id: c.root_execution_id,
        source: 'worker', producer_id: producerId, step: c.step, step_run_id: c.step_run_id,
        command_id: c.command_id, lease_epoch: epoch,
        task: task.task, task_index: task.task_index, task_run_id: task.task_run_id, visit: task.visit,
        causation_id: causation, status, payload, seq: undefined,
      };
    }
    return {
      v: 1, event_id: eventId, event_type: type, ts, execution_id: c.execution_id, root_execution_id: c.root_execution_id,
      source: 'worker', producer_id: producerId, step: c.step, step_run_id: c.step_run_id,
      command_id: c.command_id, lease_epoch: epoch,
      task: task.task, task_index: task.task_index, task_run_id: task.task_run_id, visit: task.visit, attempt,
      causation_id: causation, status, payload, seq: undefined,
    };
  }
  // child executions: the general builder
  const e: Record<string, unknown> = {
    v: 1, event_id: eventId, event_type: type, ts, execution_id: c.execution_id, root_execution_id: c.root_execution_id,
    parent_execution_id: c.parent_execution_id, source: 'worker', producer_id: producerId, step: c.step, step_run_id: c.step_run_id,
  };
  if (it) {
    e['loop_id'] = it.loop_id;
    e['iteration_id'] = it.iteration_id;
    e['iteration_index'] = it.index;
  }
  e['command_id'] = c.command_id;
  e['lease_epoch'] = epoch;
  if (task) {
    e['task'] = task.task;
    e['task_index'] = task.task_index;
    e['task_run_id'] = task.task_run_id;
    e['visit'] = task.visit;
    if (attempt !== undefined) e['attempt'] = attempt;
  }
  e['causation_id'] = causation;
  e['status'] = status;
  e['payload'] = payload;
  return e;
}
