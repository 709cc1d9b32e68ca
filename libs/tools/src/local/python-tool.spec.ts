import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createPythonTool } from './python-tool';
import type { PythonToolHandler } from './python-tool';
import { makeTestContext } from '../testing';

jest.setTimeout(60_000);

describe('python tool (real python3 processes)', () => {
  let py: PythonToolHandler;
  beforeAll(() => {
    py = createPythonTool({ poolSize: 2 });
  });
  afterAll(async () => {
    await py.close();
  });
  const run = (config: Record<string, unknown>, ctx = makeTestContext()) => py.run(config, ctx);

  describe('K2.2 globals binding order', () => {
    it('binds execution_id, step, input_data/args (whole input) and each input key', async () => {
      const out = await run(
        {
          code: [
            'result = {',
            '  "execution_id": execution_id, "step": step,',
            '  "input_data": input_data, "args": args, "same": input_data is args,',
            '  "a": a, "b": b,',
            '}',
          ].join('\n'),
          input: { a: 3, b: [1, 2] },
        },
        makeTestContext({ executionId: 'e-42', step: 'load' }),
      );
      expect(out.status).toBe('ok');
      expect(out.data).toEqual({
        execution_id: 'e-42',
        step: 'load',
        input_data: { a: 3, b: [1, 2] },
        args: { a: 3, b: [1, 2] },
        same: true,
        a: 3,
        b: [1, 2],
      });
    });

    it('an input key named input_data wins over the whole-map binding (case 42 "collide")', async () => {
      const out = await run({
        code: [
          'result = {',
          '    "rows_len": len(input_data["rows"]),',
          '    "label": input_data["label"],',
          '    "wrapped": "input_data" in input_data,',
          '    "other": other,',
          '}',
        ].join('\n'),
        input: { input_data: { rows: [1, 2, 3], label: 'inner' }, other: 7 },
      });
      expect(out).toMatchObject({ status: 'ok', data: { rows_len: 3, label: 'inner', wrapped: false, other: 7 } });
    });

    it('input keys named args, step and execution_id also win', async () => {
      const out = await run({
        code: 'result = {"args": args, "step": step, "execution_id": execution_id, "input_data": sorted(input_data)}',
        input: { args: 'A', step: 'S', execution_id: 'E' },
      });
      expect(out.data).toEqual({ args: 'A', step: 'S', execution_id: 'E', input_data: ['args', 'execution_id', 'step'] });
    });

    it('case 42 "start": result global, tuples, a status field is just data', async () => {
      const out = await run({
        code: [
          'total = a * b',
          'result = {',
          '    "total": total,',
          '    "names_upper": [n.upper() for n in names],',
          '    "via_input_data": input_data["a"],',
          '    "step": step,',
          '    "pair": (1, 2),',
          '    "status": "error",',
          '}',
        ].join('\n'),
        input: { a: 3, b: 4, names: ['x', 'y'] },
      }, makeTestContext({ step: 'start' }));
      expect(out.status).toBe('ok');
      expect(out.data).toEqual({ total: 12, names_upper: ['X', 'Y'], via_input_data: 3, step: 'start', pair: [1, 2], status: 'error' });
    });

    it('implicit modules are bound, and input keys with the same name win', async () => {
      const out = await run({ code: 'result = {"j": json.dumps([1]), "sep": os.sep, "time": time}', input: { time: 't' } });
      expect(out.data).toEqual({ j: '[1]', sep: '/', time: 't' });
    });

    it('accepts `args` as an alias of `input`', async () => {
      const out = await run({ code: 'result = x + 1', args: { x: 1 } });
      expect(out.data).toBe(2);
    });
  });

  describe('K2.3 result precedence', () => {
    it('(a) the global result, scalar (case 43 "scalar")', async () => {
      expect((await run({ code: 'result = 42' })).data).toBe(42);
    });

    it('(a) wins over main()', async () => {
      const out = await run({ code: 'result = "global"\ndef main():\n    return "main"' });
      expect(out.data).toBe('global');
    });

    it('(b) top-level return runs the code as a function body (case 43 "with_return")', async () => {
      const out = await run({ code: 'doubled = n * 2\nreturn {"doubled": doubled}', input: { n: 4 } });
      expect(out).toMatchObject({ status: 'ok', data: { doubled: 8 } });
    });

    it('(b) return with an early nested return', async () => {
      const code = 'if not items:\n    return {"empty": True}\nreturn {"n": len(items)}';
      expect((await run({ code, input: { items: [] } })).data).toEqual({ empty: true });
      expect((await run({ code, input: { items: [1, 2] } })).data).toEqual({ n: 2 });
    });

    it('(b) keeps multi-line string literals intact when wrapping', async () => {
      const out = await run({ code: 's = """a\nb"""\nreturn s' });
      expect(out.data).toBe('a\nb');
    });

    it('(b) a return after a top-level def does not count: SyntaxError', async () => {
      const out = await run({ code: 'def main():\n    return 1\nreturn 2' });
      expect(out.status).toBe('error');
      expect(out.error).toMatchObject({ kind: 'script_error', code: 'PY_SyntaxError', exception_type: 'SyntaxError' });
    });

    it('(c) main is called with the input keys matching its parameters (case 43 "with_main")', async () => {
      const out = await run({ code: 'def main(a, b):\n    return {"sum": a + b}', input: { a: 2, b: 5, unused: 99 } });
      expect(out).toMatchObject({ status: 'ok', data: { sum: 7 } });
    });

    it('(c) main with defaults uses them for missing keys', async () => {
      const out = await run({ code: 'def main(a, b=10, *, c=1):\n    return [a, b, c]', input: { a: 1, c: 3 } });
      expect(out.data).toEqual([1, 10, 3]);
    });

    it('(c) main(**kwargs) receives every input key', async () => {
      const out = await run({ code: 'def main(a, **kw):\n    return {"a": a, "kw": kw}', input: { a: 1, b: 2, 'not-an-identifier': 3 } });
      expect(out.data).toEqual({ a: 1, kw: { b: 2, 'not-an-identifier': 3 } });
    });

    it('(c) async main is awaited', async () => {
      const out = await run({
        code: 'import asyncio\nasync def main(n):\n    await asyncio.sleep(0.01)\n    return n * 3',
        input: { n: 5 },
      });
      expect(out.data).toBe(15);
    });

    it('(c) main is used when result is None', async () => {
      expect((await run({ code: 'result = None\ndef main():\n    return "m"' })).data).toBe('m');
    });

    it('(d) otherwise null', async () => {
      const out = await run({ code: 'x = 1' });
      expect(out.status).toBe('ok');
      expect(out.data).toBeNull();
    });

    it('top-level await is supported', async () => {
      const out = await run({ code: 'import asyncio\nawait asyncio.sleep(0)\nresult = "awaited"' });
      expect(out.data).toBe('awaited');
    });

    it('a missing required main parameter is a TypeError (schema)', async () => {
      const out = await run({ code: 'def main(a, missing):\n    return a', input: { a: 1 } });
      expect(out.error).toMatchObject({ kind: 'schema', code: 'PY_TypeError' });
    });
  });

  describe('K2.4 JSON conversion', () => {
    it('converts dates, decimals, UUIDs and sets with str(); tuples become lists', async () => {
      const out = await run({
        code: [
          'import datetime as dt, decimal, uuid as u',
          'result = {',
          '  "date": dt.date(2024, 1, 2),',
          '  "ts": dt.datetime(2024, 1, 2, 3, 4, 5),',
          '  "dec": decimal.Decimal("1.50"),',
          '  "uuid": u.UUID("12345678-1234-5678-1234-567812345678"),',
          '  "tuple": (1, (2, 3)),',
          '  "set": {7},',
          '  "nan": float("nan"), "inf": float("inf"),',
          '  "keys": {2: "int", None: "none", True: "bool", (1, 2): "tuple"},',
          '  "bytes": b"ab",',
          '  "big": 2 ** 64, "safe": 2 ** 53 - 1, "neg_big": -(2 ** 60),',
          '}',
        ].join('\n'),
      });
      expect(out.status).toBe('ok');
      expect(out.data).toEqual({
        date: '2024-01-02',
        ts: '2024-01-02 03:04:05',
        dec: '1.50',
        uuid: '12345678-1234-5678-1234-567812345678',
        tuple: [1, [2, 3]],
        set: '{7}',
        nan: 'NaN',
        inf: 'Infinity',
        keys: { '2': 'int', null: 'none', true: 'bool', '(1, 2)': 'tuple' },
        bytes: "b'ab'",
        big: '18446744073709551616',
        safe: 9007199254740991,
        neg_big: '-1152921504606846976',
      });
    });

    it('handles self-referencing structures without failing', async () => {
      const out = await run({ code: 'a = [1]\na.append(a)\nresult = a' });
      expect(out.status).toBe('ok');
      expect(out.data).toEqual([1, '[1, [...]]']);
    });
  });

  describe('libs, env, auth', () => {
    it('libs: import <module> as <alias>, dotted modules and {from, import}', async () => {
      const out = await run({
        code: 'result = {"median": stats.median(amounts), "join": pjoin("a", "b"), "dump": jd([1])}',
        libs: { stats: 'statistics', pjoin: { from: 'os.path', import: 'join' }, jd: { from: 'json', import: 'dumps' } },
        input: { amounts: [1, 5, 3] },
      });
      expect(out.data).toEqual({ median: 3, join: 'a/b', dump: '[1]' });
    });

    it('libs with alias == dotted module binds the top-level package', async () => {
      const out = await run({ code: 'result = xml.etree.ElementTree.__name__', libs: { 'xml.etree.ElementTree': 'xml.etree.ElementTree' } });
      expect(out.data).toBe('xml.etree.ElementTree');
    });

    it('a missing library is a script_error (ModuleNotFoundError)', async () => {
      const out = await run({ code: 'result = 1', libs: { nope: 'no_such_module_xyz' } });
      expect(out.error).toMatchObject({ kind: 'script_error', code: 'PY_ModuleNotFoundError' });
    });

    it('env is visible to the task and does not leak into the next one', async () => {
      const local = createPythonTool({ poolSize: 1 });
      try {
        const ctx = makeTestContext();
        const a = await local.run({ code: 'import subprocess\nresult = [os.environ.get("NOETL_T"), subprocess.check_output(["sh", "-c", "echo $NOETL_N"]).decode().strip()]', env: { NOETL_T: 'x', NOETL_N: 5, DROPPED: null } }, ctx);
        expect(a.data).toEqual(['x', '5']);
        const b = await local.run({ code: 'os.environ["SET_BY_TASK"] = "1"\nresult = [os.environ.get("NOETL_T"), os.environ.get("DROPPED")]' }, ctx);
        expect(b.data).toEqual([null, null]);
        const c = await local.run({ code: 'result = os.environ.get("SET_BY_TASK")' }, ctx);
        expect(c.data).toBeNull();
        expect(c.meta?.worker_pid).toBe(a.meta?.worker_pid);
      } finally {
        await local.close();
      }
    });

    it('auth: the resolved credential is the global `auth`; secrets are redacted from output and errors', async () => {
      const ctx = makeTestContext({ credentials: { pg_main: { type: 'postgres', data: { user: 'app', password: 's3cr3t-pw' } } } });
      const out = await run({ code: 'print("pw is", auth["password"])\nresult = {"user": auth["user"], "type": auth["type"]}', auth: 'pg_main' }, ctx);
      expect(out.status).toBe('ok');
      expect(out.data).toEqual({ user: 'app', type: 'postgres' });
      expect(out.meta?.stdout_tail).toBe('pw is ***\n');
      const err = await run({ code: 'raise RuntimeError("cannot connect with " + auth["password"])', auth: 'pg_main' }, ctx);
      expect(err.error?.message).toBe('RuntimeError: cannot connect with ***');
      expect(err.helpers?.py?.traceback).not.toContain('s3cr3t-pw');
      expect(err.helpers?.py?.traceback).toContain('***');
    });

    it('auth that cannot be resolved is an auth error', async () => {
      const out = await run({ code: 'result = 1', auth: 'missing' });
      expect(out.error).toMatchObject({ kind: 'auth', code: 'AUTH_NOT_FOUND' });
    });
  });

  describe('stdout/stderr capture (K2.5)', () => {
    it('captures print() and stderr separately from data', async () => {
      const out = await run({ code: 'import sys\nprint("hello")\nprint("oops", file=sys.stderr)\nsys.stdout.buffer.write(b"raw\\n")\nresult = 1' });
      expect(out.data).toBe(1);
      expect(out.meta).toMatchObject({ stdout_tail: 'hello\nraw\n', stderr_tail: 'oops\n', stdout_bytes: 10, stderr_bytes: 5 });
    });

    it('keeps only the last 8 KiB and counts every byte (beyond 1 MiB too)', async () => {
      const out = await run({ code: 'for i in range(30000):\n    print("line %06d %s" % (i, "x" * 40))\nprint("END")' });
      const tail = out.meta?.stdout_tail as string;
      expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(8192);
      expect(Buffer.byteLength(tail)).toBeGreaterThan(8000);
      expect(tail.endsWith('line 029999 ' + 'x'.repeat(40) + '\nEND\n')).toBe(true);
      expect(out.meta?.stdout_bytes).toBe(30000 * 53 + 4);
    });

    it('attributes output of subprocesses (raw fd 1/2) to the task', async () => {
      const out = await run({ code: 'import subprocess\nsubprocess.run(["sh", "-c", "echo from-child; echo child-err >&2"])\nresult = 1' });
      expect(out.meta?.stdout_tail).toContain('from-child');
      expect(out.meta?.stderr_tail).toContain('child-err');
    });

    it('logging configured in one task keeps writing to later tasks\' capture', async () => {
      const local = createPythonTool({ poolSize: 1 });
      try {
        const a = await local.run({ code: 'import logging\nlogging.basicConfig(level=logging.INFO)\nlogging.info("first")' }, makeTestContext());
        const b = await local.run({ code: 'import logging\nlogging.info("second")' }, makeTestContext());
        expect(a.meta?.stderr_tail).toContain('first');
        expect(b.meta?.stderr_tail).toContain('second');
        expect(b.meta?.stderr_tail).not.toContain('first');
      } finally {
        await local.close();
      }
    });
  });

  describe('exceptions (§2.1 outcome)', () => {
    const cases: Array<[string, string, string]> = [
      ['raise TypeError("t")', 'schema', 'TypeError'],
      ['raise ValueError("bad value")', 'schema', 'ValueError'],
      ['{}["k"]', 'schema', 'KeyError'],
      ['[][1]', 'schema', 'IndexError'],
      ['None.foo', 'schema', 'AttributeError'],
      ['json.loads("{not json")', 'parse', 'JSONDecodeError'],
      ['raise RuntimeError("exploded on purpose")', 'script_error', 'RuntimeError'],
      ['1/0', 'script_error', 'ZeroDivisionError'],
      ['class MyErr(Exception): pass\nraise MyErr("custom")', 'script_error', 'MyErr'],
      ['x = (', 'script_error', 'SyntaxError'],
      ['import no_such_module_abc', 'script_error', 'ModuleNotFoundError'],
    ];
    it.each(cases)('%s -> %s', async (code, kind, type) => {
      const out = await run({ code });
      expect(out.status).toBe('error');
      expect(out.error).toMatchObject({ kind, code: `PY_${type}`, exception_type: type, retryable: false, source: 'python' });
      expect(out.helpers?.py?.exception_type).toBe(type);
      expect(out.helpers?.py?.traceback).toContain(type);
      expect(out.data).toBeUndefined();
    });

    it('the traceback points into the task code and not into the worker', async () => {
      const out = await run({ code: 'def f():\n    raise KeyError("deep")\nf()' });
      const tb = out.helpers!.py!.traceback;
      expect(tb).toContain('File "<task>", line 2, in f');
      expect(tb).toContain('raise KeyError("deep")');
      expect(tb).not.toContain('python-worker.py');
    });

    it('caps the traceback at 8 KiB', async () => {
      const out = await run({ code: 'def r(n):\n    return r(n + 1)\nr(0)' });
      expect(out.error?.code).toBe('PY_RecursionError');
      expect(Buffer.byteLength(out.helpers!.py!.traceback)).toBeLessThanOrEqual(8192);
    });
  });

  describe('process control', () => {
    it('sys.exit(0) ends the code normally and does not kill the worker; sys.exit(2) is an error', async () => {
      const local = createPythonTool({ poolSize: 1 });
      try {
        const ctx = makeTestContext();
        const a = await local.run({ code: 'import sys\nresult = "before"\nsys.exit(0)\nresult = "after"' }, ctx);
        expect(a).toMatchObject({ status: 'ok', data: 'before' });
        const b = await local.run({ code: 'import sys\nsys.exit(2)' }, ctx);
        expect(b.error).toMatchObject({ kind: 'script_error', code: 'PY_SystemExit', exception_type: 'SystemExit' });
        const c = await local.run({ code: 'def main():\n    import sys\n    sys.exit()\nresult = None' }, ctx);
        expect(c).toMatchObject({ status: 'ok', data: null });
        const d = await local.run({ code: 'result = "alive"' }, ctx);
        expect(d.data).toBe('alive');
        expect(new Set([a, b, c, d].map((o) => o.meta?.worker_pid)).size).toBe(1);
        expect(local.pool.spawned).toBe(1);
      } finally {
        await local.close();
      }
    });

    it('a task that loops forever is killed at its timeout; the pool replaces the process', async () => {
      const local = createPythonTool({ poolSize: 1 });
      try {
        const ctx = makeTestContext();
        const warm = await local.run({ code: 'result = 1' }, ctx);
        const out = await local.run({ code: 'print("spinning")\nwhile True:\n    pass', timeout_seconds: 1 }, ctx);
        expect(out.status).toBe('error');
        expect(out.error).toMatchObject({ kind: 'timeout', code: 'TIMEOUT', retryable: true });
        const next = await local.run({ code: 'result = "next"' }, ctx);
        expect(next).toMatchObject({ status: 'ok', data: 'next' });
        expect(next.meta?.worker_pid).not.toBe(warm.meta?.worker_pid);
        expect(local.pool.liveProcesses).toBe(1);
        expect(local.pool.spawned).toBe(2); // the replacement was started right after the kill
      } finally {
        await local.close();
      }
    });

    it('spec.timeout (duration string) applies when the task has no timeout field', async () => {
      const out = await run({ code: 'import time\ntime.sleep(30)' }, makeTestContext({ spec: { timeout: '500ms' } }));
      expect(out.error).toMatchObject({ kind: 'timeout' });
      expect(out.error?.message).toContain('500ms');
    });

    it('os._exit() (process crash) is a script_error and the pool recovers', async () => {
      const local = createPythonTool({ poolSize: 1 });
      try {
        const ctx = makeTestContext();
        const dir = mkdtempSync(path.join(tmpdir(), 'noetl-py-'));
        const log = path.join(dir, 'runs');
        const out = await local.run({ code: 'import os\nwith open(log, "a") as f:\n    f.write("ran\\n")\nos._exit(3)', input: { log } }, ctx);
        expect(out.error).toMatchObject({ kind: 'script_error', code: 'PY_PROCESS_EXIT', details: { exit_code: 3, signal: null } });
        expect(readFileSync(log, 'utf8')).toBe('ran\n'); // a task that started is never re-run
        rmSync(dir, { recursive: true, force: true });
        expect(out.error?.message).toContain('exit code 3');
        const seg = await local.run({ code: 'import ctypes\nctypes.string_at(0)' }, ctx);
        expect(seg.error).toMatchObject({ kind: 'script_error', code: 'PY_PROCESS_EXIT', details: { signal: 'SIGSEGV' } });
        const next = await local.run({ code: 'result = "recovered"' }, ctx);
        expect(next.data).toBe('recovered');
      } finally {
        await local.close();
      }
    });

    it('enforces the memory limit: MemoryError is a script_error and the interpreter is replaced', async () => {
      const local = createPythonTool({ poolSize: 1, memoryLimitBytes: 512 * 1024 * 1024 });
      try {
        const ctx = makeTestContext();
        const out = await local.run({ code: 'big = bytearray(1024 * 1024 * 1024)\nresult = len(big)' }, ctx);
        expect(out.error).toMatchObject({ kind: 'script_error', code: 'PY_MemoryError', exception_type: 'MemoryError' });
        const next = await local.run({ code: 'result = len(bytearray(64 * 1024 * 1024))' }, ctx);
        expect(next.data).toBe(64 * 1024 * 1024);
        expect(next.meta?.worker_pid).not.toBe(out.meta?.worker_pid);
      } finally {
        await local.close();
      }
    });

    it('isolates consecutive tasks on the same process (fresh namespace, restored cwd/sys.path)', async () => {
      const local = createPythonTool({ poolSize: 1 });
      try {
        const ctx = makeTestContext();
        const a = await local.run({
          code: 'import sys\nleaked = 1\nresult = 5\ndef main():\n    return 1\nsys.path.insert(0, "/nowhere")\nos.chdir("/")\nimport __main__\nresult = __main__.leaked',
        }, ctx);
        expect(a.data).toBe(1);
        const b = await local.run({
          code: 'import sys\nresult = {"leaked": "leaked" in globals(), "main": "main" in globals(), "path": "/nowhere" in sys.path, "cwd": os.getcwd() != "/" or os.getcwd() == START}',
          input: { START: process.cwd() },
        }, ctx);
        expect(b.data).toEqual({ leaked: false, main: false, path: false, cwd: true });
        expect(b.meta?.worker_pid).toBe(a.meta?.worker_pid);
      } finally {
        await local.close();
      }
    });

    it('a task that leaves a thread running gets a fresh interpreter afterwards', async () => {
      const local = createPythonTool({ poolSize: 1 });
      try {
        const ctx = makeTestContext();
        const a = await local.run({ code: 'import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\nresult = 1' }, ctx);
        const b = await local.run({ code: 'result = 2' }, ctx);
        expect([a.data, b.data]).toEqual([1, 2]);
        expect(b.meta?.worker_pid).not.toBe(a.meta?.worker_pid);
      } finally {
        await local.close();
      }
    });

    it('runs tasks concurrently up to the pool size and queues the rest', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'noetl-py-'));
      const local = createPythonTool({ poolSize: 2 });
      try {
        // each task announces itself and waits for the other: only possible if both run at once
        const code = [
          'import time, pathlib',
          'pathlib.Path(d, me).touch()',
          'deadline = time.time() + 20',
          'while not pathlib.Path(d, other).exists():',
          '    if time.time() > deadline:',
          '        raise RuntimeError("peer never ran")',
          '    time.sleep(0.01)',
          'result = me',
        ].join('\n');
        const ctx = makeTestContext();
        const [a, b, c] = await Promise.all([
          local.run({ code, input: { d: dir, me: 'a', other: 'b' } }, ctx),
          local.run({ code, input: { d: dir, me: 'b', other: 'a' } }, ctx),
          local.run({ code: 'result = "queued"' }, ctx),
        ]);
        expect([a.data, b.data, c.data]).toEqual(['a', 'b', 'queued']);
        expect(a.meta?.worker_pid).not.toBe(b.meta?.worker_pid);
        expect(local.pool.spawned).toBe(2);
        expect(local.pool.liveProcesses).toBe(2);
      } finally {
        await local.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('cancellation via ctx.signal terminates the interpreter; the pool recovers', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'noetl-py-'));
      const local = createPythonTool({ poolSize: 1 });
      try {
        const ac = new AbortController();
        const ctx = makeTestContext({ signal: ac.signal });
        const marker = path.join(dir, 'started');
        const pending = local.run({ code: 'import pathlib, time\npathlib.Path(marker).touch()\ntime.sleep(60)', input: { marker } }, ctx);
        await waitForFile(marker);
        ac.abort();
        const out = await pending;
        expect(out.error).toMatchObject({ kind: 'cancelled', code: 'CANCELLED', retryable: false });
        const next = await local.run({ code: 'result = "after cancel"' }, makeTestContext());
        expect(next.data).toBe('after cancel');
        const already = await local.run({ code: 'result = 1' }, ctx);
        expect(already.error?.kind).toBe('cancelled');
      } finally {
        await local.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('cancellation escalates to SIGKILL when the task ignores SIGTERM', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'noetl-py-'));
      const local = createPythonTool({ poolSize: 1, killGraceMs: 300 });
      try {
        const ac = new AbortController();
        const marker = path.join(dir, 'started');
        const pending = local.run({
          code: 'import signal, pathlib, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\npathlib.Path(marker).touch()\ntime.sleep(60)',
          input: { marker },
        }, makeTestContext({ signal: ac.signal }));
        await waitForFile(marker);
        ac.abort();
        expect((await pending).error?.kind).toBe('cancelled');
      } finally {
        await local.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('an idle interpreter killed from outside is replaced, the next task does not fail', async () => {
      const local = createPythonTool({ poolSize: 1 });
      try {
        const a = await local.run({ code: 'result = 1' }, makeTestContext());
        process.kill(a.meta?.worker_pid as number, 'SIGKILL');
        const b = await local.run({ code: 'result = 2' }, makeTestContext());
        expect(b).toMatchObject({ status: 'ok', data: 2 });
        expect(b.meta?.worker_pid).not.toBe(a.meta?.worker_pid);
      } finally {
        await local.close();
      }
    });

    it('starts interpreters lazily and can recycle after every task', async () => {
      const local = createPythonTool({ poolSize: 2, maxTasksPerProcess: 1 });
      try {
        expect(local.pool.liveProcesses).toBe(0);
        const a = await local.run({ code: 'result = 1' }, makeTestContext());
        const b = await local.run({ code: 'result = 2' }, makeTestContext());
        expect(a.meta?.worker_pid).not.toBe(b.meta?.worker_pid);
        expect(local.pool.spawned).toBe(2);
      } finally {
        await local.close();
      }
    });

    it('a missing interpreter is an error outcome, not a throw', async () => {
      const local = createPythonTool({ pythonPath: '/nonexistent/python3' });
      try {
        const out = await local.run({ code: 'result = 1' }, makeTestContext());
        expect(out.error).toMatchObject({ kind: 'script_error', code: 'PY_INTERPRETER_UNAVAILABLE' });
        expect(out.error?.message).toContain('/nonexistent/python3');
      } finally {
        await local.close();
      }
    });
  });

  describe('configuration', () => {
    const bad: Array<[string, Record<string, unknown>, string]> = [
      ['code a list', { code: ['result = 1'] }, 'code'],
      ['code a mapping', { code: { a: 1 } }, 'code'],
      ['neither code nor script', { input: {} }, 'code'],
      ['code and script', { code: 'x=1', script: { source: { type: 'inline', code: 'x=1' } } }, 'code'],
      ['input not a mapping', { code: 'x=1', input: [1, 2] }, 'input'],
      ['args not a mapping', { code: 'x=1', args: 'a' }, 'args'],
      ['libs a list', { code: 'x=1', libs: ['pandas'] }, 'libs'],
      ['libs bad module', { code: 'x=1', libs: { a: 'not a module!' } }, 'libs'],
      ['env a list', { code: 'x=1', env: ['A=1'] }, 'env'],
      ['timeout_seconds not a duration', { code: 'x=1', timeout_seconds: 'soon' }, 'timeout_seconds'],
      ['timeout_seconds negative', { code: 'x=1', timeout_seconds: -1 }, 'timeout_seconds'],
      ['script without source', { script: { uri: 'x' } }, 'script'],
      ['script gcs', { script: { source: { type: 'gcs', uri: 'gs://b/x.py' } } }, 'script'],
      ['script missing file', { script: { source: { type: 'file', path: '/nonexistent/x.py' } } }, 'script'],
    ];
    it.each(bad)('%s -> config error naming the field', async (_name, config, field) => {
      const out = await run(config);
      expect(out.status).toBe('error');
      expect(out.error).toMatchObject({ kind: 'config', code: 'CONFIG', retryable: false, details: { field } });
      expect(out.error?.message).toContain(field);
    });

    it('script.source inline and file', async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'noetl-py-'));
      try {
        const file = path.join(dir, 'task.py');
        writeFileSync(file, 'result = {"from": "file", "n": n}\n');
        expect((await run({ script: { source: { type: 'file', path: file } }, input: { n: 1 } })).data).toEqual({ from: 'file', n: 1 });
        expect((await run({ script: { source: { type: 'inline', code: 'return 7' } } })).data).toBe(7);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a rendered number as code is converted to a string (K1.3)', async () => {
      expect(await run({ code: 42 })).toMatchObject({ status: 'ok', data: null });
    });

    it('uniformly indented code is dedented', async () => {
      expect((await run({ code: '    x = 2\n    result = x * 2\n' })).data).toBe(4);
    });
  });
});

async function waitForFile(file: string, timeoutMs = 20_000): Promise<void> {
  const { existsSync } = await import('node:fs');
  const end = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
