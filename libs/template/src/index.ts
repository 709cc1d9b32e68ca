// Public API of @noetl/template: the Jinja2-compatible template language of the NoETL v10 DSL
// (dsl.md §6.3, §12, §13). Pure: no I/O, synchronous, hardened against template authors.
//
// Value model: JS `undefined` = Jinja undefined; `null` = none; otherwise plain JSON values
// (string, number, boolean, array, plain object).
export type { Scope, RenderOptions } from './runtime';
export type { CompiledTemplate, CompiledExpression, TemplateIssue, TemplateIssueCode } from './api';
export type { TemplateReference, TemplateAnalysis } from './analysis';
export {
  scopeFromObject,
  chainScopes,
  compileTemplate,
  compileExpression,
  renderTemplate,
  renderValue,
  evaluateCondition,
  hasTemplateSyntax,
  analyzeTemplate,
  analyzeExpression,
  checkTemplate,
  FILTER_NAMES,
  TEST_NAMES,
} from './api';
export { isTruthy, toTemplateString, defineFallback } from './values';
export { TemplateError, TemplateSyntaxError, TemplateEvalError, TemplateLimitError, TemplateUndefinedError } from './errors';
