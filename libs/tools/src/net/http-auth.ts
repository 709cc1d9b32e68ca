import type { Dispatcher } from 'undici';
import { lazyModule } from '../lazy';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const undici = lazyModule(() => require('undici') as typeof import('undici'));
import type { Credential, ToolContext } from '../types';
import { credString } from '../auth';
import { cacheKey } from '../keyed-cache';

/** Headers (and optional query params) derived from a resolved credential. */
export interface AuthApplied {
  headers: Record<string, string>;
  params: Record<string, string>;
  /** set when the Authorization header carries a cached OAuth2 token (invalidated on 401, KK.3) */
  oauthKey?: string;
}

export class HttpAuthError extends Error {
  constructor(
    readonly kind: 'auth' | 'config' | 'connection' | 'timeout',
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpAuthError';
  }
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/**
 * OAuth2 client-credentials tokens, cached per credential (token URL, client id, scope, audience,
 * secret hash) until `expires_in` − 60 s (default lifetime 3,600 s). Concurrent requests share
 * one token fetch.
 */
export class OAuthTokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  constructor(private readonly now: () => number = Date.now) {}

  invalidate(key: string): void {
    this.tokens.delete(key);
  }

  async get(key: string, fetchToken: () => Promise<{ token: string; expiresInS: number }>): Promise<string> {
    const hit = this.tokens.get(key);
    if (hit && hit.expiresAt > this.now()) return hit.token;
    let p = this.inflight.get(key);
    if (!p) {
      p = (async () => {
        const { token, expiresInS } = await fetchToken();
        const entry = { token, expiresAt: this.now() + (expiresInS - 60) * 1000 };
        if (expiresInS > 60) this.tokens.set(key, entry);
        return entry;
      })().finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return (await p).token;
  }
}

/**
 * Turn a credential into request headers (tools.md §2.3 `auth`). Types: `bearer` (`token`),
 * `basic` (`username`/`user`, `password`), `api_key` (`value`/`api_key`/`key`/`token`; header
 * `header` default `X-API-Key`, or `in: query` with `param`), `oauth2` (an `access_token` already
 * present is used as is, else the client-credentials grant against `token_url`). Other types are
 * inferred from the data fields present.
 */
export async function applyAuth(
  cred: Credential,
  ctx: ToolContext,
  cache: OAuthTokenCache,
  dispatcher: Dispatcher,
  timeoutMs: number,
): Promise<AuthApplied> {
  const d = cred.data;
  const type = inferType(cred);
  const out: AuthApplied = { headers: {}, params: {} };
  switch (type) {
    case 'bearer': {
      const token = credString(d, 'token', 'access_token', 'bearer_token', 'value', 'id_token');
      if (!token) throw new HttpAuthError('config', 'CONFIG', 'http: bearer credential has no token');
      ctx.registerSecret(token);
      out.headers['Authorization'] = `Bearer ${token}`;
      return out;
    }
    case 'basic': {
      const user = credString(d, 'username', 'user', 'login');
      const password = credString(d, 'password') ?? '';
      if (user === undefined) throw new HttpAuthError('config', 'CONFIG', 'http: basic credential has no username');
      const b64 = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
      if (password) ctx.registerSecret(password);
      ctx.registerSecret(b64);
      out.headers['Authorization'] = `Basic ${b64}`;
      return out;
    }
    case 'api_key': {
      const value = credString(d, 'value', 'api_key', 'key', 'token');
      if (!value) throw new HttpAuthError('config', 'CONFIG', 'http: api_key credential has no value');
      ctx.registerSecret(value);
      if (credString(d, 'in') === 'query') {
        // the form-encoded spelling too, so a value with reserved characters is also redacted in URLs
        const encoded = new URLSearchParams({ v: value }).toString().slice(2);
        if (encoded !== value) ctx.registerSecret(encoded);
        out.params[credString(d, 'param', 'name') ?? 'api_key'] = value;
      } else out.headers[credString(d, 'header', 'header_name') ?? 'X-API-Key'] = value;
      return out;
    }
    case 'oauth2': {
      const ready = credString(d, 'access_token');
      if (ready) {
        ctx.registerSecret(ready);
        out.headers['Authorization'] = `Bearer ${ready}`;
        return out;
      }
      const tokenUrl = credString(d, 'token_url', 'token_endpoint', 'endpoint', 'url');
      const clientId = credString(d, 'client_id');
      const clientSecret = credString(d, 'client_secret') ?? '';
      if (!tokenUrl || !clientId) throw new HttpAuthError('config', 'CONFIG', 'http: oauth2 credential needs token_url and client_id');
      if (clientSecret) ctx.registerSecret(clientSecret);
      const scopeRaw = d['scope'] ?? d['scopes'];
      const scope = Array.isArray(scopeRaw) ? scopeRaw.map(String).join(' ') : credString(d, 'scope');
      const audience = credString(d, 'audience');
      const clientAuth = (credString(d, 'client_auth', 'auth_method') ?? 'basic').toLowerCase();
      const key = cacheKey({ tokenUrl, clientId, scope, audience, clientAuth, s: cacheKey({ clientSecret }) });
      const token = await cache.get(key, () =>
        fetchClientCredentialsToken({ tokenUrl, clientId, clientSecret, scope, audience, clientAuth, extra: d['params'], dispatcher, timeoutMs }),
      );
      ctx.registerSecret(token);
      out.headers['Authorization'] = `Bearer ${token}`;
      out.oauthKey = key;
      return out;
    }
    default:
      throw new HttpAuthError('config', 'CONFIG', `http: unsupported auth type '${cred.type}' (bearer, basic, api_key, oauth2)`);
  }
}

function inferType(cred: Credential): string {
  const t = (cred.type ?? '').toLowerCase().replace(/-/g, '_');
  if (t === 'bearer' || t === 'token' || t === 'bearer_token' || t === 'google_id_token') return 'bearer';
  if (t === 'basic' || t === 'basic_auth') return 'basic';
  if (t === 'api_key' || t === 'apikey' || t === 'header') return 'api_key';
  if (t === 'oauth2' || t === 'oauth2_client_credentials' || t === 'oauth') return 'oauth2';
  const d = cred.data;
  if (credString(d, 'access_token') || (credString(d, 'client_id') && credString(d, 'token_url', 'token_endpoint'))) return 'oauth2';
  if (credString(d, 'token', 'bearer_token', 'id_token')) return 'bearer';
  if (credString(d, 'username', 'user') && d['password'] !== undefined) return 'basic';
  if (credString(d, 'api_key') || (credString(d, 'header') && credString(d, 'value'))) return 'api_key';
  return t || 'unknown';
}

async function fetchClientCredentialsToken(o: {
  tokenUrl: string; clientId: string; clientSecret: string; scope?: string; audience?: string; clientAuth: string;
  extra: unknown; dispatcher: Dispatcher; timeoutMs: number;
}): Promise<{ token: string; expiresInS: number }> {
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (o.scope) form.set('scope', o.scope);
  if (o.audience) form.set('audience', o.audience);
  if (o.extra && typeof o.extra === 'object' && !Array.isArray(o.extra)) {
    for (const [k, v] of Object.entries(o.extra as Record<string, unknown>)) if (v !== null && v !== undefined) form.set(k, String(v));
  }
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (o.clientAuth === 'body' || o.clientAuth === 'post' || o.clientAuth === 'client_secret_post') {
    form.set('client_id', o.clientId);
    form.set('client_secret', o.clientSecret);
  } else {
    const enc = (s: string) => encodeURIComponent(s);
    headers['authorization'] = `Basic ${Buffer.from(`${enc(o.clientId)}:${enc(o.clientSecret)}`).toString('base64')}`;
  }
  let res;
  try {
    res = await undici().request(o.tokenUrl, {
      method: 'POST', headers, body: form.toString(), dispatcher: o.dispatcher,
      headersTimeout: o.timeoutMs, bodyTimeout: o.timeoutMs, signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (e) {
    const timeout = (e as Error).name === 'TimeoutError' || /TIMEOUT/.test(String((e as { code?: unknown }).code));
    throw new HttpAuthError(timeout ? 'timeout' : 'connection', timeout ? 'OAUTH2_TIMEOUT' : 'OAUTH2_CONNECTION',
      `http: oauth2 token request failed: ${(e as Error).message}`);
  }
  const text = await res.body.text();
  if (res.statusCode < 200 || res.statusCode >= 300) {
    throw new HttpAuthError('auth', 'OAUTH2_TOKEN', `http: oauth2 token endpoint answered HTTP ${res.statusCode}`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new HttpAuthError('auth', 'OAUTH2_TOKEN', 'http: oauth2 token endpoint returned no JSON');
  }
  const token = typeof json.access_token === 'string' ? json.access_token : undefined;
  if (!token) throw new HttpAuthError('auth', 'OAUTH2_TOKEN', 'http: oauth2 token response has no access_token');
  const exp = Number(json.expires_in);
  return { token, expiresInS: Number.isFinite(exp) && exp > 0 ? exp : 3600 };
}
