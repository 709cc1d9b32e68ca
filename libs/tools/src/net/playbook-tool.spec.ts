import type { ChildExecutionRequest, ChildExecutionResult, ChildExecutions } from '../types';
import { createPlaybookTool } from './playbook-tool';
import { makeTestContext } from '../testing';

type Script = (req: ChildExecutionRequest) => { after: number; result: Omit<ChildExecutionResult, 'executionId'> } | 'never';

/** In-test ChildExecutions: children finish after a delay with a scripted result; idempotent by requestId. */
class FakeChildren implements ChildExecutions {
  started: ChildExecutionRequest[] = [];
  cancelled: Array<{ id: string; reason: string }> = [];
  private byRequest = new Map<string, string>();
  private done = new Map<string, Promise<ChildExecutionResult>>();
  private n = 0;
  constructor(private readonly script: Script) {}
  async start(req: ChildExecutionRequest) {
    const known = this.byRequest.get(req.requestId);
    if (known) return { executionId: known };
    if (req.path === 'missing/playbook') throw Object.assign(new Error('no such playbook'), { code: 'CATALOG_NOT_FOUND' });
    const id = `child-${++this.n}`;
    this.byRequest.set(req.requestId, id);
    this.started.push(req);
    const s = this.script(req);
    this.done.set(id, s === 'never'
      ? new Promise(() => undefined)
      : new Promise((r) => setTimeout(() => r({ executionId: id, ...s.result }), s.after)));
    return { executionId: id };
  }
  wait(id: string, signal: AbortSignal): Promise<ChildExecutionResult> {
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.done.get(id)!.then((r) => { signal.removeEventListener('abort', onAbort); resolve(r); });
    });
  }
  async cancel(id: string, reason: string) {
    this.cancelled.push({ id, reason });
  }
}

const completed = (after = 5): Script => () => ({ after, result: { status: 'completed', result: { total: 3 }, stepResults: { verify: { ok: true }, start: null } } });
const tool = createPlaybookTool();
const ctx = (children?: ChildExecutions, o: Parameters<typeof makeTestContext>[0] = {}) =>
  makeTestContext({ children, commandId: 'cmd-7', taskIndex: 2, visit: 3, attempt: 4, iter: { region: 'eu' }, executionId: 'parent-1', stepRunId: 'r5.0', taskRunId: 'tr-9', ...o });

describe('playbook', () => {
  it('starts the child with requestId and parent link, waits, returns the child result', async () => {
    const children = new FakeChildren(completed());
    const out = await tool.run({ path: 'ops/rebuild', payload: { region: 'eu' }, ctx: { seed: 1 }, version: 3 }, ctx(children));
    expect(out).toEqual({ status: 'ok', data: { total: 3 }, helpers: { child: { execution_id: 'child-1', status: 'completed' } } });
    expect(children.started[0]).toEqual({
      path: 'ops/rebuild', version: 3, input: { region: 'eu' }, ctx: { seed: 1 }, requestId: 'cmd-7/t2/v3/a4',
      parent: { executionId: 'parent-1', stepRunId: 'r5.0', taskRunId: 'tr-9', iter: { region: 'eu' } },
    });
  });

  it('return_step selects the step result; a redelivered attempt reattaches to the same child', async () => {
    const children = new FakeChildren(completed());
    expect((await tool.run({ path: 'p', input: { a: 1 }, return_step: 'verify' }, ctx(children))).data).toEqual({ ok: true });
    expect((await tool.run({ path: 'p', return_step: 'never_ran' }, ctx(children))).data).toBeNull();
    expect(children.started).toHaveLength(1);
    await tool.run({ catalog_id: 'cat-1', args: { b: 2 } }, ctx(children, { attempt: 5 }));
    expect(children.started[1]).toMatchObject({ catalogId: 'cat-1', input: { b: 2 }, requestId: 'cmd-7/t2/v3/a5' });
  });

  it('wait: false fires and forgets', async () => {
    const children = new FakeChildren(() => 'never');
    const out = await tool.run({ path: 'p', wait: false }, ctx(children));
    expect(out).toEqual({ status: 'ok', data: { execution_id: 'child-1', status: 'started' }, helpers: { child: { execution_id: 'child-1', status: 'started' } } });
  });

  it('child failed / cancelled', async () => {
    const childError = { kind: 'server_error', code: 'HTTP_503', message: 'HTTP 503', retryable: true };
    let children = new FakeChildren(() => ({ after: 1, result: { status: 'failed', result: null, error: childError, stepResults: {} } }));
    let out = await tool.run({ path: 'p' }, ctx(children));
    expect(out.error).toMatchObject({ kind: 'child_failed', code: 'CHILD_FAILED', retryable: false, details: { child_execution_id: 'child-1', child_error: childError } });
    expect(out.helpers).toEqual({ child: { execution_id: 'child-1', status: 'failed' } });
    children = new FakeChildren(() => ({ after: 1, result: { status: 'cancelled', result: null, stepResults: {} } }));
    out = await tool.run({ path: 'p' }, ctx(children));
    expect(out.error).toMatchObject({ kind: 'child_cancelled', code: 'CHILD_CANCELLED', retryable: false, details: { child_execution_id: 'child-1' } });
  });

  it('timeout cancels the child and fails with kind timeout', async () => {
    const children = new FakeChildren(() => 'never');
    const out = await tool.run({ path: 'p', timeout: 0.1 }, ctx(children));
    expect(out.error).toMatchObject({ kind: 'timeout', code: 'TIMEOUT', retryable: true, details: { child_execution_id: 'child-1' } });
    expect(children.cancelled).toEqual([{ id: 'child-1', reason: 'timeout' }]);
    const viaSpec = new FakeChildren(() => 'never');
    expect((await tool.run({ path: 'p' }, ctx(viaSpec, { spec: { timeout: '50ms' } }))).error?.kind).toBe('timeout');
  });

  it('cancelling the parent attempt cancels the child', async () => {
    const children = new FakeChildren(() => 'never');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const out = await tool.run({ path: 'p' }, ctx(children, { signal: ac.signal }));
    expect(out.error).toMatchObject({ kind: 'cancelled' });
    expect(children.cancelled).toEqual([{ id: 'child-1', reason: 'parent cancelled' }]);
  });

  it('config errors, missing runtime support, start failures', async () => {
    const children = new FakeChildren(completed());
    expect((await tool.run({}, ctx(children))).error).toMatchObject({ kind: 'config', details: { field: 'path' } });
    expect((await tool.run({ path: 'p', input: [1] }, ctx(children))).error).toMatchObject({ kind: 'config', details: { field: 'input' } });
    expect((await tool.run({ path: 'p', version: 'newest' }, ctx(children))).error).toMatchObject({ kind: 'config', details: { field: 'version' } });
    expect((await tool.run({ path: 'p', wait: 'maybe' }, ctx(children))).error).toMatchObject({ kind: 'config', details: { field: 'wait' } });
    const none = await tool.run({ path: 'p' }, ctx(undefined));
    expect(none.error).toMatchObject({ kind: 'config' });
    expect(none.error!.message).toContain('sub-playbooks not available');
    expect((await tool.run({ path: 'missing/playbook' }, ctx(children))).error).toMatchObject({ kind: 'not_found', code: 'CATALOG_NOT_FOUND' });
  });
});
