import { readFile } from 'node:fs/promises';
import { isPlainObject, makeError } from '@noetl/common';
import type { ErrorKind } from '@noetl/common';
import type { ToolContext, ToolHandler, ToolOutcome } from '../types';
import { authFailure } from '../auth';
import { configFailure, describeType, errorOutcome, optString, optStringMap, ToolConfigError } from '../config';
import { effectiveTimeoutMs, KIND_DEFAULT_TIMEOUT_S } from '../timeout';
import { lastBytes, redactedTail, TAIL_BYTES } from './process-io';
import { PythonPool } from './python-pool';
import type { PythonAbortReason, PythonPoolOptions, PythonRunResult, PythonTaskRequest } from './python-pool';

export interface PythonToolOptions {
  /** warm interpreters kept by the pool (default 2); tasks beyond it queue */
  poolSize?: number;
  /** interpreter executable (default `python3`, or `NOETL_PYTHON`) */
  pythonPath?: string;
  /** address-space limit (RLIMIT_AS) of each interpreter in bytes (default 2 GiB; 0 = none) */
  memoryLimitBytes?: number;
  /** recycle an interpreter after this many tasks (default 1000; 1 = fresh process per task) */
  maxTasksPerProcess?: number;
  /** path of python-worker.py (default: found next to this module) */
  bootstrapPath?: string;
  /** SIGTERM -> SIGKILL grace on cancellation (default 5000 ms) */
  killGraceMs?: number;
}

/** The python tool handler plus its pool (exposed for tests and benchmarks). */
export interface PythonToolHandler extends ToolHandler {
  readonly pool: PythonPool;
  close(): Promise<void>;
}

const SOURCE = 'python';
const FIELDS = ['code', 'script', 'input', 'args', 'libs', 'env', 'timeout_seconds', 'auth'] as const;
const MODULE_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `kind: python` (tools.md §2.1): runs the task's code in a warm CPython interpreter taken from a
 * pool, in a fresh module namespace per task. See docs/tools-local.md for the isolation model.
 *
 * @example
 * const py = createPythonTool({ poolSize: 4 });
 * const out = await py.run({ code: 'result = {"n": n * 2}', input: { n: 21 } }, ctx); // data {n: 42}
 * await py.close();
 */
export function createPythonTool(opts: PythonToolOptions = {}): PythonToolHandler {
  const poolOpts: PythonPoolOptions = {
    size: opts.poolSize,
    pythonPath: opts.pythonPath,
    memoryLimitBytes: opts.memoryLimitBytes,
    maxTasksPerProcess: opts.maxTasksPerProcess,
    bootstrapPath: opts.bootstrapPath,
    killGraceMs: opts.killGraceMs,
  };
  const pool = new PythonPool(poolOpts); // lazy: no process starts before the first task
  return {
    kind: 'python',
    fields: FIELDS,
    pool,
    async run(config, ctx) {
      return runPython(pool, config ?? {}, ctx);
    },
    async close() {
      await pool.close();
    },
  };
}

async function runPython(pool: PythonPool, config: Record<string, unknown>, ctx: ToolContext): Promise<ToolOutcome> {
  let code: string;
  let input: Record<string, unknown>;
  let libs: PythonTaskRequest['libs'];
  let env: Record<string, string> | undefined;
  let timeoutMs: number;
  try {
    input = readInput(config);
    try {
      JSON.stringify(input);
    } catch (e) {
      throw new ToolConfigError('input', `field 'input' is not JSON-serializable: ${(e as Error).message}`);
    }
    libs = readLibs(config);
    env = optStringMap(config, 'env');
    timeoutMs = effectiveTimeoutMs(config, ctx, KIND_DEFAULT_TIMEOUT_S.python);
    const source = await readCode(config, ctx, timeoutMs);
    if (typeof source !== 'string') return source;
    code = source;
  } catch (e) {
    return configFailure(ctx, SOURCE, e);
  }

  let auth: Record<string, unknown> | undefined;
  if (config.auth !== undefined && config.auth !== null) {
    try {
      const cred = await ctx.resolveAuth(config.auth);
      auth = { type: cred.type, ...cred.data }; // ctx.resolveAuth registered the secret values
    } catch (e) {
      return authFailure(ctx, SOURCE, e);
    }
  }

  if (ctx.signal.aborted) return cancelledOutcome(ctx);

  const req: PythonTaskRequest = {
    code,
    input,
    execution_id: ctx.executionId,
    step: ctx.step,
    ...(auth ? { auth } : {}),
    ...(libs ? { libs } : {}),
    ...(env ? { env } : {}),
  };

  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort({ kind: 'timeout' } satisfies PythonAbortReason), timeoutMs);
  const onCancel = (): void => controller.abort({ kind: 'cancelled' } satisfies PythonAbortReason);
  ctx.signal.addEventListener('abort', onCancel, { once: true });
  let result: PythonRunResult;
  try {
    result = await pool.run(req, controller.signal);
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onCancel);
  }
  return toOutcome(result, timeoutMs, ctx);
}

