import { renderTemplate, renderValue } from '@noetl/template';
import type { StepView } from '@noetl/events';
import type { Manifest, ResultRef } from '@noetl/common';
import {
  dataView, httpView, refView, stepOutcomeView, attemptOutcomeView, StepResults, schedulerScope, workerScope, makeGlobals,
  isLoopAggregate, loopItemsView, loopManifestOf, manifestItems,
} from '@noetl/scope';

const globals = makeGlobals('EXEC1', { path: 'p/x', name: 'x', version: 1, catalog_id: 'cat' });
const noHydrate = (): unknown => {
  throw new Error('must not hydrate');
};
const http = { status_code: 200, headers: { 'content-type': 'application/json' }, data: { page: 2, items: [1] }, body: { page: 2, items: [1] }, url: 'u', elapsed_ms: 3 };

describe('dataView (dsl R13.4)', () => {
  it('adds a synthetic data key only when R lacks one', () => {
    const v = dataView({ a: 1 });
    expect(renderTemplate('{{ v.data.a }}-{{ v.a }}', { lookup: () => v })).toBe('1-1');
    expect(renderTemplate('{{ v | tojson }}', { lookup: () => v })).toBe('{"a":1}');
    const own = dataView({ data: 5 });
    expect(renderTemplate('{{ v.data }}', { lookup: () => own })).toBe(5);
  });
  it('leaves non-mappings alone', () => {
    expect(dataView([1, 2])).toEqual([1, 2]);
    expect(dataView(3)).toBe(3);
  });
});

describe('httpView (tools K2.16)', () => {
  it('reads missing keys from the body, own keys win, serialization keeps six keys', () => {
    const v = httpView(http);
    const scope = { lookup: () => v };
    expect(renderTemplate('{{ v.page }}', scope)).toBe(2);
    expect(renderTemplate('{{ v.data.page }}', scope)).toBe(2);
    expect(renderTemplate('{{ v.status_code }}', scope)).toBe(200);
    expect(renderTemplate('{{ v.missing is defined }}', scope)).toBe(false);
    expect(Object.keys(JSON.parse(renderTemplate('{{ v | tojson }}', scope) as string))).toEqual(Object.keys(http));
    expect(renderTemplate('{{ v | length }}', scope)).toBe(6);
  });
  it('copies made by renderValue are plain data (no fallback travels)', () => {
    const copy = JSON.parse(JSON.stringify(renderValue({ x: '{{ v }}' }, { lookup: () => httpView(http) })));
    expect(copy.x.page).toBeUndefined();
  });
});

describe('refView (dsl R13.9)', () => {
  const ref = { kind: 'result_ref', uri: 'noetl://E/r1/result', store: 'fs', path: '/x', content_type: 'application/json', encoding: 'json', compression: 'none', size: 10, raw_size: 10, checksum: 'sha256:0', scope: 'execution', created_at: 't', extracted: { count: 3 }, preview: { bytes: 5, truncated: true, text: '{"a":' } } as ResultRef;
  it('reads _ref/_store/_preview and extracted fields without hydrating', () => {
    const v = refView(ref, noHydrate);
    const scope = { lookup: () => v };
    expect(renderTemplate('{{ v._store }}', scope)).toBe('fs');
    expect(renderTemplate('{{ v.count }}', scope)).toBe(3);
    expect(renderTemplate('{{ v._ref.uri }}', scope)).toBe('noetl://E/r1/result');
  });
  it('hydrates once for any other key, with data-view rules', () => {
    let calls = 0;
    const v = refView(ref, () => { calls++; return { rows: [1, 2], n: 2 }; });
    const scope = { lookup: () => v };
    expect(renderTemplate('{{ v.n }}', scope)).toBe(2);
    expect(renderTemplate('{{ v.data.rows | length }}', scope)).toBe(2);
    expect(calls).toBe(1);
  });
});

describe('outcome views', () => {
  it('step outcome: output.result aliases output.data; no helpers; http fallback applies', () => {
    const o = stepOutcomeView({ status: 'ok', data: http, error: null, ref: null, meta: { step: 's', step_run_id: 'r', run_no: 1 }, http_result: true }, noHydrate);
    const scope = { lookup: (n: string) => (n === 'output' ? o : undefined) };
    expect(renderTemplate('{{ output.result.page }}', scope)).toBe(2);
    expect(renderTemplate('{{ output.data.status_code }}', scope)).toBe(200);
    expect(renderTemplate('{{ output.http is defined }}', scope)).toBe(false);
  });
  it('attempt outcome: error.status aliases http_status', () => {
    const o = attemptOutcomeView({ status: 'error', data: http, error: { kind: 'server_error', code: 'HTTP_503', message: 'm', retryable: true, http_status: 503 }, http: { status: 503, headers: {}, url: 'u', method: 'GET' } }, { http: true });
    const scope = { lookup: (n: string) => (n === 'output' ? o : undefined) };
    expect(renderTemplate('{{ output.error.status in [500, 503] }}', scope)).toBe(true);
    expect(renderTemplate('{{ output.http.status }}', scope)).toBe(503);
    expect(renderTemplate('{{ output.data.page }}', scope)).toBe(2);
  });
});

