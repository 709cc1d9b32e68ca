import { digestOf, makeError, type ErrorObject, type ResultRef } from '@noetl/common';
import type { Command, NoetlEvent } from '@noetl/events';
import { boundedHydrator, StepResults, makeGlobals, type WorkerScopeInput } from '@noetl/scope';
import type { RenderOptions } from '@noetl/template';
import type { CommandOutcome, Delivery, KeychainEntryDef, KeychainResolver, WorkerDeps } from './types';
import type { RunContext } from './context';
import { clockMs, CommandEmitter, EmitFailure } from './events';
import { LazyAbort } from './abort';
import { SecretSet } from './secrets';
import { KeychainAccess } from './keychain-access';
import { createKeychainResolver } from './keychain';
import { hydratingView, stepsHydrator, workloadView } from './ctx-view';
import { entryFieldRenderer, renderStepInput, materializeWithout, makeRunScope, NO_CTX_PATCH, NO_VALUES } from './render';
import { runPipeline, effectiveTask, NO_TASK_VIEWS, type PipelineEnd } from './pipeline';
import { capSnapshot, entityBase, externalize, staysInline, stepResult, stepResultLimits } from './result';
import { errorFromThrown } from './errors';
import { redactError } from './attempt';

/**
 * Run ONE command — a step run or one loop iteration — to its terminal event (runtime.md §9.1).
 * Emits `step.started` | `loop.iteration.started`, then the task events of the pipeline (§9.2),
 * then exactly one terminal event: `step.done|failed|cancelled` or
 * `loop.iteration.done|failed|cancelled`. Events are published one at a time through
 * `deps.emit` (T9.2). Workers never start steps (T1.1): routing is the scheduler's.
 *
 * Rejects only when `deps.emit` fails (the host must then not acknowledge the command).
 *
 * @example
 * const ac = new AbortController();
 * const { status, terminal } = await runCommand(command, { epoch: 1, signal: ac.signal }, deps);
 */
export async function runCommand(command: Command, delivery: Delivery, deps: WorkerDeps): Promise<CommandOutcome> {
  const secrets = new SecretSet();
  const emitter = new CommandEmitter(command, delivery.epoch, deps);
  const it = command.iteration;
  try {
    if (delivery.signal.aborted) return await cancelled(emitter, command, delivery);

    const startedAt = clockMs(deps);
    // `emit` returns the event itself when the host took it synchronously: awaited only when it is a promise
    const started = it
      ? emitter.emit('loop.iteration.started', 'in_progress', { iteration_id: it.iteration_id, index: it.index, command_id: command.command_id, lease_epoch: delivery.epoch, worker_id: deps.workerId })
      : emitter.emit('step.started', 'in_progress', { command_id: command.command_id, lease_epoch: delivery.epoch, worker_id: deps.workerId, pipeline_digest: pipelineDigest(command) });
    if (started instanceof Promise) await started;

    const rt = buildRunContext(command, delivery, deps, emitter, secrets);
    try {
      // step input (R9.8), the pipeline (§9.2), then the terminal event
      let end: PipelineEnd | undefined;
      try {
        if (it?.item_ref && it.item === undefined) rt.scope.iter[it.iterator] = rt.hydrate(it.item_ref);
        const stepInput = renderStepInput(rt);
        rt.stepInput = stepInput instanceof Promise ? await stepInput : stepInput;
        rt.scope.input = rt.stepInput;
      } catch (e) {
        end = { status: 'failed', error: redactError(rt, errorFromThrown(e)), visits: [], taskVisits: 0 };
      }
      if (end === undefined) {
        try {
          end = await runPipeline(rt);
        } catch (e) {
          if (e instanceof EmitFailure) throw e;
          end = { status: 'failed', error: redactError(rt, errorFromThrown(e)), visits: [], taskVisits: 0 };
          deps.log?.(secrets.redact(`worker: internal error in ${command.command_id}: ${(e as Error)?.stack ?? String(e)}`));
        }
      }
      const outcome = finish(rt, end, startedAt);
      return outcome instanceof Promise ? await outcome : outcome;
    } finally {
      // cancellation reached the tools through their (lazily linked) signal: unlink it
      rt.toolAbort.release();
    }
  } catch (e) {
    if (e instanceof EmitFailure) throw e.inner;
    throw e;
  }
}

const digests = new WeakMap<object, string>();
/** digest of the pipeline, cached per pipeline object (commands of one step share it in-process) */
function pipelineDigest(command: Command): string {
  let d = digests.get(command.pipeline);
  if (d === undefined) {
    d = digestOf(command.pipeline);
    digests.set(command.pipeline, d);
  }
  return d;
}

const renderOpts = new WeakMap<WorkerDeps, RenderOptions>();
/** Render options of a host: the same for every command it runs (built once per deps object). */
function renderOptsOf(deps: WorkerDeps): RenderOptions {
  let o = renderOpts.get(deps);
  if (o === undefined || o.strict !== (deps.strict === true)) {
    o = { strict: deps.strict === true, now: () => deps.now() };
    renderOpts.set(deps, o);
  }
  return o;
}