function readInput(config: Record<string, unknown>): Record<string, unknown> {
  const pick = (field: 'input' | 'args'): Record<string, unknown> | undefined => {
    const v = config[field];
    if (v === undefined || v === null) return undefined;
    if (!isPlainObject(v)) throw new ToolConfigError(field, `field '${field}' must be a mapping, got ${describeType(v)}`);
    return v;
  };
  const args = pick('args');
  const input = pick('input');
  return { ...(args ?? {}), ...(input ?? {}) };
}

function readLibs(config: Record<string, unknown>): PythonTaskRequest['libs'] {
  const v = config.libs;
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw new ToolConfigError('libs', `field 'libs' must be a mapping of alias -> module, got ${describeType(v)}`);
  const out: NonNullable<PythonTaskRequest['libs']> = {};
  for (const [alias, spec] of Object.entries(v)) {
    if (!IDENT_RE.test(alias) && !(typeof spec === 'string' && alias === spec && MODULE_RE.test(spec))) {
      throw new ToolConfigError('libs', `field 'libs': alias '${alias}' is not a Python identifier`);
    }
    if (typeof spec === 'string') {
      if (!MODULE_RE.test(spec)) throw new ToolConfigError('libs', `field 'libs': '${spec}' (alias '${alias}') is not a module name`);
      out[alias] = spec;
    } else if (isPlainObject(spec) && typeof spec.from === 'string' && typeof spec.import === 'string'
      && MODULE_RE.test(spec.from) && IDENT_RE.test(spec.import)) {
      out[alias] = { from: spec.from, import: spec.import };
    } else {
      throw new ToolConfigError('libs', `field 'libs': entry '${alias}' must be a module name or {from, import}, got ${describeType(spec)}`);
    }
  }
  return out;
}

/** `code`, or `script.source` (inline, file, http). Returns an outcome for fetch failures. */
async function readCode(config: Record<string, unknown>, ctx: ToolContext, timeoutMs: number): Promise<string | ToolOutcome> {
  const hasCode = config.code !== undefined && config.code !== null;
  const hasScript = config.script !== undefined && config.script !== null;
  if (hasCode && hasScript) throw new ToolConfigError('code', "give either 'code' or 'script', not both");
  if (hasCode) return optString(config, 'code') as string; // K1.3: rendered numbers/booleans are converted
  if (!hasScript) throw new ToolConfigError('code', "one of 'code' or 'script' is required");
  const script = config.script;
  if (!isPlainObject(script) || !isPlainObject(script.source)) {
    throw new ToolConfigError('script', "field 'script' must be a mapping with a 'source' mapping");
  }
  const src = script.source;
  switch (src.type) {
    case 'inline':
      if (typeof src.code !== 'string') throw new ToolConfigError('script', "script.source.code must be a string for type 'inline'");
      return src.code;
    case 'file': {
      if (typeof src.path !== 'string' || src.path === '') throw new ToolConfigError('script', "script.source.path must be a string for type 'file'");
      try {
        return await readFile(src.path, 'utf8');
      } catch (e) {
        throw new ToolConfigError('script', `cannot read script file '${src.path}': ${(e as Error).message}`);
      }
    }
    case 'http': {
      const endpoint = src.endpoint ?? src.url;
      if (typeof endpoint !== 'string') throw new ToolConfigError('script', "script.source.endpoint must be a string for type 'http'");
      const method = typeof src.method === 'string' ? src.method.toUpperCase() : 'GET';
      const fetchTimeout = typeof src.timeout === 'number' && src.timeout > 0 ? src.timeout * 1000 : Math.min(timeoutMs, 30_000);
      try {
        const res = await fetch(endpoint, { method, signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(fetchTimeout)]) });
        if (!res.ok) {
          return errorOutcome(ctx, SOURCE, res.status >= 500 ? 'server_error' : 'client_error', `HTTP_${res.status}`,
            `cannot fetch script from ${endpoint}: HTTP ${res.status}`, { http_status: res.status });
        }
        return await res.text();
      } catch (e) {
        const kind: ErrorKind = (e as Error).name === 'TimeoutError' ? 'timeout' : 'connection';
        return errorOutcome(ctx, SOURCE, kind, kind.toUpperCase(), `cannot fetch script from ${endpoint}: ${(e as Error).message}`);
      }
    }
    case 'gcs':
    case 's3':
      throw new ToolConfigError('script', `script.source.type '${String(src.type)}' is not supported by this worker (use inline, file or http)`);
    default:
      throw new ToolConfigError('script', `script.source.type must be one of inline, file, http, gcs, s3, got ${JSON.stringify(src.type)}`);
  }
}

