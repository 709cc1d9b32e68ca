import { deepMerge } from '@noetl/common';
import type { NormalizedPlaybook, Step } from '@noetl/dsl';
import { ids, type Command, type CommandIteration, type StepView } from '@noetl/events';
import { analysis, stepOf } from './analysis';
import { fitCommand, staticSize } from './command-size';
import { stepResultLimit } from './limits';
import { pmapGet, pmapKeys } from './pmap';
import { globalsOf, recordView } from './render';
import type { EngineEnv, ExecutionState, RunState } from './types';

/** base_spec = deep_merge(executor.spec, step.spec, loop.spec), policies already stripped by the model (§4, R5.1). */
export function baseSpec(playbook: NormalizedPlaybook, step: Step): Record<string, unknown> {
  let spec = deepMerge(playbook.executor.spec ?? {}, step.spec ?? {});
  if (step.loop) spec = deepMerge(spec, step.loop.spec ?? {});
  return spec as Record<string, unknown>;
}

/** Effective pool (§8.5): the merged `spec.pool`, else `executor.spec.pool`, else `default`. */
export function poolOf(playbook: NormalizedPlaybook, step: Step): string {
  const p = staticParts(playbook, step).base_spec.pool;
  return typeof p === 'string' && p !== '' ? p : playbook.executor.pool || 'default';
}

/** `context.steps`: views of the steps the step's templates reference (T4.1), every reached step if dynamic. */
export function stepViewsFor(state: ExecutionState, playbook: NormalizedPlaybook, step: string): Record<string, StepView> {
  const refs = playbook.graph?.step_refs?.[step];
  const out: Record<string, StepView> = {};
  const names = !refs || refs.dynamic ? pmapKeys(state.steps) : refs.steps;
  for (const n of names) {
    const rec = pmapGet(state.steps, n);
    if (!rec) continue;
    const v = recordView(rec);
    if (v) out[n] = v;
  }
  return out;
}

const KEYCHAIN_CACHE = new WeakMap<NormalizedPlaybook, Command['keychain']>();
function keychainOf(playbook: NormalizedPlaybook): Command['keychain'] {
  let k = KEYCHAIN_CACHE.get(playbook);
  if (!k) {
    k = playbook.keychain.map((e) => ({ name: e.name, kind: e.kind, scope: e.scope, fields: e.fields }));
    KEYCHAIN_CACHE.set(playbook, k);
  }
  return k;
}

/** Per-step static parts of a command, cached per playbook (steps are immutable). */
interface StaticParts {
  base_spec: Record<string, unknown>;
  step_output?: Record<string, unknown>;
  /** JSON size of pipeline + base_spec + step_input + step_output + keychain (T4.3 size check), set on first use */
  bytes?: number;
}
const STATIC_CACHE = new WeakMap<Step, StaticParts>();
function staticParts(playbook: NormalizedPlaybook, step: Step): StaticParts {
  let s = STATIC_CACHE.get(step);
  if (!s) {
    s = { base_spec: baseSpec(playbook, step) };
    if (step.output) s.step_output = step.output as Record<string, unknown>;
    STATIC_CACHE.set(step, s);
  }
  return s;
}

const GLOBALS_CACHE = new WeakMap<object, Record<string, unknown>>();
function globalsFor(state: ExecutionState): Record<string, unknown> {
  const key = state.playbook;
  if (!key) return globalsOf(state) as unknown as Record<string, unknown>;
  let g = GLOBALS_CACHE.get(key);
  if (!g || g.execution_id !== state.execution_id) GLOBALS_CACHE.set(key, (g = globalsOf(state) as unknown as Record<string, unknown>));
  return g;
}

