import * as net from 'node:net';
import type { Pool, PoolClient, PoolConfig, QueryResult } from 'pg';
import { lazyModule } from '../lazy';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pg = lazyModule(() => require('pg') as typeof import('pg'));
import { isPlainObject, makeError, type ErrorKind } from '@noetl/common';
import { credString, resolveAuth } from '../auth';
import {
  ToolConfigError, cancelledOutcome, configErrorOutcome, describeType, errorOutcome, optBool, optString, readConfig,
} from '../config';
import { KeyedCache, cacheKey } from '../keyed-cache';
import { quoteIdent, sqlResultData, type SqlStatementResult } from '../sql';
import { splitSqlStatements } from '../sql-split';
import { effectiveTimeoutMs } from '../timeout';
import type { OutcomeHelpers, ToolContext, ToolHandler, ToolOutcome } from '../types';
import { pgTypes } from './pg-values';

export const POSTGRES_FIELDS = [
  'auth', 'connection', 'command', 'query', 'sql', 'commands', 'command_b64', 'script', 'params', 'schema', 'transaction',
  'timeout_seconds', 'timeout', 'input',
] as const;

export interface PostgresToolOptions {
  /** clients per pool (per credential), default 10 */
  poolMax?: number;
  /** idle client lifetime, default 30 s */
  idleTimeoutMs?: number;
  /** connect timeout, default 10 s */
  connectTimeoutMs?: number;
  /** `application_name` of the sessions (default `noetl`) */
  applicationName?: string;
}

/** One statement's result (tools.md §2.2); also `command_<i>`. */
export type PgStatementResult = SqlStatementResult;

interface ConnParams {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  ssl?: PoolConfig['ssl'];
  connectionString?: string;
}

const AFFECTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);

/**
 * `kind: postgres` (tools.md §2.2) on node-postgres: one pool per credential (keyed by connection
 * parameters), one session per task, statements split per K2.7 and run in order, each committing
 * on its own unless `transaction: true`; K2.10 value mapping; SQLSTATE-based error kinds;
 * cancellation through the protocol's CancelRequest. `close()` ends every pool.
 *
 * @example
 * const pg = createPostgresTool();
 * await pg.run({ auth: 'pg_test', command: 'CREATE TABLE t (id int); INSERT INTO t VALUES (1)' }, ctx);
 */
export function createPostgresTool(opts: PostgresToolOptions = {}): ToolHandler {
  const pools = new KeyedCache<Pool>((pool) => pool.end().catch(() => undefined));
  const poolFor = (p: ConnParams): Pool => {
    const key = cacheKey({ ...p, password: p.password === undefined ? undefined : cacheKey({ p: p.password }) });
    return pools.get(key, () => {
      const pool = new (pg().Pool)({
        ...p,
        max: opts.poolMax ?? 10,
        idleTimeoutMillis: opts.idleTimeoutMs ?? 30_000,
        connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
        application_name: opts.applicationName ?? 'noetl',
        options: '-c DateStyle=ISO,MDY',
        types: pgTypes,
      });
      pool.on('error', () => undefined); // idle-client errors: the client is dropped by the pool
      return pool;
    });
  };

  return {
    kind: 'postgres',
    fields: POSTGRES_FIELDS,
    close: () => pools.closeAll(),
    async run(config, ctx) {
      const read = readConfig(ctx, 'postgres', () => {
        const statements = readStatements(config);
        const params = config['params'];
        if (params !== undefined && params !== null && !Array.isArray(params)) {
          throw new ToolConfigError('params', `field 'params' must be a list, got ${describeType(params)}`);
        }
        const list = Array.isArray(params) && params.length > 0 ? params : undefined;
        if (list && statements.length > 1) {
          throw new ToolConfigError('params', `field 'params' is only allowed with a single statement (got ${statements.length})`);
        }
        return {
          statements,
          params: list,
          schema: optString(config, 'schema'),
          transaction: optBool(config, 'transaction', false),
          timeoutMs: Math.max(1, Math.round(effectiveTimeoutMs(config, ctx, 300))),
        };
      });
      if ('outcome' in read) return read.outcome;
      const plan = read.ok;

      let conn: ConnParams;
      if (config['auth'] !== undefined && config['auth'] !== null && config['auth'] !== '') {
        const r = await resolveAuth(ctx, 'postgres', config['auth']);
        if ('outcome' in r) return r.outcome;
        const c = connFromCredential(r.cred.data, ctx);
        if ('error' in c) return configErrorOutcome(ctx, 'postgres', 'auth', c.error);
        conn = c.conn;
      } else {
        const uri = readConfig(ctx, 'postgres', () => optString(config, 'connection'));
        if ('outcome' in uri) return uri.outcome;
        if (!uri.ok) return configErrorOutcome(ctx, 'postgres', 'auth', "one of 'auth' or 'connection' is required");
        registerUriSecret(uri.ok, ctx);
        const bad = invalidConnectionString(uri.ok);
        if (bad) return configErrorOutcome(ctx, 'postgres', 'connection', `field 'connection' ${bad}`);
        conn = { connectionString: uri.ok };
      }
      if (ctx.signal.aborted) return cancelledOutcome(ctx, 'postgres');
      return runStatements(poolFor(conn), conn, plan, ctx);
    },
  };
}

