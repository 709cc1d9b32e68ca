// runtime.md §15 scenario 17 end to end: large results are externalized before the event that
// carries their ResultRef; reads hydrate, `_ref`/`_store`/`_preview` and `select` fields do not.
// Real embedded runtime, real python/noop tools, real fs result store (temp NOETL_HOME).
import { existsSync } from 'node:fs';
import type { LoggedEvent } from '@noetl/events';
import { createEmbeddedRuntime } from './runtime';
import { count, ofType, payloadOf, playbook, scenarioDir, sha256File } from './testing/scenario-kit';
import type { EmbeddedRuntime } from './types';

const d = scenarioDir('scn-results');
afterAll(() => d.cleanup());

const RESULTS = d.write(
  'results.yaml',
  playbook(
    'scn_results',
    `workflow:
  - step: start
    tool: { kind: noop, result: { small: true } }
    next: { arcs: [ { step: big } ] }
  - step: big
    tool:
      kind: python
      code: |
        result = {"blob": "x" * 150000, "count": 3, "meta": {"next": "c2", "tag": "big"}}
      spec:
        result:
          select: [count, { path: "$.meta.next", as: next_cursor }]
    next: { arcs: [ { step: legacy } ] }
  - step: legacy
    tool:
      kind: python
      output_select: [total]
      code: |
        result = {"rows": [{"i": i, "pad": "y" * 100} for i in range(1500)], "total": 1500}
    next: { arcs: [ { step: read_hydrated } ] }
  - step: read_hydrated
    tool:
      kind: python
      input:
        tag: "{{ big.meta.tag }}"
        blob_len: "{{ big.blob | length }}"
        rows_len: "{{ legacy.rows | length }}"
        last_i: "{{ legacy.rows[-1].i }}"
        ref: "{{ big._ref }}"
        small_has_ref: "{{ start._ref is defined }}"
      code: |
        result = {"tag": tag, "blob_len": blob_len, "rows_len": rows_len, "last_i": last_i,
                  "ref_kind": ref["kind"], "ref_has_blob": "blob" in ref, "small_has_ref": small_has_ref}
    set:
      ctx.sched_tag: "{{ big.meta.tag }}"
      ctx.sched_rows: "{{ legacy.rows | length }}"
    next: { arcs: [ { step: drop } ] }
  - step: drop
    tool:
      kind: python
      input:
        big_path: "{{ big._ref.path }}"
        legacy_path: "{{ legacy._ref.path }}"
      code: |
        import os
        os.remove(big_path)
        os.remove(legacy_path)
        result = {"dropped": 2}
    next: { arcs: [ { step: read_selected } ] }
  - step: read_selected
    tool:
      kind: noop
      result:
        count: "{{ big.count }}"
        next_cursor: "{{ big.next_cursor }}"
        total: "{{ legacy.total }}"
        store: "{{ big._store }}"
        preview_truncated: "{{ big._preview.truncated }}"
        uri: "{{ big._ref.uri }}"
    set:
      ctx.selected_count: "{{ big.count }}"
    next:
      arcs:
        - step: read_gone
          when: "{{ big.next_cursor == 'c2' }}"
  - step: read_gone
    tool: { kind: noop, result: { tag: "{{ big.meta.tag }}" } }
    next:
      arcs:
        - step: gone_handled
          when: "{{ event.name == 'step.failed' }}"
          args: { kind: "{{ event.error.kind }}", retryable: "{{ event.error.retryable }}" }
  - step: gone_handled
    tool: { kind: noop, result: { kind: "{{ args.kind }}", retryable: "{{ args.retryable }}" } }
`,
  ),
);

const CTX_BIG = d.write(
  'ctx-big.yaml',
  playbook(
    'scn_ctx_big',
    `workflow:
  - step: start
    tool:
      kind: python
      code: |
        result = {"blob": "z" * 80000, "n": 1}
    set:
      ctx.blob: "{{ output.data.blob }}"
    next: { arcs: [ { step: read } ] }
  - step: read
    tool: { kind: noop, result: { len: "{{ ctx.blob | length }}", head: "{{ ctx.blob[:3] }}" } }
    set:
      ctx.len_seen_by_scheduler: "{{ ctx.blob | length }}"
`,
  ),
);

