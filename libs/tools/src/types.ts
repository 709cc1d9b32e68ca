import type { ErrorObject } from '@noetl/common';
import type { ResultStore } from '@noetl/results';

/** A resolved credential (credential store entry, keychain entry or inline auth). */
export interface Credential {
  type: string;
  data: Record<string, unknown>;
}

/** Kind helpers of runtime.md T7.5 (defined once, in @noetl/events). */
export type { OutcomeHelpers } from '@noetl/events';
import type { OutcomeHelpers } from '@noetl/events';

/**
 * What a tool returns for one attempt. The worker wraps it into the full outcome of runtime.md
 * §7.1 (adds `meta` task/kind/attempt/timings, `ref` when externalized). Tools never throw for
 * expected failures: they return `status: 'error'` with a classified error (T9.4). A tool that
 * throws anyway is normalized by the worker into kind `internal`.
 */
export interface ToolOutcome {
  status: 'ok' | 'error';
  /** REQUIRED on ok (may be null); optional partial data on error (T7.2) */
  data?: unknown;
  /** REQUIRED iff status is error */
  error?: ErrorObject;
  helpers?: OutcomeHelpers;
  /** extra meta for the outcome, e.g. stdout_tail/stderr_tail (already redacted) */
  meta?: Record<string, unknown>;
}

/** Child executions for `kind: playbook` (runtime.md §12); supplied by the embedded runtime or the mesh. */
export interface ChildExecutionRequest {
  path?: string;
  catalogId?: string;
  version?: number | 'latest';
  input: Record<string, unknown>;
  ctx?: Record<string, unknown>;
  /** idempotency key: `<command_id>/t<task_index>/v<visit>/a<attempt>` */
  requestId: string;
  parent: { executionId: string; stepRunId: string; taskRunId: string; iter: Record<string, unknown> | null };
}
export interface ChildExecutionResult {
  executionId: string;
  status: 'completed' | 'failed' | 'cancelled';
  /** child execution result (dsl R16.4), already hydrated */
  result: unknown;
  error?: ErrorObject | null;
  /** latest successful result of each step, for `return_step` */
  stepResults: Record<string, unknown>;
}
export interface ChildExecutions {
  start(req: ChildExecutionRequest): Promise<{ executionId: string }>;
  /** resolves when the child is terminal; rejects with an AbortError if `signal` aborts first */
  wait(executionId: string, signal: AbortSignal): Promise<ChildExecutionResult>;
  cancel(executionId: string, reason: string): Promise<void>;
}

export interface ToolContext {
  executionId: string;
  rootExecutionId: string;
  step: string;
  stepRunId: string;
  task: string;
  taskIndex: number;
  taskRunId: string;
  commandId: string;
  visit: number;
  attempt: number;
  /** effective task spec of dsl.md R5.1 (policy stripped): timeout, result, pool, kind knobs */
  spec: Record<string, unknown>;
  /** executor.spec.policy.defaults.timeout_s, if the playbook sets it */
  defaultTimeoutS?: number;
  /** aborted on cancellation (runtime.md §11 step 3); tools abort their I/O best-effort */
  signal: AbortSignal;
  /**
   * Resolve `auth` (tools.md §1.3): a credential name (keychain entry, then credential store) or
   * an auth mapping. Rejects with `AuthResolutionError` (kind auth, code AUTH_NOT_FOUND or
   * KEYCHAIN_UNRESOLVED). Every secret string it returns is registered for redaction.
   */
  resolveAuth(ref: unknown): Promise<Credential>;
  /** add a secret value to this command's redaction set (T7.21) */
  registerSecret(value: string): void;
  /** replace registered secrets in a string with *** */
  redact(text: string): string;
  results: ResultStore;
  children?: ChildExecutions;
  /** the caller's `iter` mapping (for iter.parent propagation) or null outside loops */
  iter: Record<string, unknown> | null;
  log(line: string): void;
}

export interface ToolHandler {
  readonly kind: string;
  /** known field names (for W_TOOL_FIELD_UNDER_SPEC and config errors) */
  readonly fields?: readonly string[];
  run(config: Record<string, unknown>, ctx: ToolContext): Promise<ToolOutcome>;
  /**
   * Optional synchronous form of `run` for a tool that answers from its configuration alone (no
   * context, no I/O): the same outcome `run` resolves to, a throw where `run` rejects. The worker
   * then calls it instead of `run`, without a promise per call.
   */
  runSync?(config: Record<string, unknown>): ToolOutcome;
  /** release pools/processes */
  close?(): Promise<void>;
}
