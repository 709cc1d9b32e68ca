import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CliIo } from './io';

/** A CliIo that records output and lets a test press Ctrl-C. */
export interface FakeIo extends CliIo {
  out: string;
  err: string;
  exits: number[];
  /** deliver one SIGINT to the registered handler(s) */
  interrupt(): void;
}

export function fakeIo(cwd: string, env: NodeJS.ProcessEnv = process.env): FakeIo {
  const handlers = new Set<() => void>();
  const io: FakeIo = {
    out: '',
    err: '',
    exits: [],
    cwd,
    env,
    stdout: { write: (s: string) => ((io.out += s), true) },
    stderr: { write: (s: string) => ((io.err += s), true), isTTY: false },
    onInterrupt(h) {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    hardExit(code) {
      io.exits.push(code);
    },
    interrupt() {
      for (const h of [...handlers]) h();
    },
  };
  return io;
}

/** A temp directory for CLI tests: NOETL_HOME inside it, no credentials from the environment. */
export interface CliSandbox {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** writes `text` to `dir/name` (creating directories); returns the path */
  write(name: string, text: string): string;
}

/** Creates a CliSandbox, removed after the spec file's tests (afterAll). */
export function cliSandbox(prefix: string): CliSandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    env: { ...process.env, NOETL_HOME: join(dir, 'home'), NOETL_CREDENTIALS: '' },
    write(name, text) {
      const f = join(dir, name);
      mkdirSync(dirname(f), { recursive: true });
      writeFileSync(f, text);
      return f;
    },
  };
}
