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

  /** register every string leaf of a value (credential data, a resolved keychain entry) */
  addDeep(value: unknown): void {
    if (typeof value === 'string') this.add(value);
    else if (Array.isArray(value)) for (const v of value) this.addDeep(v);
    else if (isPlainObject(value)) for (const v of Object.values(value)) this.addDeep(v);
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
