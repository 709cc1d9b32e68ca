/**
 * The in-memory message bus of embedded mode, with the mesh's message semantics (runtime.md §1.1):
 * a work queue (at-least-once, explicit ack, redelivery on ack-wait expiry or nak, max-deliver
 * with an advisory callback, message-id dedupe) and a control broadcast channel with durable
 * cancel flags (the `noetl_control` KV of the mesh).
 */

/** One delivery of a queued message. `deliveryCount` is the command's lease epoch (T2.3). */
export interface Delivery<T> {
  readonly id: string;
  readonly data: T;
  /** 1 for the first delivery, +1 for every redelivery */
  readonly deliveryCount: number;
  /** done: remove the message (work-queue retention). Ignored on a stale delivery. */
  ack(): void;
  /** redeliver after `delayMs` (counts toward max-deliver) */
  nak(delayMs?: number): void;
  /** still working: restart the ack-wait clock (in-progress ack, T9.1) */
  inProgress(): void;
  /** drop without redelivery and without the max-deliver advisory */
  term(): void;
}

/** Reported once when a message's last allowed delivery expired or was nakked (T8.14). */
export interface MaxDeliverAdvisory<T> {
  id: string;
  data: T;
  deliveries: number;
}

export interface WorkQueueOptions<T> {
  /** redeliver when a delivery is neither acked nor in-progress-acked for this long (default 60 s) */
  ackWaitMs?: number;
  /** deliveries before the message is dropped with an advisory (default 3) */
  maxDeliver?: number;
  onMaxDeliver?: (advisory: MaxDeliverAdvisory<T>) => void;
  /**
   * A second publish with the same id within this window is dropped (default 2 min). 0: only an
   * id still in the queue (not yet acked or terminated) is dropped, and no id is remembered after
   * that (nothing kept per finished message).
   */
  duplicateWindowMs?: number;
  /** clock for the duplicate window (tests) */
  now?: () => number;
}

interface Entry<T> {
  id: string;
  data: T;
  deliveries: number;
  /** ready for delivery not before this time (nak delay) */
  notBefore: number;
  /** while delivered: redelivery time (monotonic ms, `performance.now()`) unless acked or in-progress-acked */
  ackAt: number;
  /** links of the delivered list (see WorkQueue): intrusive, no allocation per delivery */
  prev: Entry<T> | null;
  next: Entry<T> | null;
  listed: boolean;
  delayTimer: NodeJS.Timeout | null;
  state: 'ready' | 'delayed' | 'delivered' | 'done';
}

interface Waiter<T> {
  resolve(d: Delivery<T> | null): void;
  signal?: AbortSignal;
}

interface EntryOps<T> {
  isCurrent(e: Entry<T>, epoch: number): boolean;
  finish(e: Entry<T>): void;
  redeliver(e: Entry<T>, delayMs: number): void;
  touch(e: Entry<T>): void;
}

/**
 * One delivery (a class: its methods live on the prototype instead of four closures per
 * delivery). Every method is a no-op once the delivery is stale: acked, terminated, redelivered
 * (a newer delivery owns the message) or the queue closed.
 */
class QueueDelivery<T> implements Delivery<T> {
  readonly id: string;
  readonly data: T;
  readonly #ops: EntryOps<T>;
  readonly #entry: Entry<T>;

  constructor(
    ops: EntryOps<T>,
    entry: Entry<T>,
    readonly deliveryCount: number,
  ) {
    this.id = entry.id;
    this.data = entry.data;
    this.#ops = ops;
    this.#entry = entry;
  }

