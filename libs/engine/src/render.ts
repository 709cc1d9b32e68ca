import { isPlainObject, isResultRef, makeError, NoetlError, isErrorKind, type ErrorObject, type ResultRef } from '@noetl/common';
import type { SetBlock } from '@noetl/dsl';
import type { StepView } from '@noetl/events';
import { errorView, makeGlobals, refView, RESERVED_ROOTS, schedulerScope, StepResults, type Hydrator } from '@noetl/scope';
import { evaluateCondition, renderValue, TemplateError, type RenderOptions, type Scope } from '@noetl/template';
import { pmapEntries, pmapGet, type PMap } from './pmap';
import type { ExecutionState, StepRecord } from './types';

/** A failed scheduler-side evaluation, carried as data (R12.15 decides what it means by location). */
export class EvalFailure extends Error {
  constructor(readonly error: ErrorObject) {
    super(error.message);
  }
}

/** Map anything thrown while rendering to an error object: template errors, hydration errors (R13.9). */
export function toErrorObject(e: unknown, where: string): ErrorObject {
  if (e instanceof EvalFailure) return e.error;
  if (e instanceof TemplateError) {
    return makeError('template', e.code && e.code !== 'TEMPLATE_ERROR' ? e.code : 'TEMPLATE_ERROR', `${where}: ${e.message}`, { source: 'engine' });
  }
  if (e instanceof NoetlError && isErrorKind(e.code.toLowerCase())) {
    return makeError(e.code.toLowerCase() as Parameters<typeof makeError>[0], e.code.toUpperCase(), `${where}: ${e.message}`, { source: 'engine' });
  }
  const kind = (e as { kind?: unknown })?.kind;
  if (typeof kind === 'string' && isErrorKind(kind)) {
    return makeError(kind, String((e as { code?: unknown }).code ?? kind.toUpperCase()), `${where}: ${(e as Error).message ?? String(e)}`, { source: 'engine' });
  }
  return makeError('template', 'TEMPLATE_ERROR', `${where}: ${e instanceof Error ? e.message : String(e)}`, { source: 'engine' });
}

export function renderOpts(now: string): RenderOptions {
  const d = new Date(now);
  return { now: () => new Date(d.getTime()) };
}

export function render(value: unknown, scope: Scope, now: string, where: string): unknown {
  try {
    return renderValue(value, scope, renderOpts(now));
  } catch (e) {
    throw new EvalFailure(toErrorObject(e, where));
  }
}

export function condition(when: unknown, scope: Scope, now: string, where: string): boolean {
  if (when === undefined) return true;
  try {
    return evaluateCondition(when, scope, renderOpts(now));
  } catch (e) {
    throw new EvalFailure(toErrorObject(e, where));
  }
}

/** Render a `set` block (R9.12): every value against the same scope, then the ops in key order. */
export function renderSet(block: SetBlock, scope: Scope, now: string, where: string): Array<{ op: 'set'; path: string[]; value: unknown }> {
  const ops: Array<{ op: 'set'; path: string[]; value: unknown }> = [];
  for (const entry of block) {
    const v = render(entry.value, scope, now, `${where} '${entry.target}'`);
    ops.push({ op: 'set', path: entry.path, value: v === undefined ? null : v });
  }
  return ops;
}

// ------------------------------------------------------------------ step views
const RECORD_VIEW = new WeakMap<StepRecord, StepView | null>();
const ALL_VIEWS = new WeakMap<PMap<StepRecord>, Record<string, StepView>>();

/** StepView of a record (the shape templates and commands use); undefined while it has no status. */
export function recordView(rec: StepRecord): StepView | undefined {
  const status = rec.status ?? (rec.skipped ? 'skipped' : undefined);
  if (status === undefined) return undefined;
  const v: StepView = { status, runs: rec.runs };
  if (rec.has_result) {
    if (rec.ref) v.ref = rec.ref;
    else v.data = rec.data === undefined ? null : rec.data;
  }
  if (rec.extracted) v.extracted = rec.extracted;
  if (rec.step_run_id) v.step_run_id = rec.step_run_id;
  if (rec.completed_at) v.completed_at = rec.completed_at;
  if (rec.error !== undefined) v.error = rec.error;
  if (rec.http_result) v.http_result = true;
  if (rec.http_items) v.http_items = true;
  return v;
}

