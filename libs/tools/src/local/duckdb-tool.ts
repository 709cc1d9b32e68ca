import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { duckdb } from './duckdb-module';
import type { DuckDBConnection, DuckDBResultReader, DuckDBValue } from '@duckdb/node-api';
import { isPlainObject, makeError } from '@noetl/common';
import type { ErrorKind } from '@noetl/common';
import { authFailure } from '../auth';
import { configErrorOutcome, configFailure, describeType, errorOutcome, optString, optStringList, ToolConfigError } from '../config';
import { KeyedCache } from '../keyed-cache';
import { quoteIdent, sqlResultData, type SqlStatementResult } from '../sql';
import { splitSqlStatements } from '../sql-split';
import { effectiveTimeoutMs, KIND_DEFAULT_TIMEOUT_S } from '../timeout';
import type { Credential, ToolContext, ToolHandler, ToolOutcome } from '../types';
import { duckdbToJson } from './duckdb-values';

const SOURCE = 'duckdb';
const FIELDS = ['command', 'query', 'sql', 'commands', 'database', 'db_path', 'params', 'auth', 'extensions', 'timeout_seconds'] as const;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface DuckdbToolOptions {
  /** where relative `database` paths live (default `<tmpdir>/noetl-duckdb`) */
  scratchDir?: string;
  /**
   * Absolute `database` paths must lie under one of these directories. Default: any absolute
   * path is allowed; `[]` allows only the scratch directory.
   */
  allowedPaths?: string[];
}

/**
 * `kind: duckdb` (tools.md §2.5): embedded DuckDB via `@duckdb/node-api`. `:memory:` databases
 * are created fresh for each attempt; file databases are opened once per path and cached until
 * `close()`. Statements are split per K2.7 and run in order, each committing on its own.
 */
export function createDuckdbTool(opts: DuckdbToolOptions = {}): ToolHandler & { close(): Promise<void> } {
  const scratchDir = path.resolve(opts.scratchDir ?? path.join(tmpdir(), 'noetl-duckdb'));
  const instances = new KeyedCache<Promise<DuckDBInstance>>(async (p) => {
    try {
      (await p).closeSync();
    } catch {
      /* failed to open: nothing to close */
    }
  });
  let closed = false;

  const openFile = (file: string): Promise<DuckDBInstance> =>
    instances.get(file, () => {
      const p = (async () => {
        mkdirSync(path.dirname(file), { recursive: true });
        return duckdb().DuckDBInstance.create(file);
      })();
      p.catch(() => instances.forget(file, p));
      return p;
    });

  return {
    kind: 'duckdb',
    fields: FIELDS,
    async run(config, ctx) {
      if (closed) return errorOutcome(ctx, SOURCE, 'internal', 'INTERNAL', 'duckdb tool is closed');
      return runDuckdb(config ?? {}, ctx, { scratchDir, allowedPaths: opts.allowedPaths, openFile });
    },
    async close() {
      closed = true;
      await instances.closeAll();
    },
  };
}

interface Env {
  scratchDir: string;
  allowedPaths?: string[];
  openFile(file: string): Promise<DuckDBInstance>;
}

interface AuthEntry {
  alias: string;
  ref: unknown;
  tool?: string;
}

class StopError extends Error {}

