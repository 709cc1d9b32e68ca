import { deepMerge, isPlainObject, makeError, MAX_ERROR_MESSAGE_BYTES, type ErrorObject } from '@noetl/common';
import type { Task } from '@noetl/dsl';
import type { Outcome, OutcomeMeta } from '@noetl/events';
import type { Credential, ToolContext, ToolHandler, ToolOutcome } from '@noetl/tools';
import type { RunContext } from './context';
import { ClassifiedError, errorFromThrown } from './errors';
import { renderTaskConfig, renderTaskInput, materialize } from './render';
import { capSnapshot, entityBase, externalize, sanitize, staysInline, taskResultLimits } from './result';
import { effectiveTimeoutS } from './timeouts';
import { createAuthResolver } from './auth';
import { clockMs, isoOfMs } from './events';
import { LazyAbort, offAbort, onAbort } from './abort';

/** Kind defaults of the effective spec (R5.1). Timeouts are not here: K1.9 puts defaults.timeout_s above them. */
export const KIND_DEFAULT_SPEC: Readonly<Record<string, Record<string, unknown>>> = {};

const DEFAULT_GRACE_MS = 5_000;

/** The `rendered_input` snapshot of an attempt without input (shared, frozen: it is recorded in the event). */
const NO_INPUT: Readonly<Record<string, unknown>> = Object.freeze({});

/** The empty effective spec of a synchronous attempt (only read: no tool context carries it). */
const NO_SPEC: Readonly<Record<string, unknown>> = Object.freeze({});

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
 *
 * Synchronous (no promise) for a tool with `runSync` when no render can wait on the keychain and
 * the data stays inline: no microtask, ToolCall or tool context per attempt.
 */
export function runAttempt(rt: RunContext, task: Task, coords: AttemptCoords, asserts?: WorkbookAsserts): AttemptResult | Promise<AttemptResult> {
  const handler = rt.deps.tools.get(task.kind);
  if (handler?.runSync !== undefined && rt.keychain.size === 0) return runAttemptSync(rt, task, coords, asserts, handler);
  return runAttemptAsync(rt, task, coords, asserts, handler);
}

async function runAttemptAsync(rt: RunContext, task: Task, coords: AttemptCoords, asserts: WorkbookAsserts | undefined, handler: ToolHandler | undefined): Promise<AttemptResult> {
  const { deps, command } = rt;
  const startedAt = clockMs(deps);
  const spec = effectiveSpec(task, command.base_spec);
  rt.keychain.takeUsed();

  let tool: ToolOutcome | undefined;
  let input: Record<string, unknown> | undefined;
  let config: Record<string, unknown> | undefined;
  try {
    // the renders are synchronous unless keychain entries may be resolved: no await then
    const renderedInput = renderTaskInput(rt, task);
    input = renderedInput instanceof Promise ? await renderedInput : renderedInput;
    checkExpects(task, input, asserts);
    const renderedConfig = renderTaskConfig(rt, task, input);
    config = renderedConfig instanceof Promise ? await renderedConfig : renderedConfig;
  } catch (e) {
    tool = { status: 'error', error: errorFromThrown(e) };
  }

  if (!tool && config) {
    if (!handler) {
      tool = noHandler(task);
    } else {
      let r: ToolOutcome | 'cancelled';
      if (rt.delivery.signal.aborted) {
        r = 'cancelled';
      } else {
        // the tool runs under the run's tool signal (see invoke); one microtask lets an already
        // settled tool report before any race against cancellation and timeout is armed
        const local = rt.toolAbort;
        const call = new ToolCall();
        call.start(handler, config, new AttemptToolContext(rt, task, coords, spec, local));
        await Promise.resolve();
        r = call.settled ? toolResult(rt, local, call) : await invoke(rt, task, config, spec, call);
      }
      if (r === 'cancelled') return cancelledAttempt(rt, task, coords, startedAt);
      tool = r;
    }
  }

  let outcome = outcomeOf(rt, task, coords, startedAt, tool!, asserts);
  if (outcome.data !== undefined && !staysInline(outcome.data, taskResultLimits(command, spec))) outcome = await storeOutcome(rt, task, coords, spec, outcome);
  return attemptResult(rt, outcome, input);
}

