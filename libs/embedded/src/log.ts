import { parseEvent, type LoggedEvent, type NoetlEvent } from '@noetl/events';

/**
 * The in-memory event log of embedded mode: one totally ordered log per execution tree (T1.3,
 * T10.2; a child execution shares its root's log), positions (`seq`) assigned on append starting
 * at 1, and dedupe by `event_id` (T10.1: a second event with a seen id is a no-op).
 */
export class EventLog {
  private readonly trees = new Map<string, { events: LoggedEvent[]; ids: Set<string> }>();
  private readonly byExecution = new Map<string, LoggedEvent[]>();
  private readonly listeners = new Set<(e: LoggedEvent) => void>();

  /**
   * Appends an event to its tree's log (keyed by `root_execution_id`). Returns the logged event
   * with its `seq`, or null when an event with the same `event_id` is already in that log.
   */
  append(event: NoetlEvent): LoggedEvent | null {
    const tree = this.treeOf(event);
    if (!this.claim(tree, event.event_id)) return null;
    return this.store(tree, { ...event, seq: tree.events.length + 1 } as LoggedEvent);
  }

  /**
   * `append` for an event object the caller hands over: no other code holds or reuses it (the
   * embedded scheduler's inbox: worker, api and dead-letter events it created itself). The log
   * stores that object with `seq` added instead of a copy: same logged event, one ~20-key object
   * per event less to allocate and collect. A duplicate is dropped and left untouched.
   */
  adopt(event: NoetlEvent): LoggedEvent | null {
    const tree = this.treeOf(event);
    if (!this.claim(tree, event.event_id)) return null;
    const logged = event as LoggedEvent & { seq: number };
    logged.seq = tree.events.length + 1;
    return this.store(tree, logged);
  }

  private treeOf(event: NoetlEvent): { events: LoggedEvent[]; ids: Set<string> } {
    const root = event.root_execution_id || event.execution_id;
    let tree = this.trees.get(root);
    if (!tree) {
      tree = { events: [], ids: new Set() };
      this.trees.set(root, tree);
    }
    return tree;
  }

  /** T10.1: false when the id is already in the tree's log; one hash operation instead of has() + add(). */
  private claim(tree: { ids: Set<string> }, eventId: string): boolean {
    const n = tree.ids.size;
    tree.ids.add(eventId);
    return tree.ids.size !== n;
  }

  private store(tree: { events: LoggedEvent[] }, logged: LoggedEvent): LoggedEvent {
    tree.events.push(logged);
    let own = this.byExecution.get(logged.execution_id);
    if (!own) {
      own = [];
      this.byExecution.set(logged.execution_id, own);
    }
    own.push(logged);
    if (this.listeners.size > 0) this.notify(logged);
    return logged;
  }

  private notify(logged: LoggedEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(logged);
      } catch {
        // observers (progress output) never break the log
      }
    }
  }

  /** true when the tree of `rootExecutionId` holds an event with this id. */
  has(rootExecutionId: string, eventId: string): boolean {
    return this.trees.get(rootExecutionId)?.ids.has(eventId) ?? false;
  }

  /** Events of one execution (not its children), in log order. */
  events(executionId: string): readonly LoggedEvent[] {
    return this.byExecution.get(executionId) ?? [];
  }

  /** Every event of an execution tree (root and descendants), in log order. */
  tree(rootExecutionId: string): readonly LoggedEvent[] {
    return this.trees.get(rootExecutionId)?.events ?? [];
  }

  /** Number of events in a tree's log (= its last seq). */
  length(rootExecutionId: string): number {
    return this.trees.get(rootExecutionId)?.events.length ?? 0;
  }

  /** Observes every appended event (after it is stored). */
  subscribe(fn: (e: LoggedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Serializes a tree's log as JSON lines (one event per line, with `seq`). */
  toJsonl(rootExecutionId: string): string {
    return this.tree(rootExecutionId).map((e) => `${JSON.stringify(e)}\n`).join('');
  }
}

/**
 * Parses a saved JSON-lines log (`--events-out`): the boundary where bytes become events, so each
 * line is validated with `parseEvent` (envelope + required payload fields). Blank lines are
 * skipped; well-formed events of unknown types are ignored (T6.1); events without a `seq` get
 * their position. Throws with the line number on malformed input.
 */
export function parseJsonl(text: string): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(`line ${i + 1}: ${(e as Error).message}`);
    }
    let ev: NoetlEvent | null;
    try {
      ev = parseEvent(v);
    } catch (e) {
      throw new Error(`line ${i + 1}: ${(e as Error).message}`);
    }
    if (ev === null) return;
    const seq = (v as { seq?: unknown }).seq;
    out.push({ ...ev, seq: typeof seq === 'number' ? seq : out.length + 1 } as LoggedEvent);
  });
  return out;
}
