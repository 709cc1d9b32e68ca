/**
 * Cheap abort plumbing for the per-command hot path. On Node 20 an `AbortController` costs several
 * µs to create and `addEventListener`/`removeEventListener` on an `AbortSignal` about a µs each;
 * a command used to pay for one controller and four listener calls even though almost no command
 * is ever cancelled and most tools never look at their signal.
 */

/**
 * The abort side of a tool's `ToolContext.signal`, with the `AbortController` made only when a
 * tool reads the signal, and linked to the delivery's signal only then: aborting it before that
 * records the reason, and a signal materialized later starts aborted (with that reason, or the
 * delivery's if the delivery was cancelled meanwhile), so a tool sees the same state either way.
 * A command whose tools never read their signal costs one small object, no listener.
 */
export class LazyAbort {
  #controller: AbortController | null = null;
  #aborted = false;
  #reason: unknown = undefined;
  #forward: (() => void) | null = null;

  /** `parent`: the delivery's signal (its abort reaches the tool's signal) */
  constructor(private readonly parent: AbortSignal) {}

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (!this.#aborted && this.parent.aborted) this.abort(this.parent.reason);
      if (this.#aborted) this.#controller.abort(this.#reason);
      else {
        const parent = this.parent;
        this.#forward = () => this.abort(parent.reason);
        onAbort(parent, this.#forward);
      }
    }
    return this.#controller.signal;
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Idempotent: the first reason wins (as AbortController.abort). */
  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.release();
    this.#controller?.abort(reason);
  }

  /** unlinks from the delivery's signal (the command is over, or this signal was replaced) */
  release(): void {
    if (this.#forward === null) return;
    offAbort(this.parent, this.#forward);
    this.#forward = null;
  }
}

/** callbacks per watched signal; one real listener per signal runs them on abort */
const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `fn` once when `signal` aborts, until `offAbort(signal, fn)`. One `abort` listener is added
 * per signal for its whole life (hosts reuse a signal across the commands a worker loop runs one
 * after the other); registering and unregistering a callback is then a Set add/delete. Callbacks
 * run in registration order. The caller checks `signal.aborted` first: a callback registered on
 * an already aborted signal never runs.
 */
export function onAbort(signal: AbortSignal, fn: () => void): void {
  let set = watchers.get(signal);
  if (set === undefined) {
    const fns = new Set<() => void>();
    set = fns;
    watchers.set(signal, fns);
    signal.addEventListener('abort', () => runWatchers(fns), { once: true });
  }
  set.add(fn);
}

export function offAbort(signal: AbortSignal, fn: () => void): void {
  watchers.get(signal)?.delete(fn);
}

function runWatchers(fns: Set<() => void>): void {
  const list = [...fns];
  fns.clear();
  for (const f of list) {
    try {
      f();
    } catch {
      // like an event listener: one failing callback does not stop the others
    }
  }
}
