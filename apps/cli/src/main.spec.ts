// CLI tests: the real commands in-process (real engine, tools, fs results in a temp NOETL_HOME),
// plus one real subprocess through bin/noetl.js.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, UsageError } from './args';
import { main } from './main';
import { buildPayload } from './payload';
import { cliSandbox, fakeIo } from './testing';

const ROOT = resolve(__dirname, '../../..');
const { dir, env, write } = cliSandbox('noetl-cli-');

write(
  'ok.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: ok, path: cli/ok }
workload: { who: world, n: 1 }
workflow:
  - step: start
    tool: { kind: noop, result: { hello: "{{ who }}", n: "{{ n }}", deep: "{{ cfg.a | default('none') }}" } }
    set: { ctx.greeted: "{{ output.data.hello }}" }
    next: { arcs: [ { step: end } ] }
  - step: end
    tool: { kind: noop, result: { done: true } }
`,
);
write(
  'bad.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: bad, path: cli/bad }
workflow:
  - step: start
    tool: { kind: noop }
    next:
      arcs:
        - step: nowhere
`,
);
write(
  'warn.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: warn, path: cli/warn }
workflow:
  - step: start
    tool: { kind: noop }
  - step: orphan
    tool: { kind: noop }
`,
);
write(
  'fails.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: fails, path: cli/fails }
workflow:
  - step: start
    tool:
      kind: python
      code: |
        raise ValueError("nope")
`,
);
write(
  'slow.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: slow, path: cli/slow }
workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: wait } ] }
  - step: wait
    tool: { kind: shell, command: "sleep 30" }
    next: { arcs: [ { step: after } ] }
  - step: after
    tool: { kind: noop }