function readStatements(config: Record<string, unknown>): string[] {
  const sources = ['command', 'query', 'sql', 'commands', 'command_b64', 'script'].filter(
    (f) => config[f] !== undefined && config[f] !== null,
  );
  if (sources.length === 0) throw new ToolConfigError('command', "one of 'command' (aliases 'query', 'sql'), 'commands', 'command_b64' or 'script' is required");
  if (sources.length > 1) throw new ToolConfigError(sources[1], `only one of ${sources.map((s) => `'${s}'`).join(', ')} may be given`);
  const field = sources[0];
  const v = config[field];
  let texts: string[];
  switch (field) {
    case 'commands':
      if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new ToolConfigError(field, "field 'commands' must be a list of strings");
      texts = v as string[];
      break;
    case 'command_b64':
      if (typeof v !== 'string') throw new ToolConfigError(field, `field 'command_b64' must be a string, got ${describeType(v)}`);
      texts = [Buffer.from(v, 'base64').toString('utf8')];
      break;
    case 'script': {
      const src = isPlainObject(v) ? v['source'] : undefined;
      if (!isPlainObject(src)) throw new ToolConfigError(field, "field 'script' must be a mapping with 'source'");
      const type = src['type'] ?? 'inline';
      if (type !== 'inline') throw new ToolConfigError(field, `script source type '${String(type)}' is not supported by this engine (inline only)`);
      const code = src['code'];
      if (typeof code !== 'string') throw new ToolConfigError(field, "field 'script.source.code' must be a string");
      texts = [code];
      break;
    }
    default:
      if (typeof v !== 'string') throw new ToolConfigError(field, `field '${field}' must be a string, got ${describeType(v)}`);
      texts = [v];
  }
  const statements = texts.flatMap((t) => splitSqlStatements(t));
  if (statements.length === 0) throw new ToolConfigError(field, `field '${field}' contains no SQL statement`);
  return statements;
}

/**
 * Why node-postgres could not parse a connection string (the same two URL attempts as
 * pg-connection-string: as given, then with an empty host), or undefined when it can. Never
 * quotes the string (it may hold a password). A string starting with `/` is a socket path.
 */
export function invalidConnectionString(s: string): string | undefined {
  if (s.startsWith('/')) return undefined;
  if (!/^[a-z][a-z0-9+.-]*:/i.test(s)) return 'must be a postgresql://user:password@host:port/database URI';
  const text = / |%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(s) ? encodeURI(s).replace(/%25(\d\d)/g, '%$1') : s;
  let u: URL;
  try {
    u = new URL(text, 'postgres://base');
  } catch {
    try {
      u = new URL(text.replace('@/', '@___DUMMY___/'), 'postgres://base');
    } catch {
      const port = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#[\]]*):([^/?#]*)/i.exec(s)?.[1];
      const why = port !== undefined && !/^\d{0,5}$/.test(port) ? `the port is not a number` : port !== undefined && Number(port) > 65535 ? 'the port is out of range' : 'it cannot be parsed';
      return `is not a valid postgresql:// URI (${why}; expected postgresql://user:password@host:port/database)`;
    }
  }
  if (!/^(postgres|postgresql|socket):$/.test(u.protocol)) {
    return 'must be a postgresql://user:password@host:port/database URI';
  }
  return undefined;
}