async function runDuckdb(config: Record<string, unknown>, ctx: ToolContext, env: Env): Promise<ToolOutcome> {
  let statements: string[];
  let params: DuckDBValue[] | undefined;
  let database: string;
  let extensions: string[];
  let auth: AuthEntry[];
  let timeoutMs: number;
  try {
    statements = readStatements(config);
    params = readParams(config, statements.length);
    database = resolveDatabase(config, env);
    extensions = (optStringList(config, 'extensions') ?? []).map((e) => {
      if (!IDENT_RE.test(e)) throw new ToolConfigError('extensions', `field 'extensions': '${e}' is not an extension name`);
      return e;
    });
    auth = readAuth(config);
    timeoutMs = effectiveTimeoutMs(config, ctx, KIND_DEFAULT_TIMEOUT_S.sql);
  } catch (e) {
    return configFailure(ctx, SOURCE, e);
  }
  if (ctx.signal.aborted) return errorOutcome(ctx, SOURCE, 'cancelled', 'CANCELLED', 'duckdb task cancelled');

  let stopped: 'timeout' | 'cancelled' | undefined;
  let conn: DuckDBConnection | undefined;
  const stop = (why: 'timeout' | 'cancelled'): void => {
    if (stopped) return;
    stopped = why;
    try {
      conn?.interrupt();
    } catch {
      /* not running */
    }
  };
  const timer = setTimeout(() => stop('timeout'), timeoutMs);
  const onAbort = (): void => stop('cancelled');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const stoppedOutcome = (data?: unknown): ToolOutcome => {
    const outcome = stopped === 'timeout'
      ? { status: 'error' as const, error: makeError('timeout', 'TIMEOUT', `duckdb task exceeded its timeout of ${timeoutMs / 1000}s`, { source: SOURCE }) }
      : errorOutcome(ctx, SOURCE, 'cancelled', 'CANCELLED', 'duckdb task cancelled');
    return data === undefined ? outcome : { ...outcome, data };
  };

  const memory = database === ':memory:';
  let instance: DuckDBInstance | undefined;
  const done: SqlStatementResult[] = [];
  try {
    try {
      instance = memory ? await duckdb().DuckDBInstance.create(':memory:') : await env.openFile(database);
      conn = await instance.connect();
    } catch (e) {
      return errorOutcome(ctx, SOURCE, 'db_error', 'DUCKDB_ERROR', `cannot open duckdb database '${database}': ${messageOf(e)}`);
    }
    if (stopped) return stoppedOutcome();

    for (const ext of extensions) {
      const failure = await loadExtension(conn, ext, ctx, `field 'extensions'`);
      if (failure) return stopped ? stoppedOutcome() : failure;
    }
    for (const entry of auth) {
      const failure = await applyAuth(conn, entry, ctx);
      if (failure) return stopped ? stoppedOutcome() : failure;
    }

    for (let i = 0; i < statements.length; i++) {
      if (stopped) throw new StopError();
      let reader: DuckDBResultReader;
      try {
        reader = await conn.runAndReadAll(statements[i], params);
      } catch (e) {
        if (stopped) throw new StopError();
        return statementError(e, i, done, ctx);
      }
      done.push(toStatementResult(reader, i));
    }
    if (stopped) throw new StopError();
    return { status: 'ok', data: sqlResultData(done) };
  } catch (e) {
    if (e instanceof StopError || stopped) return stoppedOutcome(done.length ? sqlResultData(done) : undefined);
    return errorOutcome(ctx, SOURCE, 'db_error', 'DUCKDB_ERROR', messageOf(e));
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
    try {
      conn?.closeSync();
    } catch {
      /* already closed */
    }
    if (memory) {
      try {
        instance?.closeSync();
      } catch {
        /* already closed */
      }
    }
  }
}

function readStatements(config: Record<string, unknown>): string[] {
  const given = ['command', 'query', 'sql', 'commands'].filter((f) => config[f] !== undefined && config[f] !== null);
  if (given.length === 0) throw new ToolConfigError('command', "one of 'command' (aliases 'query', 'sql') or 'commands' is required");
  if (given.length > 1) throw new ToolConfigError(given[1], `give exactly one of 'command', 'query', 'sql', 'commands' (got ${given.map((g) => `'${g}'`).join(', ')})`);
  const field = given[0];
  let texts: string[];
  if (field === 'commands') {
    texts = optStringList(config, 'commands')!;
  } else {
    texts = [optString(config, field) as string];
  }
  const statements = texts.flatMap((t) => splitSqlStatements(t));
  if (statements.length === 0) throw new ToolConfigError(field, `field '${field}' contains no SQL statement`);
  return statements;
}

function readParams(config: Record<string, unknown>, statementCount: number): DuckDBValue[] | undefined {
  const v = config.params;
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ToolConfigError('params', `field 'params' must be a list, got ${describeType(v)}`);
  if (v.length === 0) return undefined;
  if (statementCount > 1) throw new ToolConfigError('params', `field 'params' is only allowed with a single statement (got ${statementCount})`);
  return v.map((p) => (p !== null && typeof p === 'object' ? JSON.stringify(p) : (p as DuckDBValue)));
}