function schedulerView(rec: StepRecord | undefined): StepView | undefined {
  if (!rec) return undefined;
  let v = RECORD_VIEW.get(rec);
  if (v === undefined) {
    v = recordView(rec) ?? null;
    RECORD_VIEW.set(rec, v);
  }
  return v ?? undefined;
}

/**
 * Views of every reached step for scheduler-side templates, as a lazy read-only object: creating
 * it is O(1) and a view is built (and cached per record) only when a template reads that step.
 */
export function allStepViews(steps: PMap<StepRecord>): Record<string, StepView> {
  let out = ALL_VIEWS.get(steps);
  if (out) return out;
  const desc = (k: string | symbol): PropertyDescriptor | undefined => {
    if (typeof k !== 'string') return undefined;
    const v = schedulerView(pmapGet(steps, k));
    return v ? { value: v, enumerable: true, configurable: true, writable: false } : undefined;
  };
  out = new Proxy({} as Record<string, StepView>, {
    get: (_t, k) => desc(k)?.value,
    has: (_t, k) => desc(k) !== undefined,
    getOwnPropertyDescriptor: (_t, k) => desc(k),
    ownKeys: () => pmapEntries(steps).sort((a, b) => a[1].order - b[1].order).filter(([, r]) => schedulerView(r)).map(([k]) => k),
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
  ALL_VIEWS.set(steps, out);
  return out;
}

/** ctx as scheduler templates read it: values stored by reference hydrate on read (R9.4). */
export function ctxView(state: ExecutionState, hydrate: Hydrator): Record<string, unknown> {
  if (!state.ctx_has_refs) return state.ctx;
  const wrap = (v: unknown): unknown => {
    if (isResultRef(v)) return refView(v as ResultRef, hydrate);
    if (Array.isArray(v)) return v.map(wrap);
    if (isPlainObject(v)) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = wrap(x);
      return o;
    }
    return v;
  };
  return wrap(state.ctx) as Record<string, unknown>;
}

export function globalsOf(state: ExecutionState) {
  const pb = state.playbook;
  return makeGlobals(state.execution_id, { path: pb?.path ?? '', name: pb?.name ?? '', version: pb?.version ?? '', catalog_id: pb?.catalog_id ?? '' });
}

export interface ScopeParts {
  args: Record<string, unknown>;
  event?: unknown;
  output?: unknown;
}

/** Scope of a scheduler-evaluated template (admission, loop.in, step set, arcs; dsl §13.1). */
export function makeSchedulerScope(state: ExecutionState, hydrate: Hydrator, parts: ScopeParts): Scope {
  const event = isPlainObject(parts.event) && isPlainObject(parts.event.error) ? { ...parts.event, error: errorView(parts.event.error as unknown as ErrorObject) } : parts.event;
  return schedulerScope({
    globals: globalsOf(state),
    workload: state.workload,
    ctx: ctxView(state, hydrate),
    args: parts.args,
    steps: new StepResults(allStepViews(state.steps), hydrate),
    event,
    output: parts.output,
  });
}

/**
 * Bootstrap scope of the workload (R2.16 step 3): globals, `env`, `workload` = merged but
 * unrendered map, its keys as bare names, and `payload` (alias `input`) = the raw request payload.
 */
export function bootstrapScope(
  globals: ReturnType<typeof makeGlobals>,
  merged: Record<string, unknown>,
  payload: Record<string, unknown>,
  env: Record<string, string>,
): Scope {
  return {
    lookup(name: string): unknown {
      switch (name) {
        case 'execution_id': return globals.execution_id;
        case 'catalog_id': return globals.catalog_id;
        case 'job': return globals.job;
        case 'playbook': return globals.playbook;
        case 'env': return env;
        case 'workload': return merged;
        case 'payload':
        case 'input': return payload;
      }
      if (RESERVED_ROOTS.has(name)) return undefined;
      return Object.prototype.hasOwnProperty.call(merged, name) ? merged[name] : undefined;
    },
  };
}