function registerUriSecret(uri: string, ctx: ToolContext): void {
  let raw: string | undefined;
  try {
    raw = new URL(uri).password;
  } catch {
    // not a valid URL (e.g. a bad port): still find the password so it is redacted
    raw = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:([^@/?#]*)@/i.exec(uri)?.[1];
  }
  if (!raw) return;
  ctx.registerSecret(raw);
  try {
    const pw = decodeURIComponent(raw);
    if (pw !== raw) ctx.registerSecret(pw);
  } catch {
    // malformed percent-encoding: the raw form is registered
  }
}

function connFromCredential(d: Record<string, unknown>, ctx: ToolContext): { conn: ConnParams } | { error: string } {
  const uri = credString(d, 'connection', 'connection_string', 'url', 'dsn', 'uri');
  if (uri && /^postgres(ql)?:\/\//.test(uri)) {
    registerUriSecret(uri, ctx);
    const bad = invalidConnectionString(uri);
    if (bad) return { error: `the postgres credential's connection URI ${bad}` };
    return { conn: { connectionString: uri } };
  }
  const host = credString(d, 'host', 'hostname');
  if (!host) return { error: 'the postgres credential has no host' };
  const portStr = credString(d, 'port') ?? '5432';
  const port = Number(portStr);
  if (!Number.isInteger(port) || port <= 0) return { error: `the postgres credential has an invalid port ${portStr}` };
  const password = credString(d, 'password');
  if (password) ctx.registerSecret(password);
  const sslmode = (credString(d, 'sslmode', 'ssl_mode') ?? 'disable').toLowerCase();
  let ssl: PoolConfig['ssl'] = false;
  if (sslmode === 'require') ssl = { rejectUnauthorized: false };
  else if (sslmode === 'verify-ca' || sslmode === 'verify-full') ssl = { rejectUnauthorized: true };
  return {
    conn: {
      host, port, password,
      user: credString(d, 'user', 'username'),
      database: credString(d, 'database', 'dbname', 'db_name', 'db'),
      ssl,
    },
  };
}

/** CancelRequest on a separate connection (protocol-level pg_cancel_backend). Best-effort. */
function cancelBackend(client: PoolClient, conn: ConnParams): void {
  const c = client as unknown as { processID?: number; secretKey?: number; host?: string; port?: number };
  if (typeof c.processID !== 'number' || typeof c.secretKey !== 'number') return;
  const host = c.host ?? conn.host ?? 'localhost';
  const port = c.port ?? conn.port ?? 5432;
  const sock = host.startsWith('/') ? net.connect(`${host}/.s.PGSQL.${port}`) : net.connect(port, host);
  sock.on('error', () => undefined);
  sock.setTimeout(5000, () => sock.destroy());
  sock.on('connect', () => {
    const b = Buffer.alloc(16);
    b.writeInt32BE(16, 0);
    b.writeInt32BE(80877102, 4);
    b.writeInt32BE(c.processID!, 8);
    b.writeInt32BE(c.secretKey!, 12);
    sock.end(b);
  });
}

function destroyConnection(client: PoolClient): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
  stream?.destroy();
}

interface Plan {
  statements: string[];
  params?: unknown[];
  schema?: string;
  transaction: boolean;
  timeoutMs: number;
}

/**
 * Result column names made unique the way the duckdb tool does (`name`, `name:1`, `name:2`, ...),
 * skipping a suffixed name that is itself a column of the result; unchanged when all are distinct.
 */
export function uniqueColumnNames(names: readonly string[]): string[] {
  const all = new Set(names);
  if (all.size === names.length) return [...names];
  const used = new Set<string>();
  const next = new Map<string, number>();
  return names.map((name) => {
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
    let n = next.get(name) ?? 0;
    let candidate: string;
    do candidate = `${name}:${++n}`;
    while (used.has(candidate) || all.has(candidate));
    next.set(name, n);
    used.add(candidate);
    return candidate;
  });
}

/** Array-mode rows -> objects keyed by the (unique) column names; `__proto__` stays an own key. */
function rowObjects(rows: unknown[][], columns: string[]): Record<string, unknown>[] {
  const special = columns.includes('__proto__');
  return rows.map((values) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      if (special && columns[i] === '__proto__') Object.defineProperty(o, '__proto__', { value: values[i], enumerable: true, writable: true, configurable: true });
      else o[columns[i]] = values[i];
    }
    return o;
  });
}

