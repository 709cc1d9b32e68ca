import { isResultRef, makeError, setPath, type ErrorObject } from '@noetl/common';
import type { NormalizedPlaybook } from '@noetl/dsl';
import type { EventEnvelope, EventPayloads, NoetlEvent } from '@noetl/events';
import { adopt, cowSession, own } from './cow';
import { limitsFromRecord } from './limits';
import { loopDoneResult } from './loop-manifest';
import { pmapGet, pmapSet } from './pmap';
import { chunkedSet, copyRun, createExecutionState, emptyRuns, isTerminal, liveRun, ownIteration, ownLoop, ownRun, ownSeen, ownState, ownStats, withoutRun, withRun } from './state';
import type { ExecutionState, IterationState, LoopState, PendingToken, RunState, SeenCounters, StepRecord } from './types';

/**
 * What `drive` must react to after an event was folded. Triggers are transient (never part of the
 * state): replay folds the recorded reactions instead.
 */
export type Trigger =
  | { kind: 'start'; event: EventEnvelope<'execution.requested'> }
  | { kind: 'boundary'; run: RunState; event: EventEnvelope<'step.done'> | EventEnvelope<'loop.done'> | EventEnvelope<'step.failed'> }
  | { kind: 'iteration'; runId: string; index: number; event: EventEnvelope<'loop.iteration.done'> | EventEnvelope<'loop.iteration.failed'> | EventEnvelope<'loop.iteration.cancelled'> }
  | { kind: 'timer'; event: EventEnvelope<'x.timer.fired'> }
  | { kind: 'lost'; event: EventEnvelope<'x.command.dead_lettered'> }
  | { kind: 'cancel' };

export interface FoldResult {
  state: ExecutionState;
  /** read-only: results without triggers share one empty array */
  triggers: readonly Trigger[];
  /** false when the event was a duplicate or otherwise had no effect (T10.1, T3.1, T3.2) */
  applied: boolean;
}

/** Outputs of schedulerEventNo (module scratch: no array per event). */
let evSeq = 0;
let evK = 0;

/** Where readDigits stopped (module scratch). */
let digitsEnd = 0;

/**
 * The value of the decimal digits of `id` from `from` up to the first `stop` character code (or
 * the end), at most `max` digits; -1 when another character or a further digit comes first.
 * `digitsEnd` = the index where it stopped. Event ids are parsed with it instead of a regex or a
 * slice per event.
 */
function readDigits(id: string, from: number, stop: number, max: number): number {
  let v = 0;
  let i = from;
  for (; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c === stop) break;
    if (c < 48 || c > 57 || i - from >= max) return -1;
    v = v * 10 + (c - 48);
  }
  digitsEnd = i;
  return v;
}

/**
 * Parses `[seq, k]` of a scheduler event id `<exec>/s/<seq>.<k>` (same as /\/s\/(\d+)\.(\d+)$/,
 * without a regex per event) into evSeq/evK. Returns false if the id has another shape.
 */
function schedulerEventNo(id: string): boolean {
  const at = id.lastIndexOf('/s/');
  if (at < 0) return false;
  const start = at + 3;
  const seq = readDigits(id, start, 46, Infinity); // up to '.'
  const i = digitsEnd;
  if (seq < 0 || i === start || i >= id.length - 1) return false;
  const k = readDigits(id, i + 1, -1, Infinity);
  if (k < 0) return false;
  evSeq = seq;
  evK = k;
  return true;
}

/** Shared by results without triggers (read-only; not frozen, which would slow callers' for-of). */
const NO_TRIGGERS: readonly Trigger[] = [];
const noop = (state: ExecutionState): FoldResult => ({ state, triggers: NO_TRIGGERS, applied: false });
const done = (state: ExecutionState, triggers: readonly Trigger[] = NO_TRIGGERS): FoldResult => ({ state, triggers, applied: true });

/** Outputs of workerEventNo: the `seen` key of the epoch and n. */
let wKey: string | number = '';
let wN = 0;

/**
 * Parses a worker event id `<command_id>/e<epoch>/<n>` into wKey/wN; false if the event is not a
 * worker event or the id has another shape.
 */
