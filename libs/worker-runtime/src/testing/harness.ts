// Test harness for the worker runtime (not exported from the lib): a command builder, hand-built
// tasks, a scripted tool kind, a recording sleep, an fs results store with a synchronous hydrator.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadPlaybook, type NormalizedPlaybook, type PolicyRule, type PolicyThen, type SetBlock, type SetScope, type Task, type TaskPolicy } from '@noetl/dsl';
import type { Command, NoetlEvent, StepView } from '@noetl/events';
import type { Credential, ToolContext, ToolHandler, ToolOutcome } from '@noetl/tools';
import { ToolRegistry } from '@noetl/tools';
import { createFsResultStore, ResultStoreError, type ResultStore } from '@noetl/results';
import { deepMerge, type ResultRef } from '@noetl/common';
import type { WorkerDeps } from '../types';

export const EXEC = '01JTESTEXEC0000000000000000';

/** `set` keys as written (`ctx.a.b`, `iter.x`, `step.y`, bare) -> a normalized SetBlock (R9.13 task/policy column). */
export function setBlock(obj: Record<string, unknown>): SetBlock {
  return Object.entries(obj).map(([target, value]) => {
    const parts = target.split('.');
    const head = parts[0];
    if (head === 'ctx' || head === 'iter' || head === 'step') return { target, scope: head as SetScope, path: parts.slice(1), value };
    return { target, scope: 'step' as SetScope, path: parts, value };
  });
}

export interface ThenInput extends Omit<PolicyThen, 'set'> {
  set?: Record<string, unknown>;
}
export function when(cond: string | boolean, then: ThenInput): PolicyRule {
  return { when: cond, else: false, then: { ...then, set: then.set ? setBlock(then.set) : undefined } };
}
export function otherwise(then: ThenInput): PolicyRule {
  return { else: true, then: { ...then, set: then.set ? setBlock(then.set) : undefined } };
}
export function policy(rules: PolicyRule[], on_unmatched: TaskPolicy['on_unmatched'] = 'auto'): TaskPolicy {
  return { on_unmatched, rules };
}

export interface TaskInput {
  input?: Record<string, unknown>;
  auth?: unknown;
  spec?: Record<string, unknown>;
  policy?: TaskPolicy | PolicyRule[];
  set?: Record<string, unknown>;
  workbook?: Task['workbook'];
  [field: string]: unknown;
}

/** A normalized task (the shape the catalog produces, dsl model.ts). */
export function task(name: string, kind: string, t: TaskInput = {}): Task {
  const { input, auth, spec, policy: pol, set, workbook, ...fields } = t;
  const out: Task = { name, kind, spec: spec ?? {}, fields };
  if (input) out.input = input;
  if (auth !== undefined) out.auth = auth;
  if (pol) out.policy = Array.isArray(pol) ? policy(pol) : pol;
  if (set) out.set = setBlock(set);
  if (workbook) out.workbook = workbook;
  return out;
}

export interface CommandInput {
  pipeline: Task[];
  step?: string;
  commandN?: number;
  iteration?: { index: number; total: number; iterator: string; item?: unknown; item_ref?: ResultRef };
  base_spec?: Record<string, unknown>;
  step_input?: Record<string, unknown>;
  workload?: Record<string, unknown>;
  ctx?: Record<string, unknown>;
  args?: Record<string, unknown>;
  steps?: Record<string, StepView>;
  parent_iter?: Record<string, unknown> | null;
  keychain?: Command['keychain'];
  limits?: Partial<Command['limits']>;
  step_output?: Record<string, unknown>;
}

export function makeCommand(c: CommandInput): Command {
  const step = c.step ?? 'start';
  const stepRunId = `${EXEC}/r/3.0`;
  const it = c.iteration;
  const iterationId = it ? `${stepRunId}/i${it.index}` : undefined;
  return {
    v: 1,
    command_id: `${iterationId ?? stepRunId}/c${c.commandN ?? 1}`,
    type: it ? 'iteration' : 'step_run',
    execution_id: EXEC,
    root_execution_id: EXEC,
    step,
    step_run_id: stepRunId,
    iteration: it
      ? { loop_id: `${stepRunId}/loop`, iteration_id: iterationId!, index: it.index, total: it.total, iterator: it.iterator, item: it.item, item_ref: it.item_ref, first: it.index === 0, last: it.index === it.total - 1 }
      : null,
    playbook: { catalog_id: 'cat_1', path: 'test/worker', name: 'worker', version: 1, digest: 'sha256:00' },
    pipeline: c.pipeline,
    base_spec: c.base_spec ?? {},
    step_input: c.step_input,
    context: {
      globals: {},
      workload: c.workload ?? {},
      ctx: c.ctx ?? {},
      args: c.args ?? {},
      steps: c.steps ?? {},
      parent_iter: c.parent_iter ?? null,
    },
    keychain: c.keychain ?? [],
    limits: {
      max_task_executions: 100_000, inline_max_bytes: 102_400, preview_max_bytes: 1024, hydrate_max_bytes: 64 << 20, reference_first: false,
      ...(c.limits ?? {}),
    },
    step_output: c.step_output,
    pool: 'default',
    issued_at: '2026-01-01T00:00:00.000Z',
  };
}

