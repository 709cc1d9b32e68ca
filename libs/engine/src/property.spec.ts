import fc from 'fast-check';
import { makeError } from '@noetl/common';
import type { NoetlEvent } from '@noetl/events';
import { isTerminal, processEvent, replay, summarize } from '@noetl/engine';
import { buildPlaybook, type ArcDef, type StepDef } from './testing/builder';
import { hydrateNone, Sim, type Script } from './testing/sim';

// ------------------------------------------------------------------ generator
interface ArcGen {
  target: number;
  cond: 'none' | 'false' | 'ctx' | 'failure' | 'failure_kind';
  set: boolean;
  args: boolean;
}
interface StepGen {
  loop: null | { size: number; parallel: boolean; mif: number; lww: boolean; best: boolean; fromWorkload: boolean };
  admit: null | { allow: boolean; onOdd: boolean };
  mode: 'exclusive' | 'inclusive';
  arcs: ArcGen[];
  /** arm a step deadline */
  ctxWrite: boolean;
}

const K = 2; // max back-arc firings per source step

const stepGen = (n: number, i: number): fc.Arbitrary<StepGen> =>
  fc.record({
    loop: fc.oneof(
      { arbitrary: fc.constant(null), weight: 3 },
      { arbitrary: fc.record({ size: fc.integer({ min: 0, max: 5 }), parallel: fc.boolean(), mif: fc.integer({ min: 1, max: 4 }), lww: fc.boolean(), best: fc.boolean(), fromWorkload: fc.boolean() }), weight: 1 },
    ),
    admit: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: fc.record({ allow: fc.boolean(), onOdd: fc.boolean() }), weight: 1 }),
    mode: fc.constantFrom('exclusive' as const, 'inclusive' as const, 'inclusive' as const, 'inclusive' as const),
    arcs: fc.array(
      fc.record({
        // mostly forward (towards joins), sometimes backward/self (guarded cycles) or the `end` sentinel (n)
        target: i + 1 < n ? fc.oneof({ arbitrary: fc.integer({ min: i + 1, max: n - 1 }), weight: 6 }, { arbitrary: fc.integer({ min: 0, max: n }), weight: 2 }) : fc.integer({ min: 0, max: n }),
        cond: fc.constantFrom('none' as const, 'none' as const, 'none' as const, 'none' as const, 'false' as const, 'ctx' as const, 'failure' as const, 'failure_kind' as const),
        set: fc.boolean(),
        args: fc.boolean(),
      }),
      { minLength: i + 1 < n ? 1 : 0, maxLength: 3 },
    ),
    ctxWrite: fc.boolean(),
  });

const playbookGen = fc.integer({ min: 1, max: 8 }).chain((n) =>
  fc.record({
    steps: fc.tuple(...Array.from({ length: n }, (_, i) => stepGen(n, i))),
    noMatchFail: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    onUnhandledCancel: fc.boolean(),
  }),
);

/** Layered DAGs (every step fans out inclusively to the next layer): many joins and merges. */
const layeredGen = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 4 }).chain((widths) => {
  const starts: number[] = [];
  let total = 1; // `start` fans out to layer 0
  for (const w of widths) {
    starts.push(total);
    total += w;
  }
  const n = total;
  const gens: Array<fc.Arbitrary<StepGen>> = [];
  const layerOf = (i: number) => starts.findIndex((s0, L) => i >= s0 && i < s0 + widths[L]);
  for (let i = 0; i < n; i++) {
    const L = i === 0 ? -1 : layerOf(i);
    const next = L + 1 < widths.length ? Array.from({ length: widths[L + 1] }, (_, k) => starts[L + 1] + k) : [];
    const targets = next.length > 0 ? fc.oneof(fc.constant(next), fc.subarray(next, { minLength: 1 })) : fc.constant([] as number[]);
    gens.push(
      fc.record({
        loop: fc.oneof({ arbitrary: fc.constant(null), weight: 5 }, { arbitrary: fc.record({ size: fc.integer({ min: 0, max: 4 }), parallel: fc.boolean(), mif: fc.integer({ min: 1, max: 3 }), lww: fc.boolean(), best: fc.boolean(), fromWorkload: fc.boolean() }), weight: 1 }),
        admit: fc.oneof({ arbitrary: fc.constant(null), weight: 8 }, { arbitrary: fc.record({ allow: fc.boolean(), onOdd: fc.boolean() }), weight: 1 }),
        mode: fc.constantFrom('inclusive' as const, 'inclusive' as const, 'exclusive' as const),
        arcs: fc.tuple(targets, fc.integer({ min: 0, max: 5 }).map((x) => x === 0), fc.constantFrom('none' as const, 'none' as const, 'ctx' as const, 'failure' as const)).map(([ts, back, cond]) => {
          const arcs: ArcGen[] = ts.map((t) => ({ target: t, cond, set: t % 2 === 0, args: true }));
          if (back && next.length === 0) arcs.push({ target: 0, cond: 'none', set: false, args: false }); // guarded back-edge to start
          return arcs;
        }),
        ctxWrite: fc.boolean(),
      }),
    );
  }
  return fc.record({ steps: fc.tuple(...gens), noMatchFail: fc.constant(Array.from({ length: n }, () => false)), onUnhandledCancel: fc.boolean() });
});

