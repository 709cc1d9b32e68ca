import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { createHttpTool, parseRetryAfter } from './http-tool';
import { makeTestContext } from '../testing';
import type { ToolHandler } from '../types';

interface Seen { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

let server: http.Server;
let base: string;
const seen: Seen[] = [];
let tokenHits = 0;
let tokenExpiresIn = 3600;

function handler(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
  const u = new URL(req.url!, 'http://x');
  const json = (status: number, v: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Page': '7', ...headers });
    res.end(JSON.stringify(v));
  };
  switch (u.pathname) {
    case '/echo':
      return json(200, { method: req.method, query: Object.fromEntries(u.searchParams), headers: req.headers, body });
    case '/status': return json(Number(u.searchParams.get('code')), { error: 'e' + u.searchParams.get('code') });
    case '/limited': return json(429, { error: 'slow down' }, { 'Retry-After': u.searchParams.get('ra') ?? '3' });
    case '/slow':
      setTimeout(() => { if (!res.destroyed) json(200, { slow: true }); }, Number(u.searchParams.get('ms') ?? 2000)).unref();
      return;
    case '/trickle': {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('a');
      setTimeout(() => { if (!res.destroyed) res.end('b'); }, 1500).unref();
      return;
    }
    case '/huge': {
      const n = Number(u.searchParams.get('n'));
      if (u.searchParams.get('chunked')) {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        for (let i = 0; i < n / 1000; i++) res.write('x'.repeat(1000));
        res.end();
      } else {
        res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(n) });
        res.end('x'.repeat(n));
      }
      return;
    }
    case '/malformed':
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return void res.end('{"broken": ');
    case '/plain-number':
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      return void res.end('123');
    case '/text':
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      return void res.end('hello wörld');
    case '/empty':
      res.writeHead(204);
      return void res.end();
    case '/bytes':
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return void res.end(Buffer.from([0, 1, 2, 255]));
    case '/gzip': {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
      return void res.end(zlib.gzipSync(JSON.stringify({ zipped: true })));
    }
    case '/redirect': {
      const to = u.searchParams.get('to') ?? '/echo?r=1';
      res.writeHead(Number(u.searchParams.get('code') ?? 302), { Location: to });
      return void res.end();
    }
    case '/loop':
      res.writeHead(302, { Location: '/loop' });
      return void res.end();
    case '/token': {
      tokenHits++;
      const form = new URLSearchParams(body);
      const auth = req.headers.authorization ?? '';
      const [id, secret] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':');
      const ok = (id === 'cid' && secret === 'csecret') || (form.get('client_id') === 'cid' && form.get('client_secret') === 'csecret');
      if (!ok || form.get('grant_type') !== 'client_credentials') return json(401, { error: 'invalid_client' });
      return json(200, { access_token: `tok${tokenHits}`, token_type: 'Bearer', expires_in: tokenExpiresIn });
    }
    case '/protected':
      if (req.headers.authorization !== 'Bearer tok1' && req.headers.authorization !== 'Bearer tok2') return json(401, { error: 'denied' });
      return json(200, { auth: req.headers.authorization });
    default:
      return json(404, { error: 'no route' });
  }
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

let tool: ToolHandler;
beforeEach(() => { tool = createHttpTool(); seen.length = 0; });
afterEach(async () => { await tool.close?.(); });

const ctx = (o: Parameters<typeof makeTestContext>[0] = {}) => makeTestContext(o);
const run = (config: Record<string, unknown>, c = ctx()) => tool.run(config, c);
const body = (out: { data?: unknown }) => (out.data as { data: any }).data;

