import { makeError, type ErrorObject, type ResultRef } from '@noetl/common';
import type { Directive, Task } from '@noetl/dsl';
import type { AttemptDecision, Outcome } from '@noetl/events';
import { attemptOutcomeView, dataView, refView } from '@noetl/scope';
import type { RunContext } from './context';
import { runAttempt, eventOutcome, redactError, type WorkbookAsserts } from './attempt';
import { matchRule, defaultDirective, retryAttempts, retryDelayMs, NO_MATCH, PREVIOUS_ALIASES, type RuleMatch } from './policy';
import { applySet, scopeOf, type Phase } from './render';
import { errorFromThrown } from './errors';
import type { EndedVisit } from './result';
import type { TaskCoords } from './events';

export const DEFAULT_MAX_TASK_EXECUTIONS = 100_000;

/** How a pipeline run ended (runtime.md §9.2). */
export interface PipelineEnd {
  status: 'done' | 'failed' | 'cancelled';
  terminatedBy?: 'end' | 'break';
  error?: ErrorObject;
  failedTask?: string;
  /** the task whose visit was interrupted by cancellation */
  atTask?: string;
  /** ended visits in execution order (for the step result R, dsl R13.3) */
  visits: EndedVisit[];
  taskVisits: number;
}

/**
 * The effective task of a pipeline entry: for `kind: workbook` the resolved entry (R15.2) under the
 * caller's label, with the call's policy/set winning, plus the entry's asserts (R15.3).
 */
export function effectiveTask(task: Task): { task: Task; asserts?: WorkbookAsserts } {
  const wb = task.workbook;
  if (!wb) return { task };
  return {
    task: { ...wb.task, name: task.name, policy: task.policy ?? wb.task.policy, set: task.set ?? wb.task.set, auth: wb.task.auth ?? task.auth },
    asserts: { expects: wb.expects, returns: wb.returns },
  };
}

/** Data view of a visit's final data as later tasks, `_prev` and a task-level `set` see it (R13.4, K2.16). */
export function taskView(data: unknown, ref: ResultRef | null, http: boolean): unknown {
  if (ref) return refView(ref, () => data, { http, extracted: ref.extracted });
  return dataView(data, { http });
}

/** The set keys of an attempt whose rule set nothing (shared, frozen: part of the recorded decision). */
const NO_KEYS = Object.freeze([]) as unknown as string[];

/** The recorded decision of an attempt of a task without a policy rule (dsl §8.3 auto directive). */
const DEFAULT_DECISION: Readonly<Record<'continue' | 'fail', AttemptDecision>> = {
  continue: Object.freeze({ source: 'default', rule_index: null, do: 'continue', set_keys: NO_KEYS }),
  fail: Object.freeze({ source: 'default', rule_index: null, do: 'fail', set_keys: NO_KEYS }),
};

/** `taskViews` of a run until a visit that is not the last one ends (never written: replaced then). */
export const NO_TASK_VIEWS: Map<string, unknown> = new Map();

/** Phase of the policy scope of a task without a policy: nothing renders against it. */
const NO_PHASE: Readonly<Phase> = Object.freeze({});

/** §11 step 3: the visit was interrupted by cancellation: `task.cancelled`, and the pipeline ends cancelled. */
async function cancelVisit(rt: RunContext, coords: TaskCoords, at: number, ended: EndedVisit[], visits: number): Promise<PipelineEnd> {
  await rt.emitter.emit('task.cancelled', 'cancelled', { task_run_id: coords.task_run_id, attempt: at }, { task: coords.task, task_index: coords.task_index, task_run_id: coords.task_run_id, visit: coords.visit, attempt: at });
  return { status: 'cancelled', atTask: coords.task, visits: ended, taskVisits: visits };
}

/**
 * The pipeline interpreter of runtime.md §9.2: visits with a program counter, attempts with task
 * policies (dsl §8.3), retries with delays (§8.5), jump/break/fail, task-level `set` (R8.10), the
 * `max_task_executions` guard (R8.7) and cancellation before every attempt (§11 step 3).
 */
