// The control-flow conformance cases whose outcome the scheduler decides, loaded from their YAML
// with @noetl/dsl and run against the simulated worker (noop tools and single-task policies only;
// the real tools are exercised by `noetl conformance`). Checked with the conformance matcher.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeError } from '@noetl/common';
import { checkRun, loadCase } from '@noetl/conformance';
import { loadPlaybook } from '@noetl/dsl';
import type { Command, CtxPatchEntry } from '@noetl/events';
import { replay, summarize } from '@noetl/engine';
import { StepResults, workerScope } from '@noetl/scope';
import { evaluateCondition, renderValue } from '@noetl/template';
import { hydrateNone, iterOf, Sim, type Script, type StepOutcome } from './testing/sim';

const DIR = process.env.NOETL_CONFORMANCE_DIR ?? resolve(__dirname, '../../../../shared/conformance/cases');

/** A worker for single-noop-task steps: renders `result`/`message`, applies the task policy (§8.3) with ctx/iter `set`. */
const noopPolicyWorker: Script = (cmd: Command): StepOutcome => {
  const task = cmd.pipeline[0];
  const ctx: Record<string, unknown> = { ...cmd.context.ctx };
  const iter: Record<string, unknown> = iterOf(cmd);
  const patch: CtxPatchEntry[] = [];
  const scope = (output?: unknown) =>
    workerScope({
      globals: cmd.context.globals as never,
      workload: cmd.context.workload,
      ctx,
      args: cmd.context.args,
      steps: new StepResults(cmd.context.steps, hydrateNone),
      iter,
      iterator: cmd.iteration?.iterator,
      stepLocals: {},
      taskViews: new Map(),
      output,
    });
  const f = task.fields;
  const data = f.result !== undefined ? renderValue(f.result, scope()) : { status: 'ok', message: f.message !== undefined ? renderValue(f.message, scope()) : 'noop' };
  const outcome = { status: 'ok', data, error: null, ref: null, meta: {} };
  for (const rule of task.policy?.rules ?? []) {
    if (!rule.else && !evaluateCondition(rule.when, scope(outcome))) continue;
    const values = (rule.then.set ?? []).map((e) => ({ e, v: renderValue(e.value, scope(outcome)) }));
    for (const { e, v } of values) {
      if (e.scope === 'ctx') {
        ctx[e.path[0]] = v;
        patch.push({ path: e.path, value: v, task: task.name, attempt: 1 });
      } else if (e.scope === 'iter') iter[e.path[0]] = v;
    }
    if (rule.then.do === 'fail') return { ok: false, error: makeError('policy_fail', 'POLICY_FAIL', `policy requested fail at task ${task.name}`), ctx_patch: patch, partial_result: data };
    break;
  }
  return { ok: true, result: data, ctx_patch: patch };
};

const CASES = [
  '01-linear-chain-noop', '11-admission-allow-deny', '12-routing-exclusive', '13-routing-inclusive-truthiness',
  '14-arc-args-same-target-merge', '15-arc-set-and-args', '16-step-set-before-arcs', '17-failure-handled',
  '19-on-no-match-fail', '23-self-loop-end-sentinel', '32-loop-sequential-ctx', '33-loop-iter-fields-sources',
  '36-loop-best-effort', '37-loop-empty', '38-loop-not-iterable',
];

// A missing case directory is a failure, never a silent skip (set NOETL_CONFORMANCE_DIR).
describe('conformance cases decided by the scheduler (simulated worker)', () => {
  it('finds the conformance case directory', () => {
    expect(existsSync(DIR)).toBe(true);
  });

  it.each(CASES)('%s', (name) => {
    const c = loadCase(DIR, name);
    const loaded = loadPlaybook(readFileSync(join(DIR, `${name}.yaml`), 'utf8'));
    if (!loaded.ok || !loaded.playbook) throw new Error(`${name}: ${JSON.stringify(loaded.diagnostics)}`);
    const pb = loaded.playbook;
    for (let seed = 1; seed <= 3; seed++) {
      let s = seed;
      const sim = new Sim(pb, { script: noopPolicyWorker, payload: c.expect!.payload, random: () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) });
      const st = sim.run();
      const doc = {
        ...summarize(st, hydrateNone),
        events: sim.log.map((e) => ({ event_type: e.event_type, step: e.step ?? null, status: e.status, task: e.task, attempt: e.attempt, iteration_index: e.iteration_index })),
      };
      expect(checkRun(c.expect!.expect, doc)).toEqual([]);
      expect(JSON.parse(JSON.stringify(replay(pb, sim.log)))).toEqual(JSON.parse(JSON.stringify(st)));
    }
  });
});
