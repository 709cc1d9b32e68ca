import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { killGroup, StreamCapture, TAIL_BYTES, trackGroup, untrackGroup } from './process-io';

/** One task as sent to the interpreter (see python-worker.py for the protocol). */
export interface PythonTaskRequest {
  code: string;
  input: Record<string, unknown>;
  execution_id: string;
  step: string;
  auth?: Record<string, unknown>;
  libs?: Record<string, string | { from: string; import: string }>;
  env?: Record<string, string>;
}

export interface PythonTaskError {
  exception_type: string;
  message: string;
  traceback: string;
  kind: 'schema' | 'parse' | 'script_error';
}

export interface PythonTaskResponse {
  ok: boolean;
  data?: unknown;
  error?: PythonTaskError;
  stdout: string;
  stderr: string;
  stdout_bytes: number;
  stderr_bytes: number;
  recycle?: boolean;
}

/** Output that bypassed sys.stdout/sys.stderr (subprocesses, C code) while the task ran. */
export interface RawOutput {
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stderrBytes: number;
}

export type PythonRunResult =
  | { type: 'response'; response: PythonTaskResponse; raw: RawOutput; pid: number }
  | { type: 'timeout'; raw: RawOutput; pid?: number }
  | { type: 'cancelled'; raw: RawOutput; pid?: number; closed?: boolean }
  | { type: 'crashed'; exitCode: number | null; signal: string | null; raw: RawOutput; pid?: number; started: boolean }
  | { type: 'spawn_failed'; message: string };

/** Reason attached to the AbortSignal passed to {@link PythonPool.run}. */
export interface PythonAbortReason {
  kind: 'timeout' | 'cancelled';
}

export interface PythonPoolOptions {
  /** number of warm interpreters (default 2) */
  size?: number;
  /** interpreter executable (default `python3`) */
  pythonPath?: string;
  /** RLIMIT_AS of each interpreter in bytes (default 2 GiB; 0 = no limit) */
  memoryLimitBytes?: number;
  /** recycle an interpreter after this many tasks (default 1000; 1 = a fresh process per task) */
  maxTasksPerProcess?: number;
  /** path of python-worker.py (default: next to this file) */
  bootstrapPath?: string;
  /** grace between SIGTERM and SIGKILL on cancellation (default 5000 ms, runtime.md §11) */
  killGraceMs?: number;
}

export const DEFAULT_MEMORY_LIMIT_BYTES = 2 * 1024 * 1024 * 1024;
const EMPTY_RAW: RawOutput = { stdout: '', stderr: '', stdoutBytes: 0, stderrBytes: 0 };

/** The worker's end-of-task mark on fd 1 and fd 2: NUL, `noetl-fence:<task id>`, NUL (python-worker.py `_write_fences`). */
const FENCE_PREFIX = Buffer.from('\u0000noetl-fence:', 'latin1');
/** longest mark: the prefix, a task id, the closing NUL */
const FENCE_MAX = FENCE_PREFIX.length + 24;
/** how long a response waits for the marks of its raw output (they are written just before it) */
const FENCE_WAIT_MS = 1000;

/**
 * One raw output pipe of the interpreter, cut at the worker's end-of-task marks: bytes go to `out`
 * with the marks removed, and each mark's task id to `onFence`. A mark split across chunks is
 * held back until it is complete; a held-back prefix that turns out not to be a mark is output.
 */
export class FencedStream {
  private carry: Buffer | null = null;

