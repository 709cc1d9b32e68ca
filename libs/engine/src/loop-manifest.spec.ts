import { isManifest, isResultRef, jsonByteSize, makeError, type Manifest, type ResultRef } from '@noetl/common';
import type { NoetlEvent } from '@noetl/events';
import { processEvent } from './drive';
import { replay } from './fold';
import { buildManifest, loopErrorsEntity, manifestEntity } from './loop-manifest';
import { summarize } from './summary';
import { buildPlaybook, type StepDef } from './testing/builder';
import { plain, Sim, noopScript, type Script } from './testing/sim';

// dsl §10.7 / runtime.md §6 `loop.done`, §7.5, T7.13: a loop aggregate over the step result's
// `inline_max_bytes` leaves `loop.done` as an `append` Manifest (inline if small, else stored and
// referenced), `stats` and `errors` inline; readers materialize `results`/`data` on access.

const EXEC = '01JTESTEXEC0000000000000000';
type Ev = NoetlEvent & { payload: Record<string, unknown> };

/** A synchronous fake of the shell's store: JSON copies by uri, every call recorded. */
function fakeStore() {
  const objects = new Map<string, unknown>();
  const puts: Array<{ executionId: string; entity: string }> = [];
  const reads: string[] = [];
  const put = (loc: { executionId: string; entity: string }, value: unknown): ResultRef => {
    puts.push(loc);
    const uri = `noetl://${loc.executionId}/${loc.entity}`;
    const json = JSON.stringify(value);
    objects.set(uri, JSON.parse(json));
    return {
      kind: 'result_ref', uri, store: 'fs', key: `exec/${loc.executionId}/${loc.entity}.json`,
      content_type: isManifest(value) ? 'application/vnd.noetl.manifest+json' : 'application/json',
      encoding: 'json', compression: 'none', size: json.length, raw_size: json.length, checksum: 'sha256:0', scope: 'execution', created_at: 't',
      schema: { type: Array.isArray(value) ? 'array' : 'object' },
    } as ResultRef;
  };
  const hydrate = (ref: ResultRef): unknown => {
    reads.push(ref.uri);
    if (!objects.has(ref.uri)) throw new Error(`missing ${ref.uri}`);
    return objects.get(ref.uri);
  };
  return { objects, puts, reads, put, hydrate };
}

/**
 * Delivers worker events until the execution is terminal; an iteration result that the script
 * returned as a ResultRef is moved to `result_ref`, as a worker that externalized it emits it.
 */
function runSim(sim: Sim): void {
  sim.start();
  for (let n = 0; n < 200_000; n++) {
    if (['completed', 'failed', 'cancelled'].includes(sim.state.status)) return;
    for (const s of sim.streams) {
      for (let i = s.pos; i < s.events.length; i++) {
        const e = s.events[i] as Ev;
        if (e.event_type === 'loop.iteration.done' && isResultRef(e.payload.result)) {
          const { result, ...rest } = e.payload;
          s.events[i] = { ...e, payload: { ...rest, result_ref: result } } as NoetlEvent;
        }
      }
    }
    if (!sim.step()) return;
  }
}

const pad = (n: number, bytes: number) => ({ n, pad: 'x'.repeat(bytes) });

interface Opts {
  items?: number;
  /** bytes of padding per iteration result */
  bytes?: number;
  /** step `spec.result.inline_max_bytes` of the loop step */
  limit?: number;
  store?: boolean;
  failureMode?: 'fail_fast' | 'best_effort';
  failAt?: number[];
  /** iterations whose result the "worker" stored by reference */
  byRef?: number[];
  fan?: Partial<StepDef>;
  steps?: StepDef[];
  trace?: boolean;
}