type Script = ToolOutcome | ((config: Record<string, unknown>, ctx: ToolContext) => ToolOutcome | Promise<ToolOutcome>);

/**
 * `kind: script` for tests: returns scripted outcomes per task name, in order (the last repeats);
 * records every config it was called with. Not a mock of a server: a tool kind whose behaviour
 * is the script.
 */
export class ScriptTool implements ToolHandler {
  readonly kind = 'script';
  readonly calls: Array<{ task: string; attempt: number; config: Record<string, unknown> }> = [];
  private readonly scripts = new Map<string, Script[]>();
  private readonly used = new Map<string, number>();
  on(taskName: string, ...outcomes: Script[]): this {
    this.scripts.set(taskName, outcomes);
    return this;
  }
  async run(config: Record<string, unknown>, ctx: ToolContext): Promise<ToolOutcome> {
    this.calls.push({ task: ctx.task, attempt: ctx.attempt, config });
    const list = this.scripts.get(ctx.task);
    if (!list || list.length === 0) return { status: 'ok', data: config['result'] ?? null };
    const n = this.used.get(ctx.task) ?? 0;
    this.used.set(ctx.task, n + 1);
    const s = list[Math.min(n, list.length - 1)];
    return typeof s === 'function' ? s(config, ctx) : s;
  }
}

export const ok = (data: unknown, extra: Partial<ToolOutcome> = {}): ToolOutcome => ({ status: 'ok', data, ...extra });
export const err = (kind: string, code: string, message: string, extra: Partial<ToolOutcome> & { retryable?: boolean; http_status?: number } = {}): ToolOutcome => {
  const { retryable, http_status, ...rest } = extra;
  return { status: 'error', error: { kind, code, message, retryable: retryable ?? false, source: 'script', ...(http_status ? { http_status } : {}) }, ...rest };
};

/** Synchronous reader of an fs ResultRef (checksum verified), as the embedded runtime would provide. */
export function fsHydrator(ref: ResultRef): unknown {
  let buf: Buffer;
  try {
    buf = readFileSync(ref.path!);
  } catch (e) {
    throw new ResultStoreError('reference_not_available', 'RESULT_MISSING', `no result stored under ${ref.uri}`, {}, { cause: e });
  }
  const sum = `sha256:${createHash('sha256').update(buf).digest('hex')}`;
  if (sum !== ref.checksum) throw new ResultStoreError('reference_not_available', 'RESULT_CHECKSUM', `checksum mismatch for ${ref.uri}`);
  const raw = ref.compression === 'gzip' ? gunzipSync(buf) : buf;
  return JSON.parse(raw.toString('utf8'));
}

export interface Harness {
  deps: WorkerDeps;
  events: NoetlEvent[];
  sleeps: number[];
  logs: string[];
  script: ScriptTool;
  registry: ToolRegistry;
  store: ResultStore;
  credentials: Record<string, Credential>;
  /** make the next sleeps block until the signal aborts */
  blockSleeps(): void;
}

/** Result-store roots of this test file's harnesses, removed after its tests (no temp dirs left behind). */
const HARNESS_ROOTS: string[] = [];
const jestAfterAll = (globalThis as { afterAll?: (fn: () => void) => void }).afterAll;
if (typeof jestAfterAll === 'function') {
  jestAfterAll(() => {
    for (const r of HARNESS_ROOTS.splice(0)) rmSync(r, { recursive: true, force: true });
  });
}

export function makeHarness(opts: { tools?: ToolHandler[]; credentials?: Record<string, Credential>; strict?: boolean; clockStepMs?: number; deps?: Partial<WorkerDeps> } = {}): Harness {
  const events: NoetlEvent[] = [];
  const sleeps: number[] = [];
  const logs: string[] = [];
  const script = new ScriptTool();
  const registry = new ToolRegistry().register(script);
  for (const t of opts.tools ?? []) registry.register(t);
  const root = mkdtempSync(path.join(tmpdir(), 'noetl-worker-'));
  HARNESS_ROOTS.push(root);
  const store = createFsResultStore({ root });
  const credentials = opts.credentials ?? {};
  let t = Date.parse('2026-01-01T00:00:00.000Z');
  let block = false;
  const deps: WorkerDeps = {
    workerId: 'w-test',
    tools: registry,
    results: store,
    hydrate: fsHydrator,
    credentials: { get: async (name) => credentials[name] },
    emit: async (e) => {
      events.push(e);
    },
    now: () => new Date((t += opts.clockStepMs ?? 1)),
    sleep: (ms, signal) => {
      sleeps.push(ms);
      if (signal.aborted) return Promise.reject(new Error('aborted'));
      if (!block) return Promise.resolve();
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    },
    log: (l) => logs.push(l),
    strict: opts.strict,
    ...(opts.deps ?? {}),
  };
  return { deps, events, sleeps, logs, script, registry, store, credentials, blockSleeps: () => { block = true; } };
}

