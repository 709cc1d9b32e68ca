// runtime.md T4.3 end to end: a command larger than `limits.max_event_bytes` carries its
// `workload` / `ctx` / `steps` values by reference — stored by the scheduler through the fs store's
// `putSync` (the engine's `storeValue` port) before the command is published — and the worker's
// templates read them hydrated, exactly as if they had travelled inline.
// Real embedded runtime, real python/noop tools, real fs result store (temp NOETL_HOME).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { jsonByteSize } from '@noetl/common';
import type { Command } from '@noetl/events';
import { createFsResultStore, type FsResultStore } from '@noetl/results';
import { createEmbeddedRuntime } from './runtime';
import { playbook, scenarioDir } from './testing/scenario-kit';
import type { EmbeddedRuntime } from './types';

// The commands the scheduler publishes, observed at the engine's boundary (the runtime has no hook
// for them and gets none for this test): `processEvent` is wrapped, its results are unchanged.
const mockPublished: Command[] = [];
jest.mock('@noetl/engine', () => {
  const actual = jest.requireActual('@noetl/engine');
  return {
    ...actual,
    processEvent: (...args: unknown[]) => {
      const r = actual.processEvent(...args);
      mockPublished.push(...r.commands);
      return r;
    },
  };
});

const d = scenarioDir('scn-large-command');
afterAll(() => d.cleanup());

const MAX = 12_000;
const BLOB = 'w'.repeat(40_000);

const LARGE = (limits: string) =>
  playbook(
    'scn_large_command',
    `${limits}workload: { small: tiny }
workflow:
  - step: start
    tool:
      kind: python
      code: |
        result = {"tag": "produced", "items": [{"i": i, "pad": "p" * 40} for i in range(800)]}
    set:
      ctx.big: "{{ output.data.items[:500] }}"
    next: { arcs: [ { step: fan } ] }
  - step: fan
    # iteration results stored by reference (T7.7): the aggregate carries their ResultRefs
    loop: { in: [1, 2, 3], iterator: n, spec: { mode: parallel, max_in_flight: 3, result: { inline_max_bytes: 1000 } } }
    tool:
      kind: python
      input: { n: "{{ iter.n }}", blen: "{{ workload.blob | length }}", tag: "{{ start.tag }}", clen: "{{ ctx.big | length }}" }
      code: |
        result = {"n": n, "blen": blen, "tag": tag, "clen": clen, "pad": "f" * 3000}
    next: { arcs: [ { step: reader } ] }
  - step: reader
    tool:
      kind: noop
      result:
        blob_len: "{{ workload.blob | length }}"
        bare_head: "{{ blob[:3] }}"
        small: "{{ small }}"
        ctx_len: "{{ ctx.big | length }}"
        ctx_last: "{{ ctx.big[-1].i }}"
        tag: "{{ start.tag }}"
        items: "{{ start.items | length }}"
        last_i: "{{ start.data.items[-1].i }}"
        steps_tag: "{{ steps.start.data.tag }}"
        status: "{{ steps.start.status }}"
        fan_second: "{{ fan.results[1].n }}"
        fan_count: "{{ fan.results | length }}"
        fan_seen: "{{ fan.results | map(attribute='blen') | list }}"
        fan_ctx: "{{ fan.data[2].clen }}"
`,
  );

const EXPECTED = {
  blob_len: 40_000, bare_head: 'www', small: 'tiny', ctx_len: 500, ctx_last: 499, tag: 'produced', items: 800, last_i: 799,
  steps_tag: 'produced', status: 'done', fan_second: 2, fan_count: 3, fan_seen: [40_000, 40_000, 40_000], fan_ctx: 500,
};

