import { createHash } from 'node:crypto';
import { isPlainObject, makeError, type ErrorKind, type ErrorObject } from '@noetl/common';
import type { Credential, ToolContext, ToolOutcome } from '../types';

/** Thrown by the config readers; each tool's `run` turns it into a `config` outcome (K1.2). */
export class NetConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'NetConfigError';
  }
}

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  return `a ${typeof v}`;
}

/** String conversion of dsl.md §12.7 (K1.3). */
export function toStr(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null || v === undefined) return '';
  return JSON.stringify(v);
}

/** A field documented as a string; rendered numbers/booleans are converted (K1.3). */
export function optString(config: Record<string, unknown>, field: string): string | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return toStr(v);
  throw new NetConfigError(field, `field '${field}' must be a string, got ${describeType(v)}`);
}

/** A map of strings (K1.3): values converted, null entries dropped. */
export function optStringMap(config: Record<string, unknown>, field: string): Record<string, string> | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw new NetConfigError(field, `field '${field}' must be a mapping, got ${describeType(v)}`);
  return stringMap(v);
}

export function stringMap(v: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (val !== null && val !== undefined) out[k] = toStr(val);
  return out;
}

export function optBool(config: Record<string, unknown>, field: string, dflt: boolean): boolean {
  const v = config[field];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new NetConfigError(field, `field '${field}' must be a boolean, got ${describeType(v)}`);
}

export function optNumber(config: Record<string, unknown>, field: string): number | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new NetConfigError(field, `field '${field}' must be a number, got ${describeType(v)}`);
  return n;
}

export function optMapping(config: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw new NetConfigError(field, `field '${field}' must be a mapping, got ${describeType(v)}`);
  return v;
}

/** An error outcome; the message is redacted (T7.21) and the error's `source` is the tool kind. */
export function fail(
  ctx: Pick<ToolContext, 'redact'>,
  source: string,
  kind: ErrorKind,
  code: string,
  message: string,
  extra: Partial<Omit<ErrorObject, 'kind' | 'code' | 'message'>> = {},
  rest: Omit<ToolOutcome, 'status' | 'error'> = {},
): ToolOutcome {
  return { status: 'error', error: makeError(kind, code, ctx.redact(message), { source, ...extra }), ...rest };
}

export function configFail(ctx: Pick<ToolContext, 'redact'>, source: string, field: string | undefined, message: string): ToolOutcome {
  return fail(ctx, source, 'config', 'CONFIG', `${source}: ${message}`, field ? { details: { field } } : {});
}

/** Run a config-reading block; NetConfigError / TimeoutConfigError-like errors become `config` outcomes. */
export function readConfig<T>(ctx: Pick<ToolContext, 'redact'>, source: string, fn: () => T): { ok: T } | { outcome: ToolOutcome } {
  try {
    return { ok: fn() };
  } catch (e) {
    const field = (e as { field?: unknown }).field;
    if (e instanceof NetConfigError || (typeof field === 'string' && e instanceof Error)) {
      return { outcome: configFail(ctx, source, typeof field === 'string' ? field : undefined, (e as Error).message) };
    }
    throw e;
  }
}

/**
 * `ctx.resolveAuth` with its rejection (code AUTH_NOT_FOUND / KEYCHAIN_UNRESOLVED) turned into an
 * `auth` error outcome.
 */
export async function resolveAuth(ctx: ToolContext, source: string, auth: unknown): Promise<{ cred: Credential } | { outcome: ToolOutcome }> {
  try {
    const cred = await ctx.resolveAuth(auth);
    if (!cred || typeof cred !== 'object' || !isPlainObject(cred.data ?? {})) {
      return { outcome: fail(ctx, source, 'auth', 'AUTH_INVALID', `${source}: the resolved credential has no data mapping`) };
    }
    return { cred: { type: typeof cred.type === 'string' ? cred.type : '', data: cred.data ?? {} } };
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    const code = typeof err?.code === 'string' ? err.code : 'AUTH_NOT_FOUND';
    return { outcome: fail(ctx, source, 'auth', code, `${source}: auth resolution failed: ${typeof err?.message === 'string' ? err.message : String(e)}`) };
  }
}

/** A string field of credential data, trying aliases in order. */
export function credString(data: Record<string, unknown>, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = data[n];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return undefined;
}

export function cancelledOutcome(ctx: Pick<ToolContext, 'redact'>, source: string, rest: Omit<ToolOutcome, 'status' | 'error'> = {}): ToolOutcome {
  return fail(ctx, source, 'cancelled', 'CANCELLED', `${source}: cancelled`, {}, rest);
}

/** A stable key for caches of connections per credential (secrets hashed, never kept in clear). */
export function cacheKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
