import type { Command, ControlMessage } from '@noetl/events';
import { runCommand, type WorkerDeps } from '@noetl/worker-runtime';
import type { ControlChannel, Delivery, WorkQueue } from './bus';

export interface WorkerPoolOptions {
  count: number;
  queue: WorkQueue<Command>;
  control: ControlChannel<ControlMessage>;
  /** in-progress ack period while a command runs (T9.1) */
  heartbeatMs: number;
  /**
   * The dependencies of one worker loop. `park` releases the loop's slot while its command only
   * waits (a `kind: playbook` task waiting for its child, runtime.md §12 item 5): the pool runs a
   * stand-in loop until the returned `unpark` is called.
   */
  deps(workerId: string, park: () => () => void): WorkerDeps;
  /** the clock deadlines are compared with (the runtime's) */
  nowMs(): number;
  log(line: string): void;
}

export interface WorkerPool {
  /** commands being executed right now */
  readonly running: number;
  /** worker loops alive right now: `count`, plus stand-ins for parked commands (until they retire) */
  readonly loops: number;
  /** stop pulling, abort running commands, wait for the loops (at most `graceMs`) */
  stop(graceMs: number): Promise<void>;
}

/** What a worker loop is running right now (one per loop, reused from command to command). */
interface Running {
  command: Command | null;
  abort: AbortController;
  delivery: Delivery<Command> | null;
}

/** Commands a worker loop runs under one abort controller before it takes a fresh one (see startWorkers). */
const CONTROLLER_REUSE = 1024;

/**
 * N worker loops: each pulls a command, runs its pipeline through @noetl/worker-runtime with
 * `lease_epoch` = delivery count, heartbeats in-progress acks, and acks when the terminal event is
 * emitted. A control-channel cancel aborts the running commands of that execution (or step run);
 * a durable cancel flag makes a later pickup run as cancelled at once (runtime.md §9.1, §11).
 * A worker that throws naks the delivery (redelivery, then max-deliver → worker_lost, T8.14).
 *
 * Hot-path notes: an `AbortSignal` costs several µs to materialize on Node 20, so a worker loop
 * keeps its abort controller across the commands it runs one after the other and takes a fresh
 * one only once it was aborted (a cancel), after a command with keychain entries (whose
 * resolution may derive `AbortSignal.any` signals from it), or every CONTROLLER_REUSE commands.
 * runCommand removes every listener it adds before it returns. One pool-wide heartbeat timer
 * in-progress-acks every running delivery each `heartbeatMs` (not one interval per command): a
 * running command still gets an in-progress ack at least every `heartbeatMs`.
 *
 * Parking (runtime.md §12 item 5, MAY): a command that only waits — a parent's `kind: playbook`
 * task waiting for its child — calls `park()`, and the pool starts a stand-in loop so that `count`
 * loops keep pulling work. Without it, a parallel loop of sub-playbook calls with `max_in_flight` >=
 * the worker count holds every loop waiting for children that no loop is left to run: a deadlock.
 * `unpark()` lowers the target again; a loop above the target retires after its current command.
 */
