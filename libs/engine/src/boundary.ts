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
  const patch = ev.event_type === 'loop.done' ? [] : (ev.payload.ctx_patch ?? []);
  if (patch.length > 0) d.emit('ctx.patched', { origin: 'task', step_run_id: run.id, ops: ctxOps(patch) }, fields);

  // 3. not running: no routing, no step set; a failure while failing is one more unhandled failure (T8.11)
  if (d.state.status !== 'running') {
    if (!success && d.state.status === 'failing') recordUnhandled(d, (ev as EventEnvelope<'step.failed'>).payload.error, 'run', run.step, run.id);
    return;
  }

  const error: ErrorObject | null = success ? null : (ev as EventEnvelope<'step.failed'>).payload.error;
  const stats: LoopStats | undefined = ev.event_type === 'loop.done' ? ev.payload.stats : ev.event_type === 'step.failed' ? ev.payload.loop : undefined;
  // built field by field (no conditional spreads: this runs once per step boundary)
  const eventObj: Record<string, unknown> = { name: ev.event_type, status: success ? 'ok' : 'error', step: run.step, step_run_id: run.id };
  if (error) eventObj.error = error;
  if (stats) eventObj.loop = stats;
  eventObj.ts = ev.ts;
  // the outcome view is built only when a template needs a scope (most boundaries evaluate none)
  let output: unknown;
  const outputView = (): unknown => {
    if (output !== undefined) return output;
    const r = resultOf(ev, d.env.hydrate);
    return (output = stepOutcomeView(
      { status: success ? 'ok' : 'error', data: r.data, error, ref: r.ref, meta: { step: run.step, step_run_id: run.id, run_no: run.run_no }, http_result: r.http },
      d.env.hydrate,
    ));
  };
  const scope = () => makeSchedulerScope(d.state, d.env.hydrate, { args: run.args, event: eventObj, output: outputView() });
  const router = step.next;
  const matched = new Map<number, boolean>();
  const fired: Array<{ arc: Arc; args: Record<string, unknown> }> = [];
  const tokens: string[] = [];
  try {
    // 4. step set (R9.14)
    if (success && step.set && step.set.length > 0) {
      const ops = renderSet(step.set, scope(), d.env.now, `set of step '${run.step}'`);
      d.emit('ctx.patched', { origin: 'step_set', step_run_id: run.id, ops }, fields);
    }
    // 5. arc conditions, one snapshot for all arcs (R9.15 step 3); the scope is built only if a `when` needs it
    let sc: ReturnType<typeof scope> | undefined;
    const candidates: Arc[] = [];
    for (const arc of router.arcs) {
      if (!success && !arc.failure_aware) continue;
      const m = arc.when === undefined || arc.when === true ? true : arc.when === false ? false : condition(arc.when, (sc ??= scope()), d.env.now, `arc ${arc.index} (-> ${arc.step}) of step '${run.step}'`);
      matched.set(arc.index, m);
      if (m) {
        candidates.push(arc);
        if (router.mode === 'exclusive') break;
      }
    }
    // 6. per fired arc in YAML order: set, then args against the context after its own set (R11.6)
    for (const arc of candidates) {
      if (arc.set && arc.set.length > 0) {
        const ops = renderSet(arc.set, scope(), d.env.now, `set of arc ${arc.index} of step '${run.step}'`);
        d.emit('ctx.patched', { origin: 'arc_set', step_run_id: run.id, arc_index: arc.index, ops }, fields);
      }
      let args: Record<string, unknown> = {};
      if (arc.args !== undefined) {
        const rendered = render(arc.args, scope(), d.env.now, `args of arc ${arc.index} of step '${run.step}'`);
        if (isPlainObject(rendered)) args = rendered;
      }
      fired.push({ arc, args });
    }
  } catch (e) {
    if (!(e instanceof EvalFailure)) throw e;
    // T8.9 / R12.15: fatal, phase routing; the evaluation is recorded, no tokens are created
    d.emit('next.evaluated', nextPayload(run, ev, router, matched, [], [], true, e.error), fields);
    recordUnhandled(d, e.error, 'routing', run.step, run.id);
    return;
  }
  // 7. one token per target, in order of first fired arc; `end` sentinel creates none (R3.8)
  const groups = new Map<string, { arcs: number[]; args: Record<string, unknown>; back_edge: boolean }>();
  for (const { arc, args } of fired) {
    if (!arc.target_defined) continue;
    const g = groups.get(arc.step);
    if (g) {
      g.arcs.push(arc.index);
      g.args = { ...g.args, ...args };
      g.back_edge = g.back_edge || arc.back_edge;
    } else groups.set(arc.step, { arcs: [arc.index], args, back_edge: arc.back_edge });
  }
  for (const [target, g] of groups) {
    const tokenId = d.nextTokenId();
    tokens.push(tokenId);
    d.emit(
      'token.created',
      {
        token_id: tokenId,
        target_step: target,
        args: g.args,
        origin: { kind: 'arc', event: ev.event_type, source_step: run.step, source_step_run_id: run.id, arc_indices: g.arcs, boundary: eventObj },
        back_edge: g.back_edge,
      },
      { step: target },
    );
  }
  // 8–9. unhandled: failure without a fired arc, or `on_no_match: fail` on success (no_route, R11.11)
  const none = fired.length === 0;
  const unhandled = none && (!success || router.on_no_match === 'fail');
  const noRoute = unhandled && success ? makeError('no_route', 'NO_ROUTE', `no arc of step '${run.step}' matched (on_no_match: fail)`, { source: 'engine' }) : undefined;
  d.emit('next.evaluated', nextPayload(run, ev, router, matched, fired.map((f) => f.arc.index), tokens, unhandled, noRoute), fields);
  if (unhandled) recordUnhandled(d, noRoute ?? error!, 'run', run.step, run.id);
}

function nextPayload(
  run: RunState,
  ev: BoundaryEvent,
  router: { mode: 'exclusive' | 'inclusive'; on_no_match: 'complete' | 'quiet' | 'fail'; arcs: Arc[] },
  matched: Map<number, boolean>,
  fired: number[],
  tokens: string[],
  unhandled: boolean,
  error?: ErrorObject,
) {
  const arcs = new Array<{ index: number; target: string; failure_aware: boolean; matched: boolean }>(router.arcs.length);
  for (let i = 0; i < arcs.length; i++) {
    const a = router.arcs[i];
    arcs[i] = { index: a.index, target: a.step, failure_aware: a.failure_aware, matched: matched.get(a.index) === true };
  }
  const payload: {
    step_run_id: string; boundary: BoundaryEvent['event_type']; mode: 'exclusive' | 'inclusive'; arcs: typeof arcs; fired: number[]; tokens: string[];
    no_match: boolean; on_no_match: 'complete' | 'quiet' | 'fail'; unhandled_failure?: true; error?: ErrorObject;
  } = { step_run_id: run.id, boundary: ev.event_type, mode: router.mode, arcs, fired, tokens, no_match: fired.length === 0, on_no_match: router.on_no_match };
  if (unhandled) payload.unhandled_failure = true;
  if (error) payload.error = error;
  return payload;
}
