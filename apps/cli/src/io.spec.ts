// A closed pipe: a reader that goes away early must end `noetl` quietly (real subprocesses).
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXIT_STDOUT_CLOSED, guardClosedPipes } from './io';
import { cliSandbox } from './testing';

const ROOT = resolve(__dirname, '../../..');
const { dir, env } = cliSandbox('noetl-pipes-');
// a --json document of ~1.6 MB: far more than a pipe buffer, so writes meet the closed pipe
writeFileSync(
  join(dir, 'big.yaml'),
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: bigdoc, path: cli/bigdoc }
workflow:
  - step: start
    loop: { in: "{{ range(0, 300) | list }}", iterator: x }
    tool: { kind: noop, result: "{{ x }}" }
`,
);

interface Ended { code: number | null; signal: NodeJS.Signals | null; head: string; stderr: string; stdout: string }

/** Runs bin/noetl.js; `closeStdoutAfter` bytes read from stdout, or stderr's first line, then closes that pipe. */
function noetl(args: string[], close: { stdoutAfter?: number; stderrAfterFirstLine?: boolean }): Promise<Ended> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/noetl.js'), ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let head = '';
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      if (close.stdoutAfter === undefined) {
        stdout += s;
        return;
      }
      head += s;
      if (head.length >= close.stdoutAfter) {
        head = head.slice(0, close.stdoutAfter);
        child.stdout.destroy(); // like `| head -c N`: the read end goes away
      }
    });
    child.stderr.on('data', (s: string) => {
      stderr += s;
      if (close.stderrAfterFirstLine && stderr.includes('\n')) child.stderr.destroy();
    });
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, head, stderr, stdout }));
  });
}

describe('closed pipes (bin/noetl.js subprocess)', () => {
  it('`run --json | head -c 20`: no EPIPE stack trace, exit 141', async () => {
    const r = await noetl(['run', 'big.yaml', '--json', '--quiet'], { stdoutAfter: 20 });
    expect(r.head.startsWith('{"execution_id":"')).toBe(true);
    expect(r.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(EXIT_STDOUT_CLOSED);
  });

  it('a closed stderr drops progress and the run goes on to its normal end', async () => {
    const r = await noetl(['run', 'big.yaml'], { stderrAfterFirstLine: true });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\{"results":\[0,1,2/);
  });
});

describe('guardClosedPipes', () => {
  it('stdout EPIPE exits 141 (once per stream), stderr EPIPE is ignored, other errors still throw', () => {
    const stdout = new EventEmitter();
    const stderr = new EventEmitter();
    const exits: number[] = [];
    guardClosedPipes({ stdout, stderr }, (c) => exits.push(c));
    guardClosedPipes({ stdout, stderr }, (c) => exits.push(c));
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    stderr.emit('error', epipe);
    expect(exits).toEqual([]);
    stdout.emit('error', epipe);
    expect(exits).toEqual([141]);
    expect(() => stdout.emit('error', Object.assign(new Error('boom'), { code: 'EIO' }))).toThrow('boom');
  });
});
