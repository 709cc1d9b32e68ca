import type { NoetlEvent } from '@noetl/events';
import type { ToolHandler, ToolOutcome } from '@noetl/tools';
import { runCommand } from './index';
import { makeHarness, makeCommand, task, when, otherwise, delivery, trace, type CommandInput } from './testing/harness';

/**
 * A tool with `runSync` (the synchronous attempt path) must emit exactly the events of the same
 * tool without it (the general path): ids, timestamps, payloads and key order.
 */
function echoTool(sync: boolean, abort?: AbortController): ToolHandler & { syncCalls: number } {
  const answer = (config: Record<string, unknown>): ToolOutcome => {
    switch (config['mode']) {
      case 'throw': throw new Error('echo blew up');
      case 'error': return { status: 'error', error: { kind: 'server_error', code: 'E', message: 'failed', retryable: true, source: 'tool' } };
      case 'abort':
        abort?.abort('stop');
        return { status: 'ok', data: 1 };
      default: return { status: 'ok', data: config['data'] ?? null, meta: { echoed: true } };
    }
  };
  const tool = {
    kind: 'echo',
    syncCalls: 0,
    run: async (config: Record<string, unknown>): Promise<ToolOutcome> => answer(config),
    ...(sync ? { runSync: (config: Record<string, unknown>): ToolOutcome => { tool.syncCalls += 1; return answer(config); } } : {}),
  };
  return tool;
}

async function eventsOf(c: CommandInput, sync: boolean, opts: { syncEmit?: boolean; abort?: boolean } = {}): Promise<{ events: NoetlEvent[]; syncCalls: number }> {
  const ac = new AbortController();
  const tool = echoTool(sync, opts.abort ? ac : undefined);
  const h = makeHarness({ tools: [tool] });
  if (opts.syncEmit) h.deps.emit = (e) => void h.events.push(e);
  await runCommand(makeCommand(c), delivery(1, ac.signal), h.deps);
  return { events: h.events, syncCalls: tool.syncCalls };
}

/** the events as JSON, without what differs between two harnesses (store root, store clock) */
function normalized(events: NoetlEvent[]): string {
  return JSON.stringify(events).replace(/noetl-worker-[A-Za-z0-9_]+/g, 'ROOT').replace(/"created_at":"[^"]*"/g, '"created_at":"T"');
}

/** `null`, or both texts around their first difference (a full string diff is slow and unreadable) */
function firstDifference(a: string, b: string): [string, string] | null {
  if (a === b) return null;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return [a.slice(Math.max(0, i - 150), i + 80), b.slice(Math.max(0, i - 150), i + 80)];
}

// every row has all three entries: a missing one would make test.each pass `done` in its place
const scenarios: Array<[string, CommandInput, { abort?: boolean }]> = [
  ['one ok task with input, fields and every set scope', {
    pipeline: [task('a', 'echo', { input: { x: '{{ workload.n }}' }, data: { v: '{{ x }}', it: '{{ iter }}' }, set: { 'ctx.seen': '{{ output.data.v }}', 'iter.k': 1, 'step.s': 2, bare: 3 } })],
    workload: { n: 7 },
  }, {}],
  ['a loop iteration with a parent iter', {
    iteration: { index: 1, total: 3, iterator: 'row', item: { id: 9 } },
    parent_iter: { index: 0 },
    pipeline: [task('a', 'echo', { data: '{{ row.id }}' }), task('b', 'echo', { data: '{{ a }}-{{ _prev }}-{{ iter.parent.index }}' })],
  }, {}],
  ['retry by policy, then fail', {
    pipeline: [task('r', 'echo', { mode: 'error', policy: [when('{{ output.error.retryable }}', { do: 'retry', attempts: 3, delay: 1 })] })],
  }, {}],
  ['a throwing tool, continued by else', {
    pipeline: [task('t', 'echo', { mode: 'throw', policy: [otherwise({ do: 'continue', set: { 'step.err': '{{ output.error.message }}' } })] }), task('u', 'echo', { data: '{{ step.err }}' })],
  }, {}],
  ['jump back to a task', {
    pipeline: [
      task('a', 'echo', { data: '{{ _attempt }}', set: { 'iter.n': '{{ (iter.n or 0) + 1 }}' } }),
      task('b', 'echo', { policy: [when('{{ iter.n < 3 }}', { do: 'jump', to: 'a' })] }),
    ],
  }, {}],
  ['a result that is externalized', {
    pipeline: [task('big', 'echo', { data: '{{ range(300) | list }}' })],
    limits: { inline_max_bytes: 64 },
  }, {}],
  ['abort during the tool call', {
    pipeline: [task('a', 'echo', { mode: 'abort' }), task('b', 'echo')],
  }, { abort: true }],
  ['step input and a template error', {
    step_input: { s: 1 },
    pipeline: [task('a', 'echo', { data: '{{ input.s }}' }), task('b', 'echo', { data: '{{ (1 }}' })],
  }, {}],
];

describe('synchronous attempts (ToolHandler.runSync)', () => {
  test.each(scenarios)('%s: same events as the asynchronous path', async (_name, c, o) => {
    for (const syncEmit of [false, true]) {
      const general = await eventsOf(c, false, { syncEmit, abort: o.abort });
      const fast = await eventsOf(c, true, { syncEmit, abort: o.abort });
      expect(fast.syncCalls).toBeGreaterThan(0);
      expect(general.syncCalls).toBe(0);
      expect(trace(fast.events)).toEqual(trace(general.events));
      expect(firstDifference(normalized(fast.events), normalized(general.events))).toBeNull();
    }
  });

  test('commands with keychain entries take the general path', async () => {
    const { syncCalls, events } = await eventsOf({
      pipeline: [task('a', 'echo')],
      keychain: [{ name: 'k', kind: 'static', scope: 'global', fields: { token: 't-1' } } as never],
    }, true);
    expect(syncCalls).toBe(0);
    expect(trace(events)).toEqual(['step.started', 'task.started:a', 'task.attempt.done:a#1', 'task.done:a', 'step.done']);
  });
});
