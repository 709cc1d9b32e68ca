// runtime.md §15 scenario 18 end to end: keychain values reach the tools (a loopback HTTP server
// sees them, python computes on them, postgres connects with the credential) yet no event of the
// execution tree contains one; `keychain.*` in a scheduler-side template is rejected at submit.
import { randomBytes } from 'node:crypto';
import { createEmbeddedRuntime } from './runtime';
import { adminPgCredential, json, payloadOf, playbook, scenarioDir, startLoopback, type LoopbackServer } from './testing/scenario-kit';
import { PlaybookRejectedError, type EmbeddedRuntime } from './types';

const d = scenarioDir('scn-keychain');
const rand = randomBytes(5).toString('hex');
const STATIC_SECRET = `kc-static-${rand}-Q7`;
const CLIENT_SECRET = `csec-${rand}-Z9`;
const ACCESS_TOKEN = `at-${rand}-from-token-endpoint`;
const admin = adminPgCredential();
// trust auth ignores it; a real password (NOETL_TEST_PG_URL) is a secret to look for as well
const PG_PASSWORD = admin.data.password || `pg-pass-${rand}`;

function keychainPlaybook(api: string): string {
  return playbook(
    'scn_keychain',
    `workload:
  api: "${api}"
keychain:
  - name: static_kc
    kind: static
    scope: local
    data: { token: "${STATIC_SECRET}" }
  - name: client
    kind: credential
    scope: global
    credential: oauth_client
  - name: tok
    kind: oauth2
    scope: shared
    endpoint: "{{ api }}/oauth/token"
    data:
      grant_type: client_credentials
      client_id: "{{ keychain.client.client_id }}"
      client_secret: "{{ keychain.client.client_secret }}"
workflow:
  - step: start
    tool:
      - name: call
        kind: http
        url: "{{ api }}/data"
        headers:
          Authorization: "Bearer {{ keychain.tok.access_token }}"
          X-Static: "{{ keychain.static_kc.token }}"
      - name: py
        kind: python
        input: { token: "{{ keychain.static_kc.token }}", at: "{{ keychain.tok.access_token }}" }
        code: |
          result = {"static_len": len(token), "at_len": len(at)}
      - name: explode
        kind: python
        input: { token: "{{ keychain.static_kc.token }}" }
        code: |
          raise ValueError("rejected " + token)
        spec:
          policy:
            rules:
              - when: "{{ output.status == 'error' }}"
                then: { do: continue, set: { ctx.explode_message: "{{ output.error.message }}" } }
      - name: db
        kind: postgres
        auth: pg_scn
        query: "SELECT current_user AS who, 1 + 1 AS two"
    next: { arcs: [ { step: report } ] }
  - step: report
    tool:
      kind: noop
      result:
        status: "{{ start.call.status_code }}"
        rows: "{{ start.call.data.rows }}"
        static_len: "{{ start.py.static_len }}"
        at_len: "{{ start.py.at_len }}"
        two: "{{ start.db.rows[0].two }}"
`,
  );
}

describe('scenario 18: keychain values never reach the event log (embedded, real tools)', () => {
  let rt: EmbeddedRuntime;
  let srv: LoopbackServer;
  beforeAll(async () => {
    srv = await startLoopback((req, res) => {
      if (req.url === '/oauth/token') return json(res, 200, { access_token: ACCESS_TOKEN, token_type: 'Bearer', expires_in: 3600 });
      if (req.url === '/data') return json(res, 200, { rows: [1, 2, 3] });
      return json(res, 404, { error: 'nope' });
    });
    rt = createEmbeddedRuntime({
      env: d.env,
      cwd: d.dir,
      workers: 2,
      credentials: {
        oauth_client: { type: 'oauth_client', data: { client_id: `cid-${rand}`, client_secret: CLIENT_SECRET } },
        pg_scn: { type: 'postgres', data: { ...admin.data, password: PG_PASSWORD } },
      },
    });
  });
  afterAll(async () => {
    await rt.close();
    await srv.close();
    d.cleanup();
  });

  it('tools receive the secrets; no event of the tree contains one', async () => {
    const file = d.write('keychain.yaml', keychainPlaybook(srv.url));
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');

    // the secrets really were used by the tools
    const token = srv.requests.find((r) => r.url === '/oauth/token');
    expect(token?.body).toContain(`client_secret=${CLIENT_SECRET}`);
    const data = srv.requests.find((r) => r.url === '/data');
    expect(data?.headers.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
    expect(data?.headers['x-static']).toBe(STATIC_SECRET);
    const doc = await rt.document(id);
    expect(doc.steps.report.result).toEqual({ status: 200, rows: [1, 2, 3], static_len: STATIC_SECRET.length, at_len: ACCESS_TOKEN.length, two: 2 });
    // the error message that embedded the secret was redacted before it reached ctx (T7.21)
    expect(doc.ctx.explode_message).toEqual(expect.stringContaining('***'));

    // T5.2 / T7.21: no event (payloads, rendered_input, error messages, previews) carries a secret
    const secrets = [STATIC_SECRET, CLIENT_SECRET, ACCESS_TOKEN, ...(PG_PASSWORD.length >= 6 ? [PG_PASSWORD] : [])];
    const events = rt.treeEvents(id);
    expect(events.length).toBeGreaterThan(10);
    const leaks = events.flatMap((e) => secrets.filter((s) => JSON.stringify(e).includes(s)).map((s) => `${e.event_type}#${e.seq} leaks ${s.slice(0, 8)}...`));
    expect(leaks).toEqual([]);
    // the keychain manifest of execution.started names the entries only (§6.2)
    const started = events.find((e) => e.event_type === 'execution.started');
    expect(payloadOf(started).keychain).toEqual([
      { name: 'static_kc', kind: 'static', scope: 'local' },
      { name: 'client', kind: 'credential', scope: 'global' },
      { name: 'tok', kind: 'oauth2', scope: 'shared' },
    ]);
  });

  it.each([
    ['arc when', `    next: { arcs: [ { step: b, when: "{{ keychain.k.token == 'x' }}" } ] }\n  - step: b\n    tool: { kind: noop }\n`],
    ['arc when (bare expression)', `    next: { arcs: [ { step: b, when: "keychain.k.token == 'x'" } ] }\n  - step: b\n    tool: { kind: noop }\n`],
    ['step set', `    set: { ctx.t: "{{ keychain.k.token }}" }\n`],
  ])('keychain.* in %s is rejected at submit, before anything runs (R2.12)', async (_where, tail) => {
    const file = d.write(
      `bad-${_where.replace(/\W+/g, '-')}.yaml`,
      playbook('scn_kc_bad', `keychain:\n  - { name: k, kind: static, scope: local, data: { token: "${STATIC_SECRET}" } }\nworkflow:\n  - step: start\n    tool: { kind: noop }\n${tail}`),
    );
    const seen: string[] = [];
    const off = rt.subscribe((e) => seen.push(e.execution_id));
    try {
      const err = await rt.submit(file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PlaybookRejectedError);
      expect((err as PlaybookRejectedError).diagnostics.filter((x) => x.severity === 'error').map((x) => x.code)).toEqual(['E_KEYCHAIN_IN_SCHEDULER_TEMPLATE']);
      expect((err as PlaybookRejectedError).message).not.toContain(STATIC_SECRET);
    } finally {
      off();
    }
    expect(seen).toEqual([]);
  });
});
