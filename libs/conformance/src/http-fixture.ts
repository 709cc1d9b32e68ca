import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpFixtureResponse, HttpFixtureRoute, HttpFixtureSpec } from './case-file';

/** One request the fixture server received. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: string;
  /** index of the matched route, or null when unmatched (404) */
  route: number | null;
  /** status code served */
  status: number;
}

export interface HttpFixture {
  /** base URL without a trailing slash, e.g. `http://127.0.0.1:40123` */
  readonly url: string;
  readonly requests: ReadonlyArray<RecordedRequest>;
  close(): Promise<void>;
}

const NO_ROUTE = JSON.stringify({ error: 'no route' });

/** true when `route` matches method, exact path and (if given) every query param. */
export function routeMatches(route: HttpFixtureRoute, method: string, path: string, query: URLSearchParams): boolean {
  if (route.method && route.method.toUpperCase() !== method.toUpperCase()) return false;
  if (route.path !== path) return false;
  for (const [k, v] of Object.entries(route.query ?? {})) {
    if (query.get(k) !== String(v)) return false;
  }
  return true;
}

/**
 * Starts the loopback HTTP fixture server of the conformance README: the first route (in list
 * order) matching method, exact path and the given query params answers; its responses are served
 * in order, the last one repeating; `delay_ms` delays the answer; unmatched requests get 404
 * `{"error":"no route"}`. Every request is recorded.
 */
export async function startHttpFixture(spec: HttpFixtureSpec = { routes: [] }): Promise<HttpFixture> {
  const routes = spec.routes ?? [];
  const served = routes.map(() => 0);
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const handle = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    const u = new URL(req.url ?? '/', 'http://fixture');
    const method = (req.method ?? 'GET').toUpperCase();
    const idx = routes.findIndex((r) => routeMatches(r, method, u.pathname, u.searchParams));
    const rec: RecordedRequest = {
      method,
      path: u.pathname,
      query: Object.fromEntries(u.searchParams.entries()),
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v ?? '')])),
      body,
      route: idx < 0 ? null : idx,
      status: 404,
    };
    requests.push(rec);
    if (idx < 0) {
      res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(NO_ROUTE) });
      res.end(NO_ROUTE);
      return;
    }
    const list = routes[idx].responses;
    const r: HttpFixtureResponse = list[Math.min(served[idx], list.length - 1)];
    served[idx]++;
    rec.status = r.status ?? 200;
    const send = (): void => {
      if (res.destroyed) return;
      const headers: Record<string, string | number> = {};
      let payload: string;
      if (r.json !== undefined) {
        payload = JSON.stringify(r.json);
        headers['content-type'] = 'application/json';
      } else {
        payload = r.body ?? '';
        headers['content-type'] = 'text/plain; charset=utf-8';
      }
      for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
      headers['content-length'] = Buffer.byteLength(payload);
      res.writeHead(rec.status, headers);
      res.end(payload);
    };
    if (r.delay_ms && r.delay_ms > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, r.delay_ms);
      timers.add(t);
    } else {
      send();
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => res.destroy());
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