/** runAttempt of a tool with `runSync` and renders that cannot wait (no keychain entries). */
function runAttemptSync(rt: RunContext, task: Task, coords: AttemptCoords, asserts: WorkbookAsserts | undefined, handler: ToolHandler): AttemptResult | Promise<AttemptResult> {
  const { deps, command } = rt;
  const startedAt = clockMs(deps);
  const spec = effectiveSpec(task, command.base_spec, NO_SPEC);
  rt.keychain.takeUsed();

  let tool: ToolOutcome | undefined;
  let input: Record<string, unknown> | undefined;
  let config: Record<string, unknown> | undefined;
  try {
    input = renderTaskInput(rt, task) as Record<string, unknown>;
    checkExpects(task, input, asserts);
    config = renderTaskConfig(rt, task, input) as Record<string, unknown>;
  } catch (e) {
    tool = { status: 'error', error: errorFromThrown(e) };
  }

  if (!tool && config) {
    const signal = rt.delivery.signal;
    if (signal.aborted) return cancelledAttempt(rt, task, coords, startedAt);
    try {
      tool = handler.runSync!(config);
    } catch (e) {
      tool = { status: 'error', error: errorFromThrown(e) };
    }
    // as toolResult: a cancellation during the call wins over its outcome
    if (signal.aborted) {
      rt.toolAbort.abort(signal.reason);
      return cancelledAttempt(rt, task, coords, startedAt);
    }
  }

  const outcome = outcomeOf(rt, task, coords, startedAt, tool!, asserts);
  if (outcome.data !== undefined && !staysInline(outcome.data, taskResultLimits(command, spec))) {
    return storeOutcome(rt, task, coords, spec, outcome).then((o) => attemptResult(rt, o, input));
  }
  return attemptResult(rt, outcome, input);
}

function checkExpects(task: Task, input: Record<string, unknown>, asserts: WorkbookAsserts | undefined): void {
  const expects = asserts?.expects;
  if (expects === undefined) return;
  for (const key of expects) {
    if (input[key] === undefined || input[key] === null) {
      throw new ClassifiedError('schema', 'ASSERT_EXPECTS', `workbook task ${task.name}: expected input key '${key}' is missing or null`);
    }
  }
}

function noHandler(task: Task): ToolOutcome {
  return task.kind === 'workbook'
    ? { status: 'error', error: makeError('config', 'WORKBOOK_UNRESOLVED', `task ${task.name}: workbook entry was not resolved`, { source: 'engine' }) }
    : { status: 'error', error: makeError('config', 'UNKNOWN_TOOL_KIND', `task ${task.name}: tool kind '${task.kind}' is not available on this worker`, { source: 'engine' }) };
}

function cancelledAttempt(rt: RunContext, task: Task, coords: AttemptCoords, startedAt: number): AttemptResult {
  return { outcome: buildOutcome(rt, task, coords, startedAt, { status: 'error', error: makeError('cancelled', 'CANCELLED', 'cancelled') }), cancelled: true };
}

/** The outcome of a tool result with the workbook `returns` assert (R15.3) and the KK.3 invalidation. */
function outcomeOf(rt: RunContext, task: Task, coords: AttemptCoords, startedAt: number, tool: ToolOutcome, asserts: WorkbookAsserts | undefined): Outcome {
  let outcome = buildOutcome(rt, task, coords, startedAt, tool);
  if (outcome.status === 'ok' && asserts?.returns?.length) {
    const missing = asserts.returns.filter((k) => !isPlainObject(outcome.data) || !Object.prototype.hasOwnProperty.call(outcome.data, k));
    if (missing.length) {
      outcome = { ...outcome, status: 'error', error: makeError('schema', 'ASSERT_RETURNS', `workbook task ${task.name}: result lacks ${missing.map((k) => `'${k}'`).join(', ')}`, { source: 'engine' }) };
    }
  }
  // KK.3: a 401 from a task that used keychain entries invalidates them so a retry fetches fresh values
  const used = rt.keychain.takeUsed();
  if (outcome.error?.http_status === 401) for (const name of used) rt.keychain.invalidate(name);
  return outcome;
}

/** Externalizes the data of an outcome that does not stay inline (T7.7–T7.9). */
async function storeOutcome(rt: RunContext, task: Task, coords: AttemptCoords, spec: Record<string, unknown>, outcome: Outcome): Promise<Outcome> {
  const { deps, command } = rt;
  try {
    const { ref } = await externalize(deps, rt.secrets, command, () => `${entityBase(command, rt.delivery.epoch)}/${sanitize(task.name)}/v${coords.visit}-a${coords.attempt}`, outcome.data, taskResultLimits(command, spec));
    return ref ? { ...outcome, ref } : outcome;
  } catch (e) {
    const err = errorFromThrown(e, 'internal', 'RESULT_STORE_FAILED');
    const failed: Outcome = { ...outcome, status: 'error', data: undefined, error: redactError(rt, err) };
    delete failed.data;
    return failed;
  }
}

