import type { ToolHandler } from './types';

/** Kind name -> handler. Aliases (e.g. result_fetch -> artifact) map to the same handler. */
export class ToolRegistry {
  private readonly handlers = new Map<string, ToolHandler>();
  register(handler: ToolHandler, ...aliases: string[]): this {
    this.handlers.set(handler.kind, handler);
    for (const a of aliases) this.handlers.set(a, handler);
    return this;
  }
  get(kind: string): ToolHandler | undefined {
    return this.handlers.get(kind);
  }
  kinds(): string[] {
    return [...this.handlers.keys()].sort();
  }
  async close(): Promise<void> {
    const unique = new Set(this.handlers.values());
    await Promise.all([...unique].map((h) => h.close?.()));
  }
}
