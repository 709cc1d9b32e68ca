import { isPlainObject, makeError, type ErrorObject } from '@noetl/common';
import type { EventEnvelope, EventPayloads, StepView } from '@noetl/events';
import { ids } from '@noetl/events';
import { stepOf } from './analysis';
import { buildCommand, iterationInfo, stepViewsFor } from './commands';
import type { Driver } from './emit';
import { loopOutcome } from './loop-manifest';
import { EvalFailure, makeSchedulerScope, render } from './render';
import { loopStats } from './state';
import type { LoopState, RunState } from './types';

/** R10.3: list as is; mapping -> [{key, value}]; string holding a JSON array -> parsed; else not iterable. */
export function toLoopItems(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (isPlainObject(v)) return Object.entries(v).map(([key, value]) => ({ key, value }));
  if (typeof v === 'string') {
    const t = v.trim();
    if (t.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(t);
        if (Array.isArray(parsed)) return parsed;
      } catch {
        /* not JSON: not iterable */
      }
    }
  }
  return undefined;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'mapping' : `${typeof v} ${JSON.stringify(v).slice(0, 60)}`;
}

/** R10.6: integer >= 1 (numeric strings accepted, as a mixed template renders to a string). */
function toMaxInFlight(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 ? n : undefined;
}

/**
 * §8.6 steps 1–3 right after the loop step's `step.scheduled`: evaluate `loop.in` and
 * `max_in_flight` against the admission context, freeze the collection in `loop.started`,
 * dispatch. Source errors fail the step run (`reason: loop_source`, routable).
 */
export function startLoop(d: Driver, run: RunState, event: Record<string, unknown>): void {
  const step = stepOf(d.playbook, run.step);
  const spec = step.loop!;
  const where = `loop of step '${step.name}'`;
  let items: unknown[];
  let maxInFlight = 1;
  try {
    if (spec.mode === 'cursor') throw new EvalFailure(makeError('config', 'UNSUPPORTED_PROFILE', `${where}: cursor loops are not supported by this engine`, { source: 'engine' }));
    const scope = makeSchedulerScope(d.state, d.env.hydrate, { args: run.args, event });
    const raw = render(spec.in, scope, d.env.now, `${where} 'in'`);
    const list = toLoopItems(raw);
    if (!list) throw new EvalFailure(makeError('loop_not_iterable', 'LOOP_NOT_ITERABLE', `${where}: 'in' is not iterable (${describe(raw)})`, { source: 'engine' }));
    if (list.length > d.state.limits.max_loop_items) {
      throw new EvalFailure(makeError('loop_not_iterable', 'TOO_MANY_ITEMS', `${where}: ${list.length} items exceed max_loop_items (${d.state.limits.max_loop_items})`, { source: 'engine' }));
    }
    items = list;
    if (spec.mode === 'parallel') {
      const m = spec.max_in_flight === undefined ? d.state.limits.loop_max_in_flight : toMaxInFlight(render(spec.max_in_flight, scope, d.env.now, `${where} 'max_in_flight'`));
      if (m === undefined) throw new EvalFailure(makeError('config', 'LOOP_MAX_IN_FLIGHT_INVALID', `${where}: max_in_flight must be an integer >= 1`, { source: 'engine' }));
      maxInFlight = m;
    }
  } catch (e) {
    if (!(e instanceof EvalFailure)) throw e;
    d.emit('step.failed', { error: e.error, ctx_patch: [], reason: 'loop_source' }, { step: run.step, step_run_id: run.id });
    return;
  }
  d.emit(
    'loop.started',
    { step_run_id: run.id, loop_id: run.id, iterator: spec.iterator, mode: spec.mode, max_in_flight: maxInFlight, failure_mode: step.failure_mode, total: items.length, items },
    { step: run.step, step_run_id: run.id, loop_id: run.id },
  );
  advanceLoop(d, run.id);
}

const inFlight = (loop: LoopState): number => loop.in_flight.length;

