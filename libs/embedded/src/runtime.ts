import { join, resolve } from 'node:path';
import { makeError, NoetlError, newUlid, type ErrorObject, type ResultRef } from '@noetl/common';
import type { NormalizedPlaybook } from '@noetl/dsl';
import { ids, type Command, type ControlMessage, type NoetlEvent, type ParentLink } from '@noetl/events';
import { createFsResultStore, type FsResultStore, type ResultStore } from '@noetl/results';
import type { ChildExecutionRequest, ChildExecutionResult, ChildExecutions, ToolRegistry } from '@noetl/tools';
import { ControlChannel, WorkQueue } from './bus';
import { FileCatalog, type CatalogEntry } from './catalog';
import { createDefaultTools } from './tools-entry';
import { createCredentialStore } from './credentials';
import { buildDocument, errorWithStep, materializeLoopResult, writeDocumentJson } from './document';
import { isTerminal, newState, processInput, summary, type ExecutionState } from './engine-port';
import { hydrateDeep, readFsRefSync } from './hydrate';
import { EventLog } from './log';
import { TimerService } from './timers';
import {
  PlaybookRejectedError, type EmbeddedRuntime, type EmbeddedRuntimeOptions, type ExecutionOutcome, type RunDocument, type SubmitOptions,
  type SubmitTarget, type TerminalStatus,
} from './types';
import type { WorkerPool } from './workers';

interface ExecRecord {
  id: string;
  rootId: string;
  parentId?: string;
  entry: CatalogEntry;
  state: ExecutionState;
  waiters: Set<{ resolve(o: ExecutionOutcome): void }>;
  children: Set<string>;
  cascaded: boolean;
  /** set when the engine failed and could not even record execution.failed */
  crash?: ErrorObject;
}

/** A child start failure with the error kind the playbook tool reports (tools.md §2.4). */
class ChildStartError extends NoetlError {
  constructor(
    readonly kind: 'not_found' | 'config',
    code: string,
    message: string,
  ) {
    super(code, message);
  }
}

/** Inputs processed per macrotask before yielding to I/O (keeps timers and sockets responsive). */
const DRAIN_BATCH = 256;
/** Drains in a row run as microtasks before one waits for the event loop (see scheduleDrain). */
const MICRO_DRAINS = 64;

const SCHEDULER_ID = 'embedded-scheduler';
const API_ID = 'embedded-api';

/** The worker pool module, loaded on first use (a run that never dispatches work skips it). A
 * literal specifier so bundlers (esbuild) include it. */
function loadWorkersModule(): typeof import('./workers') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('./workers') as typeof import('./workers');
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error(typeof reason === 'string' ? reason : 'aborted');
  e.name = 'AbortError';
  return e;
}

/**
 * The engine in one process (`noetl run`): the pure scheduler of @noetl/engine fed from one inbox
 * (api and worker events) and N worker loops of @noetl/worker-runtime, over an in-memory bus with
 * the mesh's semantics. The scheduler is the single writer of the log: for each input it appends
 * the input, processes it, appends the events it emitted, arms/clears timers, broadcasts controls,
 * then publishes the commands (outbox order, T4.1).
 */
/** a settled promise: `.then` on it queues a microtask (scheduleDrain) */
const SETTLED: Promise<void> = Promise.resolve();

