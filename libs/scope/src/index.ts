// Public API of @noetl/scope: how templates see the world (dsl §13) — name resolution for
// scheduler- and worker-side templates, data views (R13.4), the http body fallback (tools K2.16),
// step records (R13.5) and outcome views (R13.8, §8.3). Pure; shared by engine and worker.
export { HTTP_RESULT_KEYS, httpView, httpItemsView, loopItemsView, loopManifestOf, isLoopAggregate, manifestItems, dataView, refView, resultView, stepOutcomeView, errorView, attemptOutcomeView } from './views';
export { boundedHydrator, HydrationLimitError } from './views';
export type { Hydrator } from './views';
export { RESERVED_ROOTS, makeGlobals, StepResults, schedulerScope, workerScope } from './scopes';
export type { Globals, SchedulerScopeInput, WorkerScopeInput } from './scopes';
