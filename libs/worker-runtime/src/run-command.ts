import { digestOf, makeError, type ErrorObject, type ResultRef } from '@noetl/common';
import type { Command, NoetlEvent } from '@noetl/events';
import { boundedHydrator, StepResults, makeGlobals, type WorkerScopeInput } from '@noetl/scope';
import type { RenderOptions } from '@noetl/template';
import type { CommandOutcome, Delivery, KeychainResolver, WorkerDeps } from './types';
import type { RunContext } from './context';
import { CommandEmitter } from './events';
import { SecretSet } from './secrets';
import { KeychainAccess } from './keychain-access';
import { createKeychainResolver } from './keychain';
import { hydratingView } from './ctx-view';
import { entryFieldRenderer, renderStepInput, materializeWithout, makeRunScope } from './render';
import { runPipeline, effectiveTask, type PipelineEnd } from './pipeline';
import { capSnapshot, entityBase, externalize, stepResult, stepResultLimits } from './result';
import { errorFromThrown } from './errors';
import { redactError } from './attempt';

/** A failure of `deps.emit`: never turned into an event (the host must not ack; redelivery follows). */
class EmitFailure extends Error {
  constructor(readonly inner: unknown) {
    super(`event publish failed: ${(inner as Error)?.message ?? String(inner)}`);
  }
}

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
  const emitter = new CommandEmitter(command, delivery.epoch, deps.workerId, () => deps.now(), async (e) => {
    try {
      await deps.emit(e);
    } catch (err) {
      throw new EmitFailure(err);
    }
  });
  const it = command.iteration;
  try {
    if (delivery.signal.aborted) return await cancelled(emitter, command, delivery);

    const startedAt = deps.now();
    if (it) {
      await emitter.emit('loop.iteration.started', 'in_progress', { iteration_id: it.iteration_id, index: it.index, command_id: command.command_id, lease_epoch: delivery.epoch, worker_id: deps.workerId });
    } else {
      await emitter.emit('step.started', 'in_progress', { command_id: command.command_id, lease_epoch: delivery.epoch, worker_id: deps.workerId, pipeline_digest: pipelineDigest(command) });
    }

    // R13.9: every worker-side hydration is bounded by the command's hydrate_max_bytes
    const bounded = { ...deps, hydrate: boundedHydrator(deps.hydrate, () => command.limits.hydrate_max_bytes, 'worker') };
    const rt = buildRunContext(command, delivery, bounded, emitter, secrets);
    const forwardAbort = abortForwarder(rt, delivery.signal);
    delivery.signal.addEventListener('abort', forwardAbort, { once: true });
    try {
      return await runAndFinish(rt, startedAt);
    } finally {
      delivery.signal.removeEventListener('abort', forwardAbort);
    }
  } catch (e) {
    if (e instanceof EmitFailure) throw e.inner;
    throw e;
  }
}

/** Aborts the run's current tool controller with the delivery's reason (a returned arrow: not renamed per call under tsx). */
function abortForwarder(rt: RunContext, signal: AbortSignal): () => void {
  return () => rt.toolAbort.abort(signal.reason);
}