`,
);

describe('args', () => {
  it('parses flags, values, repeats, = forms and --', () => {
    const a = parseArgs(['f.yaml', '--json', '--set', 'a=1', '--set=b=2', '--workers', '3', '-q', '--', '--x'], {
      json: {},
      set: { value: true, repeat: true },
      workers: { value: true },
      quiet: { short: 'q' },
    });
    expect(a).toEqual({ positionals: ['f.yaml', '--x'], flags: { json: true, quiet: true }, options: { workers: '3' }, lists: { set: ['a=1', 'b=2'] } });
  });
  it('rejects unknown options and missing values', () => {
    expect(() => parseArgs(['--nope'], {})).toThrow(UsageError);
    expect(() => parseArgs(['--w'], { w: { value: true } })).toThrow(/needs a value/);
    expect(() => parseArgs(['--json=1'], { json: {} })).toThrow(/takes no value/);
  });
});

describe('payload', () => {
  it('--payload JSON, @file (YAML or JSON) and --set with JSON values and dotted keys', () => {
    const f = write('p.yaml', 'region: eu\nnested: { x: 1 }\n');
    expect(buildPayload('{"a": 1}', [], dir)).toEqual({ a: 1 });
    expect(buildPayload(`@${f}`, ['nested.y=2', 'flag=true', 'name=bob', 'list=[1,2]', 'quoted="7"'], dir)).toEqual({
      region: 'eu', nested: { x: 1, y: 2 }, flag: true, name: 'bob', list: [1, 2], quoted: '7',
    });
  });
  it('rejects bad input with usage errors', () => {
    expect(() => buildPayload('{oops', [], dir)).toThrow(/not valid JSON/);
    expect(() => buildPayload('[1]', [], dir)).toThrow(/must be a JSON object/);
    expect(() => buildPayload(undefined, ['novalue'], dir)).toThrow(/KEY=VALUE/);
    expect(() => buildPayload('@missing.json', [], dir)).toThrow(/cannot read/);
  });
});

describe('noetl (in process)', () => {
  it('--help, --version, help COMMAND, unknown command', async () => {
    let io = fakeIo(dir, env);
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out).toMatch(/noetl run FILE/);
    io = fakeIo(dir, env);
    expect(await main(['--version'], io)).toBe(0);
    expect(io.out).toMatch(/^noetl \d+\.\d+\.\d+/);
    io = fakeIo(dir, env);
    expect(await main(['help', 'run'], io)).toBe(0);
    expect(io.out).toMatch(/--events-out/);
    io = fakeIo(dir, env);
    expect(await main(['frobnicate'], io)).toBe(2);
    expect(io.err).toMatch(/unknown command 'frobnicate'/);
    io = fakeIo(dir, env);
    expect(await main(['run'], io)).toBe(2);
    expect(io.err).toMatch(/no FILE given/);
  });

  describe('validate', () => {
    it('valid file: exit 0; warnings do not fail', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['validate', 'ok.yaml', 'warn.yaml'], io)).toBe(0);
      expect(io.out).toMatch(/ok\.yaml: valid/);
      expect(io.out).toMatch(/warn\.yaml: valid \(1 warning\)/);
      expect(io.err).toMatch(/warn\.yaml:7:5 warning W_UNREACHABLE_STEP /);
    });
    it('invalid file: compiler-style line with a caret excerpt, exit 2', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['validate', 'bad.yaml'], io)).toBe(2);
      const [first, excerpt, caret] = io.err.split('\n');
      expect(first).toMatch(/^bad\.yaml:9:17 error E_UNKNOWN_ARC_TARGET /);
      expect(excerpt).toBe(' 9 |         - step: nowhere');
      expect(caret).toBe('   |                 ^');
      expect(io.out).toMatch(/bad\.yaml: invalid, 1 error/);
    });
    it('--json: one document for one file, an array for several', async () => {
      let io = fakeIo(dir, env);
      expect(await main(['validate', 'bad.yaml', '--json'], io)).toBe(2);
      const one = JSON.parse(io.out);
      expect(one.status).toBe('invalid');
      expect(one.diagnostics[0]).toMatchObject({ code: 'E_UNKNOWN_ARC_TARGET', line: 9, column: 17, path: expect.any(String), message: expect.any(String) });
      io = fakeIo(dir, env);
      expect(await main(['validate', '--json', 'ok.yaml'], io)).toBe(0);
      expect(JSON.parse(io.out)).toEqual({ status: 'valid', diagnostics: [] });
      io = fakeIo(dir, env);
      expect(await main(['validate', '--json', 'ok.yaml', 'bad.yaml', 'missing.yaml'], io)).toBe(2);
      const many = JSON.parse(io.out);
      expect(many.map((d: { file: string; status: string }) => [d.file, d.status])).toEqual([['ok.yaml', 'valid'], ['bad.yaml', 'invalid'], ['missing.yaml', 'invalid']]);
      expect(many[2].diagnostics[0].code).toBe('E_IO');
    });
  });

  describe('run', () => {
    it('--json prints exactly one document; payload and --set merge over the workload', async () => {
      const io = fakeIo(dir, env);
      const code = await main(['run', 'ok.yaml', '--json', '--payload', '{"who": "ann"}', '--set', 'cfg.a=deep', '--set', 'n=5'], io);
      expect(code).toBe(0);
      const doc = JSON.parse(io.out);
      expect(doc).toMatchObject({
        status: 'completed',
        error: null,
        ctx: { greeted: 'ann' },
        steps: { start: { status: 'done', runs: 1, result: { hello: 'ann', n: 5, deep: 'deep' } }, end: { status: 'done', runs: 1, result: { done: true } } },
      });
      expect(doc.execution_id).toMatch(/^[0-9A-Z]{26}$/);
      expect(doc.events[0]).toMatchObject({ event_type: 'execution.requested', status: expect.any(String) });
      expect(doc.events.every((e: Record<string, unknown>) => 'event_type' in e && 'status' in e)).toBe(true);
      // progress went to stderr
      expect(io.err).toMatch(/✔ start/);
    });

    it('human output: step lines and the summary table on stderr, the result on stdout', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['run', 'ok.yaml'], io)).toBe(0);
      expect(io.err).toMatch(/▶ start/);
      expect(io.err).toMatch(/✔ end \(\d+ ms\)/);
      expect(io.err).toMatch(/STEP\s+STATUS\s+RUNS\s+TIME/);
      expect(io.err).toMatch(/completed in /);
      expect(JSON.parse(io.out)).toEqual({ done: true });
    });

    it('an invalid playbook prints {"status":"invalid"} and exits 2', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['run', 'bad.yaml', '--json'], io)).toBe(2);
      expect(JSON.parse(io.out)).toMatchObject({ status: 'invalid', diagnostics: [{ code: 'E_UNKNOWN_ARC_TARGET', line: 9 }] });
      const human = fakeIo(dir, env);
      expect(await main(['run', 'bad.yaml'], human)).toBe(2);
      expect(human.err).toMatch(/bad\.yaml:9:17 error E_UNKNOWN_ARC_TARGET/);
    });

    it('a failed execution exits 1 with the error and its step', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['run', 'fails.yaml', '--json', '--quiet'], io)).toBe(1);
      expect(io.err).toBe('');
      const doc = JSON.parse(io.out);
      expect(doc.status).toBe('failed');
      expect(doc.error).toMatchObject({ step: 'start', kind: expect.any(String), code: 'PY_ValueError' });
    });

    it('bad arguments exit 2', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['run', 'ok.yaml', '--workers', '0'], io)).toBe(2);
      expect(io.err).toMatch(/--workers must be/);
      const io2 = fakeIo(dir, env);
      expect(await main(['run', 'ok.yaml', '--credentials', 'nope.yaml'], io2)).toBe(2);
      expect(io2.err).toMatch(/cannot read credentials file/);
    });

    it('credentials from --credentials and NOETL_CREDENTIALS reach the tools', async () => {
      const pg = write(
        'pg.yaml',
        `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: pg, path: cli/pg }
