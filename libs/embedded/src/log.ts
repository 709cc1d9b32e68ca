import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEvent, type LoggedEvent, type NoetlEvent } from '@noetl/events';

/**
 * Events of one tree kept in memory by default (the tail). Older events live serialized in the
 * tree's spill file. ~0.5 KB of heap per noop-sized event: ~4 MiB.
 */
export const DEFAULT_MEMORY_EVENTS = 8192;
/** Estimated JSON size of one tree's in-memory tail above which it spills, whatever its event count (large results). */
export const DEFAULT_MEMORY_BYTES = 32 * 1024 * 1024;
/** Events serialized per spill (at most; half the tail when that is smaller): the unit of a random read back. */
const SPILL_CHUNK = 1024;
/** Every SAMPLE_EVERY-th appended event is measured as JSON (the size estimate behind `memoryBytes`). */
const SAMPLE_EVERY = 512;
/** The reusable encode buffer of the spill files (one per log). */
const SPILL_BUFFER_BYTES = 256 * 1024;

export interface EventLogOptions {
  /**
   * Newest events per tree kept in memory as objects (default DEFAULT_MEMORY_EVENTS; Infinity:
   * never spill). When a tree's tail reaches this many events, its oldest 1,024 (or half, if
   * smaller) are appended to the tree's spill file as JSON lines and dropped from memory, so a long
   * run costs a bounded amount of memory plus the dedupe index (16–24 B per event).
   */
  memoryEvents?: number;
  /**
   * Bound on a tree's tail by size (default DEFAULT_MEMORY_BYTES): the tail also spills once its
   * estimated JSON size exceeds this, so events carrying large inline results cannot make a
   * count-bounded tail large. The estimate is the mean size of sampled and spilled events.
   */
  memoryBytes?: number;
  /** directory for spill files (default: a fresh directory under the OS temp dir, removed by `close()`) */
  spillDir?: string;
}

/**
 * The two 32-bit hashes of the last `hashId` call (its first result is also returned): one scratch
 * pair rather than an array per call, since hashing runs once per appended event.
 */
const HASHES = new Int32Array(2);

/** `Math.imul` bound once: a global lookup per step is ~10x slower inside a vm context (the jest sandbox) */
const imul = Math.imul;

