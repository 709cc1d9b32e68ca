import { isPlainObject, jsonByteSize, type ResultRef } from '@noetl/common';
import type { Command } from '@noetl/events';
import { externalizeIfLarge, type SelectSpec } from '@noetl/results';
import type { SecretSet } from './secrets';
import type { WorkerDeps } from './types';

/** Cap of `rendered_input` and `iter_final` snapshots (T5.1). */
export const SNAPSHOT_MAX_BYTES = 8 * 1024;

/** Result options that decide externalization (runtime.md §7.6), already layered. */
export interface ResultLimits {
  inlineMaxBytes: number;
  previewMaxBytes: number;
  referenceFirst: boolean;
  select?: SelectSpec[];
}

function resultOpts(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}
const numOr = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

/**
 * T7.7 precedence for attempt data: the task's own `spec.result`, then the layered `spec.result`
 * (base_spec), then the command limits (which carry executor.spec.policy.results or the
 * deployment default). `reference_first` (T7.9) comes from the limits.
 */
export function taskResultLimits(command: Command, taskSpec: Record<string, unknown>): ResultLimits {
  const own = resultOpts(taskSpec['result']);
  const layered = resultOpts(command.base_spec?.['result']);
  const select = (own['select'] ?? layered['select']) as SelectSpec[] | undefined;
  return {
    inlineMaxBytes: numOr(own['inline_max_bytes'], numOr(layered['inline_max_bytes'], command.limits.inline_max_bytes)),
    previewMaxBytes: numOr(own['preview_max_bytes'], numOr(layered['preview_max_bytes'], command.limits.preview_max_bytes)),
    referenceFirst: command.limits.reference_first === true,
    select: Array.isArray(select) ? select : undefined,
  };
}

/** Step result options: step `output:` (T7.15), then the layered `spec.result`, then the limits. */
export function stepResultLimits(command: Command): ResultLimits {
  const own = resultOpts(command.step_output);
  const layered = resultOpts(command.base_spec?.['result']);
  const select = (own['select'] ?? own['output_select']) as SelectSpec[] | undefined;
  return {
    inlineMaxBytes: numOr(own['inline_max_bytes'], numOr(layered['inline_max_bytes'], command.limits.inline_max_bytes)),
    previewMaxBytes: numOr(own['preview_max_bytes'], numOr(layered['preview_max_bytes'], command.limits.preview_max_bytes)),
    referenceFirst: false,
    select: Array.isArray(select) ? select : undefined,
  };
}

/** Object key prefix of this command's payloads (T7.11): `r17.0[/i3][/c2e2]`. */
export function entityBase(command: Command, epoch: number): string {
  const prefix = `${command.execution_id}/`;
  const run = command.step_run_id.startsWith(prefix) ? command.step_run_id.slice(prefix.length) : command.step_run_id;
  let base = sanitize(run.replace(/\//g, ''));
  if (command.iteration) base += `/i${command.iteration.index}`;
  const m = /\/c(\d+)$/.exec(command.command_id);
  const dispatch = m ? Number(m[1]) : 1;
  if (epoch > 1 || dispatch > 1) base += `/c${dispatch}e${epoch}`;
  return base;
}

export function sanitize(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._-]/g, '_');
  return t === '' || t === '.' || t === '..' ? '_' : t;
}

/**
 * true when `value` stays inline under `limits` (T7.7; never under reference_first unless null):
 * the synchronous test `externalize` starts with, so that callers skip its promise in the common case.
 */
export function staysInline(value: unknown, limits: ResultLimits): boolean {
  if (limits.referenceFirst && value !== null && value !== undefined) return false;
  return jsonSizeWithin(value === undefined ? null : value, limits.inlineMaxBytes) <= limits.inlineMaxBytes;
}

/** Store `value` if T7.7/T7.9 say so; the preview is redacted (T7.21). Persist before emit (T7.8). */
export async function externalize(
  deps: WorkerDeps,
  secrets: SecretSet,
  command: Command,
  entity: () => string,
  value: unknown,
  limits: ResultLimits,
): Promise<{ ref: ResultRef | null; size: number }> {
  if (!limits.referenceFirst || value === null || value === undefined) {
    const size = jsonSizeWithin(value === undefined ? null : value, limits.inlineMaxBytes);
    if (size <= limits.inlineMaxBytes) return { ref: null, size }; // fast path: inline (T7.7)
  }
  const r = await externalizeIfLarge(deps.results, { executionId: command.execution_id, entity: entity() }, value, {
    inlineMaxBytes: limits.inlineMaxBytes,
    previewMaxBytes: limits.previewMaxBytes,
    referenceFirst: limits.referenceFirst,
    select: limits.select,
    onWarning: (m) => deps.log?.(secrets.redact(m)),
  });
  if (!r.ref) return { ref: null, size: r.size };
  return { ref: redactRef(r.ref, secrets), size: r.size };
}

export function redactRef(ref: ResultRef, secrets: SecretSet): ResultRef {
  if (!ref.preview || secrets.size === 0) return ref;
  return { ...ref, preview: { ...ref.preview, text: secrets.redact(ref.preview.text) } };
}

/** One ended visit of a task (`task.done` / `task.failed`) in execution order. */
export interface EndedVisit {
  task: string;
  data: unknown;
  ref: ResultRef | null;
}

/**
 * The step result R of dsl R13.3 over the visits that ended (success, or a failed run's
 * `partial_result`). Single-task pipeline: that task's final data. Multi-task: mapping data merged
 * in execution order, then `results` and task-name keys for tasks with an ended visit.
 */