workflow:
  - step: start
    tool: { kind: postgres, auth: db, query: "SELECT 41 + 1 AS answer" }
`,
      );
      const url = new URL(process.env.NOETL_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test');
      const data = { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: url.pathname.slice(1) };
      write('creds.yaml', `db:\n  type: postgres\n  data: ${JSON.stringify(data)}\n`);
      let io = fakeIo(dir, env);
      expect(await main(['run', pg, '--credentials', 'creds.yaml', '--json', '--quiet'], io)).toBe(0);
      expect(JSON.parse(io.out).steps.start.result.rows).toEqual([{ answer: 42 }]);
      io = fakeIo(dir, { ...env, NOETL_CREDENTIALS: JSON.stringify({ db: { type: 'postgres', data } }) });
      expect(await main(['run', pg, '--json', '--quiet'], io)).toBe(0);
      io = fakeIo(dir, env);
      expect(await main(['run', pg, '--json', '--quiet'], io)).toBe(1);
      expect(JSON.parse(io.out).error).toMatchObject({ kind: 'auth' });
    });

    it('--events-out writes the log; replay prints the identical document', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['run', 'ok.yaml', '--json', '--quiet', '--events-out', 'out/events.jsonl'], io)).toBe(0);
      const live = JSON.parse(io.out);
      const file = join(dir, 'out/events.jsonl');
      expect(existsSync(file)).toBe(true);
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(live.events.length);
      expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(lines.map((_, i) => i + 1));
      const rio = fakeIo(dir, env);
      expect(await main(['replay', 'out/events.jsonl', '--json'], rio)).toBe(0);
      expect(JSON.parse(rio.out)).toEqual(live);
      const human = fakeIo(dir, env);
      expect(await main(['replay', 'out/events.jsonl'], human)).toBe(0);
      expect(human.err).toMatch(/STEP\s+STATUS/);
    });

    it('replay of a bad log exits 2 with the line', async () => {
      const first = { v: 1, event_id: 'E/api/1', event_type: 'x.note', ts: '2026-01-01T00:00:00.000Z', execution_id: 'E', root_execution_id: 'E', source: 'api', producer_id: 'p', status: 'ok', payload: {} };
      write('broken.jsonl', `${JSON.stringify(first)}\n{nope\n`);
      const io = fakeIo(dir, env);
      expect(await main(['replay', 'broken.jsonl'], io)).toBe(2);
      expect(io.err).toMatch(/line 2/);
      write('invalid.jsonl', `${JSON.stringify({ ...first, event_type: 'step.done' })}\n`);
      const io2 = fakeIo(dir, env);
      expect(await main(['replay', 'invalid.jsonl'], io2)).toBe(2);
      expect(io2.err).toMatch(/line 1: step.done: payload field 'ctx_patch' is required/);
    });

    it('Ctrl-C cancels cleanly and reports what was cancelled; a second Ctrl-C exits hard', async () => {
      const io = fakeIo(dir, env);
      const running = main(['run', 'slow.yaml'], io);
      for (let i = 0; i < 200 && !/▶ wait/.test(io.err); i++) await new Promise((r) => setTimeout(r, 25));
      expect(io.err).toMatch(/▶ wait/);
      io.interrupt();
      const code = await running;
      expect(code).toBe(1);
      expect(io.err).toMatch(/interrupt: cancelling the execution/);
      expect(io.err).toMatch(/■ wait cancelled/);
      expect(io.err).toMatch(/cancelled step run: wait/);
      expect(io.exits).toEqual([]);

      const io2 = fakeIo(dir, env);
      const again = main(['run', 'slow.yaml', '--json'], io2);
      for (let i = 0; i < 200 && !/▶ wait/.test(io2.err); i++) await new Promise((r) => setTimeout(r, 25));
      io2.interrupt();
      io2.interrupt();
      expect(io2.exits).toEqual([130]);
      expect(await again).toBe(1);
      expect(JSON.parse(io2.out).status).toBe('cancelled');
    });
  });

  describe('conformance', () => {
    const cases = join(dir, 'cases');
    beforeAll(() => {
      mkdirSync(cases, { recursive: true });
      writeFileSync(join(cases, 'a-pass.yaml'), readFileSync(join(dir, 'ok.yaml')));
      writeFileSync(join(cases, 'a-pass.expect.json'), JSON.stringify({ expect: { status: 'completed', ctx: { greeted: 'world' }, steps: { start: { runs: 1 } } } }));
      writeFileSync(join(cases, 'b-fail.yaml'), readFileSync(join(dir, 'ok.yaml')));
      writeFileSync(join(cases, 'b-fail.expect.json'), JSON.stringify({ expect: { status: 'completed', steps: { end: { runs: 0 } } } }));
      writeFileSync(join(cases, 'c-kind.yaml'), 'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: {name: k, path: k}\nworkflow:\n  - step: start\n    tool: {kind: noop}\n');
      writeFileSync(join(cases, 'c-kind.expect.json'), JSON.stringify({ needs: ['http'], http: { routes: [] }, expect: { status: 'completed' } }));
    });

    it('prints PASS/FAIL lines and the exact summary line', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['conformance', cases], io)).toBe(1);
      const lines = io.out.trim().split('\n');
      expect(lines).toEqual([
        'PASS a-pass',
        'FAIL b-fail: steps.end: expected never scheduled, got runs 1 (1 step.scheduled events)',
        'PASS c-kind',
        'PASS secrets-not-in-events',
        '3 passed, 1 failed',
      ]);
    });

    it('--filter and --json', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['conformance', cases, '--filter', 'a-', '--json'], io)).toBe(0);
      expect(JSON.parse(io.out)).toMatchObject({ mode: 'embedded', passed: 2, failed: 0, results: [{ name: 'a-pass', status: 'pass' }, { name: 'secrets-not-in-events' }] });
      expect(io.err).toMatch(/^2 passed, 0 failed$/m);
    });

    it('--mode mesh fails every case with the reason', async () => {
      const io = fakeIo(dir, env);
      expect(await main(['conformance', cases, '--mode', 'mesh'], io)).toBe(1);
      expect(io.err).toMatch(/mesh mode is not available yet/);
      expect(io.out).toMatch(/FAIL a-pass: mesh mode is not available yet/);
      expect(io.out.trim().split('\n').at(-1)).toBe('0 passed, 4 failed');
    });
  });
});

describe('bin/noetl.js (real subprocess, no build step)', () => {
  it('prints help from the repo root', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'bin/noetl.js'), '--help'], { cwd: ROOT, encoding: 'utf8' });
    expect(out).toMatch(/noetl run FILE/);
  });
  it('runs a playbook with --json and exits 0', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'bin/noetl.js'), 'run', join(dir, 'ok.yaml'), '--json', '--quiet'], { cwd: dir, encoding: 'utf8', env });
    expect(JSON.parse(out)).toMatchObject({ status: 'completed' });
  });
  it('--events-out is streamed: a run killed with SIGKILL leaves its log so far, and replay shows the state it reached', async () => {
    const out = join(dir, 'killed/events.jsonl');
    const child = spawn(process.execPath, [join(ROOT, 'bin/noetl.js'), 'run', join(dir, 'slow.yaml'), '--quiet', '--events-out', out], { cwd: dir, env, stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const has = (type: string, step?: string) => existsSync(out) && readFileSync(out, 'utf8').split('\n').some((l) => l.includes(`"event_type":"${type}"`) && (!step || l.includes(`"step":"${step}"`)));
    for (let i = 0; i < 400 && !has('task.started', 'wait'); i++) await new Promise((r) => setTimeout(r, 25));
    expect(has('task.started', 'wait')).toBe(true); // written while the 30 s shell step still runs
    child.kill('SIGKILL');
    expect(await exited).toBeNull();
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    // a kill in the middle of a write leaves a partial last line: replay drops it with a warning
    writeFileSync(out, `${text}{"v":1,"event_id":"cut`);
    const io = fakeIo(dir, env);
    expect(await main(['replay', out, '--json'], io)).toBe(1);
    expect(io.err).toMatch(/is cut short .*ignored/);
    expect(io.err).toMatch(/the log ends before the execution did \(status running\)/);
    const doc = JSON.parse(io.out);
    expect(doc.status).toBe('running');
    expect(doc.steps.start).toMatchObject({ status: 'done', runs: 1 });
    expect(doc.steps.after).toBeUndefined();
  });
  it('exits 2 on an invalid playbook', () => {
    let status = 0;
    try {
      execFileSync(process.execPath, [join(ROOT, 'bin/noetl.js'), 'validate', join(dir, 'bad.yaml')], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      status = (e as { status: number }).status;
    }
    expect(status).toBe(2);
  });
});