const LOOP_BIG = d.write(
  'loop-big.yaml',
  playbook(
    'scn_loop_big',
    `workflow:
  - step: start
    loop: { in: [1, 2, 3], iterator: n, spec: { mode: parallel, max_in_flight: 3 } }
    tool:
      kind: python
      input: { n: "{{ iter.n }}" }
      code: |
        result = {"blob": str(n) * 120000, "n": n}
    next: { arcs: [ { step: read } ] }
  - step: read
    tool:
      kind: noop
      result:
        count: "{{ start.results | length }}"
        second_n: "{{ start.results[1].n }}"
        lens: "{{ start.results | map(attribute='blob') | map('length') | list }}"
    set:
      ctx.second_n: "{{ start.results[1].n }}"
    next: { arcs: [ { step: partial } ] }
  - step: partial
    tool:
      - name: big
        kind: python
        code: |
          result = {"blob": "p" * 120000, "k": "kept"}
      - name: boom
        kind: python
        code: |
          raise RuntimeError("boom")
    next:
      arcs:
        - step: handler
          when: "{{ event.name == 'step.failed' }}"
          args: { k: "{{ output.data.big.k }}", len: "{{ output.data.big.blob | length }}" }
  - step: handler
    tool: { kind: noop, result: { k: "{{ args.k }}", len: "{{ args.len }}" } }
`,
  ),
);

const LIMITED = (reader: string) =>
  playbook(
    `scn_hydrate_limit_${reader}`,
    `executor:
  spec:
    policy:
      limits: { hydrate_max_bytes: 150000 }
workflow:
  - step: start
    tool:
      kind: python
      code: |
        result = {"blob": "h" * 200000, "n": 1}
      spec: { result: { select: [n] } }
${reader === 'scheduler'
  ? `    set: { ctx.n: "{{ output.data.n }}", ctx.len: "{{ output.data.blob | length }}" }
`
  : `    next: { arcs: [ { step: read } ] }
  - step: read
    tool: { kind: noop, result: { n: "{{ start.n }}", len: "{{ start.blob | length }}" } }
    next:
      arcs:
        - { step: handled, when: "{{ event.name == 'step.failed' }}", args: { kind: "{{ event.error.kind }}" } }
  - step: handled
    tool: { kind: noop, result: { kind: "{{ args.kind }}" } }
`}`,
  );

/** every ResultRef carried by an event payload (attempt outcome ref, step result_ref, ...) */
function refsOf(e: LoggedEvent): Array<{ path?: string; checksum: string; uri: string }> {
  const p = payloadOf(e);
  const out: Array<{ path?: string; checksum: string; uri: string }> = [];
  const outcome = p.outcome as { ref?: unknown } | undefined;
  for (const r of [p.result_ref, outcome?.ref, p.partial_result_ref]) {
    if (r && typeof r === 'object' && (r as { kind?: unknown }).kind === 'result_ref') out.push(r as { path?: string; checksum: string; uri: string });
  }
  return out;
}