/** The input snapshot is redacted at the end, with every secret resolved during the attempt (auth included). */
function attemptResult(rt: RunContext, outcome: Outcome, input: Record<string, unknown> | undefined): AttemptResult {
  return { outcome, renderedInput: input === undefined ? undefined : isEmptyObject(input) ? NO_INPUT : capSnapshot(rt.secrets.redactDeep(input)), cancelled: false };
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
  readonly results: ToolContext['results'];
  readonly children: ToolContext['children'];
  readonly #rt: RunContext;
  readonly #abort: LazyAbort;
  readonly #iterScope: Record<string, unknown> | null;
  #iter: Record<string, unknown> | null | undefined;
  #resolveAuth: ((ref: unknown) => Promise<Credential>) | undefined;

  constructor(rt: RunContext, task: Task, coords: AttemptCoords, spec: Record<string, unknown>, abort: LazyAbort) {
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
    this.results = deps.results;
    this.children = deps.children;
    this.#rt = rt;
    this.#abort = abort;
    // the scope's iter is replaced, never mutated, by `set`: this reference is the attempt's view
    this.#iterScope = command.iteration ? rt.scope.iter : null;
  }

  // methods on the prototype (no four closures per attempt); tools call them as `ctx.method(...)`
  resolveAuth(ref: unknown): Promise<Credential> {
    const rt = this.#rt;
    this.#resolveAuth ??= createAuthResolver({ keychain: rt.keychain, credentials: rt.deps.credentials, secrets: rt.secrets });
    return this.#resolveAuth(ref);
  }

  registerSecret(v: string): void {
    this.#rt.secrets.add(v);
  }

  redact(t: string): string {
    return this.#rt.secrets.redact(t);
  }

  log(line: string): void {
    this.#rt.deps.log?.(this.#rt.secrets.redact(line));
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get iter(): Record<string, unknown> | null {
    if (this.#iter === undefined) this.#iter = this.#iterScope ? (materialize(this.#iterScope, this.#rt.hydrate) as Record<string, unknown>) : null;
    return this.#iter;
  }
}

/**
 * The rest of a tool call still running after its first microtask: resolves to its outcome, or
 * 'cancelled' when the delivery signal aborts first, or a `timeout` error when it does not settle
 * within the effective timeout + grace (T9.5), counted from here.
 *
 * Hot path: most in-process tools (noop, and any tool whose promise is already settled when it
 * returns) have settled by then (runAttempt checks), so the race — a timer, an abort callback, a
 * promise — is armed only for the others.
 */
async function invoke(rt: RunContext, task: Task, config: Record<string, unknown>, spec: Record<string, unknown>, call: ToolCall): Promise<ToolOutcome | 'cancelled'> {
  const { deps, command, delivery } = rt;
  // the run's tool signal: aborted by cancellation (forwarded in runCommand) or by a hard
  // timeout, after which the next attempt gets a fresh one (cheaper than AbortSignal.any per attempt)
  const local = rt.toolAbort;
  const timeoutS = effectiveTimeoutS(task.kind, config, spec, command.limits.default_timeout_s);
  const hardMs = Math.ceil(timeoutS * 1000) + (deps.timeoutGraceMs ?? DEFAULT_GRACE_MS);
  const r = await call.race(delivery.signal, hardMs);
  if (r === 'timeout') {
    local.abort('timeout');
    rt.toolAbort = new LazyAbort(delivery.signal);
    return { status: 'error', error: makeError('timeout', 'TOOL_TIMEOUT', `task ${task.name}: tool did not finish within ${timeoutS}s`, { source: 'engine' }) };
  }
  return toolResult(rt, local, call);
}

/** The outcome of a settled tool call ('cancelled' when the delivery was cancelled meanwhile). */
function toolResult(rt: RunContext, local: LazyAbort, call: ToolCall): ToolOutcome | 'cancelled' {
  const signal = rt.delivery.signal;
  if (call.cancelled || signal.aborted) {
    local.abort(signal.reason);
    return 'cancelled';
  }
  if (call.failed) return { status: 'error', error: errorFromThrown(call.error) };
  return call.value as ToolOutcome;
}

/**
 * One tool call's settlement, first of: the tool's promise, the delivery's cancellation, the hard
 * timeout (the last two only once `race` is called).
 */
class ToolCall {
  settled = false;
  cancelled = false;
  failed = false;
  value: unknown = undefined;
  error: unknown = undefined;
  #wake: ((r: 'done' | 'timeout') => void) | null = null;

  /** calls the tool; a synchronous throw counts as a failed call */
  start(handler: ToolHandler, config: Record<string, unknown>, ctx: ToolContext): void {
    try {
      // Promise.resolve: a tool that (against its type) returns a plain outcome still works
      Promise.resolve(handler.run(config, ctx)).then(
        (v: unknown) => this.settle(false, v),
        (e: unknown) => this.settle(true, e),
      );
    } catch (e) {
      this.settle(true, e);
    }
  }

  private settle(failed: boolean, v: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (failed) {
      this.failed = true;
      this.error = v;
    } else {
      this.value = v;
    }
    this.#wake?.('done');
  }

  /** waits for the tool, a cancellation of `signal` or `hardMs`; the timer and the abort callback are removed after */
  race(signal: AbortSignal, hardMs: number): Promise<'done' | 'timeout'> {
    const onCancel = (): void => {
      if (this.settled) return;
      this.settled = true;
      this.cancelled = true;
      this.#wake?.('done');
    };
    if (signal.aborted) onCancel();
    if (this.settled) return Promise.resolve('done');
    return new Promise<'done' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => {
        if (this.settled) return;
        this.settled = true;
        this.#wake?.('timeout');
      }, hardMs);
      this.#wake = (r) => {
        this.#wake = null;
        clearTimeout(timer);
        offAbort(signal, onCancel);
        resolve(r);
      };
      onAbort(signal, onCancel);
    });
  }
}

