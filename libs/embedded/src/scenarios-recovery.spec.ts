// runtime.md §15 scenarios 19 and 20 end to end.
//
// 19 — redelivery after a worker crash: the embedded work queue has the mesh's semantics (ack-wait,
//      delivery count = lease_epoch). A wrapped real tool (postgres, python, playbook) does its
//      real work on the first delivery and then its worker "dies" (never reports, never
//      heartbeats) until the bus has handed the command to another worker (lease_epoch 2) and that
//      delivery finished. First terminal wins, no duplicate tokens or step runs, the side effect
//      is at-least-once (T8.15), a redelivered child call re-attaches to its child (§12.1).
// 20 — scheduler crash: the embedded runtime has no restart hook (createEmbeddedRuntime cannot be
//      seeded with a log), so recovery is exercised with @noetl/engine's own API on the REAL log of
//      an embedded run: for every cut point, state = replay(prefix up to the last input), the last
//      input is re-processed (T8.3) and the rest of the inputs are fed in order. The rebuilt log
//      must equal the original event for event (same ids, same payloads), with no duplicate step
//      run; re-derived commands (T4.1) are executed by the real worker runtime and reproduce the
//      original worker events.
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { createExecutionState, pendingCommands, processEvent, replay, summarize, type ExecutionState } from '@noetl/engine';
import type { Command, LoggedEvent, NoetlEvent } from '@noetl/events';
import { createFsResultStore } from '@noetl/results';
import { ToolRegistry, type ToolHandler } from '@noetl/tools';
import { runCommand } from '@noetl/worker-runtime';
import { FileCatalog } from './catalog';
import { readFsRefSync } from './hydrate';
import { createEmbeddedRuntime } from './runtime';
import { count, createTestDatabase, ofType, payloadOf, playbook, scenarioDir, type TestDatabase } from './testing/scenario-kit';
import { createDefaultTools } from './tools-entry';
import type { EmbeddedRuntime } from './types';

const d = scenarioDir('scn-recovery');
afterAll(() => d.cleanup());

/** terminal worker events of a command delivery */
const TERMINALS = new Set(['step.done', 'step.failed', 'step.cancelled', 'loop.iteration.done', 'loop.iteration.failed', 'loop.iteration.cancelled']);

