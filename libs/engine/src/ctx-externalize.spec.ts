import type { ResultRef } from '@noetl/common';
import type { NoetlEvent } from '@noetl/events';
import { replay } from './fold';
import { buildPlaybook } from './testing/builder';
import { Sim, plain } from './testing/sim';

// runtime.md T7.20 / dsl R9.4: ctx values whose serialization exceeds
// `ctx_value_inline_max_bytes` travel as `value_ref` in ctx.patched and are hydrated on read.
function run(opts: { store: boolean; limit?: number }) {
  const objects = new Map<string, unknown>();
  const stored: Array<{ executionId: string; entity: string }> = [];
  const pb = buildPlaybook({
    ...(opts.limit !== undefined ? { policy: { limits: { ctx_value_inline_max_bytes: opts.limit } } } : {}),
    steps: [
      { name: 'start', set: { 'ctx.big': "{{ range(0, 3000) | list }}", 'ctx.small': 'x' }, next: ['check'] },
      { name: 'check', set: { 'ctx.n': '{{ ctx.big | length }}', 'ctx.last': '{{ ctx.big[-1] }}' }, next: [{ step: 'end', when: '{{ big | length == 3000 }}' }] },
      { name: 'end' },
    ],
  });
  const sim = new Sim(pb, {
    env: {
      hydrate: (ref: ResultRef) => objects.get(ref.uri),
      ...(opts.store
        ? {
            storeValue: (loc: { executionId: string; entity: string }, value: unknown): ResultRef => {
              stored.push(loc);
              const uri = `noetl://${loc.executionId}/${loc.entity}`;
              objects.set(uri, JSON.parse(JSON.stringify(value)));
              return { kind: 'result_ref', uri, store: 'fs', content_type: 'application/json', encoding: 'json', compression: 'none', size: 1, raw_size: 1, checksum: 'sha256:0', scope: 'execution', created_at: 't', schema: { type: Array.isArray(value) ? 'array' : 'object' } } as ResultRef; // schema hint as real stores write it
            },
          }
        : {}),
    },
  });
  sim.start();
  const st = sim.run();
  const patches = sim.events('ctx.patched') as Array<NoetlEvent & { payload: { ops: Array<{ path: string[]; value?: unknown; value_ref?: ResultRef }> } }>;
  return { st, sim, stored, patches };
}

describe('large ctx values are externalized (T7.20)', () => {
  it('a value over the limit is stored and travels as value_ref; small values stay inline; reads hydrate', () => {
    const { st, stored, patches } = run({ store: true, limit: 1024 });
    expect(st.status).toBe('completed');
    const first = patches[0].payload.ops;
    expect(first.find((o) => o.path[0] === 'big')?.value_ref?.uri).toMatch(/^noetl:\/\/01JTESTEXEC0000000000000000\/ctx\//);
    expect(first.find((o) => o.path[0] === 'big')?.value).toBeUndefined();
    expect(first.find((o) => o.path[0] === 'small')?.value).toBe('x');
    expect(stored).toHaveLength(1);
    // step set (ctx.big | length), indexing, and an arc's bare-name read all hydrate the ref
    expect(st.ctx.n).toBe(3000);
    expect(st.ctx.last).toBe(2999);
  });

  it('the default limit is 64 KiB: a 15 KB value stays inline', () => {
    const { stored, patches } = run({ store: true });
    expect(stored).toHaveLength(0);
    expect((patches[0].payload.ops[0].value as unknown[]).length).toBe(3000);
  });

  it('without a storeValue port values stay inline (documented fallback)', () => {
    const { st, patches } = run({ store: false, limit: 1024 });
    expect(st.status).toBe('completed');
    expect(patches[0].payload.ops[0].value_ref).toBeUndefined();
  });

  it('replay of the log rebuilds the live state without storing anything again', () => {
    const { sim, stored } = run({ store: true, limit: 1024 });
    expect(stored).toHaveLength(1);
    expect(plain(replay(sim.playbook, sim.log))).toEqual(plain(sim.state));
  });
});
