import { jsonByteSize } from '@noetl/common';
import type { NormalizedPlaybook } from '@noetl/dsl';
import { boundedHydrator } from '@noetl/scope';
import { ids, type Command, type ControlMessage, type EventEnvelope, type EventPayloads, type EventStatus, type EventType, type NoetlEvent } from '@noetl/events';
import { applyEvent, type Trigger } from './fold';
import type { EngineEnv, ExecutionState } from './types';

const STATUS: Partial<Record<EventType, EventStatus>> = {
  'execution.started': 'in_progress',
  'execution.completed': 'ok',
  'execution.failed': 'error',
  'execution.cancel_requested': 'in_progress',
  'execution.cancelled': 'cancelled',
  'ctx.patched': 'ok',
  'token.created': 'ok',
  'step.scheduled': 'in_progress',
  'step.skipped': 'skipped',
  'step.failed': 'error',
  'step.cancelled': 'cancelled',
  'next.evaluated': 'ok',
  'loop.started': 'in_progress',
  'loop.iteration.scheduled': 'in_progress',
  'loop.iteration.failed': 'error',
  'loop.iteration.cancelled': 'cancelled',
  'loop.done': 'ok',
  'x.execution.failing': 'error',
};

export type EnvelopeFields = Partial<Pick<EventEnvelope, 'step' | 'step_run_id' | 'loop_id' | 'iteration_id' | 'iteration_index' | 'command_id'>>;

/**
 * The working context of one `processEvent` call: the current state, the outputs so far and the
 * id counters of T2.3 (`<k>` = ordinal among the ids of one kind minted for this input).
 * Every emitted event is folded immediately through the same `applyEvent` replay uses.
 */
export class Driver {
  readonly events: NoetlEvent[] = [];
  readonly commands: Command[] = [];
  readonly controls: ControlMessage[] = [];
  readonly queue: Trigger[] = [];
  private kEvent = 0;
  private kToken = 0;
  private kRun = 0;
  /** `env` with its hydrator bounded by the execution's `hydrate_max_bytes` (see boundedHydrator) */
  readonly env: EngineEnv;

  constructor(
    public state: ExecutionState,
    readonly playbook: NormalizedPlaybook,
    env: EngineEnv,
    readonly input: NoetlEvent,
  ) {
    const bounded = boundedHydrator(env.hydrate, () => this.state.limits.hydrate_max_bytes, 'scheduler');
    this.env = Object.assign({}, env);
    this.env.hydrate = bounded;
  }

  get exec(): string {
    return this.state.execution_id;
  }

  nextTokenId(): string {
    return ids.token(this.exec, this.env.seq, this.kToken++);
  }

  nextRunId(): string {
    return ids.stepRun(this.exec, this.env.seq, this.kRun++);
  }

  /** Build, fold and record one scheduler event. `id` overrides the `<exec>/s/<seq>.<k>` id (timer-caused events). */
  emit<T extends EventType>(type: T, payload: EventPayloads[T], fields: EnvelopeFields = {}, id?: string): EventEnvelope<T> {
    const eventId = id ?? ids.schedulerEvent(this.exec, this.env.seq, this.kEvent++);
    if (type === 'ctx.patched') payload = this.externalizeCtx(eventId, payload as EventPayloads['ctx.patched']) as EventPayloads[T];
    // assembled field by field in the envelope's key order: object spreads in a literal are slow paths
    const state = this.state;
    const ev: Record<string, unknown> = { v: 1, event_id: eventId, event_type: type, ts: this.env.now, execution_id: state.execution_id, root_execution_id: state.root_execution_id };
    if (state.parent_execution_id) ev.parent_execution_id = state.parent_execution_id;
    ev.source = 'scheduler';
    ev.producer_id = this.env.producerId;
    if (fields.step !== undefined) ev.step = fields.step;
    if (fields.step_run_id !== undefined) ev.step_run_id = fields.step_run_id;
    if (fields.loop_id !== undefined) ev.loop_id = fields.loop_id;
    if (fields.iteration_id !== undefined) ev.iteration_id = fields.iteration_id;
    if (fields.iteration_index !== undefined) ev.iteration_index = fields.iteration_index;
    if (fields.command_id !== undefined) ev.command_id = fields.command_id;
    ev.causation_id = this.input.event_id;
    ev.status = STATUS[type] ?? 'ok';
    ev.payload = payload;
    const r = applyEvent(this.state, this.playbook, ev as unknown as NoetlEvent);
    this.state = r.state;
    for (const t of r.triggers) this.queue.push(t);
    this.events.push(ev as unknown as NoetlEvent);
    return ev as unknown as EventEnvelope<T>;
  }

  /**
   * T7.20: ctx values whose serialization exceeds `ctx_value_inline_max_bytes` travel as
   * `value_ref` (stored through the shell's `storeValue`); readers hydrate them on access. The
   * object key derives from the event id, so reprocessing the same input rewrites the same object.
   */
  private externalizeCtx(eventId: string, payload: EventPayloads['ctx.patched']): EventPayloads['ctx.patched'] {
    const store = this.env.storeValue;
    if (!store) return payload;
    const max = this.state.limits.ctx_value_inline_max_bytes;
    let changed = false;
    const ops = payload.ops.map((op, i) => {
      if (op.value === undefined || op.value === null || typeof op.value !== 'object' && typeof op.value !== 'string') return op;
      if (jsonByteSize(op.value) <= max) return op;
      changed = true;
      const entity = `ctx/${eventId.slice(this.exec.length + 1).replace(/[^A-Za-z0-9._-]/g, '_')}/${i}`;
      return { op: op.op, path: op.path, value_ref: store({ executionId: this.exec, entity }, op.value) };
    });
    return changed ? { ...payload, ops } : payload;
  }
}
