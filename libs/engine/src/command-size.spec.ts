import { isResultRef, jsonByteSize, type ResultRef } from '@noetl/common';
import type { Command, NoetlEvent } from '@noetl/events';
import { StepResults, workerScope } from '@noetl/scope';
import { renderValue } from '@noetl/template';
import fc from 'fast-check';
import { fitCommand, sizeBounds, staticSize } from './command-size';
import { pendingCommands } from './commands';
import { replay } from './fold';
import { buildPlaybook, type PlaybookDef } from './testing/builder';
import { Sim, type Script } from './testing/sim';

// runtime.md T4.3: a command larger than `limits.max_event_bytes` carries `workload`/`ctx`/`steps`
// values by reference (stored through the shell's `storeValue`, as T7.20 does for ctx values).

const MAX = 30_000;
const pad = (c: string, n: number) => c.repeat(n);
const BLOB = pad('w', 40_000); // workload string, ~40 KB
const BIG_CTX = { rows: Array.from({ length: 600 }, (_, i) => ({ i, pad: pad('c', 40) })) }; // ~30 KB
/** step results: a and b ~27 KB, c ~8 KB (over the 4 KiB floor, but the reader fits before c's turn) */
const result = (tag: string) => ({ tag, rows: Array.from({ length: tag === 'c' ? 150 : 500 }, (_, i) => ({ i, pad: pad(tag, 40) })) });

/** An in-memory results store behind the `storeValue` port (the shape real stores return). */
function memoryStore() {
  const objects = new Map<string, string>();
  const calls: Array<{ executionId: string; entity: string }> = [];
  const storeValue = (loc: { executionId: string; entity: string }, value: unknown): ResultRef => {
    calls.push(loc);
    const uri = `noetl://${loc.executionId}/${loc.entity}`;
    const json = JSON.stringify(value);
    objects.set(uri, json);
    const type = Array.isArray(value) ? 'array' : value !== null && typeof value === 'object' ? 'object' : 'scalar';
    return {
      kind: 'result_ref', uri, store: 'fs', content_type: 'application/json', encoding: 'json', compression: 'none', size: json.length, raw_size: json.length,
      checksum: 'sha256:0', scope: 'execution', created_at: '2026-01-01T00:00:00.000Z', schema: { type }, preview: { bytes: 64, truncated: true, text: json.slice(0, 64) },
    };
  };
  const hydrate = (ref: ResultRef): unknown => {
    const json = objects.get(ref.uri);
    if (json === undefined) throw new Error(`nothing stored under ${ref.uri}`);
    return JSON.parse(json);
  };
  return { storeValue, hydrate, calls, objects };
}

const script: Script = (cmd) => (['a', 'b', 'c'].includes(cmd.step) ? { ok: true, result: result(cmd.step) } : { ok: true, result: { seen: cmd.step } });

function def(over: Partial<PlaybookDef> = {}): PlaybookDef {
  return {
    // ctx_value_inline_max_bytes raised so that ctx values stay inline (T7.20 is not what is tested here)
    policy: { limits: { max_event_bytes: MAX, ctx_value_inline_max_bytes: 1_000_000 } },
    workload: { blob: BLOB, small: 'inline' },
    steps: [
      { name: 'start', next: ['a'] },
      { name: 'a', next: ['b'] },
      { name: 'b', next: ['c'] },
      { name: 'c', next: ['reader'] },
      { name: 'reader', next: ['fan'] },
      { name: 'fan', loop: { in: [1, 2, 3], iterator: 'n', mode: 'parallel' } },
    ],
    ...over,
  };
}

function run(opts: { store: boolean; def?: PlaybookDef; ctx?: Record<string, unknown>; script?: Script }) {
  const mem = memoryStore();
  const pb = buildPlaybook(opts.def ?? def());
  const sim = new Sim(pb, {
    script: opts.script ?? script,
    ctx: opts.ctx ?? { big: BIG_CTX, small: 'x' },
    env: opts.store ? { hydrate: mem.hydrate, storeValue: mem.storeValue } : { hydrate: mem.hydrate },
  });
  const st = sim.run();
  const cmd = (step: string): Command => sim.commands.find((c) => c.step === step)!;
  return { sim, st, mem, cmd, pb };
}

