// `noetl run` end to end (in process): what the run command does around the execution — children
// left running when the root ends, and an --events-out path that cannot be written.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { processAlive as alive } from '@noetl/tools';
import { main } from '../main';
import { cliSandbox, fakeIo } from '../testing';

const { dir, env, write } = cliSandbox('noetl-run-');

write(
  'lib/writer.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: writer, path: run/writer }
workload: { out: none }
workflow:
  - step: start
    tool: { kind: shell, command: "sleep 1; echo done > {{ out }}" }
`,
);
const NOWAIT = write(
  'nowait.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: nowait, path: run/nowait }
workflow:
  - step: start
    tool: { kind: playbook, path: lib/writer, wait: false, input: { out: "${join(dir, 'writer.out')}" } }
`,
);
const SIDE_EFFECT = write(
  'side.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: side, path: run/side }
workflow:
  - step: start
    tool: { kind: shell, command: "echo ran > ${join(dir, 'side.out')}" }
`,
);

describe('noetl run', () => {
  it('waits for children started with wait: false: their work is done and their terminal events are in the log', async () => {
    const io = fakeIo(dir, env);
    const t0 = Date.now();
    expect(await main(['run', NOWAIT, '--events-out', 'nowait.jsonl'], io)).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(io.err).toMatch(/waiting for 1 child execution still running/);
    expect(readFileSync(join(dir, 'writer.out'), 'utf8').trim()).toBe('done');
    const events = readFileSync(join(dir, 'nowait.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; execution_id: string });
    const root = events[0].execution_id;
    const child = events.find((e) => e.execution_id !== root)!.execution_id;
    expect(events.filter((e) => e.execution_id === child).map((e) => e.event_type)).toContain('execution.completed');
  });

  it('an --events-out path that cannot be written exits 2 before anything runs', async () => {
    write('blocker', 'a file where a directory should be');
    mkdirSync(join(dir, 'a-directory'));
    for (const bad of ['blocker/ev.jsonl', 'a-directory']) {
      const io = fakeIo(dir, env);
      expect(await main(['run', SIDE_EFFECT, '--events-out', bad], io)).toBe(2);
      expect(io.err).toMatch(new RegExp(`cannot write --events-out ${bad}`));
      expect(existsSync(join(dir, 'side.out'))).toBe(false);
    }
  });

  it('Ctrl-C while waiting for children cancels them and the run exits 1', async () => {
    const io = fakeIo(dir, env);
    const running = main(['run', NOWAIT, '--events-out', 'nowait-int.jsonl'], io);
    for (let i = 0; i < 200 && !/waiting for 1 child/.test(io.err); i++) await new Promise((r) => setTimeout(r, 10));
    io.interrupt();
    expect(await running).toBe(1);
    const events = readFileSync(join(dir, 'nowait-int.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; execution_id: string });
    const child = events.find((e) => e.execution_id !== events[0].execution_id)!.execution_id;
    expect(events.filter((e) => e.execution_id === child).at(-1)!.event_type).toBe('execution.cancelled');
  });
});

describe('noetl run as a process: no tool process outlives it', () => {
  const STUBBORN = write(
    'stubborn.yaml',
    `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: stubborn, path: run/stubborn }
workload: { pidfile: none }
workflow:
  - step: start
    tool: { kind: shell, command: "echo $$ > {{ pidfile }}; trap '' TERM; while true; do sleep 0.1; done" }
`,
  );

  async function startAndSignal(name: string, signals: NodeJS.Signals[]): Promise<{ code: number | null; pid: number }> {
    const pidfile = join(dir, `${name}.pid`);
    const child = spawn(process.execPath, [resolve(__dirname, '../../../../bin/noetl.js'), 'run', STUBBORN, '--set', `pidfile=${pidfile}`], { cwd: dir, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 400 && !existsSync(pidfile); i++) await new Promise((r) => setTimeout(r, 25));
    const pid = Number(readFileSync(pidfile, 'utf8'));
    for (const s of signals) {
      // one signal at a time: two sent before the process handles the first would merge into one
      const seen = err.length;
      child.kill(s);
      for (let i = 0; i < 200 && err.length === seen; i++) await new Promise((r) => setTimeout(r, 10));
    }
    const code = await exited;
    for (let i = 0; i < 150 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    return { code, pid };
  }

  it.each([
    ['SIGTERM', ['SIGTERM'] as NodeJS.Signals[], 143],
    ['a second Ctrl-C during the kill grace', ['SIGINT', 'SIGINT'] as NodeJS.Signals[], 130],
  ])('%s: the shell command that ignores SIGTERM is killed too', async (name, signals, code) => {
    const r = await startAndSignal(name.replace(/\W+/g, '-'), signals);
    const left = alive(r.pid);
    if (left) process.kill(-r.pid, 'SIGKILL');
    expect({ left, code: r.code }).toEqual({ left: false, code });
  });
});