function toPlaybook(g: { steps: StepGen[]; noMatchFail: boolean[]; onUnhandledCancel: boolean }) {
  const n = g.steps.length;
  const name = (i: number) => (i >= n ? 'end' : i === 0 ? 'start' : `s${i}`);
  const steps: StepDef[] = g.steps.map((s, i) => {
    const me = name(i);
    const arcs: ArcDef[] = s.arcs.map((a, ai) => {
      const failure = a.cond === 'failure' || a.cond === 'failure_kind';
      let target = a.target;
      // failure arcs only go forward (a failed run does not advance its guard counter)
      if (failure && target <= i) target = n;
      const back = target <= i;
      const parts: string[] = [];
      if (a.cond === 'false') parts.push('false');
      if (a.cond === 'ctx') parts.push(`(ctx.c_${me} | default(0)) is odd`);
      if (a.cond === 'failure') parts.push("event.name == 'step.failed'");
      if (a.cond === 'failure_kind') parts.push("event.status == 'error' and event.error.kind != 'nope'");
      if (back) parts.push(`(ctx.c_${me} | default(0)) < ${K}`);
      const arc: ArcDef = { step: name(target) };
      if (parts.length > 0) arc.when = `{{ ${parts.join(' and ')} }}`;
      if (a.set) arc.set = { [`ctx.arc_${me}_${ai}`]: `{{ (ctx.arc_${me}_${ai} | default(0)) + 1 }}` };
      if (a.args) arc.args = { from: me, n: `{{ ctx.c_${me} | default(0) }}` };
      return arc;
    });
    const def: StepDef = {
      name: me,
      set: { [`ctx.c_${me}`]: `{{ (ctx.c_${me} | default(0)) + 1 }}` },
      next: { mode: s.mode, on_no_match: g.noMatchFail[i] && arcs.length > 0 && i % 3 === 2 ? 'fail' : 'complete', arcs },
      result: { step: me, args: '{{ args }}' },
    };
    if (s.ctxWrite) def.timeout_s = 30; // a step deadline (timer armed, cleared, or fired by the timer property)
    if (s.admit) def.admit = [{ when: `{{ (ctx.c_${me} | default(0)) is ${s.admit.onOdd ? 'odd' : 'even'} }}`, allow: s.admit.allow }];
    if (s.loop) {
      const items = Array.from({ length: s.loop.size }, (_, k) => k);
      def.loop = {
        in: s.loop.fromWorkload ? `{{ workload.items_${i} }}` : items,
        iterator: 'it',
        mode: s.loop.parallel ? 'parallel' : 'sequential',
        ...(s.loop.parallel ? { max_in_flight: s.loop.mif } : {}),
        ...(s.loop.parallel && s.loop.lww ? { ctx_merge: 'last_write_wins' as const } : {}),
      };
      def.failure_mode = s.loop.best ? 'best_effort' : 'fail_fast';
      def.result = { it: '{{ iter.it }}' };
    }
    return def;
  });
  const workload: Record<string, unknown> = {};
  g.steps.forEach((s, i) => {
    if (s.loop) workload[`items_${i}`] = Array.from({ length: s.loop.size }, (_, k) => k);
  });
  return buildPlaybook({
    workload,
    steps,
    policy: { limits: { max_step_runs: 300 }, ...(g.onUnhandledCancel ? { failure: { on_unhandled: 'cancel' } } : {}) },
  });
}

