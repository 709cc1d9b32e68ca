import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { NoetlError } from '@noetl/common';
import type { Credential } from '@noetl/tools';
import { parse } from 'yaml';

/** The credential store of embedded mode: name -> `{type, data}`. */
export type CredentialMap = Record<string, Credential>;

/**
 * Checks and normalizes a parsed credentials document: a mapping of name -> `{type, data}`
 * (`data` a mapping). Throws `NoetlError` `E_CREDENTIALS` naming the bad entry.
 */
export function parseCredentials(doc: unknown, source: string): CredentialMap {
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new NoetlError('E_CREDENTIALS', `${source}: credentials must be a mapping of name -> {type, data}`, { file: source });
  }
  const out: CredentialMap = {};
  for (const [name, v] of Object.entries(doc as Record<string, unknown>)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      throw new NoetlError('E_CREDENTIALS', `${source}: credential '${name}' must be a mapping {type, data}`, { file: source });
    }
    const { type, data } = v as { type?: unknown; data?: unknown };
    if (typeof type !== 'string' || !type) {
      throw new NoetlError('E_CREDENTIALS', `${source}: credential '${name}' has no string 'type'`, { file: source });
    }
    if (data !== undefined && (typeof data !== 'object' || data === null || Array.isArray(data))) {
      throw new NoetlError('E_CREDENTIALS', `${source}: credential '${name}'.data must be a mapping`, { file: source });
    }
    out[name] = { type, data: (data ?? {}) as Record<string, unknown> };
  }
  return out;
}

/** Reads a YAML or JSON credentials file (YAML 1.2 is a superset of JSON). */
export function loadCredentialsFile(file: string, cwd = process.cwd()): CredentialMap {
  const abs = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new NoetlError('E_CREDENTIALS', `cannot read credentials file ${file}: ${(e as Error).message}`, { file }, { cause: e });
  }
  let doc: unknown;
  try {
    doc = parse(text, { version: '1.2' });
  } catch (e) {
    throw new NoetlError('E_CREDENTIALS', `${file}: not valid YAML/JSON: ${(e as Error).message}`, { file }, { cause: e });
  }
  return parseCredentials(doc, file);
}

/**
 * `NOETL_CREDENTIALS`: inline JSON (starts with `{`) or a path to a credentials file. Empty -> {}.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): CredentialMap {
  const v = env.NOETL_CREDENTIALS?.trim();
  if (!v) return {};
  if (v.startsWith('{')) {
    let doc: unknown;
    try {
      doc = JSON.parse(v);
    } catch (e) {
      throw new NoetlError('E_CREDENTIALS', `NOETL_CREDENTIALS: not valid JSON: ${(e as Error).message}`, {}, { cause: e });
    }
    return parseCredentials(doc, 'NOETL_CREDENTIALS');
  }
  if (!existsSync(resolve(cwd, v))) throw new NoetlError('E_CREDENTIALS', `NOETL_CREDENTIALS: no such file ${v}`, { file: v });
  return loadCredentialsFile(v, cwd);
}

/** Credential store over a map (the shape `@noetl/worker-runtime` asks for). */
export function createCredentialStore(map: CredentialMap): { get(name: string): Promise<Credential | undefined>; names(): string[] } {
  return {
    get: async (name) => (Object.prototype.hasOwnProperty.call(map, name) ? map[name] : undefined),
    names: () => Object.keys(map),
  };
}
