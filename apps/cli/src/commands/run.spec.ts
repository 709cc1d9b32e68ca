// `noetl run` end to end (in process): what the run command does around the execution — children
// left running when the root ends, and an --events-out path that cannot be written.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../main';
import { fakeIo } from '../testing';

const dir = mkdtempSync(join(tmpdir(), 'noetl-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const env = { ...process.env, NOETL_HOME: join(dir, 'home'), NOETL_CREDENTIALS: '' };

function write(name: string, text: string): string {
  const f = join(dir, name);
  mkdirSync(join(f, '..'), { recursive: true });
  writeFileSync(f, text);
  return f;
}

write(
  'lib/writer.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: writer, path: run/writer }
workload: { out: none }
workflow:
  - step: start
    tool: { kind: shell, command: "sleep 1; echo done > {{ out }}" }
`,
);
const NOWAIT = write(
  'nowait.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: nowait, path: run/nowait }
workflow:
  - step: start
    tool: { kind: playbook, path: lib/writer, wait: false, input: { out: "${join(dir, 'writer.out')}" } }
`,
);
const SIDE_EFFECT = write(
  'side.yaml',
  `apiVersion: noetl.io/v2
kind: Playbook
metadata: { name: side, path: run/side }
workflow:
  - step: start
    tool: { kind: shell, command: "echo ran > ${join(dir, 'side.out')}" }
`,
);

describe('noetl run', () => {
  it('waits for children started with wait: false: their work is done and their terminal events are in the log', async () => {
    const io = fakeIo(dir, env);
    const t0 = Date.now();
    expect(await main(['run', NOWAIT, '--events-out', 'nowait.jsonl'], io)).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(io.err).toMatch(/waiting for 1 child execution still running/);
    expect(readFileSync(join(dir, 'writer.out'), 'utf8').trim()).toBe('done');
    const events = readFileSync(join(dir, 'nowait.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; execution_id: string });
    const root = events[0].execution_id;
    const child = events.find((e) => e.execution_id !== root)!.execution_id;
    expect(events.filter((e) => e.execution_id === child).map((e) => e.event_type)).toContain('execution.completed');
  });

  it('an --events-out path that cannot be written exits 2 before anything runs', async () => {
    write('blocker', 'a file where a directory should be');
    mkdirSync(join(dir, 'a-directory'));
    for (const bad of ['blocker/ev.jsonl', 'a-directory']) {
      const io = fakeIo(dir, env);
      expect(await main(['run', SIDE_EFFECT, '--events-out', bad], io)).toBe(2);
      expect(io.err).toMatch(new RegExp(`cannot write --events-out ${bad}`));
      expect(existsSync(join(dir, 'side.out'))).toBe(false);
    }
  });
});
