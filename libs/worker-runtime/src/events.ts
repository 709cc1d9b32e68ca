import { ids, type Command, type EventPayloads, type EventStatus, type EventType, type NoetlEvent } from '@noetl/events';

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

/** Task coordinates carried by task events (runtime.md §5). */
export interface TaskCoords {
  task: string;
  task_index: number;
  task_run_id: string;
  visit: number;
  attempt?: number;
}

/**
 * Builds and publishes the worker events of one delivery of a command. Event ids are
 * `<command_id>/e<epoch>/<n>` with a per-delivery counter (T2.3), so re-running the same
 * delivery re-derives the same ids; publishing is sequential and awaited (T9.2). Each event's
 * `causation_id` is the previous event of the command (the first one: the command id).
 */
export class CommandEmitter {
  private n = 0;
  private last: string;

  constructor(
    private readonly command: Command,
    private readonly epoch: number,
    private readonly producerId: string,
    private readonly now: () => Date,
    private readonly publish: (e: NoetlEvent) => Promise<void>,
  ) {
    this.last = command.command_id;
  }

  /** id of the most recently emitted event */
  get lastEventId(): string {
    return this.last;
  }

  async emit<T extends EventType>(type: T, status: EventStatus, payload: EventPayloads[T], task?: TaskCoords): Promise<NoetlEvent> {
    this.n += 1;
    const c = this.command;
    const event_id = ids.workerEvent(c.command_id, this.epoch, this.n);
    // envelope fields of runtime.md §5 in a fixed order, assigned directly (hot path)
    const e: Record<string, unknown> = {
      v: 1,
      event_id,
      event_type: type,
      ts: isoString(this.now()),
      execution_id: c.execution_id,
      root_execution_id: c.root_execution_id,
    };
    if (c.parent_execution_id) e['parent_execution_id'] = c.parent_execution_id;
    e['source'] = 'worker';
    e['producer_id'] = this.producerId;
    e['step'] = c.step;
    e['step_run_id'] = c.step_run_id;
    const it = c.iteration;
    if (it) {
      e['loop_id'] = it.loop_id;
      e['iteration_id'] = it.iteration_id;
      e['iteration_index'] = it.index;
    }
    e['command_id'] = c.command_id;
    e['lease_epoch'] = this.epoch;
    if (task) {
      e['task'] = task.task;
      e['task_index'] = task.task_index;
      e['task_run_id'] = task.task_run_id;
      e['visit'] = task.visit;
      if (task.attempt !== undefined) e['attempt'] = task.attempt;
    }
    e['causation_id'] = this.last;
    e['status'] = status;
    e['payload'] = payload;
    const event = e as unknown as NoetlEvent;
    await this.publish(event);
    this.last = event_id;
    return event;
  }
}
