import { makeError, isPlainObject } from '@noetl/common';
import type { ErrorKind } from '@noetl/common';
import type { ToolContext, ToolOutcome } from '../types';
import { TimeoutConfigError } from './timeout';

/** 1 MiB: cap of each captured stream (tools.md K2.5, §4.1). */
export const STREAM_CAP_BYTES = 1024 * 1024;
/** 8 KiB: size of `meta.stdout_tail` / `meta.stderr_tail` and of Python tracebacks. */
export const TAIL_BYTES = 8 * 1024;

/** Thrown by the config readers below; `run()` turns it into a `config` error outcome. */
export class ToolConfigError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'ToolConfigError';
  }
}

/** An error outcome of kind `config` naming the offending field (tools.md K1.2). */
export function configErrorOutcome(source: string, field: string | undefined, message: string, ctx?: Pick<ToolContext, 'redact'>): ToolOutcome {
  const msg = ctx ? ctx.redact(message) : message;
  return {
    status: 'error',
    error: makeError('config', 'CONFIG', `${source}: ${msg}`, { source, ...(field ? { details: { field } } : {}) }),
  };
}

/** Map an exception thrown while reading the configuration to an outcome, or rethrow. */
export function configFailure(source: string, e: unknown, ctx: Pick<ToolContext, 'redact'>): ToolOutcome {
  if (e instanceof ToolConfigError) return configErrorOutcome(source, e.field, e.message, ctx);
  if (e instanceof TimeoutConfigError) return configErrorOutcome(source, e.field, e.message, ctx);
  throw e;
}

/** An error outcome of any kind, with the message redacted. */
export function errorOutcome(
  source: string,
  kind: ErrorKind,
  code: string,
  message: string,
  ctx: Pick<ToolContext, 'redact'>,
  extra: Partial<ToolOutcome> & { errorExtra?: Record<string, unknown> } = {},
): ToolOutcome {
  const { errorExtra, ...rest } = extra;
  return { status: 'error', error: makeError(kind, code, ctx.redact(message), { source, ...errorExtra }), ...rest };
}

export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

/**
 * String conversion of dsl.md §12.7 (used for K1.3): numbers shortest round-trip, booleans
 * lower-case, null empty, containers compact JSON.
 */
export function toStringValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v === null || v === undefined) return '';
  return JSON.stringify(v);
}

/** A field documented as a string: accepts rendered numbers/booleans (K1.3); absent -> undefined. */
export function optString(config: Record<string, unknown>, field: string): string | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return toStringValue(v);
  throw new ToolConfigError(field, `field '${field}' must be a string, got ${describeType(v)}`);
}

/** A map of strings (K1.3): non-string values converted, `null` entries dropped. */
export function optStringMap(config: Record<string, unknown>, field: string): Record<string, string> | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw new ToolConfigError(field, `field '${field}' must be a mapping of strings, got ${describeType(v)}`);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val === null || val === undefined) continue;
    out[k] = toStringValue(val);
  }
  return out;
}

/** A list of strings (items converted per K1.3); absent -> undefined. */
export function optStringList(config: Record<string, unknown>, field: string): string[] | undefined {
  const v = config[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ToolConfigError(field, `field '${field}' must be a list of strings, got ${describeType(v)}`);
  return v.map((item, i) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'number' || typeof item === 'boolean') return toStringValue(item);
    throw new ToolConfigError(field, `field '${field}' item ${i} must be a string, got ${describeType(item)}`);
  });
}

/** The last `maxBytes` UTF-8 bytes of a string (never splitting a character). */
export function lastBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let start = buf.length - maxBytes;
  while (start < buf.length && (buf[start] & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}

/** The first `maxBytes` UTF-8 bytes of a buffer, cut on a character boundary. */
export function firstBytes(buf: Buffer, maxBytes: number): Buffer {
  if (buf.length <= maxBytes) return buf;
  let end = maxBytes;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

/** Redact, then keep the last {@link TAIL_BYTES} (redacting first so a cut never exposes half a secret). */
export function redactedTail(text: string, ctx: Pick<ToolContext, 'redact'>, maxBytes = TAIL_BYTES): string {
  // a margin of one tail length keeps secrets that straddle the cut from surviving
  return lastBytes(ctx.redact(lastBytes(text, maxBytes * 2)), maxBytes);
}

/**
 * A byte sink for one output stream: keeps the first `headCap` bytes (the captured value) and a
 * rolling window of the last `tailCap` bytes (for `*_tail`), and counts everything.
 */
export class StreamCapture {
  private readonly head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer = Buffer.alloc(0);
  total = 0;

  constructor(
    private readonly headCap = STREAM_CAP_BYTES,
    private readonly tailCap = TAIL_BYTES * 2,
  ) {}

  write(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headLen < this.headCap) {
      const part = chunk.subarray(0, this.headCap - this.headLen);
      this.head.push(part);
      this.headLen += part.length;
    }
    this.tail = this.tail.length + chunk.length <= this.tailCap
      ? Buffer.concat([this.tail, chunk])
      : Buffer.concat([this.tail, chunk]).subarray(-this.tailCap);
  }

  get truncated(): boolean {
    return this.total > this.headCap;
  }

  /** the captured head (at most `headCap` bytes, cut on a character boundary) */
  text(): string {
    return firstBytes(Buffer.concat(this.head), this.headCap).toString('utf8');
  }

  /** the last bytes of the whole stream */
  tailText(): string {
    let start = 0;
    while (start < this.tail.length && (this.tail[start] & 0xc0) === 0x80) start++;
    return this.tail.subarray(start).toString('utf8');
  }
}

/** Kill a detached child's whole process group (falls back to the process itself). */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/** Resolve `ctx.resolveAuth` failures into an `auth`-kind outcome (or the error's own kind). */
export function authFailure(source: string, e: unknown, ctx: Pick<ToolContext, 'redact'>): ToolOutcome {
  const err = e as { kind?: unknown; code?: unknown; message?: unknown; error?: { kind?: unknown; code?: unknown } };
  const kind = typeof err?.kind === 'string' ? err.kind : typeof err?.error?.kind === 'string' ? err.error.kind : 'auth';
  const code = typeof err?.code === 'string' ? err.code : typeof err?.error?.code === 'string' ? err.error.code : 'AUTH_NOT_FOUND';
  const message = typeof err?.message === 'string' ? err.message : String(e);
  const safeKind = (kind in KNOWN_AUTH_KINDS ? kind : 'auth') as ErrorKind;
  return errorOutcome(source, safeKind, code, `auth resolution failed: ${message}`, ctx);
}
const KNOWN_AUTH_KINDS: Record<string, true> = { auth: true, config: true, connection: true, timeout: true, template: true };