function resolveDatabase(config: Record<string, unknown>, env: Env): string {
  const field = config.database !== undefined && config.database !== null ? 'database' : 'db_path';
  const raw = optString(config, field);
  if (raw === undefined || raw === '' || raw === ':memory:') return ':memory:';
  if (/^[a-z][a-z0-9+.-]*:/i.test(raw)) throw new ToolConfigError(field, `field '${field}': only file paths and ':memory:' are supported, got '${raw}'`);
  if (path.isAbsolute(raw)) {
    const resolved = path.resolve(raw);
    if (env.allowedPaths && !env.allowedPaths.some((dir) => isInside(resolved, path.resolve(dir))) && !isInside(resolved, env.scratchDir)) {
      throw new ToolConfigError(field, `field '${field}': '${raw}' is outside the allowed directories`);
    }
    return resolved;
  }
  const resolved = path.resolve(env.scratchDir, raw);
  if (!isInside(resolved, env.scratchDir)) throw new ToolConfigError(field, `field '${field}': '${raw}' escapes the scratch directory`);
  return resolved;
}

function isInside(file: string, dir: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function readAuth(config: Record<string, unknown>): AuthEntry[] {
  const v = config.auth;
  if (v === undefined || v === null) return [];
  if (!isPlainObject(v)) throw new ToolConfigError('auth', `field 'auth' must be a mapping of alias -> auth, got ${describeType(v)}`);
  return Object.entries(v).map(([alias, entry]) => {
    if (!IDENT_RE.test(alias)) throw new ToolConfigError('auth', `field 'auth': alias '${alias}' is not an identifier`);
    if (typeof entry === 'string') return { alias, ref: entry };
    if (!isPlainObject(entry)) throw new ToolConfigError('auth', `field 'auth': entry '${alias}' must be a credential name or an auth mapping, got ${describeType(entry)}`);
    const { tool, ...ref } = entry;
    if (tool !== undefined && typeof tool !== 'string') throw new ToolConfigError('auth', `field 'auth': '${alias}.tool' must be a string`);
    return { alias, ref, tool };
  });
}

/** LOAD, else INSTALL + LOAD; a failure is a `config` outcome (extensions are not bundled and the network may be closed). */
async function loadExtension(conn: DuckDBConnection, name: string, ctx: ToolContext, why: string): Promise<ToolOutcome | undefined> {
  try {
    await conn.run(`LOAD ${name}`);
    return undefined;
  } catch {
    /* not installed yet */
  }
  try {
    await conn.run(`INSTALL ${name}`);
    await conn.run(`LOAD ${name}`);
    return undefined;
  } catch (e) {
    return configErrorOutcome(ctx, SOURCE, why.includes('auth') ? 'auth' : 'extensions',
      `${why} needs the DuckDB extension '${name}', which is not bundled with @duckdb/node-api and could not be installed `
      + `(INSTALL downloads it from extensions.duckdb.org; offline workers must pre-install it into ~/.duckdb/extensions): ${messageOf(e)}`);
  }
}

async function applyAuth(conn: DuckDBConnection, entry: AuthEntry, ctx: ToolContext): Promise<ToolOutcome | undefined> {
  let cred: Credential;
  try {
    cred = await ctx.resolveAuth(entry.ref);
  } catch (e) {
    return authFailure(ctx, SOURCE, e);
  }
  const data = cred.data ?? {}; // ctx.resolveAuth registered its secret values for redaction
  const tool = (entry.tool ?? cred.type ?? '').toLowerCase();
  const why = `auth alias '${entry.alias}' (tool: ${tool || '?'})`;
  let sql: string;
  if (tool === 'postgres' || tool === 'postgresql') {
    const failure = await loadExtension(conn, 'postgres', ctx, why);
    if (failure) return failure;
    const readOnly = data.read_only === true || data.readonly === true || data.mode === 'read_only';
    sql = `ATTACH ${sqlString(postgresConnString(data))} AS ${quoteIdent(entry.alias)} (TYPE postgres${readOnly ? ', READ_ONLY' : ''})`;
  } else if (tool === 's3' || tool === 'gcs') {
    const failure = await loadExtension(conn, 'httpfs', ctx, why);
    if (failure) return failure;
    sql = createSecretSql(entry.alias, tool, data);
  } else {
    return configErrorOutcome(ctx, SOURCE, 'auth', `field 'auth': alias '${entry.alias}' needs 'tool: postgres | s3 | gcs' (got ${JSON.stringify(entry.tool ?? cred.type ?? null)})`);
  }
  try {
    await conn.run(sql);
    return undefined;
  } catch (e) {
    const kind: ErrorKind = tool.startsWith('postgres') ? 'db_connection' : 'db_error';
    return errorOutcome(ctx, SOURCE, kind, 'DUCKDB_ERROR', `${why}: ${messageOf(e)}`);
  }
}

function pick(data: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = data[k];
    if (v !== undefined && v !== null && v !== '') return String(v);
  }
  return undefined;
}