export function stepResult(pipelineLength: number, visits: readonly EndedVisit[]): unknown {
  if (pipelineLength === 1) return visits.length ? visits[visits.length - 1].data ?? null : null;
  const merged: Record<string, unknown> = {};
  const latest = new Map<string, unknown>();
  for (const v of visits) {
    if (isPlainObject(v.data)) Object.assign(merged, v.data);
    latest.delete(v.task);
    latest.set(v.task, v.data ?? null);
  }
  const order = [...new Set(visits.map((v) => v.task))];
  const results: Record<string, unknown> = {};
  for (const t of order) results[t] = latest.get(t);
  merged['results'] = results;
  for (const t of order) if (!Object.prototype.hasOwnProperty.call(merged, t)) merged[t] = latest.get(t);
  return merged;
}

/** Snapshot capped at 8 KiB (T5.1): whole if small, else the keys that fit plus `_truncated: true`. */
export function capSnapshot(value: unknown, maxBytes = SNAPSHOT_MAX_BYTES): unknown {
  if (jsonSizeWithin(value, maxBytes) <= maxBytes) return value;
  if (!isPlainObject(value)) {
    const text = JSON.stringify(value) ?? 'null';
    return { _truncated: true, _preview: Buffer.from(text, 'utf8').subarray(0, Math.max(0, maxBytes - 64)).toString('utf8') };
  }
  const out: Record<string, unknown> = {};
  let used = 24;
  for (const [k, v] of Object.entries(value)) {
    const sz = jsonByteSize(k) + jsonByteSize(v) + 2;
    if (used + sz > maxBytes) continue;
    out[k] = v;
    used += sz;
  }
  out['_truncated'] = true;
  return out;
}

/** Thrown inside `jsonSizeWithin` for a value it does not size itself (toJSON, boxed primitives, very deep). */
const EXOTIC = new Error('exotic');
/** Strings longer than this are measured by V8 (stringify + byteLength) rather than char by char. */
const LONG_STRING = 256;

/**
 * `jsonByteSize(value)` (UTF-8 bytes of `JSON.stringify`) when it is at most `budget`; otherwise
 * some number above `budget` (the walk stops as soon as the budget is exceeded). Decides "inline or
 * externalize" and "snapshot or cap" without building the JSON text of every result: walks plain
 * data with JSON.stringify's rules (own enumerable keys, undefined/function/symbol members skipped
 * in objects and `null` in arrays, non-finite numbers `null`, lone surrogates escaped); anything
 * else (toJSON, boxed primitives, bigint, cycles, nesting beyond 64) is measured by
 * `jsonByteSize` itself, so the answer is the same in every case.
 */
export function jsonSizeWithin(value: unknown, budget: number): number {
  try {
    return sizeOf(value, budget, 0, true);
  } catch (e) {
    if (e !== EXOTIC) throw e;
    return jsonByteSize(value);
  }
}

function sizeOf(v: unknown, left: number, depth: number, top: boolean): number {
  switch (typeof v) {
    case 'string':
      return stringSize(v);
    case 'number':
      return Number.isFinite(v) ? numberSize(v) : 4;
    case 'boolean':
      return v ? 4 : 5;
    case 'undefined':
    case 'function':
    case 'symbol':
      if (top) return 4; // jsonByteSize counts the missing top-level text as 'null'
      throw EXOTIC; // callers handle members themselves
    case 'object':
      break;
    default:
      throw EXOTIC; // bigint: JSON.stringify throws, let jsonByteSize do so
  }
  if (v === null) return 4;
  if (depth > 64) throw EXOTIC;
  if (Array.isArray(v)) {
    let n = 2 + (v.length > 0 ? v.length - 1 : 0);
    for (let i = 0; i < v.length && n <= left; i++) {
      const x: unknown = v[i];
      const t = typeof x;
      n += t === 'undefined' || t === 'function' || t === 'symbol' ? 4 : sizeOf(x, left - n, depth + 1, false);
    }
    return n;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw EXOTIC; // class instances, Date, boxed values, ...
  const o = v as Record<string, unknown>;
  if (typeof o['toJSON'] === 'function') throw EXOTIC;
  let n = 2;
  let members = 0;
  for (const k in o) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) continue;
    const x = o[k];
    const t = typeof x;
    if (t === 'undefined' || t === 'function' || t === 'symbol') continue;
    n += stringSize(k) + 1 + sizeOf(x, left - n, depth + 1, false);
    if (members++ > 0) n += 1;
    if (n > left) return n;
  }
  return n;
}

function numberSize(x: number): number {
  // small non-negative integers (indexes, counts) without a number-to-string conversion
  if (x >= 0 && x < 1e9 && x === Math.floor(x) && !Object.is(x, -0)) return x < 10 ? 1 : x < 100 ? 2 : x < 1000 ? 3 : String(x).length;
  return String(x).length;
}

/** UTF-8 bytes of JSON.stringify(s) */
function stringSize(s: string): number {
  const len = s.length;
  if (len > LONG_STRING) return Buffer.byteLength(JSON.stringify(s), 'utf8');
  let n = 2;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c >= 0x20) n += c === 0x22 || c === 0x5c ? 2 : 1;
      else n += c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6;
    } else if (c < 0x800) {
      n += 2;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < len ? s.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else {
        n += 6; // lone high surrogate: \udxxx
      }
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      n += 6; // lone low surrogate
    } else {
      n += 3;
    }
  }
  return n;
}