function run(o: Opts = {}) {
  const items = Array.from({ length: o.items ?? 300 }, (_, i) => i);
  const st = fakeStore();
  const fail = new Set(o.failAt ?? []);
  const byRef = new Set(o.byRef ?? []);
  const pb = buildPlaybook({
    workload: { items },
    steps: [
      {
        name: 'fan',
        loop: { in: '{{ items }}', iterator: 'n', mode: 'parallel', max_in_flight: 16 },
        failure_mode: o.failureMode ?? 'best_effort',
        ...(o.limit !== undefined ? { spec: { result: { inline_max_bytes: o.limit } } } : {}),
        next: ['after'],
        ...o.fan,
      },
      ...(o.steps ?? [{ name: 'after' }]),
    ],
    entry: 'fan',
  });
  const script: Script = (cmd, r) => {
    if (cmd.step !== 'fan') return noopScript(cmd, r);
    const i = cmd.iteration!.index;
    if (fail.has(i)) return { ok: false, error: makeError('server_error', 'HTTP_503', `boom ${i}`) };
    const value = pad(i, o.bytes ?? 1000);
    if (byRef.has(i)) return { ok: true, result: st.put({ executionId: EXEC, entity: `rfan/i${i}/fan_task/v1-a1` }, value) };
    return { ok: true, result: value };
  };
  const sim = new Sim(pb, { script, trace: o.trace, env: { hydrate: st.hydrate, ...(o.store === false ? {} : { storeValue: st.put }) } });
  runSim(sim);
  const done = sim.events('loop.done', 'fan')[0] as Ev | undefined;
  return { sim, st, pb, done, state: sim.state };
}

const manifestPuts = (st: ReturnType<typeof fakeStore>) => st.puts.filter((p) => p.entity.endsWith('/manifest'));

