import { parseEvent, type LoggedEvent, type NoetlEvent } from '@noetl/events';

interface TreeLog {
  events: LoggedEvent[];
  ids: IdIndex;
}

/** FNV-1a over the UTF-16 code units of an id (non-strings: over their string form). */
function hashId(id: unknown): number {
  const s = typeof id === 'string' ? id : String(id);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h;
}

/** SameValueZero, as a Set compares its keys */
const sameId = (a: unknown, b: unknown): boolean => a === b || (a !== a && b !== b);

/**
 * The exact set of event ids of one tree's log (T10.1 dedupe), indexed by log position: an
 * open-addressing hash table of (hash of the id, position + 1) pairs in one Int32Array, a hash
 * match confirmed by comparing with the id of the logged event at that position (logged events
 * are never changed). Same answers as a `Set` of the ids, but it holds numbers only: nothing
 * extra for the garbage collector to trace or promote per event, and one probe touches one
 * small array instead of a large hash table of string pointers (a `Set.add` of a fresh id cost
 * ~2 µs in a running scheduler, ~10% of a parallel loop's CPU).
 */
class IdIndex {
  /** [hash, position + 1] per slot; position + 1 === 0 marks an empty slot */
  private table = new Int32Array(2 * 256);
  private mask = 255;
  private count = 0;

  constructor(private readonly events: readonly LoggedEvent[]) {}

  /** log position of the event with this id, or -1 */
  find(id: unknown): number {
    const h = hashId(id);
    const t = this.table;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const pos1 = t[2 * i + 1];
      if (pos1 === 0) return -1;
      if (t[2 * i] === h && sameId(this.events[pos1 - 1].event_id, id)) return pos1 - 1;
    }
  }

  /** Records `id` at log position `pos`; false (and nothing recorded) when the id is present. */
  add(id: unknown, pos: number): boolean {
    const h = hashId(id);
    const t = this.table;
    let i = h & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const pos1 = t[2 * i + 1];
      if (pos1 === 0) break;
      if (t[2 * i] === h && sameId(this.events[pos1 - 1].event_id, id)) return false;
    }
    t[2 * i] = h;
    t[2 * i + 1] = pos + 1;
    if (++this.count * 2 > this.mask + 1) this.grow();
    return true;
  }

  /** double the slots (load factor <= 1/2), re-inserting the stored hashes */
  private grow(): void {
    const old = this.table;
    const mask = this.mask * 2 + 1;
    const t = new Int32Array(2 * (mask + 1));
    for (let j = 0; j < old.length; j += 2) {
      if (old[j + 1] === 0) continue;
      let i = old[j] & mask;
      while (t[2 * i + 1] !== 0) i = (i + 1) & mask;
      t[2 * i] = old[j];
      t[2 * i + 1] = old[j + 1];
    }
    this.table = t;
    this.mask = mask;
  }
}

/**
 * The in-memory event log of embedded mode: one totally ordered log per execution tree (T1.3,
 * T10.2; a child execution shares its root's log), positions (`seq`) assigned on append starting
 * at 1, and dedupe by `event_id` (T10.1: a second event with a seen id is a no-op).
 */
export class EventLog {
  private readonly trees = new Map<string, TreeLog>();
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

  private treeOf(event: NoetlEvent): TreeLog {
    const root = event.root_execution_id || event.execution_id;
    let tree = this.trees.get(root);
    if (!tree) {
      const events: LoggedEvent[] = [];
      tree = { events, ids: new IdIndex(events) };
      this.trees.set(root, tree);
    }
    return tree;
  }

  /** T10.1: false when the id is already in the tree's log; else the id is recorded at the next position. */
  private claim(tree: TreeLog, eventId: string): boolean {
    return tree.ids.add(eventId, tree.events.length);
  }

  /** Stores at the position `claim` recorded (nothing is appended in between). */
  private store(tree: TreeLog, logged: LoggedEvent): LoggedEvent {
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
    const tree = this.trees.get(rootExecutionId);
    return tree !== undefined && tree.ids.find(eventId) >= 0;
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
