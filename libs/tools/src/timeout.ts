import { NoetlError } from '@noetl/common';
import type { ToolContext } from './types';

/**
 * Kind defaults of tools.md K1.9, in seconds. `sql` covers postgres, duckdb, snowflake, ducklake.
 */
export const KIND_DEFAULT_TIMEOUT_S = {
  http: 30,
  python: 300,
  shell: 300,
  sql: 300,
  playbook: 3600,
  container: 3600,
  script: 3600,
} as const;

/** Thrown by {@link effectiveTimeoutMs} when the tool's own timeout field is not a valid duration. */
export class TimeoutConfigError extends NoetlError {
  readonly field: string;
  constructor(field: string, value: unknown) {
    super(
      'E_TOOL_TIMEOUT_CONFIG',
      `field '${field}' must be a positive number of seconds or a duration string ("500ms", "30s", "5m", "1h"), got ${describeValue(value)}`,
      { field },
    );
    this.field = field;
  }
}

const DURATION_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/i;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parse a duration of K1.9 into milliseconds: a number (seconds), a numeric string (seconds) or a
 * duration string `"500ms"`, `"30s"`, `"5m"`, `"1h"`; the http form `{connect, read}` yields the
 * sum of its parts (the overall bound of one request). Returns `undefined` for anything else,
 * including zero and negative values.
 *
 * @example parseDurationMs('500ms') === 500; parseDurationMs(2) === 2000; parseDurationMs({connect: 3, read: 20}) === 23000
 */
export function parseDurationMs(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && value > 0 ? value * 1000 : undefined;
  }
  if (typeof value === 'string') {
    const m = DURATION_RE.exec(value);
    if (!m) return undefined;
    const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 's').toLowerCase()];
    return Number.isFinite(ms) && ms > 0 ? ms : undefined;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    if (o.connect === undefined && o.read === undefined) return undefined;
    const parts = [o.connect, o.read].filter((p) => p !== undefined && p !== null);
    let total = 0;
    for (const p of parts) {
      const ms = parseDurationMs(p);
      if (ms === undefined) return undefined;
      total += ms;
    }
    return total > 0 ? total : undefined;
  }
  return undefined;
}

/**
 * Effective timeout of one attempt in milliseconds (tools.md K1.9):
 * tool field `timeout_seconds`, else tool field `timeout` > `ctx.spec.timeout` (the effective,
 * already layered task spec) > `ctx.defaultTimeoutS` (`executor.spec.policy.defaults.timeout_s`)
 * > `kindDefaultS`.
 *
 * A tool field that is present (not null) but not a valid duration throws
 * {@link TimeoutConfigError} (callers turn it into a `config` error outcome naming the field);
 * invalid values in the spec layers were rejected at registration and are skipped here.
 */
export function effectiveTimeoutMs(
  config: Record<string, unknown>,
  ctx: Pick<ToolContext, 'spec' | 'defaultTimeoutS'>,
  kindDefaultS: number,
): number {
  for (const field of ['timeout_seconds', 'timeout']) {
    const v = config[field];
    if (v === undefined || v === null) continue;
    const ms = parseDurationMs(v);
    if (ms === undefined) throw new TimeoutConfigError(field, v);
    return ms;
  }
  const fromSpec = parseDurationMs(ctx.spec?.timeout);
  if (fromSpec !== undefined) return fromSpec;
  const fromDefaults = parseDurationMs(ctx.defaultTimeoutS);
  if (fromDefaults !== undefined) return fromDefaults;
  return kindDefaultS * 1000;
}

function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return 'a list';
  if (v !== null && typeof v === 'object') return 'a mapping';
  return String(v);
}
