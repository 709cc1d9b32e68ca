/**
 * One error model for the whole system (STYLE.md rule 4): `NoetlError` carries a stable `code`,
 * an optional `cause` and readonly context. Subclass only where callers branch on the type.
 */
export interface ErrorContext {
  readonly executionId?: string;
  readonly step?: string;
  readonly task?: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly [key: string]: unknown;
}

export class NoetlError extends Error {
  readonly code: string;
  readonly context: ErrorContext;
  constructor(code: string, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.context = Object.freeze({ ...context });
  }
}

/**
 * Error kinds of runtime.md §7.2 with their default `retryable` flag. The table is the contract;
 * `makeError` fills `retryable` from it unless the caller overrides it.
 */
export const ERROR_KIND_RETRYABLE = {
  connection: true,
  timeout: true,
  rate_limit: true,
  auth: false,
  not_found: false,
  client_error: false,
  server_error: true,
  db_connection: true,
  db_deadlock: true,
  db_timeout: true,
  db_constraint: false,
  db_error: false,
  schema: false,
  parse: false,
  script_error: false,
  template: false,
  config: false,
  reference_not_available: true,
  reference_too_large: false,
  policy_fail: false,
  max_iterations: false,
  child_failed: false,
  child_cancelled: false,
  worker_lost: true,
  loop_not_iterable: false,
  no_route: false,
  cancelled: false,
  internal: false,
  unknown: false,
} as const;

export type ErrorKind = keyof typeof ERROR_KIND_RETRYABLE;

/** The error object of runtime.md §7.2, as it travels in outcomes and events. */
export interface ErrorObject {
  kind: ErrorKind | string;
  code: string;
  message: string;
  retryable: boolean;
  source?: string;
  http_status?: number;
  retry_after?: number;
  pg_code?: string;
  exception_type?: string;
  /** set when the message was cut to MAX_ERROR_MESSAGE_BYTES */
  truncated?: boolean;
  details?: Record<string, unknown>;
  /** the failing step, added by the CLI's `--json` output and `execution.failed` (conformance README) */
  step?: string;
}

export const MAX_ERROR_MESSAGE_BYTES = 8 * 1024;

export function makeError(
  kind: ErrorKind,
  code: string,
  message: string,
  extra: Partial<Omit<ErrorObject, 'kind' | 'code' | 'message'>> = {},
): ErrorObject {
  let msg = message;
  let truncated: boolean | undefined;
  if (Buffer.byteLength(msg, 'utf8') > MAX_ERROR_MESSAGE_BYTES) {
    msg = Buffer.from(msg, 'utf8').subarray(0, MAX_ERROR_MESSAGE_BYTES).toString('utf8');
    truncated = true;
  }
  const err: ErrorObject = { kind, code, message: msg, retryable: ERROR_KIND_RETRYABLE[kind] ?? false, ...extra };
  if (truncated) err.truncated = true;
  return err;
}

export function isErrorKind(kind: string): kind is ErrorKind {
  return Object.prototype.hasOwnProperty.call(ERROR_KIND_RETRYABLE, kind);
}