describe('scenario 19: redelivery after a worker crash (embedded, real postgres / python / playbook)', () => {
  let db: TestDatabase;
  let rt: EmbeddedRuntime;
  let tools: ToolRegistry;
  /** command id -> resolves when its delivery-2 terminal is in the log */
  const epoch2 = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  const epoch2Of = (commandId: string) => {
    let w = epoch2.get(commandId);
    if (!w) {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((r) => (resolve = r));
      w = { promise, resolve };
      epoch2.set(commandId, w);
    }
    return w;
  };
  const crashed: string[] = [];

  /**
   * Wraps a real tool kind: on the FIRST delivery of a matching task the tool does its real work
   * (side effects included) and then the worker "crashes": it reports nothing and sends no
   * heartbeat until the bus has redelivered the command (lease_epoch 2) and that delivery's
   * terminal event is logged; then its stale events arrive late.
   */
  function crashOnFirstDelivery(kind: string, matches: (ctx: { step: string; taskRunId: string }) => boolean): void {
    const real = tools.get(kind) as ToolHandler;
    tools.register({
      kind,
      fields: real.fields,
      async run(config, ctx) {
        const out = await real.run(config, ctx);
        if (ctx.taskRunId.includes('/e1/') && matches(ctx)) {
          crashed.push(ctx.taskRunId);
          let t: NodeJS.Timeout | undefined;
          await Promise.race([epoch2Of(ctx.commandId).promise, new Promise((r) => (t = setTimeout(r, 10_000)))]);
          clearTimeout(t);
        }
        return out;
      },
      close: () => real.close?.() ?? Promise.resolve(),
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase();
    await db.query('CREATE TABLE audit (id serial PRIMARY KEY, run text NOT NULL, note text)');
    tools = createDefaultTools({ env: d.env });
    crashOnFirstDelivery('postgres', (ctx) => ctx.step === 'write');
    crashOnFirstDelivery('python', (ctx) => ctx.step === 'fan' && ctx.taskRunId.includes('/i0/'));
    crashOnFirstDelivery('playbook', (ctx) => ctx.step === 'call');
    // ack-wait 1 s, no heartbeat: a delivery silent for 1 s is lost and redelivered (every other
    // delivery of these playbooks is far quicker: noop, one small query, a warm python)
    rt = createEmbeddedRuntime({
      env: d.env, cwd: d.dir, workers: 3, tools, ackWaitMs: 1_000, heartbeatMs: 60_000, maxDeliver: 3,
      credentials: { pg_scn: db.credential },
    });
    rt.subscribe((e) => {
      if (e.lease_epoch === 2 && e.command_id && TERMINALS.has(e.event_type)) epoch2Of(e.command_id).resolve();
    });
  });
  afterAll(async () => {
    await rt?.close();
    await tools?.close();
    await db?.drop();
  });

  it('lease_epoch 2 completes the run; the late epoch-1 terminal is stored and ignored; no duplicate tokens or runs', async () => {
    const file = d.write(
      'redelivery.yaml',
      playbook(
        'scn_redelivery',
        `workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: write } ] }
  - step: write
    tool:
      kind: postgres
      auth: pg_scn
      command: |
        INSERT INTO audit (run, note) VALUES ('{{ execution_id }}', 'write');
        SELECT count(*)::int AS n FROM audit WHERE run = '{{ execution_id }}'
    next: { arcs: [ { step: hop1 } ] }
  - step: hop1
    tool: { kind: noop }
    next: { arcs: [ { step: hop2 } ] }
  - step: hop2
    tool: { kind: noop }
    next: { arcs: [ { step: report } ] }
  - step: report
    tool: { kind: noop, result: { n: "{{ write.rows[0].n }}" } }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');
    // the epoch-1 worker resumes once epoch 2 finished; wait until its late terminal is logged
    const ev = await waitUntilLogged(rt, id, (e) => e.event_type === 'step.done' && e.step === 'write' && e.lease_epoch === 1);
    expect(crashed.filter((c) => c.startsWith(id))).toHaveLength(1);

    // two deliveries of the same command, the second with lease_epoch 2 (T8.15)
    const started = ofType(ev, 'step.started', 'write');
    expect(started.map((e) => e.lease_epoch)).toEqual([1, 2]);
    expect(new Set(started.map((e) => e.command_id)).size).toBe(1);
    // both terminals are stored; epoch 2's came first and is the one that counts (T3.2, T10.8)
    const dones = ofType(ev, 'step.done', 'write');
    expect(dones.map((e) => e.lease_epoch)).toEqual([2, 1]);
    expect(dones[0].event_id).toContain('/e2/');
    const completedAt = ev.findIndex((e) => e.event_type === 'execution.completed');
    expect(ev.indexOf(dones[1])).toBeLessThan(completedAt); // the late terminal arrived while running: ignored, not merely too late
    // epoch 1 saw one row, epoch 2 two: the side effect ran twice (at-least-once) ...
    expect((payloadOf(dones[1]).result as { rows: Array<{ n: number }> }).rows[0].n).toBe(1);
    expect((payloadOf(dones[0]).result as { rows: Array<{ n: number }> }).rows[0].n).toBe(2);
    expect(await db.query('SELECT count(*)::int AS n FROM audit WHERE run = $1', [id])).toEqual([{ n: 2 }]);
    // ... but the run is recorded once, with the first terminal's result
    const doc = await rt.document(id);
    expect(doc.steps.write).toMatchObject({ status: 'done', runs: 1, result: { rows: [{ n: 2 }] } });
    expect(doc.steps.report).toMatchObject({ status: 'done', runs: 1, result: { n: 2 } });
    for (const step of ['start', 'write', 'hop1', 'hop2', 'report']) expect(count(ev, 'step.scheduled', step)).toBe(1);
    for (const step of ['write', 'hop1', 'hop2', 'report']) expect(count(ev, 'token.created', step)).toBe(1);
    expect(count(ev, 'next.evaluated', 'write')).toBe(1);
    expect(count(ev, 'x.command.dead_lettered') + count(ev, 'step.failed')).toBe(0);
    expect(new Set(ev.map((e) => e.event_id)).size).toBe(ev.length);
  });

  it('a redelivered loop iteration: epoch 2 counts, the loop finishes once with one result per index', async () => {
    const file = d.write(
      'redelivery-loop.yaml',
      playbook(
        'scn_redelivery_loop',
        `workflow:
  - step: start
    tool: { kind: python, code: "result = {'warm': True}" }
    next: { arcs: [ { step: fan } ] }
  - step: fan
    loop: { in: [10, 20, 30], iterator: x }
    tool:
      kind: python
      input: { x: "{{ iter.x }}" }
      code: |
        result = {"x": x}
    next: { arcs: [ { step: after } ] }
  - step: after
    tool: { kind: noop, result: { xs: "{{ fan.results | map(attribute='x') | list }}" } }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out).toMatchObject({ status: 'completed', error: null, result: { xs: [10, 20, 30] } });
    const ev = await waitUntilLogged(rt, id, (e) => e.event_type === 'loop.iteration.done' && e.iteration_index === 0 && e.lease_epoch === 1);
    expect(ofType(ev, 'loop.iteration.started', 'fan').map((e) => [e.iteration_index, e.lease_epoch])).toEqual([[0, 1], [0, 2], [1, 1], [2, 1]]);
    expect(ofType(ev, 'loop.iteration.done', 'fan').filter((e) => e.iteration_index === 0).map((e) => e.lease_epoch)).toEqual([2, 1]);
    expect(count(ev, 'loop.iteration.scheduled', 'fan')).toBe(3); // iteration 1 dispatched once, after epoch 2 of iteration 0
    expect(count(ev, 'loop.done', 'fan')).toBe(1);
    expect(count(ev, 'step.scheduled', 'after')).toBe(1);
  });

  it('a redelivered kind: playbook task re-attaches to the child it already started (runtime.md §12.1)', async () => {
    d.write('lib/redelivery_child.yaml', playbook('scn_redelivery_child', 'workflow:\n  - step: start\n    tool: { kind: noop, result: { child: "{{ execution_id }}" } }\n'));
    const file = d.write(
      'redelivery-playbook.yaml',
      playbook(
        'scn_redelivery_playbook',
        `workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: call } ] }
  - step: call
    tool: { kind: playbook, path: lib/redelivery_child }
    next: { arcs: [ { step: after } ] }
  - step: after
    tool: { kind: noop, result: { child: "{{ call.child }}" } }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('completed');
    const ev = await waitUntilLogged(rt, id, (e) => e.event_type === 'step.done' && e.step === 'call' && e.lease_epoch === 1);
    expect(ofType(ev, 'step.started', 'call').map((e) => e.lease_epoch)).toEqual([1, 2]);
    // one child execution for both deliveries (same request id: command/task/visit/attempt, no epoch)
    const children = [...new Set(rt.treeEvents(id).filter((e) => e.execution_id !== id).map((e) => e.execution_id))];
    expect(children).toHaveLength(1);
    expect(out.result).toEqual({ child: children[0] });
    const requested = rt.treeEvents(id).filter((e) => e.event_type === 'execution.requested' && e.execution_id === children[0]);
    expect(requested).toHaveLength(1);
    expect(String(payloadOf(requested[0]).request_id)).toMatch(/\/c1\/t0\/v1\/a1$/);
  });
});

async function waitUntilLogged(rt: EmbeddedRuntime, id: string, pred: (e: LoggedEvent) => boolean, timeoutMs = 15_000): Promise<readonly LoggedEvent[]> {
  const end = Date.now() + timeoutMs;
  while (!rt.events(id).some(pred)) {
    if (Date.now() > end) throw new Error(`event not logged within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return rt.events(id);
}

// ---------------------------------------------------------------------------------------------
const RECOVERY_PB = `workload:
  items: [1, 2, 3, 4]
workflow:
  - step: start
    tool: { kind: noop, result: { go: true } }
    set: { ctx.n: 0 }
    next:
      spec: { mode: inclusive }
      arcs: [ { step: fan }, { step: side, args: { from: start } } ]
  - step: fan
    loop: { in: "{{ items }}", iterator: x, spec: { mode: parallel, max_in_flight: 2 } }
    tool:
      kind: python
      input: { x: "{{ iter.x }}" }
      code: |
        result = {"sq": x * x}
    next: { arcs: [ { step: join } ] }
  - step: side
    tool: { kind: noop, result: { side: "{{ args.from }}" } }
    next: { arcs: [ { step: join } ] }
  - step: join
    tool: { kind: noop, result: { total: "{{ fan.results | map(attribute='sq') | sum }}" } }
    next: { arcs: [ { step: page } ] }
  - step: page
    tool:
      kind: python
      input: { n: "{{ ctx.n }}" }
      code: |
        result = {"page": n}
    set: { ctx.n: "{{ ctx.n + 1 }}" }
    next:
      arcs:
        - { step: page, when: "{{ ctx.n < 3 }}" }
        - { step: end, when: "{{ ctx.n >= 3 }}", set: { ctx.done: true } }
  - step: end
    tool: { kind: noop, result: { total: "{{ join.total }}", pages: "{{ ctx.n }}" } }
`;

/** Events the scheduler consumes (api, worker, timer and dead-letter inputs); everything else it emitted. */
const isInput = (e: NoetlEvent): boolean => e.source !== 'scheduler' || e.event_type === 'x.timer.fired' || e.event_type === 'x.command.dead_lettered';
const strip = (e: NoetlEvent | LoggedEvent): NoetlEvent => {
  const { seq: _seq, ...rest } = e as LoggedEvent;
  return JSON.parse(JSON.stringify(rest)) as NoetlEvent;
};

const OTHER_LOGS: Record<string, { files?: Record<string, string>; text: string; cancelAfter?: (e: LoggedEvent) => boolean; status: string }> = {
  // a step deadline: an x.timer.fired input, the scheduler's step.failed, late worker events
  deadline: {
    status: 'completed',
    text: `workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: slow } ] }
  - step: slow
    spec: { policy: { lifecycle: { timeout_s: 0.3 } } }
    tool: { kind: shell, command: "sleep 5" }
    next:
      arcs:
        - { step: handled, when: "{{ event.name == 'step.failed' }}", args: { kind: "{{ event.error.kind }}" } }
  - step: handled
    tool: { kind: noop, result: { kind: "{{ args.kind }}" } }
`,
  },
  // a cancellation from the api while a loop and a join token are pending
  cancelled: {
    status: 'cancelled',
    cancelAfter: (e) => e.event_type === 'loop.iteration.started',
    text: `workflow:
  - step: start
    tool: { kind: noop }
    next:
      spec: { mode: inclusive }
      arcs: [ { step: slow_loop }, { step: quick } ]
  - step: slow_loop
    loop: { in: [1, 2, 3], iterator: i }
    tool: { kind: shell, command: "sleep 5" }
    next: { arcs: [ { step: join } ] }
  - step: quick
    tool: { kind: noop }
    next: { arcs: [ { step: join } ] }
  - step: join
    tool: { kind: noop }
`,
  },
  // an unhandled failure drained while a sibling still runs; a fail_fast parallel loop
  failed: {
    status: 'failed',
    text: `workflow:
  - step: start
    tool: { kind: noop }
    next:
      spec: { mode: inclusive }
      arcs: [ { step: loop_ff }, { step: slow } ]
  - step: loop_ff
    loop: { in: [1, 2, 3, 4], iterator: i, spec: { mode: parallel, max_in_flight: 2 } }
    tool:
      kind: python
      input: { i: "{{ iter.i }}" }
      code: |
        if i == 2:
            raise ValueError("two")
        result = {"i": i}
  - step: slow
    tool: { kind: shell, command: "sleep 0.5" }
`,
  },
  // a parent calling a child playbook (the child's events are in the child's own log)
  parent: {
    status: 'completed',
    files: {
      'lib/rec_child.yaml': playbook('scn_rec_child', 'workflow:\n  - step: start\n    tool: { kind: noop, result: { c: 1 } }\n'),
    },
    text: `workflow:
  - step: start
    loop: { in: [1, 2], iterator: i }
    tool: { kind: playbook, path: lib/rec_child }
    next: { arcs: [ { step: end } ] }
  - step: end
    tool: { kind: noop, result: { n: "{{ start.results | length }}" } }
`,
  },
};

describe('scenario 20: scheduler crash and recovery by replay (engine API over real embedded logs)', () => {
  let rt: EmbeddedRuntime;
  beforeAll(() => {
    rt = createEmbeddedRuntime({ env: d.env, cwd: d.dir, workers: 3 });
  });
  afterAll(async () => {
    await rt.close();
  });

  async function runToLog(name: string, text: string, cancelAfter?: (e: LoggedEvent) => boolean) {
    const file = d.write(`${name}.yaml`, playbook(`scn_rec_${name}`, text));
    const entry = new FileCatalog({ dirs: [], cwd: d.dir }).load(file);
    if (!entry.ok) throw new Error(`${name}: playbook did not load`);
    const id = await rt.submit(file);
    if (cancelAfter) {
      await waitUntilLogged(rt, id, cancelAfter);
      await rt.cancel(id, 'recovery scenario');
    }
    const out = await rt.waitForTerminal(id);
    return { id, out, pb: entry.entry.playbook, log: rt.events(id).map((e) => e as LoggedEvent) };
  }

  it('at every cut point: replay + re-processing yields the identical log, no duplicate step run; re-derived commands re-run identically', async () => {
    const { id, out, pb, log } = await runToLog('recovery', RECOVERY_PB);
    expect(out.error).toBeNull();
    expect(out).toMatchObject({ status: 'completed', result: { total: 30, pages: 3 } });
    expect(count(log, 'step.scheduled', 'page')).toBe(3);
    const commandsToRerun = checkRecoveryAtEveryCut(id, pb, log);
    expect(summarize(replay(pb, log), readFsRefSync)).toMatchObject({ status: 'completed', ctx: { n: 3, done: true } });

    // the re-derived commands, run by the real worker runtime and tools, reproduce the worker events
    // of the original run (same ids: same command id, delivery 1) and the same results
    expect(commandsToRerun.size).toBeGreaterThanOrEqual(6);
    const reTools = createDefaultTools({ env: d.env });
    try {
      for (const cmd of commandsToRerun.values()) {
        const emitted: NoetlEvent[] = [];
        const r = await runCommand(cmd, { epoch: 1, signal: new AbortController().signal }, {
          workerId: 'recovery-worker',
          tools: reTools,
          results: createFsResultStore({ root: join(d.dir, 'rerun-results') }),
          hydrate: readFsRefSync,
          credentials: { get: async () => undefined },
          emit: async (e) => void emitted.push(e),
          now: () => new Date(),
          sleep: (ms) => new Promise((res) => setTimeout(res, ms)),
        });
        expect(r.status).toBe('done');
        const original = log.filter((e) => e.source === 'worker' && e.command_id === cmd.command_id && e.lease_epoch === 1);
        expect(emitted.map((e) => [e.event_id, e.event_type, e.status])).toEqual(original.map((e) => [e.event_id, e.event_type, e.status]));
        expect(payloadOf(emitted.at(-1) as LoggedEvent).result).toEqual(payloadOf(original.at(-1)).result);
      }
    } finally {
      await reTools.close();
    }
  });

  it.each(Object.keys(OTHER_LOGS))('the same holds for a log with %s', async (name) => {
    const c = OTHER_LOGS[name];
    for (const [f, text] of Object.entries(c.files ?? {})) d.write(f, text);
    const { id, out, pb, log } = await runToLog(name, c.text, c.cancelAfter);
    expect(out.status).toBe(c.status);
    if (name === 'deadline') expect(count(log, 'x.timer.fired')).toBe(1);
    checkRecoveryAtEveryCut(id, pb, log);
  });
});

/**
 * Crash after `cut` events are durable, for every cut: rebuild by replay up to the last input,
 * re-process it (its outputs may be partly published: the re-derived ones must be identical and
 * are dropped), then feed the remaining inputs in order. The rebuilt log must equal the original,
 * the final state the live one, no step run twice; T4.1 re-publishes exactly the unstarted
 * commands. Returns those commands (by id) for a re-run.
 */
function checkRecoveryAtEveryCut(id: string, pb: Parameters<typeof replay>[0], log: LoggedEvent[]): Map<string, Command> {
  const liveState = replay(pb, log);
  // the time the scheduler processed each input = ts of its outputs (deterministic payloads)
  const nowOf = (input: LoggedEvent): string => log.find((e) => !isInput(e) && e.causation_id === input.event_id)?.ts ?? input.ts;
  const env = (input: LoggedEvent) => ({ seq: input.seq, now: nowOf(input), producerId: 'embedded-scheduler', hydrate: readFsRefSync });
  const commands = new Map<string, Command>();
  for (let cut = 1; cut < log.length; cut++) {
    const prefix = log.slice(0, cut);
    let last = -1;
    for (let i = 0; i < cut; i++) if (isInput(log[i])) last = i;
    const rebuilt: NoetlEvent[] = prefix.map(strip);
    const seen = new Map(rebuilt.map((e) => [e.event_id, e]));
    let state: ExecutionState = last > 0 ? replay(pb, prefix.slice(0, last)) : createExecutionState(id);
    const feed = (input: LoggedEvent): void => {
      const r = processEvent(state, pb, input, env(input));
      state = r.state;
      for (const e of r.events) {
        if (e.execution_id !== id) continue; // addressed to another execution (cascade): its input, not this log
        const stored = seen.get(e.event_id);
        if (stored) {
          // already published before the crash: the re-derived event is the same event (T8.3)
          if (!isDeepStrictEqual(strip(e), stored)) throw new Error(`cut ${cut}: re-derived ${e.event_id} differs from the stored one`);
          continue;
        }
        const copy = strip(e);
        seen.set(e.event_id, copy);
        rebuilt.push(copy);
      }
    };
    feed(log[last]);
    // T4.1: runs/iterations scheduled but not started in the durable prefix are re-published with the same command ids
    const pending = pendingCommands(replay(pb, prefix), pb, { now: log[cut - 1].ts });
    expect({ cut, ids: pending.map((c) => c.command_id).sort() }).toEqual({ cut, ids: expectedPending(prefix).sort() });
    for (const c of pending) if (!commands.has(c.command_id)) commands.set(c.command_id, c);
    for (let j = cut; j < log.length; j++) {
      if (!isInput(log[j])) continue;
      const input = strip(log[j]);
      seen.set(input.event_id, input);
      rebuilt.push(input);
      feed(log[j]);
    }
    if (rebuilt.length !== log.length || rebuilt.some((e, i) => e.event_id !== log[i].event_id)) {
      throw new Error(`cut ${cut}: rebuilt log differs:\n  got      ${rebuilt.map((e) => e.event_type).join(',')}\n  expected ${log.map((e) => e.event_type).join(',')}`);
    }
    expect(rebuilt).toEqual(log.map(strip));
    expect(JSON.parse(JSON.stringify(state))).toEqual(JSON.parse(JSON.stringify(liveState)));
    const runs = rebuilt.filter((e) => e.event_type === 'step.scheduled').map((e) => e.step_run_id);
    expect(new Set(runs).size).toBe(runs.length);
  }
  return commands;
}

/** Command ids scheduled in `prefix` whose run/iteration has neither a started nor a terminal event there. */
function expectedPending(prefix: readonly LoggedEvent[]): string[] {
  const scheduled = new Map<string, string>(); // command id -> entity id
  const progressed = new Set<string>();
  for (const e of prefix) {
    const p = payloadOf(e);
    if (e.event_type === 'step.scheduled' && typeof p.command_id === 'string') scheduled.set(p.command_id, e.step_run_id as string);
    if (e.event_type === 'loop.iteration.scheduled' && typeof p.command_id === 'string') scheduled.set(p.command_id, p.iteration_id as string);
    if (e.source === 'worker' || e.event_type.startsWith('step.failed') || e.event_type === 'loop.iteration.failed') {
      if (e.iteration_id) progressed.add(e.iteration_id);
      else if (e.step_run_id) progressed.add(e.step_run_id);
    }
  }
  if (prefix.some((e) => ['execution.completed', 'execution.failed', 'execution.cancelled'].includes(e.event_type))) return [];
  return [...scheduled].filter(([, entity]) => !progressed.has(entity)).map(([cmd]) => cmd);
}