describe('loop aggregates as Manifests (dsl §10.7, runtime §7.5, T7.13)', () => {
  it('a large aggregate: loop.done carries a stored append manifest + errors, no result; parts in index order incl. failures and refs', () => {
    const { sim, st, done, state } = run({ limit: 20_000, failAt: [5, 17], byRef: [7] });
    expect(state.status).toBe('completed');
    expect(done).toBeDefined();
    const p = done!.payload;
    expect(p.result).toBeUndefined();
    expect(p.stats).toEqual({ total: 300, succeeded: 298, failed: 2 });
    expect((p.errors as Array<{ index: number }>).map((e) => e.index)).toEqual([5, 17]);
    expect(p.errors).toEqual([
      { index: 5, error: expect.objectContaining({ kind: 'server_error', message: 'boom 5' }) },
      { index: 17, error: expect.objectContaining({ kind: 'server_error', message: 'boom 17' }) },
    ]);
    // T7.13: the manifest (~300 KB) is over the limit too: stored, referenced by a ResultRef
    const ref = p.manifest_ref as ResultRef;
    expect(isResultRef(ref)).toBe(true);
    const runId = sim.events('step.scheduled', 'fan')[0].step_run_id!;
    const entity = manifestEntity(EXEC, runId);
    expect(entity).toMatch(/^r\d+\.\d+\/manifest$/);
    expect(ref.uri).toBe(`noetl://${EXEC}/${entity}`);
    expect(ref.content_type).toBe('application/vnd.noetl.manifest+json');
    expect(manifestPuts(st)).toEqual([{ executionId: EXEC, entity }]);
    const m = st.objects.get(ref.uri) as Manifest;
    expect(m).toMatchObject({ kind: 'manifest', uri: ref.uri, strategy: 'append', merge_path: null, total_parts: 300 });
    expect(m.parts.map((x) => x.index)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(m.parts[0]).toEqual({ index: 0, status: 'ok', inline: pad(0, 1000) });
    expect(m.parts[5]).toEqual({ index: 5, status: 'error', inline: null });
    expect(m.parts[17]).toEqual({ index: 17, status: 'error', inline: null });
    expect(m.parts[7]).toEqual({ index: 7, status: 'ok', ref: expect.objectContaining({ kind: 'result_ref', uri: `noetl://${EXEC}/rfan/i7/fan_task/v1-a1` }) });
    // total_size: known sizes of the ok parts (inline JSON bytes, raw_size of the stored one)
    const inlineBytes = m.parts.filter((x) => x.status === 'ok' && !x.ref).reduce((a, x) => a + jsonByteSize(x.inline), 0);
    expect(m.total_size).toBe(inlineBytes + m.parts[7].ref!.raw_size);
    // the event is small (the aggregate would be ~600 KB)
    expect(jsonByteSize(done)).toBeLessThan(4096);
    // the step record keeps the compact aggregate: plain JSON, no payload
    const sum = summarize(state, st.hydrate);
    expect(sum.steps.fan.result).toEqual({ results: ref, data: ref, stats: p.stats, errors: p.errors });
  });

  it('scheduler templates read results/data/stats/errors through the manifest (arc when, step set, admission)', () => {
    const { state, st, sim } = run({
      limit: 20_000,
      failAt: [5],
      byRef: [7],
      fan: {
        set: {
          'ctx.third': '{{ fan.results[2].n }}',
          'ctx.by_ref': '{{ fan.results[7].n }}',
          'ctx.failed_is_none': '{{ fan.results[5] is none }}',
          'ctx.data_len': '{{ fan.data | length }}',
          'ctx.first_error': '{{ fan.errors[0].index }}',
          'ctx.out_len': '{{ output.data.results | length }}',
        },
        next: [{ step: 'after', when: '{{ fan.stats.failed == 1 and fan.results | length == 300 and fan.results[-1].n == 299 }}' }],
      },
      steps: [{ name: 'after', admit: [{ when: '{{ steps.fan.data.results[299].n == 299 }}', allow: true }], set: { 'ctx.after_saw': '{{ fan.results[10].n }}' } }],
    });
    expect(state.status).toBe('completed');
    expect(state.ctx).toEqual({ third: 2, by_ref: 7, failed_is_none: true, data_len: 300, first_error: 5, out_len: 300, after_saw: 10 });
    // the manifest and the by-reference part were fetched; the other parts are inline in it
    expect(new Set(st.reads)).toEqual(new Set([`noetl://${EXEC}/${manifestEntity(EXEC, sim.events('step.scheduled', 'fan')[0].step_run_id!)}`, `noetl://${EXEC}/rfan/i7/fan_task/v1-a1`]));
  });

  it('reads of stats and errors only never fetch (T7.19)', () => {
    const { state, st, done } = run({
      limit: 20_000,
      failAt: [3],
      fan: { set: { 'ctx.failed': '{{ fan.stats.failed }}', 'ctx.errs': '{{ fan.errors | length }}' }, next: [{ step: 'after', when: '{{ fan.stats.total == 300 }}' }] },
    });
    expect(state.status).toBe('completed');
    expect(isResultRef(done!.payload.manifest_ref)).toBe(true);
    expect(state.ctx).toEqual({ failed: 1, errs: 1 });
    expect(st.reads).toEqual([]);
  });

  it('many failures: the errors list over the limit is stored too; loop.done stays small; templates read it lazily', () => {
    const failAt = Array.from({ length: 250 }, (_, i) => i + 50); // 250 failures of ~110 bytes each
    const { state, st, done, sim, pb } = run({
      limit: 20_000,
      failAt,
      fan: {
        set: { 'ctx.failed': '{{ fan.stats.failed }}' },
        next: [{ step: 'after', when: '{{ fan.stats.total == 300 }}' }],
      },
      steps: [{ name: 'after', set: { 'ctx.errs': '{{ fan.errors | length }}', 'ctx.first': '{{ fan.errors[0].index }}', 'ctx.kind': '{{ fan.errors[-1].error.kind }}', 'ctx.r0': '{{ fan.results[0].n }}' } }],
    });
    expect(state.status).toBe('completed');
    const runId = sim.events('step.scheduled', 'fan')[0].step_run_id!;
    const errorsUri = `noetl://${EXEC}/${loopErrorsEntity(EXEC, runId)}`;
    expect(done!.payload.errors).toMatchObject({ kind: 'result_ref', uri: errorsUri });
    expect(jsonByteSize(done)).toBeLessThan(2_000);
    expect(st.objects.get(errorsUri)).toHaveLength(250);
    expect((st.objects.get(errorsUri) as Array<{ index: number }>).map((e) => e.index)).toEqual(failAt);
    expect(state.ctx).toEqual({ failed: 250, errs: 250, first: 50, kind: 'server_error', r0: 0 });
    // the arc's `stats` read fetched nothing; `after`'s reads fetched the errors list and the manifest once each
    expect([...new Set(st.reads)].sort()).toEqual([errorsUri, `noetl://${EXEC}/${manifestEntity(EXEC, runId)}`].sort());
    expect(summarize(state, st.hydrate).steps.fan.result).toMatchObject({ stats: { total: 300, failed: 250 }, errors: { kind: 'result_ref', uri: errorsUri } });
    expect(plain(replay(pb, sim.log))).toEqual(plain(state));
  });

  it('a failure list under the limit stays inline next to a stored manifest', () => {
    const { done } = run({ limit: 20_000, failAt: [1, 2, 3] });
    expect(Array.isArray(done!.payload.errors)).toBe(true);
    expect((done!.payload.errors as unknown[]).length).toBe(3);
  });

  it('T7.13: a manifest that fits the limit travels inline in manifest_ref (aggregate over, manifest under)', () => {
    // 300 results of ~110 bytes: aggregate ~67 KB (results twice), manifest ~43 KB
    const { done, st, state } = run({ limit: 50_000, bytes: 100, failAt: [4] });
    expect(state.status).toBe('completed');
    const m = done!.payload.manifest_ref as Manifest;
    expect(isManifest(m)).toBe(true);
    expect(done!.payload.result).toBeUndefined();
    expect(m.parts).toHaveLength(300);
    expect(m.parts[4]).toEqual({ index: 4, status: 'error', inline: null });
    expect(jsonByteSize(m)).toBeLessThanOrEqual(50_000);
    expect(manifestPuts(st)).toEqual([]);
    expect(summarize(state, st.hydrate).steps.fan.result).toMatchObject({ results: m, data: m, stats: { total: 300, failed: 1 } });
  });

  it('a small aggregate stays inline in loop.done.result, as before', () => {
    const { done, st } = run({ items: 5, bytes: 10 });
    expect(done!.payload.manifest_ref).toBeUndefined();
    expect(done!.payload.errors).toBeUndefined();
    expect(done!.payload.result).toEqual({ results: [0, 1, 2, 3, 4].map((i) => pad(i, 10)), data: [0, 1, 2, 3, 4].map((i) => pad(i, 10)), stats: { total: 5, succeeded: 5, failed: 0 }, errors: [] });
    expect(st.puts).toEqual([]);
  });

  it('the default limit is the deployment inline_max_bytes (102,400): 300 x 1 KB goes to a manifest, 50 x 1 KB stays inline', () => {
    expect(run({}).done!.payload.manifest_ref).toBeDefined();
    expect(run({ items: 40 }).done!.payload.result).toBeDefined();
  });

  it('without a storeValue port the aggregate stays inline whatever its size', () => {
    const { done, st } = run({ limit: 20_000, store: false });
    expect(done!.payload.manifest_ref).toBeUndefined();
    expect((done!.payload.result as { results: unknown[] }).results).toHaveLength(300);
    expect(st.puts).toEqual([]);
  });

  it('replay of the log rebuilds the same state, without storing or fetching anything', () => {
    const { sim, st, pb } = run({ limit: 20_000, failAt: [1], byRef: [2], fan: { set: { 'ctx.x': '{{ fan.results[0].n }}' } } });
    expect(manifestPuts(st)).toHaveLength(1);
    const puts = st.puts.length;
    const reads = st.reads.length;
    const again = replay(pb, sim.log);
    expect(plain(again)).toEqual(plain(sim.state));
    expect(plain(JSON.parse(JSON.stringify(again)))).toEqual(plain(sim.state));
    expect(st.puts.length).toBe(puts);
    expect(st.reads.length).toBe(reads);
  });

  it('reprocessing the input that ends the loop stores the same object (deterministic entity) and emits the same events', () => {
    const { sim, st } = run({ limit: 20_000, trace: true });
    const t = sim.trace.find((x) => x.result.events.some((e) => e.event_type === 'loop.done'))!;
    const before = manifestPuts(st).slice();
    expect(before).toHaveLength(1);
    const again = processEvent(t.before, sim.playbook, t.input, t.env);
    expect(manifestPuts(st)).toEqual([before[0], before[0]]);
    expect(plain(again.events)).toEqual(plain(t.result.events));
  });

  it('fail_fast: a large partial_result of step.failed is the compact aggregate; output.data reads through it', () => {
    const { sim, state } = run({
      limit: 20_000,
      failAt: [299],
      failureMode: 'fail_fast',
      fan: { loop: { in: '{{ items }}', iterator: 'n', mode: 'sequential' }, next: [{ step: 'handler', when: "{{ event.name == 'step.failed' }}", args: { n: '{{ output.data.results[3].n }}', len: '{{ output.data.results | length }}', failed: '{{ output.data.stats.failed }}' } }] },
      steps: [{ name: 'handler', result: { n: '{{ args.n }}' } }],
    });
    const failed = sim.events('step.failed', 'fan')[0] as Ev;
    const partial = failed.payload.partial_result as Record<string, unknown>;
    expect(isResultRef(partial.results)).toBe(true);
    expect(partial.data).toEqual(partial.results);
    expect(partial).toMatchObject({ stats: { total: 300, succeeded: 299, failed: 1 }, errors: [{ index: 299 }] });
    expect(jsonByteSize(failed)).toBeLessThan(4096);
    const tok = sim.events('token.created').find((e) => (e as Ev).payload.target_step === 'handler') as Ev;
    expect(tok.payload.args).toEqual({ n: 3, len: 300, failed: 1 });
    expect(state.status).toBe('completed');
  });

  it('buildManifest: the size arithmetic equals the JSON size of the manifest', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const ref = (i: number): ResultRef => ({ kind: 'result_ref', uri: `noetl://E/r1.0/i${i}/t/v1-a1`, store: 'fs', content_type: 'application/json', encoding: 'json', compression: 'none', size: 9, raw_size: 1000 + i, checksum: 'sha256:ab', scope: 'execution', created_at: 'é' } as ResultRef);
    const values = [() => null, () => 0, () => -1.5e-7, () => 'ü€😀"\\\n', () => ({ a: [1, { b: 'x' }], 'k"ey': true }), () => [], () => ({})];
    for (const n of [0, 1, 2, 9, 10, 11, 99, 100, 101, 1000, 1234]) {
      const results: unknown[] = [];
      const errors: Array<{ index: number }> = [];
      for (let i = 0; i < n; i++) {
        const r = rnd();
        if (r < 0.1) {
          results.push(null);
          errors.push({ index: i });
        } else if (r < 0.2) results.push(ref(i));
        else results.push(values[Math.floor(rnd() * values.length)]());
      }
      const { manifest, bytes } = buildManifest(`noetl://E/r${n}.0/manifest`, results, errors, jsonByteSize(results));
      expect(bytes).toBe(jsonByteSize(manifest));
      expect(manifest.total_parts).toBe(n);
      const known = manifest.parts.reduce((a, p) => a + (p.status === 'error' ? 0 : p.ref ? p.ref.raw_size : jsonByteSize(p.inline)), 0);
      expect(manifest.total_size).toBe(known);
    }
  });
});
