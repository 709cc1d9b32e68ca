// End-to-end tests of the embedded runtime: the real engine, worker runtime and tools in one
// process (python, shell, noop), the real fs result store in a temp dir.
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggedEvent } from '@noetl/events';
import { ToolRegistry, createNoopTool, type ToolHandler } from '@noetl/tools';
import { parseJsonl } from './log';
import { replayLog } from './replay';
import { createEmbeddedRuntime } from './runtime';
import { PlaybookRejectedError, type EmbeddedRuntime } from './types';

const dir = mkdtempSync(join(tmpdir(), 'noetl-embedded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, NOETL_HOME: join(dir, 'home') };

function write(name: string, text: string): string {
  const f = join(dir, name);
  mkdirSync(join(f, '..'), { recursive: true });
  writeFileSync(f, text);
  return f;
}

const count = (events: readonly LoggedEvent[], type: string, step?: string) =>
  events.filter((e) => e.event_type === type && (step === undefined || e.step === step)).length;

const LINEAR_TEXT = `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: linear, path: tests/linear }
workload: { n: 2 }
workflow:
  - step: start
    tool: { kind: noop, result: { v: "{{ n * 10 }}" } }
    set: { ctx.seen: "{{ output.data.v }}" }
    next: { arcs: [ { step: py } ] }
  - step: py
    tool:
      kind: python
      input: { v: "{{ start.v }}" }
      code: |
        result = {"double": v * 2}
    next: { arcs: [ { step: end } ] }
  - step: end
    tool: { kind: noop, result: { final: "{{ py.double }}" } }
`;
const LINEAR = write('linear.yaml', LINEAR_TEXT);

const SLOW = write(
  'slow.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: slow, path: tests/slow }
workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: wait } ] }
  - step: wait
    tool: { kind: shell, command: "sleep 30" }
    next: { arcs: [ { step: never } ] }
  - step: never
    tool: { kind: noop }
