import type { ErrorObject, ResultRef } from '@noetl/common';

/** Kind helpers of runtime.md T7.5; present on attempt outcomes only, never on step outcomes. */
export interface OutcomeHelpers {
  http?: { status: number; headers: Record<string, string>; url: string; method: string };
  pg?: { code: string; sqlstate: string; severity?: string; detail?: string; hint?: string; constraint?: string; statement_index?: number };
  py?: { exception_type: string; traceback: string };
  shell?: { exit_code: number };
  child?: { execution_id: string; status: string };
}

export interface OutcomeMeta {
  task: string;
  kind: string;
  attempt: number;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  worker_id: string;
  [key: string]: unknown;
}

/**
 * The outcome of one task attempt (runtime.md §7.1), exposed to policy templates as `output`
 * (alias `outcome`). `status` is `ok | error` (T7.1); `error` present iff error (T7.3); when
 * `data` was externalized, `ref` is set and events carry `ref` instead of `data` (T7.4).
 */
export interface Outcome extends OutcomeHelpers {
  status: 'ok' | 'error';
  data?: unknown;
  error: ErrorObject | null;
  ref: ResultRef | null;
  meta: OutcomeMeta;
}
