/**
 * Load a driver module on first use. The drivers behind tool kinds (undici, pg, nats, duckdb) take
 * ~0.1–0.35 s each to load; a playbook that never uses a kind should not pay for it (CLI start-up).
 * Types stay static (`typeof import('pg')`); only the runtime require is deferred.
 */
export function lazyModule<T>(load: () => T): () => T {
  let mod: T | undefined;
  return () => (mod ??= load());
}
