// Public API of @noetl/tools: tool kinds of tools.md behind one ToolHandler interface.
export { ToolRegistry } from './registry';
export type {
  Credential, OutcomeHelpers, ToolOutcome, ToolContext, ToolHandler,
  ChildExecutions, ChildExecutionRequest, ChildExecutionResult,
} from './types';
export { effectiveTimeoutMs, parseDurationMs, TimeoutConfigError, KIND_DEFAULT_TIMEOUT_S } from './timeout';
export { splitSqlStatements } from './sql-split';
export { sqlResultData } from './sql';
export type { SqlStatementResult, SqlResultData } from './sql';
export * from './local';
export * from './net';