function workerEventNo(e: NoetlEvent): boolean {
  if (e.source !== 'worker' || e.command_id === undefined || e.lease_epoch === undefined) return false;
  if (workerEventNoFast(e.event_id, e.command_id, e.lease_epoch)) return true;
  // any other spelling: the definition (Number() accepts '', spaces, exponents, …)
  const prefix = `${e.command_id}/e${e.lease_epoch}/`;
  if (!e.event_id.startsWith(prefix)) return false;
  const n = Number(e.event_id.slice(prefix.length));
  if (!Number.isInteger(n)) return false;
  wKey = String(e.lease_epoch);
  wN = n;
  return true;
}

/**
 * The canonical spelling (epoch a small integer, n 1–15 digits) parsed without building strings.
 * Succeeds only where the definition in workerEventNo gives the same result: the epoch digits
 * equal String(epoch) (no sign, no leading zero) and Number() of ≤15 digits is exact. The key is
 * the epoch number itself, the same property key as its canonical string.
 */
function workerEventNoFast(id: string, commandId: string, epoch: number): boolean {
  if (typeof epoch !== 'number' || !Number.isInteger(epoch) || epoch < 0 || epoch > 0x3fffffff) return false;
  const L = commandId.length;
  const n = id.length;
  if (n < L + 5 || id.charCodeAt(L) !== 47 || id.charCodeAt(L + 1) !== 101 || !id.startsWith(commandId)) return false; // '/', 'e'
  const epochStart = L + 2;
  const ep = readDigits(id, epochStart, 47, 10); // up to '/'
  const i = digitsEnd;
  if (ep < 0 || i === epochStart || i >= n - 1 || ep !== epoch || (id.charCodeAt(epochStart) === 48 && i - epochStart > 1)) return false;
  const numStart = i + 1;
  if (n - numStart > 15) return false;
  const v = readDigits(id, numStart, -1, Infinity);
  if (v < 0) return false;
  wKey = epoch;
  wN = v;
  return true;
}

/** Returns the updated counters, or null if the event was already seen. */
function seenCheck(seen: SeenCounters, e: NoetlEvent): SeenCounters | null {
  if (!workerEventNo(e)) return seen;
  const key = wKey;
  const n = wN;
  const last = seen[key];
  if (last !== undefined && n <= last) return null;
  const out = ownSeen(seen);
  out[key] = n;
  return out;
}

function stepRecord(state: ExecutionState, name: string): StepRecord {
  return pmapGet(state.steps, name) ?? { order: state.steps.n, runs: 0 };
}

function withStep(state: ExecutionState, name: string, rec: StepRecord): ExecutionState {
  const s = ownState(state);
  s.steps = pmapSet(s.steps, name, rec);
  return s;
}

function haltLoops(runs: Record<string, RunState>): Record<string, RunState> {
  const out = emptyRuns();
  for (const [id, r] of Object.entries(runs)) out[id] = r.loop && !r.loop.halted ? { ...r, loop: { ...r.loop, halted: true } } : r;
  return out;
}

function discardTokens(state: ExecutionState, ids: readonly string[] | 'all'): ExecutionState {
  const drop = ids === 'all' ? new Set(state.tokens.map((t) => t.id)) : new Set(ids);
  if (drop.size === 0) return state;
  const dropped = state.tokens.filter((t) => drop.has(t.id)).map((t) => t.id);
  const s = ownState(state);
  s.tokens = state.tokens.filter((t) => !drop.has(t.id));
  s.discarded_tokens = [...state.discarded_tokens, ...dropped];
  return s;
}

function consumeTokens(state: ExecutionState, ids: readonly string[]): ExecutionState {
  const s = ownState(state);
  if (ids.length === 1) {
    const i = s.tokens.findIndex((t) => t.id === ids[0]);
    if (i >= 0) (s.tokens = own(s.tokens)).splice(i, 1);
    return s;
  }
  const drop = new Set(ids);
  s.tokens = adopt(s.tokens.filter((t) => !drop.has(t.id)));
  return s;
}

