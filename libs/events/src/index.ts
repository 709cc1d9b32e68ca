// Public API of @noetl/events: the event envelope and catalog (runtime.md §5–§6), commands (§4),
// outcomes (§7.1) and deterministic ids (§2). Pure types + boundary validation.
export { EVENT_TYPES } from './catalog';
export type {
  EventPayloads, EventType, EventStatus, EventSource, EventEnvelope, NoetlEvent, LoggedEvent,
  LoopStats, CtxPatchEntry, CtxPatchOp, PlaybookIdentity, ParentLink, FailedStepRecord, AttemptDecision,
} from './catalog';
export type { Outcome, OutcomeHelpers, OutcomeMeta } from './outcome';
export type { Command, CommandIteration, StepView, ControlMessage } from './command';
export { ids } from './ids';
export { parseEvent, EventValidationError } from './validate';
