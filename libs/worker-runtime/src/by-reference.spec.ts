import type { ResultRef } from '@noetl/common';
import type { StepView } from '@noetl/events';
import { runCommand } from './index';
import { stepsHydrator, workloadView } from './ctx-view';
import { makeHarness, makeCommand, task, delivery, terminalPayload, fsHydrator, EXEC, type Harness } from './testing/harness';

// runtime.md T4.3 on the worker: a command over `max_event_bytes` arrives with some `workload`,
// `ctx` and `steps` values as ResultRefs (the scheduler stored them); templates read them as if
// they were inline, hydrating on access (T7.19).

const resultOf = (h: Harness) => terminalPayload(h.events)['result'] as Record<string, unknown>;
const put = (h: Harness, entity: string, value: unknown): Promise<ResultRef> => h.store.put({ executionId: EXEC, entity }, value);

describe('command values carried by reference (T4.3)', () => {
  test('workload values by reference hydrate on read: workload.x, bare names, filters, keychain-free tasks', async () => {
    const h = makeHarness();
    const blob = 'w'.repeat(50_000);
    const ref = await put(h, 'cmd/workload/blob', blob);
    const obj = await put(h, 'cmd/workload/cfg', { region: 'eu', rows: [{ i: 0 }, { i: 1 }] });
    await runCommand(makeCommand({
      workload: { blob: ref, cfg: obj, small: 's' },
      pipeline: [task('t', 'script', { result: { len: '{{ workload.blob | length }}', bare: '{{ blob[:3] }}', region: '{{ cfg.region }}', i: '{{ workload.cfg.rows[1].i }}', small: '{{ small }}' } })],
    }), delivery(), h.deps);
    expect(terminalPayload(h.events)['error']).toBeUndefined();
    expect(resultOf(h)).toEqual({ len: 50_000, bare: 'www', region: 'eu', i: 1, small: 's' });
  });

  test('a workload without refs is the command\'s own object (no copy); a view is lazy (unread values are never fetched)', async () => {
    const w = { a: 1, nested: { inner: { kind: 'result_ref', uri: 'noetl://x' } } }; // only top-level values are ever externalized
    expect(workloadView(w, fsHydrator)).toBe(w);
    let fetched = 0;
    const view = workloadView({ a: 1, r: { kind: 'result_ref', uri: 'noetl://x/y' } as unknown as ResultRef }, () => {
      fetched += 1;
      return 'v';
    });
    expect(view.a).toBe(1);
    expect(fetched).toBe(0);
    expect(view.r).toBe('v');
    expect(view.r).toBe('v');
    expect(fetched).toBe(1);
  });

  test('ctx values by reference hydrate on read, and refs nested in a hydrated value hydrate as they would inline', async () => {
    const h = makeHarness();
    const inner = await put(h, 'r1/inner', { n: 7 });
    const big = await put(h, 'cmd/ctx/big/0', { rows: Array.from({ length: 100 }, (_, i) => ({ i })), inner });
    await runCommand(makeCommand({
      ctx: { big, small: 1 },
      pipeline: [task('t', 'script', { result: { last: '{{ ctx.big.rows[-1].i }}', n: '{{ ctx.big.inner.n }}', small: '{{ ctx.small }}', bare: '{{ big.rows | length }}' } })],
    }), delivery(), h.deps);
    expect(resultOf(h)).toEqual({ last: 99, n: 7, small: 1, bare: 100 });
  });

  test('a step view by reference reads like the inline one: <step>.x, <step>.data.x, steps.<step>.data.x, status', async () => {
    const h = makeHarness();
    const R = { tag: 'b', rows: [{ i: 0 }, { i: 1 }, { i: 2 }] };
    const ref = await put(h, 'cmd/steps/b/r_5.0', R);
    const steps: Record<string, StepView> = {
      b: { status: 'done', runs: 2, ref, step_run_id: `${EXEC}/r/5.0`, completed_at: '2026-01-01T00:00:00.000Z', error: null },
      inline: { status: 'done', runs: 1, data: R },
    };
    await runCommand(makeCommand({
      steps,
      pipeline: [task('t', 'script', {
        result: {
          tag: '{{ b.tag }}', i: '{{ b.rows[2].i }}', data_tag: '{{ b.data.tag }}', steps_tag: '{{ steps.b.data.tag }}', status: '{{ steps.b.status }}',
          runs: '{{ steps.b.runs }}', n: '{{ b.rows | length }}', same: '{{ b.rows == inline.rows }}',
        },
      })],
    }), delivery(), h.deps);
    expect(resultOf(h)).toEqual({ tag: 'b', i: 2, data_tag: 'b', steps_tag: 'b', status: 'done', runs: 2, n: 3, same: true });
  });

  test('a loop aggregate by reference gets the loop-items view: iteration results by reference hydrate, http items get the body fallback', async () => {
    const h = makeHarness();
    const it0 = await put(h, 'r1/i0', { n: 1 });
    const it1 = await put(h, 'r1/i1', { n: 2 });
    const agg = await put(h, 'cmd/steps/fan/r_7.0', { results: [it0, it1], data: [it0, it1], stats: { total: 2, succeeded: 2, failed: 0 }, errors: [] });
    const httpResults = [{ status_code: 200, headers: {}, data: { x: 10 }, url: 'http://x', elapsed_ms: 1 }];
    const httpAgg = await put(h, 'cmd/steps/fetch/r_8.0', { results: httpResults, data: httpResults, stats: { total: 1, succeeded: 1, failed: 0 }, errors: [] });
    await runCommand(makeCommand({
      steps: {
        fan: { status: 'done', runs: 1, ref: agg },
        fetch: { status: 'done', runs: 1, ref: httpAgg, http_items: true },
      },
      pipeline: [task('t', 'script', {
        result: { second: '{{ fan.results[1].n }}', count: '{{ fan.results | length }}', via_data: '{{ fan.data[0].n }}', total: '{{ fan.stats.total }}', x: '{{ fetch.results[0].x }}', code: '{{ fetch.results[0].status_code }}' },
      })],
    }), delivery(), h.deps);
    expect(resultOf(h)).toEqual({ second: 2, count: 2, via_data: 1, total: 2, x: 10, code: 200 });
  });

  test('stepsHydrator is the plain hydrator when no view is by reference', () => {
    expect(stepsHydrator({ a: { status: 'done', runs: 1, data: 1 } }, fsHydrator)).toBe(fsHydrator);
  });
});