`,
);

describe('embedded runtime', () => {
  let rt: EmbeddedRuntime;
  beforeAll(() => {
    rt = createEmbeddedRuntime({ env, cwd: dir, workers: 3 });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('runs a playbook to completion and builds the --json document', async () => {
    const id = await rt.submit(LINEAR, { n: 3 });
    expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    const out = await rt.waitForTerminal(id);
    expect(out).toMatchObject({ executionId: id, status: 'completed', error: null, result: { final: 60 } });
    const doc = await rt.document(id);
    expect(doc).toMatchObject({
      execution_id: id,
      status: 'completed',
      error: null,
      ctx: { seen: 30 },
      steps: { start: { status: 'done', runs: 1, result: { v: 30 } }, py: { status: 'done', runs: 1, result: { double: 60 } }, end: { status: 'done', runs: 1 } },
    });
    const ev = doc.events;
    expect(ev[0].event_type).toBe('execution.requested');
    expect(ev[1].event_type).toBe('execution.started');
    expect(ev.at(-1)?.event_type).toBe('execution.completed');
    expect(ev.map((e) => e.seq)).toEqual(ev.map((_, i) => i + 1));
    expect(new Set(ev.map((e) => e.event_id)).size).toBe(ev.length);
    expect(count(ev, 'step.scheduled')).toBe(3);
    expect(count(ev, 'step.done')).toBe(3);
  });

  it('T4.1: a step run is scheduled in the log before its worker events', async () => {
    const id = await rt.submit(LINEAR, {});
    await rt.waitForTerminal(id);
    const ev = rt.events(id);
    for (const step of ['start', 'py', 'end']) {
      const sched = ev.findIndex((e) => e.event_type === 'step.scheduled' && e.step === step);
      const started = ev.findIndex((e) => e.event_type === 'step.started' && e.step === step);
      const done = ev.findIndex((e) => e.event_type === 'step.done' && e.step === step);
      expect(sched).toBeGreaterThan(0);
      expect(started).toBeGreaterThan(sched);
      expect(done).toBeGreaterThan(started);
    }
  });

  it('rejects an invalid playbook before it runs, with diagnostics', async () => {
    const bad = write('bad.yaml', 'apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: bad, path: x }\nworkflow:\n  - step: start\n    next: { arcs: [ { step: nowhere } ] }\n');
    const err = await rt.submit(bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PlaybookRejectedError);
    expect((err as PlaybookRejectedError).diagnostics.map((d) => d.code)).toContain('E_UNKNOWN_ARC_TARGET');
  });

  it('cancels cleanly: the running tool is interrupted and the execution ends cancelled', async () => {
    const id = await rt.submit(SLOW);
    await new Promise<void>((resolve) => {
      const off = rt.subscribe((e) => {
        if (e.execution_id === id && e.event_type === 'step.started' && e.step === 'wait') {
          off();
          resolve();
        }
      });
    });
    const t0 = Date.now();
    expect(await rt.cancel(id, 'test')).toBe(true);
    const out = await rt.waitForTerminal(id);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(out.status).toBe('cancelled');
    const ev = rt.events(id);
    expect(count(ev, 'execution.cancel_requested')).toBe(1);
    expect(count(ev, 'execution.cancelled')).toBe(1);
    expect(count(ev, 'step.cancelled', 'wait')).toBe(1);
    expect(count(ev, 'step.scheduled', 'never')).toBe(0);
    const doc = await rt.document(id);
    expect(doc.status).toBe('cancelled');
    expect(doc.steps.wait).toMatchObject({ status: 'cancelled', runs: 1 });
    // a second cancel of a terminal execution is a no-op
    expect(await rt.cancel(id)).toBe(false);
  });

  it('waitForTerminal rejects when its signal aborts', async () => {
    const id = await rt.submit(SLOW);
    const ac = new AbortController();
    setTimeout(() => ac.abort('enough'), 50);
    await expect(rt.waitForTerminal(id, ac.signal)).rejects.toThrow(/enough/);
    await rt.cancel(id);
    expect((await rt.waitForTerminal(id)).status).toBe('cancelled');
  });

  it('--events-out log replays to the identical document (T10.6)', async () => {
    const id = await rt.submit(LINEAR, { n: 5 });
    await rt.waitForTerminal(id);
    const live = await rt.document(id);
    const text = rt.treeEvents(id).map((e) => `${JSON.stringify(e)}\n`).join('');
    const r = replayLog(parseJsonl(text), { cwd: dir });
    expect(r.executionId).toBe(id);
    expect(r.document).toEqual(JSON.parse(JSON.stringify(live)));
  });
});

describe('event log memory bound end to end', () => {
  it('a run longer than the in-memory tail reads back, documents and replays exactly like one that fits', async () => {
    const loop = write(
      'loop30.yaml',
      `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: loop30, path: tests/loop30 }
workflow:
  - step: start
    loop: { in: "{{ range(30) | list }}", iterator: i, spec: { mode: parallel, max_in_flight: 4 } }
    tool: { kind: noop, result: { i: "{{ i }}" } }
    next: { arcs: [ { step: end } ] }
  - step: end
    tool: { kind: noop, result: { n: "{{ start.results | length }}" } }
