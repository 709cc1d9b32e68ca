// dsl §10.7 / runtime.md §6 `loop.done`, §7.5, T7.13, T7.14 end to end: a loop aggregate over the
// step's `inline_max_bytes` leaves `loop.done` as a stored `append` Manifest (`manifest_ref`) with
// `stats` and `errors` inline; scheduler templates (arc `when`, step `set`) and worker templates of
// a later step read `results`/`data` materialized from it, the `--json` document shows the whole
// aggregate, and a replay of the log rebuilds the same document.
// Real embedded runtime, real noop tools, real fs result store (temp NOETL_HOME).
import { existsSync, readFileSync } from 'node:fs';
import { jsonByteSize } from '@noetl/common';
import { replayLog } from './replay';
import { createEmbeddedRuntime } from './runtime';
import { ofType, payloadOf, playbook, scenarioDir } from './testing/scenario-kit';
import type { EmbeddedRuntime } from './types';

const d = scenarioDir('scn-loop-manifest');
afterAll(() => d.cleanup());

const N = 300;
const LIMIT = 50_000;
const PAD = 'x'.repeat(1000);
const BIG = 'y'.repeat(60_000);

const FAN = d.write(
  'fan.yaml',
  playbook(
    'scn_loop_manifest',
    `workload:
  pad: ${PAD}
  big: ${BIG}
workflow:
  - step: start
    tool: { kind: noop, result: { ok: true } }
    next: { arcs: [ { step: fan } ] }
  - step: fan
    spec:
      policy:
        failure: { mode: best_effort }
      result: { inline_max_bytes: ${LIMIT} }
    loop: { in: "{{ range(0, ${N}) | list }}", iterator: n, spec: { mode: parallel, max_in_flight: 16 } }
    tool:
      kind: noop
      # iteration 7 returns ~60 KB: the worker stores it (T7.7), its manifest part is a ref
      result: { n: "{{ iter.n }}", pad: "{{ workload.big if iter.n == 7 else workload.pad }}" }
      spec:
        policy:
          rules:
            - when: "{{ iter.n in [5, 17] }}"
              then: { do: fail }
    set:
      ctx.third: "{{ fan.results[2].n }}"
      ctx.big_len: "{{ fan.results[7].pad | length }}"
      ctx.err_idx: "{{ fan.errors | map(attribute='index') | list }}"
      ctx.out_len: "{{ output.data.data | length }}"
    next:
      spec: { mode: exclusive }
      arcs:
        - step: check
          when: "{{ fan.stats.failed == 2 and fan.results | length == ${N} and fan.results[-1].n == ${N - 1} }}"
        - step: wrong
  - step: check
    tool:
      kind: noop
      result:
        second_n: "{{ steps.fan.data.results[1].n }}"
        bare_second_n: "{{ fan.results[1].n }}"
        data_len: "{{ fan.data | length }}"
        failed: "{{ fan.stats.failed }}"
        first_error_kind: "{{ fan.errors[0].error.kind }}"
        fifth_is_none: "{{ fan.results[5] is none }}"
        big_len: "{{ fan.results[7].pad | length }}"
        ns_sum: "{{ fan.results | selectattr('n', 'defined') | map(attribute='n') | sum }}"
  - step: wrong
    tool: { kind: noop }
`,
  ),
);

// the execution ends at the manifest loop: its result is the loop aggregate (runtime.ts outcomeOf)
const LAST = d.write(
  'last.yaml',
  playbook(
    'scn_loop_manifest_last',
    `workflow:
  - step: start
    spec:
      result: { inline_max_bytes: 1000 }
    loop: { in: "{{ range(0, 40) | list }}", iterator: n, spec: { mode: parallel, max_in_flight: 8 } }
    tool: { kind: noop, result: { n: "{{ iter.n }}", pad: "${'z'.repeat(100)}" } }
`,
  ),
);

// a loop whose failures alone are a large list: `errors` is stored too (loop.done stays small)
const FAILS = 1500;
const MANY_FAILS = d.write(
  'many-fails.yaml',
  playbook(
    'scn_loop_many_fails',
    `executor: { spec: { entry_step: fan } }
workflow:
  - step: fan
    spec:
      policy:
        failure: { mode: best_effort }
      result: { inline_max_bytes: 20000 }
    loop: { in: "{{ range(0, ${FAILS + 10}) | list }}", iterator: n, spec: { mode: parallel, max_in_flight: 16 } }
    tool:
      kind: noop
      result: { n: "{{ iter.n }}" }
      spec:
        policy:
          rules:
            - when: "{{ iter.n >= 10 }}"
              then: { do: fail }
    next: { arcs: [ { step: check, when: "{{ fan.stats.failed == ${FAILS} }}" } ] }
  - step: check
    tool:
      kind: noop
      result:
        errs: "{{ fan.errors | length }}"
        first: "{{ fan.errors[0].index }}"
        last: "{{ fan.errors[-1].index }}"
        r9: "{{ fan.results[9].n }}"
`,
  ),
);