export function startWorkers(opts: WorkerPoolOptions): WorkerPool {
  const stopper = new AbortController();
  // one slot per loop (a loop runs one command at a time): no Set add/delete per command
  const slots: Running[] = [];
  const forEachRunning = (fn: (r: Running & { command: Command; delivery: Delivery<Command> }) => void): void => {
    for (const r of slots) if (r.command !== null && r.delivery !== null) fn(r as Running & { command: Command; delivery: Delivery<Command> });
  };

  /**
   * Step runs and iterations cancelled by the scheduler (a deadline): a command of theirs picked up
   * later — still queued when its deadline passed — runs as cancelled at once instead of running
   * its tools after the scheduler already failed it (its events are superseded either way).
   */
  const cancelledEntities = new Map<string, string>();
  const unsubscribe = opts.control.subscribe((m) => {
    if (m.type !== 'cancel') return;
    if (m.iteration_id) cancelledEntities.set(`it:${m.iteration_id}`, m.reason);
    else if (m.step_run_id) cancelledEntities.set(`run:${m.step_run_id}`, m.reason);
    forEachRunning((r) => {
      if (r.command.execution_id !== m.execution_id) return;
      if (m.step_run_id && r.command.step_run_id !== m.step_run_id) return;
      if (m.iteration_id && r.command.iteration?.iteration_id !== m.iteration_id) return;
      if (!r.abort.signal.aborted) r.abort.abort(m.reason);
    });
  });

  // unref'd: the heartbeat alone never keeps the process alive (the per-command intervals were
  // only armed while a command ran; a running tool holds its own handles and timers)
  const heartbeat = setInterval(() => forEachRunning((r) => r.delivery.inProgress()), opts.heartbeatMs);
  heartbeat.unref();

  // plain flags instead of AbortSignal getters on the per-command path
  let stopped = false;
  const count = Math.max(1, opts.count);
  /** loops that should be pulling work: `count` + parked commands */
  let target = count;
  let alive = 0;
  let started = 0;
  const running = new Set<Promise<void>>();
  const spawn = (): void => {
    const p = workerLoop(++started);
    running.add(p);
    void p.finally(() => running.delete(p));
  };
  const park = (): (() => void) => {
    let parked = true;
    target++;
    if (alive < target && !stopped) spawn();
    return () => {
      if (!parked) return;
      parked = false;
      target--;
    };
  };

  const workerLoop = async (n: number): Promise<void> => {
    alive++;
    const workerId = `embedded-worker-${n}`;
    const deps = opts.deps(workerId, park);
    const r: Running = { command: null, abort: new AbortController(), delivery: null };
    slots.push(r);
    let retired = false;
    try {
      retired = await pull(r, workerId, deps);
    } finally {
      if (!retired) alive--;
      slots.splice(slots.indexOf(r), 1);
    }
  };

  /** Runs commands until the pool stops (false) or this loop retires (true, `alive` already lowered). */
  const pull = async (r: Running, workerId: string, deps: WorkerDeps): Promise<boolean> => {
    let signal = r.abort.signal;
    let uses = 0;
    while (!stopped) {
      // a loop above the target (a parked command resumed) retires between commands; `alive` is
      // lowered here, synchronously, so that two loops finishing together cannot both retire
      if (alive > target) {
        alive--;
        return true;
      }
      const d = await opts.queue.next(stopper.signal);
      if (!d) break;
      if (signal.aborted || uses >= CONTROLLER_REUSE) {
        r.abort = new AbortController();
        signal = r.abort.signal;
        uses = 0;
      }
      uses++;
      const cmd = d.data;
      // picked up after its deadline (it waited in the queue): the scheduler's deadline timer, due
      // already, decides its outcome; running its tools now would only do work that is superseded
      if (cmd.deadline !== undefined && Date.parse(cmd.deadline) <= opts.nowMs()) {
        d.ack();
        continue;
      }
      const flag = opts.control.flag(cmd.execution_id);
      if (flag) r.abort.abort(flag.reason);
      else if (cancelledEntities.size > 0) {
        const reason = cancelledEntities.get(`run:${cmd.step_run_id}`) ?? (cmd.iteration ? cancelledEntities.get(`it:${cmd.iteration.iteration_id}`) : undefined);
        if (reason !== undefined) r.abort.abort(reason);
      }
      r.command = cmd;
      r.delivery = d;
      try {
        await runCommand(cmd, { epoch: d.deliveryCount, signal }, deps);
        d.ack();
      } catch (e) {
        opts.log(`worker ${workerId}: command ${cmd.command_id} (delivery ${d.deliveryCount}) crashed: ${(e as Error)?.stack ?? String(e)}`);
        if (stopper.signal.aborted) d.term();
        else d.nak();
      } finally {
        r.command = null;
        r.delivery = null;
      }
      if ((cmd.keychain?.length ?? 0) > 0) uses = CONTROLLER_REUSE;
    }
    return false;
  };
  for (let i = 0; i < count; i++) spawn();

  return {
    get running() {
      let n = 0;
      forEachRunning(() => n++);
      return n;
    },
    get loops() {
      return alive;
    },
    async stop(graceMs: number) {
      stopped = true;
      stopper.abort('runtime closed');
      unsubscribe();
      clearInterval(heartbeat);
      forEachRunning((r) => {
        if (!r.abort.signal.aborted) r.abort.abort('runtime closed');
      });
      let t: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([...running]), new Promise((res) => (t = setTimeout(res, graceMs)))]);
      if (t) clearTimeout(t);
    },
  };
}
