// `noetl run --events-out` streams the log of one execution tree while it runs (events-file.ts).
import { readFileSync } from 'node:fs';
import { streamTreeEvents } from './events-file';
import { eventually, playbook, scenarioDir, useRuntime } from './testing/scenario-kit';

const d = scenarioDir('events-file');
afterAll(() => d.cleanup());

describe('streamTreeEvents', () => {
  const rt = useRuntime(d, { workers: 2 });

  it('writes the tree log as it grows (within ~200 ms), and on close exactly the logged events as JSON lines', async () => {
    const file = d.write(
      'stream.yaml',
      playbook(
        'events_file',
        `workflow:
  - step: start
    tool: { kind: noop }
    next: { arcs: [ { step: wait } ] }
  - step: wait
    tool: { kind: shell, command: "sleep 1" }
    next: { arcs: [ { step: fan } ] }
  - step: fan
    loop: { in: [1, 2, 3], iterator: n, spec: { mode: parallel } }
    tool: { kind: noop, result: "{{ iter.n }}" }
`,
      ),
    );
    const id = await rt.submit(file);
    const out = d.path('out/stream.jsonl');
    const f = streamTreeEvents(rt, id, out);
    const lines = () => readFileSync(out, 'utf8').split('\n').filter(Boolean);
    // while `wait` sleeps, what was logged so far is already in the file
    expect(await eventually(() => lines().some((l) => l.includes('"event_type":"task.started"') && l.includes('"step":"wait"')), 5_000)).toBe(true);
    expect(lines().some((l) => l.includes('"event_type":"loop.done"'))).toBe(false);
    await rt.waitForTerminal(id);
    f.close();
    f.close(); // idempotent
    const expected = rt.treeEvents(id).map((e) => JSON.stringify(e));
    expect(lines()).toEqual(expected);
    expect(f.count).toBe(expected.length);
  });
});
