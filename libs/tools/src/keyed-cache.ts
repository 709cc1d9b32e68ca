import { createHash } from 'node:crypto';

/**
 * Long-lived driver resources of a tool (pools, connections, agents, database instances) by key,
 * created on first use and released together by {@link KeyedCache.closeAll} (the tool's `close()`).
 */
export class KeyedCache<V> {
  private readonly entries = new Map<string, V>();

  /** @param dispose releases one resource; it handles its own errors (a rejection fails `closeAll`) */
  constructor(private readonly dispose: (value: V) => Promise<unknown> | void) {}

  /** The resource for `key`, created with `create` if there is none. */
  get(key: string, create: () => V): V {
    let v = this.entries.get(key);
    if (v === undefined) {
      v = create();
      this.entries.set(key, v);
    }
    return v;
  }

  /** Drop `key` if it still holds `value` (a resource that failed or was closed elsewhere). */
  forget(key: string, value: V): void {
    if (this.entries.get(key) === value) this.entries.delete(key);
  }

  /** Empty the cache and release every resource in parallel. */
  async closeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((v) => this.dispose(v)));
  }
}

/** A stable cache key from connection parameters (hash them: secrets are never kept in clear). */
export function cacheKey(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}