describe('scenario 17: large results by reference (embedded, real tools)', () => {
  let rt: EmbeddedRuntime;
  beforeAll(() => {
    rt = createEmbeddedRuntime({ env: d.env, cwd: d.dir, workers: 3 });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('externalizes before the event (checksum of the stored bytes), hydrates field reads, never _ref/_store/_preview/select reads', async () => {
    // persist before emit (T7.8): at the moment an event with a ref is appended to the log, the
    // stored object is already there and its bytes hash to the checksum the event carries
    const atEmit: Array<{ type: string; step?: string; exists: boolean; checksumOk: boolean }> = [];
    const off = rt.subscribe((e) => {
      for (const r of refsOf(e)) {
        const exists = !!r.path && existsSync(r.path);
        atEmit.push({ type: e.event_type, step: e.step, exists, checksumOk: exists && sha256File(r.path as string) === r.checksum });
      }
    });
    let id: string;
    try {
      id = await rt.submit(RESULTS);
      await rt.waitForTerminal(id);
    } finally {
      off();
    }
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');
    const ev = rt.events(id);

    expect(atEmit.length).toBeGreaterThanOrEqual(4); // attempt + step of big and legacy
    expect(atEmit.filter((a) => !a.exists || !a.checksumOk)).toEqual([]);

    // the events carry the reference, never the payload
    for (const step of ['big', 'legacy']) {
      const attempt = ofType(ev, 'task.attempt.done', step)[0];
      const outcome = payloadOf(attempt).outcome as Record<string, unknown>;
      expect(outcome.ref).toMatchObject({ kind: 'result_ref', uri: expect.stringMatching(/^noetl:\/\//), checksum: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
      expect(outcome.data).toBeUndefined();
      const done = payloadOf(ofType(ev, 'step.done', step)[0]);
      expect(done.result).toBeUndefined();
      expect(done.result_ref).toMatchObject({ kind: 'result_ref', checksum: expect.stringMatching(/^sha256:/), raw_size: expect.any(Number) });
      expect((done.result_ref as { raw_size: number }).raw_size).toBeGreaterThan(102_400);
    }
    expect(payloadOf(ofType(ev, 'step.done', 'big')[0]).result_ref).toMatchObject({ extracted: { count: 3, next_cursor: 'c2' }, preview: { truncated: true } });
    expect(payloadOf(ofType(ev, 'step.done', 'legacy')[0]).result_ref).toMatchObject({ extracted: { total: 1500 } });
    // no event is anywhere near the payload size (T5.1): only the 1 KiB preview travels
    for (const e of ev) expect(JSON.stringify(e).length).toBeLessThan(20_000);
    // the small result stays inline
    expect(payloadOf(ofType(ev, 'step.done', 'start')[0])).toMatchObject({ result: { small: true } });

    const doc = await rt.document(id);
    // field reads hydrate; the whole `_ref` is the reference itself, not the payload
    expect(doc.steps.read_hydrated).toMatchObject({
      status: 'done',
      result: { tag: 'big', blob_len: 150_000, rows_len: 1500, last_i: 1499, ref_kind: 'result_ref', ref_has_blob: false, small_has_ref: false },
    });
    // the stored objects were deleted by `drop`; the selected fields, _store, _preview and _ref are
    // still readable by the worker (noop result) and by the scheduler (step set, arc when): no fetch
    expect(doc.steps.drop).toMatchObject({ status: 'done', result: { dropped: 2 } });
    expect(doc.steps.read_selected).toMatchObject({
      status: 'done',
      result: { count: 3, next_cursor: 'c2', total: 1500, store: 'fs', preview_truncated: true, uri: expect.stringMatching(/^noetl:\/\//) },
    });
    // the scheduler hydrates too (step set of read_hydrated, while the objects still existed)
    expect(doc.ctx).toMatchObject({ selected_count: 3, sched_tag: 'big', sched_rows: 1500 });
    // ...while a read of a non-selected field does need the (now missing) payload
    expect(doc.steps.read_gone).toMatchObject({ status: 'failed', runs: 1 });
    expect(doc.steps.gone_handled).toMatchObject({ status: 'done', result: { kind: 'reference_not_available', retryable: true } });
    expect(count(ev, 'execution.completed')).toBe(1);
  });

  it('hydrate_max_bytes bounds scheduler-side hydration: reference_too_large, nothing fetched (R13.9)', async () => {
    const id = await rt.submit(d.write('limit-scheduler.yaml', LIMITED('scheduler')));
    const out = await rt.waitForTerminal(id);
    expect(out.status).toBe('failed');
    expect(out.error).toMatchObject({ kind: 'reference_too_large', code: 'REFERENCE_TOO_LARGE', step: 'start' });
    expect(payloadOf(ofType(rt.events(id), 'execution.failed')[0])).toMatchObject({ phase: 'routing' });
  });

  // R13.9: the worker bounds hydration by the command's hydrate_max_bytes (scope boundedHydrator).
  it('hydrate_max_bytes bounds worker-side hydration too (R13.9)', async () => {
    const id = await rt.submit(d.write('limit-worker.yaml', LIMITED('worker')));
    await rt.waitForTerminal(id);
    expect((await rt.document(id)).steps.handled).toMatchObject({ status: 'done', result: { kind: 'reference_too_large' } });
  });

  it('a large ctx value set by the scheduler reaches the worker and scheduler templates intact', async () => {
    const id = await rt.submit(CTX_BIG);
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    const doc = await rt.document(id);
    expect(doc.steps.read.result).toEqual({ len: 80_000, head: 'zzz' });
    expect(doc.ctx).toMatchObject({ len_seen_by_scheduler: 80_000 });
  });

  // T7.20: the scheduler externalizes ctx values over ctx_value_inline_max_bytes (65,536) through
  // the shell's storeValue port; readers hydrate on access and the --json document shows the value.
  it('T7.20: a ctx value over 64 KiB travels as value_ref in ctx.patched', async () => {
    const id = await rt.submit(CTX_BIG);
    await rt.waitForTerminal(id);
    expect(((await rt.document(id)).ctx.blob as string).length).toBe(80_000);
    const patch = ofType(rt.events(id), 'ctx.patched').find((e) => payloadOf(e).origin === 'step_set');
    const ops = payloadOf(patch).ops as Array<{ path: string[]; value?: unknown; value_ref?: { kind: string; checksum: string } }>;
    expect(ops).toHaveLength(1);
    expect(typeof ops[0].value).toBe('undefined');
    expect(ops[0].value_ref).toMatchObject({ kind: 'result_ref', checksum: expect.stringMatching(/^sha256:/) });
  });
});

describe('scenario 17 with loops: iteration results stored by reference', () => {
  let rt: EmbeddedRuntime;
  let id: string;
  beforeAll(async () => {
    rt = createEmbeddedRuntime({ env: d.env, cwd: d.dir, workers: 4 });
    id = await rt.submit(LOOP_BIG);
    await rt.waitForTerminal(id);
  });
  afterAll(async () => {
    await rt.close();
  });

  it('each large iteration result is externalized; the loop aggregate carries the refs; a large partial result routes', async () => {
    const out = await rt.waitForTerminal(id);
    expect(out.error).toBeNull();
    expect(out.status).toBe('completed');
    const ev = rt.events(id);
    for (const it of ofType(ev, 'loop.iteration.done', 'start')) {
      expect(payloadOf(it).result_ref).toMatchObject({ kind: 'result_ref', checksum: expect.stringMatching(/^sha256:/) });
    }
    const agg = payloadOf(ofType(ev, 'loop.done', 'start')[0]).result as { results: Array<{ kind: string }>; stats: unknown };
    expect(agg.results.map((r) => r.kind)).toEqual(['result_ref', 'result_ref', 'result_ref']);
    expect(agg.stats).toEqual({ total: 3, succeeded: 3, failed: 0 });
    const doc = await rt.document(id);
    expect(doc.steps.read).toMatchObject({ status: 'done', result: { count: 3 } });
    // the failed run's partial result is stored by reference (partial_result_ref) and hydrates in failure routing
    expect(payloadOf(ofType(ev, 'step.failed', 'partial')[0]).partial_result_ref).toMatchObject({ kind: 'result_ref' });
    expect(doc.steps.handler).toMatchObject({ status: 'done', result: { k: 'kept', len: 120_000 } });
  });

  // T7.19: iteration results stored by reference (T7.7) hydrate on access in worker templates
  // (scope `loopItemsView` via StepResults) and in scheduler templates.
  it('worker templates read fields of externalized loop items (T7.19)', async () => {
    const doc = await rt.document(id);
    expect(doc.steps.read.result).toEqual({ count: 3, second_n: 2, lens: [120_000, 120_000, 120_000] });
  });

  it('scheduler templates (step set) read fields of externalized loop items (T7.19)', async () => {
    expect((await rt.document(id)).ctx).toEqual({ second_n: 2 });
  });

  // conformance README: step results are "hydrated if stored by reference" — also refs nested in a
  // loop aggregate's `results`.
  it('the --json document shows the hydrated loop results', async () => {
    const doc = await rt.document(id);
    expect((doc.steps.start.result as { results: Array<{ n: number }> }).results.map((r) => r.n)).toEqual([1, 2, 3]);
  });
});
