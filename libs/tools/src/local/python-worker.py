"""NoETL `kind: python` worker: one warm CPython interpreter that runs tasks one at a time.

Started by libs/tools/src/local/python-pool.ts as
    python3 -u -B python-worker.py [--memory-limit BYTES]

Protocol: JSON lines. Requests arrive on fd 3, responses leave on fd 4; stdin is /dev/null and
the real stdout/stderr (fd 1/2) only carry raw output that bypasses sys.stdout/sys.stderr
(subprocesses, C extensions), which the host attributes to the running task. After a task the
worker writes an end mark (NUL "noetl-fence:<id>" NUL) on fd 1 and fd 2 and sets "fence": true in
the result; the host strips the marks and reports the task once both arrived (those pipes are not
ordered with fd 4).

    -> {"type": "task", "id": 1, "code": "...", "input": {...}, "execution_id": "...",
        "step": "...", "auth": {...}?, "libs": {...}?, "env": {...}?}
    <- {"type": "started", "id": 1}
    <- {"type": "result", "id": 1, "ok": true, "data": ..., "stdout": "<tail>", "stderr": "<tail>",
        "stdout_bytes": 0, "stderr_bytes": 0, "recycle": false}
    <- {"type": "result", "id": 1, "ok": false, "error": {"exception_type", "message",
        "traceback", "kind"}, ...}
    -> {"type": "exit"}

Conventions are those of tools.md §2.1 (K2.2 globals, K2.3 result precedence, K2.4 JSON
conversion). Every task gets a fresh module namespace; see docs/tools-local.md for what is and is
not isolated between tasks that share this interpreter.
"""

import ast
import builtins
import collections
import importlib
import inspect
import io
import json
import linecache
import math
import os
import sys
import textwrap
import threading
import time
import traceback
import types

REQ_FD = 3
RESP_FD = 4
# the host keeps 8 KiB (bytes) of each tail after redaction; send a wider window
TAIL_CHARS = 16 * 1024
TRACEBACK_CHARS = 16 * 1024
MAX_DEPTH = 200
# integers beyond a double's exact range travel as decimal strings (as int8 does in K2.10)
MAX_SAFE_INT = 2 ** 53 - 1
TASK_FILENAME = "<task>"
WRAPPER_NAME = "__noetl_task__"
BOOT_FILE = os.path.abspath(__file__)
SCHEMA_TYPES = (TypeError, ValueError, KeyError, IndexError, AttributeError)

# modules bound as globals before the K2.2 bindings (so input keys with these names win)
IMPLICIT_MODULES = ("json", "os", "sys", "re", "math", "time", "datetime", "uuid", "base64")


class Capture(io.TextIOBase):
    """Text sink for one stream of one task: a rolling tail plus a byte count (memory bounded)."""

    def __init__(self):
        super().__init__()
        self._chunks = collections.deque()
        self._chars = 0
        self.total_bytes = 0

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not %s" % type(s).__name__)
        if not s:
            return 0
        self.total_bytes += len(s.encode("utf-8", "surrogatepass"))
        if len(s) > TAIL_CHARS:
            s_kept = s[-TAIL_CHARS:]
        else:
            s_kept = s
        self._chunks.append(s_kept)
        self._chars += len(s_kept)
        while self._chunks and self._chars - len(self._chunks[0]) >= TAIL_CHARS:
            self._chars -= len(self._chunks.popleft())
        return len(s)

    def tail(self):
        return "".join(self._chunks)[-TAIL_CHARS:]


class _BinaryAdapter:
    """`sys.stdout.buffer` for code that writes bytes."""

    def __init__(self, proxy):
        self._proxy = proxy

    def write(self, b):
        self._proxy.write(bytes(b).decode("utf-8", "replace"))
        return len(b)

    def flush(self):
        self._proxy.flush()

    def writable(self):
        return True


class StreamProxy(io.TextIOBase):
    """Installed once as sys.stdout/sys.stderr: writes go to the running task's Capture (so
    handlers that captured the stream object, e.g. logging, keep working across tasks), or to
    the real stream between tasks."""

    def __init__(self, name, real):
        super().__init__()
        self._name = name
        self._real = real
        self.current = None
        self.buffer = _BinaryAdapter(self)

    @property
    def encoding(self):
        return "utf-8"

    @property
    def errors(self):
        return "strict"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._real.fileno()

    def write(self, s):
        cap = self.current
        if cap is not None:
            return cap.write(s)
        return self._real.write(s)

    def flush(self):
        if self.current is None:
            try:
                self._real.flush()
            except Exception:
                pass


