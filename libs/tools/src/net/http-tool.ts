import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { Agent, Dispatcher } from 'undici';
import { lazyModule } from '../lazy';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const undici = lazyModule(() => require('undici') as typeof import('undici'));
import { isPlainObject, type ErrorKind } from '@noetl/common';
import { toTemplateString } from '@noetl/template';
import { resolveAuth } from '../auth';
import {
  ToolConfigError, cancelledOutcome, configErrorOutcome, describeType, errorOutcome, optBool, optMapping, optNumber, optString, readConfig, stringMap,
} from '../config';
import { KeyedCache } from '../keyed-cache';
import { effectiveTimeoutMs } from '../timeout';
import type { OutcomeHelpers, ToolContext, ToolHandler, ToolOutcome } from '../types';
import { HttpAuthError, OAuthTokenCache, applyAuth, type AuthApplied } from './http-auth';

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const inflateRaw = promisify(zlib.inflateRaw);
const brotli = promisify(zlib.brotliDecompress);

export const HTTP_FIELDS = [
  'url', 'endpoint', 'method', 'headers', 'params', 'json', 'form', 'body', 'payload', 'data', 'timeout', 'timeout_seconds',
  'verify_ssl', 'follow_redirects', 'response_type', 'auth', 'max_response_bytes', 'input',
] as const;

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const NO_BODY_DATA_METHODS = new Set(['GET', 'DELETE', 'HEAD']);
const MAX_REDIRECTS = 10;
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface HttpToolOptions {
  /** response size cap in bytes (decoded body); default 64 MiB; a task may lower or raise it with `max_response_bytes` */
  maxResponseBytes?: number;
  /** default `User-Agent` (explicit headers win) */
  userAgent?: string;
  /** keep-alive connections per origin (default 16) */
  connectionsPerOrigin?: number;
}

type ResponseType = 'auto' | 'json' | 'text' | 'binary';

interface HttpPlan {
  method: string;
  url: URL;
  /** query parameter names whose values come from the credential (shown as `***` wherever the URL is echoed) */
  authParams: Set<string>;
  headers: Record<string, string>;
  body?: string | Buffer;
  responseType: ResponseType;
  followRedirects: boolean;
  verifySsl: boolean;
  connectMs: number;
  readMs: number;
  /** overall deadline (number form of the timeout); undefined for `{connect, read}` */
  totalMs?: number;
  maxBytes: number;
}

/** The http outcome `data` of tools.md §2.3 (six keys; K2.16 body fallback is a template read rule, not applied here). */
export interface HttpResult {
  status_code: number;
  headers: Record<string, string>;
  data: unknown;
  body: unknown;
  url: string;
  elapsed_ms: number;
}

/**
 * `kind: http` (tools.md §2.3) on undici. One keep-alive agent per (verify_ssl, connect timeout);
 * OAuth2 client-credentials tokens are cached per credential. `close()` releases the agents.
 *
 * @example
 * const http = createHttpTool();
 * const out = await http.run({ url: 'http://127.0.0.1:8080/items', params: { page: 2 } }, ctx);
 * // out.data = { status_code: 200, headers: {...}, data: {...}, body: {...}, url, elapsed_ms }
 */
