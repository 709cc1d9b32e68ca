/**
 * The one file that knows the names of @noetl/engine's entry points (see NEEDS.md): the rest of the
 * shell calls these. Pure calls only; the shell does the I/O around them.
 */
import type { NormalizedPlaybook } from '@noetl/dsl';
import {
  createExecutionState, isTerminal as engineIsTerminal, processEvent, replay as engineReplay, summarize as engineSummarize,
  type EngineEnv, type ExecutionState, type ProcessResult, type RunSummary,
} from '@noetl/engine';
import type { NoetlEvent } from '@noetl/events';
import type { Hydrator } from '@noetl/scope';

export type { EngineEnv, ExecutionState, ProcessResult, RunSummary };

export function newState(executionId: string): ExecutionState {
  return createExecutionState(executionId);
}

/** T8.1: fold one input, drive, return emitted events / commands / controls / timers. */
export function processInput(state: ExecutionState, playbook: NormalizedPlaybook, input: NoetlEvent, env: EngineEnv): ProcessResult {
  return processEvent(state, playbook, input, env);
}

export function isTerminal(state: ExecutionState): boolean {
  return engineIsTerminal(state);
}

/** T10.6: state of one execution from its logged events. */
export function replayEvents(playbook: NormalizedPlaybook, events: NoetlEvent[]): ExecutionState {
  return engineReplay(playbook, events);
}

/** `noetl run --json` document without `events`; step results hydrated through `hydrate`. */
export function summary(state: ExecutionState, hydrate: Hydrator): RunSummary {
  return engineSummarize(state, hydrate);
}