describe('http: requests and the outcome shape', () => {
  it('GET with params converted per K1.3, lower-case headers, data == body, helpers', async () => {
    const out = await run({ url: `${base}/echo`, params: { page: 2, on: true, gone: null, s: 'a b', obj: { x: 1 } }, headers: { 'X-Client': 'conf', 'X-Num': 5 } });
    expect(out.status).toBe('ok');
    const d = out.data as any;
    expect(Object.keys(d)).toEqual(['status_code', 'headers', 'data', 'body', 'url', 'elapsed_ms']);
    expect(d.status_code).toBe(200);
    expect(d.headers['x-page']).toBe('7');
    expect(d.headers['content-type']).toBe('application/json');
    expect(d.data).toEqual(d.body);
    expect(d.data.query).toEqual({ page: '2', on: 'true', s: 'a b', obj: '{"x":1}' });
    expect(d.data.headers['x-client']).toBe('conf');
    expect(d.data.headers['x-num']).toBe('5');
    expect(d.url).toBe(`${base}/echo?page=2&on=true&s=a+b&obj=%7B%22x%22%3A1%7D`);
    expect(typeof d.elapsed_ms).toBe('number');
    expect(out.helpers?.http).toEqual({ status: 200, headers: d.headers, url: d.url, method: 'GET' });
  });

  it('method is case-insensitive; unknown methods and bad fields are config errors naming the field', async () => {
    expect((await run({ url: `${base}/echo`, method: 'delete' })).data).toMatchObject({ data: { method: 'DELETE' } });
    const bad = await run({ url: `${base}/echo`, method: 'TRACE' });
    expect(bad.error).toMatchObject({ kind: 'config', retryable: false, details: { field: 'method' } });
    expect((await run({})).error).toMatchObject({ kind: 'config', details: { field: 'url' } });
    expect((await run({ url: 'ftp://x/y' })).error).toMatchObject({ kind: 'config', details: { field: 'url' } });
    expect((await run({ url: `${base}/echo`, headers: ['a'] })).error).toMatchObject({ kind: 'config', details: { field: 'headers' } });
    expect((await run({ url: `${base}/echo`, response_type: 'xml' })).error).toMatchObject({ kind: 'config', details: { field: 'response_type' } });
    expect((await run({ url: `${base}/echo`, timeout: 'soon' })).error).toMatchObject({ kind: 'config', details: { field: 'timeout' } });
    expect((await run({ endpoint: `${base}/echo` })).status).toBe('ok');
  });

  it('body forms and K2.11 precedence', async () => {
    let d = body(await run({ url: `${base}/echo`, method: 'POST', json: { a: 1 }, form: { b: 2 }, body: 'raw' }));
    expect(d.body).toBe('{"a":1}');
    expect(d.headers['content-type']).toBe('application/json');
    d = body(await run({ url: `${base}/echo`, method: 'POST', form: { b: 2, c: 'x y', n: null }, body: 'raw' }));
    expect(d.body).toBe('b=2&c=x+y');
    expect(d.headers['content-type']).toBe('application/x-www-form-urlencoded');
    d = body(await run({ url: `${base}/echo`, method: 'PUT', body: 'raw text', payload: { p: 1 } }));
    expect(d.body).toBe('raw text');
    expect(d.headers['content-type']).toBeUndefined();
    d = body(await run({ url: `${base}/echo`, method: 'PATCH', body: [1, 2] }));
    expect(d.body).toBe('[1,2]');
    expect(d.headers['content-type']).toBe('application/json');
    d = body(await run({ url: `${base}/echo`, method: 'POST', payload: { p: 1 }, data: { q: 2 } }));
    expect(d.body).toBe('{"p":1}');
    d = body(await run({ url: `${base}/echo`, method: 'POST', data: { q: 2 } }));
    expect(d.body).toBe('{"q":2}');
    d = body(await run({ url: `${base}/echo`, method: 'POST', data: { q: 2, r: 'a&b' }, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }));
    expect(d.body).toBe('q=2&r=a%26b');
    d = body(await run({ url: `${base}/echo`, method: 'POST', json: { a: 1 }, headers: { 'content-type': 'application/vnd.x+json' } }));
    expect(d.headers['content-type']).toBe('application/vnd.x+json');
  });

  it('legacy data on GET/DELETE/HEAD merges into params (explicit params win)', async () => {
    const d = body(await run({ url: `${base}/echo`, params: { a: 'explicit' }, data: { a: 'data', b: 2 } }));
    expect(d.query).toEqual({ a: 'explicit', b: '2' });
    expect(d.body).toBe('');
    const bad = await run({ url: `${base}/echo`, data: 'x' });
    expect(bad.error).toMatchObject({ kind: 'config', details: { field: 'data' } });
  });
});

