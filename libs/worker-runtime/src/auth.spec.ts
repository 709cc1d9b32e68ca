// Redaction of resolved credentials end to end (runtime.md T7.21, tools.md K1.8) with the real
// postgres and duckdb tools against the local PostgreSQL: only the secret fields of a credential
// are redacted, so user, database, host and the tool kind stay readable in errors, while the
// password appears in no event.
import { randomBytes } from 'node:crypto';
import { createDuckdbTool, createPostgresTool, type ToolHandler } from '@noetl/tools';
import { runCommand } from './index';
import { makeHarness, makeCommand, task, otherwise, delivery, err, ofType, type Harness } from './testing/harness';

const rand = randomBytes(4).toString('hex');
const PASSWORD = `s3cr3t-pw-${rand}`;
const TABLE = `latest_test_table_${rand}`;
const pgCredential = () => ({ type: 'postgres', data: { host: 'localhost', port: 5432, user: 'postgres', password: PASSWORD, database: 'test' } });

let tools: Array<ToolHandler & { close?(): Promise<void> }> = [];
afterEach(async () => {
  for (const t of tools.splice(0)) await t.close?.();
});

async function runProbe(): Promise<Harness> {
  tools = [createPostgresTool(), createDuckdbTool()];
  const h = makeHarness({ tools, credentials: { pg: pgCredential() } });
  h.script.on('leak', (_cfg, ctx) => err('db_error', 'PG_28P01', `password authentication failed for user "postgres" (password ${PASSWORD}) on ${ctx.task}`));
  const cont = [otherwise({ do: 'continue' })];
  await runCommand(makeCommand({
    workload: { table: TABLE },
    pipeline: [
      task('query', 'postgres', { auth: 'pg', command: 'SELECT * FROM {{ workload.table }}', policy: cont }),
      task('missing', 'postgres', { auth: 'nosuchcred', command: 'SELECT 1', policy: cont }),
      task('attach', 'duckdb', { auth: { wh: { source: 'credential', tool: 'postgres', key: 'pg' } }, command: `SELECT * FROM wh.public.${TABLE}`, policy: cont }),
      task('leak', 'script'),
    ],
  }), delivery(), h.deps);
  return h;
}

describe('credential redaction (T7.21): secret fields only', () => {
  test('user, database, host and the tool kind stay readable in errors; the password appears in no event', async () => {
    const h = await runProbe();
    const errors = ofType(h.events, 'task.attempt.failed').map((e) => e.payload.outcome.error as unknown as Record<string, unknown>);
    expect(errors.length).toBe(4);

    // the SQL error: source and message keep "postgres" and the table name (was `*** (statement 1 of 1): relation "la***_***_table"`)
    const query = errors.find((e) => e['code'] === 'PG_42P01')!;
    expect(query).toMatchObject({ kind: 'db_error', source: 'postgres' });
    expect(query['message']).toBe(`postgres (statement 1 of 1): relation "${TABLE}" does not exist`);

    // an unknown credential after a resolved one (was `***: auth resolution failed`)
    const missing = errors.find((e) => e['code'] === 'AUTH_NOT_FOUND')!;
    expect(missing).toMatchObject({ kind: 'auth', source: 'postgres' });
    expect(missing['message']).toMatch(/^postgres: auth resolution failed: .*'nosuchcred'/);

    // duckdb with a postgres alias: whatever happens (extension missing offline, or the attach runs), nothing is mangled
    const duck = errors.find((e) => e['source'] === 'duckdb' || String(e['message']).startsWith('duckdb'))!;
    expect(duck).toBeDefined();
    expect(duck['source']).toBe('duckdb');
    expect(String(duck['message'])).toMatch(/postgres/);

    // none of these messages was redacted: they carry no secret
    for (const e of [query, missing, duck]) {
      expect(JSON.stringify(e)).not.toContain('***');
    }

    // a message that does carry the password: only the password is replaced
    const leak = errors.find((e) => e['code'] === 'PG_28P01')!;
    expect(leak['message']).toBe('password authentication failed for user "postgres" (password ***) on leak');

    // the password is nowhere in the events (payloads, rendered_input, previews, error messages)
    expect(JSON.stringify(h.events)).not.toContain(PASSWORD);
    // and the credential's non-secret values are never turned into ***
    expect(JSON.stringify(h.events)).not.toMatch(/la\*\*\*|"\*\*\*"/);
  }, 60_000);

  test('a keychain entry of kind credential: same field rule (user/host readable in rendered_input and errors, password redacted)', async () => {
    const h = makeHarness({ credentials: { pg: pgCredential() } });
    h.script.on('use', (cfg) => err('db_error', 'PG_X', `cannot connect as ${String(cfg['dsn'])}`));
    await runCommand(makeCommand({
      keychain: [{ name: 'db', kind: 'credential', scope: 'local', fields: { credential: 'pg' } }],
      pipeline: [task('use', 'script', { input: { who: '{{ keychain.db.user }}@{{ keychain.db.host }}/{{ keychain.db.database }}' }, dsn: 'postgresql://{{ keychain.db.user }}:{{ keychain.db.password }}@{{ keychain.db.host }}/{{ keychain.db.database }}' })],
    }), delivery(), h.deps);
    const failed = ofType(h.events, 'task.attempt.failed')[0].payload;
    expect(failed.outcome.error).toMatchObject({ message: 'cannot connect as postgresql://postgres:***@localhost/test' });
    expect(failed.rendered_input).toEqual({ who: 'postgres@localhost/test' });
    expect(JSON.stringify(h.events)).not.toContain(PASSWORD);
  });
});
