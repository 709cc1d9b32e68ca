import { isPlainObject } from '@noetl/common';

/** Kind default timeouts of tools.md K1.9 (seconds). */
export const KIND_DEFAULT_TIMEOUT_S: Readonly<Record<string, number>> = {
  http: 30,
  python: 300, shell: 300, postgres: 300, duckdb: 300, ducklake: 300, snowflake: 300, nats: 300,
  playbook: 3600, container: 3600, script: 3600,
};
const FALLBACK_TIMEOUT_S = 300;

/**
 * Seconds of a K1.9 timeout value: a number of seconds, a duration string (`500ms`, `30s`, `5m`,
 * `1h`, or a bare number), or `{connect, read}` (their sum). undefined when absent or invalid.
 */
export function parseTimeoutS(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : undefined;
  if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
    if (!m) return undefined;
    const n = Number(m[1]);
    const unit = m[2] ?? 's';
    const s = unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
    return s > 0 ? s : undefined;
  }
  if (isPlainObject(v)) {
    const c = parseTimeoutS(v['connect']) ?? 0;
    const r = parseTimeoutS(v['read']) ?? parseTimeoutS(v['total']) ?? 0;
    return c + r > 0 ? c + r : undefined;
  }
  return undefined;
}

/**
 * Effective tool timeout (K1.9): tool field (`timeout_seconds`, or `timeout`) > effective
 * `spec.timeout` (task over layers) > `executor.spec.policy.defaults.timeout_s` > kind default.
 */
export function effectiveTimeoutS(kind: string, config: Record<string, unknown>, spec: Record<string, unknown>, defaultTimeoutS?: number): number {
  return parseTimeoutS(config['timeout_seconds'])
    ?? parseTimeoutS(config['timeout'])
    ?? parseTimeoutS(spec['timeout'])
    ?? parseTimeoutS(defaultTimeoutS)
    ?? KIND_DEFAULT_TIMEOUT_S[kind]
    ?? FALLBACK_TIMEOUT_S;
}
