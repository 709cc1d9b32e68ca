import { defineFallback } from '@noetl/template';
import type { KeychainEntryDef, KeychainResolver, KeychainScopeInfo, ResolvedKeychainEntry } from './types';
import type { SecretSet } from './secrets';
import { keychainUnresolved } from './errors';

/** the `keychain` root of a playbook without entries */
const EMPTY_KEYCHAIN: object = Object.freeze({});
/** what `takeUsed` returns when no entry was read (shared, frozen: callers only iterate it) */
const NO_NAMES = Object.freeze([]) as unknown as string[];
/** the (never written) definitions of every command without keychain entries */
const NO_DEFS: ReadonlyMap<string, { def: KeychainEntryDef; index: number }> = new Map();

/**
 * Renders an entry's fields (R2.11: against workload, execution_id and the entries declared before
 * it, exposed through `keychain`).
 */
export type EntryFieldRenderer = (fields: Record<string, unknown>, keychain: object) => Record<string, unknown>;

/**
 * The keychain as one command sees it. Templates are synchronous but resolution is not, so
 * access is lazy by re-rendering: `run(fn)` renders with a `keychain` root whose unresolved
 * entries read as undefined while their names are recorded; if any was read, those entries are
 * resolved (in list order, each rendered against the earlier ones) and `fn` runs again. Only
 * entries a template actually reads are ever resolved. The secret values of a resolved entry are
 * registered for the command (T7.21, `SecretSet.addKeychainEntry`).
 */
export class KeychainAccess {
  /** declared entries; the shared empty map for a command without keychain (most commands: no Map per command) */
  private readonly defs: ReadonlyMap<string, { def: KeychainEntryDef; index: number }>;
  /** resolved entries (made on the first resolution) */
  private resolved: Map<string, ResolvedKeychainEntry> | null = null;
  /** entries read since the last `takeUsed()` (KK.3 invalidation after a 401); made on first read */
  private used: Set<string> | null = null;

  constructor(
    entries: readonly KeychainEntryDef[],
    private readonly resolver: KeychainResolver,
    private readonly info: KeychainScopeInfo,
    private readonly secrets: SecretSet,
    private readonly renderFields: EntryFieldRenderer,
    private readonly signal?: AbortSignal,
  ) {
    if (entries.length === 0) {
      this.defs = NO_DEFS;
    } else {
      const defs = new Map<string, { def: KeychainEntryDef; index: number }>();
      entries.forEach((def, index) => {
        if (!defs.has(def.name)) defs.set(def.name, { def, index });
      });
      this.defs = defs;
    }
  }

  has(name: string): boolean {
    return this.defs.has(name);
  }

  get size(): number {
    return this.defs.size;
  }

  /**
   * `run(fn)` without a promise when the command declares no keychain entry (nothing can be
   * pending then): the common case renders synchronously. Throws synchronously what `fn` throws.
   */
  render<T>(fn: (keychain: object) => T): T | Promise<T> {
    return this.defs.size === 0 ? fn(EMPTY_KEYCHAIN) : this.run(fn);
  }

  /** Run a synchronous render with lazy keychain access. `limit`: only entries declared before that index are visible. */
  async run<T>(fn: (keychain: object) => T, limit = Number.POSITIVE_INFINITY): Promise<T> {
    if (this.defs.size === 0) return fn(EMPTY_KEYCHAIN);
    for (let round = 0; ; round++) {
      const pending = new Set<string>();
      let result: T | undefined;
      let error: unknown;
      let threw = false;
      try {
        result = fn(this.view(pending, limit));
      } catch (e) {
        threw = true;
        error = e;
      }
      if (pending.size === 0 || round > this.defs.size) {
        if (threw) throw error;
        return result as T;
      }
      const names = [...pending].sort((a, b) => this.defs.get(a)!.index - this.defs.get(b)!.index);
      for (const name of names) await this.entry(name);
    }
  }

  /** Resolve (or return the cached) entry; throws AuthResolutionError KEYCHAIN_UNRESOLVED (KK.2). */
  async entry(name: string): Promise<ResolvedKeychainEntry> {
    (this.used ??= new Set()).add(name);
    const have = this.resolved?.get(name);
    if (have) return have;
    const slot = this.defs.get(name);
    if (!slot) throw keychainUnresolved(name, 'no such keychain entry');
    let fields: Record<string, unknown>;
    try {
      fields = await this.run((kc) => this.renderFields(slot.def.fields, kc), slot.index);
    } catch (e) {
      if ((e as { code?: unknown }).code === 'KEYCHAIN_UNRESOLVED') throw e;
      throw keychainUnresolved(name, `rendering its fields failed: ${(e as Error).message}`, e);
    }
    const got = await this.resolver.resolve(slot.def, this.info, fields, this.signal);
    this.secrets.addKeychainEntry(slot.def.kind, got);
    (this.resolved ??= new Map()).set(name, got);
    return got;
  }

  /** names of the entries read since the last call (KK.3) */
  takeUsed(): string[] {
    if (this.used === null || this.used.size === 0) return NO_NAMES; // the common case (no keychain read)
    const out = [...this.used];
    this.used = null;
    return out;
  }

  /** KK.3: forget an entry (here and in the shared cache) so the next read fetches it again */
  invalidate(name: string): void {
    const slot = this.defs.get(name);
    if (!slot) return;
    this.resolved?.delete(name);
    this.resolver.invalidate(slot.def, this.info);
  }

  private view(pending: Set<string>, limit: number): object {
    return defineFallback({}, (name: string) => {
      const slot = this.defs.get(name);
      if (!slot || slot.index >= limit) return undefined;
      const have = this.resolved?.get(name);
      if (have) {
        (this.used ??= new Set()).add(name);
        return have.value;
      }
      pending.add(name);
      return undefined;
    });
  }
}