  constructor(
    private readonly out: (b: Buffer) => void,
    private readonly onFence: (taskId: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = null;
    for (;;) {
      const at = buf.indexOf(FENCE_PREFIX);
      if (at === -1) {
        const keep = partialPrefixLength(buf);
        if (buf.length > keep) this.out(buf.subarray(0, buf.length - keep));
        if (keep > 0) this.carry = Buffer.from(buf.subarray(buf.length - keep));
        return;
      }
      if (at > 0) this.out(buf.subarray(0, at));
      const end = buf.indexOf(0, at + FENCE_PREFIX.length);
      if (end === -1 || end - at > FENCE_MAX) {
        if (end === -1 && buf.length - at <= FENCE_MAX) {
          this.carry = Buffer.from(buf.subarray(at)); // the rest of the mark is still in the pipe
          return;
        }
        this.out(buf.subarray(at, at + 1)); // not a mark: its NUL is output, scanning goes on after it
        buf = buf.subarray(at + 1);
        continue;
      }
      this.onFence(buf.toString('latin1', at + FENCE_PREFIX.length, end));
      buf = buf.subarray(end + 1);
      if (buf.length === 0) return;
    }
  }

  /** the pipe ended: bytes held back as a possible mark were data */
  end(): void {
    if (this.carry) this.out(this.carry);
    this.carry = null;
  }
}

/** length of the longest end of `buf` that is a proper beginning of the mark (0 when none) */
function partialPrefixLength(buf: Buffer): number {
  const from = Math.max(0, buf.length - (FENCE_PREFIX.length - 1));
  const nul = buf.indexOf(0, from);
  if (nul === -1) return 0;
  for (let i = nul; i < buf.length; i++) {
    if (buf[i] === 0 && buf.subarray(i).equals(FENCE_PREFIX.subarray(0, buf.length - i))) return buf.length - i;
  }
  return 0;
}

/** Locate python-worker.py: explicit option, `NOETL_PYTHON_BOOTSTRAP`, next to this module, or the source tree. */
export function resolvePythonBootstrap(explicit?: string): string {
  const candidates = [
    explicit,
    process.env.NOETL_PYTHON_BOOTSTRAP,
    path.join(__dirname, 'python-worker.py'),
    // compiled output (dist/libs/tools/libs/tools/src/local) -> source tree
    path.resolve(__dirname, '../../../../../../libs/tools/src/local/python-worker.py'),
    path.resolve(process.cwd(), 'libs/tools/src/local/python-worker.py'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  throw new Error(`python-worker.py not found (looked in: ${candidates.filter(Boolean).join(', ')})`);
}

interface PendingTask {
  id: number;
  resolve(r: PythonRunResult): void;
  settled: boolean;
  /** the interpreter acknowledged the request (so a crash may have been caused by the task) */
  started: boolean;
}

/** One warm interpreter process. */
export class PythonProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  pid: number | undefined;
  tasks = 0;
  isExited = false;
  exitCode: number | null = null;
  exitSignal: string | null = null;
  private readonly requests: Writable;
  private chunks: Buffer[] = [];
  private pending: PendingTask | undefined;
  private rawOut: StreamCapture | undefined;
  private rawErr: StreamCapture | undefined;
  /** last stderr bytes, kept even between tasks for crash diagnostics */
  private readonly lastErr = new StreamCapture(0, TAIL_BYTES);
  /** task id of the last end-of-task mark seen on fd 1 / fd 2 */
  private fenceOut = '';
  private fenceErr = '';
  /** a response that waits for the marks of its raw output (see FencedStream) */
  private held: { id: string; settle: () => void; timer: NodeJS.Timeout } | undefined;
  private nextId = 1;
  private readyResolve!: () => void;
  private readyReject!: (e: Error) => void;
  private exitResolve!: () => void;
  private isReady = false;
  private responsesEnded = false;
  private onResponsesEnd: (() => void) | undefined;
  private spawnError: Error | undefined;

  constructor(pythonPath: string, bootstrapPath: string, memoryLimitBytes: number) {
    this.ready = new Promise<void>((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.ready.catch(() => undefined);
    this.exited = new Promise<void>((res) => (this.exitResolve = res));
    const args = ['-u', '-B', bootstrapPath];
    if (memoryLimitBytes > 0) args.push('--memory-limit', String(Math.floor(memoryLimitBytes)));
    this.child = spawn(pythonPath, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      detached: true, // own process group: timeouts/cancellation also kill what the task spawned
      env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
    });
    this.pid = this.child.pid;
    trackGroup(this.pid); // killed at process exit if still alive (see process-io liveGroups)
    this.requests = this.child.stdio[3] as Writable;
    const responses = this.child.stdio[4] as Readable;
    this.requests.on('error', () => undefined); // EPIPE after a crash: reported through 'exit'
    responses.on('data', (c: Buffer) => this.onData(c));
    responses.on('error', () => undefined);
    responses.on('end', () => {
      this.responsesEnded = true;
      this.onResponsesEnd?.();
    });
    const out = new FencedStream(
      (b) => this.rawOut?.write(b),
      (id) => {
        this.fenceOut = id;
        this.onFence();
      },
    );
    const err = new FencedStream(
      (b) => {
        this.lastErr.write(b);
        this.rawErr?.write(b);
      },
      (id) => {
        this.fenceErr = id;
        this.onFence();
      },
    );
    this.child.stdout?.on('data', (c: Buffer) => out.push(c));
    this.child.stdout?.on('end', () => out.end());
    this.child.stderr?.on('data', (c: Buffer) => err.push(c));
    this.child.stderr?.on('end', () => err.end());
    this.child.on('error', (e) => {
      this.spawnError = e;
      this.readyReject(new Error(`cannot start python interpreter '${pythonPath}': ${e.message}`));
      if (this.child.pid === undefined) this.onExit(null, null);
    });
    this.child.on('exit', (code, signal) => {
      untrackGroup(this.pid);
      this.onExit(code, signal);
    });
  }

  /** Run one task; resolves on the response, on process death, or after `signal` aborted and the process died. */
  runTask(req: PythonTaskRequest, signal: AbortSignal, killGraceMs: number): Promise<PythonRunResult> {
    this.setRef(true);
    this.rawOut = new StreamCapture(0, TAIL_BYTES * 2);
    this.rawErr = new StreamCapture(0, TAIL_BYTES * 2);
    const id = this.nextId++;
    return new Promise<PythonRunResult>((resolve) => {
      let graceTimer: NodeJS.Timeout | undefined;
      const finish = (r: PythonRunResult): void => {
        if (task.settled) return;
        task.settled = true;
        this.pending = undefined;
        signal.removeEventListener('abort', onAbort);
        if (graceTimer) clearTimeout(graceTimer);
        this.rawOut = undefined;
        this.rawErr = undefined;
        resolve(r);
      };
      const task: PendingTask = { id, resolve: finish, settled: false, started: false };
      this.pending = task;
      const onAbort = (): void => {
        const reason = signal.reason as PythonAbortReason | undefined;
        const raw = this.raw();
        if (reason?.kind === 'timeout') {
          killGroup(this.pid, 'SIGKILL');
          void this.exited.then(() => finish({ type: 'timeout', raw, pid: this.pid }));
        } else {
          killGroup(this.pid, 'SIGTERM');
          graceTimer = setTimeout(() => killGroup(this.pid, 'SIGKILL'), killGraceMs);
          void this.exited.then(() => finish({ type: 'cancelled', raw, pid: this.pid }));
        }
        // the process is dead (or dying): nothing else may resolve this task
        this.pending = undefined;
      };
      if (this.isExited) {
        finish({ type: 'crashed', exitCode: this.exitCode, signal: this.exitSignal, raw: this.raw(), pid: this.pid, started: false });
        return;
      }
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        this.requests.write(JSON.stringify({ type: 'task', id, ...req }) + '\n');
      } catch {
        killGroup(this.pid, 'SIGKILL'); // broken pipe: the exit resolves the task as crashed
      }
    });
  }

  /** Ask the interpreter to exit; SIGKILL if it has not within `graceMs`. */
  async dispose(graceMs = 2000): Promise<void> {
    if (this.isExited) return;
    try {
      this.requests.write(JSON.stringify({ type: 'exit' }) + '\n');
      this.requests.end();
    } catch {
      /* pipe already closed */
    }
    const t = setTimeout(() => killGroup(this.pid, 'SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  kill(): Promise<void> {
    if (!this.isExited) killGroup(this.pid, 'SIGKILL');
    return this.exited;
  }

  /** Idle interpreters must not keep the host's event loop alive. */
  setRef(on: boolean): void {
    const handles = [this.child, ...this.child.stdio] as Array<{ ref?: () => void; unref?: () => void } | null>;
    for (const h of handles) {
      if (!h) continue;
      if (on) h.ref?.();
      else h.unref?.();
    }
  }

  get stderrTail(): string {
    return this.lastErr.tailText();
  }

  private raw(): RawOutput {
    if (!this.rawOut || !this.rawErr) return EMPTY_RAW;
    return {
      stdout: this.rawOut.tailText(),
      stderr: this.rawErr.tailText(),
      stdoutBytes: this.rawOut.total,
      stderrBytes: this.rawErr.total,
    };
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    let nl = chunk.indexOf(10, start);
    while (nl !== -1) {
      this.chunks.push(chunk.subarray(start, nl));
      const line = Buffer.concat(this.chunks).toString('utf8');
      this.chunks = [];
      this.onMessage(line);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.chunks.push(chunk.subarray(start));
  }

  private onMessage(line: string): void {
    let msg: { type?: string; id?: number; fence?: boolean } & Partial<PythonTaskResponse>;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.type === 'ready') {
      this.isReady = true;
      this.readyResolve();
      return;
    }
    if (msg.type === 'started' && this.pending && msg.id === this.pending.id) {
      this.pending.started = true;
      return;
    }
    if (msg.type === 'result' && this.pending && msg.id === this.pending.id) {
      const response: PythonTaskResponse = {
        ok: msg.ok === true,
        data: msg.data,
        error: msg.error,
        stdout: msg.stdout ?? '',
        stderr: msg.stderr ?? '',
        stdout_bytes: msg.stdout_bytes ?? 0,
        stderr_bytes: msg.stderr_bytes ?? 0,
        recycle: msg.recycle === true,
      };
      const task = this.pending;
      const settle = (): void => {
        if (this.held) clearTimeout(this.held.timer);
        this.held = undefined;
        task.resolve({ type: 'response', response, raw: this.raw(), pid: this.pid ?? 0 });
      };
      const id = String(msg.id);
      // raw output travels on other pipes than the response: report the task once its end marks
      // arrived, so every raw byte it wrote is attributed to it (bounded wait; no wait when the
      // worker could not write the marks)
      if (msg.fence !== true || (this.fenceOut === id && this.fenceErr === id)) settle();
      else this.held = { id, settle, timer: setTimeout(settle, FENCE_WAIT_MS) };
    }
  }

  private onFence(): void {
    const h = this.held;
    if (h && this.fenceOut === h.id && this.fenceErr === h.id) h.settle();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.isExited) return;
    this.held?.settle(); // the task had answered: its response stands
    this.isExited = true;
    this.exitCode = code;
    this.exitSignal = signal;
    if (!this.isReady) {
      const detail = this.spawnError
        ? this.spawnError.message
        : `exited during start-up (${signal ? `signal ${signal}` : `exit code ${code}`}): ${this.lastErr.tailText().trim()}`;
      this.readyReject(new Error(detail.startsWith('cannot start') ? detail : `cannot start python interpreter: ${detail}`));
    }
    // read what the interpreter wrote before dying (the `started` ack, last raw output) before
    // settling: wait for the response pipe's end, bounded (a forked grandchild may hold it open)
    const settle = (): void => {
      clearTimeout(bound);
      this.onResponsesEnd = undefined;
      setImmediate(() => {
        const p = this.pending;
        p?.resolve({ type: 'crashed', exitCode: code, signal, raw: this.raw(), pid: this.pid, started: p.started });
        this.exitResolve();
      });
    };
    const bound = setTimeout(settle, 200);
    if (this.responsesEnded || this.child.pid === undefined) settle();
    else this.onResponsesEnd = settle;
  }
}

interface Waiter {
  resolve(p: PythonProcess): void;
  reject(e: unknown): void;
}

/**
 * A pool of warm interpreters, created lazily up to `size`. Tasks beyond `size` wait in FIFO
 * order. Interpreters that died, timed out, were cancelled, hit a MemoryError, left threads
 * running or reached `maxTasksPerProcess` are discarded and replaced on demand.
 */
export class PythonPool {
  readonly size: number;
  private readonly pythonPath: string;
  private readonly memoryLimitBytes: number;
  private readonly maxTasks: number;
  private readonly killGraceMs: number;
  private bootstrapPath: string | undefined;
  private readonly explicitBootstrap: string | undefined;
  private readonly all = new Set<PythonProcess>();
  private readonly busy = new Set<PythonProcess>();
  private idle: PythonProcess[] = [];
  private waiters: Waiter[] = [];
  private starting = 0;
  private closed = false;
  /** processes spawned so far (for tests and the benchmark) */
  spawned = 0;

  constructor(opts: PythonPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(opts.size ?? 2));
    this.pythonPath = opts.pythonPath ?? process.env.NOETL_PYTHON ?? 'python3';
    this.memoryLimitBytes = opts.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT_BYTES;
    this.maxTasks = Math.max(1, Math.floor(opts.maxTasksPerProcess ?? 1000));
    this.killGraceMs = opts.killGraceMs ?? 5000;
    this.explicitBootstrap = opts.bootstrapPath;
  }

  get liveProcesses(): number {
    return this.all.size;
  }

  /** Run one task. `signal` aborts with a {@link PythonAbortReason}; never rejects. */
  async run(req: PythonTaskRequest, signal: AbortSignal): Promise<PythonRunResult> {
    // an interpreter that died while idle (killed from outside) before it acknowledged the task
    // is not blamed on the task: the task is retried on another interpreter (bounded)
    for (let attempt = 0; ; attempt++) {
      let proc: PythonProcess;
      try {
        proc = await this.acquire(signal);
      } catch (e) {
        const reason = signal.reason as PythonAbortReason | undefined;
        if (signal.aborted && reason?.kind === 'timeout') return { type: 'timeout', raw: EMPTY_RAW };
        if (signal.aborted) return { type: 'cancelled', raw: EMPTY_RAW };
        if (this.closed) return { type: 'cancelled', raw: EMPTY_RAW, closed: true };
        return { type: 'spawn_failed', message: e instanceof Error ? e.message : String(e) };
      }
      this.busy.add(proc);
      const result = await proc.runTask(req, signal, this.killGraceMs);
      this.busy.delete(proc);
      proc.tasks++;
      const healthy = result.type === 'response' && !result.response.recycle;
      const neverRan = result.type === 'crashed' && !result.started;
      this.release(proc, healthy, neverRan);
      if (this.closed && result.type !== 'response') return { ...result, type: 'cancelled', closed: true } as PythonRunResult;
      if (neverRan && attempt < 2 && !signal.aborted) continue;
      return result;
    }
  }

  /** Kill every interpreter and fail queued tasks; resolves when all processes are gone. */
  async close(): Promise<void> {
    this.closed = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(new Error('python pool closed'));
    const procs = [...this.all];
    await Promise.all(procs.map((p) => (this.busy.has(p) ? p.kill() : p.dispose(1000))));
  }

  private acquire(signal: AbortSignal): Promise<PythonProcess> {
    if (this.closed) return Promise.reject(new Error('python pool closed'));
    if (signal.aborted) return Promise.reject(new Error('aborted'));
    const idle = this.idle.pop();
    if (idle) return Promise.resolve(idle);
    return new Promise<PythonProcess>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error('aborted'));
      };
      const waiter: Waiter = {
        resolve: (p) => {
          signal.removeEventListener('abort', onAbort);
          resolve(p);
        },
        reject: (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.pump();
    });
  }

