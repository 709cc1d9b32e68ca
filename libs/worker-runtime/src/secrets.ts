import { isPlainObject } from '@noetl/common';

/** Strings shorter than this are not registered: redacting `on` or `5432` everywhere would garble messages. */
export const MIN_SECRET_LENGTH = 4;
export const REDACTED = '***';

/** never written: `SecretSet.add` replaces it with an own set first */
const NONE: Set<string> = new Set();

/**
 * The secret strings resolved for one command (runtime.md T7.21): keychain values and credential
 * data. `redact` replaces every occurrence with `***`, longest secret first so that a secret that
 * contains another one is replaced whole.
 */
export class SecretSet {
  /** the shared empty set until the first secret (one per command; most commands have none) */
  private values: Set<string> = NONE;
  private sorted: string[] | null = null;

  add(value: unknown): void {
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || this.values.has(value)) return;
    if (this.values === NONE) this.values = new Set();
    this.values.add(value);
    this.sorted = null;
  }

  /** register every string (and number) leaf of a value: values that are secret as a whole */
  addDeep(value: unknown): void {
    if (typeof value === 'string') this.add(value);
    else if (typeof value === 'number' || typeof value === 'bigint') this.add(String(value));
    else if (Array.isArray(value)) for (const v of value) this.addDeep(v);
    else if (isPlainObject(value)) for (const v of Object.values(value)) this.addDeep(v);
  }

  /**
   * Register the secret values of a resolved credential (`resolveAuth`): the fields that are
   * secrets by name (`credentialSecretValues`), not its host, user, database or type. An alias
   * map (`type: 'aliases'`, K1.7 third form) registers each alias's credential the same way.
   */
  addCredential(type: string, data: unknown): void {
    for (const v of credentialSecretValues(type, data)) this.add(v);
  }

  /**
   * Register a resolved keychain entry (tools.md §K) by its kind: `secrets`/`secret_manager`
   * values are secrets whole; `credential`, `bearer`, `oauth2`, `google_id_token` values follow
   * the credential field rule; `static` (and unknown kinds) register every field except those
   * named like connection coordinates (host, user, database, ...), so an entry such as
   * `{data: {api: <token>}}` stays a secret while `{host, user, password}` keeps host and user.
   */
  addKeychainEntry(kind: string, entry: { type?: string; value: unknown }): void {
    switch (kind) {
      case 'secrets':
      case 'secret_manager':
        this.addDeep(entry.value);
        return;
      case 'credential':
      case 'bearer':
      case 'oauth2':
      case 'google_id_token':
        this.addCredential(entry.type ?? kind, entry.value);
        return;
      default:
        for (const v of credentialSecretValues(entry.type ?? kind, entry.value, { unknownIsSecret: true })) this.add(v);
    }
  }

  get size(): number {
    return this.values.size;
  }

  redact(text: string): string {
    if (this.values.size === 0 || typeof text !== 'string' || text.length < MIN_SECRET_LENGTH) return text;
    if (!this.sorted) this.sorted = [...this.values].sort((a, b) => b.length - a.length);
    let out = text;
    for (const s of this.sorted) if (out.includes(s)) out = out.split(s).join(REDACTED);
    return out;
  }

  /** a copy of `value` with every string leaf (and mapping key) redacted; non-JSON leaves dropped */
  redactDeep<T>(value: T): T {
    if (this.values.size === 0) return value;
    return this.walk(value) as T;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[this.redact(k)] = this.walk(v);
      return out;
    }
    return value;
  }
}

// ---------------------------------------------------------------------------------------------
// Which credential fields are secrets (T7.21 applied per field, tools.md §1.3 / §K)

/** How a credential field is treated by its name. */
export type SecretFieldClass = 'secret' | 'public' | 'unknown';

/**
 * Field names (normalized: lower case, `-`/space/`.` → `_`, camelCase split) that hold secrets:
 * passwords, tokens, client secrets, API keys, private keys and passphrases, session tokens,
 * signatures, NATS creds/seeds, service-account key files. `value` is the secret of `api_key`,
 * `bearer`, `env` and `secrets` values.
 */
const SECRET_NAME = /pass|pwd|secret|token|key|credential|creds|auth|private|signature|cookie|bearer|jwt|seed|hmac|service_account/;
const SECRET_EXACT = new Set(['value', 'pin', 'sig', 'nkey']);

/**
 * Names that never hold a secret even when they contain a secret word: connection coordinates
 * (tools.md: postgres `host`/`port`/`database`/`user`/`sslmode`, snowflake `account`/`warehouse`/
 * `role`/`schema`, nats `url`), identifiers, URLs, paths, names, types and expiry fields
 * (`token_url`, `key_id`, `token_type`, `auth_method`, `expires_in`, `private_key_id`, ...).
 */