function cancelledOutcome(ctx: ToolContext, message = 'python task cancelled'): ToolOutcome {
  return errorOutcome(ctx, SOURCE, 'cancelled', 'CANCELLED', message);
}

function toOutcome(result: PythonRunResult, timeoutMs: number, ctx: ToolContext): ToolOutcome {
  if (result.type === 'spawn_failed') {
    return errorOutcome(ctx, SOURCE, 'script_error', 'PY_INTERPRETER_UNAVAILABLE', result.message);
  }
  const py = result.type === 'response' ? result.response : undefined;
  const stdout = (py?.stdout ?? '') + result.raw.stdout;
  const stderr = (py?.stderr ?? '') + result.raw.stderr;
  const meta: Record<string, unknown> = {
    stdout_tail: redactedTail(stdout, ctx),
    stderr_tail: redactedTail(stderr, ctx),
    stdout_bytes: (py?.stdout_bytes ?? 0) + result.raw.stdoutBytes,
    stderr_bytes: (py?.stderr_bytes ?? 0) + result.raw.stderrBytes,
  };
  if (result.pid !== undefined) meta.worker_pid = result.pid;

  switch (result.type) {
    case 'response': {
      const r = result.response;
      if (r.ok) return { status: 'ok', data: r.data === undefined ? null : r.data, meta };
      const e = r.error ?? { exception_type: 'Exception', message: 'unknown error', traceback: '', kind: 'script_error' as const };
      const kind: ErrorKind = e.kind === 'schema' || e.kind === 'parse' ? e.kind : 'script_error';
      const traceback = lastBytes(ctx.redact(e.traceback ?? ''), TAIL_BYTES);
      return {
        status: 'error',
        error: makeError(kind, `PY_${e.exception_type}`, ctx.redact(`${e.exception_type}: ${e.message}`), {
          source: SOURCE,
          exception_type: e.exception_type,
        }),
        helpers: { py: { exception_type: e.exception_type, traceback } },
        meta,
      };
    }
    case 'timeout':
      return {
        status: 'error',
        error: makeError('timeout', 'TIMEOUT', `python task exceeded its timeout of ${formatSeconds(timeoutMs)}; the interpreter was killed`, { source: SOURCE }),
        meta,
      };
    case 'cancelled':
      return { ...cancelledOutcome(ctx, result.closed ? 'python task aborted: the python tool was closed' : 'python task cancelled; the interpreter was terminated'), meta };
    case 'crashed': {
      const how = result.signal ? `killed by signal ${result.signal}` : `exit code ${result.exitCode}`;
      const hint = result.signal === 'SIGKILL' ? ' (possibly out of memory)' : result.signal === 'SIGSEGV' ? ' (segmentation fault)' : '';
      return {
        status: 'error',
        error: makeError('script_error', 'PY_PROCESS_EXIT',
          ctx.redact(`python interpreter exited while running the task (${how})${hint}; os._exit(), a crash in native code or a killed process`), {
            source: SOURCE,
            details: { exit_code: result.exitCode, signal: result.signal },
          }),
        meta,
      };
    }
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

