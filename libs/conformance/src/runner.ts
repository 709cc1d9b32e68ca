import { KNOWN_NEEDS, loadCases, type ConformanceCase } from './case-file';
import { startHttpFixture, type HttpFixture } from './http-fixture';
import { checkRun, type RunDocument } from './matcher';
import { PG_TEST_CREDENTIAL, pgTestCredential, probePostgres, type PgCredential } from './pg-fixture';
import type { CaseResult } from './report';
import { credentialSecrets, keychainSecretsOf, scanForSecrets, type CaseSecret } from './secrets';

/** A credential handed to a run (`{type, data}`, as in a `--credentials` file). */
export interface FixtureCredential {
  type: string;
  data: Record<string, unknown>;
}

export interface CaseRunInput {
  case: ConformanceCase;
  /** the expect file's payload plus fixture keys (`api_url`) */
  payload: Record<string, unknown>;
  credentials: Record<string, FixtureCredential>;
  /** the run must end (or be cancelled) within this many ms */
  timeoutMs: number;
}

/**
 * Runs a case's playbook and returns the `noetl run --json` document. Throws `CaseUnrunnable`
 * when the case cannot be run at all (reported as FAIL with the message).
 */
export interface CaseExecutor {
  readonly mode: string;
  run(input: CaseRunInput): Promise<RunDocument>;
  close?(): Promise<void>;
}

/** Thrown by executors for a case they cannot run (missing tool kind, mode unavailable, ...). */
export class CaseUnrunnable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaseUnrunnable';
  }
}

/** Executor for `--mode mesh` until the mesh exists: every case fails with that reason. */
export const MESH_UNAVAILABLE = 'mesh mode is not available yet';
export function unavailableExecutor(mode: string, reason: string): CaseExecutor {
  return {
    mode,
    run: async () => {
      throw new CaseUnrunnable(reason);
    },
  };
}

