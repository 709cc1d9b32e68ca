/**
 * Deadline timers of the scheduler (step deadlines, execution deadline, cancel grace; runtime.md
 * §8.11, §11). The engine says *when*; this shell says *now*: at expiry it hands the timer back to
 * `onFire`, which turns it into an input event (`x.timer.fired`) for the scheduler. Timers are
 * keyed by a deterministic id, so setting the same timer twice (replay, re-processing) is a no-op.
 */
export interface TimerEntry<P = unknown> {
  id: string;
  /** expiry, epoch milliseconds */
  at: number;
  payload: P;
}

/** Longest single setTimeout Node accepts; longer delays are chained. */
const MAX_DELAY = 2_147_483_647;

export class TimerService<P = unknown> {
  private readonly timers = new Map<string, { entry: TimerEntry<P>; handle: NodeJS.Timeout }>();
  private closed = false;

  constructor(
    private readonly onFire: (entry: TimerEntry<P>) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Arms a timer. A timer with the same id that is already armed stays as it is (idempotent); a
   * timer whose time has passed fires on the next tick. Returns false when it was already armed.
   */
  set(id: string, at: number | string | Date, payload: P): boolean {
    if (this.closed || this.timers.has(id)) return false;
    const atMs = typeof at === 'number' ? at : new Date(at).getTime();
    if (!Number.isFinite(atMs)) throw new Error(`timer ${id}: invalid expiry ${String(at)}`);
    const entry: TimerEntry<P> = { id, at: atMs, payload };
    this.arm(entry);
    return true;
  }

  /** Disarms a timer (no-op when unknown or already fired). */
  clear(id: string): boolean {
    const t = this.timers.get(id);
    if (!t) return false;
    clearTimeout(t.handle);
    this.timers.delete(id);
    return true;
  }

  /** Disarms every timer whose entry matches (e.g. all timers of a finished execution). */
  clearWhere(pred: (e: TimerEntry<P>) => boolean): number {
    let n = 0;
    for (const [id, t] of [...this.timers]) {
      if (pred(t.entry)) {
        clearTimeout(t.handle);
        this.timers.delete(id);
        n++;
      }
    }
    return n;
  }

  has(id: string): boolean {
    return this.timers.has(id);
  }

  get size(): number {
    return this.timers.size;
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t.handle);
    this.timers.clear();
  }

  private arm(entry: TimerEntry<P>): void {
    const delay = Math.max(0, entry.at - this.now());
    const handle = setTimeout(() => {
      if (this.closed || this.timers.get(entry.id)?.entry !== entry) return;
      if (entry.at - this.now() > 0) {
        this.arm(entry); // chained long delay
        return;
      }
      this.timers.delete(entry.id);
      this.onFire(entry);
    }, Math.min(delay, MAX_DELAY));
    this.timers.set(entry.id, { entry, handle });
  }
}
