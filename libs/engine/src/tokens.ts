import { makeError } from '@noetl/common';
import type { Step } from '@noetl/dsl';
import { analysis, stepOf, type Analysis } from './analysis';
import { buildCommand, poolOf } from './commands';
import type { Driver } from './emit';
import { recordUnhandled } from './failure';
import { pmapGet } from './pmap';
import { startLoop } from './loops';
import { condition, EvalFailure, makeSchedulerScope } from './render';
import type { EventPayloads } from '@noetl/events';
import type { ExecutionState, PendingToken } from './types';

/**
 * T8.5: a join is enabled when no forward upstream is potentially active, i.e. neither in
 * `Active` = {steps with a live run} ∪ {targets of pending tokens} ∖ {t} nor reachable from it.
 */
export function joinEnabled(state: ExecutionState, an: Analysis, target: string): boolean {
  // potentially active upstream <=> some active step is one of the join's feeders
  const feeders = an.feeders(target);
  for (const id in state.runs) {
    const s = state.runs[id].step;
    if (s !== target && feeders.has(s)) return false;
  }
  for (const t of state.tokens) if (t.target !== target && feeders.has(t.target)) return false;
  return true;
}

/**
 * §8.4: consume pending tokens in creation order, repeating until nothing changes. Non-join
 * targets and back-edge tokens are consumed one by one (T8.4); a join's waiting forward tokens
 * are consumed together once the join is enabled (T8.5). Returns whether anything was consumed.
 */
export function scheduleTokens(d: Driver): boolean {
  const an = analysis(d.playbook);
  let progressed = false;
  while (d.state.status === 'running' && d.state.tokens.length > 0) {
    let group: PendingToken[] | undefined;
    let checked: Set<string> | undefined; // created at the first join token (most tokens target no join)
    for (const tok of d.state.tokens) {
      if (tok.back_edge || !an.joins.has(tok.target)) {
        group = [tok];
        break;
      }
      if (checked?.has(tok.target)) continue;
      (checked ??= new Set<string>()).add(tok.target);
      if (joinEnabled(d.state, an, tok.target)) {
        group = d.state.tokens.filter((t) => t.target === tok.target && !t.back_edge);
        break;
      }
    }
    if (!group) break;
    consume(d, group);
    progressed = true;
  }
  return progressed;
}

/** T8.7: merge, admit, then `step.scheduled` (+ command or loop start) or `step.skipped`. */
function consume(d: Driver, tokens: PendingToken[]): void {
  const stepName = tokens[0].target;
  const step = stepOf(d.playbook, stepName);
  // a fresh merged object (one token: its copy, without spreading an empty one first)
  let args: Record<string, unknown> = { ...tokens[0].args };
  for (let i = 1; i < tokens.length; i++) args = { ...args, ...tokens[i].args };
  const event = tokens[tokens.length - 1].event;
  const tokenIds = tokens.map((t) => t.id);

  let allow = true;
  let ruleIndex: number | null = null;
  if (step.admit) {
    try {
      const scope = makeSchedulerScope(d.state, d.env.hydrate, { args, event });
      for (let i = 0; i < step.admit.rules.length; i++) {
        const rule = step.admit.rules[i];
        if (rule.else || condition(rule.when, scope, d.env.now, `admission of step '${stepName}' rule ${i}`)) {
          allow = rule.allow;
          ruleIndex = i;
          break;
        }
      }
    } catch (e) {
      if (!(e instanceof EvalFailure)) throw e;
      recordUnhandled(d, e.error, 'routing', stepName, null);
      return;
    }
  }
  if (!allow) {
    d.emit('step.skipped', { step: stepName, token_ids: tokenIds, reason: 'admission_denied', rule_index: ruleIndex }, { step: stepName });
    return;
  }
  if (d.state.stats.step_runs >= d.state.limits.max_step_runs) {
    const err = makeError('internal', 'MAX_STEP_RUNS', `execution exceeded max_step_runs (${d.state.limits.max_step_runs}) scheduling step '${stepName}'`, { source: 'engine' });
    recordUnhandled(d, err, 'run', stepName, null);
    return;
  }
  scheduleRun(d, step, tokenIds, args, event, ruleIndex);
}

function scheduleRun(d: Driver, step: Step, tokenIds: string[], args: Record<string, unknown>, event: Record<string, unknown>, ruleIndex: number | null): void {
  const runId = d.nextRunId();
  const isLoop = step.loop !== undefined;
  const commandId = isLoop ? undefined : `${runId}/c1`;
  const deadline = typeof step.timeout_s === 'number' && step.timeout_s > 0 ? new Date(Date.parse(d.env.now) + step.timeout_s * 1000).toISOString() : undefined;
  // field by field in key order (conditional spreads in a literal are a slow path; once per step run)
  const payload: EventPayloads['step.scheduled'] = {
    step_run_id: runId,
    step: step.name,
    run_no: (pmapGet(d.state.steps, step.name)?.runs ?? 0) + 1,
    token_ids: tokenIds,
    args,
    admission: { evaluated: step.admit !== undefined, rule_index: ruleIndex },
    loop: isLoop,
    pool: poolOf(d.playbook, step),
  };
  if (commandId) payload.command_id = commandId;
  if (deadline) payload.deadline = deadline;
  d.emit('step.scheduled', payload, commandId ? { step: step.name, step_run_id: runId, command_id: commandId } : { step: step.name, step_run_id: runId });
  const run = d.state.runs[runId];
  if (isLoop) startLoop(d, run, event);
  else d.commands.push(buildCommand(d.state, d.playbook, run, d.env.now, null, undefined, d.env.storeValue));
}