/** Step input (R9.8), the pipeline (§9.2), then the terminal event. */
async function runAndFinish(rt: RunContext, startedAt: Date): Promise<CommandOutcome> {
  const { command, deps, secrets } = rt;
  const it = command.iteration;
  try {
    if (it?.item_ref && it.item === undefined) rt.scope.iter[it.iterator] = deps.hydrate(it.item_ref);
    rt.stepInput = await renderStepInput(rt);
    rt.scope.input = rt.stepInput;
  } catch (e) {
    return finish(rt, { status: 'failed', error: redactError(rt, errorFromThrown(e)), visits: [], taskVisits: 0 }, startedAt);
  }
  let end: PipelineEnd;
  try {
    end = await runPipeline(rt);
  } catch (e) {
    if (e instanceof EmitFailure) throw e;
    end = { status: 'failed', error: redactError(rt, errorFromThrown(e)), visits: [], taskVisits: 0 };
    deps.log?.(secrets.redact(`worker: internal error in ${command.command_id}: ${(e as Error)?.stack ?? String(e)}`));
  }
  return finish(rt, end, startedAt);
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

/** Resolver of a command without keychain entries (KeychainAccess never calls it then). */
const NO_KEYCHAIN: KeychainResolver = {
  resolve: (entry) => Promise.reject(new Error(`keychain entry ${entry.name} is not declared`)),
  invalidate: () => undefined,
};

function buildRunContext(command: Command, delivery: Delivery, deps: WorkerDeps, emitter: CommandEmitter, secrets: SecretSet): RunContext {
  const it = command.iteration;
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
    iter = parentIter ? { parent: parentIter } : {};
  }
  const pb = command.playbook;
  const globals = makeGlobals(command.execution_id, { path: pb.path, name: pb.name, version: pb.version, catalog_id: pb.catalog_id });
  const scope: WorkerScopeInput = {
    globals,
    workload: command.context.workload ?? {},
    ctx: hydratingView(command.context.ctx ?? {}, deps.hydrate),
    args: command.context.args ?? {},
    steps: new StepResults(command.context.steps ?? {}, deps.hydrate),
    input: {},
    iter,
    iterator: it?.iterator,
    stepLocals: {},
    taskViews: new Map(),
  };
  const rt: RunContext = {
    command, deps, delivery, emitter, secrets,
    keychain: undefined as unknown as KeychainAccess,
    scope,
    scopeObject: makeRunScope(scope),
    toolAbort: new AbortController(),
    ctxPatch: [],
    renderOpts: renderOptsOf(deps),
    iterator: it?.iterator,
    stepInput: {},
  };
  // a command without keychain entries never reaches the resolver: do not build one for it
  const entries = command.keychain ?? [];
  const resolver = deps.keychain ?? (entries.length > 0 ? createKeychainResolver({ credentials: deps.credentials, now: () => deps.now() }) : NO_KEYCHAIN);
  rt.keychain = new KeychainAccess(
    entries,
    resolver,
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

/** Compute R (dsl R13.3), externalize it (T7.7, T7.10) and emit the terminal event. */
async function finish(rt: RunContext, end: PipelineEnd, startedAt: Date): Promise<CommandOutcome> {
  const { command, deps, delivery, emitter, secrets } = rt;
  const it = command.iteration;
  if (end.status === 'cancelled') return cancelled(emitter, command, delivery, end.atTask);

  const single = command.pipeline.length === 1;
  const httpResult = single && effectiveTask(command.pipeline[0]).task.kind === 'http';
  const ctxPatch = rt.ctxPatch;

  let result: { value: unknown; ref: ResultRef | null } | undefined;
  let storeError: ErrorObject | undefined;
  if (end.visits.length > 0 || end.status === 'done') {
    const R = stepResult(command.pipeline.length, end.visits);
    const last = end.visits[end.visits.length - 1];
    if (single && last?.ref) {
      result = { value: R, ref: last.ref }; // T7.10: the step result is the task's stored data
    } else {
      try {
        const { ref } = await externalize(deps, secrets, command, () => `${entityBase(command, delivery.epoch)}/result`, R, stepResultLimits(command));
        result = { value: R, ref };
      } catch (e) {
        storeError = redactError(rt, errorFromThrown(e, 'internal', 'RESULT_STORE_FAILED'));
      }
    }
  }

  let terminal: NoetlEvent;
  if (end.status === 'done' && !storeError) {
    const r = result!;
    const terminatedBy = end.terminatedBy ?? 'end';
    if (it) {
      // the iteration scope without `parent`, as plain data (T5.1 snapshot)
      const iterFinal = capSnapshot(materializeWithout(rt.scope.iter, 'parent', deps.hydrate)) as Record<string, unknown>;
      // inline result without http flag: one literal (the common case); else the general shape
      terminal = await emitter.emit('loop.iteration.done', 'ok', !r.ref && !httpResult
        ? { iteration_id: it.iteration_id, index: it.index, result: r.value, ctx_patch: ctxPatch, terminated_by: terminatedBy, iter_final: iterFinal }
        : {
          iteration_id: it.iteration_id, index: it.index,
          ...(r.ref ? { result_ref: r.ref } : { result: r.value }),
          ctx_patch: ctxPatch, terminated_by: terminatedBy,
          iter_final: iterFinal,
          ...(httpResult ? { http_result: true } : {}),
        });
    } else {
      const durationMs = Math.max(0, deps.now().getTime() - startedAt.getTime());
      terminal = await emitter.emit('step.done', 'ok', !r.ref
        ? { result: r.value, ctx_patch: ctxPatch, terminated_by: terminatedBy, task_visits: end.taskVisits, duration_ms: durationMs, http_result: httpResult }
        : {
          result_ref: r.ref, ...(r.ref.extracted ? { extracted: r.ref.extracted } : {}), ...(r.ref.preview ? { preview: r.ref.preview } : {}),
          ctx_patch: ctxPatch, terminated_by: terminatedBy, task_visits: end.taskVisits, duration_ms: durationMs, http_result: httpResult,
        });
    }
    return { status: 'done', terminal };
  }

  const error = redactError(rt, storeError ?? end.error ?? makeError('internal', 'PIPELINE_FAILED', `step ${command.step} failed`, { source: 'engine' }));
  const partial = result && end.visits.length > 0
    ? (result.ref ? { partial_result_ref: result.ref } : { partial_result: result.value })
    : {};
  if (it) {
    terminal = await emitter.emit('loop.iteration.failed', 'error', {
      iteration_id: it.iteration_id, index: it.index, error,
      ...(end.failedTask ? { failed_task: end.failedTask } : {}),
      ctx_patch: ctxPatch, reason: 'pipeline', ...partial,
    });
  } else {
    terminal = await emitter.emit('step.failed', 'error', {
      error, ...(end.failedTask ? { failed_task: end.failedTask } : {}), ...partial,
      ctx_patch: ctxPatch, reason: 'pipeline', ...(httpResult ? { http_result: true } : {}),
    });
  }
  return { status: 'failed', terminal };
}