export function createEmbeddedRuntime(opts: EmbeddedRuntimeOptions = {}): EmbeddedRuntime {
  const cwd = opts.cwd ?? process.cwd();
  const env = opts.env ?? process.env;
  const now = opts.now ?? (() => new Date());
  const logLine = opts.log ?? (() => undefined);
  const home = env.NOETL_HOME ? resolve(cwd, env.NOETL_HOME) : join(cwd, '.noetl');
  const results: ResultStore = opts.resultStore ?? createFsResultStore({ root: join(home, 'results') });
  const ownTools = !opts.tools;
  let tools: ToolRegistry | null = opts.tools ?? null;
  // tools and the worker runtime load on first use: `noetl replay` and library users that only
  // read logs never pay for the drivers (duckdb, nats, pg, undici)
  const getTools = (): ToolRegistry => (tools ??= createDefaultTools({ env }));
  const credentials = createCredentialStore(opts.credentials ?? {});
  const catalog = new FileCatalog({ dirs: opts.catalogDirs ?? [], cwd });
  const hydrate = (ref: ResultRef): unknown => readFsRefSync(ref);

  const log = new EventLog(opts.eventLog);
  const execs = new Map<string, ExecRecord>();
  const byRequest = new Map<string, string>();
  const inbox: NoetlEvent[] = [];
  let draining = false;
  let drainScheduled = false;
  /** drains scheduled as microtasks since the last `setImmediate` one (see scheduleDrain) */
  let microDrains = 0;
  let closed = false;
  /** close() is waiting for the workers: their events are still taken into the inbox (then stored) */
  let closing = false;

  const control = new ControlChannel<ControlMessage>();
  const queue = new WorkQueue<Command>({
    ackWaitMs: opts.ackWaitMs ?? 60_000,
    maxDeliver: opts.maxDeliver ?? 3,
    // The mesh's 2-minute Nats-Msg-Id window guards against a restarted scheduler re-publishing the
    // commands it re-derives (T8.3, T4.1). Here the one scheduler publishes each command once, when
    // its *.scheduled event is appended, and is never restarted: a publish of a command that is
    // still queued or running is dropped, and no id is kept after its ack (the window would keep
    // every command id of the last 2 minutes in memory, ~100 B per command).
    duplicateWindowMs: 0,
    onMaxDeliver: ({ data: cmd, deliveries }) => {
      // T8.14: the scheduler answers with step.failed / loop.iteration.failed (worker_lost)
      const ev = {
        v: 1,
        event_id: ids.lost(cmd.command_id),
        event_type: 'x.command.dead_lettered',
        ts: now().toISOString(),
        execution_id: cmd.execution_id,
        root_execution_id: cmd.root_execution_id,
        ...(cmd.parent_execution_id ? { parent_execution_id: cmd.parent_execution_id } : {}),
        source: 'scheduler',
        producer_id: SCHEDULER_ID,
        step: cmd.step,
        step_run_id: cmd.step_run_id,
        ...(cmd.iteration ? { loop_id: cmd.iteration.loop_id, iteration_id: cmd.iteration.iteration_id, iteration_index: cmd.iteration.index } : {}),
        command_id: cmd.command_id,
        status: 'error',
        payload: {
          command_id: cmd.command_id,
          step_run_id: cmd.step_run_id,
          ...(cmd.iteration ? { iteration_id: cmd.iteration.iteration_id } : {}),
          deliveries,
        },
      } as NoetlEvent;
      enqueue(ev);
    },
  });
  // the payload stays the engine's (timer requests): the inbox gets a copy the log may adopt
  const timers = new TimerService<NoetlEvent>((t) => enqueue({ ...t.payload }));

  // ------------------------------------------------------------------ scheduler loop
  /**
   * Queues an input. The inbox owns what it is given (the log stores inbox events as they are,
   * with `seq` added, see EventLog.adopt): pass events nobody else holds — worker events, api and
   * dead-letter events built here, engine events addressed to another execution — or a copy.
   */
  function enqueue(ev: NoetlEvent): void {
    if (closed && !closing) return;
    inbox.push(ev);
    scheduleDrain();
  }

  /**
   * Inputs arrive from code already running in this process (a worker's emit, a timer, the api),
   * so the drain is a microtask: the scheduler answers within the same turn of the event loop
   * instead of one `setImmediate` hop (a libuv loop iteration) per input batch — measured ~5 µs
   * per step of a noop chain. Every MICRO_DRAINS-th drain in a row goes through `setImmediate` so
   * that timers (ack-wait, deadlines), I/O and the GC's tasks still get their turn while a chain of
   * in-process work never leaves the microtask queue. The microtask is a reaction on a settled
   * promise, not `queueMicrotask` (which wraps each callback in an AsyncResource and a bound
   * function: ~450 B per step of garbage); `drain` catches what an input throws.
   */
  function scheduleDrain(): void {
    if (drainScheduled || draining) return;
    drainScheduled = true;
    if (++microDrains < MICRO_DRAINS) void SETTLED.then(runScheduledDrain);
    else {
      microDrains = 0;
      setImmediate(runScheduledDrain);
    }
  }

  function runScheduledDrain(): void {
    drainScheduled = false;
    drain();
  }

  /** Processes queued inputs one at a time. Re-entrant calls return at once (the outer loop continues). */
  function drain(): void {
    if (draining || closed) return;
    draining = true;
    try {
      let n = 0;
      while (inbox.length > 0 && !closed) {
        if (++n > DRAIN_BATCH) {
          scheduleDrainAfter();
          break;
        }
        const ev = inbox.shift() as NoetlEvent;
        try {
          processOne(ev);
        } catch (e) {
          logLine(`scheduler: failed to process ${ev.event_type} ${ev.event_id}: ${(e as Error)?.stack ?? String(e)}`);
          engineFailure(ev, e);
        }
      }
    } finally {
      draining = false;
    }
  }

  function scheduleDrainAfter(): void {
    drainScheduled = true;
    microDrains = 0;
    setImmediate(runScheduledDrain);
  }

  let lastMs = Number.NaN;
  let lastIso = '';
  /** `now().toISOString()`, memoized per millisecond (many inputs are processed within one) */
  function nowIso(): string {
    const d = opts.now ? now() : null; // the default clock: no Date per input
    const ms = d ? d.getTime() : Date.now();
    if (ms !== lastMs) {
      lastIso = (d ?? new Date(ms)).toISOString();
      lastMs = ms;
    }
    return lastIso;
  }

  // T7.20: large ctx values are stored synchronously (durable before the event is appended) when
  // the store can; a store without putSync leaves them inline.
  const putSync = (results as Partial<FsResultStore>).putSync;
  const storeValue = putSync ? (loc: { executionId: string; entity: string }, value: unknown): ResultRef => putSync(loc, value) : undefined;

  function engineEnv(seq: number) {
    // one literal per shape (a conditional spread per input costs a slow object copy)
    return storeValue ? { seq, now: nowIso(), producerId: SCHEDULER_ID, hydrate, storeValue } : { seq, now: nowIso(), producerId: SCHEDULER_ID, hydrate };
  }

  function documentOf(executionId: string, withEvents: boolean): RunDocument {
    const exec = execs.get(executionId);
    if (!exec) throw new NoetlError('NOT_FOUND', `unknown execution ${executionId}`);
    const doc = buildDocument(exec.state, withEvents ? log.events(executionId) : [], hydrate);
    return exec.crash ? { ...doc, status: 'failed', error: exec.crash } : doc;
  }

  function processOne(input: NoetlEvent): void {
    const exec = execs.get(input.execution_id);
    if (!exec) {
      logLine(`scheduler: dropping ${input.event_type} for unknown execution ${input.execution_id}`);
      return;
    }
    const logged = log.adopt(input); // inbox events are owned (see enqueue): no copy
    if (!logged) return; // duplicate event id (T10.1)
    if (isTerminal(exec.state)) return; // stored, never changes a terminal execution (T3.1)
    const before = exec.state.status;
    const r = processInput(exec.state, exec.entry.playbook, logged, engineEnv(logged.seq));
    exec.state = r.state;
    for (const out of r.events) {
      if (out.execution_id !== exec.id) enqueue({ ...out }); // addressed to another execution: its input
      else log.adopt(out); // the engine does not keep its returned events: stored as they are, with seq
    }
    for (const id of r.timers.clear) timers.clear(id);
    for (const t of r.timers.set) {
      try {
        timers.clear(t.id); // a re-armed timer may have moved
        timers.set(t.id, t.at, t.input);
      } catch (e) {
        logLine(`scheduler: bad timer ${t.id}: ${(e as Error).message}`);
      }
    }
    for (const c of r.controls) {
      if (!c.step_run_id) control.setFlag(c);
      control.publish(c);
    }
    for (const cmd of r.commands) queue.publish(cmd.command_id, cmd);
    if (exec.state.status === 'cancelling' && before !== 'cancelling') cascadeCancel(exec);
    if (isTerminal(exec.state)) finish(exec);
  }

  /**
   * The engine threw on an input (a bug, never a playbook property): end the execution as failed
   * (kind internal, ENGINE_ERROR) through an `execution.failed` event, so waiters never hang and
   * the log says why. If even that cannot be folded, the shell records the failure itself.
   */
  function engineFailure(input: NoetlEvent, e: unknown): void {
    const exec = execs.get(input.execution_id);
    if (!exec || isTerminal(exec.state) || exec.crash) return;
    const seq = log.length(exec.rootId);
    const error = { ...makeError('internal', 'ENGINE_ERROR', `scheduler failed on ${input.event_type} ${input.event_id}: ${(e as Error)?.message ?? String(e)}`), details: { phase: 'run' } };
    const ev = {
      v: 1,
      event_id: `${exec.id}/s/${seq}.9999`,
      event_type: 'execution.failed',
      ts: now().toISOString(),
      execution_id: exec.id,
      root_execution_id: exec.rootId,
      ...(exec.parentId ? { parent_execution_id: exec.parentId } : {}),
      source: 'scheduler',
      producer_id: SCHEDULER_ID,
      causation_id: input.event_id,
      status: 'error',
      payload: { error, phase: 'run', failed_steps: [] },
    } as NoetlEvent;
    const logged = log.append(ev);
    try {
      if (logged) exec.state = processInput(exec.state, exec.entry.playbook, logged, engineEnv(logged.seq)).state;
    } catch {
      // fall through to the shell-side record
    }
    if (!isTerminal(exec.state)) exec.crash = error;
    finish(exec);
  }

  /** runtime.md §11 step 2: cancel non-terminal children when the cancel request cascades. */
  function cascadeCancel(exec: ExecRecord): void {
    if (exec.cascaded || exec.state.cancel?.cascade === false) return;
    exec.cascaded = true;
    for (const childId of exec.children) {
      const child = execs.get(childId);
      if (child && !isTerminal(child.state)) {
        requestCancel(child, `parent execution ${exec.id} cancelled`, { cascade: true, origin: exec.id });
      }
    }
  }

  function finish(exec: ExecRecord): void {
    timers.clearWhere((t) => t.payload.execution_id === exec.id);
    const outcome = outcomeOf(exec);
    for (const w of [...exec.waiters]) w.resolve(outcome);
    exec.waiters.clear();
  }

  function outcomeOf(exec: ExecRecord): ExecutionOutcome {
    const s = exec.state;
    if (exec.crash) return { executionId: exec.id, status: 'failed', error: exec.crash, result: null };
    let result: unknown = materializeLoopResult(s.result ?? null, hydrate);
    if (s.result_ref) {
      try {
        result = hydrateDeep(s.result_ref, hydrate);
      } catch (e) {
        logLine(`execution ${exec.id}: cannot hydrate the execution result: ${(e as Error).message}`);
        result = s.result_ref;
      }
    }
    return { executionId: exec.id, status: s.status as TerminalStatus, error: errorWithStep(s), result };
  }

  // ------------------------------------------------------------------ api
  function apiEvent(executionId: string, rootId: string, parentId: string | undefined, type: NoetlEvent['event_type'], payload: unknown): NoetlEvent {
    return {
      v: 1,
      event_id: ids.api(executionId, newUlid()),
      event_type: type,
      ts: now().toISOString(),
      execution_id: executionId,
      root_execution_id: rootId,
      ...(parentId ? { parent_execution_id: parentId } : {}),
      source: 'api',
      producer_id: API_ID,
      status: 'in_progress',
      payload,
    } as NoetlEvent;
  }

  function requestCancel(exec: ExecRecord, reason: string, o: { cascade?: boolean; origin?: string; by?: string } = {}): boolean {
    if (isTerminal(exec.state) || exec.state.status === 'cancelling') return false;
    const payload: Record<string, unknown> = { reason, cascade: o.cascade ?? true, requested_by: o.by ?? 'embedded' };
    if (o.origin) payload.origin_execution_id = o.origin;
    enqueue(apiEvent(exec.id, exec.rootId, exec.parentId, 'execution.cancel_requested', payload));
    drain();
    return true;
  }

  function loadTarget(target: SubmitTarget): CatalogEntry {
    if (typeof target === 'string' || 'file' in target && !('playbook' in target)) {
      const file = typeof target === 'string' ? target : (target as { file: string }).file;
      const r = catalog.load(resolve(cwd, file));
      if (!r.ok) throw new PlaybookRejectedError(file, r.diagnostics);
      return r.entry;
    }
    const t = target as { playbook: NormalizedPlaybook; file?: string; source?: string };
    const entry: CatalogEntry = {
      file: t.file ? resolve(cwd, t.file) : join(cwd, `${t.playbook.metadata.name}.yaml`),
      source: t.source ?? '',
      playbook: t.playbook,
      catalogId: `local:${t.playbook.digest.replace(/^sha256:/, '').slice(0, 16)}`,
      diagnostics: [],
    };
    catalog.register(entry);
    return entry;
  }

  function start(
    entry: CatalogEntry,
    payload: Record<string, unknown>,
    o: SubmitOptions & { parent?: ParentLink; rootId?: string },
  ): string {
    if (closed) throw new NoetlError('E_RUNTIME_CLOSED', 'embedded runtime is closed');
    if (o.requestId && byRequest.has(o.requestId)) return byRequest.get(o.requestId) as string;
    const id = o.executionId ?? newUlid();
    const rootId = o.rootId ?? id;
    const parentId = o.parent?.execution_id;
    const exec: ExecRecord = { id, rootId, parentId, entry, state: newState(id), waiters: new Set(), children: new Set(), cascaded: false };
    execs.set(id, exec);
    if (o.requestId) byRequest.set(o.requestId, id);
    if (parentId) execs.get(parentId)?.children.add(id);
    const md = entry.playbook.metadata;
    const reqPayload: Record<string, unknown> = {
      playbook: { path: md.path, ...(md.version !== undefined ? { version: md.version } : {}), catalog_id: entry.catalogId },
      workload: payload,
      ctx: o.ctx ?? {},
      requested_by: o.requestedBy ?? 'embedded',
      labels: { file: entry.file },
    };
    if (o.parent) reqPayload.parent = o.parent;
    if (o.requestId) reqPayload.request_id = o.requestId;
    enqueue(apiEvent(id, rootId, parentId, 'execution.requested', reqPayload));
    drain();
    return id;
  }

  // ------------------------------------------------------------------ child executions (runtime.md §12)
  const children: ChildExecutions = {
    async start(req: ChildExecutionRequest) {
      const known = byRequest.get(req.requestId);
      if (known) return { executionId: known };
      const parent = execs.get(req.parent.executionId);
      if (!parent) throw new ChildStartError('config', 'CHILD_PARENT_UNKNOWN', `parent execution ${req.parent.executionId} is unknown to this runtime`);
      let entry: CatalogEntry | undefined;
      if (req.catalogId) {
        entry = catalog.byCatalogId(req.catalogId);
        if (!entry) throw new ChildStartError('not_found', 'PLAYBOOK_NOT_FOUND', `playbook catalog id ${req.catalogId} not found`);
      } else if (req.path) {
        const found = catalog.resolvePath(req.path, parent.entry.file);
        if (found.file === null) throw new ChildStartError('not_found', 'PLAYBOOK_NOT_FOUND', `playbook '${req.path}' not found (tried ${found.tried.join(', ')})`);
        const r = catalog.load(found.file);
        if (!r.ok) {
          const errs = r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message} (line ${d.line})`);
          throw new ChildStartError('config', 'PLAYBOOK_INVALID', `playbook '${req.path}' (${found.file}) is invalid: ${errs.join('; ')}`);
        }
        entry = r.entry;
      } else {
        throw new ChildStartError('config', 'PLAYBOOK_PATH_MISSING', 'kind: playbook needs `path` or a catalog id');
      }
      const id = start(entry, req.input, {
        ctx: req.ctx,
        requestId: req.requestId,
        rootId: parent.rootId,
        requestedBy: `execution ${parent.id}`,
        parent: {
          execution_id: parent.id,
          step_run_id: req.parent.stepRunId,
          task_run_id: req.parent.taskRunId,
          iter: req.parent.iter,
          root_execution_id: parent.rootId,
        },
      });
      return { executionId: id };
    },
    async wait(executionId: string, signal: AbortSignal): Promise<ChildExecutionResult> {
      const outcome = await rt.waitForTerminal(executionId, signal);
      const exec = execs.get(executionId) as ExecRecord;
      // latest successful result of each step (for return_step), through the engine's summary
      const stepResults: Record<string, unknown> = {};
      for (const [name, rec] of Object.entries(summary(exec.state, hydrate).steps)) {
        if (rec.result !== null || rec.status === 'done') stepResults[name] = materializeLoopResult(rec.result, hydrate);
      }
      return { executionId, status: outcome.status, result: outcome.result, error: outcome.error, stepResults };
    },
    async cancel(executionId: string, reason: string) {
      const exec = execs.get(executionId);
      if (exec) requestCancel(exec, reason, { by: 'parent' });
    },
  };

  /** `children` whose `wait` releases the worker slot while it waits (see startWorkers: parking) */
  const parkingChildren = (park: () => () => void): ChildExecutions => ({
    start: children.start,
    cancel: children.cancel,
    async wait(executionId, signal) {
      const unpark = park();
      try {
        return await children.wait(executionId, signal);
      } finally {
        unpark();
      }
    },
  });

  // ------------------------------------------------------------------ workers
  let pool: WorkerPool | null = null;
  const ensureWorkers = (): void => {
    if (pool || closed) return;
    pool = loadWorkersModule().startWorkers({
      count: opts.workers ?? 4,
      queue,
      control,
      heartbeatMs: opts.heartbeatMs ?? 15_000,
      log: logLine,
      nowMs: opts.now ? () => now().getTime() : Date.now,
      deps: (workerId, park) => ({
        workerId,
        tools: getTools(),
        results,
        hydrate,
        credentials,
        children: parkingChildren(park),
        // the inbox takes the event synchronously: no promise per event (see WorkerDeps.emit)
        emit: (ev: NoetlEvent): void => enqueue(ev),
        now,
        // the system clock without a Date per reading (a custom `now` is used as given)
        nowMs: opts.now ? undefined : Date.now,
        sleep: (ms: number, signal: AbortSignal) =>
          new Promise<void>((res, rej) => {
            if (signal.aborted) return rej(abortError(signal));
            const t = setTimeout(() => {
              signal.removeEventListener('abort', onAbort);
              res();
            }, ms);
            const onAbort = () => {
              clearTimeout(t);
              rej(abortError(signal));
            };
            signal.addEventListener('abort', onAbort, { once: true });
          }),
        log: logLine,
        strict: opts.strict,
      }),
    });
  };

  // ------------------------------------------------------------------ public surface
  const rt: EmbeddedRuntime = {
    async submit(target, payload = {}, o = {}) {
      const entry = loadTarget(target);
      ensureWorkers();
      return start(entry, payload, o);
    },

    waitForTerminal(executionId, signal) {
      const exec = execs.get(executionId);
      if (!exec) return Promise.reject(new NoetlError('NOT_FOUND', `unknown execution ${executionId}`));
      if (isTerminal(exec.state) || exec.crash) return Promise.resolve(outcomeOf(exec));
      if (signal?.aborted) return Promise.reject(abortError(signal));
      return new Promise<ExecutionOutcome>((res, rej) => {
        const w = {
          resolve: (o: ExecutionOutcome) => {
            signal?.removeEventListener('abort', onAbort);
            res(o);
          },
        };
        const onAbort = () => {
          exec.waiters.delete(w);
          rej(abortError(signal as AbortSignal));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        exec.waiters.add(w);
      });
    },

    async settle(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while ((pool?.running ?? 0) > 0 || inbox.length > 0) {
        if (Date.now() >= until) return false;
        await new Promise((r) => setTimeout(r, 5));
      }
      return true;
    },

    liveDescendants(executionId) {
      const out: string[] = [];
      const walk = (id: string): void => {
        const exec = execs.get(id);
        if (!exec) return;
        for (const child of exec.children) {
          const c = execs.get(child);
          if (c && !isTerminal(c.state) && !c.crash) out.push(child);
          walk(child);
        }
      };
      walk(executionId);
      return out;
    },

    async waitForDescendants(executionId, signal) {
      // children started while waiting (a live child's own sub-playbooks) are found on the next pass
      for (let live = rt.liveDescendants(executionId); live.length > 0; live = rt.liveDescendants(executionId)) {
        await Promise.all(live.map((id) => rt.waitForTerminal(id, signal)));
      }
    },

    async cancel(executionId, reason = 'cancelled by request') {
      const exec = execs.get(executionId);
      if (!exec) return false;
      return requestCancel(exec, reason, { by: 'user' });
    },

    events: (executionId) => log.events(executionId),
    treeEvents: (rootId) => log.tree(rootId),

    iterateEvents: (executionId) => log.iterate(executionId),

    async document(executionId, opts): Promise<RunDocument> {
      return documentOf(executionId, opts?.events !== false);
    },

    writeDocument: (executionId, write) => writeDocumentJson(documentOf(executionId, false), log.jsonLines(executionId), write),

    status: (executionId) => execs.get(executionId)?.state.status,
    subscribe: (fn) => log.subscribe(fn),
    toolKinds: () => getTools().kinds(),

    async close() {
      if (closed) return;
      closed = true;
      // workers still stopping (a cancelled command finishing its pipeline) emit their last events
      // after the execution ended: they are stored (a terminal execution's log still takes events,
      // T3.1), not processed, so the log and --events-out keep them
      closing = true;
      timers.close();
      queue.close();
      await pool?.stop(5_000);
      closing = false;
      for (const ev of inbox) {
        const exec = execs.get(ev.execution_id);
        if (exec && isTerminal(exec.state)) log.adopt(ev);
      }
      inbox.length = 0;
      control.close();
      for (const exec of execs.values()) {
        for (const w of [...exec.waiters]) w.resolve(outcomeOf(exec));
      }
      if (ownTools && tools) {
        // a cancelled shell command that ignores SIGTERM is given its grace before SIGKILL (runtime §11 step 3)
        const slow = setTimeout(() => logLine('waiting for cancelled tool processes to stop (SIGTERM sent; SIGKILL after the 5 s grace)'), 500);
        await tools.close().catch((e: unknown) => logLine(`closing tools: ${(e as Error).message}`));
        clearTimeout(slow);
      }
      log.close(); // removes the spill files (events still in memory stay readable)
    },
  };
  return rt;
}
