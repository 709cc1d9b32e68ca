import { isPlainObject, isResultRef, makeError, type ErrorObject, type ResultRef } from '@noetl/common';
import type { Arc } from '@noetl/dsl';
import type { CtxPatchEntry, EventEnvelope, LoopStats } from '@noetl/events';
import { loopItemsView, stepOutcomeView, type Hydrator } from '@noetl/scope';
import { stepOf } from './analysis';
import type { Driver } from './emit';
import { recordUnhandled } from './failure';
import { loopDoneResult } from './loop-manifest';
import { condition, EvalFailure, makeSchedulerScope, render, renderSet } from './render';
import type { RunState } from './types';

type BoundaryEvent = EventEnvelope<'step.done'> | EventEnvelope<'loop.done'> | EventEnvelope<'step.failed'>;

function ctxOps(patch: CtxPatchEntry[]) {
  return patch.map((p) => (p.value_ref !== undefined ? { op: 'set' as const, path: p.path, value_ref: p.value_ref } : { op: 'set' as const, path: p.path, value: p.value === undefined ? null : p.value }));
}

/** The step result R a boundary exposes as `output.data` (R13.3, R13.8), and its ref if stored. */
function resultOf(ev: BoundaryEvent, hydrate: Hydrator): { data: unknown; ref: ResultRef | null; http: boolean } {
  switch (ev.event_type) {
    case 'step.done':
      return isResultRef(ev.payload.result_ref)
        ? { data: null, ref: ev.payload.result_ref, http: ev.payload.http_result === true }
        : { data: ev.payload.result === undefined ? null : ev.payload.result, ref: null, http: ev.payload.http_result === true };
    case 'loop.done':
      // inline aggregate, or the compact one of a manifest (dsl §10.7): both read as R10.14
      return { data: loopItemsView(loopDoneResult(ev.payload), hydrate, ev.payload.http_results === true), ref: null, http: false };
    case 'step.failed': {
      if (isResultRef(ev.payload.partial_result_ref)) return { data: null, ref: ev.payload.partial_result_ref, http: ev.payload.http_result === true };
      const partial = ev.payload.partial_result === undefined ? null : ev.payload.partial_result;
      // a failed loop's partial aggregate (inline or compact) reads as the loop result does
      const data = ev.payload.reason === 'loop_failed' ? loopItemsView(partial, hydrate, false) : partial;
      return { data, ref: null, http: ev.payload.http_result === true };
    }
  }
}

/**
 * §8.7 / R9.15: process the counted terminal event of a step run — ctx patch of the pipeline,
 * step `set` (success only), arcs (all on success, failure-aware ones on failure), arc `set` then
 * `args` per fired arc in YAML order, one token per target, `next.evaluated` last.
 */