describe('http: response types', () => {
  it('auto: malformed JSON under a JSON content type stays text; a JSON-looking body parses; text; empty', async () => {
    expect(body(await run({ url: `${base}/malformed` }))).toBe('{"broken": ');
    expect(body(await run({ url: `${base}/plain-number` }))).toBe(123);
    expect(body(await run({ url: `${base}/text` }))).toBe('hello wörld');
    const empty = await run({ url: `${base}/empty` });
    expect(empty.status).toBe('ok');
    expect(empty.data).toMatchObject({ status_code: 204, data: '' });
    expect(body(await run({ url: `${base}/gzip`, headers: { 'Accept-Encoding': 'gzip' } }))).toEqual({ zipped: true });
  });
  it('json: malformed is a parse error with the response attached; text and binary', async () => {
    const out = await run({ url: `${base}/malformed`, response_type: 'json' });
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind: 'parse', code: 'HTTP_PARSE', http_status: 200 });
    expect(out.data).toMatchObject({ status_code: 200, data: '{"broken": ' });
    expect(out.helpers?.http?.status).toBe(200);
    expect(body(await run({ url: `${base}/plain-number`, response_type: 'text' }))).toBe('123');
    expect(body(await run({ url: `${base}/bytes`, response_type: 'binary' }))).toEqual({ base64: 'AAEC/w==', size: 4 });
  });
});

describe('http: error classification (K2.12)', () => {
  it.each([
    [404, 'not_found', false], [401, 'auth', false], [403, 'auth', false], [400, 'client_error', false],
    [422, 'client_error', false], [500, 'server_error', true], [503, 'server_error', true],
  ])('HTTP %i -> %s', async (code, kind, retryable) => {
    const out = await run({ url: `${base}/status?code=${code}` });
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind, code: `HTTP_${code}`, http_status: code, retryable, source: 'http' });
    expect(out.data).toMatchObject({ status_code: code, data: { error: `e${code}` }, body: { error: `e${code}` } });
    expect(out.helpers?.http).toMatchObject({ status: code, method: 'GET' });
  });

  it('429 -> rate_limit with retry_after from seconds or an HTTP date', async () => {
    let out = await run({ url: `${base}/limited?ra=3` });
    expect(out.error).toMatchObject({ kind: 'rate_limit', code: 'HTTP_429', retryable: true, retry_after: 3, message: 'HTTP 429 Too Many Requests' });
    const date = new Date(Date.now() + 10_000).toUTCString();
    out = await run({ url: `${base}/limited?ra=${encodeURIComponent(date)}` });
    expect(out.error!.retry_after).toBeGreaterThanOrEqual(8);
    expect(out.error!.retry_after).toBeLessThanOrEqual(11);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT')).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('connection refused -> connection, retryable, no data, no helpers', async () => {
    const tmp = http.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const port = (tmp.address() as AddressInfo).port;
    await new Promise((r) => tmp.close(r));
    const out = await run({ url: `http://127.0.0.1:${port}/x` });
    expect(out.error).toMatchObject({ kind: 'connection', code: 'CONNECTION', retryable: true });
    expect(out.data).toBeUndefined();
    expect(out.helpers).toBeUndefined();
  });

  it('DNS failure -> connection', async () => {
    const out = await run({ url: 'http://no-such-host.invalid/x', timeout: 5 });
    expect(out.error).toMatchObject({ kind: 'connection', retryable: true });
  });
});