/** murmur3's fmix32: full avalanche of a lane's final state */
function fmix(h: number): number {
  h = imul(h ^ (h >>> 16), 0x85ebca6b);
  h = imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Two independent 32-bit hashes of an event id (non-strings: of their string form), into
 * `HASHES`; returns the first. Each lane is murmur3-style block mixing over 32-bit blocks of two
 * UTF-16 code units (lossless, ids are 40–80 characters), with its own constants (murmur3's for
 * the first, xxHash32's primes and other rotations for the second), and its own final mix. On ids
 * of a 1M-iteration loop (~6M ids that differ in a few digits) each lane collides like a random
 * 32-bit hash and no two ids agree on both. One pass for both lanes: ~0.1 µs for a 60-char id.
 */
export function hashId(id: unknown): number {
  const s = typeof id === 'string' ? id : String(id);
  const n = s.length;
  let h1 = 0x9747b28c | 0;
  let h2 = 0x2545f491 | 0;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    const c = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
    let a = imul(c, 0xcc9e2d51);
    a = imul((a << 15) | (a >>> 17), 0x1b873593);
    h1 ^= a;
    h1 = (imul((h1 << 13) | (h1 >>> 19), 5) + 0xe6546b64) | 0;
    let b = imul(c, 0x85ebca77);
    b = imul((b << 13) | (b >>> 19), 0xc2b2ae3d);
    h2 ^= b;
    h2 = (imul((h2 << 17) | (h2 >>> 15), 9) + 0x27d4eb2f) | 0;
  }
  if (i < n) {
    const c = s.charCodeAt(i);
    const a = imul(c, 0xcc9e2d51);
    h1 ^= imul((a << 15) | (a >>> 17), 0x1b873593);
    const b = imul(c, 0x85ebca77);
    h2 ^= imul((b << 13) | (b >>> 19), 0xc2b2ae3d);
  }
  const r = fmix(h1 ^ n);
  HASHES[0] = r;
  HASHES[1] = fmix(h2 ^ n);
  return r;
}

/** @internal both hashes of an id, as `IdIndex` uses them (for tests and measurements) */
export function idHashes(id: unknown): [number, number] {
  hashId(id);
  return [HASHES[0], HASHES[1]];
}

/** SameValueZero, as a Set compares its keys */
const sameId = (a: unknown, b: unknown): boolean => a === b || (a !== a && b !== b);

/** positions per page of the per-position hash arrays (64 KiB per page and hash) */
const PAGE_BITS = 14;
const PAGE = 1 << PAGE_BITS;
const PAGE_MASK = PAGE - 1;

/**
 * The exact set of event ids of one tree's log (T10.1 dedupe), indexed by log position, in typed
 * arrays only: `slots` is an open-addressing table of position + 1 (0 = empty, load <= 1/2) and
 * `h1`/`h2` hold the two independent 32-bit hashes of the id at each position (`hashId`), in pages
 * of PAGE positions (the first page grows by doubling; later ones are allocated whole, so nothing
 * is copied as the log grows and at most one page is unused). A probe compares both hashes — 64
 * bits — and only a match is confirmed against the id of the logged event at that position
 * (`idAt`: the in-memory tail, or the spill file for an old event). With one 32-bit hash, the
 * colliding pairs grew with n² (each a chunk read back from the spill file: big loops slowed down
 * super-linearly); with 64 bits a confirmation is practically only a real duplicate. Same answers
 * as a `Set` of the ids, at 16–24 bytes per event (8 for the hashes, 8–16 for the slots) and
 * nothing for the garbage collector to trace (a `Set.add` of a fresh id string cost ~2 µs in a
 * running scheduler and kept every id string alive).
 */
export class IdIndex { // exported for tests only (not in the package index)
  private slots = new Int32Array(256);
  private mask = 255;
  private count = 0;
  private readonly h1: Int32Array[] = [new Int32Array(256)];
  private readonly h2: Int32Array[] = [new Int32Array(256)];

  /**
   * @param idAt the id logged at a position (called only when both hashes match)
   * @param hash `hashId` (tests substitute a colliding one): returns the first hash and leaves
   *   both in HASHES
   */
  constructor(
    private readonly idAt: (pos: number) => unknown,
    private readonly hash: (id: unknown) => number = hashId,
  ) {}

  /** log position of the event with this id, or -1 */
  find(id: unknown): number {
    const h = this.hash(id);
    const g = HASHES[1];
    const slots = this.slots;
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      const pos1 = slots[i];
      if (pos1 === 0) return -1;
      if (this.matches(pos1 - 1, h, g, id)) return pos1 - 1;
    }
  }

  /** Records `id` at log position `pos` (the next one); false (and nothing recorded) when the id is present. */
  add(id: unknown, pos: number): boolean {
    const h = this.hash(id);
    const g = HASHES[1];
    const slots = this.slots;
    let i = h & this.mask;
    for (; ; i = (i + 1) & this.mask) {
      const pos1 = slots[i];
      if (pos1 === 0) break;
      if (this.matches(pos1 - 1, h, g, id)) return false;
    }
    const page = pos >>> PAGE_BITS;
    const at = pos & PAGE_MASK;
    if (page >= this.h1.length || at >= this.h1[page].length) this.growHashes(page, at);
    this.h1[page][at] = h;
    this.h2[page][at] = g;
    slots[i] = pos + 1;
    if (++this.count * 2 > this.mask + 1) this.growSlots();
    return true;
  }

  private matches(pos: number, h: number, g: number, id: unknown): boolean {
    const page = pos >>> PAGE_BITS;
    const at = pos & PAGE_MASK;
    return this.h1[page][at] === h && this.h2[page][at] === g && sameId(this.idAt(pos), id);
  }

  /** room for position `at` of page `page`: the first page doubles up to PAGE, then whole pages are added */
  private growHashes(page: number, at: number): void {
    if (page === 0) {
      let n = this.h1[0].length * 2;
      while (n <= at) n *= 2;
      n = Math.min(n, PAGE);
      for (const hs of [this.h1, this.h2]) {
        const t = new Int32Array(n);
        t.set(hs[0]);
        hs[0] = t;
      }
      return;
    }
    if (this.h1[0].length < PAGE) this.growHashes(0, PAGE_MASK);
    while (this.h1.length <= page) {
      this.h1.push(new Int32Array(PAGE));
      this.h2.push(new Int32Array(PAGE));
    }
  }

  /** double the slots (load factor <= 1/2), re-inserting the stored positions by their first hashes */
  private growSlots(): void {
    const old = this.slots;
    const mask = this.mask * 2 + 1;
    const t = new Int32Array(mask + 1);
    const h1 = this.h1;
    for (let j = 0; j < old.length; j++) {
      const pos1 = old[j];
      if (pos1 === 0) continue;
      const pos = pos1 - 1;
      let i = h1[pos >>> PAGE_BITS][pos & PAGE_MASK] & mask;
      while (t[i] !== 0) i = (i + 1) & mask;
      t[i] = pos1;
    }
    this.slots = t;
    this.mask = mask;
  }
}