export async function runPipeline(rt: RunContext): Promise<PipelineEnd> {
  const { command, deps, delivery, emitter } = rt;
  const pipeline = command.pipeline;
  const max = command.limits.max_task_executions ?? DEFAULT_MAX_TASK_EXECUTIONS;
  // packed arrays of small ints; a literal of the common single-task size (a push on [] allocates 17 slots)
  let visitNo: number[];
  if (pipeline.length === 1) {
    visitNo = [0];
  } else {
    visitNo = [];
    for (let i = 0; i < pipeline.length; i++) visitNo.push(0); // fill() makes a holey one first
  }
  // made on the first ended visit, at its size
  let ended: EndedVisit[] | undefined;
  let pc = 0;
  let visits = 0;
  let lastExecuted: number | null = null;

  while (pc < pipeline.length) {
    visits += 1;
    if (visits > max) {
      const error = makeError('max_iterations', 'MAX_ITERATIONS', `pipeline of step ${command.step} exceeded max_task_executions (${max}) at task ${pipeline[pc].name}`, { source: 'engine' });
      return { status: 'failed', error, failedTask: pipeline[pc].name, visits: ended ?? [], taskVisits: visits - 1 };
    }
    const entry = pipeline[pc];
    let task = entry;
    let asserts: WorkbookAsserts | undefined;
    if (entry.workbook) ({ task, asserts } = effectiveTask(entry));
    const http = task.kind === 'http';
    visitNo[pc] += 1;
    const visit = visitNo[pc];
    // = ids.taskRun(command_id, epoch, pc, visit), on the emitter's flat `<command_id>/e<epoch>/`
    const taskRunId = emitter.idPrefix + `t${pc}/v${visit}`;
    const coords: TaskCoords = { task: task.name, task_index: pc, task_run_id: taskRunId, visit };
    // `emit` returns the event itself when the host took it synchronously: awaited only when it is a promise
    const started = emitter.emit('task.started', 'in_progress', { task_run_id: taskRunId, task: task.name, task_index: pc, kind: task.kind, visit }, coords);
    if (started instanceof Promise) await started;
    rt.scope.task = task.name;
    rt.scope.output = undefined;

    let attempt = 1;
    let outcome: Outcome;
    let directive: Directive;
    let match: RuleMatch = NO_MATCH;
    let failError: ErrorObject | undefined;
    let retryExhausted = false;
    let finalAttemptEventId: string;

    for (;;) {
      if (delivery.signal.aborted) return cancelVisit(rt, coords, attempt, ended ?? [], visits);
      rt.scope.attempt = attempt;
      // synchronous for a tool with runSync (see runAttempt): awaited only when it is a promise
      const pending = runAttempt(rt, task, { taskIndex: pc, visit, taskRunId, attempt }, asserts);
      const res = pending instanceof Promise ? await pending : pending;
      if (res.cancelled) return cancelVisit(rt, coords, attempt, ended ?? [], visits);
      outcome = res.outcome;

      // dsl §8.3: bind output/_attempt/_task, first matching rule, its set, the directive. Without
      // a policy nothing renders against this scope (no rule, no set, no retry parameters): the
      // outcome view is not built then.
      const scope = scopeOf(rt, task.policy ? { output: attemptOutcomeView(outcome as unknown as Record<string, unknown>, { http }) } : NO_PHASE);
      let setKeys: string[] = NO_KEYS;
      let attempts: number | undefined;
      let delayMs: number | undefined;
      let policyError: ErrorObject | undefined;
      let source: AttemptDecision['source'] = 'default';
      try {
        match = matchRule(rt, task.policy, scope, task.name);
        if (match.rule?.then.set?.length) setKeys = applySet(rt, match.rule.then.set, scope, { task: task.name, attempt }, `task ${task.name} policy set`);
        if (match.rule) {
          directive = match.rule.then.do;
          source = match.rule.else ? 'else' : 'rule';
        } else {
          directive = defaultDirective(task.policy, outcome);
        }
        if (directive === 'retry' && match.rule) {
          attempts = retryAttempts(rt, match.rule.then, scope, task.name);
          if (attempt < attempts) delayMs = retryDelayMs(rt, match.rule.then, attempt, scope, task.name);
        }
      } catch (e) {
        policyError = redactError(rt, errorFromThrown(e));
        directive = 'fail';
      }
      const jumpTarget = directive === 'jump' ? match.rule?.then.to : undefined;
      // key order: source, rule_index, do, [to], [attempts], [delay_ms], set_keys (one literal in the
      // common case; a shared frozen one for the default continue/fail of a task without a policy)
      const decision: AttemptDecision = !jumpTarget && attempts === undefined && delayMs === undefined
        ? (match === NO_MATCH && source === 'default' && setKeys === NO_KEYS && (directive === 'continue' || directive === 'fail')
          ? DEFAULT_DECISION[directive]
          : { source, rule_index: match.index, do: directive, set_keys: setKeys })
        : {
          source,
          rule_index: match.index,
          do: directive,
          ...(jumpTarget ? { to: jumpTarget } : {}),
          ...(attempts !== undefined ? { attempts } : {}),
          ...(delayMs !== undefined ? { delay_ms: delayMs } : {}),
          set_keys: setKeys,
        };
      const attemptEv = emitter.emit(outcome.status === 'ok' ? 'task.attempt.done' : 'task.attempt.failed', outcome.status === 'ok' ? 'ok' : 'error', res.renderedInput !== undefined
        ? { task_run_id: taskRunId, attempt, outcome: eventOutcome(outcome), rendered_input: res.renderedInput, decision }
        : { task_run_id: taskRunId, attempt, outcome: eventOutcome(outcome), decision }, coords, attempt);
      finalAttemptEventId = (attemptEv instanceof Promise ? await attemptEv : attemptEv).event_id;
      if (policyError) {
        failError = policyError;
        break;
      }
      if (directive === 'retry') {
        if (delayMs !== undefined) {
          try {
            await deps.sleep(delayMs, delivery.signal);
          } catch (e) {
            if (delivery.signal.aborted) return cancelVisit(rt, coords, attempt, ended ?? [], visits);
            throw e;
          }
          attempt += 1;
          continue;
        }
        directive = 'fail';
        retryExhausted = true;
        if (outcome.status === 'error' && outcome.error) {
          failError = { ...outcome.error, details: { ...(outcome.error.details ?? {}), retry_exhausted: true } };
        } else {
          failError = makeError('policy_fail', 'RETRY_EXHAUSTED', `retry exhausted at task ${task.name}`, { source: 'engine', details: { retry_exhausted: true } });
        }
      }
      break;
    }

    // jump target (dsl §8.4): a name, or `previous` = the task executed immediately before this visit
    let nextPc = pc + 1;
    let jumpTo: string | undefined;
    if (directive! === 'jump') {
      const to = match.rule?.then.to;
      if (!to) {
        directive = 'fail';
        failError = makeError('config', 'JUMP_TARGET_MISSING', `task ${task.name}: jump without a target`, { source: 'engine' });
      } else if (PREVIOUS_ALIASES.has(to)) {
        if (lastExecuted === null) {
          directive = 'fail';
          failError = makeError('config', 'JUMP_NO_PREVIOUS', `task ${task.name}: jump to previous from the first executed task`, { source: 'engine' });
        } else {
          nextPc = lastExecuted;
          jumpTo = to;
        }
      } else {
        const idx = pipeline.findIndex((t) => t.name === to);
        if (idx < 0) {
          directive = 'fail';
          failError = makeError('config', 'JUMP_UNKNOWN_TARGET', `task ${task.name}: jump target '${to}' is not a task of this pipeline`, { source: 'engine' });
        } else {
          nextPc = idx;
          jumpTo = to;
        }
      }
    }
    if (directive! === 'fail' && !failError) {
      failError = outcome!.status === 'error' && outcome!.error
        ? outcome!.error
        : makeError('policy_fail', 'POLICY_FAIL', `policy requested fail at task ${task.name}`, { source: 'engine' });
    }

    // task-level set (R8.10): once per visit, after the rule's set; output = data view of the final data
    const data = outcome!.data === undefined ? null : outcome!.data;
    let view: unknown = null;
    let hasView = false;
    if (task.set?.length) {
      view = taskView(data, outcome!.ref, http);
      hasView = true;
      try {
        applySet(rt, task.set, scopeOf(rt, { output: view }), { task: task.name, attempt }, `task ${task.name} set`);
      } catch (e) {
        directive = 'fail';
        failError = redactError(rt, errorFromThrown(e));
      }
    }

    const final: Exclude<Directive, 'retry'> = directive! === 'retry' ? 'fail' : directive!;
    const endedVisit: EndedVisit = { task: task.name, data, ref: outcome!.ref };
    if (ended === undefined) ended = [endedVisit];
    else ended.push(endedVisit);
    // the view is what later visits read (`<task>`, `_prev`); when the pipeline ends with this
    // visit nothing renders against it any more (the step result is built from `ended`): not built
    const last = final === 'break' || final === 'fail' || (final === 'continue' && pc + 1 >= pipeline.length);
    if (!last) {
      if (!hasView) view = taskView(data, outcome!.ref, http);
      if (rt.scope.taskViews === NO_TASK_VIEWS) rt.scope.taskViews = new Map();
      rt.scope.taskViews.set(task.name, view);
      rt.scope.prev = view;
    }
    rt.scope.output = undefined;
    const jumped = final === 'jump' && jumpTo;
    const doneEv = emitter.emit(outcome!.status === 'ok' ? 'task.done' : 'task.failed', outcome!.status === 'ok' ? 'ok' : 'error', !jumped && !retryExhausted
      ? { task_run_id: taskRunId, attempts: attempt, final_attempt_event_id: finalAttemptEventId!, directive: final }
      : {
        task_run_id: taskRunId,
        attempts: attempt,
        final_attempt_event_id: finalAttemptEventId!,
        directive: final,
        ...(jumped ? { jump_to: jumpTo } : {}),
        ...(retryExhausted ? { retry_exhausted: true } : {}),
      }, coords);
    if (doneEv instanceof Promise) await doneEv;
    lastExecuted = pc;

    switch (final) {
      case 'continue':
        pc += 1;
        break;
      case 'jump':
        pc = nextPc;
        break;
      case 'break':
        return { status: 'done', terminatedBy: 'break', visits: ended ?? [], taskVisits: visits };
      default:
        return { status: 'failed', error: failError, failedTask: task.name, visits: ended ?? [], taskVisits: visits };
    }
  }
  return { status: 'done', terminatedBy: 'end', visits: ended ?? [], taskVisits: visits };
}
