import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** A secret value some case hands to the engine, and where it came from. */
export interface CaseSecret {
  value: string;
  /** e.g. `48-keychain-secret-redacted keychain demo_api.token` or `credential pg_test.password` */
  origin: string;
}

/** Secrets shorter than this are not scanned for (they would match ordinary text). */
export const MIN_SECRET_LENGTH = 6;

/**
 * Static keychain values declared by a case playbook (`keychain[].kind: static`, every string
 * leaf that is not a template) — the "keychain test secrets" of case 48. Unparsable files yield [].
 */
export function keychainSecretsOf(playbookFile: string, caseName: string): CaseSecret[] {
  let doc: unknown;
  try {
    doc = parse(readFileSync(playbookFile, 'utf8'), { version: '1.2' });
  } catch {
    return [];
  }
  const out: CaseSecret[] = [];
  const keychain = (doc as { keychain?: unknown } | null)?.keychain;
  if (!Array.isArray(keychain)) return out;
  for (const entry of keychain) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as Record<string, unknown>;
    if (e.kind !== 'static') continue;
    const walk = (v: unknown, path: string): void => {
      if (typeof v === 'string') {
        if (v.length >= MIN_SECRET_LENGTH && !v.includes('{{')) out.push({ value: v, origin: `${caseName} keychain ${path}` });
      } else if (Array.isArray(v)) {
        v.forEach((x, i) => walk(x, `${path}[${i}]`));
      } else if (typeof v === 'object' && v !== null) {
        for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
      }
    };
    for (const [k, v] of Object.entries(e)) {
      if (k !== 'name' && k !== 'kind' && k !== 'scope') walk(v, `${String(e.name)}.${k}`);
    }
  }
  return out;
}

/** Secret strings of credentials given to the runs (passwords, tokens), long enough to scan for. */
export function credentialSecrets(credentials: Record<string, { data: Record<string, unknown> }>): CaseSecret[] {
  const out: CaseSecret[] = [];
  for (const [name, cred] of Object.entries(credentials)) {
    for (const [k, v] of Object.entries(cred.data ?? {})) {
      if (!/pass|secret|token|key/i.test(k)) continue;
      if (typeof v === 'string' && v.length >= MIN_SECRET_LENGTH) out.push({ value: v, origin: `credential ${name}.${k}` });
    }
  }
  return out;
}

/** A secret found in the event log of a case. */
export interface SecretLeak {
  caseName: string;
  origin: string;
  eventIndex: number;
  eventType: string;
}

/** Scans every event's JSON text for every secret. */
export function scanForSecrets(
  runs: ReadonlyArray<{ caseName: string; events: ReadonlyArray<object> }>,
  secrets: ReadonlyArray<CaseSecret>,
): SecretLeak[] {
  const leaks: SecretLeak[] = [];
  const unique = [...new Map(secrets.map((s) => [s.value, s])).values()];
  for (const run of runs) {
    run.events.forEach((ev, i) => {
      const text = JSON.stringify(ev);
      for (const s of unique) {
        if (text.includes(s.value)) leaks.push({ caseName: run.caseName, origin: s.origin, eventIndex: i, eventType: String((ev as { event_type?: unknown }).event_type) });
      }
    });
  }
  return leaks;
}
