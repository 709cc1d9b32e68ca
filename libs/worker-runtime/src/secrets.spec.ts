// Which strings of a credential / keychain entry are registered for redaction (runtime.md T7.21,
// tools.md §1.3 and §K): the secret fields only, never host, user, database, tool or type.
import { SecretSet, REDACTED, MIN_SECRET_LENGTH, classifySecretField, credentialSecretValues, embeddedSecrets } from './secrets';

const sorted = (xs: string[]) => [...new Set(xs)].sort();

describe('classifySecretField', () => {
  test.each([
    // passwords, tokens, client secrets, api keys, private keys and passphrases, session tokens
    'password', 'passwd', 'pass', 'pwd', 'Pwd', 'sslpassword', 'passphrase', 'private_key_passphrase',
    'token', 'access_token', 'refresh_token', 'id_token', 'bearer_token', 'session_token', 'aws_session_token',
    'client_secret', 'clientSecret', 'secret', 'secret_access_key', 'aws_secret_access_key',
    'api_key', 'apiKey', 'X-API-Key', 'key', 'value', 'private_key', 'signature',
    'creds', 'credentials', 'credentials_json', 'service_account_json', 'nkey', 'seed', 'jwt', 'Authorization', 'hmac_secret',
  ])('%s is a secret field', (k) => expect(classifySecretField(k)).toBe('secret'));

  test.each([
    // connection coordinates of tools.md credentials (postgres, snowflake, nats, http auth, s3/gcs)
    'host', 'hostname', 'port', 'user', 'username', 'login', 'database', 'dbname', 'db_name', 'sslmode', 'schema',
    'account', 'warehouse', 'role', 'region', 'endpoint', 'url', 'servers', 'type', 'tool', 'name',
    'header', 'in', 'param', 'scope', 'audience', 'client_id', 'client_email', 'project_id', 'bucket',
    // contain a secret word but name an id, a URL, a type, a method or an expiry
    'token_url', 'token_endpoint', 'token_type', 'token_uri', 'auth_uri', 'key_id', 'access_key_id', 'aws_access_key_id',
    'private_key_id', 'client_auth', 'auth_method', 'authenticator', 'token_field', 'key_path', 'expires_in', 'token_expires_at',
    'db_host', 'pg_user',
  ])('%s is not a secret field', (k) => expect(classifySecretField(k)).toBe('public'));

  test('other names are unknown (not registered for a credential, registered for a static keychain entry)', () => {
    expect(classifySecretField('foo')).toBe('unknown');
    expect(classifySecretField('sslrootcert')).toBe('unknown');
  });
});

describe('embeddedSecrets (connection strings)', () => {
  test('the password of a URL, raw and percent-decoded; never the user, host or database', () => {
    expect(sorted(embeddedSecrets('postgresql://app:p%40ss-w0rd@db.internal:5432/appdb?sslmode=require'))).toEqual(['p%40ss-w0rd', 'p@ss-w0rd']);
    expect(embeddedSecrets('postgres://postgres@localhost:5432/test')).toEqual([]);
    expect(embeddedSecrets('https://api.example.com/v1')).toEqual([]);
  });

  test('secret-named key=value pairs of a query string or a DSN', () => {
    expect(embeddedSecrets('https://api.example.com/v1?limit=10&api_key=abcd-1234')).toEqual(['abcd-1234']);
    expect(embeddedSecrets("host=db user=app password='se cret1' dbname=appdb")).toEqual(['se cret1']);
    expect(embeddedSecrets('Server=db;Uid=app;Pwd=odbc-pw-9;Database=x')).toEqual(['odbc-pw-9']);
    expect(embeddedSecrets('host=db user=app dbname=appdb sslmode=require')).toEqual([]);
  });
});