/**
 * The spilled part of one tree's log: an append-only file of JSON lines (each line is exactly
 * `JSON.stringify` of the logged event, `seq` included), written in chunks of `chunk` events whose
 * byte offsets are kept so that one old event can be read back without scanning the file. Lines are
 * encoded into one reusable buffer and written when it fills: no chunk-sized string or buffer is
 * ever allocated (multi-MB temporaries are what made the process RSS creep up with every spill).
 */
class SpillFile {
  private readonly fd: number;
  private closed = false;
  /** byte offset where each chunk starts; the last entry is the end of the file */
  private readonly offsets: number[] = [0];
  /** log position of each chunk's first event; the last entry is the number of spilled events */
  private readonly firsts: number[] = [0];
  /** bytes written so far, plus those waiting in `buf` */
  private size = 0;
  private pending = 0;

  constructor(
    readonly path: string,
    private readonly buf: Buffer,
  ) {
    this.fd = openSync(path, 'w+');
  }

  /**
   * The lines of the chunk `line` read last: confirming ids against the same old chunk again (a
   * burst of redelivered events, a hash match) reads and splits it once. Chunks are never
   * rewritten, so only `close()` invalidates it.
   */
  private cachedChunk = -1;
  private cachedLines: string[] | null = null;

  /** the spilled event at log position `pos`, as its JSON line (its chunk is read once and cached) */
  line(pos: number): string {
    const f = this.firsts;
    let lo = 0;
    let hi = f.length - 2; // the chunk i with f[i] <= pos < f[i + 1]
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (f[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    if (this.cachedChunk !== lo) {
      this.cachedLines = this.lines(lo);
      this.cachedChunk = lo;
    }
    return (this.cachedLines as string[])[pos - f[lo]];
  }

  /** appends one line (`text` ends with a newline) to the current chunk */
  writeLine(text: string): void {
    const room = this.buf.length - this.pending;
    if (text.length * 3 <= room) {
      this.pending += this.buf.write(text, this.pending, 'utf8');
      return;
    }
    this.flush();
    if (text.length * 3 <= this.buf.length) this.pending = this.buf.write(text, 0, 'utf8');
    else this.writeAll(Buffer.from(text, 'utf8')); // a line larger than the buffer: written as is
  }

  /** ends the current chunk of `count` events (its lines are on disk and its end offset recorded) */
  endChunk(count: number): void {
    this.flush();
    this.offsets.push(this.size);
    this.firsts.push(this.firsts[this.firsts.length - 1] + count);
  }

  private flush(): void {
    if (this.pending === 0) return;
    const n = this.pending;
    this.pending = 0;
    this.writeAll(this.buf.subarray(0, n));
  }

  private writeAll(b: Buffer): void {
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off, this.size + off);
    this.size += b.length;
  }

  /** the lines of chunk `i` */
  lines(i: number): string[] {
    if (this.closed) throw new Error('the event log is closed: its spilled events were removed');
    const start = this.offsets[i];
    const buf = Buffer.allocUnsafe(this.offsets[i + 1] - start);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(this.fd, buf, off, buf.length - off, start + off);
      if (n === 0) throw new Error(`event log spill file ${this.path} is truncated`);
      off += n;
    }
    const text = buf.toString('utf8');
    return text.slice(0, -1).split('\n');
  }

