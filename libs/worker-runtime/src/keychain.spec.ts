import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ToolHandler } from '@noetl/tools';
import { runCommand, createKeychainResolver, keychainCacheKey } from './index';
import { makeHarness, makeCommand, task, when, otherwise, delivery, ok, err, ofType, terminalPayload } from './testing/harness';

const SECRET = 'tok-5ecret-Q7Z9-conformance';

interface TokenServer { url: string; requests: Array<{ body: string; auth?: string }>; close(): Promise<void> }
async function tokenServer(respond: (n: number) => { status: number; json: unknown }): Promise<TokenServer> {
  const requests: TokenServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ body, auth: req.headers['authorization'] });
      const r = respond(requests.length);
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(r.json));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/token`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

describe('keychain kinds (tools.md §K, dsl R2.11–R2.13)', () => {
  test('static: usable in task input, redacted from rendered_input and error messages, absent from every event (case 48)', async () => {
    const h = makeHarness();
    h.script.on('explode', (cfg) => err('script_error', 'PY_RuntimeError', `upstream rejected token ${(cfg['input'] as { token: string }).token}`, {
      helpers: { py: { exception_type: 'RuntimeError', traceback: `File x, token=${(cfg['input'] as { token: string }).token}` } },
      meta: { stderr_tail: `auth ${(cfg['input'] as { token: string }).token}` },
    }));
    h.script.on('probe', (cfg) => ok({ length: ((cfg['input'] as { token: string }).token).length, prefix: ((cfg['input'] as { token: string }).token).slice(0, 4) }));
    await runCommand(makeCommand({
      keychain: [{ name: 'demo_api', kind: 'static', scope: 'local', fields: { data: { token: SECRET } } }],
      pipeline: [
        task('probe', 'script', { input: { token: '{{ keychain.demo_api.token }}' } }),
        task('explode', 'script', { input: { token: '{{ keychain.demo_api.token }}' }, header: 'Bearer {{ keychain.demo_api.token }}' }),
      ],
    }), delivery(), h.deps);
    expect(h.script.calls[1].config).toMatchObject({ header: `Bearer ${SECRET}`, input: { token: SECRET } });
    const failed = terminalPayload(h.events);
    expect(failed['error']).toMatchObject({ kind: 'script_error', message: 'upstream rejected token ***' });
    expect(failed['partial_result']).toMatchObject({ length: 27, prefix: 'tok-' });
    expect(ofType(h.events, 'task.attempt.failed')[0].payload.rendered_input).toEqual({ token: '***' });
    expect(JSON.stringify(h.events)).not.toContain(SECRET);
    expect(JSON.stringify(h.events)).not.toContain('5ecret');
  });

  test('credential and bearer kinds read the credential store; entries are resolved lazily and only when read', async () => {
    const h = makeHarness({ credentials: { crm_prod: { type: 'oauth_client', data: { client_id: 'cid-123', client_secret: 'csec-456' } }, tok: { type: 'bearer', data: { token: 'btok-789' } } } });
    await runCommand(makeCommand({
      keychain: [
        { name: 'crm', kind: 'credential', scope: 'global', fields: { credential: 'crm_prod' } },
        { name: 'b1', kind: 'bearer', scope: 'global', fields: { token: '{{ keychain.crm.client_secret }}-x' } },
        { name: 'b2', kind: 'bearer', scope: 'global', fields: { credential: 'tok' } },
        { name: 'never', kind: 'oauth2', scope: 'global', fields: { endpoint: 'http://127.0.0.1:1/unreachable' } },
      ],
      pipeline: [task('t', 'script', { a: '{{ keychain.crm.client_id }}', b: '{{ keychain.b1.token }}', c: '{{ keychain.b2.token }}', d: '{{ keychain.nope.x }}' })],
    }), delivery(), h.deps);
    expect(h.script.calls[0].config).toMatchObject({ a: 'cid-123', b: 'csec-456-x', c: 'btok-789', d: null });
    expect(h.events[h.events.length - 1].event_type).toBe('step.done');
  });

  test.each([
    ['secrets', { provider: 'gcp', map: { password: 'projects/x/secrets/y' } }],
    ['google_id_token', { target_audience: 'https://svc' }],
    ['credential', { credential: 'not_registered' }],
    ['static', { data: 'not a mapping' }],
    ['mystery', {}],
  ])('unresolvable %s entry: the attempt fails with auth KEYCHAIN_UNRESOLVED naming the entry (KK.2)', async (kind, fields) => {
    const h = makeHarness();
    await runCommand(makeCommand({
      keychain: [{ name: 'sec', kind, scope: 'global', fields }],
      pipeline: [task('t', 'script', { input: { p: '{{ keychain.sec.password }}' }, policy: [when("{{ output.error.code == 'KEYCHAIN_UNRESOLVED' }}", { do: 'continue', set: { 'ctx.kind': '{{ output.error.kind }}' } })] })],
    }), delivery(), h.deps);
    const e = ofType(h.events, 'task.attempt.failed')[0].payload.outcome.error!;
    expect(e).toMatchObject({ kind: 'auth', code: 'KEYCHAIN_UNRESOLVED', retryable: false });
    expect(e.message).toContain("'sec'");
    expect(h.script.calls).toHaveLength(0);
    expect(terminalPayload(h.events)['ctx_patch']).toEqual([{ path: ['kind'], value: 'auth', task: 't', attempt: 1 }]);
  });

  test('strict mode resolves lazily too', async () => {
    const h = makeHarness({ strict: true });
    await runCommand(makeCommand({
      keychain: [{ name: 'k', kind: 'static', scope: 'local', fields: { data: { v: 'value-1' } } }],
      pipeline: [task('t', 'script', { v: '{{ keychain.k.v }}' })],
    }), delivery(), h.deps);
    expect(h.script.calls[0].config['v']).toBe('value-1');
  });

  test('oauth2 against a real token endpoint: form body from earlier entries, cached per scope, invalidated after a 401 (KK.1, KK.3)', async () => {
    const srv = await tokenServer((n) => ({ status: 200, json: { access_token: `at-${n}-secret`, token_type: 'Bearer', expires_in: 3600 } }));
    try {
      const creds = { crm_prod: { type: 'oauth_client', data: { client_id: 'cid-123', client_secret: 'csec-456' } } };
      const h = makeHarness({ credentials: creds });
      h.deps.keychain = createKeychainResolver({ credentials: h.deps.credentials, now: () => h.deps.now() });
      const keychain = [
        { name: 'crm_creds', kind: 'credential', scope: 'global', fields: { credential: 'crm_prod' } },
        {
          name: 'crm_token', kind: 'oauth2', scope: 'local',
          fields: { endpoint: srv.url, method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, data: { grant_type: 'client_credentials', client_id: '{{ keychain.crm_creds.client_id }}', client_secret: '{{ keychain.crm_creds.client_secret }}' } },
        },
      ];
      const cmd = makeCommand({ keychain, pipeline: [task('call', 'script', { authorization: 'Bearer {{ keychain.crm_token.access_token }}' })] });
      await runCommand(cmd, delivery(), h.deps);
      await runCommand(cmd, delivery(), h.deps);
      expect(srv.requests).toHaveLength(1);
      expect(new URLSearchParams(srv.requests[0].body).get('client_secret')).toBe('csec-456');
      expect(h.script.calls.map((c) => c.config['authorization'])).toEqual(['Bearer at-1-secret', 'Bearer at-1-secret']);

      // another execution: local scope -> a new token
      await runCommand({ ...cmd, execution_id: 'OTHER', root_execution_id: 'OTHER' }, delivery(), h.deps);
      expect(srv.requests).toHaveLength(2);

      // a 401 invalidates the entries the attempt used; the retry gets a fresh token
      h.script.on('call', err('auth', 'HTTP_401', 'expired', { http_status: 401 }), ok('fine'));
      const retrying = makeCommand({ keychain, pipeline: [task('call', 'script', { authorization: 'Bearer {{ keychain.crm_token.access_token }}', policy: [when("{{ output.error.kind == 'auth' }}", { do: 'retry', attempts: 2, delay: 0 })] })] });
      await runCommand(retrying, delivery(), h.deps);
      expect(srv.requests).toHaveLength(3);
      expect(h.script.calls.slice(-2).map((c) => c.config['authorization'])).toEqual(['Bearer at-1-secret', 'Bearer at-3-secret']);
      expect(JSON.stringify(h.events)).not.toMatch(/at-\d-secret|csec-456/);
    } finally {
      await srv.close();
    }
  });

  test('oauth2 failures are KEYCHAIN_UNRESOLVED without leaking the response', async () => {
    const srv = await tokenServer(() => ({ status: 400, json: { error: 'invalid_client' } }));
    try {
      const h = makeHarness();
      await runCommand(makeCommand({
        keychain: [{ name: 'tok', kind: 'oauth2', scope: 'local', fields: { endpoint: `${srv.url}?key=abc`, data: { grant_type: 'client_credentials' } } }],
        pipeline: [task('t', 'script', { h: '{{ keychain.tok.access_token }}' })],
      }), delivery(), h.deps);
      const e = ofType(h.events, 'task.attempt.failed')[0].payload.outcome.error!;
      expect(e).toMatchObject({ kind: 'auth', code: 'KEYCHAIN_UNRESOLVED' });
      expect(e.message).toContain('HTTP 400');
      expect(e.message).not.toContain('key=abc');
    } finally {
      await srv.close();
    }
  });

  test('cache keys per scope (KK.1)', () => {
    const info = { catalogId: 'c1', executionId: 'e1', rootExecutionId: 'r1' };
    expect(keychainCacheKey({ name: 'a', kind: 'static', scope: 'global', fields: {} }, info)).toBe('a:c1:global');
    expect(keychainCacheKey({ name: 'a', kind: 'static', scope: 'local', fields: {} }, info)).toBe('a:c1:e1');
    expect(keychainCacheKey({ name: 'a', kind: 'static', scope: 'shared', fields: {} }, info)).toBe('a:c1:shared:r1');
  });
});

describe('ToolContext.resolveAuth (tools.md K1.6, K1.7)', () => {
  const echoAuth: ToolHandler = {
    kind: 'auth_probe',
    async run(config, ctx) {
      try {
        const cred = await ctx.resolveAuth(config['auth']);
        return { status: 'ok', data: { type: cred.type, keys: Object.keys(cred.data).sort(), tool: (cred as { tool?: string }).tool ?? null } };
      } catch (e) {
        const x = e as { kind: string; code: string; message: string };
        return { status: 'error', error: { kind: x.kind, code: x.code, message: ctx.redact(x.message), retryable: false } };
      }
    },
  };
  const setup = () => makeHarness({
    tools: [echoAuth],
    credentials: { pg_test: { type: 'postgres', data: { host: 'db.internal', user: 'app', password: 'pw-secret-1' } } },
  });
  const keychain = [{ name: 'api', kind: 'static', scope: 'local', fields: { type: 'bearer', data: { token: 'kc-token-1' } } }];

  test.each([
    ['a keychain entry name', 'api', { type: 'bearer', keys: ['token'], tool: null }],
    ['a credential name', 'pg_test', { type: 'postgres', keys: ['host', 'password', 'user'], tool: null }],
    ['{source: credential}', { source: 'credential', key: 'pg_test' }, { type: 'postgres', keys: ['host', 'password', 'user'] }],
    ['{source: keychain}', { source: 'keychain', key: 'api' }, { type: 'bearer', keys: ['token'] }],
    ['{type, credential} with inline override', { type: 'basic', credential: 'pg_test', username: 'u2' }, { type: 'basic', keys: ['host', 'password', 'user', 'username'] }],
    ['inline fields', { type: 'bearer', token: 'inline-tok-1' }, { type: 'bearer', keys: ['token'] }],
    ['an alias map', { wh: { source: 'credential', tool: 'postgres', key: 'pg_test' } }, { type: 'aliases', keys: ['wh'] }],
  ])('%s', async (_label, auth, expected) => {
    const h = setup();
    await runCommand(makeCommand({ keychain, pipeline: [task('t', 'auth_probe', { auth })] }), delivery(), h.deps);
    expect(ofType(h.events, 'task.attempt.done')[0].payload.outcome.data).toMatchObject(expected);
  });

  test('unknown names fail with AUTH_NOT_FOUND; resolved secrets are redacted from later messages', async () => {
    const h = setup();
    h.script.on('leak', err('db_error', 'PG', 'password authentication failed for pw-secret-1'));
    await runCommand(makeCommand({
      pipeline: [
        task('missing', 'auth_probe', { auth: 'nope', policy: [otherwise({ do: 'continue' })] }),
        task('ok', 'auth_probe', { auth: '{{ workload.db }}' }),
        task('leak', 'script'),
      ],
      workload: { db: 'pg_test' },
    }), delivery(), h.deps);
    expect(ofType(h.events, 'task.attempt.failed')[0].payload.outcome.error).toMatchObject({ kind: 'auth', code: 'AUTH_NOT_FOUND' });
    expect(terminalPayload(h.events)['error']).toMatchObject({ message: 'password authentication failed for ***' });
  });
});
