import { isPlainObject, isResultRef } from '@noetl/common';
import type { SetBlock, Task, Condition } from '@noetl/dsl';
import type { CtxPatchEntry } from '@noetl/events';
import { workerScope, type Hydrator, type WorkerScopeInput } from '@noetl/scope';
import { renderValue, evaluateCondition, TemplateError, type Scope } from '@noetl/template';
import { ClassifiedError } from './errors';
import { setPathLazy, NO_VALUES } from './ctx-view';

export { NO_VALUES };
import type { RunContext } from './context';

/**
 * The ctx patch of a command that writes no ctx (most): one shared frozen empty list in its
 * terminal event instead of a new array per command; `applySet` replaces it on the first write.
 */
export const NO_CTX_PATCH = Object.freeze([]) as unknown as CtxPatchEntry[];

/** Per-phase locals of a worker render (dsl §13.1): what differs between fields, policies and task `set`. */
export interface Phase {
  keychain?: object;
  taskInput?: Record<string, unknown>;
  output?: unknown;
}

/**
 * The scope for one synchronous render: the run's scope with this phase's locals. The scope
 * object is shared per run (one allocation per command, not per render); it is valid until the
 * next `scopeOf` call, so use it before the next await.
 */
export function scopeOf(rt: RunContext, phase: Phase): Scope {
  const s = rt.scope;
  s.keychain = phase.keychain;
  s.taskInput = phase.taskInput;
  s.output = phase.output;
  return rt.scopeObject;
}

/** A scope over the run's state, created once per command (see scopeOf). */
export function makeRunScope(input: WorkerScopeInput): Scope {
  return workerScope(input);
}

/** A TemplateError (or anything thrown while rendering) with the place it happened in the message. */
export function locate(e: unknown, where: string): unknown {
  if (e instanceof TemplateError) return new ClassifiedError('template', e.code || 'TEMPLATE_ERROR', `${where}: ${e.message}`, {}, { cause: e });
  return e;
}

/** Render one value (typed rendering, dsl §12.2), turning template errors into kind `template` errors. */
export function renderAt(rt: RunContext, value: unknown, scope: Scope, where: string): unknown {
  try {
    return renderValue(value, scope, rt.renderOpts);
  } catch (e) {
    throw locate(e, where);
  }
}

export function conditionAt(rt: RunContext, when: Condition, scope: Scope, where: string): boolean {
  try {
    return evaluateCondition(when, scope, rt.renderOpts);
  } catch (e) {
    throw locate(e, where);
  }
}

/**
 * Plain copy of a rendered value for a tool, an `input` or a `set` target (K2.16: copies are
 * plain data without view fallbacks). A result view of an externalized payload (own `_ref`,
 * `_store`, `_preview`) stands for the payload and is hydrated; a bare ResultRef stays a ref.
 * Lazy ctx getters are read. Undefined becomes null at the top level (R12.3) and is dropped inside
 * containers (JSON semantics).
 */
export function materialize(value: unknown, hydrate: Hydrator): unknown {
  const v = copy(value, hydrate, 0);
  return v === undefined ? null : v;
}

/**
 * `materialize` of a mapping without one top-level key: the same plain copy as
 * `const { [key]: _, ...rest } = materialize(value)`, without copying `key`'s value first.
 */
export function materializeWithout(value: Record<string, unknown>, key: string, hydrate: Hydrator): Record<string, unknown> {
  const o = value as Record<string, unknown>;
  if (isResultRef(o['_ref']) && Object.prototype.hasOwnProperty.call(o, '_store') && Object.prototype.hasOwnProperty.call(o, '_preview')) {
    const { [key]: _omit, ...rest } = materialize(value, hydrate) as Record<string, unknown>;
    return rest;
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    if (k === key) continue;
    const c = copy(o[k], hydrate, 1);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

function copy(v: unknown, hydrate: Hydrator, depth: number): unknown {
  if (v === null || typeof v !== 'object') return typeof v === 'function' ? undefined : v;
  if (depth > 200) throw new ClassifiedError('config', 'VALUE_TOO_DEEP', 'value nested too deeply');
  if (Array.isArray(v)) return v.map((x) => {
    const c = copy(x, hydrate, depth + 1);
    return c === undefined ? null : c;
  });
  const o = v as Record<string, unknown>;
  if (isResultRef(o['_ref']) && Object.prototype.hasOwnProperty.call(o, '_store') && Object.prototype.hasOwnProperty.call(o, '_preview')) {
    return copy(hydrate(o['_ref']), hydrate, depth + 1);
  }
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(o)) {
    const c = copy(o[k], hydrate, depth + 1);
    if (c !== undefined) out[k] = c;
  }
  return out;
}

/**
 * Render the task's own `input` (K1.1) and build the effective input: step input (R9.8, already
 * rendered), then the iterator binding (R10.9, unless the task defines it), then the task's keys.
 * Synchronous (no promise) unless keychain entries may have to be resolved.
 */
export function renderTaskInput(rt: RunContext, task: Task): Record<string, unknown> | Promise<Record<string, unknown>> {
  const input = task.input;
  if (!input || isEmpty(input)) return mergeTaskInput(rt, NO_VALUES);
  const own = rt.keychain.render((keychain) => {
    const scope = scopeOf(rt, { keychain });
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input)) out[k] = materialize(renderAt(rt, v, scope, `task ${task.name} input.${k}`), rt.hydrate);
    return out;
  });
  return own instanceof Promise ? own.then((o) => mergeTaskInput(rt, o)) : mergeTaskInput(rt, own);
}

