import { DEFAULT_LIMITS } from './limits';
import { pmapEmpty } from './pmap';
import type { ExecutionState, LoopState, RunState } from './types';

export function createExecutionState(executionId: string): ExecutionState {
  return {
    v: 1,
    execution_id: executionId,
    root_execution_id: executionId,
    status: 'new',
    workload: {},
    ctx: {},
    limits: { ...DEFAULT_LIMITS },
    tokens: [],
    runs: {},
    steps: pmapEmpty(),
    failed_steps: [],
    cancelled_runs: [],
    discarded_tokens: [],
    stats: { step_runs: 0, tasks: 0, handled_failures: 0 },
  };
}

export function isTerminal(state: ExecutionState): boolean {
  return state.status === 'completed' || state.status === 'failed' || state.status === 'cancelled';
}

/** R16.1: pending tokens or non-terminal step runs (open loops are non-terminal runs). */
export function isLive(state: ExecutionState): boolean {
  if (state.tokens.length > 0) return true;
  for (const _ in state.runs) return true;
  return false;
}

// ------------------------------------------------------------------ chunked result vector
/** Iteration results are kept in chunks so an immutable update copies O(chunk + total/chunk). */
export const RESULT_CHUNK = 128;

export function chunkedSet(chunks: unknown[][], index: number, value: unknown): unknown[][] {
  const c = Math.floor(index / RESULT_CHUNK);
  const out = chunks.slice();
  while (out.length <= c) out.push([]);
  const chunk = out[c].slice();
  while (chunk.length < index % RESULT_CHUNK) chunk.push(null);
  chunk[index % RESULT_CHUNK] = value;
  out[c] = chunk;
  return out;
}

export function chunkedList(chunks: unknown[][], total: number): unknown[] {
  const out: unknown[] = new Array(total);
  for (let i = 0; i < total; i++) {
    const v = chunks[Math.floor(i / RESULT_CHUNK)]?.[i % RESULT_CHUNK];
    out[i] = v === undefined ? null : v;
  }
  return out;
}

// ------------------------------------------------------------------ immutable helpers
export function withRun(state: ExecutionState, run: RunState): ExecutionState {
  return { ...state, runs: { ...state.runs, [run.id]: run } };
}

export function withoutRun(state: ExecutionState, runId: string): ExecutionState {
  const runs = { ...state.runs };
  delete runs[runId];
  return { ...state, runs };
}

export function withLoop(state: ExecutionState, run: RunState, loop: LoopState): ExecutionState {
  return withRun(state, { ...run, loop });
}

/** The run owning an event (by `step_run_id`), if it is live. */
export function liveRun(state: ExecutionState, runId: string | undefined): RunState | undefined {
  if (runId === undefined) return undefined;
  return Object.prototype.hasOwnProperty.call(state.runs, runId) ? state.runs[runId] : undefined;
}

export function loopStats(loop: LoopState): { total: number; succeeded: number; failed: number; dispatched?: number } {
  const stats: { total: number; succeeded: number; failed: number; dispatched?: number } = { total: loop.total, succeeded: loop.succeeded, failed: loop.failed };
  const dispatched = loop.next_index;
  if (dispatched !== loop.succeeded + loop.failed) stats.dispatched = dispatched;
  return stats;
}