describe('http: timeouts, size cap, cancellation', () => {
  it('a number timeout bounds the request -> timeout, retryable', async () => {
    const out = await run({ url: `${base}/slow?ms=2000`, timeout_seconds: 0.2 });
    expect(out.error).toMatchObject({ kind: 'timeout', code: 'TIMEOUT', retryable: true });
    // the message names the whole URL (path and query), like the other transport errors
    expect(out.error!.message).toBe(`http: GET ${base}/slow?ms=2000 timed out after 200 ms`);
  });
  it('spec.timeout as a duration string and as {connect, read}', async () => {
    let out = await run({ url: `${base}/slow?ms=2000` }, ctx({ spec: { timeout: '200ms' } }));
    expect(out.error).toMatchObject({ kind: 'timeout' });
    out = await run({ url: `${base}/slow?ms=2000` }, ctx({ spec: { timeout: { connect: 1, read: 0.2 } } }));
    expect(out.error).toMatchObject({ kind: 'timeout', retryable: true });
    // read is an idle bound: a body that stalls for longer than read times out mid-body
    out = await run({ url: `${base}/trickle`, timeout: { connect: 1, read: 0.3 } });
    expect(out.error).toMatchObject({ kind: 'timeout' });
    expect(out.helpers?.http?.status).toBe(200);
  });
  it('responses over the cap fail with client_error HTTP_RESPONSE_TOO_LARGE (declared and streamed)', async () => {
    let out = await run({ url: `${base}/huge?n=5000`, max_response_bytes: 1000 });
    expect(out.error).toMatchObject({ kind: 'client_error', code: 'HTTP_RESPONSE_TOO_LARGE', retryable: false, http_status: 200 });
    out = await run({ url: `${base}/huge?n=5000&chunked=1`, max_response_bytes: 1000 });
    expect(out.error).toMatchObject({ code: 'HTTP_RESPONSE_TOO_LARGE' });
    const small = createHttpTool({ maxResponseBytes: 100 });
    try {
      expect((await small.run({ url: `${base}/huge?n=5000` }, ctx())).error?.code).toBe('HTTP_RESPONSE_TOO_LARGE');
    } finally {
      await small.close?.();
    }
    expect((await run({ url: `${base}/huge?n=5000` })).status).toBe('ok');
  });
  it('ctx.signal aborts an in-flight request -> cancelled', async () => {
    const ac = new AbortController();
    const p = run({ url: `${base}/slow?ms=5000` }, ctx({ signal: ac.signal }));
    setTimeout(() => ac.abort(), 100);
    const t0 = Date.now();
    const out = await p;
    expect(out.error).toMatchObject({ kind: 'cancelled', code: 'CANCELLED' });
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('http: redirects', () => {
  it('follows up to 10 redirects and reports the final URL', async () => {
    const out = await run({ url: `${base}/redirect?to=${encodeURIComponent('/echo?r=1')}` });
    expect(out.status).toBe('ok');
    expect((out.data as any).url).toBe(`${base}/echo?r=1`);
    expect(out.helpers?.http?.url).toBe(`${base}/echo?r=1`);
    const loop = await run({ url: `${base}/loop` });
    expect(loop.error).toMatchObject({ kind: 'client_error', code: 'HTTP_TOO_MANY_REDIRECTS' });
    expect(seen.filter((s) => s.url === '/loop')).toHaveLength(11);
  });
  it('follow_redirects false returns the 3xx as ok', async () => {
    const out = await run({ url: `${base}/redirect`, follow_redirects: false });
    expect(out.status).toBe('ok');
    expect(out.data).toMatchObject({ status_code: 302, headers: { location: '/echo?r=1' } });
  });
  it('303 turns POST into GET; 307 keeps method and body', async () => {
    let d = body(await run({ url: `${base}/redirect?code=303`, method: 'POST', json: { a: 1 } }));
    expect(d).toMatchObject({ method: 'GET', body: '' });
    d = body(await run({ url: `${base}/redirect?code=307`, method: 'POST', json: { a: 1 } }));
    expect(d).toMatchObject({ method: 'POST', body: '{"a":1}' });
  });
});

describe('http: auth', () => {
  const credentials = {
    bear: { type: 'bearer', data: { token: 'sekret-token' } },
    bas: { type: 'basic', data: { username: 'ann', password: 'pw-123' } },
    key: { type: 'api_key', data: { value: 'k-999' } },
    key2: { type: 'api_key', data: { value: 'k-888', header: 'X-Custom-Key' } },
    oauth: { type: 'oauth2', data: { token_url: '', client_id: 'cid', client_secret: 'csecret', scope: ['a', 'b'] } },
  };
  beforeEach(() => { tokenHits = 0; tokenExpiresIn = 3600; credentials.oauth.data.token_url = `${base}/token`; });

  it('bearer, basic and api_key headers; explicit headers win', async () => {
    const c = ctx({ credentials });
    expect(body(await run({ url: `${base}/echo`, auth: 'bear' }, c)).headers.authorization).toBe('Bearer sekret-token');
    expect(body(await run({ url: `${base}/echo`, auth: 'bas' }, c)).headers.authorization).toBe(`Basic ${Buffer.from('ann:pw-123').toString('base64')}`);
    expect(body(await run({ url: `${base}/echo`, auth: 'key' }, c)).headers['x-api-key']).toBe('k-999');
    expect(body(await run({ url: `${base}/echo`, auth: 'key2' }, c)).headers['x-custom-key']).toBe('k-888');
    expect(body(await run({ url: `${base}/echo`, auth: 'bear', headers: { authorization: 'Bearer mine' } }, c)).headers.authorization).toBe('Bearer mine');
    expect(body(await run({ url: `${base}/echo`, auth: { type: 'bearer', token: 'inline-tok' } }, c)).headers.authorization).toBe('Bearer inline-tok');
    expect(body(await run({ url: `${base}/echo`, auth: { type: 'bearer', credential: 'bear' } }, c)).headers.authorization).toBe('Bearer sekret-token');
    expect(c.redact('x sekret-token y')).toBe('x *** y');
  });

  it('unknown credentials and unusable auth become error outcomes', async () => {
    const c = ctx({ credentials });
    expect((await run({ url: `${base}/echo`, auth: 'nope' }, c)).error).toMatchObject({ kind: 'auth', code: 'AUTH_NOT_FOUND', retryable: false });
    expect((await run({ url: `${base}/echo`, auth: { type: 'kerberos', x: 1 } }, c)).error).toMatchObject({ kind: 'config', details: { field: 'auth' } });
    expect(seen).toHaveLength(0);
  });

  it('oauth2 client credentials: token fetched once and cached per credential until expiry - 60 s', async () => {
    const c = ctx({ credentials });
    for (let i = 0; i < 3; i++) {
      const out = await run({ url: `${base}/protected`, auth: 'oauth' }, c);
      expect(body(out)).toEqual({ auth: 'Bearer tok1' });
    }
    expect(tokenHits).toBe(1);
    const tokenReq = seen.find((s) => s.url === '/token')!;
    expect(new URLSearchParams(tokenReq.body).get('scope')).toBe('a b');
    expect(c.redact('tok1 csecret')).toBe('*** ***');
    // a token that lives <= 60 s is never reused
    const t2 = createHttpTool();
    try {
      tokenExpiresIn = 30;
      tokenHits = 0;
      await t2.run({ url: `${base}/protected`, auth: 'oauth' }, c);
      await t2.run({ url: `${base}/protected`, auth: 'oauth' }, c);
      expect(tokenHits).toBe(2);
    } finally {
      await t2.close?.();
    }
  });

  it('oauth2: client_secret_post, a bad secret is an auth error, a 401 invalidates the cached token', async () => {
    const c = ctx({ credentials: { ...credentials, post: { type: 'oauth2', data: { ...credentials.oauth.data, client_auth: 'post' } }, badsec: { type: 'oauth2', data: { ...credentials.oauth.data, client_secret: 'wrong' } } } });
    expect(body(await run({ url: `${base}/protected`, auth: 'post' }, c))).toEqual({ auth: 'Bearer tok1' });
    expect((await run({ url: `${base}/protected`, auth: 'badsec' }, c)).error).toMatchObject({ kind: 'auth', code: 'OAUTH2_TOKEN' });
    // tok1 still cached for 'post'; make the server reject it: tokens tok3+ are refused by /protected
    tokenHits = 5;
    const t = createHttpTool();
    try {
      tokenHits = 5; // next token is tok6, which /protected refuses
      const first = await t.run({ url: `${base}/protected`, auth: 'oauth' }, c);
      expect(first.error).toMatchObject({ kind: 'auth', code: 'HTTP_401' });
      tokenHits = 0; // next token is tok1 again
      const second = await t.run({ url: `${base}/protected`, auth: 'oauth' }, c);
      expect(second.status).toBe('ok');
    } finally {
      await t.close?.();
    }
  });
});

describe('http: credential query parameters never show in the outcome (T7.21)', () => {
  const credentials = {
    qk: { type: 'api_key', data: { value: 'APIKEYSECRET777', in: 'query', param: 'key' } },
    qk2: { type: 'api_key', data: { value: 'k y&z/=+1', in: 'query', param: 'token' } },
  };
  const encoded = 'k+y%26z%2F%3D%2B1';
  /** everything but the response body (which is the server's, T7.22) */
  const echoed = (out: { data?: unknown; error?: unknown; helpers?: unknown }) =>
    JSON.stringify({ url: (out.data as { url?: string } | undefined)?.url, error: out.error, helpers: out.helpers });

  it('api_key in: query is sent, but data.url and the helper url show key=***', async () => {
    const out = await run({ url: `${base}/echo?a=1`, params: { b: 'x y' }, auth: 'qk' }, ctx({ credentials }));
    expect(out.status).toBe('ok');
    expect(body(out).query).toEqual({ a: '1', b: 'x y', key: 'APIKEYSECRET777' });
    expect((out.data as any).url).toBe(`${base}/echo?a=1&b=x+y&key=***`);
    expect(out.helpers?.http?.url).toBe(`${base}/echo?a=1&b=x+y&key=***`);
    expect(seen[0].url).toBe('/echo?a=1&b=x+y&key=APIKEYSECRET777');
  });

  it('a value with reserved characters: neither the raw nor the encoded spelling shows; other params holding it are redacted', async () => {
    const out = await run({ url: `${base}/echo`, params: { note: 'k y&z/=+1 tail' }, auth: 'qk2' }, ctx({ credentials }));
    expect(body(out).query).toEqual({ note: 'k y&z/=+1 tail', token: 'k y&z/=+1' });
    expect((out.data as any).url).toBe(`${base}/echo?note=***%20tail&token=***`);
    expect(echoed(out)).not.toContain(encoded);
    expect(echoed(out)).not.toContain('k y&z');
  });

  it('error outcomes: HTTP status, timeout, connection refused and a redirect carrying the key', async () => {
    const c = ctx({ credentials });
    const notFound = await run({ url: `${base}/nowhere`, auth: 'qk' }, c);
    expect(notFound.error).toMatchObject({ kind: 'not_found' });
    expect((notFound.data as any).url).toBe(`${base}/nowhere?key=***`);

    const slow = await run({ url: `${base}/slow?ms=2000`, auth: 'qk', timeout: 0.2 }, c);
    expect(slow.error!.message).toBe(`http: GET ${base}/slow?ms=2000&key=*** timed out after 200 ms`);

    const tmp = http.createServer();
    await new Promise<void>((r) => tmp.listen(0, '127.0.0.1', r));
    const port = (tmp.address() as AddressInfo).port;
    await new Promise((r) => tmp.close(r));
    const refused = await run({ url: `http://127.0.0.1:${port}/x`, auth: 'qk' }, c);
    expect(refused.error).toMatchObject({ kind: 'connection' });
    expect(refused.error!.message).toBe(`http: GET http://127.0.0.1:${port}/x?key=***: connect ECONNREFUSED 127.0.0.1:${port}`);

    // the server redirects to a URL that repeats the key: the final URL is still redacted
    const redirected = await run({ url: `${base}/redirect?to=${encodeURIComponent('/echo?key=APIKEYSECRET777&r=1')}`, auth: 'qk' }, c);
    expect((redirected.data as any).url).toBe(`${base}/echo?key=***&r=1`);

    for (const out of [notFound, slow, refused, redirected]) expect(echoed(out)).not.toContain('APIKEYSECRET777');
  });

  it('an explicit query parameter of the same name wins and is not the credential value', async () => {
    const out = await run({ url: `${base}/echo?key=mine`, auth: 'qk' }, ctx({ credentials }));
    expect(body(out).query).toEqual({ key: 'mine' });
    expect((out.data as any).url).toBe(`${base}/echo?key=mine`);
  });
});

describe('http: invalid headers are config errors, not retryable (K1.2)', () => {
  it.each([
    ['CRLF in a value', { 'X-Trace': 'abc\r\ndef' }, 'header "X-Trace" has an invalid value: it contains CR (U+000D) at position 3'],
    ['LF in a value', { 'X-Trace': 'abc\ndef' }, 'header "X-Trace" has an invalid value: it contains LF (U+000A) at position 3'],
    ['NUL in a value', { 'X-Nul': 'a\u0000b' }, 'header "X-Nul" has an invalid value: it contains NUL'],
    ['a non-Latin-1 value', { 'X-Euro': '5 €' }, 'header "X-Euro" has an invalid value: it contains a character outside Latin-1 (U+20AC)'],
    ['a space in a name', { 'X Trace': 'v' }, 'header name "X Trace" is not a valid HTTP header name'],
    ['a colon in a name', { 'X-Trace:': 'v' }, 'header name "X-Trace:" is not a valid HTTP header name'],
    ['an empty name', { '': 'v' }, 'header name "" is not a valid HTTP header name'],
  ])('%s', async (_what, headers, message) => {
    const out = await run({ url: `${base}/echo`, headers });
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind: 'config', code: 'CONFIG', retryable: false, details: { field: 'headers' } });
    expect(out.error!.message).toContain(`http: field 'headers': ${message}`);
    expect(out.error!.message).not.toContain('def');
    expect(seen).toHaveLength(0);
  });

  it('headers undici refuses to send (Transfer-Encoding, Expect) are config errors too', async () => {
    for (const headers of [{ 'Transfer-Encoding': 'chunked' }, { Expect: '100-continue' }]) {
      const out = await run({ url: `${base}/echo`, method: 'POST', body: 'x', headers });
      expect(out.error).toMatchObject({ kind: 'config', code: 'CONFIG', retryable: false, details: { field: 'headers' } });
      expect(out.error!.message).toMatch(new RegExp(`^http: POST ${base}/echo: request rejected: .*${Object.keys(headers)[0].toLowerCase()}`, 'i'));
    }
    expect(seen).toHaveLength(0);
  });

  it('Latin-1 values and tabs are sent; a credential deriving an invalid header name is a config error on auth', async () => {
    const ok = await run({ url: `${base}/echo`, headers: { 'X-Lat': 'caf\u00e9', 'X-Tab': 'a\tb' } });
    expect(ok.status).toBe('ok');
    expect(body(ok).headers['x-tab']).toBe('a\tb');
    const out = await run({ url: `${base}/echo`, auth: 'bad' }, ctx({ credentials: { bad: { type: 'api_key', data: { value: 'v-123', header: 'X Bad' } } } }));
    expect(out.error).toMatchObject({ kind: 'config', retryable: false, details: { field: 'auth' } });
    expect(out.error!.message).toContain('header name "X Bad" is not a valid HTTP header name');
    expect(seen).toHaveLength(1);
  });
});

describe('http: TLS', () => {
  let dir: string;
  let tls: https.Server;
  let tlsBase: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'noetl-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    tls = https.createServer({ key: readFileSync(path.join(dir, 'k.pem')), cert: readFileSync(path.join(dir, 'c.pem')) }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"secure":true}');
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    tlsBase = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    tls.closeAllConnections();
    await new Promise((r) => tls.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  it('a self-signed certificate fails with connection, retryable false; verify_ssl false accepts it', async () => {
    const bad = await run({ url: `${tlsBase}/` });
    expect(bad.error).toMatchObject({ kind: 'connection', code: 'TLS', retryable: false });
    const ok = await run({ url: `${tlsBase}/`, verify_ssl: false });
    expect(body(ok)).toEqual({ secure: true });
  });
});