function mergeTaskInput(rt: RunContext, own: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...rt.stepInput };
  if (rt.iterator !== undefined && !Object.prototype.hasOwnProperty.call(own, rt.iterator)) merged[rt.iterator] = rt.scope.iter[rt.iterator];
  return Object.assign(merged, own);
}

function isEmpty(o: Record<string, unknown>): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return false;
  return true;
}

/**
 * Render every tool field and `auth` (K1.1: not name/kind/spec/policy/set) with the task input as
 * first-priority bare names (R13.2 item 1). Returns the tool configuration (`input` included);
 * synchronously unless keychain entries may have to be resolved.
 */
export function renderTaskConfig(rt: RunContext, task: Task, taskInput: Record<string, unknown>): Record<string, unknown> | Promise<Record<string, unknown>> {
  return rt.keychain.render((keychain) => {
    const scope = scopeOf(rt, { keychain, taskInput });
    const cfg: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(task.fields)) {
      if (k === 'input') continue;
      cfg[k] = materialize(renderAt(rt, v, scope, `task ${task.name} field ${k}`), rt.hydrate);
    }
    if (task.auth !== undefined) cfg['auth'] = materialize(renderAt(rt, task.auth, scope, `task ${task.name} field auth`), rt.hydrate);
    cfg['input'] = taskInput;
    return cfg;
  });
}

/**
 * Apply a `set` block of a task policy or a task-level `set` (R9.13): every value is rendered
 * against the state before the block (R9.12), then applied in key order. ctx writes go to the
 * local view and the ctx patch; iter writes to the iteration scope; step/bare to step locals.
 * Template errors propagate (kind `template`; the pipeline fails, R12.15).
 */
export function applySet(rt: RunContext, block: SetBlock, scope: Scope, who: { task: string; attempt: number }, where: string): string[] {
  const values = block.map((e) => materialize(renderAt(rt, e.value, scope, `${where} ${e.target}`), rt.hydrate));
  block.forEach((e, i) => {
    if (e.path.length === 0) return;
    const v = values[i];
    if (e.scope === 'ctx') {
      rt.scope.ctx = setPathLazy(rt.scope.ctx, e.path, v);
      if (rt.ctxPatch === NO_CTX_PATCH) rt.ctxPatch = [];
      rt.ctxPatch.push({ path: [...e.path], value: v, task: who.task, attempt: who.attempt });
    } else if (e.scope === 'iter') {
      rt.scope.iter = setPathLazy(rt.scope.iter, e.path, v);
    } else {
      rt.scope.stepLocals = setPathLazy(rt.scope.stepLocals, e.path, v);
    }
  });
  return block.map((e) => e.target);
}

/** Render the step input once per step run (R9.8); keychain allowed (R2.12). Synchronous unless keychain entries may be resolved. */
export function renderStepInput(rt: RunContext): Record<string, unknown> | Promise<Record<string, unknown>> {
  const raw = rt.command.step_input;
  if (!raw || isEmpty(raw)) return NO_VALUES;
  return rt.keychain.render((keychain) => {
    const scope = scopeOf(rt, { keychain });
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) out[k] = materialize(renderAt(rt, v, scope, `step ${rt.command.step} input.${k}`), rt.hydrate);
    return out;
  });
}

/** Keychain entry fields (R2.11): workload, globals, bare workload keys and earlier entries. */
export function entryFieldRenderer(rt: RunContext): (fields: Record<string, unknown>, keychain: object) => Record<string, unknown> {
  return (fields, keychain) => {
    const g = rt.scope.globals;
    const workload = rt.scope.workload;
    const scope: Scope = {
      lookup(name: string): unknown {
        switch (name) {
          case 'workload': return workload;
          case 'keychain': return keychain;
          case 'execution_id': return g.execution_id;
          case 'catalog_id': return g.catalog_id;
          case 'job': return g.job;
          case 'playbook': return g.playbook;
        }
        return isPlainObject(workload) && Object.prototype.hasOwnProperty.call(workload, name) ? workload[name] : undefined;
      },
    };
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) out[k] = materialize(renderAt(rt, v, scope, `keychain field ${k}`), rt.hydrate);
    return out;
  };
}
