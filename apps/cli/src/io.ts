/** Where a command writes and what it reads from its process: injectable for tests. */
export interface CliIo {
  /** `write` returns false when the stream's buffer is full; `once('drain')` then says when to go on */
  stdout: { write(s: string): unknown; isTTY?: boolean; once?(event: 'drain', listener: () => void): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * Registers a SIGINT handler for the duration of a command; returns the unregister function.
   * Tests pass a fake that lets them trigger "Ctrl-C".
   */
  onInterrupt(handler: () => void): () => void;
  /** leave the process at once (second Ctrl-C) */
  hardExit(code: number): void;
}

/**
 * Exit code when stdout's reader went away (`noetl run f.yaml --json | head -c 20`): 128 + SIGPIPE,
 * what a process killed by SIGPIPE reports in a shell (as `git log | head` does).
 */
export const EXIT_STDOUT_CLOSED = 141;

interface ErrorEmitter {
  on(event: 'error', listener: (err: Error & { code?: string }) => void): unknown;
}

const guarded = new WeakSet<object>();

/**
 * A closed pipe (EPIPE) must not crash the CLI with an unhandled 'error' event. stdout closed: its
 * reader wants no more, so the process ends quietly at once with EXIT_STDOUT_CLOSED (the run's
 * own files, e.g. `--events-out`, are flushed by their exit hooks). stderr closed: progress is
 * dropped and the command goes on (losing diagnostics must not abort a run half way). Any other
 * stream error is thrown as before. Installed once per stream.
 */
export function guardClosedPipes(streams: { stdout: ErrorEmitter; stderr: ErrorEmitter }, exit: (code: number) => void): void {
  const guard = (stream: ErrorEmitter, onClosed: () => void) => {
    if (guarded.has(stream)) return;
    guarded.add(stream);
    stream.on('error', (err) => {
      if (err?.code === 'EPIPE' || err?.code === 'ERR_STREAM_DESTROYED') onClosed();
      else throw err;
    });
  };
  guard(streams.stdout, () => exit(EXIT_STDOUT_CLOSED));
  guard(streams.stderr, () => undefined);
}

export function processIo(): CliIo {
  guardClosedPipes(process, (code) => process.exit(code));
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(handler) {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
    hardExit(code) {
      process.exit(code);
    },
  };
}

/** Writes to stdout, waiting for 'drain' when its buffer is full (a pipe read slower than we write). */
export function writeOut(io: CliIo, chunk: string): void | Promise<void> {
  if (io.stdout.write(chunk) !== false || !io.stdout.once) return;
  const once = io.stdout.once.bind(io.stdout);
  return new Promise((resolve) => once('drain', resolve));
}

/** Colors only on a TTY and without NO_COLOR. */
export function colorizer(
  io: CliIo,
  stream: { isTTY?: boolean } = io.stderr,
): { red(s: string): string; green(s: string): string; yellow(s: string): string; dim(s: string): string; bold(s: string): string } {
  const on = Boolean(stream.isTTY) && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
  const wrap = (a: number, b: number) => (s: string) => (on ? `\u001b[${a}m${s}\u001b[${b}m` : s);
  return { red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}
