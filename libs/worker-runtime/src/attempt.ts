import { deepMerge, isPlainObject, makeError, MAX_ERROR_MESSAGE_BYTES, type ErrorObject } from '@noetl/common';
import type { Task } from '@noetl/dsl';
import type { Outcome, OutcomeMeta } from '@noetl/events';
import type { Credential, ToolContext, ToolHandler, ToolOutcome } from '@noetl/tools';
import type { RunContext } from './context';
import { ClassifiedError, errorFromThrown } from './errors';
import { renderTaskConfig, renderTaskInput, materialize } from './render';
import { capSnapshot, entityBase, externalize, sanitize, taskResultLimits } from './result';
import { effectiveTimeoutS } from './timeouts';
import { createAuthResolver } from './auth';
import { isoString } from './events';

/** Kind defaults of the effective spec (R5.1). Timeouts are not here: K1.9 puts defaults.timeout_s above them. */
export const KIND_DEFAULT_SPEC: Readonly<Record<string, Record<string, unknown>>> = {};

const DEFAULT_GRACE_MS = 5_000;

export interface AttemptCoords {
  taskIndex: number;
  visit: number;
  taskRunId: string;
  attempt: number;
}

export interface WorkbookAsserts {
  expects?: string[];
  returns?: string[];
}

export interface AttemptResult {
  /** the outcome as policies see it: `data` present even when externalized (then `ref` is set too) */
  outcome: Outcome;
  /** rendered task input, redacted and capped (T7.21, T5.1) */
  renderedInput?: unknown;
  /** the tool was interrupted by cancellation: no outcome to record */
  cancelled: boolean;
}

/**
 * One attempt (runtime.md §9.2 inner loop, up to the outcome): effective spec, late rendering of
 * input then fields (T9.3), the tool call under the cancellation signal and a hard outer timeout
 * (effective timeout + 5 s, T9.5), outcome normalization (§7.1, T9.4), workbook asserts (R15.3),
 * externalization (T7.7–T7.9, persist before emit). Never throws for tool or template problems.
 */
export async function runAttempt(rt: RunContext, task: Task, coords: AttemptCoords, asserts?: WorkbookAsserts): Promise<AttemptResult> {
  const { deps, command } = rt;
  const startedAt = deps.now();
  const spec = deepMerge(deepMerge(KIND_DEFAULT_SPEC[task.kind] ?? {}, command.base_spec ?? {}), task.spec ?? {}) as Record<string, unknown>;
  rt.keychain.takeUsed();

  let tool: ToolOutcome | undefined;
  let input: Record<string, unknown> | undefined;
  let config: Record<string, unknown> | undefined;
  try {
    input = await renderTaskInput(rt, task);
    for (const key of asserts?.expects ?? []) {
      if (input[key] === undefined || input[key] === null) {
        throw new ClassifiedError('schema', 'ASSERT_EXPECTS', `workbook task ${task.name}: expected input key '${key}' is missing or null`);
      }
    }
    config = await renderTaskConfig(rt, task, input);
  } catch (e) {
    tool = { status: 'error', error: errorFromThrown(e) };
  }

  if (!tool && config) {
    const handler = deps.tools.get(task.kind);
    if (task.kind === 'workbook' && !handler) {
      tool = { status: 'error', error: makeError('config', 'WORKBOOK_UNRESOLVED', `task ${task.name}: workbook entry was not resolved`, { source: 'engine' }) };
    } else if (!handler) {
      tool = { status: 'error', error: makeError('config', 'UNKNOWN_TOOL_KIND', `task ${task.name}: tool kind '${task.kind}' is not available on this worker`, { source: 'engine' }) };
    } else {
      const r = await invoke(rt, handler, task, config, spec, coords);
      if (r === 'cancelled') return { outcome: buildOutcome(rt, task, coords, startedAt, { status: 'error', error: makeError('cancelled', 'CANCELLED', 'cancelled') }), cancelled: true };
      tool = r;
    }
  }

  let outcome = buildOutcome(rt, task, coords, startedAt, tool!);
  if (outcome.status === 'ok' && asserts?.returns?.length) {
    const missing = asserts.returns.filter((k) => !isPlainObject(outcome.data) || !Object.prototype.hasOwnProperty.call(outcome.data, k));
    if (missing.length) {
      outcome = { ...outcome, status: 'error', error: makeError('schema', 'ASSERT_RETURNS', `workbook task ${task.name}: result lacks ${missing.map((k) => `'${k}'`).join(', ')}`, { source: 'engine' }) };
    }
  }
  // KK.3: a 401 from a task that used keychain entries invalidates them so a retry fetches fresh values
  const used = rt.keychain.takeUsed();
  if (outcome.error?.http_status === 401) for (const name of used) rt.keychain.invalidate(name);

  if (outcome.data !== undefined) {
    try {
      const { ref } = await externalize(deps, rt.secrets, command, () => `${entityBase(command, rt.delivery.epoch)}/${sanitize(task.name)}/v${coords.visit}-a${coords.attempt}`, outcome.data, taskResultLimits(command, spec));
      if (ref) outcome = { ...outcome, ref };
    } catch (e) {
      const err = errorFromThrown(e, 'internal', 'RESULT_STORE_FAILED');
      outcome = { ...outcome, status: 'error', data: undefined, error: redactError(rt, err) };
      delete outcome.data;
    }
  }
  // the input snapshot is redacted at the end, with every secret resolved during the attempt (auth included)
  return { outcome, renderedInput: input === undefined ? undefined : capSnapshot(rt.secrets.redactDeep(input)), cancelled: false };
}

