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
