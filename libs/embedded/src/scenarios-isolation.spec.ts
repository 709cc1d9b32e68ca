// Multi-execution isolation end to end: executions running concurrently in one embedded runtime
// (shared workers, python interpreters, results store) never see each other's ctx, step results,
// stored payloads or events; cancelling one leaves the others untouched.
import { count, ofType, payloadOf, playbook, readWhenWritten, scenarioDir, useRuntime } from './testing/scenario-kit';

const d = scenarioDir('scn-iso');

const ISO = d.write(
  'iso.yaml',
  playbook(
    'scn_iso',
    `workload: { tag: none }
workflow:
  - step: start
    tool: { kind: noop, result: { tag: "{{ tag }}" } }
    set: { ctx.tag: "{{ tag }}", ctx.acc: [] }
    next: { arcs: [ { step: acc } ] }
  - step: acc
    loop: { in: [0, 1, 2, 3], iterator: i }
    tool:
      kind: python
      input: { tag: "{{ ctx.tag }}", i: "{{ iter.i }}", acc: "{{ ctx.acc }}" }
      code: |
        import time
        leaked = globals().get("LEAKED")
        LEAKED = tag
        time.sleep(0.03)
        result = {"item": f"{tag}-{i}", "seen": len(acc), "leaked": leaked}
      spec:
        policy:
          rules:
            - else:
                then: { do: continue, set: { ctx.acc: "{{ ctx.acc + [output.data.item] }}" } }
    next: { arcs: [ { step: big } ] }
  - step: big
    tool:
      kind: python
      input: { tag: "{{ tag }}" }
      code: |
        result = {"blob": tag * 40000, "tag": tag}
    next: { arcs: [ { step: check } ] }
  - step: check
    tool:
      kind: noop
      result:
        tag: "{{ big.tag }}"
        head: "{{ big.blob[:6] }}"
        blob_len: "{{ big.blob | length }}"
        acc: "{{ ctx.acc }}"
        seen: "{{ acc.results | map(attribute='seen') | list }}"
        leaked: "{{ acc.results | map(attribute='leaked') | select('none') | list | length }}"
        start_tag: "{{ start.tag }}"
`,
  ),
);

const SLEEPER = d.write(
  'sleeper.yaml',
  playbook(
    'scn_iso_sleeper',
    `workflow:
  - step: start
    tool: { kind: shell, command: "echo $$ > ${d.path('sleeper-pid')}; exec sleep 30" }
    next: { arcs: [ { step: after } ] }
  - step: after
    tool: { kind: noop }
`,
  ),
);

describe('multi-execution isolation (embedded, shared workers)', () => {
  const rt = useRuntime(d, { workers: 4 }, d.cleanup);

  it('concurrent executions keep their own ctx, results, stored payloads and events; a cancel touches only its target', async () => {
    const tags = ['alpha', 'bravo', 'chalk'];
    const order: string[] = [];
    const off = rt.subscribe((e) => order.push(e.execution_id));
    const sleeper = await rt.submit(SLEEPER);
    const ids = await Promise.all(tags.map((tag) => rt.submit(ISO, { tag })));
    await readWhenWritten(d.path('sleeper-pid'));
    await rt.cancel(sleeper, 'only this one');
    const outs = await Promise.all(ids.map((id) => rt.waitForTerminal(id)));
    off();
    expect((await rt.waitForTerminal(sleeper)).status).toBe('cancelled');
    // they really ran interleaved: the global log switches between the three many times
    const main = order.filter((x) => ids.includes(x));
    expect(main.filter((x, i) => i > 0 && x !== main[i - 1]).length).toBeGreaterThan(10);

    for (const [k, tag] of tags.entries()) {
      const id = ids[k];
      expect(outs[k]).toMatchObject({ status: 'completed', error: null });
      const doc = await rt.document(id);
      const acc = [0, 1, 2, 3].map((i) => `${tag}-${i}`);
      expect(doc.ctx).toEqual({ tag, acc });
      expect(doc.steps.check.result).toEqual({ tag, head: tag + tag[0], blob_len: tag.length * 40_000, acc, seen: [0, 1, 2, 3], leaked: 4, start_tag: tag });
      // the large result of each execution is stored under its own id
      const ref = payloadOf(ofType(rt.events(id), 'step.done', 'big')[0]).result_ref as { path: string; key: string };
      expect(ref.key).toContain(`exec/${id}/`);
      // its log holds only its own events
      const tree = rt.treeEvents(id);
      expect(tree.every((e) => e.execution_id === id && e.root_execution_id === id)).toBe(true);
      expect(tree.map((e) => e.seq)).toEqual(tree.map((_, i) => i + 1));
      expect(count(tree, 'execution.cancel_requested')).toBe(0);
    }
  });
});