function hash(s: string, seed: number): number {
  let h = seed ^ 0x9e3779b9;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return ((h >>> 0) % 10_000) / 10_000;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/** Random but deterministic tool outcomes (per command and delivery) and worker ctx writes. */
const outcomes = (seed: number, failRate: number, pbSteps: StepDef[]): Script => {
  const deliveries = new Map<string, number>();
  return (cmd, render) => {
    const d = (deliveries.get(cmd.command_id) ?? 0) + 1;
    deliveries.set(cmd.command_id, d);
    const r = hash(`${cmd.command_id}#${d}`, seed);
    const def = pbSteps.find((s) => s.name === cmd.step)!;
    const loop = def.loop;
    const writes = !loop || loop.mode === 'sequential' || loop.ctx_merge === 'last_write_wins';
    const ctx_patch = writes && r < 0.5 ? [{ path: [`w_${cmd.step}`], value: (cmd.context.ctx[`w_${cmd.step}`] as number | undefined ?? 0) + 1 }] : [];
    if (r < failRate) return { ok: false, error: makeError('server_error', 'HTTP_503', 'boom'), ctx_patch, partial_result: null };
    return { ok: true, result: render(cmd.pipeline[0].fields.result), ctx_patch };
  };
};

// ------------------------------------------------------------------ invariants
type Ev = NoetlEvent & { payload: Record<string, unknown>; seq: number };
const TERMINALS = new Set(['step.done', 'loop.done', 'step.failed', 'step.cancelled']);
const IT_TERMINALS = new Set(['loop.iteration.done', 'loop.iteration.failed', 'loop.iteration.cancelled']);

function checkInvariants(sim: Sim): void {
  const log = sim.log as Ev[];
  const st = sim.state;
  // the execution always terminates
  expect(isTerminal(st)).toBe(true);
  // replay(log) deep-equals the live state
  expect(JSON.parse(JSON.stringify(replay(sim.playbook, log)))).toEqual(JSON.parse(JSON.stringify(st)));
  // scheduler event ids are unique
  const schedIds = log.filter((e) => e.source === 'scheduler').map((e) => e.event_id);
  expect(new Set(schedIds).size).toBe(schedIds.length);
  // every step.scheduled has exactly one counted terminal; runs == step.scheduled per step
  const scheduled = log.filter((e) => e.event_type === 'step.scheduled');
  const counted = new Map<string, string>();
  const live = new Set(scheduled.map((e) => e.payload.step_run_id as string));
  const boundaries = new Map<string, number>();
  let done = false;
  for (const e of log) {
    if (e.event_type === 'execution.completed' || e.event_type === 'execution.failed' || e.event_type === 'execution.cancelled') done = true;
    if (done) continue;
    if (e.event_type === 'step.scheduled') live.add(e.payload.step_run_id as string);
    if (TERMINALS.has(e.event_type) && e.step_run_id && live.has(e.step_run_id) && !counted.has(e.step_run_id)) counted.set(e.step_run_id, e.event_type);
    if (e.event_type === 'next.evaluated') boundaries.set(e.payload.step_run_id as string, (boundaries.get(e.payload.step_run_id as string) ?? 0) + 1);
  }
  for (const s of scheduled) expect(counted.has(s.payload.step_run_id as string)).toBe(true);
  for (const [, c] of boundaries) expect(c).toBe(1);
  for (const [id] of boundaries) expect(counted.get(id)).not.toBe('step.cancelled');
  const sum = summarize(st, hydrateNone);
  const perStep = new Map<string, number>();
  for (const s of scheduled) perStep.set(s.step!, (perStep.get(s.step!) ?? 0) + 1);
  for (const [step, n] of perStep) expect(sum.steps[step].runs).toBe(n);
  // in-flight iterations never exceed max_in_flight (1 for sequential)
  const limit = new Map<string, number>();
  const inflight = new Map<string, Set<number>>();
  for (const e of log) {
    if (e.event_type === 'loop.started') {
      limit.set(e.payload.step_run_id as string, e.payload.mode === 'sequential' ? 1 : (e.payload.max_in_flight as number));
      inflight.set(e.payload.step_run_id as string, new Set());
    }
    const set = e.step_run_id ? inflight.get(e.step_run_id) : undefined;
    if (!set) continue;
    if (e.event_type === 'loop.iteration.scheduled') {
      set.add(e.payload.index as number);
      expect(set.size).toBeLessThanOrEqual(limit.get(e.step_run_id!)!);
    }
    if (IT_TERMINALS.has(e.event_type)) set.delete(e.payload.index as number);
    if (TERMINALS.has(e.event_type)) inflight.delete(e.step_run_id!);
  }
  // every token is consumed or discarded exactly once
  const tokens = log.filter((e) => e.event_type === 'token.created').map((e) => e.payload.token_id as string);
  const fate = new Map<string, number>();
  const mark = (ids: unknown) => {
    for (const id of (ids as string[] | undefined) ?? []) fate.set(id, (fate.get(id) ?? 0) + 1);
  };
  for (const e of log) {
    if (e.event_type === 'step.scheduled' || e.event_type === 'step.skipped') mark(e.payload.token_ids);
    if (e.event_type === 'x.execution.failing') mark(e.payload.discarded_tokens);
  }
  const cancelled = log.find((e) => e.event_type === 'execution.cancelled');
  if (cancelled) mark((cancelled.payload.discarded_tokens as string[]).filter((t) => !log.some((e) => e.event_type === 'x.execution.failing' && (e.payload.discarded_tokens as string[]).includes(t))));
  for (const t of tokens) expect(fate.get(t)).toBe(1);
  // determinism: re-processing a traced input from the same state gives the same output
  if (sim.trace.length > 0) {
    for (const k of [0, Math.floor(sim.trace.length / 2), sim.trace.length - 1]) {
      const t = sim.trace[k];
      const again = processEvent(t.before, sim.playbook, t.input, t.env);
      expect(JSON.stringify(again)).toBe(JSON.stringify(t.result));
    }
  }
}

export const __forStats = { playbookGen, layeredGen, toPlaybook, outcomes, lcg };

describe('property: live state == replay(log), invariants hold (fast-check)', () => {
  it('random playbooks, tool outcomes and interleavings', () => {
    fc.assert(
      fc.property(fc.oneof(playbookGen, layeredGen), fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 0, max: 40 }), fc.boolean(), (g, seed, failPct, chaos) => {
        const pb = toPlaybook(g);
        const defs = pb.steps.map((s) => ({ name: s.name, loop: s.loop ? { in: s.loop.in, mode: s.loop.mode, ctx_merge: s.loop.ctx_merge } : undefined })) as StepDef[];
        const sim = new Sim(pb, {
          script: outcomes(seed, failPct / 100, defs),
          random: lcg(seed),
          trace: true,
          freezeInputs: true,
          ...(chaos ? { chaos: { redeliver: 0.2, duplicate: 0.1 } } : {}),
        });
        sim.run();
        checkInvariants(sim);
      }),
      { numRuns: Number(process.env.ENGINE_FC_RUNS ?? 300) },
    );
  });

  it('with cancellation and timers injected at random points', () => {
    fc.assert(
      fc.property(fc.oneof(playbookGen, layeredGen), fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 0, max: 60 }), (g, seed, cancelAt) => {
        const pb = toPlaybook(g);
        const defs = pb.steps.map((s) => ({ name: s.name, loop: s.loop ? { in: s.loop.in, mode: s.loop.mode, ctx_merge: s.loop.ctx_merge } : undefined })) as StepDef[];
        const sim = new Sim(pb, { script: outcomes(seed, 0.15, defs), random: lcg(seed), ignoreControls: seed % 2 === 0 });
        sim.start();
        let k = 0;
        while (!isTerminal(sim.state) && sim.step()) {
          if (++k === cancelAt) {
            if (seed % 3 === 0) sim.fireNextTimer(); // a deadline expires mid-run
            else sim.cancel();
          }
        }
        while (!isTerminal(sim.state) && sim.fireNextTimer()) {
          while (!isTerminal(sim.state) && sim.step());
        }
        checkInvariants(sim);
      }),
      { numRuns: Math.ceil(Number(process.env.ENGINE_FC_RUNS ?? 300) / 2) },
    );
  });
});
