import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCases, parseExpectFile } from './case-file';
import { pgCredentialFromUrl, pgTestCredential, probePostgres } from './pg-fixture';
import { formatCaseLine, formatSummaryLine } from './report';
import { credentialSecrets, keychainSecretsOf, scanForSecrets } from './secrets';
import { runCase, runConformance, unavailableExecutor, MESH_UNAVAILABLE, SECRETS_CHECK, type CaseExecutor } from './runner';

const SHARED = join(__dirname, '../../../../shared/conformance/cases');

describe('pg_test credential', () => {
  it('defaults to postgres://postgres@127.0.0.1:5432/test', () => {
    expect(pgTestCredential({})).toEqual({
      type: 'postgres',
      data: { host: '127.0.0.1', port: 5432, user: 'postgres', password: '', database: 'test' },
    });
  });
  it('reads NOETL_TEST_PG_URL, decoding user and password', () => {
    expect(pgTestCredential({ NOETL_TEST_PG_URL: 'postgresql://u%40x:p%2Fw@db.local:6543/other' }).data).toEqual({
      host: 'db.local', port: 6543, user: 'u@x', password: 'p/w', database: 'other',
    });
    expect(() => pgCredentialFromUrl('mysql://x@y/z')).toThrow(/postgres:\/\//);
  });
  it('reaches the real fixture database', async () => {
    expect(await probePostgres(pgTestCredential())).toBeNull();
  });
  it('reports an unreachable database', async () => {
    const msg = await probePostgres(pgCredentialFromUrl('postgres://postgres@127.0.0.1:1/test'), 2000);
    expect(msg).toMatch(/postgres fixture unreachable at 127\.0\.0\.1:1\/test/);
  });
});

describe('case files', () => {
  it('loads every shared case from its JSON twin', () => {
    const cases = loadCases(SHARED);
    expect(cases.length).toBeGreaterThanOrEqual(56);
    expect(cases.filter((c) => c.loadError)).toEqual([]);
    expect(cases[0].name).toBe('01-linear-chain-noop');
    // YAML 1.2 core schema: an unquoted `y`/`n`/`on`/`off` stays a string (read through JSON)
    expect(cases.every((c) => typeof c.expect?.expect.status === 'string')).toBe(true);
  });
  it('filters by substring', () => {
    expect(loadCases(SHARED, { filter: 'loop' }).every((c) => c.name.includes('loop'))).toBe(true);
  });
  it('reports a case without its JSON twin instead of skipping it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'conf-'));
    writeFileSync(join(dir, 'x.yaml'), 'a: 1');
    writeFileSync(join(dir, 'x.expect.yaml'), 'expect: {status: completed}');
    const cases = loadCases(dir);
    expect(cases).toHaveLength(1);
    expect(cases[0].loadError).toMatch(/missing expect file x\.expect\.json/);
    rmSync(dir, { recursive: true, force: true });
  });
  it('rejects malformed expect files with a reason', () => {
    expect(() => parseExpectFile('{"expect": {"status": "ok"}}')).toThrow(/expect.status/);
    expect(() => parseExpectFile('{"expect": {"status": "completed", "events": [{"count": 1}]}}')).toThrow(/events\[0\]/);
    expect(() => parseExpectFile('{}')).toThrow(/expect/);
  });
});

describe('secrets', () => {
  it('finds the static keychain secret of case 48', () => {
    const s = keychainSecretsOf(join(SHARED, '48-keychain-secret-redacted.yaml'), '48');
    expect(s.map((x) => x.value)).toEqual(['tok-5ecret-Q7Z9-conformance']);
  });
  it('takes long credential secrets only', () => {
    expect(credentialSecrets({ a: { data: { password: 'hunter22', user: 'postgres-long-user' } }, b: { data: { password: 'x' } } })).toEqual([
      { value: 'hunter22', origin: 'credential a.password' },
    ]);
  });
  it('scans the JSON text of every event', () => {
    const leaks = scanForSecrets(
      [{ caseName: 'c', events: [{ event_type: 'a', payload: { m: 'ok' } }, { event_type: 'b', payload: { m: 'got hunter22!' } }] }],
      [{ value: 'hunter22', origin: 'o' }],
    );
    expect(leaks).toEqual([{ caseName: 'c', origin: 'o', eventIndex: 1, eventType: 'b' }]);
  });
});