  ack(): void {
    if (this.#ops.isCurrent(this.#entry, this.deliveryCount)) this.#ops.finish(this.#entry);
  }

  nak(delayMs = 0): void {
    if (this.#ops.isCurrent(this.#entry, this.deliveryCount)) this.#ops.redeliver(this.#entry, delayMs);
  }

  inProgress(): void {
    if (this.#ops.isCurrent(this.#entry, this.deliveryCount)) this.#ops.touch(this.#entry);
  }

  term(): void {
    if (this.#ops.isCurrent(this.#entry, this.deliveryCount)) this.#ops.finish(this.#entry);
  }
}

/**
 * A work queue with JetStream work-queue-consumer semantics.
 *
 * Hot-path notes: ack-wait expiry does not cost a Node timer per delivery. Every delivered message
 * sits in the delivered list (intrusive links on the entry); a delivery or an in-progress ack moves
 * it to the end with a deadline of now + ack-wait, so the list is ordered by deadline and ONE
 * timer, armed for the first entry, serves them all (an ack is an unlink). A consumer's abort
 * signal gets one listener for its whole life, not one per waiting `next()` call.
 */
export class WorkQueue<T> {
  private readonly ackWaitMs: number;
  private readonly maxDeliver: number;
  private readonly duplicateWindowMs: number;
  private readonly now: () => number;
  private readonly ready: Entry<T>[] = [];
  private readonly live = new Map<string, Entry<T>>();
  private readonly seen = new Map<string, number>();
  /** publish time of the oldest id in `seen` (insertion order = time order): prune only when it expired */
  private seenOldest = Number.POSITIVE_INFINITY;
  private readonly waiters: Waiter<T>[] = [];
  /** delivered entries, in ack-deadline order (see the class comment) */
  private head: Entry<T> | null = null;
  private tail: Entry<T> | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  /** signals of consumers that already have an abort listener */
  private readonly watched = new WeakSet<AbortSignal>();
  private closed = false;

  constructor(private readonly opts: WorkQueueOptions<T> = {}) {
    this.ackWaitMs = opts.ackWaitMs ?? 60_000;
    this.maxDeliver = opts.maxDeliver ?? 3;
    this.duplicateWindowMs = opts.duplicateWindowMs ?? 120_000;
    this.now = opts.now ?? Date.now;
  }

  /** Enqueues a message. Returns false (and drops it) when `id` was published within the duplicate window. */
  publish(id: string, data: T): boolean {
    if (this.closed) return false;
    if (this.duplicateWindowMs > 0) {
      const t = this.now();
      this.pruneSeen(t);
      if (this.seen.has(id)) return false;
      if (this.seen.size === 0) this.seenOldest = t;
      this.seen.set(id, t);
    } else if (this.live.has(id)) {
      return false;
    }
    const e: Entry<T> = { id, data, deliveries: 0, notBefore: 0, ackAt: 0, prev: null, next: null, listed: false, delayTimer: null, state: 'ready' };
    this.live.set(id, e);
    this.ready.push(e);
    this.pump();
    return true;
  }

  /**
   * The next delivery (FIFO). Waits while the queue is empty; resolves null when the queue is
   * closed or `signal` aborts.
   */
  next(signal?: AbortSignal): Promise<Delivery<T> | null> {
    if (this.closed || signal?.aborted) return Promise.resolve(null);
    if (this.waiters.length === 0) {
      // a message is ready and nobody waits before us: deliver at once (what pump() would do for
      // this waiter), without a waiter record and an abort listener added and removed again
      const e = this.takeReady();
      if (e) return Promise.resolve(this.deliver(e));
    }
    return new Promise((resolve) => {
      this.waiters.push({ resolve, signal });
      if (signal && !this.watched.has(signal)) {
        this.watched.add(signal);
        signal.addEventListener('abort', () => this.dropWaiters(signal), { once: true });
      }
      this.pump();
    });
  }

  /** an aborted consumer signal: its waiting `next()` calls resolve null */
  private dropWaiters(signal: AbortSignal): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w.signal !== signal) continue;
      this.waiters.splice(i, 1);
      w.resolve(null);
    }
  }

  /** Messages not yet acked/terminated (ready, delayed or delivered). */
  get size(): number {
    return this.live.size;
  }

  /** Messages currently delivered and awaiting ack. */
  get inFlight(): number {
    let n = 0;
    for (const e of this.live.values()) if (e.state === 'delivered') n++;
    return n;
  }

  /** Stops deliveries and timers; pending `next()` calls resolve null. Unacked messages are dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const e of this.live.values()) this.clearTimers(e);
    this.live.clear();
    this.head = null;
    this.tail = null;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.ready.length = 0;
    for (const w of this.waiters.splice(0)) w.resolve(null);
  }

  private pump(): void {
    while (!this.closed && this.waiters.length > 0 && this.ready.length > 0) {
      const e = this.ready.shift() as Entry<T>;
      if (e.state !== 'ready') continue;
      const w = this.waiters.shift() as Waiter<T>;
      w.resolve(this.deliver(e));
    }
  }

  /** The first ready entry (FIFO), skipping stale queue slots; null when none is ready. */
  private takeReady(): Entry<T> | null {
    while (!this.closed && this.ready.length > 0) {
      const e = this.ready.shift() as Entry<T>;
      if (e.state === 'ready') return e;
    }
    return null;
  }

  private deliver(e: Entry<T>): Delivery<T> {
    e.deliveries += 1;
    e.state = 'delivered';
    this.armAckTimer(e);
    return new QueueDelivery(this.ops, e, e.deliveries);
  }

  /** What a delivery may do to its entry (bound once per queue, not per delivery). */
  private readonly ops: EntryOps<T> = {
    // an entry leaves 'delivered' when finished or redelivered (a republished id is a new entry)
    isCurrent: (e, epoch) => e.state === 'delivered' && e.deliveries === epoch && !this.closed,
    finish: (e) => this.finish(e),
    redeliver: (e, delayMs) => this.redeliverOrGiveUp(e, delayMs),
    touch: (e) => this.armAckTimer(e),
  };

  /** (re)starts the ack-wait clock of a delivered entry: it moves to the end of `delivered` */
  private armAckTimer(e: Entry<T>): void {
    e.ackAt = performance.now() + this.ackWaitMs;
    this.unlist(e);
    e.prev = this.tail;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    e.listed = true;
    // an armed timer is due at or before this deadline (deadlines only grow along the Set)
    if (this.ackTimer === null) this.ackTimer = setTimeout(this.onAckTimer, this.ackWaitMs);
  }

  /** redelivers every delivery whose ack wait expired, then re-arms for the next deadline */
  private readonly onAckTimer = (): void => {
    this.ackTimer = null;
    if (this.closed) return;
    const now = performance.now();
    const expired: Entry<T>[] = [];
    for (let e = this.head; e !== null && e.ackAt <= now; e = e.next) expired.push(e);
    for (const e of expired) {
      this.unlist(e);
      if (e.state === 'delivered') this.redeliverOrGiveUp(e, 0);
    }
    // for the earliest remaining deadline (a redelivery above may have armed a timer for a later one)
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.closed || this.head === null) return;
    this.ackTimer = setTimeout(this.onAckTimer, Math.max(1, Math.ceil(this.head.ackAt - now)));
  };