/**
 * The ToolContext of one attempt. A class (not an object literal) so that `signal` and `iter` can
 * be prototype getters: an object literal with accessors is built through a slow runtime path on
 * every call. `signal` materializes the run's AbortSignal only when a tool reads it (several µs on
 * Node 20; noop and most in-process kinds never do) and is the same signal on every read; `iter`
 * is the plain copy of the iteration scope as it was when the attempt started, made on first read.
 */
class AttemptToolContext implements ToolContext {
  readonly executionId: string;
  readonly rootExecutionId: string;
  readonly step: string;
  readonly stepRunId: string;
  readonly task: string;
  readonly taskIndex: number;
  readonly taskRunId: string;
  readonly commandId: string;
  readonly visit: number;
  readonly attempt: number;
  readonly spec: Record<string, unknown>;
  readonly defaultTimeoutS: number | undefined;
  readonly resolveAuth: (ref: unknown) => Promise<Credential>;
  readonly registerSecret: (v: string) => void;
  readonly redact: (t: string) => string;
  readonly results: ToolContext['results'];
  readonly children: ToolContext['children'];
  readonly log: (line: string) => void;
  readonly #abort: AbortController;
  readonly #iterScope: Record<string, unknown> | null;
  readonly #hydrate: RunContext['deps']['hydrate'];
  #iter: Record<string, unknown> | null | undefined;

  constructor(rt: RunContext, task: Task, coords: AttemptCoords, spec: Record<string, unknown>, abort: AbortController) {
    const { command, deps } = rt;
    this.executionId = command.execution_id;
    this.rootExecutionId = command.root_execution_id;
    this.step = command.step;
    this.stepRunId = command.step_run_id;
    this.task = task.name;
    this.taskIndex = coords.taskIndex;
    this.taskRunId = coords.taskRunId;
    this.commandId = command.command_id;
    this.visit = coords.visit;
    this.attempt = coords.attempt;
    this.spec = spec;
    this.defaultTimeoutS = command.limits.default_timeout_s;
    let resolveAuth: ((ref: unknown) => Promise<Credential>) | undefined;
    this.resolveAuth = (ref: unknown) => (resolveAuth ??= createAuthResolver({ keychain: rt.keychain, credentials: deps.credentials, secrets: rt.secrets }))(ref);
    this.registerSecret = (v: string) => rt.secrets.add(v);
    this.redact = (t: string) => rt.secrets.redact(t);
    this.results = deps.results;
    this.children = deps.children;
    this.log = (line: string) => deps.log?.(rt.secrets.redact(line));
    this.#abort = abort;
    // the scope's iter is replaced, never mutated, by `set`: this reference is the attempt's view
    this.#iterScope = command.iteration ? rt.scope.iter : null;
    this.#hydrate = deps.hydrate;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get iter(): Record<string, unknown> | null {
    if (this.#iter === undefined) this.#iter = this.#iterScope ? (materialize(this.#iterScope, this.#hydrate) as Record<string, unknown>) : null;
    return this.#iter;
  }
}

/** Run the tool: resolves to its outcome, or 'cancelled' when the delivery signal aborts first. */
async function invoke(rt: RunContext, handler: ToolHandler, task: Task, config: Record<string, unknown>, spec: Record<string, unknown>, coords: AttemptCoords): Promise<ToolOutcome | 'cancelled'> {
  const { deps, command, delivery } = rt;
  if (delivery.signal.aborted) return 'cancelled';
  const timeoutS = effectiveTimeoutS(task.kind, config, spec, command.limits.default_timeout_s);
  const hardMs = Math.ceil(timeoutS * 1000) + (deps.timeoutGraceMs ?? DEFAULT_GRACE_MS);
  // the run's tool controller: aborted by cancellation (forwarded in runCommand) or by a hard
  // timeout, after which the next attempt gets a fresh one (cheaper than AbortSignal.any per attempt)
  const local = rt.toolAbort;
  const ctx = new AttemptToolContext(rt, task, coords, spec, local);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const cancelled = new Promise<'cancelled'>((resolve) => {
    onAbort = resolver(resolve, 'cancelled');
    delivery.signal.addEventListener('abort', onAbort, { once: true });
  });
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), hardMs);
  });
  const run = Promise.resolve()
    .then(() => handler.run(config, ctx))
    .then((o) => ({ o }), (e: unknown) => ({ e }));
  try {
    const r = await Promise.race([run, cancelled, timedOut]);
    if (r === 'cancelled' || delivery.signal.aborted) {
      if (!local.signal.aborted) local.abort(delivery.signal.reason);
      return 'cancelled';
    }
    if (r === 'timeout') {
      local.abort('timeout');
      rt.toolAbort = new AbortController();
      return { status: 'error', error: makeError('timeout', 'TOOL_TIMEOUT', `task ${task.name}: tool did not finish within ${timeoutS}s`, { source: 'engine' }) };
    }
    if ('e' in r) return { status: 'error', error: errorFromThrown(r.e) };
    return r.o;
  } finally {
    clearTimeout(timer);
    if (onAbort) delivery.signal.removeEventListener('abort', onAbort);
  }
}

