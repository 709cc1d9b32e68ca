import type { ToolHandler } from '@noetl/tools';
import { runCommand, ClassifiedError } from './index';
import { makeHarness, makeCommand, task, when, otherwise, delivery, ofType, terminalPayload, trace } from './testing/harness';

describe('template errors by location (R12.15)', () => {
  test('task field: the attempt outcome is an error of kind template, subject to the policy', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({
      pipeline: [
        task('a', 'script', { url: '{{ 1 / 0 }}', policy: [when("{{ output.error.kind == 'template' }}", { do: 'continue', set: { 'ctx.msg': '{{ output.error.code }}' } })] }),
        task('b', 'script', { input: { x: '{{ [1] + 1 }}' } }),
        task('c', 'script'),
      ],
    }), delivery(), h.deps);
    const [a, b] = ofType(h.events, 'task.attempt.failed');
    expect(a.payload.outcome.error).toMatchObject({ kind: 'template', retryable: false });
    expect(a.payload.outcome.error!.message).toContain('task a field url');
    expect(b.payload.outcome.error!.message).toContain('task b input.x');
    expect(b.payload).not.toHaveProperty('rendered_input');
    expect(h.script.calls).toHaveLength(0);
    expect(trace(h.events)).toEqual(['step.started', 'task.started:a', 'task.attempt.failed:a#1', 'task.failed:a', 'task.started:b', 'task.attempt.failed:b#1', 'task.failed:b', 'step.failed']);
    expect(terminalPayload(h.events)['error']).toMatchObject({ kind: 'template' });
  });

  test('policy when: the pipeline fails with kind template after recording the attempt', async () => {
    const h = makeHarness();
    await runCommand(makeCommand({ pipeline: [task('a', 'script', { result: 1, policy: [when('{{ output.data / 0 }}', { do: 'continue' })] }), task('b', 'script')] }), delivery(), h.deps);
    expect(trace(h.events)).toEqual(['step.started', 'task.started:a', 'task.attempt.done:a#1', 'task.done:a', 'step.failed']);
    expect(ofType(h.events, 'task.attempt.done')[0].payload.decision).toMatchObject({ do: 'fail' });
    expect(terminalPayload(h.events)['error']).toMatchObject({ kind: 'template' });
    expect(terminalPayload(h.events)['partial_result']).toEqual({ results: { a: 1 }, a: 1 });
  });

  test('strict mode: an undefined name in a task field is a template error', async () => {
    const h = makeHarness({ strict: true });
    await runCommand(makeCommand({ pipeline: [task('a', 'script', { url: '{{ missing_name }}' })] }), delivery(), h.deps);
    expect(ofType(h.events, 'task.attempt.failed')[0].payload.outcome.error).toMatchObject({ kind: 'template' });
    const h2 = makeHarness();
    await runCommand(makeCommand({ pipeline: [task('a', 'script', { url: '{{ missing_name }}' })] }), delivery(), h2.deps);
    expect(h2.script.calls[0].config['url']).toBeNull();
  });
});

describe('tool failures are outcomes, never crashes (T9.4, T9.5)', () => {
  test('unknown kind -> config; a throwing tool -> internal; a classified throw keeps its kind', async () => {
    const boom: ToolHandler = { kind: 'boom', run: async () => { throw new TypeError('kaput'); } };
    const denied: ToolHandler = { kind: 'denied', run: async () => { throw new ClassifiedError('auth', 'AUTH_NOT_FOUND', 'no cred'); } };
    const bad: ToolHandler = { kind: 'bad', run: async () => ({ status: 'error' }) as never };
    const h = makeHarness({ tools: [boom, denied, bad] });
    const cont = [otherwise({ do: 'continue' })];
    await runCommand(makeCommand({ pipeline: [task('u', 'nope', { policy: cont }), task('b', 'boom', { policy: cont }), task('d', 'denied', { policy: cont }), task('x', 'bad', { policy: cont })] }), delivery(), h.deps);
    const errs = ofType(h.events, 'task.attempt.failed').map((e) => e.payload.outcome.error);
    expect(errs[0]).toMatchObject({ kind: 'config', code: 'UNKNOWN_TOOL_KIND', retryable: false });
    expect(errs[1]).toMatchObject({ kind: 'internal', code: 'INTERNAL', message: 'kaput' });
    expect(errs[2]).toMatchObject({ kind: 'auth', code: 'AUTH_NOT_FOUND', retryable: false });
    expect(errs[3]).toMatchObject({ kind: 'internal', code: 'TOOL_ERROR_MISSING' });
    expect(h.events[h.events.length - 1].event_type).toBe('step.done');
  });

  test('hard outer timeout = effective timeout + grace; the tool is aborted', async () => {
    let toolSignal: AbortSignal | undefined;
    const hang: ToolHandler = { kind: 'hang', run: (_c, ctx) => { toolSignal = ctx.signal; return new Promise(() => undefined); } };
    const h = makeHarness({ tools: [hang], deps: { timeoutGraceMs: 20 } });
    await runCommand(makeCommand({ pipeline: [task('h', 'hang', { spec: { timeout: '30ms' } })] }), delivery(), h.deps);
    expect(ofType(h.events, 'task.attempt.failed')[0].payload.outcome.error).toMatchObject({ kind: 'timeout', code: 'TOOL_TIMEOUT', retryable: true });
    expect(toolSignal!.aborted).toBe(true);
  });

  test('long error messages are truncated to 8 KiB; rendered_input is capped at 8 KiB', async () => {
    const h = makeHarness();
    h.script.on('a', { status: 'error', error: { kind: 'script_error', code: 'X', message: 'm'.repeat(20_000), retryable: false } });
    await runCommand(makeCommand({ pipeline: [task('a', 'script', { input: { blob: 'y'.repeat(20_000), small: 1 } })] }), delivery(), h.deps);
    const p = ofType(h.events, 'task.attempt.failed')[0].payload;
    expect(Buffer.byteLength(p.outcome.error!.message)).toBe(8192);
    expect(p.outcome.error!.truncated).toBe(true);
    expect(p.rendered_input).toEqual({ small: 1, _truncated: true });
  });

  test('a failing emit rejects runCommand (the host must not ack)', async () => {
    const h = makeHarness();
    let n = 0;
    h.deps.emit = async () => {
      if (++n === 3) throw new Error('nats down');
    };
    await expect(runCommand(makeCommand({ pipeline: [task('a', 'script')] }), delivery(), h.deps)).rejects.toThrow('nats down');
  });
});