/** Counted terminal of a step run (T3.2): drop the live run, record the step's latest status. */
function endRun(state: ExecutionState, run: RunState, status: 'done' | 'failed' | 'cancelled', ts: string, patch: Partial<StepRecord>): ExecutionState {
  let s = withoutRun(state, run.id);
  const prev = stepRecord(s, run.step);
  // a success replaces the previous result (R13.6); a failure keeps it (R13.3)
  let rec: StepRecord;
  if (status === 'done') {
    rec = { order: prev.order, runs: prev.runs };
    if (prev.skipped) rec.skipped = true;
  } else rec = Object.assign({}, prev);
  Object.assign(rec, patch);
  rec.status = status;
  rec.step_run_id = run.id;
  rec.completed_at = ts;
  if (status !== 'done') rec.error = patch.error ?? null;
  else rec.error = null;
  s = withStep(s, run.step, rec);
  if (status === 'done') s.last_success = run.step;
  if (status === 'cancelled') (s.cancelled_runs = own(s.cancelled_runs)).push(run.id);
  return s;
}

function successPatch(result: unknown, ref: unknown, extracted: Record<string, unknown> | undefined, http: boolean | undefined): Partial<StepRecord> {
  const p: Partial<StepRecord> = { has_result: true };
  if (isResultRef(ref)) {
    p.ref = ref;
    const ex = extracted ?? ref.extracted;
    if (ex !== undefined) p.extracted = ex;
  } else {
    p.data = result === undefined ? null : result;
  }
  if (http) p.http_result = true;
  return p;
}

function iterationOf(run: RunState | undefined, index: number | undefined): { loop: LoopState; it: IterationState } | undefined {
  if (!run?.loop || index === undefined) return undefined;
  const it = run.loop.in_flight.find((x) => x.index === index);
  return it ? { loop: run.loop, it } : undefined;
}

/** The live run and (for iteration events) in-flight iteration a worker event belongs to. */
function ownerOf(state: ExecutionState, e: NoetlEvent): { run: RunState; loop?: LoopState; it?: IterationState; idx?: number } | undefined {
  const run = liveRun(state, e.step_run_id);
  if (!run) return undefined;
  if (e.iteration_index !== undefined || e.iteration_id !== undefined) {
    const idx = e.iteration_index ?? indexFromIterationId(e.iteration_id);
    const found = iterationOf(run, idx);
    return found ? { run, loop: found.loop, it: found.it, idx } : undefined;
  }
  return run.is_loop ? undefined : { run };
}

function replaceOwner(state: ExecutionState, o: { run: RunState; loop?: LoopState; idx?: number }, patch: Partial<IterationState> & Partial<RunState>): ExecutionState {
  if (o.loop && o.idx !== undefined) {
    const idx = o.idx;
    const run = ownRun(o.run);
    const loop = (run.loop = ownLoop(o.loop));
    const inFlight = (loop.in_flight = own(loop.in_flight));
    const j = inFlight.findIndex((x) => x.index === idx);
    if (j >= 0) inFlight[j] = Object.assign(ownIteration(inFlight[j]), patch as Partial<IterationState>);
    return withRun(state, run);
  }
  return withRun(state, Object.assign(ownRun(o.run), patch as Partial<RunState>));
}

/** `step.started` / `loop.iteration.started`: idempotent, so no dedupe record is needed. */
function markStarted(state: ExecutionState, e: NoetlEvent): FoldResult {
  const o = ownerOf(state, e);
  if (!o || (o.it ? o.it.started : o.run.started)) return noop(state);
  return done(replaceOwner(state, o, { started: true }));
}

/**
 * `task.done` / `task.failed` count task visits (stats.tasks): the only non-idempotent effect of a
 * worker event, hence the only one that needs the per-command seen counters (T10.1). Other task
 * events change nothing in the scheduler state.
 */
function countTask(state: ExecutionState, e: NoetlEvent): FoldResult {
  const o = ownerOf(state, e);
  if (!o) return noop(state);
  const seen = seenCheck(o.it ? o.it.seen : o.run.seen, e);
  if (!seen) return noop(state);
  return done(bumpTasks(replaceOwner(state, o, { seen })));
}

function indexFromIterationId(id: string | undefined): number | undefined {
  if (!id) return undefined;
  const m = /\/i(\d+)$/.exec(id);
  return m ? Number(m[1]) : undefined;
}

function bumpTasks(state: ExecutionState): ExecutionState {
  const s = ownState(state);
  (s.stats = ownStats(s.stats)).tasks += 1;
  return s;
}