  private release(proc: PythonProcess, healthy: boolean, retrying = false): void {
    if (!healthy || proc.isExited || proc.tasks >= this.maxTasks || this.closed) {
      this.all.delete(proc);
      void proc.dispose();
    } else {
      proc.setRef(false);
      this.idle.push(proc);
    }
    this.pump();
    // keep the pool warm after a failure (timeout, crash, cancellation, MemoryError, stray
    // threads); recycling after maxTasksPerProcess stays lazy; a retried task starts its own
    if (!healthy && !retrying && !this.closed && this.all.size < this.size) this.start();
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.idle.length > 0) {
      const p = this.idle.pop()!;
      this.waiters.shift()!.resolve(p);
    }
    if (this.closed) return;
    const need = this.waiters.length - this.starting;
    const room = this.size - this.all.size;
    for (let i = 0; i < Math.min(need, room); i++) this.start();
  }

  private start(): void {
    let bootstrap: string;
    try {
      bootstrap = this.bootstrapPath ??= resolvePythonBootstrap(this.explicitBootstrap);
    } catch (e) {
      this.waiters.shift()?.reject(e);
      return;
    }
    const proc = new PythonProcess(this.pythonPath, bootstrap, this.memoryLimitBytes);
    this.spawned++;
    this.all.add(proc);
    this.starting++;
    void proc.exited.then(() => {
      this.all.delete(proc);
      this.idle = this.idle.filter((p) => p !== proc);
      if (!this.closed) this.pump();
    });
    proc.ready.then(
      () => {
        this.starting--;
        if (this.closed) {
          void proc.dispose(500);
          return;
        }
        proc.setRef(false);
        this.idle.push(proc);
        this.pump();
      },
      (e: unknown) => {
        this.starting--;
        this.all.delete(proc);
        void proc.kill();
        this.waiters.shift()?.reject(e);
        this.pump();
      },
    );
  }
}
