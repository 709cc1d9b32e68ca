import { postgresCredentialFromUrl, type PostgresCredential } from '@noetl/tools';
/** Default database of the `postgres` fixture (conformance README). */
export const DEFAULT_TEST_PG_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** The name under which cases reach the fixture database. */
export const PG_TEST_CREDENTIAL = 'pg_test';

/** A postgres credential `{type, data: {host, port, user, password, database}}` (tools.md). */
export type PgCredential = PostgresCredential;

/**
 * The `pg_test` credential from `NOETL_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
 * Throws on a URL that is not `postgres://` / `postgresql://`.
 */
export function pgTestCredential(env: NodeJS.ProcessEnv = process.env): PgCredential {
  return pgCredentialFromUrl(env.NOETL_TEST_PG_URL || DEFAULT_TEST_PG_URL);
}

export function pgCredentialFromUrl(url: string): PgCredential {
  try {
    return postgresCredentialFromUrl(url);
  } catch (e) {
    throw new Error(`NOETL_TEST_PG_URL: ${(e as Error).message}`);
  }
}

/**
 * Checks the fixture database answers `SELECT 1` (so cases that need it fail with a clear reason
 * when it is down). Resolves to null when reachable, else the error message.
 */
export async function probePostgres(cred: PgCredential, timeoutMs = 5000): Promise<string | null> {
  const { Client } = await import('pg');
  const client = new Client({ ...cred.data, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (e) {
    return `postgres fixture unreachable at ${cred.data.host}:${cred.data.port}/${cred.data.database}: ${(e as Error).message}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}
