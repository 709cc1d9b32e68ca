import { isManifest, isResultRef, jsonByteSize, type ErrorObject, type Manifest, type ManifestPart, type ResultRef } from '@noetl/common';
import type { EventPayloads, LoopStats } from '@noetl/events';
import { stepOf } from './analysis';
import type { NormalizedPlaybook } from '@noetl/dsl';
import { stepResultLimit } from './limits';
import { chunkedList } from './state';
import type { EngineEnv, ExecutionState, LoopState, RunState } from './types';

/** What loopOutcome reads of the driver (structural: importing emit.ts here would close an import cycle). */
interface LoopOutcomeContext {
  env: Pick<EngineEnv, 'storeValue'>;
  playbook: NormalizedPlaybook;
  state: ExecutionState;
}

/**
 * Large loop aggregates as Manifests (dsl §10.7, runtime.md §6 `loop.done`, §7.5, T7.13).
 *
 * The result of a loop step is `{results, data, stats, errors}` (R10.14). When the shell can store
 * values (`EngineEnv.storeValue`) and the JSON size of that aggregate exceeds the step result's
 * `inline_max_bytes` (T7.7, `stepResultLimit`: the limit the worker applies to a step result), the
 * boundary event does not carry it. It carries instead an `append` Manifest of the iteration
 * results in index order — one part per iteration, `inline` (its result; `null` for a failed one)
 * or `ref` (the ResultRef of a result the worker stored) — inline if the manifest itself fits the
 * limit, else stored through `storeValue` and referenced by its ResultRef (T7.13); `stats` stays
 * inline, and so does `errors` unless that list alone is over the limit (a loop with thousands of
 * failures): it is then stored too and travels as its ResultRef E. The step's logical value is the
 * compact aggregate `{results: M, data: M, stats, errors: E | list}` (M = the manifest or its ref),
 * which readers materialize on access (@noetl/scope `loopItemsView`); the fold stores exactly that
 * (plain JSON, replayable).
 */

export type LoopErrors = Array<{ index: number; error: ErrorObject }>;
/** `errors` of a compact aggregate: inline, or the ResultRef of the stored list */
export type LoopErrorsValue = LoopErrors | ResultRef;

export type LoopOutcome =
  /** the aggregate travels inline (`loop.done.result`, `step.failed.partial_result`) */
  | { kind: 'inline'; aggregate: Record<string, unknown> }
  /** `loop.done.manifest_ref` + `errors`; `compact` = the aggregate's compact form */
  | { kind: 'manifest'; manifest: Manifest | ResultRef; errors: LoopErrorsValue; compact: Record<string, unknown> };

/** The compact loop aggregate: `results` and `data` are the manifest M (or its ResultRef). */
export function compactAggregate(m: Manifest | ResultRef, stats: LoopStats, errors: LoopErrorsValue): Record<string, unknown> {
  return { results: m, data: m, stats, errors };
}

/** The step result R a `loop.done` stands for: its inline `result`, or the compact aggregate of its manifest. */
export function loopDoneResult(p: EventPayloads['loop.done']): unknown {
  const m = p.manifest_ref;
  if (isManifest(m) || isResultRef(m)) return compactAggregate(m, p.stats, p.errors ?? []);
  return p.result === undefined ? null : p.result;
}

/** Object key of a step run's manifest (runtime.md T7.11, the worker's `r17.0/...` layout): `r17.0/manifest`. */
export function manifestEntity(executionId: string, stepRunId: string): string {
  return `${runSegment(executionId, stepRunId)}/manifest`;
}

/** Object key of a step run's stored loop `errors` list: `r17.0/errors`. */
export function loopErrorsEntity(executionId: string, stepRunId: string): string {
  return `${runSegment(executionId, stepRunId)}/errors`;
}

