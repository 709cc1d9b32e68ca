import { makeError, type ResultRef } from '@noetl/common';
import type { Hydrator } from '@noetl/scope';
import { pmapEntries } from './pmap';
import type { ExecutionState, RunSummary } from './types';

function hydrated(ref: ResultRef, hydrate: Hydrator): unknown {
  try {
    return hydrate(ref);
  } catch {
    return ref; // the summary never fails: an unreadable payload shows as its reference
  }
}

/**
 * The `noetl run --json` document of the conformance README, without `events` (the shell appends
 * them from the log): status, error (+ `step`), ctx, and per reached step `{status?, runs, result}`
 * where `status` is the last counted terminal's, else `skipped` if admission denied it, and
 * `result` the latest successful result R (hydrated if stored by reference), else null.
 */
export function summarize(state: ExecutionState, hydrate: Hydrator): RunSummary {
  const steps: RunSummary['steps'] = {};
  for (const [name, rec] of pmapEntries(state.steps).sort((a, b) => a[1].order - b[1].order)) {
    const status = rec.status ?? (rec.skipped ? 'skipped' : undefined);
    const result = !rec.has_result ? null : rec.ref ? hydrated(rec.ref, hydrate) : (rec.data ?? null);
    steps[name] = { ...(status ? { status } : {}), runs: rec.runs, result };
  }
  let error: RunSummary['error'] = null;
  if (state.status === 'failed') error = state.error ?? state.failure?.error ?? null;
  else if (state.status === 'cancelled') error = makeError('cancelled', 'CANCELLED', `execution cancelled: ${state.cancel?.reason ?? 'cancelled'}`, { source: 'engine' });
  const ctx = JSON.parse(JSON.stringify(state.ctx)) as Record<string, unknown>;
  return { execution_id: state.execution_id, status: state.status, error, ctx, steps };
}