describe('dsl §10.7: a large loop aggregate travels as a Manifest (embedded, real tools)', () => {
  let rt: EmbeddedRuntime;
  beforeAll(() => {
    rt = createEmbeddedRuntime({ env: d.env, cwd: d.dir, workers: 4 });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('loop.done is small and carries the stored manifest; scheduler and worker templates read the aggregate; the document shows it', async () => {
    const id = await rt.submit(FAN);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');
    const ev = rt.events(id);

    // the boundary event: stats + errors inline, the manifest by reference (T7.13), no aggregate
    const done = ofType(ev, 'loop.done', 'fan');
    expect(done).toHaveLength(1);
    expect(jsonByteSize(done[0])).toBeLessThanOrEqual(64 * 1024);
    const p = payloadOf(done[0]);
    expect(p.result).toBeUndefined();
    expect(p.stats).toEqual({ total: N, succeeded: N - 2, failed: 2 });
    expect((p.errors as Array<{ index: number }>).map((e) => e.index)).toEqual([5, 17]);
    const ref = p.manifest_ref as { kind: string; uri: string; path: string; content_type: string; raw_size: number };
    expect(ref).toMatchObject({ kind: 'result_ref', content_type: 'application/vnd.noetl.manifest+json', uri: expect.stringMatching(new RegExp(`^noetl://${id}/r[0-9.]+/manifest$`)) });
    expect(ref.raw_size).toBeGreaterThan(N * 1000);
    expect(existsSync(ref.path)).toBe(true);
    const manifest = JSON.parse(readFileSync(ref.path, 'utf8')) as { kind: string; strategy: string; total_parts: number; parts: Array<{ index: number; status: string; inline?: unknown; ref?: { uri: string } }> };
    expect(manifest).toMatchObject({ kind: 'manifest', strategy: 'append', total_parts: N });
    expect(manifest.parts[5]).toEqual({ index: 5, status: 'error', inline: null });
    expect(manifest.parts[7].ref).toMatchObject({ kind: 'result_ref', uri: expect.stringMatching(/\/i7\//) });
    expect(manifest.parts[8]).toEqual({ index: 8, status: 'ok', inline: { n: 8, pad: PAD } });
    // no event carries the aggregate
    for (const e of ev) expect(jsonByteSize(e)).toBeLessThan(128 * 1024);

    const doc = await rt.document(id);
    // scheduler side: arc `when` (routed to check, not wrong) and step `set`
    expect(doc.steps.wrong).toBeUndefined();
    expect(doc.ctx).toMatchObject({ third: 2, big_len: 60_000, err_idx: [5, 17], out_len: N });
    // worker side: a later step's templates
    expect(doc.steps.check).toMatchObject({
      status: 'done',
      result: {
        second_n: 1, bare_second_n: 1, data_len: N, failed: 2, first_error_kind: expect.any(String), fifth_is_none: true, big_len: 60_000,
        ns_sum: (N * (N - 1)) / 2 - 5 - 17,
      },
    });
    // the --json document shows the materialized aggregate
    const agg = doc.steps.fan.result as { results: Array<{ n: number; pad: string } | null>; data: unknown[]; stats: unknown; errors: Array<{ index: number }> };
    expect(agg.results).toHaveLength(N);
    expect(agg.data).toEqual(agg.results);
    expect(agg.results[0]).toEqual({ n: 0, pad: PAD });
    expect(agg.results[5]).toBeNull();
    expect(agg.results[7]).toEqual({ n: 7, pad: BIG });
    expect(agg.stats).toEqual({ total: N, succeeded: N - 2, failed: 2 });
    expect(agg.errors.map((e) => e.index)).toEqual([5, 17]);

    // T10.6: the log alone (plus the stored objects) rebuilds the same document
    const replayed = replayLog(JSON.parse(JSON.stringify(ev)), { cwd: d.dir });
    expect(replayed.document.steps).toEqual(JSON.parse(JSON.stringify(doc.steps)));
    expect(replayed.document.ctx).toEqual(doc.ctx);
  });

  it('an execution that ends at a manifest loop returns the materialized aggregate', async () => {
    const id = await rt.submit(LAST);
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('completed');
    const done = ofType(rt.events(id), 'loop.done', 'start');
    expect(payloadOf(done[0]).manifest_ref).toBeDefined(); // the manifest path was taken
    const result = out.result as { results: Array<{ n: number }>; data: unknown[]; stats: unknown };
    expect(result.results).toHaveLength(40);
    expect(result.results[39]).toEqual({ n: 39, pad: 'z'.repeat(100) });
    expect(result.data).toEqual(result.results);
    expect(result.stats).toEqual({ total: 40, succeeded: 40, failed: 0 });
  });

  it('a loop with many failures stores its errors list too; loop.done stays small; templates and the document read it', async () => {
    const id = await rt.submit(MANY_FAILS);
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('completed');
    const ev = rt.events(id);
    const p = payloadOf(ofType(ev, 'loop.done', 'fan')[0]);
    expect(p.errors).toMatchObject({ kind: 'result_ref', uri: expect.stringMatching(new RegExp(`^noetl://${id}/r[0-9.]+/errors$`)) });
    expect(jsonByteSize(p)).toBeLessThan(4 * 1024);
    expect(out.result).toEqual({ errs: FAILS, first: 10, last: FAILS + 9, r9: 9 });
    const doc = await rt.document(id);
    const agg = doc.steps.fan.result as { errors: Array<{ index: number; error: { kind: string } }>; stats: unknown };
    expect(agg.stats).toEqual({ total: FAILS + 10, succeeded: 10, failed: FAILS });
    expect(agg.errors).toHaveLength(FAILS);
    expect(agg.errors[0]).toMatchObject({ index: 10, error: { kind: expect.any(String) } });
    const replayed = replayLog(JSON.parse(JSON.stringify(ev)), { cwd: d.dir });
    expect(replayed.document.steps.fan).toEqual(JSON.parse(JSON.stringify(doc.steps.fan)));
  });
});
