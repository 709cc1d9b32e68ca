import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LoggedEvent } from '@noetl/events';
import type { EmbeddedRuntime } from './types';

/** Buffered bytes written at once (a flush also happens every FLUSH_MS while events arrive). */
const BUFFER_BYTES = 256 * 1024;
/** Longest time a logged event waits in the buffer: what a `kill -9` can lose. */
const FLUSH_MS = 200;

export interface EventsFile {
  readonly path: string;
  /** starts writing `rootExecutionId`'s tree log: the events logged so far, then each new one (once) */
  follow(rt: Pick<EmbeddedRuntime, 'subscribe' | 'treeEvents'>, rootExecutionId: string): void;
  /** events written so far */
  readonly count: number;
  /** writes what is buffered (synchronously): call before a hard exit */
  flush(): void;
  /** flushes, fsyncs and closes the file, stops following the log; idempotent */
  close(): void;
}

/**
 * Streams one execution tree's event log to `path` as JSON lines while it runs (`noetl run
 * --events-out`): the events logged so far, then each event as the log stores it, in log order,
 * each line exactly `JSON.stringify` of the logged event (`seq` included), the format `noetl
 * replay` reads. The file is written through a buffer flushed when full, at least every 200 ms
 * while events arrive, on `flush()`/`close()` and at process exit, so a run that crashes or is
 * killed leaves its log up to its last moments (replay then shows the state it had reached)
 * instead of nothing — and a long run never holds its whole log as one string.
 */
export function streamTreeEvents(rt: Pick<EmbeddedRuntime, 'subscribe' | 'treeEvents'>, rootExecutionId: string, path: string): EventsFile {
  const f = openEventsFile(path);
  f.follow(rt, rootExecutionId);
  return f;
}

/**
 * Creates the missing directories of `dir` one level at a time: `mkdirSync(..., {recursive: true})`
 * spins forever on some paths (e.g. under /proc) instead of failing.
 */
function ensureDir(dir: string): void {
  if (existsSync(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) ensureDir(parent);
  mkdirSync(dir);
}

/**
 * Opens (creates or truncates) the events file before anything runs, so that a path that cannot be
 * written fails up front (throws the fs error); `follow` then streams a tree's log into it.
 */
export function openEventsFile(path: string): EventsFile {
  ensureDir(dirname(path));
  const fd = openSync(path, 'w');
  let rootExecutionId = '';
  let off: () => void = () => undefined;
  const buf = Buffer.allocUnsafe(BUFFER_BYTES);
  let pending = 0;
  let count = 0;
  let closed = false;
  let timer: NodeJS.Timeout | null = null;

  const writeAll = (b: Buffer): void => {
    let at = 0;
    while (at < b.length) at += writeSync(fd, b, at, b.length - at);
  };
  const flush = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending === 0 || closed) return;
    const n = pending;
    pending = 0;
    writeAll(buf.subarray(0, n));
  };
  const add = (e: LoggedEvent): void => {
    if (closed || (e.root_execution_id || e.execution_id) !== rootExecutionId) return;
    const line = `${JSON.stringify(e)}\n`;
    count++;
    if (line.length * 3 > BUFFER_BYTES - pending) {
      flush();
      if (line.length * 3 > BUFFER_BYTES) {
        writeAll(Buffer.from(line, 'utf8'));
        return;
      }
    }
    pending += buf.write(line, pending, 'utf8');
    if (timer === null) {
      timer = setTimeout(flush, FLUSH_MS);
      timer.unref();
    }
  };

  // an uncaught error or process.exit() still writes what is buffered ('exit' handlers run synchronously)
  const onExit = (): void => flush();
  process.on('exit', onExit);

  return {
    path,
    follow(rt, root) {
      if (rootExecutionId !== '' || closed) throw new Error('events file: follow() once, before close()');
      rootExecutionId = root;
      for (const e of rt.treeEvents(root)) add(e);
      off = rt.subscribe(add);
    },
    get count() {
      return count;
    },
    flush,
    close() {
      if (closed) return;
      off();
      process.removeListener('exit', onExit);
      flush();
      closed = true;
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    },
  };
}