  /** number of chunks written */
  get chunks(): number {
    return this.offsets.length - 1;
  }

  /** every spilled event, in log order */
  readAll(): LoggedEvent[] {
    const out: LoggedEvent[] = [];
    for (let i = 0; i + 1 < this.offsets.length; i++) for (const line of this.lines(i)) out.push(JSON.parse(line) as LoggedEvent);
    return out;
  }

  /** the file's text (JSON lines) */
  text(): string {
    let s = '';
    for (let i = 0; i + 1 < this.offsets.length; i++) s += `${this.lines(i).join('\n')}\n`;
    return s;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cachedChunk = -1;
    this.cachedLines = null;
    closeSync(this.fd);
  }
}

const EXECUTION_KEY = '"execution_id":"';

/**
 * Whether a logged event's JSON line is of `executionId`: the first `"execution_id":"` of the line
 * is the envelope's (it precedes `payload`, and inside a JSON string every quote is escaped).
 */
function envelopeExecutionIs(line: string, executionId: string): boolean {
  const at = line.indexOf(EXECUTION_KEY);
  if (at < 0) return false;
  const from = at + EXECUTION_KEY.length;
  return line.startsWith(executionId, from) && line.charCodeAt(from + executionId.length) === 34; // closing quote
}

class TreeLog {
  /** the newest events, at positions base .. base + tail.length - 1 */
  tail: LoggedEvent[] = [];
  /** events before the tail (in the spill file) */
  base = 0;
  spill: SpillFile | null = null;
  readonly ids: IdIndex;
  /** executions with events in this tree: one (the root) unless it has children */
  readonly executions = new Set<string>();

  constructor(readonly root: string) {
    this.ids = new IdIndex((pos) => this.idAt(pos));
  }

  get length(): number {
    return this.base + this.tail.length;
  }

  /** the event id at a log position (a spilled one is read back from its chunk) */
  idAt(pos: number): unknown {
    if (pos >= this.base) return this.tail[pos - this.base].event_id;
    return (JSON.parse((this.spill as SpillFile).line(pos)) as { event_id?: unknown }).event_id;
  }

  /**
   * The JSON text of each event of `executionId` (null: every event of the tree), in log order:
   * spilled lines as written, one chunk in memory at a time; tail events serialized.
   */
  *jsonLines(executionId: string | null): Generator<string> {
    const mine = executionId === null || this.executions.size === 1 ? null : executionId;
    const spill = this.spill;
    if (spill !== null) {
      for (let i = 0; i < spill.chunks; i++) for (const line of spill.lines(i)) if (mine === null || envelopeExecutionIs(line, mine)) yield line;
    }
    for (const e of this.tail) if (mine === null || e.execution_id === mine) yield JSON.stringify(e);
  }

  /** Each event of `executionId` (null: the whole tree), in log order; spilled ones parsed back one chunk at a time. */
  *iterate(executionId: string | null): Generator<LoggedEvent> {
    const mine = executionId === null || this.executions.size === 1 ? null : executionId;
    const spill = this.spill;
    if (spill !== null) {
      for (let i = 0; i < spill.chunks; i++) {
        for (const line of spill.lines(i)) if (mine === null || envelopeExecutionIs(line, mine)) yield JSON.parse(line) as LoggedEvent;
      }
    }
    for (const e of this.tail) if (mine === null || e.execution_id === mine) yield e;
  }

