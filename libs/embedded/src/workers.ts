import type { Command, ControlMessage } from '@noetl/events';
import { runCommand, type WorkerDeps } from '@noetl/worker-runtime';
import type { ControlChannel, Delivery, WorkQueue } from './bus';

export interface WorkerPoolOptions {
  count: number;
  queue: WorkQueue<Command>;
  control: ControlChannel<ControlMessage>;
  /** in-progress ack period while a command runs (T9.1) */
  heartbeatMs: number;
  deps(workerId: string): WorkerDeps;
  log(line: string): void;
}

export interface WorkerPool {
  /** commands being executed right now */
  readonly running: number;
  /** stop pulling, abort running commands, wait for the loops (at most `graceMs`) */
  stop(graceMs: number): Promise<void>;
}

interface Running {
  command: Command;
  abort: AbortController;
}

/**
 * N worker loops: each pulls a command, runs its pipeline through @noetl/worker-runtime with
 * `lease_epoch` = delivery count, heartbeats in-progress acks, and acks when the terminal event is
 * emitted. A control-channel cancel aborts the running commands of that execution (or step run);
 * a durable cancel flag makes a later pickup run as cancelled at once (runtime.md §9.1, §11).
 * A worker that throws naks the delivery (redelivery, then max-deliver → worker_lost, T8.14).
 */
export function startWorkers(opts: WorkerPoolOptions): WorkerPool {
  const stopper = new AbortController();
  const running = new Set<Running>();

  const unsubscribe = opts.control.subscribe((m) => {
    if (m.type !== 'cancel') return;
    for (const r of running) {
      if (r.command.execution_id !== m.execution_id) continue;
      if (m.step_run_id && r.command.step_run_id !== m.step_run_id) continue;
      if (!r.abort.signal.aborted) r.abort.abort(m.reason);
    }
  });

  async function handle(workerId: string, deps: WorkerDeps, d: Delivery<Command>): Promise<void> {
    const cmd = d.data;
    const r: Running = { command: cmd, abort: new AbortController() };
    const flag = opts.control.flag(cmd.execution_id);
    if (flag) r.abort.abort(flag.reason);
    running.add(r);
    const beat = setInterval(() => d.inProgress(), opts.heartbeatMs);
    try {
      await runCommand(cmd, { epoch: d.deliveryCount, signal: r.abort.signal }, deps);
      d.ack();
    } catch (e) {
      opts.log(`worker ${workerId}: command ${cmd.command_id} (delivery ${d.deliveryCount}) crashed: ${(e as Error)?.stack ?? String(e)}`);
      if (stopper.signal.aborted) d.term();
      else d.nak();
    } finally {
      clearInterval(beat);
      running.delete(r);
    }
  }

  const loops = Array.from({ length: Math.max(1, opts.count) }, async (_, i) => {
    const workerId = `embedded-worker-${i + 1}`;
    const deps = opts.deps(workerId);
    while (!stopper.signal.aborted) {
      const d = await opts.queue.next(stopper.signal);
      if (!d) break;
      await handle(workerId, deps, d);
    }
  });

  return {
    get running() {
      return running.size;
    },
    async stop(graceMs: number) {
      stopper.abort('runtime closed');
      unsubscribe();
      for (const r of running) if (!r.abort.signal.aborted) r.abort.abort('runtime closed');
      let t: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(loops), new Promise((res) => (t = setTimeout(res, graceMs)))]);
      if (t) clearTimeout(t);
    },
  };
}
