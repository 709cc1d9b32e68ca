// Public API of @noetl/conformance: the conformance case format (conformance README), the pure
// matcher, the HTTP and Postgres fixtures, the runner and its report lines.
export { loadCases, loadCase, parseExpectFile, KNOWN_NEEDS } from './case-file';
export type {
  ConformanceCase, ExpectFile, CaseExpectation, EventCountExpectation, HttpFixtureSpec, HttpFixtureRoute, HttpFixtureResponse,
} from './case-file';
export { subsetMismatches, subsetMatches, countMatchingEvents, checkRun, show } from './matcher';
export type { RunDocument } from './matcher';
export { startHttpFixture, routeMatches } from './http-fixture';
export type { HttpFixture, RecordedRequest } from './http-fixture';
export { pgTestCredential, pgCredentialFromUrl, probePostgres, DEFAULT_TEST_PG_URL, PG_TEST_CREDENTIAL } from './pg-fixture';
export type { PgCredential } from './pg-fixture';
export { keychainSecretsOf, credentialSecrets, scanForSecrets, MIN_SECRET_LENGTH } from './secrets';
export type { CaseSecret, SecretLeak } from './secrets';
export { formatCaseLine, formatSummaryLine, toJsonReport } from './report';
export type { CaseResult, ConformanceReport } from './report';
export {
  runCase, runConformance, secretsCheck, unavailableExecutor, CaseUnrunnable, MESH_UNAVAILABLE, SECRETS_CHECK,
} from './runner';
export type { CaseExecutor, CaseRunInput, CaseOutcome, FixtureCredential, RunCaseOptions, RunConformanceOptions } from './runner';
export { createEmbeddedExecutor } from './embedded-executor';
export type { EmbeddedExecutorOptions } from './embedded-executor';
