// Public API of @noetl/dsl: parse, normalize and validate playbooks (dsl.md), JSON Schema, graph analysis.
export * from './model';
export { loadPlaybook } from './load';
export type { LoadOptions, LoadResult } from './load';
export { DEFAULT_TOOL_KINDS, RESERVED_ROOT_NAMES, DIAGNOSTIC_CODES } from './codes';
export type { CodeInfo, Severity } from './codes';
export { PLAYBOOK_SCHEMA } from './schema';
