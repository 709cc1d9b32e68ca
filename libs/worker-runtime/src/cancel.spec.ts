import type { ToolHandler } from '@noetl/tools';
import { runCommand } from './index';
import { makeHarness, makeCommand, task, when, delivery, err, trace, terminalPayload } from './testing/harness';

describe('cancellation (runtime §11 step 3)', () => {
  test('a command whose signal is already aborted emits only the cancelled terminal', async () => {
    const h = makeHarness();
    const ac = new AbortController();
    ac.abort('execution cancelled');
    const out = await runCommand(makeCommand({ pipeline: [task('a', 'script')] }), delivery(1, ac.signal), h.deps);
    expect(out.status).toBe('cancelled');
    expect(trace(h.events)).toEqual(['step.cancelled']);
    expect(terminalPayload(h.events)).toEqual({ reason: 'execution cancelled' });
    expect(h.events[0].status).toBe('cancelled');
  });

  test('mid retry sleep: task.cancelled then step.cancelled; no further attempt', async () => {
    const h = makeHarness();
    h.blockSleeps();
    h.script.on('fetch', err('server_error', 'HTTP_503', 'down', { retryable: true }));
    const ac = new AbortController();
    const run = runCommand(makeCommand({ pipeline: [task('fetch', 'script', { policy: [when('{{ output.error.retryable }}', { do: 'retry', attempts: 5, delay: 30 })] }), task('next', 'script')] }), delivery(1, ac.signal), h.deps);
    while (h.sleeps.length === 0) await new Promise((r) => setImmediate(r));
    ac.abort('user');
    const out = await run;
    expect(out.status).toBe('cancelled');
    expect(trace(h.events)).toEqual(['step.started', 'task.started:fetch', 'task.attempt.failed:fetch#1', 'task.cancelled:fetch#1', 'step.cancelled']);
    expect(terminalPayload(h.events)).toEqual({ reason: 'user', at_task: 'fetch' });
    expect(h.sleeps).toEqual([30_000]);
    expect(h.script.calls).toHaveLength(1);
  });

  test('mid tool: the tool sees the abort and the command ends cancelled without an attempt event', async () => {
    let seen: AbortSignal | undefined;
    let started!: () => void;
    const ready = new Promise<void>((r) => (started = r));
    const slow: ToolHandler = {
      kind: 'slow',
      run: (_c, ctx) => {
        seen = ctx.signal;
        started();
        return new Promise(() => undefined); // ignores the signal: the worker must not wait for it
      },
    };
    const h = makeHarness({ tools: [slow] });
    const ac = new AbortController();
    const run = runCommand(makeCommand({ iteration: { index: 0, total: 1, iterator: 'x', item: 1 }, pipeline: [task('s', 'slow')] }), delivery(1, ac.signal), h.deps);
    await ready;
    ac.abort();
    const out = await run;
    expect(out.status).toBe('cancelled');
    expect(trace(h.events)).toEqual(['loop.iteration.started', 'task.started:s', 'task.cancelled:s#1', 'loop.iteration.cancelled']);
    expect(terminalPayload(h.events)).toMatchObject({ index: 0, reason: 'cancelled' });
    expect(seen!.aborted).toBe(true);
  });

  test('abort between tasks is seen before the next attempt', async () => {
    const ac = new AbortController();
    const h = makeHarness();
    h.script.on('a', () => {
      ac.abort('stop');
      return { status: 'ok', data: 1 };
    });
    await runCommand(makeCommand({ pipeline: [task('a', 'script'), task('b', 'script')] }), delivery(1, ac.signal), h.deps);
    expect(trace(h.events)).toEqual(['step.started', 'task.started:a', 'task.cancelled:a#1', 'step.cancelled']);
  });
});
