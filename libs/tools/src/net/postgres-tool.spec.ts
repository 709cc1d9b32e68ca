import { Client } from 'pg';
import { randomBytes } from 'node:crypto';
import { createPostgresTool, invalidConnectionString, uniqueColumnNames } from './postgres-tool';
import { parseInterval, parseNumeric, parseTimestamptz, parseArray, parseInt8 } from './pg-values';
import { makeTestContext } from '../testing';
import type { ToolHandler, ToolOutcome } from '../types';

const adminUrl = process.env.NOETL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new URL(adminUrl);
const suffix = randomBytes(4).toString('hex');
const dbName = `noetl_tools_test_${suffix}`;
const nologin = `noetl_nologin_${suffix}`;
const credentials = {
  pg: { type: 'postgres', data: { host: admin.hostname, port: Number(admin.port || 5432), user: decodeURIComponent(admin.username || 'postgres'), password: decodeURIComponent(admin.password), database: dbName } },
  pg_alias: { type: 'postgres', data: { host: admin.hostname, port: String(admin.port || 5432), username: decodeURIComponent(admin.username || 'postgres'), dbname: dbName } },
  pg_missing_db: { type: 'postgres', data: { host: admin.hostname, port: Number(admin.port || 5432), user: 'postgres', database: `${dbName}_nope` } },
  pg_refused: { type: 'postgres', data: { host: '127.0.0.1', port: 1, user: 'postgres', database: dbName } },
  pg_nologin: { type: 'postgres', data: { host: admin.hostname, port: Number(admin.port || 5432), user: nologin, database: dbName } },
};

