import { startHttpFixture, type HttpFixture } from './http-fixture';

describe('HTTP fixture server (real HTTP on loopback)', () => {
  let fx: HttpFixture;
  afterEach(async () => {
    await fx?.close();
  });

  it('serves responses in order, the last one repeating', async () => {
    fx = await startHttpFixture({
      routes: [{ method: 'GET', path: '/flaky', responses: [{ status: 500, json: { error: 'first' } }, { status: 200, json: { ok: true } }] }],
    });
    expect(fx.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const codes: number[] = [];
    const bodies: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await fetch(`${fx.url}/flaky`);
      codes.push(r.status);
      bodies.push(await r.json());
    }
    expect(codes).toEqual([500, 200, 200, 200]);
    expect(bodies[0]).toEqual({ error: 'first' });
    expect(bodies[3]).toEqual({ ok: true });
    expect(fx.requests.map((q) => q.status)).toEqual([500, 200, 200, 200]);
  });

  it('matches method, exact path and the given query params; first matching route wins', async () => {
    fx = await startHttpFixture({
      routes: [
        { method: 'GET', path: '/items', query: { page: '2' }, responses: [{ status: 200, json: { page: 2 } }] },
        { method: 'GET', path: '/items', query: { page: 1 }, responses: [{ status: 200, json: { page: 1 } }] },
        { method: 'GET', path: '/items', responses: [{ status: 200, json: { page: 'any' } }] },
        { method: 'POST', path: '/items', responses: [{ status: 201, json: { created: true } }] },
      ],
    });
    const get = async (p: string, init?: RequestInit) => {
      const r = await fetch(fx.url + p, init);
      return [r.status, await r.json()];
    };
    expect(await get('/items?page=2&x=1')).toEqual([200, { page: 2 }]);
    expect(await get('/items?page=1')).toEqual([200, { page: 1 }]);
    expect(await get('/items?page=3')).toEqual([200, { page: 'any' }]);
    expect(await get('/items')).toEqual([200, { page: 'any' }]);
    expect(await get('/items', { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' } })).toEqual([
      201,
      { created: true },
    ]);
    expect(await get('/items/')).toEqual([404, { error: 'no route' }]);
    expect(await get('/items', { method: 'DELETE' })).toEqual([404, { error: 'no route' }]);
    const post = fx.requests.find((q) => q.method === 'POST');
    expect(post?.body).toBe('{"a":1}');
    expect(post?.headers['content-type']).toBe('application/json');
    expect(fx.requests[0].query).toEqual({ page: '2', x: '1' });
    expect(fx.requests.filter((q) => q.route === null)).toHaveLength(2);
  });

  it('unmatched requests get 404 {"error":"no route"} with a JSON content type', async () => {
    fx = await startHttpFixture({ routes: [] });
    const r = await fetch(`${fx.url}/nothing`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.text()).toBe('{"error":"no route"}');
  });

  it('sends configured headers (lower-cased) and text bodies', async () => {
    fx = await startHttpFixture({
      routes: [
        { method: 'GET', path: '/h', responses: [{ status: 200, json: { a: 1 }, headers: { 'X-Page': '7' } }] },
        { method: 'GET', path: '/t', responses: [{ status: 200, body: 'plain' }] },
      ],
    });
    const r = await fetch(`${fx.url}/h`);
    expect(r.headers.get('x-page')).toBe('7');
    expect(await r.json()).toEqual({ a: 1 });
    const t = await fetch(`${fx.url}/t`);
    expect(t.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await t.text()).toBe('plain');
  });

  it('delays responses by delay_ms, independently per request', async () => {
    fx = await startHttpFixture({
      routes: [
        { method: 'GET', path: '/slow', responses: [{ status: 200, json: { id: 'slow' }, delay_ms: 300 }] },
        { method: 'GET', path: '/fast', responses: [{ status: 200, json: { id: 'fast' }, delay_ms: 0 }] },
      ],
    });
    const done: string[] = [];
    await Promise.all(
      ['/slow', '/fast'].map(async (p) => {
        const r = await fetch(fx.url + p);
        done.push(((await r.json()) as { id: string }).id);
      }),
    );
    expect(done).toEqual(['fast', 'slow']);
  });

  it('closes promptly even with keep-alive connections and pending delays', async () => {
    fx = await startHttpFixture({ routes: [{ method: 'GET', path: '/slow', responses: [{ status: 200, json: {}, delay_ms: 10_000 }] }] });
    await fetch(`${fx.url}/nothing`).then((r) => r.text());
    const pending = fetch(`${fx.url}/slow`).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await fx.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(String(await pending)).toMatch(/fetch failed|terminated|socket/i);
  });
});