export function onBoundary(d: Driver, run: RunState, ev: BoundaryEvent): void {
  const step = stepOf(d.playbook, run.step);
  const success = ev.event_type !== 'step.failed';
  const fields = { step: run.step, step_run_id: run.id };

  // 2. ctx writes published by the pipeline (failures too)
  const patch = ev.event_type === 'loop.done' ? undefined : ev.payload.ctx_patch;
  if (patch && patch.length > 0) d.emit('ctx.patched', { origin: 'task', step_run_id: run.id, ops: ctxOps(patch) }, fields);

  // 3. not running: no routing, no step set; a failure while failing is one more unhandled failure (T8.11)
  if (d.state.status !== 'running') {
    if (!success && d.state.status === 'failing') recordUnhandled(d, (ev as EventEnvelope<'step.failed'>).payload.error, 'run', run.step, run.id);
    return;
  }

  const error: ErrorObject | null = success ? null : (ev as EventEnvelope<'step.failed'>).payload.error;
  const stats: LoopStats | undefined = ev.event_type === 'loop.done' ? ev.payload.stats : ev.event_type === 'step.failed' ? ev.payload.loop : undefined;
  // no conditional spreads (this runs once per step boundary); one literal for the common shape
  let eventObj: Record<string, unknown>;
  if (!error && !stats) eventObj = { name: ev.event_type, status: success ? 'ok' : 'error', step: run.step, step_run_id: run.id, ts: ev.ts };
  else {
    eventObj = { name: ev.event_type, status: success ? 'ok' : 'error', step: run.step, step_run_id: run.id };
    if (error) eventObj.error = error;
    if (stats) eventObj.loop = stats;
    eventObj.ts = ev.ts;
  }
  // the scope (and the outcome view in it) is built only when a template needs one (most boundaries evaluate none)
  let scope: (() => SchedulerScope) | undefined;
  const router = step.next;
  // the arcs whose condition held, in YAML order (a subsequence of router.arcs): the first and the
  // rest (inclusive routers only), with the args each fired arc rendered
  let first: Arc | undefined;
  let firstArgs: Record<string, unknown> | undefined;
  let more: Arc[] | undefined;
  let moreArgs: Array<Record<string, unknown>> | undefined;
  try {
    // 4. step set (R9.14)
    if (success && step.set && step.set.length > 0) {
      const ops = renderSet(step.set, (scope ??= scopeOf(d, run, ev, eventObj, success, error))(), d.env.now, `set of step '${run.step}'`);
      d.emit('ctx.patched', { origin: 'step_set', step_run_id: run.id, ops }, fields);
    }
    // 5. arc conditions, one snapshot for all arcs (R9.15 step 3); the scope is built only if a `when` needs it
    let sc: SchedulerScope | undefined;
    for (const arc of router.arcs) {
      if (!success && !arc.failure_aware) continue;
      const m = arc.when === undefined || arc.when === true ? true : arc.when === false ? false : condition(arc.when, (sc ??= (scope ??= scopeOf(d, run, ev, eventObj, success, error))()), d.env.now, `arc ${arc.index} (-> ${arc.step}) of step '${run.step}'`);
      if (m) {
        if (first === undefined) first = arc;
        else (more ??= []).push(arc);
        if (router.mode === 'exclusive') break;
      }
    }
    // 6. per fired arc in YAML order: set, then args against the context after its own set (R11.6)
    if (first !== undefined) {
      if (arcNeedsScope(first)) scope ??= scopeOf(d, run, ev, eventObj, success, error);
      firstArgs = fireArc(d, run, first, fields, scope);
      if (more !== undefined) {
        moreArgs = [];
        for (const arc of more) {
          if (arcNeedsScope(arc)) scope ??= scopeOf(d, run, ev, eventObj, success, error);
          moreArgs.push(fireArc(d, run, arc, fields, scope));
        }
      }
    }
  } catch (e) {
    if (!(e instanceof EvalFailure)) throw e;
    // T8.9 / R12.15: fatal, phase routing; the evaluation is recorded, no tokens are created
    d.emit('next.evaluated', nextPayload(run, ev, router, first, more, [], [], true, e.error), fields);
    recordUnhandled(d, e.error, 'routing', run.step, run.id);
    return;
  }
  // 7. one token per target, in order of first fired arc; `end` sentinel creates none (R3.8)
  let tokens: string[];
  let fired: number[];
  if (first === undefined) {
    tokens = [];
    fired = [];
  } else if (more === undefined) {
    // one fired arc (the common case): one group, no Map; exact-size arrays
    tokens = first.target_defined ? [emitToken(d, run, ev, eventObj, first.step, [first.index], firstArgs!, first.back_edge)] : [];
    fired = [first.index];
  } else {
    tokens = [];
    fired = [first.index];
    const groups = new Map<string, { arcs: number[]; args: Record<string, unknown>; back_edge: boolean }>();
    for (let i = -1; i < more.length; i++) {
      const arc = i < 0 ? first : more[i];
      const args = i < 0 ? firstArgs! : moreArgs![i];
      if (i >= 0) fired.push(arc.index);
      if (!arc.target_defined) continue;
      const g = groups.get(arc.step);
      if (g) {
        g.arcs.push(arc.index);
        g.args = { ...g.args, ...args };
        g.back_edge = g.back_edge || arc.back_edge;
      } else groups.set(arc.step, { arcs: [arc.index], args, back_edge: arc.back_edge });
    }
    for (const [target, g] of groups) tokens.push(emitToken(d, run, ev, eventObj, target, g.arcs, g.args, g.back_edge));
  }
  // 8–9. unhandled: failure without a fired arc, or `on_no_match: fail` on success (no_route, R11.11)
  const none = first === undefined;
  const unhandled = none && (!success || router.on_no_match === 'fail');
  const noRoute = unhandled && success ? makeError('no_route', 'NO_ROUTE', `no arc of step '${run.step}' matched (on_no_match: fail)`, { source: 'engine' }) : undefined;
  d.emit('next.evaluated', nextPayload(run, ev, router, first, more, fired, tokens, unhandled, noRoute), fields);
  if (unhandled) recordUnhandled(d, noRoute ?? error!, 'run', run.step, run.id);
}