STDOUT = StreamProxy("stdout", sys.__stdout__)
STDERR = StreamProxy("stderr", sys.__stderr__)

_code_cache = collections.OrderedDict()
_CODE_CACHE_SIZE = 128


# ---------------------------------------------------------------------------------------------
# JSON conversion (K2.4)

def _safe_str(v):
    try:
        return str(v)
    except BaseException:  # noqa: B902 - str() of arbitrary user objects
        try:
            return repr(v)
        except BaseException:
            return "<unprintable %s>" % type(v).__name__


def _float(v):
    if math.isfinite(v):
        return v
    if v != v:
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


def _key(k):
    if isinstance(k, str):
        return str(k)
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, int):
        return str(int(k))
    if isinstance(k, float):
        return json.dumps(float(k)) if math.isfinite(k) else _float(k)
    return _safe_str(k)


def to_jsonable(v, depth=0, path=None):
    """JSON-compatible copy: dict/list/tuple (and subclasses) recursively, str/int/float/bool/None
    as JSON, NaN/Infinity and integers beyond +-(2^53-1) as strings, anything else str() (dates,
    decimals, UUIDs, sets...)."""
    t = type(v)
    if v is None or t is str or t is bool:
        return v
    if t is int:
        return v if -MAX_SAFE_INT <= v <= MAX_SAFE_INT else str(v)
    if t is float:
        return _float(v)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return to_jsonable(int(v), depth, path)
    if isinstance(v, float):
        return _float(float(v))
    if isinstance(v, str):
        return str(v)
    if isinstance(v, (dict, list, tuple)):
        if depth >= MAX_DEPTH:
            return _safe_str(v)
        if path is None:
            path = set()
        oid = id(v)
        if oid in path:
            return _safe_str(v)
        path.add(oid)
        try:
            if isinstance(v, dict):
                return {_key(k): to_jsonable(x, depth + 1, path) for k, x in v.items()}
            return [to_jsonable(x, depth + 1, path) for x in v]
        finally:
            path.discard(oid)
    return _safe_str(v)


# ---------------------------------------------------------------------------------------------
# code preparation (K2.3 b)

