// The conformance suite in embedded mode: one jest test per case of NOETL_CONFORMANCE_DIR (default:
// the shared cases), each asserting PASS, then the run-wide secrets check. Real HTTP fixture server,
// real Postgres (NOETL_TEST_PG_URL), the playbooks run in this process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadCases, type ConformanceCase } from './case-file';
import { createEmbeddedExecutor } from './embedded-executor';
import { runCase, secretsCheck, type CaseOutcome } from './runner';

const DIR = process.env.NOETL_CONFORMANCE_DIR ?? resolve(__dirname, '../../../../shared/conformance/cases');
const CASE_TIMEOUT_MS = Number(process.env.NOETL_CONFORMANCE_CASE_TIMEOUT_MS) || 60_000;
const cases = loadCases(DIR, { filter: process.env.NOETL_CONFORMANCE_FILTER });
// result files of the runs go to a temp NOETL_HOME, not into the checkout
const env = { ...process.env, NOETL_HOME: mkdtempSync(join(tmpdir(), 'noetl-conformance-')) };
afterAll(() => rmSync(env.NOETL_HOME, { recursive: true, force: true }));
const executor = createEmbeddedExecutor({ workers: 4, env, log: () => undefined });
const outcomes: Array<{ case: ConformanceCase; outcome: CaseOutcome }> = [];

afterAll(async () => {
  await executor.close();
});

describe(`conformance (embedded) — ${DIR}`, () => {
  it('has cases', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const outcome = await runCase(c, executor, { timeoutMs: CASE_TIMEOUT_MS, env });
      outcomes.push({ case: c, outcome });
      if (!outcome.result.ok) throw new Error(`FAIL ${c.name}:\n  - ${outcome.result.reasons.join('\n  - ')}`);
    },
    CASE_TIMEOUT_MS + 30_000,
  );

  it('no credential or keychain secret appears in any event', () => {
    const r = secretsCheck(outcomes);
    if (!r.ok) throw new Error(r.reasons.join('\n'));
  });
});