describe('commands over max_event_bytes carry workload / ctx / steps by reference (T4.3)', () => {
  it('every published command fits; the largest values travel as ResultRefs, smaller ones inline', () => {
    const { st, sim, cmd } = run({ store: true });
    expect(st.status).toBe('completed');
    expect(sim.commands.length).toBe(8); // start, a, b, c, reader and 3 iterations
    for (const c of sim.commands) expect(jsonByteSize(c)).toBeLessThanOrEqual(MAX);

    const r = cmd('reader').context;
    // largest first: workload.blob (40 KB), ctx.big (30 KB), then step results (25 KB each) until it fits
    expect(isResultRef(r.workload.blob)).toBe(true);
    expect(r.workload.small).toBe('inline');
    expect(isResultRef(r.ctx.big)).toBe(true);
    expect(r.ctx.small).toBe('x');
    const byRef = Object.keys(r.steps).filter((n) => r.steps[n].ref);
    const inline = Object.keys(r.steps).filter((n) => r.steps[n].data !== undefined);
    expect(byRef.sort()).toEqual(['a', 'b']);
    expect(inline.sort()).toEqual(['c', 'start']); // c: the command fits before its turn; start: small
    for (const n of byRef) {
      // a by-reference view keeps everything but `data`
      expect(r.steps[n]).toMatchObject({ status: 'done', runs: 1, step_run_id: expect.stringMatching(/\/r\//), completed_at: expect.any(String) });
      expect(r.steps[n].data).toBeUndefined();
    }
  });

  it('the refs hydrate to the original values; a step view by reference reads like the inline one (StepResults)', () => {
    const { cmd, mem } = run({ store: true });
    const r = cmd('reader').context;
    expect(mem.hydrate(r.workload.blob as ResultRef)).toBe(BLOB);
    expect(mem.hydrate(r.ctx.big as ResultRef)).toEqual(BIG_CTX);
    // rendered as a worker renders task fields (workerScope + StepResults over the command's views)
    const scope = workerScope({
      globals: r.globals as never, workload: r.workload, ctx: r.ctx, args: r.args, steps: new StepResults(r.steps, mem.hydrate),
      iter: {}, stepLocals: {}, taskViews: new Map(),
    });
    const render = (t: string) => renderValue(t, scope);
    for (const n of ['a', 'b', 'c']) {
      expect(render(`{{ ${n}.tag }}`)).toBe(n);
      expect(render(`{{ ${n}.rows[149].i }}`)).toBe(149);
      expect(render(`{{ ${n}.rows | length }}`)).toBe(n === 'c' ? 150 : 500);
      expect(render(`{{ ${n}.data.tag }}`)).toBe(n); // the synthetic `data` alias of R13.4
      expect(render(`{{ steps.${n}.data.tag }}`)).toBe(n);
      expect(render(`{{ steps.${n}.status }}`)).toBe('done');
    }
  });

  it('the scheduler state is untouched: values stay inline in state, only the commands change', () => {
    const { st } = run({ store: true });
    expect(st.workload.blob).toBe(BLOB);
    expect(st.ctx.big).toEqual(BIG_CTX);
  });

  it('storeValue is called with deterministic entities, one object per value (not one per command)', () => {
    const one = run({ store: true });
    const two = run({ store: true });
    const entities = one.mem.calls.map((c) => c.entity);
    expect(two.mem.calls.map((c) => c.entity)).toEqual(entities);
    expect(new Set(entities).size).toBe(entities.length); // every value stored once for all commands
    expect(one.mem.calls.every((c) => c.executionId === one.sim.exec)).toBe(true);
    expect(entities).toContain('cmd/workload/blob');
    expect(entities.find((e) => e.startsWith('cmd/ctx/big/'))).toMatch(/^cmd\/ctx\/big\/[0-9a-f]{32}$/);
    expect(entities.filter((e) => e.startsWith('cmd/steps/')).every((e) => /^cmd\/steps\/[abc]\/r_\d+\.\d+$/.test(e))).toBe(true);
    // the entity names the run whose result it is
    const a = one.cmd('reader').context.steps.a;
    if (a.ref) expect(a.ref.uri).toBe(`noetl://${one.sim.exec}/cmd/steps/a/${a.step_run_id!.slice(one.sim.exec.length + 1).replace(/\//g, '_')}`);
  });

  it('T4.1 re-publication (pendingCommands) externalizes the same way, to the same objects', () => {
    const { sim, mem, pb } = run({ store: true });
    const reader = sim.commands.find((c) => c.step === 'reader')!;
    // the log up to the reader's step.scheduled: the reader command is pending
    const cut = sim.log.findIndex((e) => e.event_type === 'step.scheduled' && e.step === 'reader');
    const state = replay(pb, sim.log.slice(0, cut + 1) as NoetlEvent[]);
    const before = mem.calls.length;
    const [again] = pendingCommands(state, pb, { now: reader.issued_at, storeValue: mem.storeValue });
    expect(again.command_id).toBe(reader.command_id);
    expect(jsonByteSize(again)).toBeLessThanOrEqual(MAX);
    expect(again).toEqual(reader);
    // nothing new is stored: the values are the objects the original publication stored
    expect(mem.calls.length).toBe(before);
  });

  it('a fresh process (no caches of stored values) stores under the same entities', () => {
    const { sim, pb } = run({ store: true });
    const reader = sim.commands.find((c) => c.step === 'reader')!;
    const cut = sim.log.findIndex((e) => e.event_type === 'step.scheduled' && e.step === 'reader');
    // a copy of the log: new value objects, as a restarted scheduler reading the log has
    const log = JSON.parse(JSON.stringify(sim.log.slice(0, cut + 1))) as NoetlEvent[];
    const fresh = memoryStore();
    const [again] = pendingCommands(replay(pb, log), pb, { now: reader.issued_at, storeValue: fresh.storeValue });
    expect(fresh.calls.length).toBe(4); // workload.blob, ctx.big, a, b
    expect(fresh.calls.map((c) => c.entity).sort()).toEqual(
      [...Object.values(reader.context.workload), ...Object.values(reader.context.ctx), ...Object.values(reader.context.steps).map((v) => v.ref)]
        .filter(isResultRef)
        .map((r) => r.uri.slice(`noetl://${sim.exec}/`.length))
        .sort(),
    );
    expect(again).toEqual(reader);
  });

  it('loop iterations share the stored objects', () => {
    const { sim, mem } = run({ store: true });
    const its = sim.commands.filter((c) => c.step === 'fan');
    expect(its).toHaveLength(3);
    const uris = its.map((c) => (c.context.workload.blob as ResultRef).uri);
    expect(new Set(uris).size).toBe(1);
    expect(mem.calls.filter((c) => c.entity === 'cmd/workload/blob')).toHaveLength(1);
  });

  it('small commands are untouched: the very objects of the state, nothing stored', () => {
    const small: Script = (cmd) => ({ ok: true, result: { tag: cmd.step, pad: pad('s', 2000) } });
    const { sim, st, mem } = run({ store: true, def: def({ workload: { small: 'inline' } }), ctx: { small: 'x' }, script: small });
    expect(st.status).toBe('completed');
    expect(mem.calls).toEqual([]);
    for (const c of sim.commands) {
      expect(c.context.workload).toBe(st.workload);
      expect(c.context.ctx).toBe(st.ctx);
      expect(Object.values(c.context.steps).every((v) => v.ref === undefined)).toBe(true);
    }
    expect(sim.commands.find((c) => c.step === 'reader')!.context.steps.c.data).toEqual({ tag: 'c', pad: pad('s', 2000) });
  });

  it('without a storeValue port nothing changes (documented fallback): values stay inline', () => {
    const { sim, st } = run({ store: false });
    expect(st.status).toBe('completed');
    const reader = sim.commands.find((c) => c.step === 'reader')!;
    expect(reader.context.workload).toBe(st.workload);
    expect(reader.context.ctx).toBe(st.ctx);
    expect(Object.values(reader.context.steps).every((v) => v.ref === undefined)).toBe(true);
    expect(jsonByteSize(reader)).toBeGreaterThan(MAX);
  });

  it('the default limit (900,000 bytes) leaves these commands inline', () => {
    const { sim, mem } = run({ store: true, def: def({ policy: { limits: { ctx_value_inline_max_bytes: 1_000_000 } } }) });
    expect(mem.calls).toEqual([]);
    expect(sim.commands.every((c) => !isResultRef(c.context.workload.blob))).toBe(true);
  });

  it('values already by reference (T7.20 ctx refs) are left as they are; values under 4 KiB are never stored', () => {
    const base = def();
    const { sim, mem } = run({
      store: true,
      // T7.20 externalizes the 15 KB ctx.list set by `start` (ctx.patched value_ref): commands carry that ref as is
      def: def({
        policy: { limits: { max_event_bytes: MAX, ctx_value_inline_max_bytes: 10_000 } },
        steps: [{ name: 'start', set: { 'ctx.list': '{{ range(0, 3000) | list }}' }, next: ['a'] }, ...base.steps.slice(1)],
      }),
      ctx: { small: 'x', medium: pad('m', 3000) },
    });
    const reader = sim.commands.find((c) => c.step === 'reader')!;
    expect(reader.context.ctx.medium).toBe(pad('m', 3000));
    expect((reader.context.ctx.list as ResultRef).uri).toMatch(new RegExp(`^noetl://${sim.exec}/ctx/`));
    expect(mem.calls.filter((c) => c.entity.startsWith('ctx/'))).toHaveLength(1);
    expect(mem.calls.some((c) => c.entity.startsWith('cmd/ctx/'))).toBe(false);
    expect(jsonByteSize(reader)).toBeLessThanOrEqual(MAX);
  });

  it('near the limit the exact size decides: a command of exactly max bytes is untouched, one byte less externalizes the largest value', () => {
    const { sim } = run({ store: false });
    const cmd = sim.commands.find((c) => c.step === 'reader')!;
    const exact = jsonByteSize(cmd);
    const mem = memoryStore();
    expect(fitCommand(cmd, staticSize(cmd), exact, mem.storeValue)).toBe(cmd);
    expect(mem.calls).toEqual([]);
    const fitted = fitCommand(cmd, staticSize(cmd), exact - 1, mem.storeValue);
    expect(mem.calls.map((c) => c.entity)).toEqual(['cmd/workload/blob']);
    expect(jsonByteSize(fitted)).toBeLessThan(exact);
    expect(fitted.context.ctx).toBe(cmd.context.ctx);
    expect(fitted.context.steps).toBe(cmd.context.steps);
    expect(cmd.context.workload.blob).toBe(BLOB); // the input command is not mutated
  });

  it('nothing left to externalize: the command is returned as is (pipeline, args, item are not covered)', () => {
    const { sim } = run({ store: false, def: def({ workload: {} }), ctx: {} });
    const cmd = sim.commands.find((c) => c.step === 'a')!;
    const big = { ...cmd, context: { ...cmd.context, args: { blob: BLOB } } };
    const mem = memoryStore();
    expect(fitCommand(big, staticSize(big), 10_000, mem.storeValue)).toBe(big);
    expect(mem.calls).toEqual([]);
  });
});

// The size check must never skip a command that is over the limit: its bounds really bound the size.
describe('command size bounds', () => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.string({ unit: 'binary' }), // any code point, lone surrogates and control characters included
      fc.string({ unit: 'grapheme', maxLength: 300 }),
      // the worst cases of JSON escaping: control characters (6 bytes), quotes, lone surrogates, multi-byte
      fc.string({ unit: fc.constantFrom('\u0000', '\u001f', '\n', '"', '\\', '\ud800', '\udfff', 'é', '€', '😀', 'a'), maxLength: 400 }),
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('value'), { maxKeys: 4 }),
    ),
  })).value;
  const mapping = fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), json, { maxKeys: 5 });

  it('lower <= jsonByteSize(command) <= upper for arbitrary workload, ctx, args, step views and items', () => {
    const { sim } = run({ store: false, def: def({ workload: {} }), ctx: {} });
    const base = sim.commands.find((c) => c.step === 'fan')!;
    const idChars = fc.constantFrom('\u0000', '"', '\ud800', '€', '😀', 'a', '/');
    fc.assert(
      fc.property(mapping, mapping, mapping, json, json, fc.string({ unit: idChars, maxLength: 40 }), (workload, ctx, args, data, item, id) => {
        const cmd: Command = {
          ...base,
          command_id: `${base.command_id}${id}`,
          step_run_id: id,
          iteration: { ...base.iteration!, item },
          context: { ...base.context, workload, ctx, args, steps: { [id]: { status: 'done', runs: 2, data, step_run_id: id, completed_at: id } } },
        };
        const [lo, hi] = sizeBounds(cmd, staticSize(cmd));
        const exact = jsonByteSize(cmd);
        return lo <= exact && exact <= hi;
      }),
      { numRuns: 300 },
    );
  });
});