`,
    );
    const spillDir = mkdtempSync(join(dir, 'spill-'));
    const small = createEmbeddedRuntime({ env, cwd: dir, workers: 2, eventLog: { memoryEvents: 16, spillDir } });
    const big = createEmbeddedRuntime({ env, cwd: dir, workers: 2, eventLog: { memoryEvents: Number.POSITIVE_INFINITY } });
    try {
      const seen: string[] = [];
      small.subscribe((e) => seen.push(e.event_id));
      const a = await small.submit(loop);
      const b = await big.submit(loop);
      expect((await small.waitForTerminal(a)).status).toBe('completed');
      expect((await big.waitForTerminal(b)).status).toBe('completed');
      const spilled = small.treeEvents(a);
      expect(spilled.length).toBeGreaterThan(100);
      expect(readdirSync(spillDir).length).toBe(1);
      // same log as the in-memory run, up to execution ids and times
      const shape = (evs: readonly LoggedEvent[]) => evs.map((e) => `${e.seq} ${e.event_type} ${e.step ?? ''} ${e.iteration_index ?? ''}`).sort();
      expect(shape(spilled)).toEqual(shape(big.treeEvents(b)));
      expect(spilled.map((e) => e.seq)).toEqual(spilled.map((_, i) => i + 1));
      expect(spilled.map((e) => e.event_id)).toEqual(seen);
      const doc = await small.document(a);
      expect(doc.events).toEqual(spilled);
      expect(doc.steps.end.result).toEqual({ n: 30 });
      const text = spilled.map((e) => `${JSON.stringify(e)}\n`).join('');
      expect(replayLog(parseJsonl(text), { cwd: dir }).document).toEqual(JSON.parse(JSON.stringify(doc)));
    } finally {
      await small.close();
      await big.close();
    }
    expect(readdirSync(spillDir)).toEqual([]);
  });
});

describe('replay: finding the playbook of a log', () => {
  it('uses the recorded file, refuses a changed file, accepts --playbook with a warning', async () => {
    const f = write('replay/pb.yaml', LINEAR_TEXT);
    const rt = createEmbeddedRuntime({ env, cwd: dir, workers: 2 });
    let text: string;
    let live: unknown;
    try {
      const id = await rt.submit(f, { n: 1 });
      await rt.waitForTerminal(id);
      live = JSON.parse(JSON.stringify(await rt.document(id)));
      text = rt.treeEvents(id).map((e) => JSON.stringify(e)).join('\n');
    } finally {
      await rt.close();
    }
    const events = parseJsonl(text);
    expect(replayLog(events, { cwd: join(dir, 'replay') }).document).toEqual(live);
    // the file changes: its digest no longer matches the log
    writeFileSync(f, LINEAR_TEXT.replace('n: 2', 'n: 3'));
    expect(() => replayLog(events, { cwd: join(dir, 'replay') })).toThrow(/digest .* the log was made with .*pass --playbook FILE/);
    const r = replayLog(events, { cwd: join(dir, 'replay'), playbook: f });
    expect(r.warnings[0]).toMatch(/digest/);
    expect(r.document).toEqual(live);
    expect(() => replayLog([], {})).toThrow(/empty/);
  });
});

describe('sub-playbooks (kind: playbook) as child executions', () => {
  let rt: EmbeddedRuntime;
  const catalogDir = join(dir, 'catalog');
  beforeAll(() => {
    write(
      'lib/child.yaml',
      `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: child, path: lib/child }
workload: { x: 1 }
workflow:
  - step: start
    tool: { kind: noop, result: { got: "{{ x }}" } }
    next: { arcs: [ { step: finalize } ] }
  - step: finalize
    tool: { kind: noop, result: { twice: "{{ start.got * 2 }}" } }
`,
    );
    write(
      'catalog/any-name.yaml',
      `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: by_meta, path: shared/by_meta }
workflow:
  - step: start
    tool: { kind: noop, result: { from: catalog } }
`,
    );
    write(
      'catalog/sleeper.yaml',
      `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: sleeper, path: shared/sleeper }
workflow:
  - step: start
    tool: { kind: shell, command: "sleep 30" }
`,
    );
    rt = createEmbeddedRuntime({ env, cwd: dir, workers: 4, catalogDirs: [catalogDir] });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('runs a child relative to the parent file, in the same log tree, with return_step', async () => {
    const parent = write(
      'parent.yaml',
      `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: parent, path: tests/parent }
workflow:
  - step: start
    tool: { kind: playbook, path: lib/child, input: { x: 21 } }
    next: { arcs: [ { step: call_ret } ] }
  - step: call_ret
    tool: { kind: playbook, path: lib/child, input: { x: 5 }, return_step: start }
    next: { arcs: [ { step: meta } ] }
  - step: meta
    tool: { kind: playbook, path: shared/by_meta }
    next: { arcs: [ { step: end } ] }
  - step: end
    tool: { kind: noop, result: { a: "{{ start.twice }}", b: "{{ call_ret.got }}", c: "{{ meta.from }}" } }
`,
    );
    const id = await rt.submit(parent);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out).toMatchObject({ status: 'completed', result: { a: 42, b: 5, c: 'catalog' } });
    const tree = rt.treeEvents(id);
    const childIds = [...new Set(tree.filter((e) => e.execution_id !== id).map((e) => e.execution_id))];
    expect(childIds).toHaveLength(3);
    for (const c of childIds) {
      const started = tree.find((e) => e.execution_id === c && e.event_type === 'execution.started');
      expect(started?.root_execution_id).toBe(id);
      expect(started?.parent_execution_id).toBe(id);
    }
    expect(tree.map((e) => e.seq)).toEqual(tree.map((_, i) => i + 1));
  });

  it('an unknown child path fails the task with kind not_found', async () => {
    const parent = write(
      'parent-missing.yaml',
      `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: parent_missing, path: tests/parent_missing }