export interface RunCaseOptions {
  /** per-case timeout (default 60 s, env NOETL_CONFORMANCE_CASE_TIMEOUT_MS) */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** What one case produced: the verdict and, if it ran, its document. */
export interface CaseOutcome {
  result: CaseResult;
  doc?: RunDocument;
  credentials: Record<string, FixtureCredential>;
}

let pgProbe: { key: string; result: Promise<string | null> } | null = null;
function probeOnce(cred: PgCredential): Promise<string | null> {
  const key = JSON.stringify(cred.data);
  if (!pgProbe || pgProbe.key !== key) pgProbe = { key, result: probePostgres(cred) };
  return pgProbe.result;
}

function defaultTimeout(env: NodeJS.ProcessEnv): number {
  const n = Number(env.NOETL_CONFORMANCE_CASE_TIMEOUT_MS);
  return Number.isFinite(n) && n > 0 ? n : 60_000;
}

/**
 * Runs one case: provides its fixtures (HTTP server, `pg_test` credential), runs it through the
 * executor and applies the matching rules. Never throws: every problem becomes a FAIL reason.
 */
export async function runCase(c: ConformanceCase, executor: CaseExecutor, opts: RunCaseOptions = {}): Promise<CaseOutcome> {
  const env = opts.env ?? process.env;
  const started = performance.now();
  const fail = (reasons: string[], doc?: RunDocument, credentials: Record<string, FixtureCredential> = {}): CaseOutcome => ({
    result: { name: c.name, ok: false, reasons, durationMs: performance.now() - started },
    doc,
    credentials,
  });
  if (c.loadError || !c.expect) return fail([c.loadError ?? 'expect file not loaded']);
  const ef = c.expect;
  const unknownNeeds = (ef.needs ?? []).filter((n) => !(KNOWN_NEEDS as readonly string[]).includes(n));
  if (unknownNeeds.length) return fail([`needs fixture(s) ${unknownNeeds.join(', ')} that this runner does not provide`]);

  let credentials: Record<string, FixtureCredential> = {};
  try {
    credentials = { [PG_TEST_CREDENTIAL]: pgTestCredential(env) };
  } catch (e) {
    if (ef.needs?.includes('postgres')) return fail([`postgres fixture: ${(e as Error).message}`]);
  }
  if (ef.needs?.includes('postgres') && executor.mode !== 'mesh') {
    const err = await probeOnce(credentials[PG_TEST_CREDENTIAL] as PgCredential);
    if (err) return fail([err], undefined, credentials);
  }

  let http: HttpFixture | null = null;
  try {
    const payload: Record<string, unknown> = { ...(ef.payload ?? {}) };
    if (ef.needs?.includes('http') || ef.http) {
      http = await startHttpFixture(ef.http ?? { routes: [] });
      payload.api_url = http.url;
    }
    let doc: RunDocument;
    try {
      doc = await executor.run({ case: c, payload, credentials, timeoutMs: opts.timeoutMs ?? defaultTimeout(env) });
    } catch (e) {
      return fail([e instanceof CaseUnrunnable ? e.message : `runner error: ${(e as Error)?.stack ?? String(e)}`], undefined, credentials);
    }
    const reasons = checkRun(ef.expect, doc);
    return {
      result: { name: c.name, ok: reasons.length === 0, reasons, durationMs: performance.now() - started },
      doc,
      credentials,
    };
  } catch (e) {
    return fail([`fixture error: ${(e as Error).message}`], undefined, credentials);
  } finally {
    await http?.close();
  }
}

/** Name of the run-wide check that no secret reached any event. */
export const SECRETS_CHECK = 'secrets-not-in-events';

/**
 * The secrets check: every event of every case that ran, as JSON text, must contain none of the
 * credential secrets or static keychain values used by the cases (case 48).
 */
export function secretsCheck(outcomes: ReadonlyArray<{ case: ConformanceCase; outcome: CaseOutcome }>): CaseResult {
  const started = performance.now();
  if (outcomes.length > 0 && outcomes.every((o) => !o.outcome.doc)) {
    return { name: SECRETS_CHECK, ok: false, reasons: ['no case ran, so no event could be scanned'], durationMs: 0 };
  }
  const secrets: CaseSecret[] = [];
  for (const { case: c, outcome } of outcomes) {
    secrets.push(...keychainSecretsOf(c.playbookFile, c.name), ...credentialSecrets(outcome.credentials));
  }
  const leaks = scanForSecrets(
    outcomes.filter((o) => o.outcome.doc?.events).map((o) => ({ caseName: o.case.name, events: o.outcome.doc?.events ?? [] })),
    secrets,
  );
  const reasons = leaks.slice(0, 10).map((l) => `secret (${l.origin}) appears in ${l.caseName} event #${l.eventIndex} ${l.eventType}`);
  if (leaks.length > 10) reasons.push(`... ${leaks.length - 10} more`);
  return { name: SECRETS_CHECK, ok: leaks.length === 0, reasons, durationMs: performance.now() - started };
}

export interface RunConformanceOptions extends RunCaseOptions {
  dir: string;
  filter?: string;
  executor: CaseExecutor;
  /** called after each case (and after the secrets check) in order, e.g. to print its line */
  onResult?: (r: CaseResult) => void;
}

/**
 * Runs every case of `dir` (sorted by name, filtered by `filter`) one after the other, then the
 * secrets check. Returns all verdicts (cases first, the secrets check last).
 */
export async function runConformance(opts: RunConformanceOptions): Promise<CaseResult[]> {
  const cases = loadCases(opts.dir, { filter: opts.filter });
  const outcomes: Array<{ case: ConformanceCase; outcome: CaseOutcome }> = [];
  const results: CaseResult[] = [];
  for (const c of cases) {
    const outcome = await runCase(c, opts.executor, opts);
    outcomes.push({ case: c, outcome });
    results.push(outcome.result);
    opts.onResult?.(outcome.result);
  }
  if (cases.length === 0) {
    const none: CaseResult = { name: 'cases', ok: false, reasons: [`no cases found in ${opts.dir}${opts.filter ? ` matching ${opts.filter}` : ''}`], durationMs: 0 };
    results.push(none);
    opts.onResult?.(none);
    return results;
  }
  const s = secretsCheck(outcomes);
  results.push(s);
  opts.onResult?.(s);
  return results;
}