/** libpq key/value connection string from a postgres credential (tools.md §2.2 `auth` fields). */
export function postgresConnString(data: Record<string, unknown>): string {
  const direct = pick(data, 'connection_string', 'dsn', 'url', 'uri');
  if (direct) return direct;
  const parts: Array<[string, string | undefined]> = [
    ['host', pick(data, 'host', 'hostname')],
    ['port', pick(data, 'port') ?? '5432'],
    ['dbname', pick(data, 'database', 'dbname', 'db_name')],
    ['user', pick(data, 'user', 'username')],
    ['password', pick(data, 'password')],
    ['sslmode', pick(data, 'sslmode')],
  ];
  return parts
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}='${(v as string).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' ');
}

function createSecretSql(alias: string, tool: 's3' | 'gcs', data: Record<string, unknown>): string {
  const opts: string[] = [`TYPE ${tool}`];
  const add = (name: string, value: string | undefined): void => {
    if (value !== undefined) opts.push(`${name} ${sqlString(value)}`);
  };
  add('KEY_ID', pick(data, 'key_id', 'access_key_id', 'aws_access_key_id', 'hmac_key_id'));
  add('SECRET', pick(data, 'secret', 'secret_access_key', 'aws_secret_access_key', 'hmac_secret'));
  add('SESSION_TOKEN', pick(data, 'session_token', 'aws_session_token'));
  add('REGION', pick(data, 'region'));
  add('ENDPOINT', pick(data, 'endpoint'));
  add('URL_STYLE', pick(data, 'url_style'));
  add('SCOPE', pick(data, 'scope'));
  const ssl = pick(data, 'use_ssl');
  if (ssl !== undefined) opts.push(`USE_SSL ${ssl === 'false' ? 'false' : 'true'}`);
  return `CREATE OR REPLACE SECRET ${quoteIdent(alias)} (${opts.join(', ')})`;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

let counted: Set<number> | undefined;
const COUNTED = { has: (t: number): boolean => (counted ??= new Set<number>([duckdb().StatementType.INSERT, duckdb().StatementType.UPDATE, duckdb().StatementType.DELETE, duckdb().StatementType.MERGE_INTO])).has(t) };

function toStatementResult(reader: DuckDBResultReader, index: number): SqlStatementResult {
  const typeName = duckdb().StatementType[reader.statementType] ?? 'UNKNOWN';
  if (reader.returnType !== duckdb().ResultReturnType.QUERY_RESULT) {
    const affected = reader.returnType === duckdb().ResultReturnType.CHANGED_ROWS ? reader.rowsChanged : 0;
    return {
      index,
      command_tag: COUNTED.has(reader.statementType) ? `${typeName} ${affected}` : typeName.replace(/_/g, ' '),
      rows: [],
      columns: [],
      row_count: 0,
      affected_rows: affected,
    };
  }
  const columns = reader.deduplicatedColumnNames();
  const jsonColumns = columns.map((_, i) => reader.columnType(i).alias === 'JSON');
  const rows = reader.getRows().map((row) => {
    const obj: Record<string, unknown> = {};
    row.forEach((v, i) => (obj[columns[i]] = duckdbToJson(v, jsonColumns[i])));
    return obj;
  });
  const affected = COUNTED.has(reader.statementType) ? rows.length : 0;
  return {
    index,
    command_tag: `${typeName} ${COUNTED.has(reader.statementType) ? affected : rows.length}`,
    rows,
    columns,
    row_count: rows.length,
    affected_rows: affected,
  };
}

function statementError(e: unknown, index: number, done: SqlStatementResult[], ctx: ToolContext): ToolOutcome {
  const message = messageOf(e);
  const m = /^(?:Error: )?([A-Za-z]+(?: [A-Za-z]+)?) Error: /.exec(message);
  const errorType = m ? m[1] : 'Unknown';
  const kind: ErrorKind = errorType === 'Parser' ? 'parse' : 'db_error';
  return {
    status: 'error',
    data: sqlResultData(done),
    error: makeError(kind, 'DUCKDB_ERROR', ctx.redact(`statement ${index}: ${message}`), {
      source: SOURCE,
      details: { statement_index: index, error_type: errorType },
    }),
  };
}

/** (native errors may come from another realm, so no `instanceof Error`) */
function messageOf(e: unknown): string {
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(e);
}
