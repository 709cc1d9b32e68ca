// Process-local tools (python pool, shell, noop, duckdb). Owned by the local-tools work.
import type { ToolHandler } from '../types';
import { createDuckdbTool } from './duckdb-tool';
import type { DuckdbToolOptions } from './duckdb-tool';
import { createNoopTool } from './noop-tool';
import { createPythonTool } from './python-tool';
import type { PythonToolOptions } from './python-tool';
import { createShellTool } from './shell-tool';
import type { ShellToolOptions } from './shell-tool';

export { processAlive } from './process-io';
export { createPythonTool } from './python-tool';
export type { PythonToolOptions, PythonToolHandler } from './python-tool';
export { PythonPool, resolvePythonBootstrap, DEFAULT_MEMORY_LIMIT_BYTES } from './python-pool';
export type { PythonPoolOptions, PythonTaskRequest, PythonTaskResponse, PythonRunResult } from './python-pool';
export { createShellTool } from './shell-tool';
export type { ShellToolOptions, ShellCommandResult } from './shell-tool';
export { createNoopTool } from './noop-tool';
export { createDuckdbTool, postgresConnString } from './duckdb-tool';
export type { DuckdbToolOptions } from './duckdb-tool';
export { duckdbToJson, decimalToJson, intervalToIso } from './duckdb-values';

export interface LocalToolsOptions {
  python?: PythonToolOptions;
  shell?: ShellToolOptions | false;
  duckdb?: DuckdbToolOptions;
}

/**
 * All process-local tool kinds: python, shell, noop, duckdb. `shell: false` leaves shell out
 * (a deployment MAY disable it, tools.md §4.1). Call `close()` on each (or on the registry).
 *
 * @example
 * const registry = new ToolRegistry();
 * for (const t of createLocalTools({ python: { poolSize: 4 } })) registry.register(t);
 */
export function createLocalTools(opts: LocalToolsOptions = {}): ToolHandler[] {
  const tools: ToolHandler[] = [createPythonTool(opts.python), createNoopTool(), createDuckdbTool(opts.duckdb)];
  if (opts.shell !== false) tools.splice(1, 0, createShellTool(opts.shell));
  return tools;
}
