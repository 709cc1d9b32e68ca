import { jsonByteSize } from '@noetl/common';
import type { NormalizedPlaybook } from '@noetl/dsl';
import { boundedHydrator, type Hydrator } from '@noetl/scope';
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

const NO_FIELDS: EnvelopeFields = Object.freeze({});
/** Shared empty controls of a Driver that sent none (read-only, not frozen: see NO_EVENTS in drive.ts). */
export const NO_CONTROLS: readonly ControlMessage[] = [];

/**
 * `env` of one Driver: the caller's fields, with its hydrator bounded by the execution's
 * `hydrate_max_bytes` (see boundedHydrator). The bounded hydrator (two closures) is built on first
 * use: most inputs evaluate no template.
 */
class DriverEnv implements EngineEnv {
  readonly seq: number;
  readonly now: string;
  readonly producerId: string;
  readonly deploymentLimits: EngineEnv['deploymentLimits'];
  readonly envAllowList: EngineEnv['envAllowList'];
  readonly storeValue: EngineEnv['storeValue'];
  private bounded: Hydrator | undefined = undefined;

  constructor(
    private readonly d: Driver,
    private readonly base: EngineEnv,
  ) {
    this.seq = base.seq;
    this.now = base.now;
    this.producerId = base.producerId;
    this.deploymentLimits = base.deploymentLimits;
    this.envAllowList = base.envAllowList;
    this.storeValue = base.storeValue;
  }

  get hydrate(): Hydrator {
    return (this.bounded ??= boundedHydrator(this.base.hydrate, () => this.d.state.limits.hydrate_max_bytes, 'scheduler'));
  }
}

/**
 * The working context of one `processEvent` call: the current state, the outputs so far and the
 * id counters of T2.3 (`<k>` = ordinal among the ids of one kind minted for this input).
 * Every emitted event is folded immediately through the same `applyEvent` replay uses.
 */
export class Driver {
  readonly events: NoetlEvent[] = [];
  readonly commands: Command[] = [];
  readonly queue: Trigger[] = [];
  private ctl: ControlMessage[] | null = null;
  private kEvent = 0;
  private kToken = 0;
  private kRun = 0;
  /** `env` with its hydrator bounded by the execution's `hydrate_max_bytes` (see DriverEnv) */
  readonly env: EngineEnv;

  constructor(
    public state: ExecutionState,
    readonly playbook: NormalizedPlaybook,
    env: EngineEnv,
    readonly input: NoetlEvent,
  ) {
    this.env = new DriverEnv(this, env);
  }

  get exec(): string {
    return this.state.execution_id;
  }

  /** control messages to send (created on first push: most inputs send none) */
  get controls(): ControlMessage[] {
    return (this.ctl ??= []);
  }

  /** the controls for the result */
  get sentControls(): readonly ControlMessage[] {
    return this.ctl ?? NO_CONTROLS;
  }

  nextTokenId(): string {
    return ids.token(this.exec, this.env.seq, this.kToken++);
  }

  nextRunId(): string {
    return ids.stepRun(this.exec, this.env.seq, this.kRun++);
  }

  /** Build, fold and record one scheduler event. `id` overrides the `<exec>/s/<seq>.<k>` id (timer-caused events). */
  emit<T extends EventType>(type: T, payload: EventPayloads[T], fields: EnvelopeFields = NO_FIELDS, id?: string): EventEnvelope<T> {
    const eventId = id ?? ids.schedulerEvent(this.exec, this.env.seq, this.kEvent++);
    if (type === 'ctx.patched') payload = this.externalizeCtx(eventId, payload as EventPayloads['ctx.patched']) as EventPayloads[T];
    const ev = envelope(this.state, eventId, type, this.env, fields, this.input.event_id, payload);
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

/**
 * A scheduler event envelope, keys in the envelope's order, absent fields omitted. `seq` is the
 * last key, undefined (JSON drops it): a log that numbers the event (the embedded log's `adopt`)
 * then fills an existing property instead of adding one. The common field sets are whole literals
 * (all properties in the object, no out-of-object property store grown key by key); others are
 * assembled field by field (object spreads in a literal are slow paths).
 */
function envelope(state: ExecutionState, eventId: string, type: EventType, env: EngineEnv, f: EnvelopeFields, causation: string, payload: unknown): Record<string, unknown> {
  const ts = env.now;
  const producer = env.producerId;
  const status = STATUS[type] ?? 'ok';
  const exec = state.execution_id;
  const root = state.root_execution_id;
  if (!state.parent_execution_id && f.loop_id === undefined && f.iteration_id === undefined && f.iteration_index === undefined) {
    const step = f.step;
    const run = f.step_run_id;
    const cmd = f.command_id;
    if (step === undefined) {
      if (run === undefined && cmd === undefined) {
        return { v: 1, event_id: eventId, event_type: type, ts, execution_id: exec, root_execution_id: root, source: 'scheduler', producer_id: producer, causation_id: causation, status, payload, seq: undefined };
      }
    } else if (run === undefined) {
      if (cmd === undefined) {
        return { v: 1, event_id: eventId, event_type: type, ts, execution_id: exec, root_execution_id: root, source: 'scheduler', producer_id: producer, step, causation_id: causation, status, payload, seq: undefined };
      }
    } else if (cmd === undefined) {
      return { v: 1, event_id: eventId, event_type: type, ts, execution_id: exec, root_execution_id: root, source: 'scheduler', producer_id: producer, step, step_run_id: run, causation_id: causation, status, payload, seq: undefined };
    } else {
      return { v: 1, event_id: eventId, event_type: type, ts, execution_id: exec, root_execution_id: root, source: 'scheduler', producer_id: producer, step, step_run_id: run, command_id: cmd, causation_id: causation, status, payload, seq: undefined };
    }
  }
  if (!state.parent_execution_id && f.step !== undefined && f.step_run_id !== undefined && f.loop_id !== undefined && f.iteration_id !== undefined && f.iteration_index !== undefined && f.command_id !== undefined) {
    return {
      v: 1, event_id: eventId, event_type: type, ts, execution_id: exec, root_execution_id: root, source: 'scheduler', producer_id: producer,
      step: f.step, step_run_id: f.step_run_id, loop_id: f.loop_id, iteration_id: f.iteration_id, iteration_index: f.iteration_index, command_id: f.command_id,
      causation_id: causation, status, payload, seq: undefined,
    };
  }
  const ev: Record<string, unknown> = { v: 1, event_id: eventId, event_type: type, ts, execution_id: exec, root_execution_id: root };
  if (state.parent_execution_id) ev.parent_execution_id = state.parent_execution_id;
  ev.source = 'scheduler';
  ev.producer_id = producer;
  if (f.step !== undefined) ev.step = f.step;
  if (f.step_run_id !== undefined) ev.step_run_id = f.step_run_id;
  if (f.loop_id !== undefined) ev.loop_id = f.loop_id;
  if (f.iteration_id !== undefined) ev.iteration_id = f.iteration_id;
  if (f.iteration_index !== undefined) ev.iteration_index = f.iteration_index;
  if (f.command_id !== undefined) ev.command_id = f.command_id;
  ev.causation_id = causation;
  ev.status = status;
  ev.payload = payload;
  ev.seq = undefined;
  return ev;
}
