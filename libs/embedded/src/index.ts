// Public API of @noetl/embedded: the engine in one process (`noetl run`) — the pure scheduler of
// @noetl/engine and worker loops of @noetl/worker-runtime over an in-memory bus with the mesh's
// message semantics, an in-memory event log, timers, a file catalog and fs results.
export { createEmbeddedRuntime } from './runtime';
export { buildDocument, writeDocumentJson } from './document';
export { PlaybookRejectedError } from './types';
export type {
  EmbeddedRuntime, EmbeddedRuntimeOptions, ExecutionOutcome, InvalidDocument, RunDocument, SubmitOptions, SubmitTarget, TerminalStatus,
} from './types';
export { replayLog, findLogPlaybook } from './replay';
export type { ReplayOptions, ReplayResult } from './replay';
export { errorWithStep } from './document';
export { WorkQueue, ControlChannel } from './bus';
export type { Delivery, MaxDeliverAdvisory, WorkQueueOptions } from './bus';
export { EventLog, parseJsonl, readJsonlFile, DEFAULT_MEMORY_EVENTS, DEFAULT_MEMORY_BYTES } from './log';
export type { EventLogOptions, ParseJsonlOptions } from './log';
export { openEventsFile, streamTreeEvents } from './events-file';
export type { EventsFile } from './events-file';
export { TimerService } from './timers';
export type { TimerEntry } from './timers';
export { FileCatalog, metadataPathOf } from './catalog';
export type { CatalogEntry, CatalogLoad } from './catalog';
export { parseCredentials, loadCredentialsFile, credentialsFromEnv, createCredentialStore } from './credentials';
export type { CredentialMap } from './credentials';
export { readFsRefSync, hydrateDeep } from './hydrate';
export { createDefaultTools } from './tools-entry';
export { toolKindsOf } from './tool-kinds';