def _has_top_level_return(tree):
    """A `return` statement at the top level before any top-level def/class."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return False
        if isinstance(node, ast.Return):
            return True
    return False


def _has_top_level_await(body):
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
            return True
        if isinstance(node, ast.comprehension) and node.is_async:
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _wrap(tree):
    cls = ast.AsyncFunctionDef if _has_top_level_await(tree.body) else ast.FunctionDef
    fn = cls(
        name=WRAPPER_NAME,
        args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                           kwarg=None, defaults=[]),
        body=tree.body,
        decorator_list=[],
        returns=None,
        type_comment=None,
    )
    if sys.version_info >= (3, 12):
        fn.type_params = []
    fn.lineno = 1
    fn.col_offset = 0
    module = ast.Module(body=[fn], type_ignores=[])
    ast.fix_missing_locations(module)
    return module


def _normalize_source(code):
    lines = code.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    if first[:1] in (" ", "\t"):
        return textwrap.dedent(code)
    return code


def compile_task(code):
    """-> (code_object, wrapped). Cached by source text; code objects are reusable."""
    hit = _code_cache.get(code)
    if hit is not None:
        _code_cache.move_to_end(code)
        return hit
    source = _normalize_source(code)
    tree = ast.parse(source, TASK_FILENAME)
    wrapped = _has_top_level_return(tree)
    if wrapped:
        code_obj = compile(_wrap(tree), TASK_FILENAME, "exec")
    else:
        code_obj = compile(tree, TASK_FILENAME, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    entry = (code_obj, wrapped, source)
    _code_cache[code] = entry
    if len(_code_cache) > _CODE_CACHE_SIZE:
        _code_cache.popitem(last=False)
    return entry


# ---------------------------------------------------------------------------------------------
# execution

def _run_async(awaitable):
    import asyncio

    async def _await():
        return await awaitable

    return asyncio.run(_await())


def _exit_ok(e):
    return e.code is None or e.code == 0


def _call_main(main, inp):
    try:
        sig = inspect.signature(main)
    except (TypeError, ValueError):
        ret = main()
    else:
        pos, kw, used = [], {}, set()
        var_kw = False
        positional_open = True
        for p in sig.parameters.values():
            if p.kind is p.POSITIONAL_ONLY:
                if positional_open and p.name in inp:
                    pos.append(inp[p.name])
                    used.add(p.name)
                else:
                    positional_open = False
            elif p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                if p.name in inp:
                    kw[p.name] = inp[p.name]
            elif p.kind is p.VAR_KEYWORD:
                var_kw = True
        if var_kw:
            for k, v in inp.items():
                if k not in kw and k not in used:
                    kw[k] = v
        ret = main(*pos, **kw)
    if inspect.isawaitable(ret):
        ret = _run_async(ret)
    return ret


def _bind_lib(ns, alias, spec):
    if isinstance(spec, str):
        module = importlib.import_module(spec)
        if alias == spec and "." in spec:
            top = spec.split(".")[0]  # `import a.b` binds `a`
            ns[top] = importlib.import_module(top)
        else:
            ns[alias] = module
        return
    frm, name = spec["from"], spec["import"]
    module = importlib.import_module(frm)
    try:
        ns[alias] = getattr(module, name)
    except AttributeError:
        ns[alias] = importlib.import_module(frm + "." + name)


def execute(req, ns):
    inp = req.get("input") or {}
    # implicit modules, then K2.2: (1) execution_id, step; (2) input_data, args; (3) input keys
    for name in IMPLICIT_MODULES:
        ns[name] = sys.modules.get(name) or importlib.import_module(name)
    ns["execution_id"] = req.get("execution_id")
    ns["step"] = req.get("step")
    if "auth" in req:
        ns["auth"] = req["auth"]
    ns["input_data"] = inp
    ns["args"] = inp
    for k, v in inp.items():
        if k.startswith("__") and k.endswith("__"):
            continue  # never clobber dunders such as __builtins__
        ns[k] = v
    for alias, spec in (req.get("libs") or {}).items():
        _bind_lib(ns, alias, spec)

    code_obj, wrapped, source = compile_task(req["code"])
    linecache.cache[TASK_FILENAME] = (len(source), None, source.splitlines(True), TASK_FILENAME)

    returned = None
    exited = False
    try:
        if wrapped:
            exec(code_obj, ns)
            fn = ns.pop(WRAPPER_NAME)
            returned = fn()
            if inspect.isawaitable(returned):
                returned = _run_async(returned)
        elif code_obj.co_flags & inspect.CO_COROUTINE:
            _run_async(eval(code_obj, ns))
        else:
            exec(code_obj, ns)
    except SystemExit as e:
        if not _exit_ok(e):
            raise
        exited = True

    # K2.3 (a) `result` global, (b) top-level return, (c) main(), (d) null
    result = ns.get("result")
    if result is not None:
        return result
    if wrapped:
        return returned
    main = ns.get("main")
    if callable(main) and not exited:
        try:
            return _call_main(main, inp)
        except SystemExit as e:
            if not _exit_ok(e):
                raise
            return None
    return None


def _strip_boot_frames(tb):
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) == BOOT_FILE:
        tb = tb.tb_next
    return tb


def describe(e):
    et = type(e).__name__
    if isinstance(e, SystemExit):
        message = ("exit code %d" % e.code) if isinstance(e.code, int) else _safe_str(e.code)
    else:
        message = _safe_str(e)
    if not message:
        message = et
    if isinstance(e, json.JSONDecodeError):
        kind = "parse"
    elif isinstance(e, SCHEMA_TYPES):
        kind = "schema"
    else:
        kind = "script_error"
    try:
        tb = "".join(traceback.format_exception(type(e), e, _strip_boot_frames(e.__traceback__)))
    except BaseException:
        tb = "%s: %s\n" % (et, message)
    return {"exception_type": et, "message": message, "traceback": tb[-TRACEBACK_CHARS:], "kind": kind}


def run_task(req):
    out, err = Capture(), Capture()
    resp = {"type": "result", "id": req.get("id")}
    recycle = False
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_path = list(sys.path)
    saved_argv = list(sys.argv)
    saved_main = sys.modules.get("__main__")
    saved_recursion = sys.getrecursionlimit()
    try:
        module = types.ModuleType("__main__")
        ns = module.__dict__
        ns["__builtins__"] = builtins
        for k, v in (req.get("env") or {}).items():
            os.environ[str(k)] = str(v)
        sys.argv = [TASK_FILENAME]
        STDOUT.current, STDERR.current = out, err
        sys.stdout, sys.stderr = STDOUT, STDERR
        sys.modules["__main__"] = module
        value = execute(req, ns)
        STDOUT.current = STDERR.current = None
        resp["data"] = to_jsonable(value)
        resp["ok"] = True
    except BaseException as e:  # noqa: B902 - user code may raise anything, SystemExit included
        STDOUT.current = STDERR.current = None
        resp.pop("data", None)
        resp["ok"] = False
        resp["error"] = describe(e)
        if isinstance(e, (MemoryError, KeyboardInterrupt)):
            recycle = True
    finally:
        STDOUT.current = STDERR.current = None
        sys.stdout, sys.stderr = STDOUT, STDERR
        if saved_main is not None:
            sys.modules["__main__"] = saved_main
        sys.argv = saved_argv
        sys.path[:] = saved_path
        sys.setrecursionlimit(saved_recursion)
        try:
            os.chdir(saved_cwd)
        except OSError:
            recycle = True
        if dict(os.environ) != saved_env:
            os.environ.clear()
            os.environ.update(saved_env)
        linecache.cache.pop(TASK_FILENAME, None)
    resp["stdout"] = out.tail()
    resp["stderr"] = err.tail()
    resp["stdout_bytes"] = out.total_bytes
    resp["stderr_bytes"] = err.total_bytes
    resp["recycle"] = recycle
    return resp


# ---------------------------------------------------------------------------------------------
# main loop

def _watch_parent(ppid):
    while True:
        time.sleep(1.0)
        if os.getppid() != ppid:
            os._exit(0)


def main(argv):
    memory_limit = 0
    i = 0
    while i < len(argv):
        if argv[i] == "--memory-limit" and i + 1 < len(argv):
            memory_limit = int(argv[i + 1])
            i += 2
        else:
            i += 1
    if memory_limit > 0:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    for fd in (REQ_FD, RESP_FD):
        os.set_inheritable(fd, False)
    rfile = open(REQ_FD, "rb", closefd=False)
    wfile = open(RESP_FD, "wb", closefd=False)
    sys.stdin = open(os.devnull, "r")
    sys.stdout, sys.stderr = STDOUT, STDERR

    def send(obj):
        try:
            line = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
        except BaseException as e:  # noqa: B902 - never lose the response
            line = json.dumps({
                "type": "result", "id": obj.get("id"), "ok": False, "recycle": True,
                "error": {"exception_type": type(e).__name__, "kind": "script_error",
                          "message": "could not serialize the task result: %s" % _safe_str(e),
                          "traceback": ""},
                "stdout": "", "stderr": "", "stdout_bytes": 0, "stderr_bytes": 0,
            })
        wfile.write(line.encode("ascii") + b"\n")
        wfile.flush()

    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True,
                     name="noetl-parent-watch").start()
    baseline_threads = threading.active_count()
    send({"type": "ready", "pid": os.getpid(), "python": sys.version.split()[0]})

    while True:
        line = rfile.readline()
        if not line:
            break
        try:
            req = json.loads(line)
        except ValueError as e:
            send({"type": "protocol_error", "message": str(e)})
            continue
        if req.get("type") == "exit":
            break
        send({"type": "started", "id": req.get("id")})  # a crash before this line never ran the task
        resp = run_task(req)
        if threading.active_count() > baseline_threads:
            resp["recycle"] = True  # a task left threads running: do not reuse this interpreter
        resp["fence"] = _write_fences(req.get("id"))
        send(resp)
    wfile.flush()
    os._exit(0)


def _write_fences(task_id):
    """Mark the end of a task's raw output on fd 1 and fd 2.

    Raw output (subprocesses, C extensions) travels on pipes other than the response's, so the
    host could read the response before the last raw bytes. It waits for these marks before it
    reports the task (and strips them). False when either could not be written (a task that
    closed fd 1 or 2): the host then does not wait.
    """
    mark = ("\x00noetl-fence:%s\x00" % task_id).encode("ascii")
    ok = True
    for fd in (1, 2):
        try:
            view = memoryview(mark)
            while view:
                view = view[os.write(fd, view):]
        except OSError:
            ok = False
    return ok


if __name__ == "__main__":
    main(sys.argv[1:])