  /** removes an entry from the delivered list (no-op when not in it) */
  private unlist(e: Entry<T>): void {
    if (!e.listed) return;
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = null;
    e.next = null;
    e.listed = false;
  }

  private redeliverOrGiveUp(e: Entry<T>, delayMs: number): void {
    this.clearTimers(e);
    if (e.deliveries >= this.maxDeliver) {
      this.finish(e);
      this.opts.onMaxDeliver?.({ id: e.id, data: e.data, deliveries: e.deliveries });
      return;
    }
    if (delayMs > 0) {
      e.state = 'delayed';
      e.notBefore = this.now() + delayMs;
      e.delayTimer = setTimeout(() => {
        e.delayTimer = null;
        if (e.state !== 'delayed') return;
        e.state = 'ready';
        this.ready.push(e);
        this.pump();
      }, delayMs);
    } else {
      e.state = 'ready';
      this.ready.push(e);
      this.pump();
    }
  }

  private finish(e: Entry<T>): void {
    this.clearTimers(e);
    e.state = 'done';
    this.live.delete(e.id);
  }

  private clearTimers(e: Entry<T>): void {
    this.unlist(e);
    if (e.delayTimer) {
      clearTimeout(e.delayTimer);
      e.delayTimer = null;
    }
  }

  private pruneSeen(t: number): void {
    if (t - this.seenOldest < this.duplicateWindowMs) return; // nothing expired yet (no iterator per publish)
    this.seenOldest = Number.POSITIVE_INFINITY;
    for (const [id, at] of this.seen) {
      if (t - at < this.duplicateWindowMs) {
        this.seenOldest = at; // insertion order = time order
        break;
      }
      this.seen.delete(id);
    }
  }
}

/**
 * Control channel: broadcast of control messages (core subject `noetl.ctl.cancel.<id>`) plus
 * durable cancel flags (KV `cancel.<execution_id>`), so a worker that picks a command up after the
 * broadcast still sees the cancellation (runtime.md §9.1, §11).
 */
export class ControlChannel<M extends { type: string; execution_id: string }> {
  private readonly subscribers = new Set<(m: M) => void>();
  private readonly flags = new Map<string, M>();

  /** Delivers `m` to every current subscriber (synchronously, in subscription order). */
  publish(m: M): void {
    for (const s of [...this.subscribers]) {
      try {
        s(m);
      } catch {
        // a failing subscriber must not stop the broadcast
      }
    }
  }

  subscribe(fn: (m: M) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** Sets the durable flag for an execution (first message wins). */
  setFlag(m: M): void {
    if (!this.flags.has(m.execution_id)) this.flags.set(m.execution_id, m);
  }

  flag(executionId: string): M | undefined {
    return this.flags.get(executionId);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  close(): void {
    this.subscribers.clear();
  }
}