type SchedulerScope = ReturnType<typeof makeSchedulerScope>;

/** A boundary's scope factory: a fresh scope per call (ctx may have changed), one shared outcome view. */
function scopeOf(d: Driver, run: RunState, ev: BoundaryEvent, eventObj: Record<string, unknown>, success: boolean, error: ErrorObject | null): () => SchedulerScope {
  let output: unknown;
  const outputView = (): unknown => {
    if (output !== undefined) return output;
    const r = resultOf(ev, d.env.hydrate);
    return (output = stepOutcomeView(
      { status: success ? 'ok' : 'error', data: r.data, error, ref: r.ref, meta: { step: run.step, step_run_id: run.id, run_no: run.run_no }, http_result: r.http },
      d.env.hydrate,
    ));
  };
  return () => makeSchedulerScope(d.state, d.env.hydrate, { args: run.args, event: eventObj, output: outputView() });
}

function arcNeedsScope(arc: Arc): boolean {
  return (!!arc.set && arc.set.length > 0) || arc.args !== undefined;
}

/** Step 6 for one fired arc: its `set` (a ctx.patched), then its rendered `args`. */
function fireArc(d: Driver, run: RunState, arc: Arc, fields: { step: string; step_run_id: string }, scope: (() => SchedulerScope) | undefined): Record<string, unknown> {
  if (arc.set && arc.set.length > 0) {
    const ops = renderSet(arc.set, scope!(), d.env.now, `set of arc ${arc.index} of step '${run.step}'`);
    d.emit('ctx.patched', { origin: 'arc_set', step_run_id: run.id, arc_index: arc.index, ops }, fields);
  }
  let args: Record<string, unknown> = {};
  if (arc.args !== undefined) {
    const rendered = render(arc.args, scope!(), d.env.now, `args of arc ${arc.index} of step '${run.step}'`);
    if (isPlainObject(rendered)) args = rendered;
  }
  return args;
}

/** Emits a `token.created` for one group of fired arcs; returns the token id. */
function emitToken(d: Driver, run: RunState, ev: BoundaryEvent, eventObj: Record<string, unknown>, target: string, arcs: number[], args: Record<string, unknown>, backEdge: boolean): string {
  const tokenId = d.nextTokenId();
  d.emit(
    'token.created',
    {
      token_id: tokenId,
      target_step: target,
      args,
      origin: { kind: 'arc', event: ev.event_type, source_step: run.step, source_step_run_id: run.id, arc_indices: arcs, boundary: eventObj },
      back_edge: backEdge,
    },
    { step: target },
  );
  return tokenId;
}

function nextPayload(
  run: RunState,
  ev: BoundaryEvent,
  router: { mode: 'exclusive' | 'inclusive'; on_no_match: 'complete' | 'quiet' | 'fail'; arcs: Arc[] },
  first: Arc | undefined,
  more: Arc[] | undefined,
  fired: number[],
  tokens: string[],
  unhandled: boolean,
  error?: ErrorObject,
) {
  const arcs = new Array<{ index: number; target: string; failure_aware: boolean; matched: boolean }>(router.arcs.length);
  // matched: one of the arcs whose condition held (first, then more: a subsequence of router.arcs)
  let next = first;
  let k = 0;
  for (let i = 0; i < arcs.length; i++) {
    const a = router.arcs[i];
    const matched = a === next;
    if (matched) next = more !== undefined && k < more.length ? more[k++] : undefined;
    arcs[i] = { index: a.index, target: a.step, failure_aware: a.failure_aware, matched };
  }
  const payload: {
    step_run_id: string; boundary: BoundaryEvent['event_type']; mode: 'exclusive' | 'inclusive'; arcs: typeof arcs; fired: number[]; tokens: string[];
    no_match: boolean; on_no_match: 'complete' | 'quiet' | 'fail'; unhandled_failure?: true; error?: ErrorObject;
  } = { step_run_id: run.id, boundary: ev.event_type, mode: router.mode, arcs, fired, tokens, no_match: fired.length === 0, on_no_match: router.on_no_match };
  if (unhandled) payload.unhandled_failure = true;
  if (error) payload.error = error;
  return payload;
}
