// Public API of @noetl/worker-runtime: the pipeline interpreter of runtime.md §9. It runs ONE
// command (a step run or one loop iteration) with a tool registry and emits the worker events.
// The same code runs inside the embedded runtime and inside mesh worker services.
export { runCommand } from './run-command';
export type {
  CredentialStore, WorkerDeps, Delivery, CommandOutcome, KeychainResolver, KeychainEntryDef, KeychainScopeInfo, ResolvedKeychainEntry,
} from './types';
export { createKeychainResolver, keychainCacheKey } from './keychain';
export type { KeychainResolverOptions } from './keychain';
export { AuthResolutionError, ClassifiedError } from './errors';
export { SecretSet, REDACTED } from './secrets';
export { computeDelayS } from './policy';
export { parseTimeoutS, effectiveTimeoutS } from './timeouts';
export { stepResult } from './result';
