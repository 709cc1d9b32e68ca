import { isPlainObject } from '@noetl/common';
import type { Credential } from '@noetl/tools';
import type { CredentialStore } from './types';
import type { KeychainAccess } from './keychain-access';
import type { SecretSet } from './secrets';
import { AuthResolutionError } from './errors';

/** Keys that mark a mapping as one auth form (K1.7) rather than an alias map. */
const AUTH_FORM_KEYS = ['type', 'source', 'credential', 'key', 'token', 'username', 'password', 'header', 'value'];

export interface AuthResolverDeps {
  keychain: KeychainAccess;
  credentials: CredentialStore;
  secrets: SecretSet;
  /** environment for `{source: env}` (default process.env) */
  env?: Record<string, string | undefined>;
}

/**
 * `ToolContext.resolveAuth` (tools.md §1.3):
 * - a string names a keychain entry, else a credential-store credential, else AUTH_NOT_FOUND (K1.6);
 * - `{source: credential | keychain | env | adc, key, ...}`;
 * - `{type, credential: <name>, ...inline}` (credential data, inline fields win);
 * - `{type, token | username | password | header | value ...}` inline fields;
 * - an alias map `{<alias>: <one of the above, plus tool:>}` (duckdb/ducklake/transfer, K1.7 third
 *   form) resolves to `{type: 'aliases', data: {<alias>: {type, tool, data}}}`.
 * The secret fields of the result (passwords, tokens, keys; not host, user or database) are
 * registered for redaction (T7.21, `SecretSet.addCredential`).
 */
export function createAuthResolver(deps: AuthResolverDeps): (ref: unknown) => Promise<Credential> {
  const env = deps.env ?? process.env;

  async function byName(name: string): Promise<Credential> {
    if (deps.keychain.has(name)) {
      const e = await deps.keychain.entry(name);
      return { type: e.type, data: { ...e.value } };
    }
    const c = await deps.credentials.get(name);
    if (!c) throw new AuthResolutionError('AUTH_NOT_FOUND', `auth '${name}' is neither a keychain entry nor a registered credential`, { credential: name });
    return { type: c.type, data: { ...(c.data ?? {}) } };
  }

  async function one(ref: unknown): Promise<Credential & { tool?: string }> {
    if (typeof ref === 'string') {
      if (!ref) throw new AuthResolutionError('AUTH_INVALID', 'auth is an empty string');
      return byName(ref);
    }
    if (!isPlainObject(ref)) throw new AuthResolutionError('AUTH_INVALID', `auth must be a name or a mapping, got ${ref === null ? 'null' : typeof ref}`);
    const tool = typeof ref['tool'] === 'string' ? (ref['tool'] as string) : undefined;
    const source = ref['source'];
    const { type: _t, source: _s, key: _k, credential: _c, tool: _tool, ...inline } = ref;
    const declaredType = typeof ref['type'] === 'string' ? (ref['type'] as string) : undefined;
    if (typeof source === 'string') {
      const key = ref['key'] ?? ref['name'] ?? ref['credential'];
      let base: Credential;
      switch (source) {
        case 'credential': {
          if (typeof key !== 'string' || !key) throw new AuthResolutionError('AUTH_INVALID', 'auth {source: credential} needs a key');
          const c = await deps.credentials.get(key);
          if (!c) throw new AuthResolutionError('AUTH_NOT_FOUND', `credential '${key}' is not registered`, { credential: key });
          base = { type: c.type, data: { ...(c.data ?? {}) } };
          break;
        }
        case 'keychain': {
          if (typeof key !== 'string' || !key) throw new AuthResolutionError('AUTH_INVALID', 'auth {source: keychain} needs a key');
          if (!deps.keychain.has(key)) throw new AuthResolutionError('KEYCHAIN_UNRESOLVED', `keychain entry '${key}' is not declared`, { entry: key });
          const e = await deps.keychain.entry(key);
          base = { type: e.type, data: { ...e.value } };
          break;
        }
        case 'env': {
          if (typeof key !== 'string' || !key) throw new AuthResolutionError('AUTH_INVALID', 'auth {source: env} needs a key');
          const v = env[key];
          if (v === undefined) throw new AuthResolutionError('AUTH_NOT_FOUND', `environment variable '${key}' is not set`);
          base = { type: 'env', data: { value: v } };
          break;
        }
        case 'adc':
          base = { type: 'adc', data: {} };
          break;
        default:
          throw new AuthResolutionError('AUTH_INVALID', `unknown auth source '${source}'`);
      }
      const { name: _n, ...rest } = inline;
      return { type: declaredType ?? base.type, data: { ...base.data, ...rest }, ...(tool ? { tool } : {}) };
    }
    if (typeof ref['credential'] === 'string') {
      const base = await byName(ref['credential'] as string);
      return { type: declaredType ?? base.type, data: { ...base.data, ...inline }, ...(tool ? { tool } : {}) };
    }
    if (AUTH_FORM_KEYS.some((k) => k in ref)) {
      return { type: declaredType ?? 'inline', data: inline, ...(tool ? { tool } : {}) };
    }
    // alias map: every value is itself an auth form
    const entries = Object.entries(ref);
    if (entries.length > 0 && entries.every(([, v]) => isPlainObject(v) || typeof v === 'string')) {
      const data: Record<string, unknown> = {};
      for (const [alias, v] of entries) {
        const r = await one(v);
        data[alias] = { type: r.type, data: r.data, ...(r.tool ? { tool: r.tool } : {}) };
      }
      return { type: 'aliases', data };
    }
    throw new AuthResolutionError('AUTH_INVALID', `unrecognized auth mapping with keys ${Object.keys(ref).join(', ') || '(none)'}`);
  }

  return async (ref: unknown) => {
    const r = await one(ref);
    deps.secrets.addCredential(r.type, r.data);
    const out: Credential = { type: r.type, data: r.data };
    if (r.tool) (out as Credential & { tool?: string }).tool = r.tool;
    return out;
  };
}