/** §8.6 steps 3 and 5: dispatch while allowed, then finish the loop when drained. Returns whether it emitted. */
export function advanceLoop(d: Driver, runId: string): boolean {
  let run = d.state.runs[runId];
  if (!run?.loop) return false;
  let progressed = false;
  const limit = run.loop.mode === 'sequential' ? 1 : run.loop.max_in_flight;
  let views: Record<string, StepView> | undefined;
  let viewsOf: unknown;
  let n = inFlight(run.loop);
  let timeoutS: number | undefined | null = null; // null: not looked up yet
  while (d.state.status === 'running' && !run.loop!.halted && run.loop!.next_index < run.loop!.total && n < limit) {
    const index = run.loop!.next_index;
    const iterationId = ids.iteration(run.id, index);
    const commandId = ids.command(iterationId, 1);
    if (timeoutS === null) timeoutS = stepOf(d.playbook, run.step).loop?.iteration_timeout_s;
    const scheduled: EventPayloads['loop.iteration.scheduled'] = { loop_id: run.loop!.loop_id, iteration_id: iterationId, index, command_id: commandId };
    if (timeoutS !== undefined) scheduled.deadline = new Date(Date.parse(d.env.now) + timeoutS * 1000).toISOString();
    d.emit(
      'loop.iteration.scheduled',
      scheduled,
      { step: run.step, step_run_id: run.id, loop_id: run.loop!.loop_id, iteration_id: iterationId, iteration_index: index, command_id: commandId },
    );
    run = d.state.runs[runId];
    if (viewsOf !== d.state.steps) {
      views = stepViewsFor(d.state, d.playbook, run.step);
      viewsOf = d.state.steps;
    }
    const cmd = buildCommand(d.state, d.playbook, run, d.env.now, iterationInfo(run, index), views, d.env.storeValue);
    // the command carries the earlier of the step run's and the iteration's deadlines (workers drop a command picked up after it)
    if (scheduled.deadline !== undefined && (cmd.deadline === undefined || scheduled.deadline < cmd.deadline)) cmd.deadline = scheduled.deadline;
    d.commands.push(cmd);
    n += 1;
    progressed = true;
  }
  const loop = run.loop!;
  if (n === 0 && (loop.next_index >= loop.total || loop.halted)) {
    finishLoop(d, run, loop);
    progressed = true;
  }
  return progressed;
}

/**
 * §8.6 step 5. The aggregate (R10.14) travels inline in `loop.done.result` /
 * `step.failed.partial_result`, or — large, with a store — as a Manifest (dsl §10.7,
 * loop-manifest.ts): `loop.done` then carries `manifest_ref` + `errors` and no `result`, and a
 * failed loop's `partial_result` is the compact aggregate `{results: M, data: M, stats, errors}`.
 */
function finishLoop(d: Driver, run: RunState, loop: LoopState): void {
  const stats = loopStats(loop);
  const all = loop.next_index >= loop.total;
  const fields = { step: run.step, step_run_id: run.id, loop_id: loop.loop_id };
  if (d.state.status === 'cancelling' && !(all && loop.failed === 0)) {
    d.emit('step.cancelled', { reason: 'cancelled' }, fields);
  } else if (loop.failed > 0 && loop.failure_mode === 'fail_fast' && loop.first_error) {
    const first: ErrorObject = loop.first_error;
    const error: ErrorObject = { ...first, details: { ...(first.details ?? {}), loop: stats } };
    const out = loopOutcome(d, run, loop, stats);
    const partial = out.kind === 'inline' ? out.aggregate : out.compact;
    d.emit('step.failed', { error, ctx_patch: [], loop: stats, reason: 'loop_failed', partial_result: partial }, fields);
  } else if (all) {
    const http = loop.succeeded > 0 && loop.http_results;
    const out = loopOutcome(d, run, loop, stats);
    // built field by field (payload key order: step_run_id, loop_id, stats, result | manifest_ref + errors)
    const payload: EventPayloads['loop.done'] = { step_run_id: run.id, loop_id: loop.loop_id, stats };
    if (out.kind === 'inline') payload.result = out.aggregate;
    else {
      payload.manifest_ref = out.manifest;
      payload.errors = out.errors;
    }
    if (http) payload.http_results = true;
    d.emit('loop.done', payload, fields);
  } else {
    d.emit('step.cancelled', { reason: 'halted' }, fields); // halted by the execution leaving `running`
  }
}

/** §8.6 step 4: an iteration reached its terminal event. */
export function onIterationEnd(
  d: Driver,
  runId: string,
  index: number,
  ev: EventEnvelope<'loop.iteration.done'> | EventEnvelope<'loop.iteration.failed'> | EventEnvelope<'loop.iteration.cancelled'>,
): void {
  const run = d.state.runs[runId];
  if (!run?.loop) return;
  const patch = 'ctx_patch' in ev.payload ? ev.payload.ctx_patch : undefined;
  if (patch && patch.length > 0) {
    const step = stepOf(d.playbook, run.step);
    if (run.loop.mode === 'sequential' || step.loop?.ctx_merge === 'last_write_wins') {
      d.emit(
        'ctx.patched',
        {
          origin: 'iteration',
          step_run_id: run.id,
          iteration_index: index,
          ops: patch.map((p) => (p.value_ref !== undefined ? { op: 'set' as const, path: p.path, value_ref: p.value_ref } : { op: 'set' as const, path: p.path, value: p.value === undefined ? null : p.value })),
        },
        { step: run.step, step_run_id: run.id, loop_id: run.loop.loop_id, iteration_id: ids.iteration(run.id, index), iteration_index: index },
      );
    }
  }
  advanceLoop(d, runId);
}

/** Drive every open loop (step-run creation order). */
export function advanceLoops(d: Driver): boolean {
  let progressed = false;
  for (const id of Object.keys(d.state.runs)) {
    const run = d.state.runs[id];
    if (run?.loop && advanceLoop(d, id)) progressed = true;
  }
  return progressed;
}
