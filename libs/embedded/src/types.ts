import type { Diagnostic, ErrorObject } from '@noetl/common';
import type { NormalizedPlaybook } from '@noetl/dsl';
import type { LoggedEvent } from '@noetl/events';
import type { ResultStore } from '@noetl/results';
import type { ToolRegistry } from '@noetl/tools';
import type { CredentialMap } from './credentials';
import type { EventLogOptions } from './log';

export type TerminalStatus = 'completed' | 'failed' | 'cancelled';

/**
 * The `noetl run --json` document (conformance README): one per execution, built from the
 * engine's summary, the execution's events in log order and hydrated step results.
 */
export interface RunDocument {
  execution_id: string;
  status: TerminalStatus | 'running' | 'failing' | 'cancelling' | string;
  error: (ErrorObject & { step?: string }) | null;
  ctx: Record<string, unknown>;
  steps: Record<string, { status?: string; runs: number; result: unknown }>;
  events: LoggedEvent[];
}

/** The document printed for a playbook rejected before it runs (exit 2). */
export interface InvalidDocument {
  status: 'invalid';
  diagnostics: Diagnostic[];
}

export interface EmbeddedRuntimeOptions {
  /** tool kinds; default: every kind @noetl/tools provides (closed by `close()` when defaulted) */
  tools?: ToolRegistry;
  /** default: `createFsResultStore` under `$NOETL_HOME/results` or `./.noetl/results` */
  resultStore?: ResultStore;
  /** the credential store (`--credentials`, `NOETL_CREDENTIALS`) */
  credentials?: CredentialMap;
  /** worker loops (default 4) */
  workers?: number;
  /** `--catalog` dirs for `kind: playbook` paths */
  catalogDirs?: string[];
  /** strict templates (`--strict`) */
  strict?: boolean;
  /** command ack-wait (default 60 s), heartbeat (default 15 s) and max-deliver (default 3), runtime.md §8.10 */
  ackWaitMs?: number;
  heartbeatMs?: number;
  maxDeliver?: number;
  /** resolves relative paths (default process.cwd()) */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** clock (tests) */
  now?: () => Date;
  /** diagnostics of the runtime itself (worker crashes, ...) */
  log?: (line: string) => void;
  /**
   * The event log's memory bound: per execution tree, the newest `memoryEvents` events stay in
   * memory (default 8,192; fewer when their estimated JSON size passes `memoryBytes`, default
   * 32 MiB); older ones are serialized to a spill file under `spillDir` (default: a temp dir),
   * removed by `close()`. Reading the log (`events`, `treeEvents`, `document`) is unchanged;
   * spilled events are parsed back for it. `memoryEvents: Infinity` keeps everything in memory.
   */
  eventLog?: EventLogOptions;
}

/** What to run: a playbook file, or an already-loaded playbook. */
export type SubmitTarget = string | { file: string } | { playbook: NormalizedPlaybook; file?: string; source?: string };

export interface SubmitOptions {
  /** initial ctx (default {}) */
  ctx?: Record<string, unknown>;
  /** idempotency key: the same key returns the same execution */
  requestId?: string;
  /** preset execution id (default: a new ULID) */
  executionId?: string;
  requestedBy?: string;
}

/** How an execution ended. */
export interface ExecutionOutcome {
  executionId: string;
  status: TerminalStatus;
  error: (ErrorObject & { step?: string }) | null;
  /** the execution result (dsl R16.4), hydrated */
  result: unknown;
}

/** Thrown by `submit` when the playbook is rejected before it runs. */
export class PlaybookRejectedError extends Error {
  constructor(
    readonly file: string | undefined,
    readonly diagnostics: Diagnostic[],
  ) {
    super(`playbook ${file ?? '<input>'} is invalid: ${diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`).join('; ')}`);
    this.name = 'PlaybookRejectedError';
  }
}

export interface EmbeddedRuntime {
  /** Starts an execution; resolves with its id once `execution.requested` is in the log. */
  submit(target: SubmitTarget, payload?: Record<string, unknown>, opts?: SubmitOptions): Promise<string>;
  /** Resolves when the execution is terminal (rejects if `signal` aborts first). */
  waitForTerminal(executionId: string, signal?: AbortSignal): Promise<ExecutionOutcome>;
  /**
   * Resolves true once no worker runs a command and no input waits (the workers of cancelled
   * commands have emitted their last events), false after `timeoutMs`.
   */
  settle(timeoutMs: number): Promise<boolean>;
  /**
   * Non-terminal executions started below this one (children, grandchildren...): children started
   * with `wait: false`, or still being cancelled after their parent ended.
   */
  liveDescendants(executionId: string): string[];
  /** Resolves when every execution below this one is terminal (rejects if `signal` aborts first). */
  waitForDescendants(executionId: string, signal?: AbortSignal): Promise<void>;
  /** Requests cancellation (runtime.md §11); no-op for a terminal or unknown execution. */
  cancel(executionId: string, reason?: string): Promise<boolean>;
  /** The execution's events so far, in log order. */
  events(executionId: string): readonly LoggedEvent[];
  /** Every event of the execution's tree (children included), in log order. */
  treeEvents(rootExecutionId: string): readonly LoggedEvent[];
  /**
   * The execution's events in log order as a lazy sequence (spilled events are read back one chunk
   * at a time): for walking a long run's log without holding it.
   */
  iterateEvents(executionId: string): Iterable<LoggedEvent>;
  /** The `--json` document (results hydrated); `events: false` leaves its `events` list empty. */
  document(executionId: string, opts?: { events?: boolean }): Promise<RunDocument>;
  /**
   * Writes `JSON.stringify(await document(executionId))` through `write`, in chunks: the events
   * are streamed from the log (spilled lines reused as written), so a document too large for one
   * string (a run of millions of events) can still be printed. `write` may return a promise
   * (backpressure), which is awaited.
   */
  writeDocument(executionId: string, write: (chunk: string) => void | Promise<void>): Promise<void>;
  /** Current status (`running`, ..., or undefined when unknown). */
  status(executionId: string): string | undefined;
  /** Observes every event appended to the log (progress output). */
  subscribe(fn: (e: LoggedEvent) => void): () => void;
  /** The tool kinds registered (conformance: cases that need a missing kind fail with that reason). */
  toolKinds(): string[];
  /** Stops workers and timers, closes tools it created. Running executions are abandoned. */
  close(): Promise<void>;
}
