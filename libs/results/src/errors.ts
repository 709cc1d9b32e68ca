import { NoetlError, type ErrorContext } from '@noetl/common';

export type ResultStoreErrorKind = 'reference_not_available' | 'reference_too_large';

/**
 * Raised by `ResultStore.get`/`getByUri` and `hydrate` (runtime.md T7.12, T7.19).
 * `kind` is the error kind a reader reports in its outcome: `reference_not_available` (missing
 * object, checksum mismatch, unreadable, wrong store; retryable) or `reference_too_large`
 * (hydration limit exceeded).
 */
export class ResultStoreError extends NoetlError {
  readonly kind: ResultStoreErrorKind;
  constructor(kind: ResultStoreErrorKind, code: string, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
    this.kind = kind;
  }
}

export function notAvailable(code: string, message: string, context: ErrorContext = {}, cause?: unknown): ResultStoreError {
  return new ResultStoreError('reference_not_available', code, message, context, cause === undefined ? undefined : { cause });
}

export function tooLarge(message: string, context: ErrorContext = {}): ResultStoreError {
  return new ResultStoreError('reference_too_large', 'REFERENCE_TOO_LARGE', message, context);
}