  /** every event, in log order: the spilled ones parsed back, then the tail (a copy when anything was spilled) */
  all(): readonly LoggedEvent[] {
    if (this.spill === null) return this.tail;
    const out = this.spill.readAll();
    for (const e of this.tail) out.push(e);
    return out;
  }
}

/**
 * The event log of embedded mode: one totally ordered log per execution tree (T1.3, T10.2; a child
 * execution shares its root's log), positions (`seq`) assigned on append starting at 1, and
 * dedupe by `event_id` (T10.1: a second event with a seen id is a no-op).
 *
 * Memory is bounded (issue #4: memory must not grow with completed work): each tree keeps its
 * newest `memoryEvents` events as objects; beyond that its oldest events are serialized once, as
 * the JSON lines `--events-out` writes, to the tree's spill file and dropped from memory. Reading a
 * tree or an execution back (`tree`, `events`, `toJsonl`) parses the spilled lines again — those
 * reads are for the end of a run (`--json`, `--events-out`, documents), not for the hot path.
 * The dedupe index stays exact for every event of the tree (see IdIndex). `close()` removes
 * the spill files.
 */
export class EventLog {
  private readonly trees = new Map<string, TreeLog>();
  /** execution id -> its tree */
  private readonly treeOfExec = new Map<string, TreeLog>();
  private readonly listeners = new Set<(e: LoggedEvent) => void>();
  private readonly memoryEvents: number;
  private readonly memoryBytes: number;
  /** estimated mean JSON size of an event (0 until the first sample) */
  private meanBytes = 0;
  private appended = 0;
  private spillDir: string | null;
  private ownSpillDir = false;
  private spillDirReady = false;
  private spills = 0;
  private spillBuf: Buffer | null = null;
  private closed = false;
  /** the tree of the last appended event and its execution id (see treeOf) */
  private lastExec: string | null = null;
  private lastTree: TreeLog | null = null;

  constructor(opts: EventLogOptions = {}) {
    const m = opts.memoryEvents ?? DEFAULT_MEMORY_EVENTS;
    this.memoryEvents = m === Number.POSITIVE_INFINITY ? m : Math.max(2, Math.floor(m));
    this.memoryBytes = this.memoryEvents === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : Math.max(1, opts.memoryBytes ?? DEFAULT_MEMORY_BYTES);
    this.spillDir = opts.spillDir ?? null;
  }

  /**
   * Appends an event to its tree's log (keyed by `root_execution_id`). Returns the logged event
   * with its `seq`, or null when an event with the same `event_id` is already in that log.
   */
  append(event: NoetlEvent): LoggedEvent | null {
    const tree = this.treeOf(event);
    if (!tree.ids.add(event.event_id, tree.length)) return null;
    return this.store(tree, { ...event, seq: tree.length + 1 } as LoggedEvent);
  }

  /**
   * `append` for an event object the caller hands over: no other code reuses it or reads it in a
   * way a `seq` property would disturb (the embedded scheduler's inbox events, which it created;
   * the events `processEvent` just returned, which the engine does not keep). The log stores that
   * object with `seq` added instead of a copy: the same logged event, one ~20-key object per event
   * less to allocate and collect. A duplicate is dropped and left untouched; a frozen or sealed
   * object is copied.
   */
  adopt(event: NoetlEvent): LoggedEvent | null {
    const tree = this.treeOf(event);
    if (!tree.ids.add(event.event_id, tree.length)) return null;
    const seq = tree.length + 1;
    const logged = event as LoggedEvent & { seq: number | undefined };
    if (logged.seq === undefined) {
      try {
        logged.seq = seq;
      } catch {
        // frozen or sealed: copied below
      }
      if (logged.seq === seq) return this.store(tree, logged);
    }
    return this.store(tree, { ...event, seq } as LoggedEvent);
  }

