// `writeDocument` / `iterateEvents` (runtime.ts, log.ts): the `--json` document and the events of a
// long run are streamed from the log instead of being built as one string / one array. They must
// give exactly what `document()` / `events()` give, also for a tree whose log spilled to disk and
// interleaves a parent's and its children's events.
import { playbook, scenarioDir, useRuntime } from './testing/scenario-kit';

const d = scenarioDir('doc-stream');
afterAll(() => d.cleanup());

d.write(
  'lib/kid.yaml',
  playbook(
    'doc_kid',
    `workload: { n: 0 }
workflow:
  - step: start
    tool: { kind: noop, result: { n: "{{ n }}" } }
    next: { arcs: [ { step: twice } ] }
  - step: twice
    tool: { kind: noop, result: { twice: "{{ start.n * 2 }}" } }
`,
  ),
);

const PARENT = d.write(
  'parent.yaml',
  playbook(
    'doc_parent',
    `workflow:
  - step: start
    loop: { in: "{{ range(0, 12) | list }}", iterator: n, spec: { mode: parallel, max_in_flight: 4 } }
    tool: { kind: playbook, path: lib/kid, input: { n: "{{ iter.n }}" } }
    next: { arcs: [ { step: many } ] }
  - step: many
    loop: { in: "{{ range(0, 1500) | list }}", iterator: i, spec: { mode: parallel, max_in_flight: 32 } }
    tool: { kind: noop, result: { i: "{{ iter.i }}", pad: "${'p'.repeat(200)}" } }
`,
  ),
);

describe('streamed documents and events', () => {
  // a tiny in-memory tail: most of the tree's log is in the spill file
  const rt = useRuntime(d, { workers: 4, eventLog: { memoryEvents: 64 } });

  it('writeDocument writes exactly JSON.stringify(document()) in chunks; iterateEvents walks exactly events()', async () => {
    const id = await rt.submit(PARENT);
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('completed');
    const children = [...new Set(rt.treeEvents(id).map((e) => e.execution_id))].filter((x) => x !== id);
    expect(children).toHaveLength(12);
    for (const exec of [id, children[0], children[11]]) {
      const chunks: string[] = [];
      // an asynchronous writer (backpressure) is awaited chunk by chunk
      await rt.writeDocument(exec, async (c) => {
        chunks.push(c);
        await new Promise((r) => setImmediate(r));
      });
      expect(chunks.join('')).toBe(JSON.stringify(await rt.document(exec)));
      expect([...rt.iterateEvents(exec)]).toEqual(rt.events(exec));
      if (exec === id) expect(chunks.length).toBeGreaterThan(3); // ~9,000 events of ~1 KB: several 1 MiB chunks
    }
    const lean = await rt.document(id, { events: false });
    expect(lean.events).toEqual([]);
    expect(lean.steps).toEqual((await rt.document(id)).steps);
  });
});
