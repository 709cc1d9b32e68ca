// Output capture and process-group helpers of the process-local tools (shell, python pool).
import { readFileSync } from 'node:fs';
import type { ToolContext } from '../types';

/** 1 MiB: cap of each captured stream (tools.md K2.5, §4.1). */
export const STREAM_CAP_BYTES = 1024 * 1024;
/** 8 KiB: size of `meta.stdout_tail` / `meta.stderr_tail` and of Python tracebacks. */
export const TAIL_BYTES = 8 * 1024;

/** The last `maxBytes` UTF-8 bytes of a string (never splitting a character). */
export function lastBytes(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  let start = buf.length - maxBytes;
  while (start < buf.length && (buf[start] & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}

/** The first `maxBytes` UTF-8 bytes of a buffer, cut on a character boundary. */
export function firstBytes(buf: Buffer, maxBytes: number): Buffer {
  if (buf.length <= maxBytes) return buf;
  let end = maxBytes;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

/** Redact, then keep the last {@link TAIL_BYTES} (redacting first so a cut never exposes half a secret). */
export function redactedTail(text: string, ctx: Pick<ToolContext, 'redact'>, maxBytes = TAIL_BYTES): string {
  // a margin of one tail length keeps secrets that straddle the cut from surviving
  return lastBytes(ctx.redact(lastBytes(text, maxBytes * 2)), maxBytes);
}

/**
 * A byte sink for one output stream: keeps the first `headCap` bytes (the captured value) and a
 * rolling window of the last `tailCap` bytes (for `*_tail`), and counts everything.
 */
export class StreamCapture {
  private readonly head: Buffer[] = [];
  private headLen = 0;
  private tail: Buffer = Buffer.alloc(0);
  total = 0;

  constructor(
    private readonly headCap = STREAM_CAP_BYTES,
    private readonly tailCap = TAIL_BYTES * 2,
  ) {}

  write(chunk: Buffer): void {
    this.total += chunk.length;
    if (this.headLen < this.headCap) {
      const part = chunk.subarray(0, this.headCap - this.headLen);
      this.head.push(part);
      this.headLen += part.length;
    }
    this.tail = this.tail.length + chunk.length <= this.tailCap
      ? Buffer.concat([this.tail, chunk])
      : Buffer.concat([this.tail, chunk]).subarray(-this.tailCap);
  }

  get truncated(): boolean {
    return this.total > this.headCap;
  }

  /** the captured head (at most `headCap` bytes, cut on a character boundary) */
  text(): string {
    return firstBytes(Buffer.concat(this.head), this.headCap).toString('utf8');
  }

  /** the last bytes of the whole stream */
  tailText(): string {
    let start = 0;
    while (start < this.tail.length && (this.tail[start] & 0xc0) === 0x80) start++;
    return this.tail.subarray(start).toString('utf8');
  }
}

/**
 * Process groups of detached children that have not exited yet. At process exit every one still
 * alive is SIGKILLed: a detached group outlives its parent, so a child that ignored SIGTERM and was
 * still in its kill grace when the process exited would otherwise run on as an orphan.
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function killLiveGroups(): void {
  for (const pid of liveGroups) killGroup(pid, 'SIGKILL');
  liveGroups.clear();
}

/** Records a detached child's process group until `untrackGroup` (see liveGroups). */
export function trackGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  liveGroups.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killLiveGroups);
  }
}

export function untrackGroup(pid: number | undefined): void {
  if (pid !== undefined) liveGroups.delete(pid);
}

/**
 * Whether a process is alive. A zombie (exited, not reaped yet) is not: an orphaned group is
 * reaped by init, which in some containers never happens, and `kill(pid, 0)` still succeeds then.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc (not Linux): signal 0 said it exists
  }
}

/** Kill a detached child's whole process group (falls back to the process itself). */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
