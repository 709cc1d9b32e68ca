import { isResultRef, type ErrorObject, type ResultRef } from '@noetl/common';
import type { LoggedEvent } from '@noetl/events';
import { loopManifestOf } from '@noetl/scope';
import { summary, type ExecutionState } from './engine-port';
import { hydrateDeep } from './hydrate';
import type { RunDocument } from './types';

/** The execution error with `step` (conformance README: §7.2 error object plus the failing step). */
export function errorWithStep(s: ExecutionState): (ErrorObject & { step?: string }) | null {
  if (!s.error) return null;
  if (s.error.step) return s.error;
  const step = s.failure?.step ?? s.failed_steps[0]?.step;
  return step ? { ...s.error, step } : s.error;
}

/**
 * The `--json` document of an execution (conformance README): the engine's summary, `error.step`
 * filled in, step results and ctx values hydrated where they were stored by reference, and the execution's events
 * in log order. Live runs and `noetl replay` build it the same way.
 */
export function buildDocument(state: ExecutionState, events: readonly LoggedEvent[], hydrate: (ref: ResultRef) => unknown): RunDocument {
  const s = summary(state, hydrate);
  const steps: RunDocument['steps'] = {};
  for (const [name, rec] of Object.entries(s.steps)) {
    steps[name] = { ...rec, result: hydrateDeep(materializeLoopResult(rec.result, hydrate), hydrate) };
  }
  let err = s.error ?? errorWithStep(state);
  if (err && !err.step) {
    const withStep = errorWithStep(state);
    if (withStep?.step) err = { ...err, step: withStep.step };
  }
  return { execution_id: s.execution_id, status: s.status, error: err ?? null, ctx: hydrateDeep(s.ctx, hydrate) as Record<string, unknown>, steps, events: [...events] };
}

/**
 * A loop result in its compact form (dsl §10.7: `results`/`data` = an `append` Manifest, inline
 * or stored behind a ResultRef) as the document shows it: the aggregate with `results` and `data`
 * materialized (one list; parts stored by reference read). A manifest that cannot be read (e.g. a
 * replay on another machine) keeps its reference, as `hydrateDeep` does.
 */
export function materializeLoopResult(result: unknown, read: (ref: ResultRef) => unknown): unknown {
  const m = loopManifestOf(result);
  if (m === undefined) return result;
  let manifest: unknown = m;
  if (isResultRef(m)) {
    try {
      manifest = read(m);
    } catch {
      return result;
    }
  }
  const list = hydrateDeep(manifest, read);
  const agg = result as Record<string, unknown>;
  let errors = agg.errors;
  if (isResultRef(errors)) {
    try {
      errors = read(errors);
    } catch {
      // unreadable here: keeps its reference, as the manifest would
    }
  }
  return { ...agg, results: list, data: list, errors };
}

/** characters handed to the writer at a time (writeDocumentJson) */
const DOCUMENT_CHUNK_CHARS = 1 << 20;

/**
 * Writes `JSON.stringify` of a document whose last key is `events` — `doc` as given, with `events`
 * replaced by the JSON texts of `eventJsons` — through `write`, in ~1 MiB chunks: the document of
 * a long run can be larger than one string can hold. `write` may return a promise (backpressure).
 */
export async function writeDocumentJson(doc: RunDocument, eventJsons: Iterable<string>, write: (chunk: string) => void | Promise<void>): Promise<void> {
  const head = JSON.stringify({ ...doc, events: [] });
  // `events` is the last key: everything before its `[]}` is the head
  if (!head.endsWith('"events":[]}')) throw new Error('writeDocumentJson: the document does not end with its events');
  let chunk = head.slice(0, -2);
  let first = true;
  for (const line of eventJsons) {
    chunk += first ? line : `,${line}`;
    first = false;
    if (chunk.length >= DOCUMENT_CHUNK_CHARS) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(`${chunk}]}`);
}