describe('T4.3: commands over max_event_bytes carry workload / ctx / steps by reference (embedded, real tools)', () => {
  let rt: EmbeddedRuntime;
  let fs: FsResultStore;
  /** every `putSync` of the scheduler (storeValue): entity per execution */
  const stored: Array<{ executionId: string; entity: string }> = [];
  beforeAll(() => {
    fs = createFsResultStore({ root: join(d.dir, 'home', 'results') });
    const recording: FsResultStore = {
      ...fs,
      putSync: (loc, value, opts) => {
        stored.push({ executionId: loc.executionId, entity: loc.entity });
        return fs.putSync(loc, value, opts);
      },
    };
    rt = createEmbeddedRuntime({ env: d.env, cwd: d.dir, workers: 3, resultStore: recording });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('every published command stays under the limit; later steps read the hydrated workload, ctx and step results', async () => {
    const from = mockPublished.length;
    const id = await rt.submit(d.write('large.yaml', LARGE(`executor:\n  spec:\n    policy:\n      limits: { max_event_bytes: ${MAX} }\n`)), { blob: BLOB });
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');
    const doc = await rt.document(id);
    expect(doc.steps.reader).toMatchObject({ status: 'done', result: EXPECTED });

    const cmds = mockPublished.slice(from).filter((c) => c.execution_id === id);
    expect(cmds.map((c) => c.step)).toEqual(['start', 'fan', 'fan', 'fan', 'reader']);
    for (const c of cmds) expect(jsonByteSize(c)).toBeLessThanOrEqual(MAX);
    // the reader's command: every large value by reference, small ones inline
    const reader = cmds[cmds.length - 1].context;
    expect(reader.workload.blob).toMatchObject({ kind: 'result_ref', uri: `noetl://${id}/cmd/workload/blob` });
    expect(reader.workload.small).toBe('tiny');
    expect(reader.ctx.big).toMatchObject({ kind: 'result_ref', uri: expect.stringMatching(new RegExp(`^noetl://${id}/cmd/ctx/big/[0-9a-f]{32}$`)) });
    expect(reader.steps.start).toMatchObject({ status: 'done', ref: { kind: 'result_ref', uri: expect.stringMatching(new RegExp(`^noetl://${id}/cmd/steps/start/r_`)) } });
    expect(reader.steps.start.data).toBeUndefined();
    // fan's aggregate (three ResultRefs, over its 1,000-byte inline limit) left loop.done as a stored
    // Manifest: its compact view is small enough to stay inline in the command
    expect(reader.steps.fan).toMatchObject({
      status: 'done',
      data: { results: { kind: 'result_ref', uri: expect.stringMatching(new RegExp(`^noetl://${id}/r[0-9.]+/manifest$`)) }, stats: { total: 3, succeeded: 3, failed: 0 } },
    });

    // stored by the scheduler before publication, one object per value for all commands
    const mine = stored.filter((s) => s.executionId === id && s.entity.startsWith('cmd/')).map((s) => s.entity);
    expect(mine.sort()).toEqual(
      [
        'cmd/workload/blob',
        (reader.ctx.big as { uri: string }).uri.slice(`noetl://${id}/`.length),
        (reader.steps.start.ref as { uri: string }).uri.slice(`noetl://${id}/`.length),
      ].sort(),
    );
    for (const e of mine) expect(existsSync(join(fs.root, 'exec', id, `${e}.json`))).toBe(true);

    // the state (and so the log and the --json document) keeps the values inline
    expect((doc.ctx.big as unknown[]).length).toBe(500);
    expect((doc.steps.start.result as { items: unknown[] }).items.length).toBe(800);
  });

  it('under the default limit (900,000 bytes) the same playbook travels inline with the same results', async () => {
    const from = mockPublished.length;
    const before = stored.length;
    const id = await rt.submit(d.write('inline.yaml', LARGE('')), { blob: BLOB });
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('completed');
    expect((await rt.document(id)).steps.reader).toMatchObject({ status: 'done', result: EXPECTED });
    expect(stored.slice(before).filter((s) => s.entity.startsWith('cmd/'))).toEqual([]);
    const reader = mockPublished.slice(from).find((c) => c.execution_id === id && c.step === 'reader')!;
    expect(reader.context.workload.blob).toBe(BLOB);
    expect(jsonByteSize(reader)).toBeGreaterThan(MAX);
  });
});
