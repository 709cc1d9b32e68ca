import { NoetlError, isErrorKind, makeError, type ErrorContext, type ErrorKind, type ErrorObject } from '@noetl/common';

/**
 * An error that already knows its outcome classification (runtime.md §7.2). Thrown inside the
 * worker (auth resolution, keychain, workbook asserts) and turned into an `error` outcome.
 */
export class ClassifiedError extends NoetlError {
  readonly kind: ErrorKind;
  constructor(kind: ErrorKind, code: string, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(code, message, context, options);
    this.kind = kind;
  }
}

/**
 * `ToolContext.resolveAuth` failures (tools.md K1.6): kind `auth`, code `AUTH_NOT_FOUND` or
 * `KEYCHAIN_UNRESOLVED` (KK.2, naming the entry).
 */
export class AuthResolutionError extends ClassifiedError {
  constructor(code: 'AUTH_NOT_FOUND' | 'KEYCHAIN_UNRESOLVED' | 'AUTH_INVALID', message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super('auth', code, message, context, options);
  }
}

export function keychainUnresolved(name: string, why: string, cause?: unknown): AuthResolutionError {
  return new AuthResolutionError('KEYCHAIN_UNRESOLVED', `keychain entry '${name}' could not be resolved: ${why}`, { entry: name }, cause === undefined ? undefined : { cause });
}

/**
 * Any thrown value -> error object. Errors that carry a known `kind` (ClassifiedError,
 * ResultStoreError, tool errors following the same convention) keep it; anything else becomes
 * `fallbackKind` (default `internal`, T9.4).
 */
export function errorFromThrown(e: unknown, fallbackKind: ErrorKind = 'internal', fallbackCode = 'INTERNAL'): ErrorObject {
  const anyE = e as { kind?: unknown; code?: unknown; message?: unknown; name?: unknown } | null;
  const message = anyE && typeof anyE.message === 'string' ? anyE.message : String(e);
  if (anyE && typeof anyE.kind === 'string' && isErrorKind(anyE.kind)) {
    const code = typeof anyE.code === 'string' && anyE.code ? anyE.code : anyE.kind.toUpperCase();
    return makeError(anyE.kind, code, message, { source: 'engine' });
  }
  return makeError(fallbackKind, fallbackCode, message, { source: 'engine' });
}
