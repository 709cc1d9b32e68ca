import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isPlainObject, setPath } from '@noetl/common';
import { parse } from 'yaml';
import { UsageError } from './args';

/**
 * A number of JSON text that a JavaScript number cannot hold as written: an integer beyond
 * ±Number.MAX_SAFE_INTEGER (`12345678901234567890` would become 12345678901234567000) or a value
 * out of range (`1e400` would become Infinity, i.e. null in JSON).
 */
function inexactNumber(token: string): boolean {
  const n = Number(token);
  if (!Number.isFinite(n)) return true;
  return /^-?\d+$/.test(token) && !Number.isSafeInteger(n);
}

const NUMBER_TOKEN = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * JSON.parse, except that a number token that cannot be represented exactly (`inexactNumber`)
 * becomes the string as written, wherever it is (`12345678901234567890`, `[1e400]`). Throws like
 * JSON.parse on invalid JSON.
 */
export function parseJsonExact(text: string): unknown {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      // skip the string (escapes included); an unterminated one is JSON.parse's error to report
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (ch !== '-' && (ch < '0' || ch > '9')) continue;
    NUMBER_TOKEN.lastIndex = i;
    const m = NUMBER_TOKEN.exec(text);
    if (!m) continue;
    const token = m[0];
    if (inexactNumber(token)) {
      out += `${text.slice(from, i)}"${token}"`;
      from = i + token.length;
    }
    i += token.length - 1;
  }
  return JSON.parse(from === 0 ? text : out + text.slice(from));
}

/** Integers of a YAML file read as BigInt (`intAsBigInt`): a number again when safe, else its decimal string. */
function unBigInt(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(unBigInt);
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unBigInt(x)]));
  return v;
}

/**
 * `--payload JSON|@FILE` then `--set KEY=VALUE`... -> the execution payload. `@FILE` is JSON or
 * YAML 1.2; a `--set` VALUE is parsed as JSON when it is valid JSON (`5`, `true`, `[1]`,
 * `{"a":1}`, `"quoted"`), else taken as a string; dotted KEYs nest (`a.b=1` -> `{a: {b: 1}}`).
 * A number that cannot be represented exactly (an integer beyond ±(2^53-1), or out of range like
 * `1e400`) stays the string as written, in `--set` and `--payload` JSON alike (an integer of a
 * YAML/JSON @FILE beyond ±(2^53-1) too).
 */
export function buildPayload(payloadArg: string | undefined, sets: readonly string[], cwd: string): Record<string, unknown> {
  let payload: Record<string, unknown> = {};
  if (payloadArg !== undefined) {
    let doc: unknown;
    if (payloadArg.startsWith('@')) {
      const file = payloadArg.slice(1);
      let text: string;
      try {
        text = readFileSync(resolve(cwd, file), 'utf8');
      } catch (e) {
        throw new UsageError(`--payload: cannot read ${file}: ${(e as Error).message}`);
      }
      try {
        doc = unBigInt(parse(text, { version: '1.2', intAsBigInt: true }));
      } catch (e) {
        throw new UsageError(`--payload: ${file} is not valid JSON/YAML: ${(e as Error).message}`);
      }
    } else {
      try {
        doc = parseJsonExact(payloadArg);
      } catch (e) {
        throw new UsageError(`--payload: not valid JSON (use @FILE for a file): ${(e as Error).message}`);
      }
    }
    if (doc === null || doc === undefined) doc = {};
    if (!isPlainObject(doc)) throw new UsageError('--payload must be a JSON object');
    payload = doc;
  }
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set expects KEY=VALUE, got '${s}'`);
    const key = s.slice(0, eq);
    const raw = s.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = parseJsonExact(raw);
    } catch {
      value = raw;
    }
    const path = key.split('.');
    if (path.some((p) => p === '')) throw new UsageError(`--set: bad key '${key}'`);
    payload = setPath(payload, path, value);
  }
  return payload;
}