/** Scope info and entry-field renderer of a command without keychain entries (never used then). */
const NO_SCOPE_INFO = Object.freeze({ catalogId: '', executionId: '', rootExecutionId: '' });
const NO_FIELDS = (): Record<string, unknown> => ({});

const NO_ENTRIES: readonly KeychainEntryDef[] = Object.freeze([]);

/** Resolver of a command without keychain entries (KeychainAccess never calls it then). */
const NO_KEYCHAIN: KeychainResolver = {
  resolve: (entry) => Promise.reject(new Error(`keychain entry ${entry.name} is not declared`)),
  invalidate: () => undefined,
};

function buildRunContext(command: Command, delivery: Delivery, deps: WorkerDeps, emitter: CommandEmitter, secrets: SecretSet): RunContext {
  const it = command.iteration;
  // R13.9: every worker-side hydration is bounded by the command's hydrate_max_bytes
  const hydrate = boundedHydrator(deps.hydrate, () => command.limits.hydrate_max_bytes, 'worker');
  const parentIter = command.context.parent_iter;
  let iter: Record<string, unknown>;
  if (it) {
    iter = {
      [it.iterator]: it.item,
      index: it.index, total: it.total, first: it.first, last: it.last,
      _index: it.index, _total: it.total, _first: it.first, _last: it.last,
    };
    if (parentIter) iter['parent'] = parentIter;
  } else {
    iter = parentIter ? { parent: parentIter } : NO_VALUES;
  }
  const pb = command.playbook;
  const globals = makeGlobals(command.execution_id, { path: pb.path, name: pb.name, version: pb.version, catalog_id: pb.catalog_id });
  // workload / ctx / step values the scheduler carried by reference (T7.20, T4.3) hydrate on read (T7.19)
  const steps = command.context.steps ?? {};
  const scope: WorkerScopeInput = {
    globals,
    workload: workloadView(command.context.workload ?? {}, hydrate),
    ctx: hydratingView(command.context.ctx ?? {}, hydrate),
    args: command.context.args ?? {},
    steps: new StepResults(steps, stepsHydrator(steps, hydrate)),
    input: NO_VALUES,
    iter,
    iterator: it?.iterator,
    stepLocals: NO_VALUES,
    taskViews: NO_TASK_VIEWS,
  };
  const rt: RunContext = {
    command, deps, hydrate, delivery, emitter, secrets,
    keychain: undefined as unknown as KeychainAccess,
    scope,
    scopeObject: makeRunScope(scope),
    toolAbort: new LazyAbort(delivery.signal),
    ctxPatch: NO_CTX_PATCH,
    renderOpts: renderOptsOf(deps),
    iterator: it?.iterator,
    stepInput: NO_VALUES,
  };
  // a command without keychain entries never reaches the resolver nor renders entry fields: no
  // resolver, scope info or renderer is built for it
  const entries = command.keychain ?? NO_ENTRIES;
  rt.keychain = entries.length === 0
    ? new KeychainAccess(entries, NO_KEYCHAIN, NO_SCOPE_INFO, secrets, NO_FIELDS)
    : new KeychainAccess(
      entries,
      deps.keychain ?? createKeychainResolver({ credentials: deps.credentials, now: () => deps.now() }),
      { catalogId: pb.catalog_id, executionId: command.execution_id, rootExecutionId: command.root_execution_id },
      secrets,
      entryFieldRenderer(rt),
      delivery.signal,
    );
  return rt;
}

function cancelReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (typeof r === 'string' && r) return r;
  if (r instanceof Error && r.name !== 'AbortError' && r.message) return r.message;
  return 'cancelled';
}

async function cancelled(emitter: CommandEmitter, command: Command, delivery: Delivery, atTask?: string): Promise<CommandOutcome> {
  const reason = cancelReason(delivery.signal);
  const it = command.iteration;
  const terminal = it
    ? await emitter.emit('loop.iteration.cancelled', 'cancelled', { iteration_id: it.iteration_id, index: it.index, reason })
    : await emitter.emit('step.cancelled', 'cancelled', { reason, ...(atTask ? { at_task: atTask } : {}) });
  return { status: 'cancelled', terminal };
}

/**
 * Compute R (dsl R13.3), externalize it (T7.7, T7.10) and emit the terminal event. Synchronous
 * (no promise) when R stays inline and the host takes events synchronously — the common case.
 */