describe('credentialSecretValues per credential type (tools.md)', () => {
  test.each<[string, string, Record<string, unknown>, string[]]>([
    ['postgres', 'postgres', { host: 'localhost', port: 5432, user: 'postgres', password: 's3cr3t-pw', database: 'test', sslmode: 'disable' }, ['s3cr3t-pw']],
    ['postgres (connection URL)', 'postgres', { connection: 'postgresql://app:url-pw-77@db.internal/appdb' }, ['url-pw-77']],
    ['snowflake', 'snowflake', { account: 'xy12345', user: 'loader', private_key: '-----BEGIN KEY-----abc', private_key_passphrase: 'pk-pass-1', warehouse: 'COMPUTE_WH', database: 'RAW', schema: 'PUBLIC', role: 'LOADER', authenticator: 'snowflake_jwt' }, ['-----BEGIN KEY-----abc', 'pk-pass-1']],
    ['nats', 'nats', { url: 'nats://nats.internal:4222', user: 'app', password: 'nats-pw-1', token: 'nats-tok-1', creds: '-----BEGIN NATS USER JWT-----xyz' }, ['-----BEGIN NATS USER JWT-----xyz', 'nats-pw-1', 'nats-tok-1']],
    ['bearer', 'bearer', { token: 'btok-789' }, ['btok-789']],
    ['basic', 'basic', { username: 'bob', password: 'PWSECRET222' }, ['PWSECRET222']],
    ['api_key (header)', 'api_key', { header: 'X-API-Key', value: 'ak-value-1' }, ['ak-value-1']],
    ['api_key (query)', 'api_key', { in: 'query', param: 'apikey', api_key: 'ak-value-2' }, ['ak-value-2']],
    ['oauth2', 'oauth2', { token_url: 'https://auth.example.com/token', client_id: 'cid-123', client_secret: 'csec-456', scope: ['read', 'write'], audience: 'api', client_auth: 'post' }, ['csec-456']],
    ['s3', 's3', { key_id: 'AKIAEXAMPLE', secret: 's3-secret-1', session_token: 's3-sess-1', region: 'us-east-1', endpoint: 'http://minio:9000' }, ['s3-secret-1', 's3-sess-1']],
    ['gcs service account', 'gcs', { type: 'service_account', project_id: 'proj', private_key_id: 'kid1', private_key: '-----BEGIN PRIVATE KEY-----q', client_email: 'sa@proj.iam.gserviceaccount.com', client_id: '1234', token_uri: 'https://oauth2.googleapis.com/token' }, ['-----BEGIN PRIVATE KEY-----q']],
    ['env source', 'env', { value: 'env-secret-1' }, ['env-secret-1']],
    ['unknown type: name-based rule, nested headers classified per key', 'custom', { base: 'https://x', headers: { Authorization: 'Bearer hdr-tok-1', Accept: 'application/json' }, my_token: 'mt-1234', owner: 'team-a' }, ['Bearer hdr-tok-1', 'mt-1234']],
    ['a numeric password', 'postgres', { user: 'app', password: 12345678 }, ['12345678']],
  ])('%s', (_label, type, data, expected) => {
    expect(sorted(credentialSecretValues(type, data))).toEqual(sorted(expected));
  });

  test('an alias map registers each alias credential by the same rule (not the tool or type names)', () => {
    const data = {
      wh: { type: 'postgres', tool: 'postgres', data: { host: 'localhost', user: 'postgres', password: 'wh-pw-1', database: 'test' } },
      lake: { type: 's3', tool: 's3', data: { key_id: 'AKIA1', secret: 'lake-secret-1', region: 'eu-west-1' } },
    };
    expect(sorted(credentialSecretValues('aliases', data))).toEqual(['lake-secret-1', 'wh-pw-1']);
  });

  test('unknownIsSecret: fields named neither secret nor public are secrets too', () => {
    expect(sorted(credentialSecretValues('static', { api: 'kc-api-1', host: 'db.internal', user: 'app', password: 'kc-pw-1' }, { unknownIsSecret: true }))).toEqual(['kc-api-1', 'kc-pw-1']);
  });
});

describe('SecretSet.addCredential / addKeychainEntry', () => {
  test('the probe: a postgres credential leaves user, database, host and the tool kind readable', () => {
    const s = new SecretSet();
    s.addCredential('postgres', { host: 'localhost', port: 5432, user: 'postgres', password: 's3cr3t-pw', database: 'test' });
    expect(s.size).toBe(1);
    expect(s.redact('postgres (statement 1 of 1): relation "latest_test_table" does not exist')).toBe('postgres (statement 1 of 1): relation "latest_test_table" does not exist');
    expect(s.redact('connect to postgres@localhost/test with s3cr3t-pw failed')).toBe(`connect to postgres@localhost/test with ${REDACTED} failed`);
    expect(s.redactDeep({ source: 'postgres', message: 'auth s3cr3t-pw' })).toEqual({ source: 'postgres', message: `auth ${REDACTED}` });
  });

  test('short secret values are never registered', () => {
    const s = new SecretSet();
    s.addCredential('basic', { username: 'bob', password: 'abc' });
    expect('abc'.length).toBeLessThan(MIN_SECRET_LENGTH);
    expect(s.size).toBe(0);
    expect(s.redact('abc bob')).toBe('abc bob');
  });

  test('keychain kinds', () => {
    const s = new SecretSet();
    // kind credential: the credential rule
    s.addKeychainEntry('credential', { type: 'postgres', value: { host: 'db.internal', user: 'app_user', password: 'kc-cred-pw' } });
    // kind oauth2: the token response; token_type, scope and expires_in are not secrets
    s.addKeychainEntry('oauth2', { type: 'oauth2', value: { access_token: 'at-1-secret', refresh_token: 'rt-1-secret', token_type: 'Bearer', expires_in: 3600, scope: 'read write' } });
    // kind bearer: {token}
    s.addKeychainEntry('bearer', { type: 'bearer', value: { token: 'kc-bearer-1' } });
    // kind static: every field except connection coordinates
    s.addKeychainEntry('static', { type: 'static', value: { api: 'kc-static-api', host: 'static.host', token: 'kc-static-tok' } });
    // kind secrets: every value is a secret, whatever its name
    s.addKeychainEntry('secrets', { type: 'secrets', value: { host: 'sm-host-value', value: 'sm-value-1' } });
    expect(s.redact('app_user@db.internal Bearer read write static.host')).toBe('app_user@db.internal Bearer read write static.host');
    for (const v of ['kc-cred-pw', 'at-1-secret', 'rt-1-secret', 'kc-bearer-1', 'kc-static-api', 'kc-static-tok', 'sm-host-value', 'sm-value-1']) {
      expect(s.redact(`x ${v} y`)).toBe(`x ${REDACTED} y`);
    }
  });
});