async function adminQuery(sql: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE ${dbName}`);
  await adminQuery(`CREATE ROLE ${nologin} NOLOGIN`);
});
afterAll(async () => {
  await adminQuery(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await adminQuery(`DROP ROLE IF EXISTS ${nologin}`);
});

let tool: ToolHandler;
beforeEach(() => { tool = createPostgresTool(); });
afterEach(async () => { await tool.close?.(); });

const ctx = (o: Parameters<typeof makeTestContext>[0] = {}) => makeTestContext({ credentials, ...o });
const run = (config: Record<string, unknown>, c = ctx()) => tool.run({ auth: 'pg', ...config }, c);
const data = (o: ToolOutcome) => o.data as any;

describe('postgres: statements and the result shape', () => {
  it('runs a multi-statement command in order (conformance 45 shape)', async () => {
    let out = await run({ command: `
      CREATE TABLE crud (id INT PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN, meta JSONB);
      INSERT INTO crud VALUES (1, 'ann', true, '{"tier": "gold"}'), (2, 'bob', false, NULL), (3, 'cy', true, '[1, 2]');
    ` });
    expect(out.status).toBe('ok');
    expect(out.data).toMatchObject({
      statement_count: 2, row_count: 0, affected_rows: 3, rows: [],
      command_0: { index: 0, command_tag: 'CREATE TABLE', row_count: 0, affected_rows: 0, rows: [], columns: [] },
      command_1: { index: 1, command_tag: 'INSERT 0 3', affected_rows: 3 },
    });
    expect(data(out).statements).toHaveLength(2);
    expect(data(out).statements[1]).toEqual(data(out).command_1);
    out = await run({ query: 'SELECT id, name, active, meta FROM crud WHERE id <= 2 ORDER BY id' });
    expect(out.data).toMatchObject({
      rows: [{ id: 1, name: 'ann', active: true, meta: { tier: 'gold' } }, { id: 2, name: 'bob', active: false, meta: null }],
      columns: ['id', 'name', 'active', 'meta'], row_count: 2, affected_rows: 0, statement_count: 1,
      command_0: { command_tag: 'SELECT 2', row_count: 2 },
    });
    out = await run({ sql: "UPDATE crud SET name = name || '!' WHERE id > 1; DELETE FROM crud WHERE id = 3; DROP TABLE crud" });
    expect(data(out).statements.map((s: any) => [s.command_tag, s.affected_rows])).toEqual([['UPDATE 2', 2], ['DELETE 1', 1], ['DROP TABLE', 0]]);
  });

  it('commands, command_b64, inline script; K2.6 exactly-one rule and other config errors', async () => {
    let out = await run({ commands: ['SELECT 1 AS a', 'SELECT 2 AS b; SELECT 3 AS c'] });
    expect(data(out).statement_count).toBe(3);
    expect(data(out).rows).toEqual([{ c: 3 }]);
    out = await run({ command_b64: Buffer.from("SELECT 'b64' AS v").toString('base64') });
    expect(data(out).rows).toEqual([{ v: 'b64' }]);
    out = await run({ script: { source: { type: 'inline', code: 'SELECT 42 AS answer;' } } });
    expect(data(out).rows).toEqual([{ answer: 42 }]);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'command'],
      [{ command: 'SELECT 1', query: 'SELECT 2' }, 'query'],
      [{ command: 42 }, 'command'],
      [{ commands: 'SELECT 1' }, 'commands'],
      [{ script: { source: { type: 'file', path: '/x.sql' } } }, 'script'],
      [{ command: ' -- nothing\n ; ' }, 'command'],
      [{ command: 'SELECT $1; SELECT 2', params: [1] }, 'params'],
      [{ command: 'SELECT 1', params: 'x' }, 'params'],
      [{ command: 'SELECT 1', timeout_seconds: 'never' }, 'timeout_seconds'],
    ];
    for (const [cfg, field] of cases) {
      const r = await run(cfg);
      expect(r.error).toMatchObject({ kind: 'config', retryable: false, details: { field } });
    }
    expect((await tool.run({ command: 'SELECT 1' }, ctx())).error).toMatchObject({ kind: 'config', details: { field: 'auth' } });
  });

  it('params with a single statement; schema sets search_path; credential aliases; connection URI', async () => {
    let out = await run({ command: 'SELECT $1::int + $2::int AS s, $3::text AS t', params: [1, 2, 'x'] });
    expect(data(out).rows).toEqual([{ s: 3, t: 'x' }]);
    await run({ command: 'CREATE SCHEMA IF NOT EXISTS sch; CREATE TABLE IF NOT EXISTS sch.only_here (v int); INSERT INTO sch.only_here VALUES (7)' });
    out = await run({ command: 'SELECT v FROM only_here; SELECT current_schema() AS s', schema: 'sch' });
    expect(data(out).command_0.rows).toEqual([{ v: 7 }]);
    expect(data(out).rows).toEqual([{ s: 'sch' }]);
    out = await run({ command: 'SELECT current_database() AS db' }, ctx());
    expect(data(out).rows).toEqual([{ db: dbName }]);
    out = await tool.run({ auth: 'pg_alias', command: 'SELECT current_database() AS db' }, ctx());
    expect(data(out).rows).toEqual([{ db: dbName }]);
    const uri = new URL(adminUrl);
    uri.pathname = `/${dbName}`;
    out = await tool.run({ connection: uri.toString(), command: 'SELECT current_database() AS db' }, ctx());
    expect(data(out).rows).toEqual([{ db: dbName }]);
  });

  it('duplicate result column names keep every value: name, name:1 (as the duckdb tool), rows agree with columns', async () => {
    let out = await run({ command: "SELECT 1 AS id, 'x' AS name, 'y' AS name" });
    expect(out.status).toBe('ok');
    expect(data(out).columns).toEqual(['id', 'name', 'name:1']);
    expect(data(out).rows).toEqual([{ id: 1, name: 'x', 'name:1': 'y' }]);
    expect(data(out).command_0).toMatchObject({ columns: ['id', 'name', 'name:1'], rows: [{ id: 1, name: 'x', 'name:1': 'y' }], command_tag: 'SELECT 1' });
    // extended protocol (params) and several statements in one simple query
    out = await run({ command: 'SELECT $1::int AS a, $2::text AS a, $1::int + 1 AS a', params: [5, 'q'] });
    expect(data(out).rows).toEqual([{ a: 5, 'a:1': 'q', 'a:2': 6 }]);
    out = await run({ command: 'SELECT 1 AS x, 2 AS x UNION ALL SELECT 3, 4; SELECT 5 AS y' });
    expect(data(out).command_0.rows).toEqual([{ x: 1, 'x:1': 2 }, { x: 3, 'x:1': 4 }]);
    expect(data(out).rows).toEqual([{ y: 5 }]);
    // a join over tables sharing column names; K2.10 mapping still applies
    out = await run({ command: `SELECT * FROM (VALUES (1, '{"k":1}'::jsonb)) l(id, v) JOIN (VALUES (1, 9007199254740993::int8)) r(id, v) USING (id) CROSS JOIN (VALUES (1)) z(id)` });
    expect(data(out).columns).toEqual(['id', 'v', 'v:1', 'id:1']);
    expect(data(out).rows).toEqual([{ id: 1, v: { k: 1 }, 'v:1': '9007199254740993', 'id:1': 1 }]);
    // a suffixed name that is itself a column is skipped; __proto__ stays an ordinary own key
    out = await run({ command: `SELECT 1 AS a, 2 AS a, 3 AS "a:1", '{"k":2}'::jsonb AS "__proto__"` });
    expect(data(out).columns).toEqual(['a', 'a:2', 'a:1', '__proto__']);
    const row = data(out).rows[0];
    expect(Object.keys(row)).toEqual(data(out).columns);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(row))).toEqual(JSON.parse('{"a":1,"a:2":2,"a:1":3,"__proto__":{"k":2}}'));
  });

  it('uniqueColumnNames', () => {
    expect(uniqueColumnNames(['a', 'b'])).toEqual(['a', 'b']);
    expect(uniqueColumnNames(['a', 'a', 'a', 'b', 'b'])).toEqual(['a', 'a:1', 'a:2', 'b', 'b:1']);
    expect(uniqueColumnNames(['a', 'a', 'a:1'])).toEqual(['a', 'a:2', 'a:1']);
    expect(uniqueColumnNames(['?column?', '?column?'])).toEqual(['?column?', '?column?:1']);
  });

  it('session state does not leak between tasks on a pooled connection', async () => {
    const one = createPostgresTool({ poolMax: 1 });
    try {
      await one.run({ auth: 'pg', command: "SET application_name = 'dirty'; CREATE TEMP TABLE tmp_x (a int); BEGIN; SELECT 1" }, ctx());
      const out = await one.run({ auth: 'pg', command: "SELECT current_setting('application_name') AS app, to_regclass('tmp_x') AS t, current_setting('statement_timeout') AS st", timeout_seconds: 7 }, ctx());
      expect(data(out).rows).toEqual([{ app: 'noetl', t: null, st: '7s' }]);
    } finally {
      await one.close?.();
    }
  });
});

describe('postgres: value mapping (K2.10)', () => {
  it('maps every documented type', async () => {
    const out = await run({ command: `SELECT
      1::int2 AS i2, 2::int4 AS i4, 9007199254740991::int8 AS i8_safe, 9007199254740993::int8 AS i8_big, (-9007199254740993)::int8 AS i8_neg,
      1.5::numeric AS n_exact, 0.1::numeric AS n_tenth, 1.10::numeric AS n_trailing, 12345678901234567890.123::numeric AS n_big, 'NaN'::numeric AS n_nan,
      1.25::float8 AS f8, 0.5::float4 AS f4, 'NaN'::float8 AS f_nan, 'Infinity'::float8 AS f_inf, '-Infinity'::float8 AS f_ninf,
      true AS b, 'txt'::text AS t, 'vc'::varchar(5) AS vc, 'ch'::char(3) AS ch,
      '{"a": [1, {"b": null}]}'::json AS j, '{"k": "v"}'::jsonb AS jb, 'null'::jsonb AS jnull,
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u,
      '2024-02-29'::date AS d, '13:14:15.123456'::time AS tm, '2024-02-29 13:14:15.5'::timestamp AS ts, '2024-02-29 13:14:15'::timestamp AS ts0,
      '2024-02-29 23:30:00.123456+05:30'::timestamptz AS tstz,
      '1 year 2 months 3 days 04:05:06.789'::interval AS iv, '-1 day +02:00:00'::interval AS iv_neg, '0'::interval AS iv_zero, '-00:00:05'::interval AS iv_negsec,
      '\\x00ff10'::bytea AS by,
      ARRAY[1, NULL, 3]::int[] AS arr_int, ARRAY['a', 'b c', NULL, 'd"e']::text[] AS arr_text, ARRAY[[1.5, 2], [3, 4]]::numeric[] AS arr_2d,
      ARRAY['{"x":1}'::jsonb] AS arr_jsonb, ARRAY['2024-01-01 00:00:00+00'::timestamptz] AS arr_tstz, '{}'::int[] AS arr_empty,
      '192.168.0.1'::inet AS ip, '$1.50'::money AS money, point(1,2) AS pt, NULL::int AS nul
    ` });
    expect(out.status).toBe('ok');
    expect(data(out).rows[0]).toEqual({
      i2: 1, i4: 2, i8_safe: 9007199254740991, i8_big: '9007199254740993', i8_neg: '-9007199254740993',
      n_exact: 1.5, n_tenth: 0.1, n_trailing: 1.1, n_big: '12345678901234567890.123', n_nan: 'NaN',
      f8: 1.25, f4: 0.5, f_nan: 'NaN', f_inf: 'Infinity', f_ninf: '-Infinity',
      b: true, t: 'txt', vc: 'vc', ch: 'ch ',
      j: { a: [1, { b: null }] }, jb: { k: 'v' }, jnull: null,
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      d: '2024-02-29', tm: '13:14:15.123456', ts: '2024-02-29T13:14:15.5', ts0: '2024-02-29T13:14:15',
      tstz: '2024-02-29T18:00:00.123456Z',
      iv: 'P1Y2M3DT4H5M6.789S', iv_neg: 'P-1DT2H', iv_zero: 'PT0S', iv_negsec: 'PT-5S',
      by: Buffer.from([0, 255, 16]).toString('base64'),
      arr_int: [1, null, 3], arr_text: ['a', 'b c', null, 'd"e'], arr_2d: [[1.5, 2], [3, 4]],
      arr_jsonb: [{ x: 1 }], arr_tstz: ['2024-01-01T00:00:00Z'], arr_empty: [],
      ip: '192.168.0.1', money: '$1.50', pt: '(1,2)', nul: null,
    });
  });

  it('timestamptz is UTC whatever the session time zone', async () => {
    const out = await run({ command: "SET TimeZone = 'America/New_York'; SELECT '2024-07-01 12:00:00+00'::timestamptz AS t" });
    expect(data(out).rows).toEqual([{ t: '2024-07-01T12:00:00Z' }]);
  });

  it('helpers', () => {
    expect(parseNumeric('100')).toBe(100);
    expect(parseNumeric('-0.000')).toBe(0);
    expect(parseNumeric('1e400')).toBe('1e400');
    expect(parseNumeric('0.30000000000000004')).toBe(0.30000000000000004);
    expect(parseNumeric('0.300000000000000040')).toBe(0.30000000000000004);
    expect(parseNumeric('0.3000000000000000444')).toBe('0.3000000000000000444');
    expect(parseInt8('-9007199254740991')).toBe(-9007199254740991);
    expect(parseTimestamptz('2024-01-01 00:30:00-01')).toBe('2024-01-01T01:30:00Z');
    expect(parseTimestamptz('infinity')).toBe('infinity');
    expect(parseInterval('3 days')).toBe('P3D');
    expect(parseInterval('1 mon -2 days')).toBe('P1M-2D');
    expect(parseInterval('P1D')).toBe('P1D');
    expect(parseArray('[0:1]={a,b}', (s) => s)).toEqual(['a', 'b']);
    expect(parseArray('{"a\\\\b","x,y"}', (s) => s)).toEqual(['a\\b', 'x,y']);
  });
});

describe('postgres: errors', () => {
  it('syntax error -> db_error PG_42601 with the pg helper', async () => {
    const out = await run({ command: 'SELEC 1' });
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind: 'db_error', code: 'PG_42601', pg_code: '42601', retryable: false, source: 'postgres' });
    expect(out.helpers?.pg).toMatchObject({ code: '42601', sqlstate: '42601', severity: 'ERROR', statement_index: 0 });
  });

  it('unique violation -> db_constraint; data holds the statements that succeeded; earlier statements stay committed', async () => {
    const out = await run({ command: `
      CREATE TABLE uq (id int PRIMARY KEY);
      INSERT INTO uq VALUES (1);
      INSERT INTO uq VALUES (1);
      INSERT INTO uq VALUES (2);
    ` });
    expect(out.error).toMatchObject({ kind: 'db_constraint', code: 'PG_23505', pg_code: '23505', retryable: false, details: { statement_index: 2 } });
    expect(out.helpers?.pg).toMatchObject({ code: '23505', constraint: 'uq_pkey', statement_index: 2 });
    expect(out.helpers?.pg?.detail).toContain('already exists');
    expect(data(out)).toMatchObject({ statement_count: 2, command_1: { command_tag: 'INSERT 0 1' } });
    expect(data(out).command_2).toBeUndefined();
    const check = await run({ command: 'SELECT count(*)::int AS n FROM uq; DROP TABLE uq' });
    expect(data(check).command_0.rows).toEqual([{ n: 1 }]);
  });

  it('transaction: true rolls everything back on failure and commits on success', async () => {
    await run({ command: 'CREATE TABLE tx (id int PRIMARY KEY)' });
    let out = await run({ command: 'INSERT INTO tx VALUES (1); INSERT INTO tx VALUES (2); INSERT INTO tx VALUES (1)', transaction: true });
    expect(out.error).toMatchObject({ kind: 'db_constraint' });
    expect(data(out).statement_count).toBe(2);
    out = await run({ command: 'SELECT count(*)::int AS n FROM tx' });
    expect(data(out).rows).toEqual([{ n: 0 }]);
    out = await run({ command: 'INSERT INTO tx VALUES (1); INSERT INTO tx VALUES (2)', transaction: true });
    expect(out.status).toBe('ok');
    out = await run({ command: 'SELECT count(*)::int AS n FROM tx; DROP TABLE tx' });
    expect(data(out).command_0.rows).toEqual([{ n: 2 }]);
  });

  it('statement timeout -> db_timeout PG_57014 (retryable)', async () => {
    const out = await run({ command: 'SELECT 1 AS first; SELECT pg_sleep(3)', timeout_seconds: 0.3 });
    expect(out.error).toMatchObject({ kind: 'db_timeout', code: 'PG_57014', retryable: true });
    expect(data(out).command_0.rows).toEqual([{ first: 1 }]);
  });

  it('a real deadlock between two sessions -> db_deadlock PG_40P01 for one of them', async () => {
    await run({ command: 'CREATE TABLE dl (id int PRIMARY KEY, v int); INSERT INTO dl VALUES (1, 0), (2, 0)' });
    const a = run({ command: 'UPDATE dl SET v = 1 WHERE id = 1; SELECT pg_sleep(0.5); UPDATE dl SET v = 1 WHERE id = 2', transaction: true });
    const b = run({ command: 'UPDATE dl SET v = 2 WHERE id = 2; SELECT pg_sleep(0.5); UPDATE dl SET v = 2 WHERE id = 1', transaction: true });
    const outs = await Promise.all([a, b]);
    const failed = outs.filter((o) => o.status === 'error');
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatchObject({ kind: 'db_deadlock', code: 'PG_40P01', pg_code: '40P01', retryable: true });
    expect(failed[0].helpers?.pg).toMatchObject({ code: '40P01', statement_index: 2 });
    expect(outs.filter((o) => o.status === 'ok')).toHaveLength(1);
    await run({ command: 'DROP TABLE dl' });
  });

  it('connection failures: unknown credential -> auth, refused / missing database -> db_connection, NOLOGIN role -> auth', async () => {
    expect((await tool.run({ auth: 'nope', command: 'SELECT 1' }, ctx())).error).toMatchObject({ kind: 'auth', code: 'AUTH_NOT_FOUND' });
    let out = await tool.run({ auth: 'pg_refused', command: 'SELECT 1' }, ctx());
    expect(out.error).toMatchObject({ kind: 'db_connection', code: 'DB_CONNECTION', retryable: true });
    out = await tool.run({ auth: 'pg_missing_db', command: 'SELECT 1' }, ctx());
    expect(out.error).toMatchObject({ kind: 'db_connection', code: 'PG_3D000', retryable: true });
    out = await tool.run({ auth: 'pg_nologin', command: 'SELECT 1' }, ctx());
    expect(out.error).toMatchObject({ kind: 'auth', code: 'PG_28000', retryable: false });
  });
});

describe('postgres: malformed connection URIs are config errors (K1.2)', () => {
  it.each([
    ['postgresql://postgres@127.0.0.1:notaport/test', 'the port is not a number'],
    ['postgresql://postgres:pw-secret-1@127.0.0.1:99999/test', 'the port is out of range'],
    ['postgresql://postgres@[::1/test', 'it cannot be parsed'],
    ['host=127.0.0.1 dbname=test', 'must be a postgresql://'],
    ['mysql://root@127.0.0.1/test', 'must be a postgresql://'],
  ])('%s', async (connection, why) => {
    const c = ctx();
    const out = await tool.run({ connection, command: 'SELECT 1' }, c);
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind: 'config', code: 'CONFIG', retryable: false, source: 'postgres', details: { field: 'connection' } });
    expect(out.error!.message).toContain(`postgres: field 'connection' `);
    expect(out.error!.message).toContain(why);
    expect(out.error!.message).not.toContain(connection);
    if (connection.includes('pw-secret-1')) expect(c.secrets.has('pw-secret-1')).toBe(true);
  });

  it('a credential holding a malformed URI is a config error on auth; valid URI forms still connect', async () => {
    const c = ctx({ credentials: { ...credentials, bad_uri: { type: 'postgres', data: { connection: 'postgresql://postgres@127.0.0.1:notaport/test' } } } });
    const out = await tool.run({ auth: 'bad_uri', command: 'SELECT 1' }, c);
    expect(out.error).toMatchObject({ kind: 'config', retryable: false, details: { field: 'auth' } });
    expect(out.error!.message).toContain('the port is not a number');
    const host = admin.hostname;
    const port = admin.port || '5432';
    for (const connection of [`postgresql://postgres@/${dbName}?host=${host}&port=${port}`, `postgres://postgres@${host}:${port}/${dbName}?application_name=x`]) {
      expect(invalidConnectionString(connection)).toBeUndefined();
      const ok = await tool.run({ connection, command: 'SELECT current_database() AS db' }, ctx());
      expect(data(ok).rows).toEqual([{ db: dbName }]);
    }
    expect(invalidConnectionString('/var/run/postgresql test')).toBeUndefined();
  });
});

describe('postgres: cancellation', () => {
  it('ctx.signal cancels the running statement on the server; the pool stays usable', async () => {
    const one = createPostgresTool({ poolMax: 1 });
    try {
      const ac = new AbortController();
      const t0 = Date.now();
      const p = one.run({ auth: 'pg', command: "SELECT 1; SELECT pg_sleep(20) /* noetl-cancel-me */" }, ctx({ signal: ac.signal }));
      setTimeout(() => ac.abort(), 300);
      const out = await p;
      expect(out.error).toMatchObject({ kind: 'cancelled', code: 'CANCELLED' });
      expect(data(out).statement_count).toBe(1);
      expect(Date.now() - t0).toBeLessThan(5000);
      const after = await one.run({ auth: 'pg', command: "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%noetl-cancel-me%' AND state = 'active' AND pid <> pg_backend_pid()" }, ctx());
      expect(data(after).rows).toEqual([{ n: 0 }]);
      const pre = new AbortController();
      pre.abort();
      expect((await one.run({ auth: 'pg', command: 'SELECT 1' }, ctx({ signal: pre.signal }))).error?.kind).toBe('cancelled');
    } finally {
      await one.close?.();
    }
  });
});