function runSegment(executionId: string, stepRunId: string): string {
  const rel = stepRunId.startsWith(`${executionId}/`) ? stepRunId.slice(executionId.length + 1) : stepRunId;
  const seg = rel.replace(/\//g, '').replace(/[^A-Za-z0-9._-]/g, '_');
  return seg === '' || seg === '.' || seg === '..' ? '_' : seg;
}

/** Σ of the decimal digit counts of 0 .. n-1 (the `"index":i` texts of n parts). */
function digitsUpTo(n: number): number {
  let sum = 0;
  for (let lo = 0, hi = 10, d = 1; lo < n; lo = hi, hi *= 10, d++) sum += (Math.min(n, hi) - lo) * d;
  return sum;
}

// JSON text lengths of the fixed pieces of a part `{"index":i,"status":"ok","inline":v}`
const PART_FIXED = '{"index":'.length + '}'.length;
const STATUS_OK = ',"status":"ok"'.length;
const STATUS_ERROR = ',"status":"error"'.length;
const KEY_INLINE = ',"inline":'.length;
const KEY_REF = ',"ref":'.length;

/**
 * The boundary payload of a finished loop: the inline aggregate, or (large aggregate, store
 * available) its manifest. Runs once per loop, linear in the iteration count: the iteration
 * results are serialized once (plus each by-reference result's ResultRef), the sizes of the
 * aggregate and of the manifest are derived from that by arithmetic, and the manifest is
 * serialized again only by the store when it must be stored.
 */
export function loopOutcome(d: LoopOutcomeContext, run: RunState, loop: LoopState, stats: LoopStats): LoopOutcome {
  const results = chunkedList(loop.results, loop.total);
  const errors: LoopErrors = loop.errors.length < 2 ? loop.errors.slice() : [...loop.errors].sort((a, b) => a.index - b.index);
  const inline = (): LoopOutcome => ({ kind: 'inline', aggregate: { results, data: results, stats, errors } });
  const store = d.env.storeValue;
  if (!store) return inline();
  const limit = stepResultLimit(d.playbook, stepOf(d.playbook, run.step), 'inline_max_bytes', d.state.limits);
  const resultsBytes = jsonByteSize(results);
  const errorsBytes = jsonByteSize(errors);
  // {"results":R,"data":R,"stats":..,"errors":E}: the `0` placeholders stand for R and E
  const aggregateBytes = 2 * resultsBytes + errorsBytes + jsonByteSize({ results: 0, data: 0, stats, errors: 0 }) - 3;
  if (aggregateBytes <= limit) return inline();

  const exec = d.state.execution_id;
  const entity = manifestEntity(exec, run.id);
  const built = buildManifest(`noetl://${exec}/${entity}`, results, loop.errors, resultsBytes);
  // T7.13: the manifest is itself inline if small, else stored (`r17.0/manifest`: reprocessing the
  // same input rewrites the same object) and referenced by its ResultRef
  const m: Manifest | ResultRef = built.bytes <= limit ? built.manifest : store({ executionId: exec, entity }, built.manifest);
  // a loop with many failures: its `errors` list alone would make a large event
  const e: LoopErrorsValue = errorsBytes <= limit ? errors : store({ executionId: exec, entity: loopErrorsEntity(exec, run.id) }, errors);
  return { kind: 'manifest', manifest: m, errors: e, compact: compactAggregate(m, stats, e) };
}

/**
 * The `append` manifest of a loop's iteration `results` (index order; `null` at failed indices)
 * and its exact JSON size, derived from `resultsBytes` = the JSON size of `results` without
 * serializing the parts again.
 */
export function buildManifest(uri: string, results: readonly unknown[], errors: ReadonlyArray<{ index: number }>, resultsBytes: number): { manifest: Manifest; bytes: number } {
  const n = results.length;
  const failed = new Uint8Array(n);
  for (const e of errors) if (e.index >= 0 && e.index < n) failed[e.index] = 1;
  const parts = new Array<ManifestPart>(n);
  let fixed = PART_FIXED * n + digitsUpTo(n);
  let refJson = 0;
  let refRaw = 0;
  let errorCount = 0;
  let adjust = 0;
  for (let i = 0; i < n; i++) {
    const v = results[i];
    if (failed[i] === 1) {
      // R10.14: a failed iteration is `null` in `results` (the fold never sets a result there)
      parts[i] = { index: i, status: 'error', inline: null };
      fixed += STATUS_ERROR + KEY_INLINE;
      errorCount += 1;
      if (v !== null) adjust += 4 - jsonByteSize(v);
    } else if (isResultRef(v)) {
      parts[i] = { index: i, status: 'ok', ref: v };
      fixed += STATUS_OK + KEY_REF;
      refJson += jsonByteSize(v);
      if (typeof v.raw_size === 'number') refRaw += v.raw_size;
    } else {
      parts[i] = { index: i, status: 'ok', inline: v === undefined ? null : v };
      fixed += STATUS_OK + KEY_INLINE;
    }
  }
  // the element texts of `results` are the part payload texts: Σ = resultsBytes - brackets - commas
  const elementsBytes = (n === 0 ? 0 : resultsBytes - 2 - (n - 1)) + adjust;
  const manifest: Manifest = {
    kind: 'manifest',
    uri,
    strategy: 'append',
    merge_path: null,
    total_parts: n,
    // known sizes of the ok parts: inline JSON bytes, `raw_size` of those stored by reference
    // (a failed part's `null` is 4 bytes of `results`)
    total_size: elementsBytes - 4 * errorCount - refJson + refRaw,
    parts: [],
  };
  const bytes = jsonByteSize(manifest) + (n === 0 ? 0 : fixed + elementsBytes + (n - 1));
  manifest.parts = parts;
  return { manifest, bytes };
}
