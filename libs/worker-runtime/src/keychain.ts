import { request } from 'undici';
import { isPlainObject } from '@noetl/common';
import type { CredentialStore, KeychainEntryDef, KeychainResolver, KeychainScopeInfo, ResolvedKeychainEntry } from './types';
import { keychainUnresolved } from './errors';

export interface KeychainResolverOptions {
  credentials: CredentialStore;
  now?: () => Date;
  /** cache lifetime of entries without a token TTL (default 1 h, KK.1) */
  defaultTtlMs?: number;
  /** oauth2 token request timeout (default 30 s) */
  requestTimeoutMs?: number;
}

/** KK.1 cache key of an entry. */
export function keychainCacheKey(entry: KeychainEntryDef, info: KeychainScopeInfo): string {
  switch (entry.scope) {
    case 'local': return `${entry.name}:${info.catalogId}:${info.executionId}`;
    case 'shared': return `${entry.name}:${info.catalogId}:shared:${info.rootExecutionId}`;
    default: return `${entry.name}:${info.catalogId}:global`;
  }
}

const HOUR_MS = 3_600_000;
/** Token TTL safety margin (KK.1: token TTL minus 60 s). */
const TOKEN_MARGIN_MS = 60_000;

/**
 * The worker's keychain resolver. Kinds resolved here: `static` (`data`), `credential` (credential
 * store), `bearer` (`token`, or a credential's `token`/`access_token`), `oauth2` (a real token
 * request to `endpoint`). `secrets`/`secret_manager` and `google_id_token` need a cloud provider
 * that a worker cannot reach: they fail with KEYCHAIN_UNRESOLVED (KK.2), as does any other kind.
 *
 * @example
 * const keychain = createKeychainResolver({ credentials });   // share it across commands
 * await runCommand(cmd, delivery, { ...deps, keychain });
 */