describe('runner', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conf-run-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.yaml'), 'keychain: [{name: k, kind: static, data: {token: super-secret-1}}]\n');
  writeFileSync(join(dir, 'a.expect.json'), JSON.stringify({ needs: ['http'], http: { routes: [{ method: 'GET', path: '/p', responses: [{ status: 200, json: { v: 1 } }] }] }, expect: { status: 'completed', ctx: { v: 1 } } }));
  writeFileSync(join(dir, 'b.yaml'), '');
  writeFileSync(join(dir, 'b.expect.json'), JSON.stringify({ needs: ['kafka'], expect: { status: 'completed' } }));

  it('provides the HTTP fixture as payload api_url and the pg_test credential; applies the matcher', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const executor: CaseExecutor = {
      mode: 'fake',
      run: async ({ payload, credentials }) => {
        seen.push({ payload, credentials });
        const r = await fetch(`${payload.api_url as string}/p`);
        const body = (await r.json()) as { v: number };
        return { status: 'completed', error: null, ctx: { v: body.v }, steps: {}, events: [{ event_type: 'x', payload: 'super-secret-1' }] };
      },
    };
    const lines: string[] = [];
    const results = await runConformance({ dir, executor, onResult: (r) => lines.push(formatCaseLine(r)) });
    expect(seen[0].payload).toEqual({ api_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    expect((seen[0].credentials as Record<string, unknown>).pg_test).toMatchObject({ type: 'postgres' });
    expect(lines[0]).toBe('PASS a');
    expect(lines[1]).toBe('FAIL b: needs fixture(s) kafka that this runner does not provide');
    expect(lines[2]).toMatch(new RegExp(`^FAIL ${SECRETS_CHECK}: secret \\(a keychain k.data.token\\) appears in a event #0 x$`));
    expect(formatSummaryLine(results)).toBe('1 passed, 2 failed');
  });

  it('fails every case in an unavailable mode, with the reason', async () => {
    const results = await runConformance({ dir, executor: unavailableExecutor('mesh', MESH_UNAVAILABLE) });
    expect(results.map(formatCaseLine)).toEqual([
      `FAIL a: ${MESH_UNAVAILABLE}`,
      'FAIL b: needs fixture(s) kafka that this runner does not provide',
      `FAIL ${SECRETS_CHECK}: no case ran, so no event could be scanned`,
    ]);
  });

  it('turns executor crashes into FAIL reasons', async () => {
    const c = loadCases(dir, { filter: 'a' })[0];
    const out = await runCase(c, { mode: 'x', run: async () => { throw new Error('kaboom'); } });
    expect(out.result.ok).toBe(false);
    expect(out.result.reasons[0]).toMatch(/^runner error: Error: kaboom/);
  });

  it('fails when no case matches the filter', async () => {
    const results = await runConformance({ dir, filter: 'zzz', executor: unavailableExecutor('x', 'y') });
    expect(results.map(formatCaseLine)).toEqual([`FAIL cases: no cases found in ${dir} matching zzz`]);
  });
});

describe('embedded executor', () => {
  it('a case needing a tool kind the registry lacks fails with that reason', async () => {
    const { ToolRegistry, createNoopTool } = await import('@noetl/tools');
    const { createEmbeddedExecutor } = await import('./embedded-executor');
    const home = mkdtempSync(join(tmpdir(), 'conf-home-'));
    const executor = createEmbeddedExecutor({ tools: new ToolRegistry().register(createNoopTool()), env: { ...process.env, NOETL_HOME: home } });
    try {
      const [py] = loadCases(SHARED, { filter: '42-python' });
      const out = await runCase(py, executor);
      expect(formatCaseLine(out.result)).toMatch(/^FAIL 42-python-result-globals: needs tool kind python, not registered \(available: noop\)$/);
      const [noop] = loadCases(SHARED, { filter: '01-linear' });
      expect((await runCase(noop, executor)).result.ok).toBe(true);
    } finally {
      await executor.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