  private treeOf(event: NoetlEvent): TreeLog {
    // consecutive events almost always belong to the same execution: no Map/Set lookups then
    const exec = event.execution_id;
    const root = event.root_execution_id || exec;
    if (exec === this.lastExec && this.lastTree !== null && root === this.lastTree.root) return this.lastTree;
    let tree = this.trees.get(root);
    if (tree === undefined) {
      tree = new TreeLog(root);
      this.trees.set(root, tree);
    }
    if (!tree.executions.has(exec)) {
      tree.executions.add(exec);
      this.treeOfExec.set(exec, tree);
    }
    this.lastExec = exec;
    this.lastTree = tree;
    return tree;
  }

  /** Stores at the position the id index recorded (nothing is appended in between). */
  private store(tree: TreeLog, logged: LoggedEvent): LoggedEvent {
    tree.tail.push(logged);
    if (this.listeners.size > 0) this.notify(logged);
    if (this.memoryEvents !== Number.POSITIVE_INFINITY) {
      if (this.appended++ % SAMPLE_EVERY === 0) this.sample(logged);
      const n = tree.tail.length;
      if (n >= this.memoryEvents || n * this.meanBytes > this.memoryBytes) this.spillOldest(tree);
    }
    return logged;
  }

  /** one measured event into the running mean size */
  private sample(e: LoggedEvent): void {
    const bytes = JSON.stringify(e).length;
    this.meanBytes = this.meanBytes === 0 ? bytes : this.meanBytes * 0.875 + bytes * 0.125;
  }

  /**
   * Serializes the oldest events of the tail (SPILL_CHUNK, or half the tail when that is smaller)
   * to the tree's spill file and drops them; their exact sizes refine the mean.
   */
  private spillOldest(tree: TreeLog): void {
    if (this.closed) return;
    const tail = tree.tail;
    const n = Math.max(1, Math.min(SPILL_CHUNK, tail.length >> 1));
    if (tree.spill === null) tree.spill = new SpillFile(join(this.dir(), `${++this.spills}.jsonl`), (this.spillBuf ??= Buffer.allocUnsafe(SPILL_BUFFER_BYTES)));
    let chars = 0;
    for (let i = 0; i < n; i++) {
      const line = `${JSON.stringify(tail[i])}\n`;
      chars += line.length;
      tree.spill.writeLine(line);
    }
    tree.spill.endChunk(n);
    const mean = chars / n;
    this.meanBytes = this.meanBytes === 0 ? mean : (this.meanBytes + mean) / 2;
    tree.tail = tail.slice(n);
    tree.base += n;
  }

  private dir(): string {
    if (this.spillDir === null) {
      this.spillDir = mkdtempSync(join(tmpdir(), 'noetl-events-'));
      this.ownSpillDir = true;
    } else if (!this.spillDirReady) {
      mkdirSync(this.spillDir, { recursive: true });
    }
    this.spillDirReady = true;
    return this.spillDir;
  }

