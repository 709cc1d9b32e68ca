// Public API of @noetl/engine: the scheduler's brain as a pure state machine
// (execution state, next event) -> (new state, events to append, commands to publish).
// No clock, randomness or I/O inside: time, ids and reads come in through EngineEnv.
export { createExecutionState, isTerminal, isLive } from './state';
export { processEvent } from './drive';
export { foldEvent, replay } from './fold';
export { pendingCommands } from './commands';
export { summarize } from './summary';
export { activeTimers, timerIds } from './timers';
export { DEFAULT_LIMITS, effectiveLimits } from './limits';
export type {
  ExecutionState, ExecutionStatus, RunSummary, Limits, EngineEnv, TimerRequest, ProcessResult, StepRecord, RunState, LoopState,
  PendingToken, FailureState, CancelState,
} from './types';