function finish(rt: RunContext, end: PipelineEnd, startedAt: number): CommandOutcome | Promise<CommandOutcome> {
  const { command, delivery, emitter } = rt;
  if (end.status === 'cancelled') return cancelled(emitter, command, delivery, end.atTask);
  if (end.visits.length > 0 || end.status === 'done') {
    const R = stepResult(command.pipeline.length, end.visits);
    const last = end.visits[end.visits.length - 1];
    const single = command.pipeline.length === 1;
    // T7.10: the step result of a single task whose data was stored is that stored data
    if (single && last?.ref) return terminal(rt, end, startedAt, { value: R, ref: last.ref }, undefined);
    if (staysInline(R, stepResultLimits(command))) return terminal(rt, end, startedAt, { value: R, ref: null }, undefined);
    return storeResult(rt, R).then(
      (ref) => terminal(rt, end, startedAt, { value: R, ref }, undefined),
      (e: unknown) => terminal(rt, end, startedAt, undefined, redactError(rt, errorFromThrown(e, 'internal', 'RESULT_STORE_FAILED'))),
    );
  }
  return terminal(rt, end, startedAt, undefined, undefined);
}

/** Stores a step result that does not stay inline (persist before emit, T7.8). */
async function storeResult(rt: RunContext, R: unknown): Promise<ResultRef | null> {
  const { command, delivery } = rt;
  const { ref } = await externalize(rt.deps, rt.secrets, command, () => `${entityBase(command, delivery.epoch)}/result`, R, stepResultLimits(command));
  return ref;
}

/** Emits the terminal event of a finished pipeline (its result already stored when needed). */
function terminal(
  rt: RunContext, end: PipelineEnd, startedAt: number, result: { value: unknown; ref: ResultRef | null } | undefined, storeError: ErrorObject | undefined,
): CommandOutcome | Promise<CommandOutcome> {
  const { command, deps, emitter } = rt;
  const it = command.iteration;
  const single = command.pipeline.length === 1;
  const httpResult = single && effectiveTask(command.pipeline[0]).task.kind === 'http';
  const ctxPatch = rt.ctxPatch;
  let ev: NoetlEvent | Promise<NoetlEvent>;
  if (end.status === 'done' && !storeError) {
    const r = result!;
    const terminatedBy = end.terminatedBy ?? 'end';
    if (it) {
      // the iteration scope without `parent`, as plain data (T5.1 snapshot)
      const iterFinal = capSnapshot(materializeWithout(rt.scope.iter, 'parent', rt.hydrate)) as Record<string, unknown>;
      // inline result without http flag: one literal (the common case); else the general shape
      ev = emitter.emit('loop.iteration.done', 'ok', !r.ref && !httpResult
        ? { iteration_id: it.iteration_id, index: it.index, result: r.value, ctx_patch: ctxPatch, terminated_by: terminatedBy, iter_final: iterFinal }
        : {
          iteration_id: it.iteration_id, index: it.index,
          ...(r.ref ? { result_ref: r.ref } : { result: r.value }),
          ctx_patch: ctxPatch, terminated_by: terminatedBy,
          iter_final: iterFinal,
          ...(httpResult ? { http_result: true } : {}),
        });
    } else {
      const durationMs = Math.max(0, clockMs(deps) - startedAt);
      ev = emitter.emit('step.done', 'ok', !r.ref
        ? { result: r.value, ctx_patch: ctxPatch, terminated_by: terminatedBy, task_visits: end.taskVisits, duration_ms: durationMs, http_result: httpResult }
        : {
          result_ref: r.ref, ...(r.ref.extracted ? { extracted: r.ref.extracted } : {}), ...(r.ref.preview ? { preview: r.ref.preview } : {}),
          ctx_patch: ctxPatch, terminated_by: terminatedBy, task_visits: end.taskVisits, duration_ms: durationMs, http_result: httpResult,
        });
    }
    return ev instanceof Promise ? ev.then(doneOutcome) : doneOutcome(ev);
  }

  const error = redactError(rt, storeError ?? end.error ?? makeError('internal', 'PIPELINE_FAILED', `step ${command.step} failed`, { source: 'engine' }));
  const partial = result && end.visits.length > 0
    ? (result.ref ? { partial_result_ref: result.ref } : { partial_result: result.value })
    : {};
  if (it) {
    ev = emitter.emit('loop.iteration.failed', 'error', {
      iteration_id: it.iteration_id, index: it.index, error,
      ...(end.failedTask ? { failed_task: end.failedTask } : {}),
      ctx_patch: ctxPatch, reason: 'pipeline', ...partial,
    });
  } else {
    ev = emitter.emit('step.failed', 'error', {
      error, ...(end.failedTask ? { failed_task: end.failedTask } : {}), ...partial,
      ctx_patch: ctxPatch, reason: 'pipeline', ...(httpResult ? { http_result: true } : {}),
    });
  }
  return ev instanceof Promise ? ev.then(failedOutcome) : failedOutcome(ev);
}

const doneOutcome = (terminal: NoetlEvent): CommandOutcome => ({ status: 'done', terminal });
const failedOutcome = (terminal: NoetlEvent): CommandOutcome => ({ status: 'failed', terminal });
