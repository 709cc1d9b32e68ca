/** A postgres credential `{type, data: {host, port, user, password, database}}` (tools.md). */
export interface PostgresCredential {
  type: 'postgres';
  data: { host: string; port: number; user: string; password: string; database: string };
}

/**
 * `postgres://user:password@host:port/database` -> a postgres credential (components URL-decoded,
 * defaults 127.0.0.1:5432, user and database `postgres`). Throws on any other scheme.
 */
export function postgresCredentialFromUrl(url: string): PostgresCredential {
  const u = new URL(url);
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`expected a postgres:// URL, got ${u.protocol}//...`);
  }
  return {
    type: 'postgres',
    data: {
      host: decodeURIComponent(u.hostname) || '127.0.0.1',
      port: u.port ? Number(u.port) : 5432,
      user: decodeURIComponent(u.username) || 'postgres',
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    },
  };
}