export function createHttpTool(opts: HttpToolOptions = {}): ToolHandler {
  const agents = new KeyedCache<Agent>((a) => a.close().catch(() => a.destroy()));
  const tokens = new OAuthTokenCache();
  const maxDefault = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const userAgent = opts.userAgent ?? 'noetl-mesh/0.1';

  const agentFor = (verifySsl: boolean, connectMs: number): Agent =>
    agents.get(`${verifySsl}|${connectMs}`, () => new (undici().Agent)({
      connect: { timeout: connectMs, rejectUnauthorized: verifySsl },
      connections: opts.connectionsPerOrigin ?? 16,
      keepAliveTimeout: 4_000,
    }));

  return {
    kind: 'http',
    fields: HTTP_FIELDS,
    close: () => agents.closeAll(),
    async run(config, ctx) {
      const planned = readConfig(ctx, 'http', () => plan(config, ctx, maxDefault, userAgent));
      if ('outcome' in planned) return planned.outcome;
      const p = planned.ok;
      if (ctx.signal.aborted) return cancelledOutcome(ctx, 'http');
      const dispatcher = agentFor(p.verifySsl, p.connectMs);
      let applied: AuthApplied | undefined;
      if (config.auth !== undefined && config.auth !== null && config.auth !== '') {
        const r = await resolveAuth(ctx, 'http', config.auth);
        if ('outcome' in r) return r.outcome;
        try {
          applied = await applyAuth(r.cred, ctx, tokens, dispatcher, Math.min(p.totalMs ?? p.connectMs + p.readMs, 30_000));
        } catch (e) {
          if (e instanceof HttpAuthError) return errorOutcome(ctx, 'http', e.kind, e.code, e.message, e.kind === 'config' ? { details: { field: 'auth' } } : {});
          throw e;
        }
        const bad = invalidHeader(applied.headers);
        if (bad) return configErrorOutcome(ctx, 'http', 'auth', `the credential derives an invalid header: ${bad}`);
        mergeHeaders(p.headers, applied.headers);
        for (const [k, v] of Object.entries(applied.params)) {
          if (p.url.searchParams.has(k)) continue;
          p.url.searchParams.set(k, v);
          p.authParams.add(k);
        }
      }
      const out = await execute(p, ctx, dispatcher);
      if (applied?.oauthKey && out.helpers?.http?.status === 401) tokens.invalidate(applied.oauthKey);
      return out;
    },
  };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// the field-value characters undici (and Node's http) accept: HTAB, visible ASCII, space, obs-text
const BAD_VALUE_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The first header whose name is not an HTTP token or whose value holds a character that cannot be
 * sent (CR, LF, NUL, other controls, non-Latin-1), as a message naming the header; undefined when
 * all are valid. The value itself is never quoted (it may be a secret).
 */
function invalidHeader(headers: Record<string, string>): string | undefined {
  for (const [k, v] of Object.entries(headers)) {
    if (!TOKEN.test(k)) return `header name ${JSON.stringify(k)} is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_\`|~ only; no spaces, colons or control characters)`;
    const m = BAD_VALUE_CHAR.exec(v);
    if (m) {
      const c = m[0].charCodeAt(0);
      const what = c === 13 ? 'CR' : c === 10 ? 'LF' : c === 0 ? 'NUL' : c < 0x20 || c === 0x7f ? 'a control character' : 'a character outside Latin-1';
      return `header ${JSON.stringify(k)} has an invalid value: it contains ${what} (U+${c.toString(16).toUpperCase().padStart(4, '0')}) at position ${m.index}`;
    }
  }
  return undefined;
}

/**
 * The URL as echoed in the outcome (`data.url`, helper `http.url`, error messages): values of
 * query parameters set from the credential (`api_key` with `in: query`) become `***`, and any
 * other query value that contains a registered secret (also when percent-encoded) has it
 * replaced; the request itself is sent unchanged.
 */
export function displayUrl(url: URL, authParams: ReadonlySet<string>, redact: (s: string) => string): string {
  const search = url.search;
  if (search.length <= 1) return redact(url.href);
  const head = url.href.slice(0, url.href.length - search.length - url.hash.length);
  const query = search.slice(1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    if (authParams.has(formDecode(rawName))) return `${rawName}=***`;
    if (eq < 0) return pair;
    const value = formDecode(pair.slice(eq + 1));
    const shown = redact(value);
    return shown === value ? pair : `${rawName}=${encodeURIComponent(shown)}`;
  });
  return redact(`${head}?${query.join('&')}${url.hash}`);
}

function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Explicit headers win over derived ones (case-insensitive). */
function mergeHeaders(explicit: Record<string, string>, derived: Record<string, string>): void {
  const have = new Set(Object.keys(explicit).map((k) => k.toLowerCase()));
  for (const [k, v] of Object.entries(derived)) if (!have.has(k.toLowerCase())) explicit[k] = v;
}

function hasHeader(h: Record<string, string>, name: string): string | undefined {
  const n = name.toLowerCase();
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === n) return v;
  return undefined;
}

