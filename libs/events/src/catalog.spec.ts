import type { Manifest, ResultRef } from '@noetl/common';
import { parseEvent, type EventPayloads } from '@noetl/events';

// runtime.md §6 `loop.done`: `result` (inline) or `manifest_ref` (dsl §10.7), with the aggregate's
// `errors` alongside a manifest so the step's logical value can be rebuilt.
describe('loop.done payload', () => {
  const base = {
    v: 1, event_id: 'E1/s/9.0', ts: '2026-01-01T00:00:00.000Z', execution_id: 'E1', root_execution_id: 'E1',
    source: 'scheduler', producer_id: 'p', status: 'ok', event_type: 'loop.done', step: 'fan', step_run_id: 'E1/r/3.0', loop_id: 'E1/r/3.0',
  };
  const ref = { kind: 'result_ref', uri: 'noetl://E1/r3.0/manifest', store: 'fs', content_type: 'application/vnd.noetl.manifest+json', encoding: 'json', compression: 'none', size: 1, raw_size: 1, checksum: 'sha256:0', scope: 'execution', created_at: 't' } as ResultRef;
  const manifest: Manifest = { kind: 'manifest', uri: 'noetl://E1/r3.0/manifest', strategy: 'append', merge_path: null, total_parts: 1, total_size: 1, parts: [{ index: 0, status: 'error', inline: null }] };
  const errors = [{ index: 0, error: { kind: 'server_error' as const, code: 'HTTP_503', message: 'm', retryable: true } }];

  it('accepts a manifest (stored or inline) with errors and no result', () => {
    for (const m of [ref, manifest]) {
      const payload: EventPayloads['loop.done'] = { step_run_id: 'E1/r/3.0', loop_id: 'E1/r/3.0', stats: { total: 1, succeeded: 0, failed: 1 }, manifest_ref: m, errors };
      const e = parseEvent({ ...base, payload });
      expect(e?.event_type).toBe('loop.done');
      expect((e?.payload as EventPayloads['loop.done']).manifest_ref).toBe(m);
    }
  });
  it('stats stay required', () => {
    expect(() => parseEvent({ ...base, payload: { step_run_id: 'E1/r/3.0', loop_id: 'E1/r/3.0', manifest_ref: ref, errors } })).toThrow(/stats/);
  });
});