describe('name resolution (dsl R13.2)', () => {
  const steps: Record<string, StepView> = {
    fetch: { status: 'done', data: { rows: [1] }, runs: 1, step_run_id: 'r1' },
    failed_once: { status: 'failed', runs: 1 },
    'dash-name': { status: 'done', data: { ok: true }, runs: 2 },
  };
  it('scheduler side: step result, then ctx, then workload; reserved names win', () => {
    const sr = new StepResults(steps, noHydrate);
    const scope = schedulerScope({ globals, workload: { fetch: 'w', a: 'wa', ctx: 'shadowed', b: 'wb' }, ctx: { a: 'ca' }, args: { x: 1 }, steps: sr });
    expect(renderTemplate('{{ fetch.rows }}', scope)).toEqual([1]);
    expect(renderTemplate('{{ a }}', scope)).toBe('ca');
    expect(renderTemplate('{{ b }}', scope)).toBe('wb');
    expect(renderTemplate('{{ ctx.a }}', scope)).toBe('ca');
    expect(renderTemplate('{{ workload.ctx }}', scope)).toBe('shadowed');
    expect(renderTemplate("{{ steps['dash-name'].runs }}", scope)).toBe(2);
    expect(renderTemplate('{{ failed_once is defined }}', scope)).toBe(false);
    expect(renderTemplate('{{ steps.failed_once.status }}', scope)).toBe('failed');
    expect(renderTemplate('{{ job.uuid == execution_id }}', scope)).toBe(true);
  });
  it('legacy bare `result` in step set/arcs is output.data unless a step is named result', () => {
    const sr = new StepResults(steps, noHydrate);
    const output = { status: 'ok', data: { n: 7 } };
    const scope = schedulerScope({ globals, workload: { result: 'w' }, ctx: { result: 'c' }, args: {}, steps: sr, output });
    expect(renderTemplate('{{ result.n }}', scope)).toBe(7);
    expect(renderTemplate('{{ ctx.result }}', scope)).toBe('c');
  });
  it('worker side: task input, task names, iterator, step locals, steps, ctx, workload', () => {
    const sr = new StepResults(steps, noHydrate);
    const base = { globals, workload: { k: 'w' }, ctx: { k: 'c' }, args: {}, steps: sr, iter: { item: 'I', index: 0 }, iterator: 'item', stepLocals: { k: 'local' }, taskViews: new Map<string, unknown>([['k', 'task']]) };
    expect(renderTemplate('{{ k }}', workerScope({ ...base, taskInput: { k: 'input' } }))).toBe('input');
    expect(renderTemplate('{{ k }}', workerScope(base))).toBe('task');
    expect(renderTemplate('{{ k }}', workerScope({ ...base, taskViews: new Map() }))).toBe('local');
    expect(renderTemplate('{{ k }}', workerScope({ ...base, taskViews: new Map(), stepLocals: {} }))).toBe('c');
    expect(renderTemplate('{{ item }}-{{ iter.index }}', workerScope(base))).toBe('I-0');
    expect(renderTemplate('{{ fetch.data.rows[0] }}', workerScope(base))).toBe(1);
  });
});

describe('loop results of single-http-task iterations (tools K2.16)', () => {
  it('each element of results/data reads with the body fallback, in worker and scheduler scopes alike', () => {
    const agg = { results: [http, null], data: [http, null], stats: { total: 2, succeeded: 1, failed: 1 }, errors: [] };
    const steps: Record<string, StepView> = { pages: { status: 'done', data: agg, runs: 1, http_items: true } };
    const sr = new StepResults(steps, noHydrate);
    const w = workerScope({ globals, workload: {}, ctx: {}, args: {}, steps: sr, iter: {}, stepLocals: {}, taskViews: new Map() });
    expect(renderTemplate('{{ pages.results[0].page }}', w)).toBe(2);
    expect(renderTemplate('{{ pages.data[0].status_code }}', w)).toBe(200);
    const s = schedulerScope({ globals, workload: {}, ctx: {}, args: {}, steps: sr });
    expect(renderTemplate('{{ pages.results[0].items | length }}', s)).toBe(1);
    expect(renderTemplate('{{ pages.results[0] | tojson }}', s)).toBe(JSON.stringify(http));
  });
});

