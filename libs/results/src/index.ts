// Public API of @noetl/results: the results gateway contract and its stores (fs for embedded mode).
export type { ResultLocation, PutOptions, GetOptions, ResultStore } from './types';
export { ResultStoreError } from './errors';
export type { ResultStoreErrorKind } from './errors';
export { createFsResultStore, MANIFEST_CONTENT_TYPE } from './fs-store';
export type { FsResultStore, FsResultStoreOptions } from './fs-store';
export { externalizeIfLarge, DEFAULT_INLINE_MAX_BYTES } from './externalize';
export type { ExternalizeOptions, Externalized } from './externalize';
export { hydrate, DEFAULT_HYDRATE_MAX_BYTES } from './hydrate';
export type { HydrateOptions } from './hydrate';
export { parseResultPath, readResultPath, selectValues } from './select';
export type { SelectSpec, SelectOptions, PathSegment } from './select';
export { makePreview, schemaHint, DEFAULT_PREVIEW_MAX_BYTES } from './ref-meta';