function toStatementResult(index: number, r: QueryResult<unknown[]>, tag: string | undefined): PgStatementResult {
  const command = r.command ?? '';
  const rowCount = r.rowCount ?? 0;
  const commandTag = tag ?? (command === 'INSERT' ? `INSERT ${r.oid ?? 0} ${rowCount}` : r.rowCount === null ? command : `${command} ${rowCount}`);
  const columns = uniqueColumnNames((r.fields ?? []).map((f) => f.name));
  const rows = rowObjects(r.rows ?? [], columns);
  return {
    index,
    command_tag: commandTag,
    rows,
    columns,
    row_count: rows.length,
    affected_rows: AFFECTING.has(command) ? rowCount : 0,
  };
}

/** SQLSTATE -> error kind (tools.md §2.2). */
export function pgErrorKind(sqlstate: string): ErrorKind {
  if (sqlstate.startsWith('08') || /^57P0[123]$/.test(sqlstate) || sqlstate === '53300') return 'db_connection';
  if (sqlstate === '40001' || sqlstate === '40P01') return 'db_deadlock';
  if (sqlstate === '57014') return 'db_timeout';
  if (sqlstate.startsWith('23')) return 'db_constraint';
  if (sqlstate.startsWith('28')) return 'auth';
  return 'db_error';
}

interface PgErrorLike {
  code?: unknown; severity?: unknown; detail?: unknown; hint?: unknown; constraint?: unknown; position?: unknown;
  table?: unknown; schema?: unknown; column?: unknown; message?: unknown;
}