const PUBLIC_EXACT = new Set([
  'type', 'kind', 'tool', 'name', 'alias', 'description', 'label', 'labels',
  'host', 'hostname', 'hosts', 'server', 'servers', 'port', 'address', 'addr',
  'user', 'username', 'user_name', 'login', 'email', 'client_email', 'principal',
  'database', 'dbname', 'db_name', 'db', 'schema', 'search_path', 'catalog', 'warehouse', 'role', 'account',
  'sslmode', 'ssl_mode', 'region', 'location', 'project', 'bucket', 'prefix', 'namespace',
  'header', 'header_name', 'in', 'param', 'scope', 'scopes', 'audience', 'grant_type', 'tenant',
  'authenticator', 'client_auth', 'auth_provider_x509_cert_url', 'universe_domain', 'use_ssl', 'url_style',
]);
const PUBLIC_SUFFIX = /(?:^|_)(?:id|ids|url|urls|uri|uris|endpoint|path|file|dir|type|method|mode|field|name|names|expiry|expires|expires_at|expires_in|ttl|ttl_s|version|algorithm|format|style|host|hostname|port|user|username|database|db|dbname|schema|region|account|warehouse|role|bucket|project)$/;

/** normalize a field name for the rules: `clientSecret`, `client-secret`, `Client Secret` → `client_secret` */
function normalizeFieldName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase().replace(/[\s.\-]+/g, '_');
}

/** The class of a credential field by its name (see `SECRET_NAME`, `PUBLIC_EXACT`). */
export function classifySecretField(key: string): SecretFieldClass {
  const k = normalizeFieldName(key);
  if (SECRET_EXACT.has(k)) return 'secret';
  if (PUBLIC_EXACT.has(k) || PUBLIC_SUFFIX.test(k)) return 'public';
  return SECRET_NAME.test(k) ? 'secret' : 'unknown';
}

/** `scheme://user:password@` (the password group) */
const URL_USERINFO = /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:([^\s/?#@]+)@/gi;
/** `name=value` pairs of a query string or a key/value DSN (`host=h password=p`, `Pwd=p;`) */
const KEY_VALUE = /(?:^|[\s;&?,])([A-Za-z_][\w.-]*)\s*=\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s;&,]+)/g;

function withDecoded(raw: string, out: string[]): void {
  out.push(raw);
  try {
    const dec = decodeURIComponent(raw.replace(/\+/g, ' '));
    if (dec !== raw) out.push(dec);
    const dec2 = decodeURIComponent(raw);
    if (dec2 !== raw && dec2 !== dec) out.push(dec2);
  } catch {
    /* not percent-encoded */
  }
}

/**
 * Secrets embedded in a non-secret string such as a connection URL or DSN: the password of
 * `scheme://user:password@host`, and the values of secret-named `key=value` pairs
 * (`?password=..`, `sslpassword=..`, `access_token=..`), raw and percent-decoded. The URL itself,
 * its user and host are not secrets.
 */
export function embeddedSecrets(text: string): string[] {
  const out: string[] = [];
  if (text.includes('://') && text.includes('@')) {
    for (const m of text.matchAll(URL_USERINFO)) withDecoded(m[1], out);
  }
  if (text.includes('=')) {
    for (const m of text.matchAll(KEY_VALUE)) {
      if (classifySecretField(m[1]) !== 'secret') continue;
      let v = m[2];
      if ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"'))) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      withDecoded(v, out);
    }
  }
  return out;
}

function leaves(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (typeof value === 'number' || typeof value === 'bigint') out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) leaves(v, out);
  else if (isPlainObject(value)) for (const v of Object.values(value)) leaves(v, out);
}

function collect(value: unknown, cls: SecretFieldClass, unknownIsSecret: boolean, out: string[]): void {
  if (cls === 'secret' || (cls === 'unknown' && unknownIsSecret)) {
    leaves(value, out);
    return;
  }
  if (typeof value === 'string') {
    for (const s of embeddedSecrets(value)) out.push(s);
  } else if (Array.isArray(value)) {
    for (const v of value) collect(v, cls, unknownIsSecret, out);
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) collect(v, classifySecretField(k), unknownIsSecret, out);
  }
}

/**
 * The strings of a resolved credential that are secrets and must be redacted (T7.21), by field:
 * - a field that is a secret by name (`classifySecretField`: `password`, `token`, `client_secret`,
 *   `private_key`, `private_key_passphrase`, `secret_access_key`, `session_token`, api-key `value`,
 *   nats `creds`, ...) registers all its string/number leaves;
 * - any other field registers only the credentials embedded in it (`embeddedSecrets`: the
 *   password of a `postgresql://user:pw@host/db` URL, `password=` of a DSN), and a nested mapping
 *   (e.g. `headers`) is classified field by field;
 * - with `unknownIsSecret` (keychain `static` entries), fields whose name is neither secret nor
 *   public are secrets too.
 * `type: 'aliases'` (K1.7 third form) applies the rule to each alias's `{type, data}`. Strings
 * shorter than `MIN_SECRET_LENGTH` are dropped by `SecretSet.add`, not here.
 */
export function credentialSecretValues(type: string, data: unknown, opts: { unknownIsSecret?: boolean } = {}): string[] {
  const out: string[] = [];
  if (type === 'aliases' && isPlainObject(data)) {
    for (const v of Object.values(data)) {
      if (isPlainObject(v) && isPlainObject(v['data'])) out.push(...credentialSecretValues(typeof v['type'] === 'string' ? v['type'] : '', v['data'], opts));
      else collect(v, 'unknown', opts.unknownIsSecret ?? false, out);
    }
    return out;
  }
  collect(data, 'public', opts.unknownIsSecret ?? false, out);
  return out;
}
