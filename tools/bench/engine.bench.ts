/**
 * Scheduler-only throughput of @noetl/engine with a simulated worker (no tools, no I/O, no log
 * kept): every command is answered with the worker events of runtime.md §6.3 (started, task
 * started/attempt/done, step or iteration done) carrying a small result.
 *
 *   npx tsx tools/bench/engine.bench.ts [--chain 1000] [--items 10000] [--mif 64]
 *   NODE_OPTIONS=--expose-gc npx tsx tools/bench/engine.bench.ts     # adds post-GC heap figures
 *
 * (a) a chain of N noop steps; (b) one parallel loop of N noop iterations, max_in_flight 64, at
 * several sizes to show memory after completion vs iteration count. Each is printed next to a
 * plain-JS baseline doing the equivalent bookkeeping (mutable maps, the same event/command
 * objects) in the same process, with the ratio. Numbers only, no assertions (STYLE.md rule 6).
 */
import { loadPlaybook, type NormalizedPlaybook } from '@noetl/dsl';
import { createExecutionState, isTerminal, processEvent, type EngineEnv, type ExecutionState } from '@noetl/engine';
import { ids, type Command, type NoetlEvent } from '@noetl/events';
import { loopYaml } from './playbooks';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : def;
};
const CHAIN = arg('chain', 1000);
const ITEMS = arg('items', 10000);
const MIF = arg('mif', 64);
/** repetitions per scenario: the best (min) time is reported, robust against a loaded machine */
const REPS = arg('reps', 5);
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;

function load(yaml: string): NormalizedPlaybook {
  const r = loadPlaybook(yaml);
  if (!r.ok || !r.playbook) throw new Error(JSON.stringify(r.diagnostics.slice(0, 3)));
  return r.playbook;
}

function chainYaml(n: number): string {
  const lines = ['apiVersion: noetl.io/v2', 'kind: Playbook', 'metadata: { name: bench_chain, path: bench/chain }', 'workflow:'];
  for (let i = 0; i < n; i++) {
    const name = i === 0 ? 'start' : `s${i}`;
    lines.push(`  - step: ${name}`, '    tool: { kind: noop }');
    if (i + 1 < n) lines.push('    next:', '      arcs:', `        - step: s${i + 1}`);
  }
  return lines.join('\n');
}

/** The §6.3 worker events of one delivery of `cmd`, result `{ok: true}`. */
function workerEvents(cmd: Command, ts: string): NoetlEvent[] {
  let k = 0;
  const it = cmd.iteration;
  const base = {
    v: 1, ts, execution_id: cmd.execution_id, root_execution_id: cmd.root_execution_id, source: 'worker', producer_id: 'w', step: cmd.step,
    step_run_id: cmd.step_run_id, command_id: cmd.command_id, lease_epoch: 1,
    ...(it ? { loop_id: it.loop_id, iteration_id: it.iteration_id, iteration_index: it.index } : {}),
  };
  const ev = (event_type: string, status: string, payload: unknown, extra: object = {}) => ({ ...base, ...extra, event_id: ids.workerEvent(cmd.command_id, 1, ++k), event_type, status, payload }) as unknown as NoetlEvent;
  const trid = ids.taskRun(cmd.command_id, 1, 0, 1);
  const t = { task: cmd.pipeline[0].name, task_index: 0, task_run_id: trid, visit: 1 };
  const outcome = { status: 'ok', data: { ok: true }, error: null, ref: null, meta: { task: t.task, kind: 'noop', attempt: 1, started_at: ts, finished_at: ts, duration_ms: 0, worker_id: 'w' } };
  return [
    it ? ev('loop.iteration.started', 'in_progress', { iteration_id: it.iteration_id, index: it.index, command_id: cmd.command_id, lease_epoch: 1, worker_id: 'w' })
      : ev('step.started', 'in_progress', { command_id: cmd.command_id, lease_epoch: 1, worker_id: 'w' }),
    ev('task.started', 'in_progress', { task_run_id: trid, task: t.task, task_index: 0, kind: 'noop', visit: 1 }, t),
    ev('task.attempt.done', 'ok', { task_run_id: trid, attempt: 1, outcome, decision: { source: 'default', rule_index: null, do: 'continue', set_keys: [] } }, { ...t, attempt: 1 }),
    ev('task.done', 'ok', { task_run_id: trid, attempts: 1, final_attempt_event_id: 'x', directive: 'continue' }, t),
    it ? ev('loop.iteration.done', 'ok', { iteration_id: it.iteration_id, index: it.index, result: { ok: true }, ctx_patch: [], terminated_by: 'end' })
      : ev('step.done', 'ok', { result: { ok: true }, ctx_patch: [], terminated_by: 'end', task_visits: 1, duration_ms: 0 }),
  ];
}

