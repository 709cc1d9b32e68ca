// Test kit of the end-to-end scenario suites (`scenarios-*.spec.ts`): temp dirs with playbook
// files, a loopback HTTP server, a throw-away Postgres database, event helpers. Test-only: nothing
// in the runtime imports it.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { LoggedEvent } from '@noetl/events';
import { postgresCredentialFromUrl, processAlive, type PostgresCredential } from '@noetl/tools';
import { createEmbeddedRuntime } from '../runtime';
import type { EmbeddedRuntime, EmbeddedRuntimeOptions } from '../types';

/** A temp dir for playbooks and `NOETL_HOME`; `cleanup()` removes it. */
export interface ScenarioDir {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** writes `text` to `dir/name` (parent dirs created); returns the absolute path */
  write(name: string, text: string): string;
  path(name: string): string;
  cleanup(): void;
}

export function scenarioDir(prefix: string): ScenarioDir {
  const dir = mkdtempSync(join(tmpdir(), `noetl-${prefix}-`));
  return {
    dir,
    env: { ...process.env, NOETL_HOME: join(dir, 'home') },
    write(name, text) {
      const f = join(dir, name);
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, text);
      return f;
    },
    path: (name) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * One runtime per describe block over the scenario dir: created in `beforeAll`, closed in
 * `afterAll` (then `after`, e.g. `d.cleanup`). The returned handle forwards to the live runtime,
 * so tests call `rt.submit(...)` as on the runtime itself.
 */
export function useRuntime(d: ScenarioDir, opts: Omit<EmbeddedRuntimeOptions, 'env' | 'cwd'>, after?: () => void): EmbeddedRuntime {
  let current: EmbeddedRuntime | undefined;
  beforeAll(() => {
    current = createEmbeddedRuntime({ env: d.env, cwd: d.dir, ...opts });
  });
  afterAll(async () => {
    await current?.close();
    after?.();
  });
  return new Proxy({} as EmbeddedRuntime, {
    get(_t, key) {
      if (!current) throw new Error('useRuntime: the runtime exists only inside tests (after beforeAll)');
      const v = (current as unknown as Record<PropertyKey, unknown>)[key];
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(current) : v;
    },
  });
}

/** Playbook header; `body` starts at `workflow:` (or `workload:` ...). */
export function playbook(name: string, body: string): string {
  return `apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: ${name}, path: scenarios/${name} }\n${body}`;
}

export const count = (events: readonly LoggedEvent[], type: string, step?: string): number =>
  events.filter((e) => e.event_type === type && (step === undefined || e.step === step)).length;

export const ofType = (events: readonly LoggedEvent[], type: string, step?: string): LoggedEvent[] =>
  events.filter((e) => e.event_type === type && (step === undefined || e.step === step));

/** The payload of an event as a loose record (tests read fields the event union does not narrow). */
export const payloadOf = (e: LoggedEvent | undefined): Record<string, unknown> => ((e as { payload?: unknown } | undefined)?.payload ?? {}) as Record<string, unknown>;

/**
 * Resolves with the first event (already logged or arriving later) matching `pred`; rejects after
 * `timeoutMs` with the types seen so far (a hung scenario fails with a reason instead of the
 * jest timeout).
 */
export function waitForEvent(rt: EmbeddedRuntime, rootId: string, pred: (e: LoggedEvent) => boolean, timeoutMs = 15_000): Promise<LoggedEvent> {
  const already = rt.treeEvents(rootId).find(pred);
  if (already) return Promise.resolve(already);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error(`no matching event within ${timeoutMs} ms; seen: ${rt.treeEvents(rootId).map((e) => `${e.event_type}:${e.step ?? ''}`).join(', ')}`));
    }, timeoutMs);
    const off = rt.subscribe((e) => {
      if (e.root_execution_id === rootId && pred(e)) {
        clearTimeout(t);
        off();
        resolve(e);
      }
    });
  });
}

/** Polls `check` every 25 ms until it returns true; false after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Reads a file that a task writes (e.g. a pid), waiting until it exists and is non-empty. */
export async function readWhenWritten(file: string, timeoutMs = 10_000): Promise<string> {
  const ok = await eventually(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '', timeoutMs);
  if (!ok) throw new Error(`${file} was not written within ${timeoutMs} ms`);
  return readFileSync(file, 'utf8').trim();
}

/** true while a process with this pid runs (a zombie does not count, see processAlive) */
export const pidAlive = processAlive;

export const sha256File = (file: string): string => `sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;

// ------------------------------------------------------------------ loopback HTTP server
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface LoopbackServer {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (random port) that records every request and answers with `handler`. */
export async function startLoopback(handler: (req: RecordedRequest, res: ServerResponse) => void): Promise<LoopbackServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: RecordedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      handler(r, res);
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((res) => {
        server.closeAllConnections();
        server.close(() => res());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

// ------------------------------------------------------------------ throw-away Postgres database
export type PgCred = PostgresCredential;

/** The admin connection: `NOETL_TEST_PG_URL` (default postgres://postgres@127.0.0.1:5432/test, as the conformance fixture). */
export function adminPgCredential(env: NodeJS.ProcessEnv = process.env): PgCred {
  return postgresCredentialFromUrl(env.NOETL_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test');
}

export interface TestDatabase {
  name: string;
  /** credential of the new database, for the runtime's credential store */
  credential: PgCred;
  /** one query against the new database (a fresh connection) */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** one query on the admin database (e.g. pg_stat_activity) */
  adminQuery<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

type PgModule = typeof import('pg');

async function withClient<T>(cred: PgCred, fn: (c: InstanceType<PgModule['Client']>) => Promise<T>): Promise<T> {
  const { Client } = (await import('pg')) as PgModule;
  const c = new Client({ ...cred.data, connectionTimeoutMillis: 5_000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Creates a database `noetl_scn_<random>` on the admin server; `drop()` removes it (forcing out sessions). */
export async function createTestDatabase(prefix = 'noetl_scn'): Promise<TestDatabase> {
  const admin = adminPgCredential();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient(admin, (c) => c.query(`CREATE DATABASE ${name}`));
  const credential: PgCred = { type: 'postgres', data: { ...admin.data, database: name } };
  return {
    name,
    credential,
    query: (sql, params) => withClient(credential, async (c) => (await c.query(sql, params)).rows),
    adminQuery: (sql, params) => withClient(admin, async (c) => (await c.query(sql, params)).rows),
    drop: () => withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
