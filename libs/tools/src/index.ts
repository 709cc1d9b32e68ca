// Public API of @noetl/tools: tool kinds of tools.md behind one ToolHandler interface.
export { ToolRegistry } from './registry';
export type {
  Credential, OutcomeHelpers, ToolOutcome, ToolContext, ToolHandler,
  ChildExecutions, ChildExecutionRequest, ChildExecutionResult,
} from './types';
export * from './local';
export * from './net';