/** `() => resolve(value)` (a returned arrow: no per-call function naming under tsx's keepNames) */
function resolver<V>(resolve: (v: V) => void, value: V): () => void {
  return () => resolve(value);
}

const CORE_META = new Set(['task', 'kind', 'attempt', 'started_at', 'finished_at', 'duration_ms', 'worker_id']);

/** §7.1 outcome from a tool result; error, helpers and tool meta are redacted (T7.21), data is not (T7.22). */
function buildOutcome(rt: RunContext, task: Task, coords: AttemptCoords, startedAt: Date, tool: ToolOutcome): Outcome {
  const finishedAt = rt.deps.now();
  const meta: OutcomeMeta = {
    task: task.name,
    kind: task.kind,
    attempt: coords.attempt,
    started_at: isoString(startedAt),
    finished_at: isoString(finishedAt),
    duration_ms: Math.max(0, finishedAt.getTime() - startedAt.getTime()),
    worker_id: rt.deps.workerId,
  };
  if (isPlainObject(tool?.meta)) {
    for (const [k, v] of Object.entries(rt.secrets.redactDeep(tool.meta))) if (!CORE_META.has(k)) meta[k] = v;
  }
  let status: 'ok' | 'error' = tool?.status === 'ok' ? 'ok' : 'error';
  let error: ErrorObject | null = null;
  if (tool?.status === 'error') {
    error = isPlainObject(tool.error) && typeof tool.error.kind === 'string'
      ? tool.error
      : makeError('internal', 'TOOL_ERROR_MISSING', `task ${task.name}: tool reported an error without an error object`, { source: 'engine' });
  } else if (tool?.status !== 'ok') {
    status = 'error';
    error = makeError('internal', 'TOOL_BAD_OUTCOME', `task ${task.name}: tool returned an invalid outcome`, { source: 'engine' });
  }
  const outcome: Outcome = { status, error: error ? redactError(rt, error) : null, ref: null, meta };
  if (status === 'ok') outcome.data = tool.data === undefined ? null : tool.data;
  else if (tool?.data !== undefined) outcome.data = tool.data;
  // key order of §7.1: status, data, error, ref, meta, helpers
  const ordered: Outcome = { status: outcome.status, ...('data' in outcome ? { data: outcome.data } : {}), error: outcome.error, ref: null, meta } as Outcome;
  if (isPlainObject(tool?.helpers)) Object.assign(ordered, rt.secrets.redactDeep(tool.helpers));
  return ordered;
}

/** Redact and cap an error object for events (T7.21, T5.1). */
export function redactError(rt: RunContext, error: ErrorObject): ErrorObject {
  const e = rt.secrets.redactDeep(error);
  if (typeof e.message !== 'string' || !e.message) e.message = `${e.kind} error`;
  if (Buffer.byteLength(e.message, 'utf8') > MAX_ERROR_MESSAGE_BYTES) {
    e.message = Buffer.from(e.message, 'utf8').subarray(0, MAX_ERROR_MESSAGE_BYTES).toString('utf8');
    e.truncated = true;
  }
  return e;
}

/** The outcome as it travels in `task.attempt.*`: `ref` instead of `data` when externalized (T7.4). */
export function eventOutcome(o: Outcome): Outcome {
  if (!o.ref) return o;
  const { data: _data, ...rest } = o;
  return rest as Outcome;
}
