import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isPlainObject, setPath } from '@noetl/common';
import { parse } from 'yaml';
import { UsageError } from './args';

/**
 * `--payload JSON|@FILE` then `--set KEY=VALUE`... -> the execution payload. `@FILE` is JSON or
 * YAML 1.2; a `--set` VALUE is parsed as JSON when it is valid JSON (`5`, `true`, `[1]`,
 * `{"a":1}`, `"quoted"`), else taken as a string; dotted KEYs nest (`a.b=1` -> `{a: {b: 1}}`).
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
        doc = parse(text, { version: '1.2' });
      } catch (e) {
        throw new UsageError(`--payload: ${file} is not valid JSON/YAML: ${(e as Error).message}`);
      }
    } else {
      try {
        doc = JSON.parse(payloadArg);
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
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    const path = key.split('.');
    if (path.some((p) => p === '')) throw new UsageError(`--set: bad key '${key}'`);
    payload = setPath(payload, path, value);
  }
  return payload;
}
