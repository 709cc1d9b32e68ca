// Config readers and error outcomes shared by every tool kind (local and net).
import { isPlainObject, makeError, type ErrorKind, type ErrorObject } from '@noetl/common';
import { toTemplateString } from '@noetl/template';
import { TimeoutConfigError } from './timeout';
import type { ToolContext, ToolOutcome } from './types';

/** Thrown by the config readers; a tool's `run` turns it into a `config` outcome naming `field` (K1.2). */
export class ToolConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ToolConfigError';
  }
}

/** `null`, `a list`, `a mapping`, `an object`, `a string`, ... (for config error messages). */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/** A field documented as a string: rendered numbers/booleans are converted (K1.3); absent -> undefined. */
export function optString(config: Record<string, unknown>, field: string): string | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return toTemplateString(v);
  throw new ToolConfigError(field, `field '${field}' must be a string, got ${describeType(v)}`);
}

/** A list of strings (items converted per K1.3); absent -> undefined. */
export function optStringList(config: Record<string, unknown>, field: string): string[] | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ToolConfigError(field, `field '${field}' must be a list of strings, got ${describeType(v)}`);
  return v.map((item, i) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return toTemplateString(item);
    throw new ToolConfigError(field, `field '${field}' item ${i} must be a string, got ${describeType(item)}`);
  });
}

function mappingField(config: Record<string, unknown>, field: string, expected: string): Record<string, unknown> | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw new ToolConfigError(field, `field '${field}' must be ${expected}, got ${describeType(v)}`);
  return v;
}

/** A mapping field; absent -> undefined. */
export function optMapping(config: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
  return mappingField(config, field, 'a mapping');
}

/** A map of strings (K1.3): values converted, `null` entries dropped; absent -> undefined. */
export function optStringMap(config: Record<string, unknown>, field: string): Record<string, string> | undefined {
  const v = mappingField(config, field, 'a mapping of strings');
  return v && stringMap(v);
}

/** The values of a mapping converted to strings (K1.3), `null` entries dropped. */
export function stringMap(v: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) if (val !== null && val !== undefined) out[k] = toTemplateString(val);
  return out;
}

/** A boolean field (also the strings `"true"`/`"false"`); absent -> `dflt`. */
export function optBool(config: Record<string, unknown>, field: string, dflt: boolean): boolean {
  const v = config[field];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ToolConfigError(field, `field '${field}' must be a boolean, got ${describeType(v)}`);
}

/** A finite number (also a numeric string); absent -> undefined. */
export function optNumber(config: Record<string, unknown>, field: string): number | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new ToolConfigError(field, `field '${field}' must be a number, got ${describeType(v)}`);
  return n;
}

/**
 * An error outcome: the message is redacted (T7.21), the error's `source` is the tool kind.
 * `extra` goes into the error object, `rest` into the outcome (`data`, `helpers`, `meta`).
 */
export function errorOutcome(
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

/** An error outcome of kind `config` naming the offending field (tools.md K1.2). */
export function configErrorOutcome(ctx: Pick<ToolContext, 'redact'>, source: string, field: string | undefined, message: string): ToolOutcome {
  return errorOutcome(ctx, source, 'config', 'CONFIG', `${source}: ${message}`, field ? { details: { field } } : {});
}

/** `<source>: cancelled` (kind `cancelled`, code `CANCELLED`). */
export function cancelledOutcome(ctx: Pick<ToolContext, 'redact'>, source: string, rest: Omit<ToolOutcome, 'status' | 'error'> = {}): ToolOutcome {
  return errorOutcome(ctx, source, 'cancelled', 'CANCELLED', `${source}: cancelled`, {}, rest);
}

/** Map an exception thrown while reading the configuration ({@link ToolConfigError}, {@link TimeoutConfigError}) to a `config` outcome; rethrow anything else. */
export function configFailure(ctx: Pick<ToolContext, 'redact'>, source: string, e: unknown): ToolOutcome {
  if (e instanceof ToolConfigError || e instanceof TimeoutConfigError) return configErrorOutcome(ctx, source, e.field, e.message);
  throw e;
}

/** Run a synchronous config-reading block; a thrown config error becomes a `config` outcome (see {@link configFailure}). */
export function readConfig<T>(ctx: Pick<ToolContext, 'redact'>, source: string, fn: () => T): { ok: T } | { outcome: ToolOutcome } {
  try {
    return { ok: fn() };
  } catch (e) {
    return { outcome: configFailure(ctx, source, e) };
  }
}
