import type { NoetlEvent } from '@noetl/events';
import type { ChildExecutions, Credential, ToolRegistry } from '@noetl/tools';
import type { ResultStore } from '@noetl/results';
import type { Hydrator } from '@noetl/scope';

/** The platform credential store (embedded mode: the `--credentials` file; mesh: the secrets service). */
export interface CredentialStore {
  get(name: string): Promise<Credential | undefined>;
}

/**
 * Everything the pipeline interpreter needs from its host. The same interpreter runs inside the
 * embedded runtime (one process) and inside mesh worker services; only these deps differ.
 */
export interface WorkerDeps {
  /** producer id of every event (runtime.md §5 `producer_id`) and `meta.worker_id` of outcomes */
  workerId: string;
  tools: ToolRegistry;
  /** results gateway: externalized attempt data and step results are `put` before the event (T7.8) */
  results: ResultStore;
  /** synchronous read of a ResultRef (templates are synchronous); throws ResultStoreError */
  hydrate: Hydrator;
  credentials: CredentialStore;
  /** child executions for `kind: playbook` (runtime.md §12) */
  children?: ChildExecutions;
  /**
   * Publish one event; awaited before the next one is emitted (T9.2). A host that accepts the
   * event synchronously (an in-process inbox) may return nothing: the interpreter then goes on
   * without a promise per event. A throw or a rejection fails the command (`runCommand` rejects).
   */
  emit(event: NoetlEvent): Promise<void> | void;
  /** clock: event `ts`, outcome `meta` timings, template `now()` */
  now(): Date;
  /**
   * Optional: the same clock in epoch milliseconds (`Date.now` for the system clock). When given,
   * timestamps and durations are read through it and no `Date` is allocated per reading; it MUST
   * agree with `now()`.
   */
  nowMs?(): number;
  /** retry delays (dsl §8.5); MUST reject when `signal` aborts */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** log lines (already redacted, T7.21) */
  log?(line: string): void;
  /** strict template mode (`noetl run --strict`): undefined names are errors */
  strict?: boolean;
  /**
   * Keychain resolver shared across commands (its cache is per KK.1 scope key). Absent: a resolver
   * over `credentials` is created per command (no cross-command cache).
   */
  keychain?: KeychainResolver;
  /** safety-net margin added to the effective tool timeout (default 5,000 ms, T9.5) */
  timeoutGraceMs?: number;
}

/** One delivery of a command. */
export interface Delivery {
  /** delivery count of the command = `lease_epoch` (1 for the first delivery) */
  epoch: number;
  /** aborted on cancellation (runtime.md §11 step 3); `signal.reason` (a string) becomes the cancel reason */
  signal: AbortSignal;
}

/** What `runCommand` reports back to its host once the terminal event has been emitted. */
export interface CommandOutcome {
  status: 'done' | 'failed' | 'cancelled';
  /** the terminal event: step.done|failed|cancelled or loop.iteration.done|failed|cancelled */
  terminal: NoetlEvent;
}

/** One keychain entry as it travels in the command (dsl §2.3; templates unrendered, T4.2). */
export interface KeychainEntryDef {
  name: string;
  kind: string;
  scope: string;
  fields: Record<string, unknown>;
}

/** Which execution asks (KK.1 cache keys). */
export interface KeychainScopeInfo {
  catalogId: string;
  executionId: string;
  rootExecutionId: string;
}

/** A resolved entry: the mapping templates read as `keychain.<name>`, and a credential type for `auth`. */
export interface ResolvedKeychainEntry {
  value: Record<string, unknown>;
  type: string;
}

/**
 * Resolves keychain entries (tools.md §K) and caches them per scope key (KK.1). Entry fields are
 * rendered by the caller (they may reference workload and earlier entries, R2.11) and handed in
 * as `fields`; the cache key does not depend on them.
 */
export interface KeychainResolver {
  resolve(entry: KeychainEntryDef, info: KeychainScopeInfo, fields: Record<string, unknown>, signal?: AbortSignal): Promise<ResolvedKeychainEntry>;
  /** drop a cached value (KK.3: a 401 from a task that used the entry) */
  invalidate(entry: KeychainEntryDef, info: KeychainScopeInfo): void;
}
