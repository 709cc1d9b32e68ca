import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { processAlive as alive } from './process-io';
import { createShellTool } from './shell-tool';
import { makeTestContext } from '../testing';

jest.setTimeout(30_000);

describe('shell tool (real sh processes)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'noetl-sh-grace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const shell = createShellTool({ killGraceMs: 300 });
  const run = (config: Record<string, unknown>, ctx = makeTestContext()) => shell.run(config, ctx);

  it('runs a single command', async () => {
    const out = await run({ command: 'echo hello; echo warn >&2' });
    expect(out.status).toBe('ok');
    expect(out.data).toEqual({
      exit_code: 0,
      stdout: 'hello\n',
      stderr: 'warn\n',
      results: [{ index: 0, exit_code: 0, stdout: 'hello\n', stderr: 'warn\n' }],
    });
    expect(out.helpers?.shell).toEqual({ exit_code: 0 });
    expect(out.meta).toMatchObject({ stdout_tail: 'hello\n', stderr_tail: 'warn\n' });
  });

  it('runs cmds in order, each in a fresh shell', async () => {
    const out = await run({ cmds: ['X=1; echo "a$X"', 'echo "b$X"', 'echo c'] });
    expect(out.status).toBe('ok');
    expect(out.data).toMatchObject({
      exit_code: 0,
      stdout: 'a1\nb\nc\n',
      results: [
        { index: 0, exit_code: 0, stdout: 'a1\n' },
        { index: 1, exit_code: 0, stdout: 'b\n' },
        { index: 2, exit_code: 0, stdout: 'c\n' },
      ],
    });
  });

  it('stops at the first non-zero exit: script_error EXIT_<n>, data present', async () => {
    const out = await run({ cmds: ['echo one', 'echo failing >&2; exit 3', 'echo never'] });
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind: 'script_error', code: 'EXIT_3', retryable: false, source: 'shell', details: { command_index: 1 } });
    expect(out.error?.message).toContain('failing');
    expect(out.helpers?.shell).toEqual({ exit_code: 3 });
    expect(out.data).toEqual({
      exit_code: 3,
      stdout: 'one\n',
      stderr: 'failing\n',
      results: [
        { index: 0, exit_code: 0, stdout: 'one\n', stderr: '' },
        { index: 1, exit_code: 3, stdout: '', stderr: 'failing\n' },
      ],
    });
  });

  it('a command killed by a signal exits 128+n', async () => {
    const out = await run({ command: 'kill -9 $$' });
    expect(out.error).toMatchObject({ kind: 'script_error', code: 'EXIT_137' });
    expect(out.error?.message).toContain('SIGKILL');
  });

  it('shell, cwd and env', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'noetl-sh-'));
    try {
      const out = await run({ command: 'pwd; echo "$GREETING $N $FLAG"; [[ 1 == 1 ]] && echo bash', shell: 'bash', cwd: dir, env: { GREETING: 'hi', N: 2, FLAG: true, GONE: null } });
      expect(out.status).toBe('ok');
      expect((out.data as { stdout: string }).stdout).toBe(`${dir}\nhi 2 true\nbash\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the timeout bounds the whole task and kills the process group', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'noetl-sh-'));
    try {
      const marker = path.join(dir, 'late');
      const out = await run({ cmds: ['echo first', 'echo second', `(sleep 2; touch ${marker}) & sleep 10`], timeout_seconds: 1.5 });
      expect(out.status).toBe('error');
      expect(out.error).toMatchObject({ kind: 'timeout', code: 'TIMEOUT', retryable: true, details: { command_index: 2 } });
      expect(out.data).toMatchObject({
        exit_code: null,
        stdout: 'first\nsecond\n',
        results: [{ index: 0, exit_code: 0 }, { index: 1, exit_code: 0 }, { index: 2, exit_code: null }],
      });
      await new Promise((r) => setTimeout(r, 2500));
      expect(existsSync(marker)).toBe(false); // the background job died with its group
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('spec.timeout applies without a tool field', async () => {
    const out = await run({ command: 'sleep 5' }, makeTestContext({ spec: { timeout: '300ms' } }));
    expect(out.error?.kind).toBe('timeout');
  });

  it('caps each stream at 1 MiB and keeps an 8 KiB tail', async () => {
    const out = await run({ command: 'head -c 3000000 /dev/zero | tr "\\0" "a"; echo; echo END' });
    expect(out.status).toBe('ok');
    const data = out.data as { stdout: string; results: Array<{ stdout: string }> };
    expect(Buffer.byteLength(data.stdout)).toBe(1024 * 1024);
    expect(Buffer.byteLength(data.results[0].stdout)).toBe(1024 * 1024);
    expect(out.meta?.truncated).toBe(true);
    const tail = out.meta?.stdout_tail as string;
    expect(Buffer.byteLength(tail)).toBe(8192);
    expect(tail.endsWith('a\nEND\n')).toBe(true);
  });

  it('redacts secrets from stdout/stderr and messages', async () => {
    const ctx = makeTestContext();
    ctx.registerSecret('hunter2');
    const out = await run({ command: 'echo "token=hunter2"; echo "bad hunter2" >&2; exit 1' }, ctx);
    expect(JSON.stringify(out)).not.toContain('hunter2');
    expect((out.data as { stdout: string }).stdout).toBe('token=***\n');
    expect(out.error?.message).toContain('bad ***');
  });

  it('cancellation terminates the running command', async () => {
    const ac = new AbortController();
    const pending = run({ command: 'echo started; sleep 30' }, makeTestContext({ signal: ac.signal }));
    setTimeout(() => ac.abort(), 200);
    const out = await pending;
    expect(out.error).toMatchObject({ kind: 'cancelled', code: 'CANCELLED' });
    expect(out.data).toMatchObject({ exit_code: null });
  });

  it('escalates to SIGKILL when the command ignores SIGTERM', async () => {
    const ac = new AbortController();
    const pending = run({ command: "trap '' TERM; sleep 30 & wait; sleep 30" }, makeTestContext({ signal: ac.signal }));
    setTimeout(() => ac.abort(), 200);
    expect((await pending).error?.kind).toBe('cancelled');
  });

  it('close() waits out the kill grace of a command that ignores SIGTERM, then it is gone', async () => {
    const tool = createShellTool({ killGraceMs: 400 });
    const ac = new AbortController();
    const pidFile = path.join(dir, 'stubborn.pid');
    const pending = tool.run({ command: `echo $$ > ${pidFile}; trap '' TERM; while true; do sleep 0.1; done` }, makeTestContext({ signal: ac.signal }));
    for (let i = 0; i < 100 && !existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 20));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    ac.abort();
    const t0 = Date.now();
    await tool.close!();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300); // SIGTERM was ignored: SIGKILL after the grace
    expect(alive(pid)).toBe(false);
    expect((await pending).error?.kind).toBe('cancelled');
  });

  it('a process that exits while such a command is in its grace does not leave it running', async () => {
    // a child node process runs the tool, cancels the command and exits at once
    const script = `
      const { createShellTool } = require(${JSON.stringify(path.join(__dirname, 'shell-tool'))});
      const tool = createShellTool({ killGraceMs: 60000 });
      const ac = new AbortController();
      tool.run({ command: "echo $$ > ${path.join(dir, 'orphan.pid')}; trap '' TERM; while true; do sleep 0.1; done" }, { signal: ac.signal, log() {}, redact: (s) => s, timeoutMs: 60000 }).catch(() => {});
      const fs = require('node:fs');
      const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(path.join(dir, 'orphan.pid'))})) { clearInterval(t); ac.abort(); setTimeout(() => process.exit(0), 50); } }, 20);
    `;
    execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.resolve(__dirname, '../../../..'), stdio: 'pipe', env: { ...process.env, TSX_TSCONFIG_PATH: path.resolve(__dirname, '../../../../tsconfig.json') } });
    const pid = Number(readFileSync(path.join(dir, 'orphan.pid'), 'utf8'));
    // SIGKILLed by the exit hook; the orphan is reaped by init a moment later
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    const left = alive(pid);
    if (left) process.kill(-pid, 'SIGKILL'); // do not leave it running if the assertion fails
    expect(left).toBe(false);
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ['nothing to run', {}, 'command'],
    ['command a list', { command: ['echo'] }, 'command'],
    ['cmds a string', { cmds: 'echo a' }, 'cmds'],
    ['cmds item a mapping', { cmds: ['echo', { a: 1 }] }, 'cmds'],
    ['cmds empty', { cmds: [] }, 'cmds'],
    ['both', { command: 'a', cmds: ['b'] }, 'cmds'],
    ['env a list', { command: 'true', env: ['A=1'] }, 'env'],
    ['cwd missing', { command: 'true', cwd: '/nonexistent/dir' }, 'cwd'],
    ['cwd a number list', { command: 'true', cwd: [1] }, 'cwd'],
    ['timeout invalid', { command: 'true', timeout_seconds: 'later' }, 'timeout_seconds'],
    ['shell missing', { command: 'true', shell: '/nonexistent/sh' }, 'shell'],
  ];
  it.each(bad)('%s -> config error naming the field', async (_name, config, field) => {
    const out = await run(config);
    expect(out.status).toBe('error');
    expect(out.error).toMatchObject({ kind: 'config', code: 'CONFIG', details: { field } });
    expect(out.error?.message).toContain(field);
  });

  it('converts numbers in command/cmds to strings (K1.3)', async () => {
    const out = await run({ cmds: ['true', 42] });
    expect(out.error?.code).toBe('EXIT_127'); // `sh -c 42`: 42: not found
    expect((out.data as { results: unknown[] }).results).toHaveLength(2);
    const num = await run({ command: 7 });
    expect(num.error?.code).toBe('EXIT_127');
  });
});
