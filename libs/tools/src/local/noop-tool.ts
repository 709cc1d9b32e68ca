import type { ToolHandler, ToolOutcome } from '../types';
import { toTemplateString as toStringValue } from '@noetl/template';

/**
 * `kind: noop` (tools.md §2.6, K2.15). Never fails: `data` is the `result` field when the field is
 * present (also when it rendered to `null`), else `{status: "ok", message: <message or "noop">}`.
 * A non-string `message` is converted with the string conversion of dsl.md §12.7.
 */
export function createNoopTool(): ToolHandler {
  return {
    kind: 'noop',
    fields: ['result', 'message'],
    async run(config): Promise<ToolOutcome> {
      return noopOutcome(config);
    },
    runSync: noopOutcome,
  };
}

function noopOutcome(config: Record<string, unknown>): ToolOutcome {
  const cfg = config ?? {};
  if (Object.prototype.hasOwnProperty.call(cfg, 'result') && cfg.result !== undefined) {
    return { status: 'ok', data: cfg.result };
  }
  if (cfg.message === undefined || cfg.message === null) return DEFAULT_OUTCOME;
  return { status: 'ok', data: { status: 'ok', message: toStringValue(cfg.message) } };
}

/**
 * The outcome of a bare `kind: noop` (the common case, e.g. benchmarks and placeholders), shared
 * and frozen: the data ends up in events and results that are kept, so one object instead of
 * three per call.
 */
const DEFAULT_OUTCOME: ToolOutcome = Object.freeze({ status: 'ok', data: Object.freeze({ status: 'ok', message: 'noop' }) });