const LIMITS_CACHE = new WeakMap<Step, { of: object; limits: Command['limits'] }>();
function limitsFor(playbook: NormalizedPlaybook, step: Step, limits: ExecutionState['limits']): Command['limits'] {
  const c = LIMITS_CACHE.get(step);
  if (c && c.of === limits) return c.limits;
  const out: Command['limits'] = {
    max_task_executions: limits.max_task_executions,
    inline_max_bytes: stepResultLimit(playbook, step, 'inline_max_bytes', limits),
    preview_max_bytes: stepResultLimit(playbook, step, 'preview_max_bytes', limits),
    hydrate_max_bytes: limits.worker_hydrate_max_bytes,
    reference_first: playbook.executor.policy.results?.reference_first === true,
  };
  const dt = playbook.executor.policy.defaults?.timeout_s;
  if (typeof dt === 'number') out.default_timeout_s = dt;
  LIMITS_CACHE.set(step, { of: limits, limits: out });
  return out;
}

/**
 * Build the command of a step run or of one loop iteration (runtime.md §4) from the current state.
 * With the shell's `store` port, a command over `limits.max_event_bytes` carries its largest
 * workload / ctx / step values by reference (T4.3, see command-size.ts); without it, inline.
 */
export function buildCommand(
  state: ExecutionState,
  playbook: NormalizedPlaybook,
  run: RunState,
  issuedAt: string,
  iteration: CommandIteration | null,
  views?: Record<string, StepView>,
  store?: EngineEnv['storeValue'],
): Command {
  const step = stepOf(playbook, run.step);
  const st = staticParts(playbook, step);
  const limits = state.limits;
  const pb = state.playbook;
  const cmd: Command = {
    v: 1,
    command_id: iteration ? ids.command(iteration.iteration_id, 1) : (run.command_id ?? ids.command(run.id, 1)),
    type: iteration ? 'iteration' : 'step_run',
    execution_id: state.execution_id,
    root_execution_id: state.root_execution_id,
    step: run.step,
    step_run_id: run.id,
    iteration,
    playbook: { catalog_id: pb?.catalog_id ?? '', path: pb?.path ?? playbook.metadata.path, name: pb?.name ?? playbook.metadata.name, version: pb?.version ?? '', digest: playbook.digest },
    pipeline: step.tasks,
    base_spec: st.base_spec,
    context: {
      globals: globalsFor(state),
      workload: state.workload,
      ctx: state.ctx,
      args: run.args,
      steps: views ?? stepViewsFor(state, playbook, run.step),
      parent_iter: state.parent?.iter ?? null,
    },
    keychain: keychainOf(playbook),
    limits: limitsFor(playbook, step, limits),
    pool: run.pool,
    issued_at: issuedAt,
  };
  if (state.parent_execution_id) cmd.parent_execution_id = state.parent_execution_id;
  if (step.input !== undefined) cmd.step_input = step.input;
  if (st.step_output) cmd.step_output = st.step_output;
  if (run.deadline) cmd.deadline = run.deadline;
  if (store === undefined) return cmd;
  return fitCommand(cmd, (st.bytes ??= staticSize(cmd)), limits.max_event_bytes, store);
}

export function iterationInfo(run: RunState, index: number): CommandIteration {
  const loop = run.loop!;
  return {
    loop_id: loop.loop_id,
    iteration_id: ids.iteration(run.id, index),
    index,
    total: loop.total,
    iterator: loop.iterator,
    item: loop.items[index],
    first: index === 0,
    last: index === loop.total - 1,
  };
}

/**
 * T4.1 recovery: commands for runs and iterations that were scheduled but have neither a
 * `*.started` nor a terminal event, with their original `command_id`. Built from the current state
 * (`ctx`, step views): a command that never reached a worker sees the state of its re-publication.
 */
export function pendingCommands(state: ExecutionState, playbook: NormalizedPlaybook, env: Pick<EngineEnv, 'now' | 'storeValue'>): Command[] {
  const out: Command[] = [];
  if (state.status === 'completed' || state.status === 'failed' || state.status === 'cancelled') return out;
  analysis(playbook);
  for (const run of Object.values(state.runs)) {
    if (!run.is_loop) {
      if (!run.started) out.push(buildCommand(state, playbook, run, env.now, null, undefined, env.storeValue));
      continue;
    }
    if (!run.loop) continue;
    for (const it of run.loop.in_flight) {
      if (!it.started) out.push(buildCommand(state, playbook, run, env.now, iterationInfo(run, it.index), undefined, env.storeValue));
    }
  }
  return out;
}
