// Progress lines and the summary table: synthetic events shaped like the runtime's, plus one real run.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggedEvent } from '@noetl/events';
import { main } from './main';
import { ProgressPrinter, summaryTable, SUMMARY_EDGE_ROWS } from './progress';
import { fakeIo } from './testing';

const EX = 'EX1';
let seq = 0;
function ev(event_type: string, fields: Record<string, unknown> = {}, payload: Record<string, unknown> = {}): LoggedEvent {
  seq++;
  return { v: 1, event_id: `${EX}/${seq}`, event_type, ts: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, seq)).toISOString(), execution_id: EX, root_execution_id: EX, source: 'worker', producer_id: 'p', status: 'ok', seq, payload, ...fields } as unknown as LoggedEvent;
}

const boom = { status: 'error', error: { kind: 'script_error', code: 'PY_RuntimeError', message: 'RuntimeError: boom' } };
function attemptFailed(attempt: number, decision: Record<string, unknown>): LoggedEvent {
  return ev('task.attempt.failed', { step: 'start', step_run_id: 'r1', task: 'boom', attempt }, { task_run_id: 't1', attempt, outcome: boom, decision: { source: 'rule', rule_index: 0, set_keys: [], ...decision } });
}

describe('ProgressPrinter: retries', () => {
  it('announces each retry, and says "no retries left" (not "retry 6 of 5") on the last failed attempt', () => {
    const io = fakeIo('/');
    const p = new ProgressPrinter(io, EX);
    for (let a = 1; a <= 4; a++) p.onEvent(attemptFailed(a, { do: 'retry', attempts: 5, delay_ms: 200 }));
    // what the worker logs on the last attempt: still `retry` with `attempts`, no `delay_ms`
    p.onEvent(attemptFailed(5, { do: 'retry', attempts: 5 }));
    const lines = io.err.trim().split('\n');
    expect(lines).toEqual([
      '↻ start/boom attempt 1 failed (script_error PY_RuntimeError: RuntimeError: boom); retry 2 of 5 in 200 ms',
      '↻ start/boom attempt 2 failed (script_error PY_RuntimeError: RuntimeError: boom); retry 3 of 5 in 200 ms',
      '↻ start/boom attempt 3 failed (script_error PY_RuntimeError: RuntimeError: boom); retry 4 of 5 in 200 ms',
      '↻ start/boom attempt 4 failed (script_error PY_RuntimeError: RuntimeError: boom); retry 5 of 5 in 200 ms',
      '↻ start/boom attempt 5 failed (script_error PY_RuntimeError: RuntimeError: boom); no retries left (5 attempts)',
    ]);
    expect(io.err).not.toMatch(/retry 6/);
  });

  it('a later attempt the policy does not retry says so; a first failure without a retry prints nothing', () => {
    const io = fakeIo('/');
    const p = new ProgressPrinter(io, EX);
    p.onEvent(attemptFailed(1, { do: 'fail', source: 'default', rule_index: null }));
    expect(io.err).toBe('');
    p.onEvent(attemptFailed(1, { do: 'retry', attempts: 3, delay_ms: 0 }));
    p.onEvent(attemptFailed(2, { do: 'fail', source: 'default', rule_index: null }));
    expect(io.err.trim().split('\n')).toEqual([
      '↻ start/boom attempt 1 failed (script_error PY_RuntimeError: RuntimeError: boom); retry 2 of 3',
      '↻ start/boom attempt 2 failed (script_error PY_RuntimeError: RuntimeError: boom); not retried (fail)',
    ]);
  });

  it('a real run: the retries of a failing task end with "no retries left"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'noetl-progress-'));
    try {
      writeFileSync(
        join(dir, 'retry.yaml'),
        `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: retry, path: cli/retry }
workflow:
  - step: start
    tool:
      - name: boom
        kind: python
        code: |
          raise RuntimeError("boom")
        spec:
          policy:
            rules:
              - when: "{{ output.status == 'error' }}"
                then: { do: retry, attempts: 3, delay: 0.01 }
`,
      );
      const io = fakeIo(dir, { ...process.env, NOETL_HOME: join(dir, 'home'), NOETL_CREDENTIALS: '' });
      expect(await main(['run', 'retry.yaml'], io)).toBe(1);
      const retries = io.err.split('\n').filter((l) => l.startsWith('↻'));
      expect(retries).toHaveLength(3);
      expect(retries[0]).toMatch(/^↻ start\/boom attempt 1 failed \(.*boom\); retry 2 of 3 in \d+ ms$/);
      expect(retries[1]).toMatch(/attempt 2 failed .*; retry 3 of 3 in/);
      expect(retries[2]).toMatch(/^↻ start\/boom attempt 3 failed \(.*boom\); no retries left \(3 attempts\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ProgressPrinter: loop progress', () => {
  function loop(io: ReturnType<typeof fakeIo>, outcomes: Array<'done' | 'failed' | 'cancelled'>, total = 20): void {
    const p = new ProgressPrinter(io, EX);
    p.onEvent(ev('loop.started', { step: 'start', step_run_id: 'r1' }, { step_run_id: 'r1', loop_id: 'l1', iterator: 'x', mode: 'parallel', max_in_flight: 2, failure_mode: 'fail_fast', total }));
    outcomes.forEach((o, index) => p.onEvent(ev(`loop.iteration.${o}`, { step: 'start', step_run_id: 'r1', iteration_index: index }, { iteration_id: `i${index}`, index, reason: 'x' })));
  }

  it('counts cancelled iterations as cancelled, not failed (pipe: one line per 10%)', () => {
    const io = fakeIo('/');
    loop(io, ['failed', 'cancelled', 'cancelled']);
    expect(io.err).toMatch(/^ {2}start 2\/20 \(1 failed, 1 cancelled\)$/m);
    const io2 = fakeIo('/');
    loop(io2, ['cancelled', 'cancelled']);
    expect(io2.err).toMatch(/^ {2}start 2\/20 \(2 cancelled\)$/m);
    expect(io2.err).not.toMatch(/failed/);
  });

  it('the terminal bar shows both counts', () => {
    const io = fakeIo('/', { NO_COLOR: '1' });
    io.stderr.isTTY = true;
    loop(io, ['done', 'failed', 'cancelled', 'cancelled'], 4);
    const last = io.err.split('\r\u001b[K').filter(Boolean).at(-1);
    expect(last).toMatch(/start \S+ 4\/4 1 failed 2 cancelled$/);
  });
});

describe('summaryTable', () => {
  function doc(n: number, failedAt?: number) {
    const steps: Record<string, { status: string; runs: number }> = {};
    for (let i = 0; i < n; i++) steps[`s${i}`] = { status: i === failedAt ? 'failed' : 'done', runs: 1 };
    return { execution_id: EX, status: failedAt === undefined ? 'completed' : 'failed', error: null, steps, events: [] };
  }

  it('lists every step of a short run', () => {
    const out = summaryTable(doc(50), fakeIo('/'));
    expect(out.split('\n').filter((l) => /^ {2}s\d+ /.test(l))).toHaveLength(50);
    expect(out).not.toMatch(/more steps/);
  });

  it('is bounded for a huge step count: first and last rows, and the rest counted by status', () => {
    const out = summaryTable(doc(10_000, 5_000), fakeIo('/'));
    const lines = out.split('\n');
    expect(lines.length).toBeLessThan(2 * SUMMARY_EDGE_ROWS + 10);
    const rows = lines.filter((l) => /^ {2}s\d+ /.test(l)).map((l) => l.trim().split(/\s+/)[0]);
    expect(rows).toHaveLength(2 * SUMMARY_EDGE_ROWS);
    expect(rows[0]).toBe('s0');
    expect(rows[SUMMARY_EDGE_ROWS - 1]).toBe(`s${SUMMARY_EDGE_ROWS - 1}`);
    expect(rows[SUMMARY_EDGE_ROWS]).toBe(`s${10_000 - SUMMARY_EDGE_ROWS}`);
    expect(rows.at(-1)).toBe('s9999');
    expect(out).toContain(`  … ${(10_000 - 2 * SUMMARY_EDGE_ROWS).toLocaleString('en-US')} more steps (9,959 done, 1 failed)`);
    expect(out).toMatch(/^failed \(execution EX1\)$/m);
  });
});

describe('noetl run --quiet on a long chain', () => {
  it('prints no progress and a bounded summary table; --json is unchanged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'noetl-quiet-'));
    try {
      const n = 120;
      const steps = Array.from({ length: n }, (_, i) => `  - step: ${i === 0 ? 'start' : `s${i}`}\n    tool: { kind: noop }\n${i < n - 1 ? `    next: { arcs: [ { step: s${i + 1} } ] }\n` : ''}`);
      writeFileSync(join(dir, 'chain.yaml'), `apiVersion: noetl.io/v2\nkind: Playbook\nmetadata: { name: chain, path: cli/chain }\nworkflow:\n${steps.join('')}`);
      const env = { ...process.env, NOETL_HOME: join(dir, 'home'), NOETL_CREDENTIALS: '' };
      const io = fakeIo(dir, env);
      expect(await main(['run', 'chain.yaml', '-q'], io)).toBe(0);
      expect(io.err).not.toMatch(/▶|✔/);
      expect(io.err).toMatch(/STEP\s+STATUS\s+RUNS\s+TIME/);
      expect(io.err).toContain(`… ${n - 2 * SUMMARY_EDGE_ROWS} more steps (${n - 2 * SUMMARY_EDGE_ROWS} done)`);
      expect(io.err.split('\n').length).toBeLessThan(2 * SUMMARY_EDGE_ROWS + 10);
      const json = fakeIo(dir, env);
      expect(await main(['run', 'chain.yaml', '-q', '--json'], json)).toBe(0);
      expect(json.err).toBe('');
      expect(Object.keys(JSON.parse(json.out).steps)).toHaveLength(n);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