describe('compact loop aggregates: results/data as a Manifest (dsl §10.7, runtime §7.5, T7.14)', () => {
  const partRef = { kind: 'result_ref', uri: 'noetl://E/r1.0/i2/t/v1-a1', store: 'fs', content_type: 'application/json', encoding: 'json', compression: 'none', size: 10, raw_size: 10, checksum: 'sha256:0', scope: 'execution', created_at: 't', preview: { bytes: 2, truncated: true, text: '{"' } } as ResultRef;
  const manifest: Manifest = {
    kind: 'manifest', uri: 'noetl://E/r1.0/manifest', strategy: 'append', merge_path: null, total_parts: 4, total_size: 30,
    // parts out of order on purpose: the list is in index order
    parts: [{ index: 1, status: 'error', inline: null }, { index: 0, status: 'ok', inline: { n: 0 } }, { index: 3, status: 'ok', inline: http }, { index: 2, status: 'ok', ref: partRef }],
  };
  const manifestRef = { ...partRef, uri: 'noetl://E/r1.0/manifest', content_type: 'application/vnd.noetl.manifest+json', raw_size: 500, preview: undefined } as ResultRef;
  const stats = { total: 4, succeeded: 3, failed: 1 };
  const errors = [{ index: 1, error: { kind: 'server_error', code: 'X', message: 'm', retryable: true } }];
  const compact = (m: Manifest | ResultRef) => ({ results: m, data: m, stats, errors });
  const counting = () => {
    const reads: string[] = [];
    const hydrate = (ref: ResultRef): unknown => {
      reads.push(ref.uri);
      if (ref.uri === manifestRef.uri) return manifest;
      if (ref.uri === partRef.uri) return { n: 2, big: 'b' };
      throw new Error(`unknown ${ref.uri}`);
    };
    return { reads, hydrate };
  };

  it('recognizes the compact form (results and data the same manifest or ref), and only it', () => {
    expect(loopManifestOf(compact(manifest))).toBe(manifest);
    expect(loopManifestOf(compact(manifestRef))).toBe(manifestRef);
    expect(isLoopAggregate(compact(manifestRef))).toBe(true);
    expect(isLoopAggregate({ results: [], data: [], stats, errors })).toBe(true);
    expect(loopManifestOf({ results: [], data: [], stats, errors })).toBeUndefined();
    expect(loopManifestOf({ results: manifestRef, data: partRef, stats, errors })).toBeUndefined();
    expect(loopManifestOf({ results: manifestRef, data: manifestRef })).toBeUndefined();
    expect(manifestItems(manifest)).toEqual([{ n: 0 }, null, partRef, http]);
    expect(() => manifestItems({ ...manifest, strategy: 'merge' })).toThrow(/strategy 'merge'/);
  });

  it('a stored manifest: stats/errors read without fetching; results/data fetch the manifest once, by-ref parts lazily', () => {
    const { reads, hydrate } = counting();
    const sr = new StepResults({ fan: { status: 'done', data: compact(manifestRef), runs: 1 } }, hydrate);
    const s = schedulerScope({ globals, workload: {}, ctx: {}, args: {}, steps: sr });
    expect(renderTemplate('{{ fan.stats.failed }}-{{ fan.errors[0].index }}-{{ steps.fan.data.stats.total }}', s)).toBe('1-1-4');
    expect(reads).toEqual([]);
    expect(renderTemplate('{{ fan.results | length }}', s)).toBe(4);
    expect(reads).toEqual([manifestRef.uri]);
    expect(renderTemplate('{{ fan.results[0].n }}-{{ fan.data[0].n }}-{{ fan.results[1] is none }}', s)).toBe('0-0-true');
    expect(renderTemplate('{{ fan.results[2]._preview.text }}', s)).toBe('{"');
    expect(reads).toEqual([manifestRef.uri]);
    expect(renderTemplate('{{ fan.results[2].n }}', s)).toBe(2);
    expect(reads).toEqual([manifestRef.uri, partRef.uri]);
    expect(renderTemplate('{{ fan.results[3].status_code }}', s)).toBe(200);
    expect(renderTemplate('{{ fan.results == fan.data }}', s)).toBe(true);
    expect(JSON.parse(renderTemplate('{{ fan.results[:2] | tojson }}', s) as string)).toEqual([{ n: 0 }, null]);
  });

  it('an inline manifest never fetches but for its by-ref parts; worker scope and http items alike', () => {
    const { reads, hydrate } = counting();
    const sr = new StepResults({ pages: { status: 'done', data: compact(manifest), runs: 1, http_items: true } }, hydrate);
    const w = workerScope({ globals, workload: {}, ctx: {}, args: {}, steps: sr, iter: {}, stepLocals: {}, taskViews: new Map() });
    expect(renderTemplate('{{ pages.data | length }}', w)).toBe(4);
    expect(renderTemplate('{{ pages.results[3].page }}', w)).toBe(2); // K2.16 body fallback per element
    expect(reads).toEqual([]);
    expect(renderTemplate('{{ steps.pages.data.results[0].n }}', w)).toBe(0);
  });

  it('loopItemsView leaves other values alone; a ref that is not a manifest fails on read', () => {
    expect(loopItemsView({ results: 5 }, noHydrate, false)).toEqual({ results: 5 });
    const v = loopItemsView(compact({ ...manifestRef, uri: partRef.uri }), counting().hydrate, false) as { results: unknown[]; stats: unknown };
    expect(v.stats).toBe(stats);
    expect(() => v.results.length).toThrow(/not a manifest/);
  });
});
