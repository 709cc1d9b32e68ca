import type { ResultRef } from '@noetl/common';
import type { NoetlEvent } from '@noetl/events';
import { buildPlaybook, type StepDef } from './testing/builder';
import { Sim } from './testing/sim';

// dsl R13.9 / runtime.md §8.10: scheduler-side templates hydrate within `hydrate_max_bytes`
// (scheduler default 8 MiB; `executor.spec.policy.limits.hydrate_max_bytes` overrides it); beyond
// it the evaluation fails with kind `reference_too_large` and the payload is never fetched.
const REF: ResultRef = {
  kind: 'result_ref',
  uri: 'noetl://x/r1.0/start_task/v1-a1',
  store: 'fs',
  key: 'exec/x/start_task/v1-a1.json',
  path: '/nowhere/v1-a1.json',
  content_type: 'application/json',
  encoding: 'json',
  compression: 'none',
  size: 200_000,
  raw_size: 200_000,
  checksum: 'sha256:00',
  scope: 'execution',
  created_at: '2026-01-01T00:00:00.000Z',
  expires_at: null,
  extracted: { n: 3 },
} as ResultRef;

/** Runs `start -> end` where the worker stored start's result by reference; counts the fetches. */
function run(set: Record<string, unknown>, limit?: number, start: Partial<StepDef> = {}) {
  const pb = buildPlaybook({
    ...(limit !== undefined ? { policy: { limits: { hydrate_max_bytes: limit } } } : {}),
    steps: [{ name: 'start', set, next: ['end'], ...start }, { name: 'end' }],
  });
  let reads = 0;
  const sim = new Sim(pb, {
    env: {
      hydrate: () => {
        reads++;
        return { blob: 'x'.repeat(10), n: 3 };
      },
    },
  });
  sim.start();
  const done = sim.streams[0].events.find((e) => e.event_type === 'step.done') as NoetlEvent & { payload: Record<string, unknown> };
  done.payload = { ...done.payload, result: undefined, result_ref: REF };
  const st = sim.run();
  return { st, reads: () => reads, sim };
}

describe('scheduler-side hydration limit (R13.9, §8.10 hydrate_max_bytes)', () => {
  it('under the limit (default 8 MiB) a step set hydrates the referenced result', () => {
    const { st, reads } = run({ 'ctx.len': '{{ output.data.blob | length }}' });
    expect(st.status).toBe('completed');
    expect(st.ctx).toEqual({ len: 10 });
    expect(reads()).toBe(1);
  });

  it('over the playbook limit the evaluation fails with reference_too_large without fetching', () => {
    const { st, reads, sim } = run({ 'ctx.len': '{{ output.data.blob | length }}' }, 150_000);
    expect(st.status).toBe('failed');
    expect(reads()).toBe(0);
    const failed = sim.events('execution.failed')[0] as NoetlEvent & { payload: { error: { kind: string; code: string }; phase: string } };
    expect(failed.payload.phase).toBe('routing');
    expect(failed.payload.error).toMatchObject({ kind: 'reference_too_large', code: 'REFERENCE_TOO_LARGE' });
  });

  it('over the limit, extracted fields and _ref still read (no fetch needed)', () => {
    const { st, reads } = run({ 'ctx.n': '{{ output.data.n }}', 'ctx.size': '{{ output.data._ref.raw_size }}', 'ctx.via_name': '{{ start.n }}' }, 150_000);
    expect(st.status).toBe('completed');
    expect(st.ctx).toEqual({ n: 3, size: 200_000, via_name: 3 });
    expect(reads()).toBe(0);
  });

  it('arcs are bounded too: a too-large read in a when fails the execution (phase routing)', () => {
    const { st, reads, sim } = run({}, 150_000, { next: [{ step: 'end', when: '{{ start.blob | length > 0 }}' }] });
    expect(st.status).toBe('failed');
    expect(reads()).toBe(0);
    expect((sim.events('execution.failed')[0] as NoetlEvent & { payload: { error: { kind: string } } }).payload.error.kind).toBe('reference_too_large');
  });
});