function plan(config: Record<string, unknown>, ctx: ToolContext, maxDefault: number, userAgent: string): HttpPlan {
  const rawUrl = optString(config, 'url') ?? optString(config, 'endpoint');
  if (!rawUrl) throw new ToolConfigError('url', "field 'url' (alias 'endpoint') is required");
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ToolConfigError('url', `field 'url' is not a valid URL: ${rawUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ToolConfigError('url', `field 'url' must be an http(s) URL, got ${url.protocol}`);
  const method = (optString(config, 'method') ?? 'GET').toUpperCase();
  if (!METHODS.has(method)) throw new ToolConfigError('method', `field 'method' must be one of ${[...METHODS].join(', ')}, got ${method}`);

  const headers = stringMap(optMapping(config, 'headers') ?? {});
  const bad = invalidHeader(headers);
  if (bad) throw new ToolConfigError('headers', `field 'headers': ${bad}`);
  const params = stringMap(optMapping(config, 'params') ?? {});
  const data = config['data'];
  if (NO_BODY_DATA_METHODS.has(method) && data !== undefined && data !== null) {
    // legacy `data` on GET/DELETE/HEAD is merged into the query (explicit params win)
    if (!isPlainObject(data)) throw new ToolConfigError('data', `field 'data' must be a mapping for ${method} (it is merged into params), got ${describeType(data)}`);
    for (const [k, v] of Object.entries(stringMap(data))) if (!(k in params)) params[k] = v;
  }
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);

  // body precedence K2.11: json > form > body > payload > data
  let body: string | Buffer | undefined;
  let contentType: string | undefined;
  const given = (f: string) => config[f] !== undefined && config[f] !== null;
  if (given('json')) {
    body = JSON.stringify(config['json']);
    contentType = 'application/json';
  } else if (given('form')) {
    const form = config['form'];
    if (typeof form === 'string') body = form;
    else if (isPlainObject(form)) body = new URLSearchParams(stringMap(form)).toString();
    else throw new ToolConfigError('form', `field 'form' must be a mapping, got ${describeType(form)}`);
    contentType = 'application/x-www-form-urlencoded';
  } else if (given('body') || given('payload')) {
    const v = given('body') ? config['body'] : config['payload'];
    if (typeof v === 'string') body = v;
    else {
      body = JSON.stringify(v);
      contentType = 'application/json';
    }
  } else if (given('data') && !NO_BODY_DATA_METHODS.has(method)) {
    const ct = hasHeader(headers, 'content-type') ?? '';
    if (typeof data === 'string') body = data;
    else if (/application\/x-www-form-urlencoded/i.test(ct) && isPlainObject(data)) body = new URLSearchParams(stringMap(data)).toString();
    else {
      body = JSON.stringify(data);
      contentType = 'application/json';
    }
  }
  if (contentType && !hasHeader(headers, 'content-type')) headers['Content-Type'] = contentType;
  if (!hasHeader(headers, 'user-agent')) headers['User-Agent'] = userAgent;

  const rt = (optString(config, 'response_type') ?? 'auto').toLowerCase();
  if (rt !== 'auto' && rt !== 'json' && rt !== 'text' && rt !== 'binary') {
    throw new ToolConfigError('response_type', `field 'response_type' must be auto, json, text or binary, got ${rt}`);
  }
  const maxBytes = optNumber(config, 'max_response_bytes') ?? maxDefault;
  if (maxBytes <= 0) throw new ToolConfigError('max_response_bytes', "field 'max_response_bytes' must be positive");

  const t = timeouts(config, ctx);
  return {
    method, url, authParams: new Set(), headers, body, responseType: rt as ResponseType,
    followRedirects: optBool(config, 'follow_redirects', true),
    verifySsl: optBool(config, 'verify_ssl', true),
    ...t,
    maxBytes,
  };
}

/** K1.9 for http: a `{connect, read}` form at the winning level sets the two phases; a number is the overall bound. */
function timeouts(config: Record<string, unknown>, ctx: ToolContext): { connectMs: number; readMs: number; totalMs?: number } {
  const levels: Array<[string, unknown]> = [['timeout_seconds', config['timeout_seconds']], ['timeout', config['timeout']], ['spec.timeout', ctx.spec?.timeout]];
  for (const [field, v] of levels) {
    if (v === undefined || v === null) continue;
    if (isPlainObject(v)) {
      const connectMs = v.connect === undefined || v.connect === null ? 30_000 : secondsMs(v.connect, field);
      const readMs = v.read === undefined || v.read === null ? 30_000 : secondsMs(v.read, field);
      return { connectMs, readMs };
    }
    break;
  }
  const total = effectiveTimeoutMs(config, ctx, 30);
  return { connectMs: total, readMs: total, totalMs: total };
}

function secondsMs(v: unknown, field: string): number {
  const n = typeof v === 'string' ? parseDuration(v) : typeof v === 'number' ? v * 1000 : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new ToolConfigError(field, `field '${field}' connect/read must be positive seconds, got ${toTemplateString(v)}`);
  return n;
}

function parseDuration(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(s);
  if (!m) return NaN;
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[(m[2] ?? 's').toLowerCase()];
}

class TooLargeError extends Error {}

async function execute(p: HttpPlan, ctx: ToolContext, dispatcher: Dispatcher): Promise<ToolOutcome> {
  const started = performance.now();
  const ac = new AbortController();
  let timedOut = false;
  const onAbort = () => ac.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const timer = p.totalMs !== undefined ? setTimeout(() => { timedOut = true; ac.abort(new Error('timeout')); }, p.totalMs) : undefined;
  let method = p.method;
  let url = p.url;
  let body = p.body;
  const headers = { ...p.headers };
  let helpers: OutcomeHelpers | undefined;
  const show = (u: URL) => displayUrl(u, p.authParams, (t) => ctx.redact(t));
  try {
    for (let hop = 0; ; hop++) {
      const res = await undici().request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher,
        signal: ac.signal,
        headersTimeout: p.readMs,
        bodyTimeout: p.readMs,
      });
      const resHeaders = flattenHeaders(res.headers);
      helpers = { http: { status: res.statusCode, headers: resHeaders, url: show(url), method } };
      const location = resHeaders['location'];
      if (p.followRedirects && [301, 302, 303, 307, 308].includes(res.statusCode) && location) {
        await res.body.dump().catch(() => undefined);
        if (hop >= MAX_REDIRECTS) {
          return errorOutcome(ctx, 'http', 'client_error', 'HTTP_TOO_MANY_REDIRECTS', `http: more than ${MAX_REDIRECTS} redirects`, { http_status: res.statusCode }, { helpers });
        }
        const next = new URL(location, url);
        if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
          if (method !== 'HEAD') method = 'GET';
          body = undefined;
          for (const k of Object.keys(headers)) if (/^content-(type|length)$/i.test(k)) delete headers[k];
        }
        if (next.origin !== url.origin) {
          for (const k of Object.keys(headers)) if (/^(authorization|cookie|proxy-authorization)$/i.test(k)) delete headers[k];
        }
        url = next;
        continue;
      }
      let raw: Buffer;
      try {
        raw = await readCapped(res, p.maxBytes);
      } catch (e) {
        if (e instanceof TooLargeError) {
          return errorOutcome(ctx, 'http', 'client_error', 'HTTP_RESPONSE_TOO_LARGE', `http: response body exceeds ${p.maxBytes} bytes`, { http_status: res.statusCode }, { helpers });
        }
        throw e;
      }
      const contentType = resHeaders['content-type'] ?? '';
      const parsed = parseBody(raw, contentType, p.responseType);
      const result: HttpResult = {
        status_code: res.statusCode,
        headers: resHeaders,
        data: parsed.value,
        body: parsed.value,
        url: show(url),
        elapsed_ms: Math.round(performance.now() - started),
      };
      if (res.statusCode >= 400) return httpErrorOutcome(ctx, res.statusCode, resHeaders, result, helpers);
      if (parsed.error) return errorOutcome(ctx, 'http', 'parse', 'HTTP_PARSE', `http: response is not valid JSON: ${parsed.error}`, { http_status: res.statusCode }, { data: result, helpers });
      return { status: 'ok', data: result, helpers };
    }
  } catch (e) {
    if (ctx.signal.aborted) return cancelledOutcome(ctx, 'http', helpers ? { helpers } : {});
    const rest = helpers ? { helpers } : {};
    if (timedOut) return errorOutcome(ctx, 'http', 'timeout', 'TIMEOUT', `http: ${method} ${show(url)} timed out after ${p.totalMs} ms`, {}, rest);
    return transportFailure(ctx, e, `http: ${method} ${show(url)}`, rest);
  } finally {
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Drop a response body without an unhandled 'error' event. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

async function readCapped(res: Dispatcher.ResponseData, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  const encoding = String(res.headers['content-encoding'] ?? '').toLowerCase().trim();
  if (!encoding && Number.isFinite(declared) && declared > maxBytes) {
    discard(res.body);
    throw new TooLargeError();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      discard(res.body);
      throw new TooLargeError();
    }
    chunks.push(chunk as Buffer);
  }
  const buf = Buffer.concat(chunks, total);
  if (!encoding || encoding === 'identity' || buf.length === 0) return buf;
  const lim = { maxOutputLength: maxBytes };
  try {
    if (encoding === 'gzip' || encoding === 'x-gzip') return await gunzip(buf, lim);
    if (encoding === 'deflate') return await inflate(buf, lim).catch(() => inflateRaw(buf, lim));
    if (encoding === 'br') return await brotli(buf, lim);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) throw new TooLargeError();
    throw e;
  }
  return buf;
}

function isJsonType(ct: string): boolean {
  const t = ct.split(';')[0].trim().toLowerCase();
  return t === 'application/json' || t.endsWith('+json') || t === 'text/json';
}

function decodeText(raw: Buffer, ct: string): string {
  const m = /charset\s*=\s*"?([^";\s]+)"?/i.exec(ct);
  if (m) {
    try {
      return new TextDecoder(m[1]).decode(raw);
    } catch {
      // unknown charset label: fall back to UTF-8
    }
  }
  return raw.toString('utf8');
}

/**
 * response_type: `binary` -> `{base64, size}`; `text` -> string; `json` -> parsed (malformed -> parse
 * error; empty -> null); `auto` -> parsed when the content type is JSON or the body parses as JSON,
 * otherwise the text (malformed JSON under a JSON content type stays text; empty body -> null for a
 * JSON content type, '' otherwise).
 */
function parseBody(raw: Buffer, ct: string, rt: ResponseType): { value: unknown; error?: string } {
  if (rt === 'binary') return { value: { base64: raw.toString('base64'), size: raw.length } };
  const text = decodeText(raw, ct);
  if (rt === 'text') return { value: text };
  if (rt === 'json') {
    if (text.trim() === '') return { value: null };
    try {
      return { value: JSON.parse(text) };
    } catch (e) {
      return { value: text, error: (e as Error).message };
    }
  }
  const jsonType = isJsonType(ct);
  if (text.trim() === '') return { value: jsonType ? null : text };
  if (jsonType || looksLikeJson(text)) {
    try {
      return { value: JSON.parse(text) };
    } catch {
      return { value: text };
    }
  }
  return { value: text };
}

function looksLikeJson(text: string): boolean {
  const c = text.trimStart()[0];
  return c === '{' || c === '[' || c === '"' || c === '-' || (c >= '0' && c <= '9') || text.trim() === 'true' || text.trim() === 'false' || text.trim() === 'null';
}

/** Retry-After in seconds: delta-seconds or an HTTP date (seconds from now, never negative). */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

function httpErrorOutcome(ctx: ToolContext, status: number, headers: Record<string, string>, data: HttpResult, helpers: OutcomeHelpers): ToolOutcome {
  let kind: ErrorKind;
  if (status === 429) kind = 'rate_limit';
  else if (status === 401 || status === 403) kind = 'auth';
  else if (status === 404) kind = 'not_found';
  else if (status >= 500) kind = 'server_error';
  else kind = 'client_error';
  const extra: { http_status: number; retry_after?: number } = { http_status: status };
  const ra = parseRetryAfter(headers['retry-after']);
  if (ra !== undefined) extra.retry_after = ra;
  return errorOutcome(ctx, 'http', kind, `HTTP_${status}`, `HTTP ${status} ${STATUS_CODES[status] ?? ''}`.trim(), extra, { data, helpers });
}

const TLS_CODES = /^(CERT_|ERR_TLS_|ERR_SSL_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(VERIFY|GET)_|HOSTNAME_MISMATCH|ERR_OSSL)/;
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function errorCodes(e: unknown): string[] {
  const codes: string[] = [];
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string') codes.push(c);
    cur = (cur as { cause?: unknown }).cause;
  }
  return codes;
}

function transportFailure(ctx: ToolContext, e: unknown, what: string, rest: Omit<ToolOutcome, 'status' | 'error'>): ToolOutcome {
  const codes = errorCodes(e);
  const cause = codes.find((c) => !c.startsWith('UND_ERR_SOCKET')) ?? codes[0];
  const msg = (e as Error)?.message ?? String(e);
  const details = cause ? { cause } : {};
  // undici refusing the request itself (a header it will not send, e.g. `Transfer-Encoding`,
  // `Expect`, a bad `Content-Length`): deterministic, so a configuration error (K1.2)
  if (codes.includes('UND_ERR_INVALID_ARG') || codes.includes('UND_ERR_NOT_SUPPORTED')) {
    const field = /header/i.test(msg) ? 'headers' : undefined;
    return errorOutcome(ctx, 'http', 'config', 'CONFIG', `${what}: request rejected: ${msg}`, { details: field ? { field, cause } : { cause } }, rest);
  }
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return errorOutcome(ctx, 'http', 'timeout', 'TIMEOUT', `${what} timed out (${cause})`, { details }, rest);
  if (codes.some((c) => TLS_CODES.test(c)) || /certificate|SSL|TLS/i.test(msg)) {
    return errorOutcome(ctx, 'http', 'connection', 'TLS', `${what}: TLS failure: ${msg}`, { retryable: false, details }, rest);
  }
  return errorOutcome(ctx, 'http', 'connection', 'CONNECTION', `${what}: ${msg}${cause && !msg.includes(cause) ? ` (${cause})` : ''}`, { details }, rest);
}