function sqlstateOf(e: unknown): string | undefined {
  const code = (e as PgErrorLike)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

function dbErrorOutcome(
  ctx: ToolContext, e: unknown, statementIndex: number | undefined, total: number, done: PgStatementResult[] | undefined,
  phase: 'connect' | 'statement' | 'session',
): ToolOutcome {
  const pe = e as PgErrorLike;
  const sqlstate = sqlstateOf(e);
  const msg = typeof pe?.message === 'string' ? pe.message : String(e);
  const where = statementIndex === undefined ? '' : ` (statement ${statementIndex + 1} of ${total})`;
  const rest: Omit<ToolOutcome, 'status' | 'error'> = done ? { data: sqlResultData(done) } : {};
  if (!sqlstate) {
    return { status: 'error', error: makeError('db_connection', 'DB_CONNECTION', ctx.redact(`postgres: ${phase === 'connect' ? 'connection failed' : 'connection lost'}${where}: ${msg}`), { source: 'postgres' }), ...rest };
  }
  let kind = pgErrorKind(sqlstate);
  if (phase === 'connect' && kind !== 'auth') kind = 'db_connection';
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const pg: NonNullable<OutcomeHelpers['pg']> = { code: sqlstate, sqlstate };
  if (str(pe.severity)) pg.severity = str(pe.severity);
  if (str(pe.detail)) pg.detail = ctx.redact(str(pe.detail)!);
  if (str(pe.hint)) pg.hint = str(pe.hint);
  if (str(pe.constraint)) pg.constraint = str(pe.constraint);
  if (statementIndex !== undefined) pg.statement_index = statementIndex;
  const details: Record<string, unknown> = {};
  if (statementIndex !== undefined) details.statement_index = statementIndex;
  for (const k of ['position', 'table', 'schema', 'column'] as const) if (str(pe[k])) details[k] = pe[k];
  return {
    status: 'error',
    error: makeError(kind, `PG_${sqlstate}`, ctx.redact(`postgres${where}: ${msg}`), { source: 'postgres', pg_code: sqlstate, details }),
    helpers: { pg },
    ...rest,
  };
}

async function acquire(pool: Pool, signal: AbortSignal): Promise<PoolClient | 'aborted'> {
  const p = pool.connect();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const r = await Promise.race([p, aborted]);
    if (r === 'aborted') p.then((c) => c.release(), () => undefined);
    return r;
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}

async function runStatements(pool: Pool, conn: ConnParams, plan: Plan, ctx: ToolContext): Promise<ToolOutcome> {
  let client: PoolClient | 'aborted';
  try {
    client = await acquire(pool, ctx.signal);
  } catch (e) {
    return dbErrorOutcome(ctx, e, undefined, plan.statements.length, undefined, 'connect');
  }
  if (client === 'aborted') return cancelledOutcome(ctx, 'postgres');
  const c = client;
  let broken = false;
  const st: { interrupt?: 'cancelled' | 'timeout' } = {};
  const onAbort = () => {
    if (st.interrupt) return;
    st.interrupt = 'cancelled';
    cancelBackend(c, conn);
  };
  const interrupted = () => st.interrupt; // read through a call: set from timers and signal handlers
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const done: PgStatementResult[] = [];
  const total = plan.statements.length;
  let inTx = false;
  try {
    const setup = [`SET statement_timeout = ${plan.timeoutMs}`];
    if (plan.schema) setup.push(`SET search_path TO ${plan.schema.split(',').map((s) => quoteIdent(s.trim())).join(', ')}`);
    try {
      await c.query(setup.join('; '));
      if (plan.transaction) {
        await c.query('BEGIN');
        inTx = true;
      }
    } catch (e) {
      if (!sqlstateOf(e)) broken = true;
      if (ctx.signal.aborted) return cancelledOutcome(ctx, 'postgres', { data: sqlResultData(done) });
      return dbErrorOutcome(ctx, e, undefined, total, [], 'session');
    }
    for (let i = 0; i < total; i++) {
      if (interrupted() === 'cancelled' || ctx.signal.aborted) return cancelledOutcome(ctx, 'postgres', { data: sqlResultData(done) });
      const tags: string[] = [];
      const onTag = (msg: { text?: string }) => tags.push(msg.text ?? '');
      const connection = (c as unknown as { connection: NodeJS.EventEmitter }).connection;
      connection.on('commandComplete', onTag);
      // client-side guard in case the server-side statement_timeout cannot fire (network loss)
      const guard1 = setTimeout(() => { st.interrupt = st.interrupt ?? 'timeout'; cancelBackend(c, conn); }, plan.timeoutMs + 2000);
      const guard2 = setTimeout(() => { st.interrupt = st.interrupt ?? 'timeout'; broken = true; destroyConnection(c); }, plan.timeoutMs + 7000);
      let killTimer: NodeJS.Timeout | undefined;
      const stopSignal = () => {
        // cancellation: if the cancel request cannot stop the statement, drop the connection
        killTimer = setTimeout(() => { broken = true; destroyConnection(c); }, 5000);
      };
      if (ctx.signal.aborted) stopSignal();
      else ctx.signal.addEventListener('abort', stopSignal, { once: true });
      try {
        // array rows: result columns with the same name would overwrite each other in object rows
        const r: QueryResult<unknown[]> | QueryResult<unknown[]>[] = await c.query({ text: plan.statements[i], values: plan.params, rowMode: 'array' });
        const results = Array.isArray(r) ? r : [r];
        results.forEach((res, j) => {
          done.push(toStatementResult(done.length, res, tags[j]));
        });
      } catch (e) {
        if (!sqlstateOf(e)) broken = true;
        if (inTx && !broken) await c.query('ROLLBACK').catch(() => { broken = true; });
        inTx = false;
        if (interrupted() === 'cancelled' || ctx.signal.aborted) return cancelledOutcome(ctx, 'postgres', { data: sqlResultData(done) });
        if (interrupted() === 'timeout') {
          return errorOutcome(ctx, 'postgres', 'timeout', 'TIMEOUT', `postgres (statement ${i + 1} of ${total}): no answer within ${plan.timeoutMs} ms`, { details: { statement_index: i } }, { data: sqlResultData(done) });
        }
        return dbErrorOutcome(ctx, e, i, total, done, 'statement');
      } finally {
        clearTimeout(guard1);
        clearTimeout(guard2);
        if (killTimer) clearTimeout(killTimer);
        ctx.signal.removeEventListener('abort', stopSignal);
        connection.off('commandComplete', onTag);
      }
    }
    if (inTx) {
      try {
        await c.query('COMMIT');
        inTx = false;
      } catch (e) {
        if (!sqlstateOf(e)) broken = true;
        return dbErrorOutcome(ctx, e, total - 1, total, done, 'statement');
      }
    }
    return { status: 'ok', data: sqlResultData(done) };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    if (!broken) {
      try {
        // leave no transaction or session state behind for the next task on this connection
        if (c.getTransactionStatus?.() !== 'I') await c.query('ROLLBACK');
        await c.query('DISCARD ALL');
      } catch {
        broken = true;
      }
    }
    c.release(broken ? true : undefined);
  }
}
