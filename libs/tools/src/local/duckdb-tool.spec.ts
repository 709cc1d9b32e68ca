import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createDuckdbTool } from './duckdb-tool';
import type { SqlResultData } from '../sql';
import { decimalToJson, intervalToIso } from './duckdb-values';
import { makeTestContext } from '../testing';

jest.setTimeout(30_000);

describe('duckdb tool (real DuckDB)', () => {
  let scratch: string;
  let duck: ReturnType<typeof createDuckdbTool>;
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'noetl-duck-'));
    duck = createDuckdbTool({ scratchDir: scratch });
  });
  afterAll(async () => {
    await duck.close?.();
    rmSync(scratch, { recursive: true, force: true });
  });
  const run = (config: Record<string, unknown>, ctx = makeTestContext()) => duck.run(config, ctx);

  it('multi-statement command: the postgres shape (K2.9) with command_<i>', async () => {
    const out = await run({
      command: `
        CREATE TABLE t (id INTEGER, tier VARCHAR);
        INSERT INTO t VALUES (1, 'gold'), (2, 'silver'), (3, 'gold');
        UPDATE t SET tier = 'bronze' WHERE id = 2;
        -- a comment; with a semicolon
        SELECT id, tier FROM t WHERE tier = 'gold' ORDER BY id;
      `,
    });
    expect(out.status).toBe('ok');
    const s0 = { index: 0, command_tag: 'CREATE', rows: [], columns: [], row_count: 0, affected_rows: 0 };
    const s1 = { index: 1, command_tag: 'INSERT 3', rows: [], columns: [], row_count: 0, affected_rows: 3 };
    const s2 = { index: 2, command_tag: 'UPDATE 1', rows: [], columns: [], row_count: 0, affected_rows: 1 };
    const s3 = {
      index: 3,
      command_tag: 'SELECT 2',
      rows: [{ id: 1, tier: 'gold' }, { id: 3, tier: 'gold' }],
      columns: ['id', 'tier'],
      row_count: 2,
      affected_rows: 0,
    };
    expect(out.data).toEqual({
      rows: s3.rows,
      columns: s3.columns,
      row_count: 2,
      affected_rows: 0,
      statement_count: 4,
      statements: [s0, s1, s2, s3],
      command_0: s0,
      command_1: s1,
      command_2: s2,
      command_3: s3,
    });
  });

  it('commands list (each item may hold several statements), query/sql aliases', async () => {
    const out = await run({ commands: ['CREATE TABLE a AS SELECT 1 AS x; INSERT INTO a VALUES (2)', 'SELECT sum(x) AS s FROM a'] });
    expect(out.data).toMatchObject({ statement_count: 3, rows: [{ s: 3 }], command_1: { affected_rows: 1 } });
    expect((await run({ query: 'SELECT 1 AS one' })).data).toMatchObject({ rows: [{ one: 1 }] });
    expect((await run({ sql: 'SELECT 2 AS two' })).data).toMatchObject({ rows: [{ two: 2 }] });
  });

  it('INSERT ... RETURNING reports rows and affected rows', async () => {
    const out = await run({ command: 'CREATE TABLE r(id INTEGER); INSERT INTO r VALUES (1), (2) RETURNING id' });
    expect(out.data).toMatchObject({ rows: [{ id: 1 }, { id: 2 }], row_count: 2, affected_rows: 2, command_1: { command_tag: 'INSERT 2' } });
  });

  it('params bind positionally for a single statement', async () => {
    const out = await run({ command: 'SELECT $1::INTEGER + 1 AS x, $2 AS s, $3::JSON AS j', params: [41, "it's", { a: [1] }] });
    expect(out.data).toMatchObject({ rows: [{ x: 42, s: "it's", j: { a: [1] } }] });
  });

  it('params with several statements is a config error', async () => {
    const out = await run({ command: 'SELECT 1; SELECT $1', params: [1] });
    expect(out.error).toMatchObject({ kind: 'config', details: { field: 'params' } });
  });

  it('maps values per K2.10', async () => {
    const out = await run({
      command: `SELECT
        42::BIGINT AS big_safe, 9007199254740993::BIGINT AS big_unsafe, 170141183460469231731687303715884105727::HUGEINT AS huge,
        1.50::DECIMAL(10,2) AS dec_exact, 12345678901234567890.12::DECIMAL(38,2) AS dec_wide, 0.1::DECIMAL(3,1) AS dec_tenth,
        1.25::DOUBLE AS dbl, 'NaN'::DOUBLE AS nan, 'infinity'::DOUBLE AS inf, 1.5::REAL AS real,
        true AS flag, NULL AS nothing, 'text' AS txt,
        DATE '2024-01-02' AS d, TIME '01:02:03.5' AS tm,
        TIMESTAMP '2024-01-02 03:04:05.123456' AS ts, TIMESTAMP '2024-01-02 03:04:05' AS ts0,
        TIMESTAMPTZ '2024-01-02 03:04:05+02' AS tstz,
        INTERVAL '1 year 2 months 3 days 4 hours 5 minutes 6.5 seconds' AS iv, INTERVAL 0 SECOND AS iv0,
        '\\xAB\\x01'::BLOB AS blob, '12345678-1234-5678-1234-567812345678'::UUID AS u,
        [1, 2, NULL] AS list, [[1], [2, 3]] AS nested, {'a': 1, 'b': [true]} AS struct, MAP {'k': 1} AS map,
        '{"x": [1, {"y": null}]}'::JSON AS j, 'a'::ENUM('a', 'b') AS e, [1, 2]::INTEGER[2] AS arr,
        'infinity'::DATE AS dinf`,
    });
    expect(out.status).toBe('ok');
    expect((out.data as SqlResultData).rows[0]).toEqual({
      big_safe: 42,
      big_unsafe: '9007199254740993',
      huge: '170141183460469231731687303715884105727',
      dec_exact: 1.5,
      dec_wide: '12345678901234567890.12',
      dec_tenth: 0.1,
      dbl: 1.25,
      nan: 'NaN',
      inf: 'Infinity',
      real: 1.5,
      flag: true,
      nothing: null,
      txt: 'text',
      d: '2024-01-02',
      tm: '01:02:03.5',
      ts: '2024-01-02T03:04:05.123456',
      ts0: '2024-01-02T03:04:05',
      tstz: '2024-01-02T01:04:05Z',
      iv: 'P1Y2M3DT4H5M6.5S',
      iv0: 'PT0S',
      blob: Buffer.from([0xab, 0x01]).toString('base64'),
      u: '12345678-1234-5678-1234-567812345678',
      list: [1, 2, null],
      nested: [[1], [2, 3]],
      struct: { a: 1, b: [true] },
      map: { k: 1 },
      j: { x: [1, { y: null }] },
      e: 'a',
      arr: [1, 2],
      dinf: 'infinity',
    });
  });

  it('a parser error is kind parse, code DUCKDB_ERROR', async () => {
    const out = await run({ command: 'SELEC 1' });
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind: 'parse', code: 'DUCKDB_ERROR', retryable: false, source: 'duckdb', details: { statement_index: 0, error_type: 'Parser' } });
  });

  it('other errors are db_error; data holds the statements that succeeded', async () => {
    const out = await run({ command: 'CREATE TABLE ok(x INTEGER); INSERT INTO ok VALUES (1); SELECT * FROM missing_table; SELECT 3' });
    expect(out.error).toMatchObject({ kind: 'db_error', code: 'DUCKDB_ERROR', details: { statement_index: 2, error_type: 'Catalog' } });
    expect(out.error?.message).toContain('statement 2');
    expect(out.data).toMatchObject({ statement_count: 2, affected_rows: 1, command_1: { command_tag: 'INSERT 1' } });
    const conv = await run({ command: "SELECT 'a'::INTEGER" });
    expect(conv.error).toMatchObject({ kind: 'db_error', details: { error_type: 'Conversion' } });
    const constraint = await run({ command: 'CREATE TABLE u(id INTEGER PRIMARY KEY); INSERT INTO u VALUES (1); INSERT INTO u VALUES (1)' });
    expect(constraint.error).toMatchObject({ kind: 'db_error', details: { statement_index: 2, error_type: 'Constraint' } });
  });

  it(':memory: databases are fresh for every attempt', async () => {
    await run({ command: 'CREATE TABLE only_here(x INTEGER)' });
    const out = await run({ command: 'SELECT * FROM only_here' });
    expect(out.error?.kind).toBe('db_error');
  });

  it('file databases persist across tasks (cached instance), relative to the scratch dir', async () => {
    const a = await run({ database: 'sub/warehouse.duckdb', command: 'CREATE TABLE kept AS SELECT 7 AS v' });
    expect(a.status).toBe('ok');
    expect(existsSync(path.join(scratch, 'sub/warehouse.duckdb'))).toBe(true);
    const b = await run({ db_path: path.join(scratch, 'sub/warehouse.duckdb'), command: 'SELECT v FROM kept' });
    expect(b.data).toMatchObject({ rows: [{ v: 7 }] });
    const [c, d] = await Promise.all([
      run({ database: 'sub/warehouse.duckdb', command: 'SELECT count(*)::INTEGER AS n FROM kept' }),
      run({ database: 'sub/warehouse.duckdb', command: 'SELECT 1 AS one' }),
    ]);
    expect([c.status, d.status]).toEqual(['ok', 'ok']);
  });

  it('database paths may not escape the scratch dir or use URLs; allowedPaths restricts absolute paths', async () => {
    expect((await run({ database: '../escape.duckdb', command: 'SELECT 1' })).error).toMatchObject({ kind: 'config', details: { field: 'database' } });
    expect((await run({ database: 'md:cloud', command: 'SELECT 1' })).error).toMatchObject({ kind: 'config', details: { field: 'database' } });
    const restricted = createDuckdbTool({ scratchDir: scratch, allowedPaths: [] });
    try {
      const out = await restricted.run({ database: '/etc/evil.duckdb', command: 'SELECT 1' }, makeTestContext());
      expect(out.error).toMatchObject({ kind: 'config', details: { field: 'database' } });
    } finally {
      await restricted.close?.();
    }
  });

  it('extensions: built-in ones load; others cannot be installed offline (config error)', async () => {
    const ok = await run({ extensions: ['json', 'parquet'], command: "SELECT json_extract('{\"a\": 2}', '$.a')::INTEGER AS a" });
    expect(ok.data).toMatchObject({ rows: [{ a: 2 }] });
    const missing = await run({ extensions: ['spatial'], command: 'SELECT 1' });
    expect(missing.error).toMatchObject({ kind: 'config', details: { field: 'extensions' } });
    expect(missing.error?.message).toContain("extension 'spatial'");
    expect(missing.error?.message).toContain('could not be installed');
    const bad = await run({ extensions: ['json; DROP TABLE x'], command: 'SELECT 1' });
    expect(bad.error).toMatchObject({ kind: 'config', details: { field: 'extensions' } });
  });

  it('auth tool: postgres needs the postgres extension: a clear config error offline, secrets redacted', async () => {
    const ctx = makeTestContext({
      credentials: { wh: { type: 'postgres', data: { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', password: 'pg-secret-1' } } },
    });
    const out = await run({ auth: { wh: { source: 'credential', tool: 'postgres', key: 'wh' } }, command: 'SELECT * FROM wh.public.events' }, ctx);
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind: 'config', details: { field: 'auth' } });
    expect(out.error?.message).toContain("auth alias 'wh' (tool: postgres)");
    expect(out.error?.message).toContain("DuckDB extension 'postgres'");
    expect(JSON.stringify(out)).not.toContain('pg-secret-1');
  });

  it('bad auth maps are config errors; unknown credentials are auth errors', async () => {
    expect((await run({ auth: 'wh', command: 'SELECT 1' })).error).toMatchObject({ kind: 'config', details: { field: 'auth' } });
    expect((await run({ auth: { wh: [1] }, command: 'SELECT 1' })).error).toMatchObject({ kind: 'config', details: { field: 'auth' } });
    expect((await run({ auth: { 'bad alias': 'x' }, command: 'SELECT 1' })).error).toMatchObject({ kind: 'config' });
    const ctx = makeTestContext({ credentials: { api: { type: 'bearer', data: { token: 't' } } } });
    expect((await run({ auth: { a: { key: 'api' } }, command: 'SELECT 1' }, ctx)).error).toMatchObject({ kind: 'config', details: { field: 'auth' } });
    expect((await run({ auth: { a: { key: 'nope', tool: 'postgres' } }, command: 'SELECT 1' })).error).toMatchObject({ kind: 'auth', code: 'AUTH_NOT_FOUND' });
  });

  it('a long query is interrupted at the timeout', async () => {
    const out = await run({ command: 'SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b', timeout_seconds: 0.5 });
    expect(out.error).toMatchObject({ kind: 'timeout', code: 'TIMEOUT', retryable: true });
  });

  it('cancellation interrupts the running query', async () => {
    const ac = new AbortController();
    const pending = run({ command: 'SELECT sum(a.range * b.range) FROM range(200000) a, range(200000) b' }, makeTestContext({ signal: ac.signal }));
    setTimeout(() => ac.abort(), 200);
    expect((await pending).error).toMatchObject({ kind: 'cancelled' });
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['no statement field', {}, 'command'],
    ['command a mapping', { command: { a: 1 } }, 'command'],
    ['query a list', { query: ['SELECT 1'] }, 'query'],
    ['only comments', { command: '-- nothing here;' }, 'command'],
    ['two statement fields', { command: 'SELECT 1', sql: 'SELECT 2' }, 'sql'],
    ['commands not a list', { commands: 'SELECT 1' }, 'commands'],
    ['params not a list', { command: 'SELECT $1', params: { a: 1 } }, 'params'],
    ['database a list', { command: 'SELECT 1', database: ['x'] }, 'database'],
    ['extensions a string', { command: 'SELECT 1', extensions: 'json' }, 'extensions'],
    ['timeout invalid', { command: 'SELECT 1', timeout_seconds: 'x' }, 'timeout_seconds'],
  ];
  it.each(bad)('%s -> config error naming the field', async (_n, config, field) => {
    const out = await run(config);
    expect(out.error).toMatchObject({ kind: 'config', code: 'CONFIG', details: { field } });
    expect(out.error?.message).toContain(field);
  });
});

describe('duckdb value helpers', () => {
  it('decimalToJson keeps only round-tripping decimals as numbers', () => {
    expect(decimalToJson('1.50')).toBe(1.5);
    expect(decimalToJson('-0.00')).toBe(-0);
    expect(decimalToJson('123456789012345678')).toBe('123456789012345678');
    expect(decimalToJson('0.1000000000000000000001')).toBe('0.1000000000000000000001');
  });
  it('intervalToIso', () => {
    expect(intervalToIso(14, 3, 14_706_500_000n)).toBe('P1Y2M3DT4H5M6.5S');
    expect(intervalToIso(0, 0, 0n)).toBe('PT0S');
    expect(intervalToIso(-1, 0, -1_000_000n)).toBe('P-1MT-1S');
  });
});