/**
 * Fold one event into the state: the single place where state changes. Pure; never evaluates a
 * template (T10.6): every decision it applies is recorded in the event itself.
 */
export function applyEvent(state: ExecutionState, playbook: NormalizedPlaybook, e: NoetlEvent): FoldResult {
  if (isTerminal(state)) return noop(state); // T3.1
  if (e.execution_id !== state.execution_id) return noop(state);
  // T10.1 for scheduler events: ids `<exec>/s/<seq>.<k>` increase along the log
  if (e.source === 'scheduler') {
    if (schedulerEventNo(e.event_id)) {
      const seq = evSeq;
      const k = evK;
      const mark = state.mark;
      if (mark && (seq < mark[0] || (seq === mark[0] && k <= mark[1]))) return noop(state);
      state = ownState(state);
      // owned: an input's later events update the array its first one copied, in place
      const m = (state.mark = mark ? own(mark) : adopt<[number, number]>([seq, k]));
      m[0] = seq;
      m[1] = k;
    }
  }
  switch (e.event_type) {
    case 'execution.requested': {
      if (state.status !== 'new' || state.playbook) return noop(state);
      const s = ownState(state);
      s.root_execution_id = e.root_execution_id;
      if (e.parent_execution_id) s.parent_execution_id = e.parent_execution_id;
      if (e.payload.parent) s.parent = e.payload.parent;
      return done(s, [{ kind: 'start', event: e }]);
    }
    case 'execution.started': {
      if (state.status !== 'new') return noop(state);
      const p = e.payload;
      const s = ownState(state);
      s.status = 'running';
      s.root_execution_id = e.root_execution_id;
      s.playbook = p.playbook;
      s.entry_step = p.entry_step;
      s.started_at = e.ts;
      s.workload = p.workload ?? {};
      s.ctx = p.ctx ?? {};
      s.limits = limitsFromRecord(p.limits);
      if (e.parent_execution_id) s.parent_execution_id = e.parent_execution_id;
      if (p.parent) s.parent = p.parent;
      return done(s);
    }
    case 'token.created': {
      if (state.status !== 'running') return noop(state);
      const p = e.payload;
      const tok: PendingToken = {
        id: p.token_id,
        target: p.target_step,
        args: p.args ?? {},
        back_edge: p.back_edge === true,
        event: p.origin.boundary ?? { name: p.origin.event },
      };
      const s = ownState(state);
      (s.tokens = own(s.tokens)).push(tok);
      return done(s);
    }
    case 'step.scheduled': {
      const p = e.payload;
      if (state.status !== 'running' || state.runs[p.step_run_id]) return noop(state);
      let s = consumeTokens(state, p.token_ids);
      const run = copyRun({
        id: p.step_run_id,
        step: p.step,
        run_no: p.run_no,
        args: p.args ?? {},
        pool: p.pool,
        command_id: p.command_id || undefined,
        deadline: p.deadline || undefined,
        scheduled_at: e.ts,
        started: false,
        seen: {},
        is_loop: p.loop === true,
      });
      s = withRun(s, run);
      s = withStep(s, p.step, { ...stepRecord(s, p.step), runs: p.run_no });
      (s.stats = ownStats(s.stats)).step_runs += 1;
      return done(s);
    }
    case 'step.skipped': {
      if (state.status !== 'running') return noop(state);
      const s = consumeTokens(state, e.payload.token_ids);
      return done(withStep(s, e.payload.step, { ...stepRecord(s, e.payload.step), skipped: true }));
    }
    case 'step.started':
      return markStarted(state, e);
    case 'step.done': {
      const run = liveRun(state, e.step_run_id);
      if (!run || run.is_loop) return noop(state); // T3.2: a terminal of a run that is no longer live is superseded
      const p = e.payload;
      const s = endRun(state, run, 'done', e.ts, successPatch(p.result, p.result_ref, p.extracted, p.http_result));
      return done(s, [{ kind: 'boundary', run, event: e }]);
    }
    case 'step.failed': {
      const run = liveRun(state, e.step_run_id);
      if (!run) return noop(state);
      if (e.source === 'worker' && run.is_loop) return noop(state);
      const s = endRun(state, run, 'failed', e.ts, { error: e.payload.error });
      return done(s, [{ kind: 'boundary', run, event: e }]);
    }
    case 'step.cancelled': {
      const run = liveRun(state, e.step_run_id);
      if (!run) return noop(state);
      if (e.source === 'worker' && run.is_loop) return noop(state);
      return done(endRun(state, run, 'cancelled', e.ts, { error: makeError('cancelled', 'CANCELLED', `step run cancelled: ${e.payload.reason}`) }));
    }
    case 'loop.started': {
      const run = liveRun(state, e.payload.step_run_id);
      if (!run || !run.is_loop || run.loop) return noop(state);
      const p = e.payload;
      const loop: LoopState = {
        loop_id: p.loop_id,
        iterator: p.iterator,
        mode: p.mode,
        max_in_flight: p.max_in_flight,
        failure_mode: p.failure_mode,
        total: p.total,
        items: p.items ?? [],
        next_index: 0,
        in_flight: [],
        results: [],
        succeeded: 0,
        failed: 0,
        errors: [],
        first_error: null,
        halted: state.status !== 'running',
        http_results: true,
        timed: false,
      };
      return done(withRun(state, { ...run, loop }));
    }
    case 'loop.iteration.scheduled': {
      const run = liveRun(state, e.step_run_id);
      if (!run?.loop) return noop(state);
      const p = e.payload;
      const inFlight0 = run.loop.in_flight;
      for (let i = 0; i < inFlight0.length; i++) if (inFlight0[i].index === p.index) return noop(state);
      const it: IterationState = { index: p.index, id: p.iteration_id, command_id: p.command_id, started: false, seen: {}, deadline: p.deadline };
      const owned = ownRun(run);
      const loop = (owned.loop = ownLoop(run.loop));
      if (p.deadline) loop.timed = true;
      (loop.in_flight = own(loop.in_flight)).push(it);
      if (p.index + 1 > loop.next_index) loop.next_index = p.index + 1;
      return done(withRun(state, owned));
    }
    case 'loop.iteration.started':
      return markStarted(state, e);
    case 'loop.iteration.done':
    case 'loop.iteration.failed':
    case 'loop.iteration.cancelled':
      return foldIterationEnd(state, e);
    case 'loop.done': {
      const run = liveRun(state, e.payload.step_run_id ?? e.step_run_id);
      if (!run?.is_loop) return noop(state);
      // the loop result R (R10.14): inline, or the compact aggregate of a manifest (dsl §10.7), kept
      // as the event has it (plain JSON: replay rebuilds the same record)
      const patch: Partial<StepRecord> = { has_result: true, data: loopDoneResult(e.payload) };
      if (e.payload.http_results) patch.http_items = true;
      return done(endRun(state, run, 'done', e.ts, patch), [{ kind: 'boundary', run, event: e }]);
    }
    case 'ctx.patched': {
      let ctx = state.ctx;
      let refs = state.ctx_has_refs === true;
      for (const op of e.payload.ops) {
        if (op.value_ref !== undefined) {
          ctx = setPath(ctx, op.path, op.value_ref);
          refs = true;
        } else ctx = setPath(ctx, op.path, op.value === undefined ? null : op.value);
      }
      const s = ownState(state);
      s.ctx = ctx;
      if (refs) s.ctx_has_refs = true;
      return done(s);
    }
    case 'next.evaluated': {
      if (e.payload.boundary === 'step.failed' && e.payload.fired.length > 0) {
        const s = ownState(state);
        (s.stats = ownStats(s.stats)).handled_failures += 1;
        return done(s);
      }
      return done(state);
    }
    case 'x.execution.failing': {
      const p = e.payload;
      let s: ExecutionState = state;
      if (p.step !== undefined) {
        s = ownState(s);
        s.failed_steps = [...s.failed_steps, { step: p.step, step_run_id: p.step_run_id ?? null, error: p.error }];
      }
      if (s.status === 'running') {
        s = ownState(discardTokens(s, p.discarded_tokens));
        s.status = 'failing';
        s.runs = haltLoops(s.runs);
        s.failure = { error: p.error, phase: p.phase, ...(p.step !== undefined ? { step: p.step } : {}), cancel_running: playbook.executor.policy.failure?.on_unhandled === 'cancel', at: e.ts };
      }
      return done(s);
    }
    case 'execution.cancel_requested': {
      if (state.status !== 'running' && state.status !== 'failing') return noop(state);
      const p = e.payload;
      const s = ownState(discardTokens(state, 'all'));
      s.status = 'cancelling';
      s.runs = haltLoops(s.runs);
      s.cancel = { reason: p.reason, cascade: p.cascade !== false, requested_by: p.requested_by, at: e.ts, deadline: e.source === 'scheduler' && p.reason === 'deadline' };
      return done(s, [{ kind: 'cancel' }]);
    }
    case 'execution.completed':
      return done(endExecution(state, 'completed', e.ts, { result: e.payload.result, result_ref: e.payload.result_ref, final_step: e.payload.final_step, error: null }));
    case 'execution.failed':
      return done(endExecution(state, 'failed', e.ts, { error: e.payload.error }));
    case 'execution.cancelled':
      return done(endExecution(state, 'cancelled', e.ts, { error: null }));
    case 'x.timer.fired':
      return done(state, [{ kind: 'timer', event: e }]);
    case 'x.command.dead_lettered':
      return done(state, [{ kind: 'lost', event: e }]);
    case 'task.done':
    case 'task.failed':
      return countTask(state, e);
    default:
      return noop(state); // T6.1: unknown / informational events
  }
}

