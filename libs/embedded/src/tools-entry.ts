import type { ToolRegistry } from '@noetl/tools';

/**
 * Every tool kind of @noetl/tools in one registry (see `default-tools.ts`). Loaded on call, not on
 * import: the drivers behind the tool kinds (duckdb, nats, pg, undici) cost seconds to load.
 */
export function createDefaultTools(opts: { env?: NodeJS.ProcessEnv } = {}): ToolRegistry {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./default-tools') as typeof import('./default-tools')).createDefaultTools(opts);
}