workflow:
  - step: start
    tool: { kind: playbook, path: lib/does_not_exist }
`,
    );
    const id = await rt.submit(parent);
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('failed');
    expect(out.error).toMatchObject({ kind: 'not_found', step: 'start' });
  });

  it('cancelling the parent cascades to the running child', async () => {
    const parent = write(
      'parent-cascade.yaml',
      `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: parent_cascade, path: tests/parent_cascade }
workflow:
  - step: start
    tool: { kind: playbook, path: shared/sleeper }
`,
    );
    const id = await rt.submit(parent);
    const childId = await new Promise<string>((resolve) => {
      const off = rt.subscribe((e) => {
        if (e.execution_id !== id && e.root_execution_id === id && e.event_type === 'step.started') {
          off();
          resolve(e.execution_id);
        }
      });
    });
    await rt.cancel(id, 'stop all');
    expect((await rt.waitForTerminal(id)).status).toBe('cancelled');
    expect((await rt.waitForTerminal(childId)).status).toBe('cancelled');
  });
});

describe('bus semantics end to end', () => {
  it('a command whose deliveries all time out is failed as worker_lost (T8.14), first terminal wins', async () => {
    let calls = 0;
    const stuck: ToolHandler = {
      kind: 'python',
      async run() {
        calls++;
        await new Promise((r) => setTimeout(r, 400)); // never heartbeats: ack-wait expires first
        return { status: 'ok', data: { late: true } };
      },
    };
    const tools = new ToolRegistry().register(createNoopTool()).register(stuck);
    const rt = createEmbeddedRuntime({ env, cwd: dir, workers: 3, tools, ackWaitMs: 100, heartbeatMs: 60_000, maxDeliver: 2 });
    try {
      const f = write(
        'stuck.yaml',
        `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: stuck, path: tests/stuck }
workflow:
  - step: start
    tool: { kind: python, code: "result = 1" }
    next:
      arcs:
        - step: lost
          when: "{{ event.name == 'step.failed' }}"
          args: { kind: "{{ event.error.kind }}" }
  - step: lost
    tool: { kind: noop, result: { kind: "{{ args.kind }}" } }
`,
      );
      const id = await rt.submit(f);
      const out = await rt.waitForTerminal(id);
      const ev = rt.events(id);
      const epochs = ev.filter((e) => e.event_type === 'step.started' && e.step === 'start').map((e) => e.lease_epoch);
      expect(epochs).toEqual([1, 2]);
      expect(calls).toBe(2);
      const failed = ev.filter((e) => e.event_type === 'step.failed' && e.step === 'start');
      expect(failed).toHaveLength(1);
      expect(failed[0].payload).toMatchObject({ reason: 'worker_lost', error: { kind: 'worker_lost' } });
      expect(out.status).toBe('completed');
      expect((await rt.document(id)).steps.lost).toMatchObject({ status: 'done', result: { kind: 'worker_lost' } });
      // the late step.done events of both deliveries are stored but do not change the outcome
      await new Promise((r) => setTimeout(r, 500));
      expect((await rt.document(id)).steps.start).toMatchObject({ status: 'failed', runs: 1 });
    } finally {
      await rt.close();
    }
  });

  it('a step deadline fires through the timer service (step.failed timeout)', async () => {
    const rt = createEmbeddedRuntime({ env, cwd: dir, workers: 2 });
    try {
      const f = write(
        'deadline.yaml',
        `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: deadline, path: tests/deadline }
workflow:
  - step: start
    spec: { policy: { lifecycle: { timeout_s: 0.3 } } }
    tool: { kind: shell, command: "sleep 20" }
`,
      );
      const t0 = Date.now();
      const id = await rt.submit(f);
      const out = await rt.waitForTerminal(id);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(out.status).toBe('failed');
      expect(out.error).toMatchObject({ kind: 'timeout', step: 'start' });
      expect(rt.events(id).some((e) => e.event_type === 'x.timer.fired')).toBe(true);
    } finally {
      await rt.close();
    }
  });
});