export function createKeychainResolver(opts: KeychainResolverOptions): KeychainResolver {
  const now = opts.now ?? (() => new Date());
  const defaultTtl = opts.defaultTtlMs ?? HOUR_MS;
  const cache = new Map<string, { expiresAt: number; value: Promise<{ entry: ResolvedKeychainEntry; ttlMs: number }> }>();

  async function load(entry: KeychainEntryDef, fields: Record<string, unknown>, signal?: AbortSignal): Promise<{ entry: ResolvedKeychainEntry; ttlMs: number }> {
    switch (entry.kind) {
      case 'static': {
        const data = fields['data'];
        if (!isPlainObject(data)) throw keychainUnresolved(entry.name, 'kind static needs a `data` mapping');
        return { entry: { value: data, type: typeof fields['type'] === 'string' ? (fields['type'] as string) : 'static' }, ttlMs: defaultTtl };
      }
      case 'credential': {
        const name = fields['credential'] ?? fields['key'];
        if (typeof name !== 'string' || !name) throw keychainUnresolved(entry.name, 'kind credential needs a `credential` name');
        const cred = await opts.credentials.get(name);
        if (!cred) throw keychainUnresolved(entry.name, `credential '${name}' is not registered`);
        return { entry: { value: { ...cred.data }, type: cred.type }, ttlMs: defaultTtl };
      }
      case 'bearer': {
        let token = fields['token'];
        if ((token === undefined || token === null || token === '') && typeof fields['credential'] === 'string') {
          const cred = await opts.credentials.get(fields['credential'] as string);
          if (!cred) throw keychainUnresolved(entry.name, `credential '${fields['credential']}' is not registered`);
          token = cred.data['token'] ?? cred.data['access_token'] ?? cred.data['value'];
        }
        if (typeof token !== 'string' || !token) throw keychainUnresolved(entry.name, 'kind bearer needs a `token` or a credential holding one');
        return { entry: { value: { token }, type: 'bearer' }, ttlMs: defaultTtl };
      }
      case 'oauth2':
        return oauth2(entry, fields, signal);
      case 'secrets':
      case 'secret_manager':
      case 'google_id_token':
        throw keychainUnresolved(entry.name, `kind ${entry.kind} needs a secrets provider that is not reachable from this worker`);
      default:
        throw keychainUnresolved(entry.name, `unknown keychain kind '${entry.kind}'`);
    }
  }

  async function oauth2(entry: KeychainEntryDef, fields: Record<string, unknown>, signal?: AbortSignal): Promise<{ entry: ResolvedKeychainEntry; ttlMs: number }> {
    const endpoint = fields['endpoint'] ?? fields['url'];
    if (typeof endpoint !== 'string' || !endpoint) throw keychainUnresolved(entry.name, 'kind oauth2 needs an `endpoint`');
    const method = typeof fields['method'] === 'string' ? (fields['method'] as string).toUpperCase() : 'POST';
    const headers: Record<string, string> = {};
    if (isPlainObject(fields['headers'])) {
      for (const [k, v] of Object.entries(fields['headers'])) if (v !== null && v !== undefined) headers[k.toLowerCase()] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    let body: string | undefined;
    const data = fields['data'];
    if (data !== undefined && data !== null) {
      const ct = headers['content-type'] ?? 'application/x-www-form-urlencoded';
      headers['content-type'] = ct;
      if (ct.includes('json')) body = JSON.stringify(data);
      else if (isPlainObject(data)) {
        const p = new URLSearchParams();
        for (const [k, v] of Object.entries(data)) if (v !== null && v !== undefined) p.append(k, typeof v === 'string' ? v : JSON.stringify(v));
        body = p.toString();
      } else body = String(data);
    }
    headers['accept'] ??= 'application/json';
    const timeout = AbortSignal.timeout(opts.requestTimeoutMs ?? 30_000);
    const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let status: number;
    let text: string;
    try {
      const res = await request(endpoint, { method: method as 'POST', headers, body, signal: sig });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      throw keychainUnresolved(entry.name, `token request to ${safeUrl(endpoint)} failed: ${(e as Error).message}`, e);
    }
    if (status < 200 || status >= 300) throw keychainUnresolved(entry.name, `token endpoint ${safeUrl(endpoint)} answered HTTP ${status}`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw keychainUnresolved(entry.name, `token endpoint ${safeUrl(endpoint)} did not return JSON`);
    }
    const tokenField = typeof fields['token_field'] === 'string' ? (fields['token_field'] as string) : 'access_token';
    if (!isPlainObject(json) || typeof json[tokenField] !== 'string') throw keychainUnresolved(entry.name, `token response has no '${tokenField}'`);
    const ttlField = typeof fields['ttl_field'] === 'string' ? (fields['ttl_field'] as string) : 'expires_in';
    const ttlS = Number(json[ttlField]);
    const ttlMs = Number.isFinite(ttlS) && ttlS > 0 ? Math.max(0, ttlS * 1000 - TOKEN_MARGIN_MS) : defaultTtl;
    return { entry: { value: json, type: 'oauth2' }, ttlMs };
  }

  return {
    async resolve(entry, info, fields, signal) {
      const key = keychainCacheKey(entry, info);
      const t = now().getTime();
      const hit = cache.get(key);
      if (hit && hit.expiresAt > t) return (await hit.value).entry;
      const value = load(entry, fields, signal);
      const slot = { expiresAt: Number.POSITIVE_INFINITY, value };
      cache.set(key, slot);
      try {
        const got = await value;
        slot.expiresAt = now().getTime() + got.ttlMs;
        return got.entry;
      } catch (e) {
        if (cache.get(key) === slot) cache.delete(key);
        throw e;
      }
    },
    invalidate(entry, info) {
      cache.delete(keychainCacheKey(entry, info));
    },
  };
}

/** endpoint without query string or credentials, for error messages */
function safeUrl(u: string): string {
  try {
    const url = new URL(u);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