function endExecution(state: ExecutionState, status: 'completed' | 'failed' | 'cancelled', ts: string, extra: Partial<ExecutionState>): ExecutionState {
  const s = ownState(state);
  s.status = status;
  s.ended_at = ts;
  s.tokens = [];
  s.runs = emptyRuns();
  if (extra.result !== undefined) s.result = extra.result;
  if (extra.result_ref !== undefined) s.result_ref = extra.result_ref;
  if (extra.final_step !== undefined) s.final_step = extra.final_step;
  s.error = extra.error ?? null;
  return s;
}

function foldIterationEnd(
  state: ExecutionState,
  e: EventEnvelope<'loop.iteration.done'> | EventEnvelope<'loop.iteration.failed'> | EventEnvelope<'loop.iteration.cancelled'>,
): FoldResult {
  const run = liveRun(state, e.step_run_id);
  const index = e.payload.index ?? e.iteration_index;
  const found = iterationOf(run, index);
  if (!run || !found) return noop(state); // T3.2 / T10.8: first terminal wins
  const owned = ownRun(run);
  const loop = (owned.loop = ownLoop(found.loop));
  const inFlight = (loop.in_flight = own(loop.in_flight));
  const at = inFlight.indexOf(found.it);
  if (at >= 0) inFlight.splice(at, 1);
  if (e.event_type === 'loop.iteration.done') {
    const p = e.payload as EventPayloads['loop.iteration.done'];
    const value = p.result_ref ?? (p.result === undefined ? null : p.result);
    loop.results = chunkedSet(loop.results, index, value);
    loop.succeeded += 1;
    if (!p.http_result) loop.http_results = false;
  } else {
    const error: ErrorObject =
      e.event_type === 'loop.iteration.failed'
        ? (e.payload as EventPayloads['loop.iteration.failed']).error
        : makeError('cancelled', 'CANCELLED', `iteration cancelled: ${(e.payload as EventPayloads['loop.iteration.cancelled']).reason}`);
    loop.failed += 1;
    (loop.errors = own(loop.errors)).push({ index, error });
    if (loop.first_error === null) loop.first_error = error;
    if (loop.failure_mode === 'fail_fast') loop.halted = true;
  }
  return done(withRun(state, owned), [{ kind: 'iteration', runId: run.id, index, event: e }]);
}

/** Public fold (replay path): applies recorded facts only, never re-evaluates templates (T10.6). */
export function foldEvent(state: ExecutionState, playbook: NormalizedPlaybook, event: NoetlEvent): ExecutionState {
  return cowSession(() => applyEvent(state, playbook, event).state);
}

/** State = fold of the log (T10.6). The execution id is taken from the first event. */
export function replay(playbook: NormalizedPlaybook, events: NoetlEvent[]): ExecutionState {
  if (events.length === 0) throw new Error('replay: empty event list');
  // one copy-on-write session for the whole log: every intermediate state is private to replay
  return cowSession(() => {
    let s = createExecutionState(events[0].execution_id);
    for (const e of events) s = applyEvent(s, playbook, e).state;
    return s;
  });
}
