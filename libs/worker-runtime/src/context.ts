import type { Command, CtxPatchEntry } from '@noetl/events';
import type { Hydrator, WorkerScopeInput } from '@noetl/scope';
import type { RenderOptions, Scope } from '@noetl/template';
import type { Delivery, WorkerDeps } from './types';
import type { CommandEmitter } from './events';
import type { SecretSet } from './secrets';
import type { KeychainAccess } from './keychain-access';
import type { LazyAbort } from './abort';

/**
 * Mutable state of one command run, shared by the pipeline, the attempt runner and the
 * renderers. `scope` is the worker scope input of @noetl/scope; its `ctx`, `iter` and
 * `stepLocals` are replaced (never mutated in place) by `set`.
 */
export interface RunContext {
  command: Command;
  deps: WorkerDeps;
  /** `deps.hydrate` bounded by the command's `hydrate_max_bytes` (R13.9): every worker-side read goes through it */
  hydrate: Hydrator;
  delivery: Delivery;
  emitter: CommandEmitter;
  secrets: SecretSet;
  keychain: KeychainAccess;
  scope: WorkerScopeInput;
  /** `workerScope(scope)`, created once; see render.ts scopeOf */
  scopeObject: Scope;
  /** ctx writes in application order, published with the terminal event (R9.13) */
  ctxPatch: CtxPatchEntry[];
  renderOpts: RenderOptions;
  /** signal handed to tools (`ToolContext.signal`, made on first read); replaced after a hard timeout aborted it */
  toolAbort: LazyAbort;
  /** loop iterator name (R10.9) */
  iterator?: string;
  /** rendered step input (R9.8) */
  stepInput: Record<string, unknown>;
}