/**
 * The effective task spec of R5.1: kind defaults, then the layered `base_spec`, then the task's own
 * spec (deepMerge). deepMerge only recurses where both sides hold a mapping, so without kind
 * defaults and with one side empty — the common case — the result is a shallow copy of the other
 * side: made directly, without the two intermediate merges. `empty`: the result when both are
 * empty (a shared frozen one where no tool context carries it).
 */
function effectiveSpec(task: Task, base: Record<string, unknown> | undefined, empty?: Record<string, unknown>): Record<string, unknown> {
  const kindDefaults = KIND_DEFAULT_SPEC[task.kind];
  const own = task.spec;
  if (kindDefaults === undefined && (base === undefined || isPlainObject(base)) && (own === undefined || isPlainObject(own))) {
    const noBase = base === undefined || isEmptyObject(base);
    const noOwn = own === undefined || isEmptyObject(own);
    if (noBase) return noOwn ? (empty ?? {}) : { ...own };
    if (noOwn) return { ...base };
    return deepMerge(base, own) as Record<string, unknown>; // deepMerge({}, base) is a copy of base
  }
  return deepMerge(deepMerge(kindDefaults ?? {}, base ?? {}), own ?? {}) as Record<string, unknown>;
}

function isEmptyObject(o: Record<string, unknown>): boolean {
  for (const k in o) if (Object.prototype.hasOwnProperty.call(o, k)) return false;
  return true;
}

const CORE_META = new Set(['task', 'kind', 'attempt', 'started_at', 'finished_at', 'duration_ms', 'worker_id']);

/** §7.1 outcome from a tool result; error, helpers and tool meta are redacted (T7.21), data is not (T7.22). */
function buildOutcome(rt: RunContext, task: Task, coords: AttemptCoords, startedAt: number, tool: ToolOutcome): Outcome {
  const finishedAt = clockMs(rt.deps);
  const startedIso = isoOfMs(startedAt);
  const meta: OutcomeMeta = {
    task: task.name,
    kind: task.kind,
    attempt: coords.attempt,
    started_at: startedIso,
    finished_at: finishedAt === startedAt ? startedIso : isoOfMs(finishedAt),
    duration_ms: Math.max(0, finishedAt - startedAt),
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
  // key order of §7.1: status, data, error, ref, meta, helpers; one literal per shape (a
  // conditional spread copies through a slow path)
  let ordered: Outcome;
  if (status === 'ok') ordered = { status, data: tool.data === undefined ? null : tool.data, error: null, ref: null, meta };
  else if (tool?.data !== undefined) ordered = { status, data: tool.data, error: redactError(rt, error as ErrorObject), ref: null, meta };
  else ordered = { status, error: redactError(rt, error as ErrorObject), ref: null, meta };
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