export const delivery = (epoch = 1, signal: AbortSignal = new AbortController().signal) => ({ epoch, signal });

/** `event_type[:task]` list of the events, for order assertions. */
export function trace(events: NoetlEvent[]): string[] {
  return events.map((e) => (e.task ? `${e.event_type}:${e.task}${e.attempt ? `#${e.attempt}` : ''}` : e.event_type));
}

export function ofType<T extends NoetlEvent['event_type']>(events: NoetlEvent[], type: T): Array<Extract<NoetlEvent, { event_type: T }>> {
  return events.filter((e) => e.event_type === type) as Array<Extract<NoetlEvent, { event_type: T }>>;
}

export function terminalPayload(events: NoetlEvent[]): Record<string, unknown> {
  return events[events.length - 1].payload as unknown as Record<string, unknown>;
}

// ------------------------------------------------------------------ playbook-driven commands
export interface RouteSpec {
  method: string;
  path: string;
  responses: Array<{ status: number; json?: unknown; headers?: Record<string, string>; delay_ms?: number }>;
}
export interface Routes { url: string; requests: Array<{ method: string; url: string; body: string }>; close(): Promise<void> }

/** A loopback HTTP server: per route, responses served in order, the last one repeats; else 404 {error: "no route"}. */
export async function startRoutes(routes: RouteSpec[]): Promise<Routes> {
  const served = new Map<RouteSpec, number>();
  const requests: Routes['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', body });
      const u = new URL(req.url ?? '/', 'http://x');
      const route = routes.find((r) => r.method === req.method && r.path === u.pathname);
      const reply = (status: number, json: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(json));
      };
      if (!route) return reply(404, { error: 'no route' });
      const n = served.get(route) ?? 0;
      served.set(route, n + 1);
      const r = route.responses[Math.min(n, route.responses.length - 1)];
      setTimeout(() => reply(r.status, r.json ?? null, r.headers), r.delay_ms ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

export function loadCase(file: string): NormalizedPlaybook {
  const text = readFileSync(path.join(CASES_DIR, file), 'utf8');
  const r = loadPlaybook(text, { file });
  if (!r.ok || !r.playbook) throw new Error(`${file}: ${JSON.stringify(r.diagnostics)}`);
  return r.playbook;
}
export const CASES_DIR = process.env.NOETL_CONFORMANCE_DIR ?? path.resolve(__dirname, '../../../../../shared/conformance/cases');

/** The command the scheduler would build for one run of `step` (runtime.md §4), from a normalized playbook. */
export function commandFor(pb: NormalizedPlaybook, stepName: string, opts: Omit<CommandInput, 'pipeline'> & { payload?: Record<string, unknown> } = {}): Command {
  const step = pb.steps.find((s) => s.name === stepName);
  if (!step) throw new Error(`no step ${stepName}`);
  const base = deepMerge(deepMerge(pb.executor.spec, step.spec), step.loop?.spec ?? {}) as Record<string, unknown>;
  const results = pb.executor.policy.results ?? {};
  return makeCommand({
    ...opts,
    step: stepName,
    pipeline: step.tasks,
    base_spec: base,
    step_input: step.input,
    workload: { ...pb.workload, ...(opts.payload ?? {}), ...(opts.workload ?? {}) },
    keychain: pb.keychain,
    step_output: step.output as Record<string, unknown> | undefined,
    limits: {
      ...(results.inline_max_bytes ? { inline_max_bytes: results.inline_max_bytes } : {}),
      ...(results.reference_first ? { reference_first: true } : {}),
      ...(pb.executor.policy.defaults?.timeout_s ? { default_timeout_s: pb.executor.policy.defaults.timeout_s } : {}),
      ...(opts.limits ?? {}),
    },
  });
}

/** The compact step view the scheduler ships in `context.steps` after a terminal event (T4.1). */
export function stepViewOf(terminal: NoetlEvent): StepView {
  const p = terminal.payload as unknown as Record<string, unknown>;
  if (terminal.event_type === 'step.done') {
    return { status: 'done', runs: 1, ...(p['result_ref'] ? { ref: p['result_ref'] as ResultRef, extracted: p['extracted'] as Record<string, unknown> } : { data: p['result'] }), http_result: p['http_result'] === true };
  }
  return { status: 'failed', runs: 1, error: p['error'] as StepView['error'] };
}