interface RunStats {
  /** wall time inside processEvent */
  processUs: number;
  /** CPU time (user + system) of the whole run: scheduler + simulated worker + GC; robust against a loaded machine */
  cpuUs: number;
  inputs: number;
  emitted: number;
  commands: number;
  peakRss: number;
  state: ExecutionState;
}

/** Drive one execution to its end, FIFO over commands, timing only processEvent. */
function runEngine(pb: NormalizedPlaybook, execId: string): RunStats {
  let state = createExecutionState(execId);
  const queue: NoetlEvent[] = [];
  let seq = 0;
  let ns = 0n;
  const cpu0 = process.cpuUsage();
  let inputs = 0;
  let emitted = 0;
  let commands = 0;
  let peakRss = process.memoryUsage().rss;
  const clock0 = Date.parse('2026-01-01T00:00:00.000Z');
  const hydrate = () => {
    throw new Error('no store');
  };
  const feed = (ev: NoetlEvent) => {
    seq += 1;
    const env: EngineEnv = { seq, now: new Date(clock0 + seq).toISOString(), producerId: 'bench', hydrate };
    const t0 = process.hrtime.bigint();
    const r = processEvent(state, pb, ev, env);
    ns += process.hrtime.bigint() - t0;
    state = r.state;
    inputs += 1;
    seq += r.events.length; // scheduler events take log positions too
    emitted += r.events.length;
    commands += r.commands.length;
    for (const c of r.commands) queue.push(...workerEvents(c, env.now));
    if ((inputs & 1023) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
  };
  feed({
    v: 1, event_id: `${execId}/api/REQ`, event_type: 'execution.requested', ts: new Date(clock0).toISOString(), execution_id: execId, root_execution_id: execId,
    source: 'api', producer_id: 'api', status: 'in_progress', payload: { playbook: { path: pb.metadata.path }, workload: {}, ctx: {}, requested_by: 'bench' },
  } as NoetlEvent);
  // parallel loop: deliver whole commands in dispatch order (bounded in-flight); chain: one at a time
  let head = 0;
  while (head < queue.length && !isTerminal(state)) {
    feed(queue[head++]);
    if (head > 4096) {
      queue.splice(0, head); // do not retain delivered events
      head = 0;
    }
  }
  const cpu1 = process.cpuUsage(cpu0);
  const cpu = cpu1.user + cpu1.system;
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  if (!isTerminal(state) || state.status !== 'completed') throw new Error(`bench execution ended ${state.status}`);
  return { processUs: Number(ns) / 1000, cpuUs: cpu, inputs, emitted, commands, peakRss, state };
}

// ------------------------------------------------------------------ plain-JS baselines
/** Chain: per step a token, a run record, the scheduled/next events and a command object; worker events counted. */
function baselineChain(n: number): number {
  const c0 = process.cpuUsage();
  const runs = new Map<string, { step: string; status: string }>();
  const log: object[] = [];
  const ctx: Record<string, unknown> = {};
  const results: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const step = i === 0 ? 'start' : `s${i}`;
    const token = { id: `E/t/${i}.0`, target: step, args: {} };
    const runId = `E/r/${i}.0`;
    runs.set(runId, { step, status: 'scheduled' });
    log.push({ event_type: 'token.created', token }, { event_type: 'step.scheduled', step_run_id: runId });
    const cmd = { command_id: `${runId}/c1`, step, context: { ctx, args: token.args, steps: {} } };
    for (let k = 0; k < 5; k++) log.push({ event_type: 'worker', k, cmd: cmd.command_id }); // the 5 worker events
    results[step] = { ok: true };
    runs.get(runId)!.status = 'done';
    log.push({ event_type: 'next.evaluated', step_run_id: runId });
    runs.delete(runId);
  }
  log.push({ event_type: 'execution.completed' });
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

/** Loop: in-flight set bounded by mif, iteration events and command objects, results array, aggregate. */
function baselineLoop(n: number, mif: number): number {
  const c0 = process.cpuUsage();
  const items = Array.from({ length: n }, (_, i) => i);
  const results: unknown[] = new Array(n);
  const inFlight = new Set<number>();
  const log: object[] = [];
  const pending: number[] = [];
  let next = 0;
  let done = 0;
  const dispatch = () => {
    while (next < n && inFlight.size < mif) {
      inFlight.add(next);
      log.push({ event_type: 'loop.iteration.scheduled', index: next });
      pending.push(next);
      const _cmd = { command_id: `E/r/1.0/i${next}/c1`, iteration: { index: next, item: items[next], total: n, first: next === 0, last: next === n - 1 } };
      void _cmd;
      next++;
    }
  };
  dispatch();
  while (done < n) {
    const i = pending.shift()!;
    for (let k = 0; k < 5; k++) log.push({ event_type: 'worker', k, i });
    results[i] = { ok: true };
    inFlight.delete(i);
    done++;
    dispatch();
  }
  log.push({ event_type: 'loop.done', result: { results, data: results, stats: { total: n, succeeded: n, failed: 0 }, errors: [] } });
  const c = process.cpuUsage(c0);
  return c.user + c.system;
}

// ------------------------------------------------------------------ report
/** Best of REPS runs (min time inside processEvent), plus the median. */
function best(run: () => RunStats): { min: RunStats; medianUs: number } {
  const all: RunStats[] = [];
  for (let i = 0; i < REPS; i++) all.push(run());
  all.sort((a, b) => a.processUs - b.processUs);
  return { min: all[0], medianUs: all[Math.floor(all.length / 2)].processUs };
}

function bestBaseline(run: () => number): number {
  let m = Infinity;
  for (let i = 0; i < REPS; i++) m = Math.min(m, run());
  return m;
}

/**
 * µs per unit: `engine` = time inside processEvent (best of REPS, wall clock; the median in
 * parentheses), `run CPU` = process CPU for that run (engine + simulated worker + GC threads).
 */
function row(label: string, units: number, unitName: string, r: { min: RunStats; medianUs: number }, baseUs: number): void {
  const s = r.min;
  const perUnit = s.processUs / units;
  const basePer = baseUs / units;
  console.log(
    `${label.padEnd(34)} ${String(units).padStart(6)} ${unitName}s | engine ${perUnit.toFixed(1).padStart(6)} µs/${unitName} (median ${(r.medianUs / units).toFixed(1)}) = ` +
      `${Math.round(units / (s.processUs / 1e6)).toLocaleString('en')} ${unitName}s/s, ${(s.processUs / s.inputs).toFixed(1)} µs/input over ${s.inputs} inputs (${s.emitted} events emitted); ` +
      `run CPU ${(s.cpuUs / units).toFixed(1)} µs/${unitName} | baseline ${basePer.toFixed(2)} µs/${unitName}, ratio ${(perUnit / basePer).toFixed(1)}x | peak RSS ${mb(s.peakRss)}`,
  );
}

function main(): void {
  console.log(`node ${process.version}; gc ${gc ? 'exposed' : 'not exposed (set NODE_OPTIONS=--expose-gc for post-GC heap)'}`);
  // warm-up (JIT) on small sizes
  runEngine(load(chainYaml(CHAIN)), 'WARMCHAIN');
  runEngine(load(loopYaml(Math.min(ITEMS, 5000), MIF)), 'WARMLOOP');
  baselineChain(50);
  baselineLoop(500, MIF);

  const chainPb = load(chainYaml(CHAIN));
  const a = best(() => runEngine(chainPb, '01JBENCHCHAIN0000000000000'));
  row(`(a) noop chain`, CHAIN, 'step', a, bestBaseline(() => baselineChain(CHAIN)));

  for (const n of [Math.round(ITEMS / 4), Math.round(ITEMS / 2), ITEMS]) {
    const pb = load(loopYaml(n, MIF));
    gc?.();
    const b = best(() => runEngine(pb, `01JBENCHLOOP${String(n).padStart(14, '0')}`));
    row(`(b) parallel loop, max_in_flight ${MIF}`, n, 'iter', b, bestBaseline(() => baselineLoop(n, MIF)));
    const stateBytes = Buffer.byteLength(JSON.stringify(b.min.state));
    gc?.();
    const mu = process.memoryUsage();
    console.log(
      `    after completion: state ${mb(stateBytes)} as JSON (${(stateBytes / n).toFixed(0)} B/iteration: frozen items + results aggregate), ` +
        `RSS ${mb(mu.rss)}, heap used ${mb(mu.heapUsed)}${gc ? ' (post-GC)' : ''}`,
    );
  }
}

main();
