import { loadPlaybook } from '@noetl/dsl';
import { createNoopTool } from '@noetl/tools';
import { runCommand } from './index';
import { makeHarness, commandFor, delivery, ofType, terminalPayload } from './testing/harness';

const playbook = (workflow: string) => {
  const text = `
apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: wb, path: test/wb }
workbook:
  - name: convert
    tool:
      kind: script
      input: { c: null, unit: f }
      result: { f: "{{ c * 9 / 5 + 32 }}" }
    assert:
      expects: [c]
      returns: [f]
  - name: broken
    tool:
      kind: noop
      result: { g: 1 }
    assert:
      returns: [f]
workflow:
${workflow}
`;
  const r = loadPlaybook(text, { toolKinds: ['script', 'noop', 'workbook'] });
  if (!r.ok) throw new Error(JSON.stringify(r.diagnostics));
  return r.playbook!;
};

describe('workbook tasks (dsl §15.1, R15.2, R15.3)', () => {
  test('runs the entry under the caller label with merged input; asserts pass', async () => {
    const h = makeHarness({ tools: [createNoopTool()] });
    const pb = playbook(`
  - step: start
    tool:
      kind: workbook
      name: convert
      input: { c: 100 }
`);
    await runCommand(commandFor(pb, 'start'), delivery(), h.deps);
    expect(ofType(h.events, 'task.started')[0].payload).toMatchObject({ task: 'start_task', kind: 'script' });
    expect(h.script.calls[0].config['input']).toEqual({ c: 100, unit: 'f' });
    expect(terminalPayload(h.events)['result']).toEqual({ f: 212 });
  });

  test('expects: a missing or null input key fails the attempt with kind schema before the tool runs', async () => {
    const h = makeHarness({ tools: [createNoopTool()] });
    const pb = playbook(`
  - step: start
    tool:
      - name: call
        kind: workbook
        entry: convert
        input: { unit: c }
`);
    await runCommand(commandFor(pb, 'start'), delivery(), h.deps);
    expect(h.script.calls).toHaveLength(0);
    expect(ofType(h.events, 'task.attempt.failed')[0].payload.outcome.error).toMatchObject({ kind: 'schema', code: 'ASSERT_EXPECTS', retryable: false });
    expect(ofType(h.events, 'task.started')[0].task).toBe('call');
  });

  test('returns: a missing key in ok data turns the outcome into a schema error (data kept); the call policy applies', async () => {
    const h = makeHarness({ tools: [createNoopTool()] });
    const pb = playbook(`
  - step: start
    tool:
      - name: broken
        kind: workbook
        spec:
          policy:
            rules:
              - when: "{{ output.error.kind == 'schema' }}"
                then: { do: continue, set: { ctx.seen: "{{ output.data.g }}" } }
      - name: after
        kind: noop
        result: { saw: "{{ broken.g }}" }
`);
    await runCommand(commandFor(pb, 'start'), delivery(), h.deps);
    const o = ofType(h.events, 'task.attempt.failed')[0].payload.outcome;
    expect(o).toMatchObject({ status: 'error', data: { g: 1 }, error: { kind: 'schema', code: 'ASSERT_RETURNS' } });
    expect(terminalPayload(h.events)['ctx_patch']).toEqual([{ path: ['seen'], value: 1, task: 'broken', attempt: 1 }]);
    expect(terminalPayload(h.events)['result']).toMatchObject({ saw: 1 });
  });
});