  private notify(logged: LoggedEvent): void {
    // a Set iterates safely while listeners (un)subscribe; no array copy per event
    for (const l of this.listeners) {
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
    const tree = this.treeOfExec.get(executionId);
    if (tree === undefined) return [];
    const all = tree.all();
    return tree.executions.size === 1 ? all : all.filter((e) => e.execution_id === executionId);
  }

  /**
   * Events of one execution (not its children), in log order, as a lazy sequence: spilled events
   * are parsed back one chunk at a time, so a long run can be walked without holding its log.
   */
  iterate(executionId: string): Iterable<LoggedEvent> {
    const tree = this.treeOfExec.get(executionId);
    return tree === undefined ? [] : tree.iterate(executionId);
  }

  /** `iterate`, as each event's JSON text (spilled lines reused as written). */
  jsonLines(executionId: string): Iterable<string> {
    const tree = this.treeOfExec.get(executionId);
    return tree === undefined ? [] : tree.jsonLines(executionId);
  }

  /** Every event of an execution tree (root and descendants), in log order. */
  tree(rootExecutionId: string): readonly LoggedEvent[] {
    return this.trees.get(rootExecutionId)?.all() ?? [];
  }

  /** Number of events in a tree's log (= its last seq). */
  length(rootExecutionId: string): number {
    return this.trees.get(rootExecutionId)?.length ?? 0;
  }

  /** Events of a tree that live in its spill file rather than in memory. */
  spilled(rootExecutionId: string): number {
    return this.trees.get(rootExecutionId)?.base ?? 0;
  }

  /** Observes every appended event (after it is stored). */
  subscribe(fn: (e: LoggedEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Serializes a tree's log as JSON lines (one event per line, with `seq`); spilled lines are reused as written. */
  toJsonl(rootExecutionId: string): string {
    const tree = this.trees.get(rootExecutionId);
    if (tree === undefined) return '';
    const head = tree.spill?.text() ?? '';
    return head + tree.tail.map((e) => `${JSON.stringify(e)}\n`).join('');
  }

  /**
   * Closes and removes the spill files (and the spill directory the log created). The log stays
   * readable for what is still in memory; spilled events are gone. Idempotent.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const tree of this.trees.values()) {
      if (tree.spill === null) continue;
      try {
        tree.spill.close();
        rmSync(tree.spill.path, { force: true });
      } catch {
        // best effort: a temp file left behind is not worth failing close()
      }
    }
    if (this.ownSpillDir && this.spillDir !== null) rmSync(this.spillDir, { recursive: true, force: true });
  }
}

export interface ParseJsonlOptions {
  /**
   * Called (and the line dropped) when the last line is cut short: not valid JSON and not ended by
   * a newline — what a run that was killed while writing its log leaves. Without it, an error.
   */
  onTruncatedTail?: (line: number) => void;
}

/**
 * Parses a saved JSON-lines log (`--events-out`): the boundary where bytes become events, so each
 * line is validated with `parseEvent` (envelope + required payload fields). Blank lines are
 * skipped; well-formed events of unknown types are ignored (T6.1); events without a `seq` get
 * their position. Throws with the line number on malformed input.
 */
export function parseJsonl(text: string, opts: ParseJsonlOptions = {}): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  const lines = text.split(/\r?\n/);
  const unterminated = !text.endsWith('\n');
  lines.forEach((line, i) => parseLine(line, i + 1, unterminated && i === lines.length - 1, opts, out));
  return out;
}

/** One line of a saved log into `out` (see parseJsonl); `last`: the file's last line, without a newline. */
function parseLine(line: string, lineNo: number, lastUnterminated: boolean, opts: ParseJsonlOptions, out: LoggedEvent[]): void {
  if (!line.trim()) return;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    if (lastUnterminated && opts.onTruncatedTail) {
      opts.onTruncatedTail(lineNo);
      return;
    }
    throw new Error(`line ${lineNo}: ${(e as Error).message}`);
  }
  let ev: NoetlEvent | null;
  try {
    ev = parseEvent(v);
  } catch (e) {
    throw new Error(`line ${lineNo}: ${(e as Error).message}`);
  }
  if (ev === null) return;
  const seq = (v as { seq?: unknown }).seq;
  out.push({ ...ev, seq: typeof seq === 'number' ? seq : out.length + 1 } as LoggedEvent);
}

/**
 * `parseJsonl` of a file, read in 1 MiB chunks: a log larger than a JavaScript string can hold
 * (~512 MiB, a run of ~500,000 events) is read line by line. I/O errors are thrown as they are.
 */
export function readJsonlFile(path: string, opts: ParseJsonlOptions = {}): LoggedEvent[] {
  const out: LoggedEvent[] = [];
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    const decoder = new StringDecoder('utf8');
    let rest = '';
    let lineNo = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      const text = rest + decoder.write(buf.subarray(0, n));
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        const end = nl > from && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl; // \r\n
        parseLine(text.slice(from, end), ++lineNo, false, opts, out);
        from = nl + 1;
      }
      rest = text.slice(from);
    }
    rest += decoder.end();
    if (rest !== '') parseLine(rest, ++lineNo, true, opts, out);
  } finally {
    closeSync(fd);
  }
  return out;
}
