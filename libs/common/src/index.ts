// Public API of @noetl/common: the error model, error objects (runtime.md §7.2), diagnostics and JSON helpers.
export { NoetlError, ERROR_KIND_RETRYABLE, MAX_ERROR_MESSAGE_BYTES, makeError, isErrorKind } from './errors';
export type { ErrorContext, ErrorKind, ErrorObject } from './errors';
export { isError, formatDiagnostic } from './diagnostics';
export type { Diagnostic, DiagnosticSeverity } from './diagnostics';
export {
  isPlainObject, deepMerge, canonicalJson, sha256Hex, digestOf, jsonByteSize, plainCopy, getPath, setPath, setOwn,
} from './json';
export type { JsonPrimitive, JsonValue, JsonObject } from './json';
export { newUlid } from './ulid';
export { seededRandom } from './random';
export { isResultRef, isManifest } from './results';
export type { ResultRef, Manifest, ManifestPart } from './results';
