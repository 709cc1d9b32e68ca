/**
 * One workflow step (§3): name, step spec and policy (§5.3, §7), input, loop (§10), pipeline (§4),
 * set (§9.7), output, router (§11).
 */
import { isPlainObject } from '@noetl/common';
import { LEGACY_STEP_FIELD_HINTS, RESERVED_ROOT_NAMES, isIdentifier } from './codes';
import type { NormContext, StepFacts } from './context';
import { compact, describe, newStepFacts } from './context';
import type { Arc, Loop, Router, Step } from './model';
import { normalizeAdmit, normalizeSet, rejectDirectives } from './normalize-policy';
import { normalizeTool, resultOptions } from './normalize-task';
import { pathIndex, pathKey } from './paths';
import { isTemplate } from './templates';

const STEP_KEYS = new Set(['step', 'desc', 'spec', 'input', 'loop', 'tool', 'set', 'output', 'next']);
const ARC_KEYS = new Set(['step', 'when', 'set', 'args', 'spec']);
const LEGACY_CONDITION_KEYS = new Set(['expr', 'cond', 'if', 'eval', 'case']);
const RESERVED = new Set(RESERVED_ROOT_NAMES);

export interface StepResult {
  step?: Step;
  facts: StepFacts;
}

export function normalizeStep(ctx: NormContext, raw: unknown, index: number, noNextIsError: boolean): StepResult {
  const path = pathIndex('workflow', index);
  const facts = newStepFacts(index, path);
  if (!isPlainObject(raw)) {
    ctx.report('E_FIELD_TYPE', path, `a step must be a mapping with a \`step\` name, got ${describe(raw)}`);
    return { facts };
  }
  const name = stepName(ctx, raw, path);
  if (name !== undefined) {
    facts.name = name;
    facts.namePath = pathKey(path, 'step');
  }
  const label = name ?? `workflow_${index}`;
  for (const k of Object.keys(raw)) {
    if (STEP_KEYS.has(k)) continue;
    const hint = LEGACY_STEP_FIELD_HINTS[k];
    ctx.report('E_UNKNOWN_STEP_FIELD', pathKey(path, k), hint ? `legacy step field \`${k}\` is not supported` : `unknown step field \`${k}\``, {
      atKey: true, hint: hint ?? `step fields are: ${[...STEP_KEYS].join(', ')}`,
    });
  }
  const step: Step = {
    name: label, spec: {}, failure_mode: 'fail_fast', tasks: [],
    next: { mode: 'exclusive', on_no_match: noNextIsError ? 'fail' : 'complete', arcs: [] },
    loc: ctx.sink.loc(path, raw),
  };
  if ('desc' in raw && raw.desc !== null) {
    if (typeof raw.desc === 'string') step.desc = raw.desc;
    else ctx.report('E_FIELD_TYPE', pathKey(path, 'desc'), `desc must be a string, got ${describe(raw.desc)}`);
  }
  if ('spec' in raw && raw.spec !== null) stepSpec(ctx, raw.spec, pathKey(path, 'spec'), step);
  if ('input' in raw && raw.input !== null) {
    const ip = pathKey(path, 'input');
    if (ctx.expectMap(raw.input, ip, 'step `input`')) {
      step.input = raw.input;
      ctx.templates(raw.input, ip, false);
    }
  }
  if ('loop' in raw && raw.loop !== null) step.loop = normalizeLoop(ctx, raw.loop, pathKey(path, 'loop'), facts);
  step.tasks = normalizeTool(ctx, raw.tool, 'tool' in raw, label, path, facts);
  if ('set' in raw && raw.set !== null) step.set = normalizeSet(ctx, raw.set, pathKey(path, 'set'), 'step');
  if ('output' in raw && raw.output !== null) step.output = resultOptions(ctx, raw.output, pathKey(path, 'output'));
  if ('next' in raw) step.next = normalizeNext(ctx, raw.next, pathKey(path, 'next'), step.next, facts);
  if (!('tool' in raw) && !('next' in raw)) {
    ctx.report('E_STEP_EMPTY', path, `step \`${label}\` has neither \`tool\` nor \`next\``, { hint: 'add a tool, or next: {arcs: [...]} for a routing-only step' });
  }
  return { step: compact(step), facts };
}

function stepName(ctx: NormContext, raw: Record<string, unknown>, path: string): string | undefined {
  if (!('step' in raw)) {
    ctx.report('E_STEP_NAME', path, 'step has no `step` name');
    return undefined;
  }
  const np = pathKey(path, 'step');
  const n = raw.step;
  if (typeof n !== 'string' || n.trim() === '' || n !== n.trim()) {
    ctx.report('E_STEP_NAME', np, `step name must be a non-empty string without surrounding whitespace, got ${describe(n)}`);
    return typeof n === 'string' && n.trim() !== '' ? n : undefined;
  }
  if (n === '__proto__') {
    ctx.report('E_STEP_NAME', np, '`__proto__` cannot name a step');
    return undefined;
  }
  if (RESERVED.has(n)) {
    ctx.report('E_RESERVED_STEP_NAME', np, `\`${n}\` is a reserved root name and cannot name a step`, { hint: `rename the step, e.g. ${n}_step` });
  }
  return n;
}

function stepSpec(ctx: NormContext, raw: unknown, path: string, step: Step): void {
  if (!ctx.expectMap(raw, path, 'step `spec`')) return;
  for (const [k, v] of Object.entries(raw)) {
    const kp = pathKey(path, k);
    if (k === 'next_mode') {
      ctx.report('E_LEGACY_NEXT_MODE', kp, '`spec.next_mode` is not supported', { atKey: true, hint: 'set next.spec.mode: exclusive | inclusive' });
      continue;
    }
    if (k === 'policy') {
      stepPolicy(ctx, v, kp, step);
      continue;
    }
    step.spec[k] = v;
    ctx.templates(v, kp, false);
  }
}

function stepPolicy(ctx: NormContext, raw: unknown, path: string, step: Step): void {
  if (!ctx.expectMap(raw, path, 'step policy', 'E_POLICY_SHAPE')) return;
  rejectDirectives(ctx, raw, path, 'a step policy');
  for (const [k, v] of Object.entries(raw)) {
    const kp = pathKey(path, k);
    if (k === 'admit') {
      step.admit = normalizeAdmit(ctx, v, kp);
    } else if (k === 'lifecycle') {
      if (!ctx.expectMap(v, kp, 'lifecycle')) continue;
      for (const lk of Object.keys(v)) {
        if (lk !== 'timeout_s') ctx.report('W_UNKNOWN_FIELD', pathKey(kp, lk), `unknown lifecycle field \`${lk}\` ignored`, { atKey: true });
      }
      if ('timeout_s' in v) {
        const t = v.timeout_s;
        if (typeof t === 'number' && t > 0) step.timeout_s = t;
        else ctx.report('E_FIELD_VALUE', pathKey(kp, 'timeout_s'), `timeout_s must be a positive number of seconds, got ${describe(t)}`);
      }
    } else if (k === 'failure') {
      if (!ctx.expectMap(v, kp, 'failure')) continue;
      for (const fk of Object.keys(v)) {
        if (fk !== 'mode') ctx.report('W_UNKNOWN_FIELD', pathKey(kp, fk), `unknown failure field \`${fk}\` ignored`, { atKey: true });
      }
      if ('mode' in v) {
        if (v.mode === 'fail_fast' || v.mode === 'best_effort') step.failure_mode = v.mode;
        else ctx.report('E_FIELD_VALUE', pathKey(kp, 'mode'), `failure.mode must be fail_fast | best_effort, got ${describe(v.mode)}`);
      }
    } else if (k === 'rules') {
      ctx.report('E_POLICY_SHAPE', kp, 'a step policy has no rules: task policies live in the task spec', {
        atKey: true, hint: 'move the rules to tool[...].spec.policy.rules, or use admit.rules for admission',
      });
    } else if (k !== 'do') {
      ctx.report('W_UNKNOWN_FIELD', kp, `unknown step policy field \`${k}\` ignored (allowed: admit, lifecycle, failure)`, { atKey: true });
    }
  }
}

const LOOP_KEYS = new Set(['in', 'cursor', 'iterator', 'spec']);

function normalizeLoop(ctx: NormContext, raw: unknown, path: string, facts: StepFacts): Loop | undefined {
  if (!ctx.expectMap(raw, path, '`loop`')) return undefined;
  for (const k of Object.keys(raw)) {
    if (LOOP_KEYS.has(k)) continue;
    const underSpec = k === 'mode' || k === 'max_in_flight' || k === 'iteration_timeout_s';
    ctx.report('E_UNKNOWN_FIELD', pathKey(path, k), `unknown loop field \`${k}\``, {
      atKey: true, hint: underSpec ? `move it under loop.spec: {${k}: ...}` : 'loop fields are: in, cursor, iterator, spec',
    });
  }
  const loop: Loop = { iterator: '', mode: 'sequential', spec: {}, exec: 'distributed' };
  if (!('iterator' in raw)) {
    ctx.report('E_LOOP_ITERATOR', path, 'loop needs `iterator: <name>`', { atKey: true });
  } else if (!isIdentifier(raw.iterator)) {
    ctx.report('E_LOOP_ITERATOR', pathKey(path, 'iterator'), `loop iterator must be an identifier, got ${describe(raw.iterator)}`);
  } else {
    loop.iterator = raw.iterator;
  }
  let modeWritten = false;
  if ('spec' in raw && raw.spec !== null && ctx.expectMap(raw.spec, pathKey(path, 'spec'), 'loop `spec`')) {
    const sp = pathKey(path, 'spec');
    for (const [k, v] of Object.entries(raw.spec)) {
      const kp = pathKey(sp, k);
      if (k === 'mode') {
        modeWritten = true;
        if (v === 'sequential' || v === 'parallel' || v === 'cursor') loop.mode = v;
        else ctx.report('E_FIELD_VALUE', kp, `loop mode must be sequential | parallel | cursor, got ${describe(v)}`);
      } else if (k === 'max_in_flight') {
        if (typeof v === 'number' && Number.isInteger(v) && v >= 1) loop.max_in_flight = v;
        else if (typeof v === 'string' && isTemplate(v)) {
          loop.max_in_flight = v;
          ctx.templates(v, kp, true);
        } else ctx.report('E_FIELD_VALUE', kp, `max_in_flight must be an integer >= 1 or a template, got ${describe(v)}`);
      } else if (k === 'iteration_timeout_s') {
        if (typeof v === 'number' && Number.isFinite(v) && v > 0) loop.iteration_timeout_s = v;
        else ctx.report('E_FIELD_VALUE', kp, `iteration_timeout_s must be a positive number of seconds, got ${describe(v)}`);
      } else if (k === 'policy') {
        loopPolicy(ctx, v, kp, loop);
      } else {
        loop.spec[k] = v;
        ctx.templates(v, kp, false);
      }
    }
  }
  const hasIn = 'in' in raw;
  const hasCursor = 'cursor' in raw;
  if (hasIn === hasCursor) {
    ctx.report('E_LOOP_SOURCE', hasIn ? pathKey(path, 'cursor') : path,
      hasIn ? 'loop has both `in` and `cursor`; give exactly one' : 'loop needs a source: `in: <list or template>`', { atKey: true });
  }
  if (hasIn) {
    const ip = pathKey(path, 'in');
    const v = raw.in;
    if (v === null || typeof v === 'number' || typeof v === 'boolean') {
      ctx.report('E_LOOP_SOURCE', ip, `loop.in must be a list, a mapping or a template, got ${describe(v)}`);
    } else {
      loop.in = v;
      ctx.templates(v, ip, true);
    }
  }
  if (hasCursor) {
    loop.cursor = isPlainObject(raw.cursor) ? raw.cursor : {};
    if (loop.mode !== 'cursor') {
      ctx.report('E_LOOP_SOURCE', pathKey(path, 'cursor'), '`cursor` requires loop.spec.mode: cursor', { atKey: true });
    }
  } else if (loop.mode === 'cursor' && !hasCursor) {
    ctx.report('E_LOOP_SOURCE', pathKey(pathKey(path, 'spec'), 'mode'), 'mode cursor requires a `cursor` source');
  }
  if (loop.mode === 'cursor' || hasCursor) {
    const at = modeWritten && loop.mode === 'cursor' ? pathKey(pathKey(path, 'spec'), 'mode') : pathKey(path, 'cursor');
    ctx.report('E_UNSUPPORTED_PROFILE', at, 'cursor loops (optional profile "cursor") are not supported by this engine', {
      atKey: !(modeWritten && loop.mode === 'cursor'), hint: 'claim rows in a step that feeds a loop over `in`, or use a sequential loop',
    });
  }
  facts.parallel = loop.mode === 'parallel' || loop.mode === 'cursor';
  facts.ctxMerge = loop.ctx_merge === 'last_write_wins';
  return compact(loop);
}

function loopPolicy(ctx: NormContext, raw: unknown, path: string, loop: Loop): void {
  if (!ctx.expectMap(raw, path, 'loop policy', 'E_POLICY_SHAPE')) return;
  rejectDirectives(ctx, raw, path, 'a loop policy');
  for (const [k, v] of Object.entries(raw)) {
    const kp = pathKey(path, k);
    if (k === 'exec') {
      if (v === 'distributed' || v === 'local') loop.exec = v;
      else ctx.report('E_FIELD_VALUE', kp, `exec must be distributed | local, got ${describe(v)}`);
    } else if (k === 'ctx_merge') {
      if (v === 'last_write_wins') loop.ctx_merge = v;
      else ctx.report('E_FIELD_VALUE', kp, `ctx_merge must be last_write_wins, got ${describe(v)}`);
    } else if (k !== 'do') {
      ctx.report('W_UNKNOWN_FIELD', kp, `unknown loop policy field \`${k}\` ignored (allowed: exec, ctx_merge)`, { atKey: true });
    }
  }
}

function normalizeNext(ctx: NormContext, raw: unknown, path: string, router: Router, facts: StepFacts): Router {
  if (typeof raw === 'string' || Array.isArray(raw)) {
    if (!ctx.opts.compat) {
      ctx.report('E_NEXT_SHAPE', path, `next must be a mapping {spec?, arcs: [...]}, got ${describe(raw)}`, {
        atKey: true,
        hint: 'write next: {arcs: [{step: <name>, when: ...}]} (legacy forms load only in compatibility mode)',
      });
      return router;
    }
    ctx.report('W_LEGACY_NEXT', path, 'legacy next form normalized to {spec, arcs}', { atKey: true });
    const items = typeof raw === 'string' ? [raw] : raw;
    const inclusive = Array.isArray(raw) && raw.every((x) => typeof x === 'string');
    return { ...router, mode: inclusive && raw.length > 1 ? 'inclusive' : 'exclusive', arcs: arcsOf(ctx, items, path, facts, true, typeof raw === 'string') };
  }
  if (!isPlainObject(raw)) {
    ctx.report('E_NEXT_SHAPE', path, `next must be a mapping {spec?, arcs: [...]}, got ${describe(raw)}`, { atKey: true });
    return router;
  }
  for (const k of Object.keys(raw)) {
    if (k !== 'spec' && k !== 'arcs') ctx.report('E_NEXT_SHAPE', pathKey(path, k), `unknown next field \`${k}\` (next is {spec, arcs})`, { atKey: true });
  }
  const out: Router = { ...router };
  if ('spec' in raw && raw.spec !== null) {
    const sp = pathKey(path, 'spec');
    if (ctx.expectMap(raw.spec, sp, 'next `spec`', 'E_NEXT_SHAPE')) {
      for (const [k, v] of Object.entries(raw.spec)) {
        const kp = pathKey(sp, k);
        if (k === 'mode') {
          if (v === 'exclusive' || v === 'inclusive') out.mode = v;
          else ctx.report('E_NEXT_SHAPE', kp, `next mode must be exclusive | inclusive, got ${describe(v)}`);
        } else if (k === 'on_no_match') {
          if (v === 'complete' || v === 'quiet' || v === 'fail') out.on_no_match = v;
          else ctx.report('E_NEXT_SHAPE', kp, `on_no_match must be complete | quiet | fail, got ${describe(v)}`);
        } else if (k === 'policy') {
          rejectDirectives(ctx, v, kp, 'a next policy');
        } else {
          ctx.report('W_UNKNOWN_FIELD', kp, `unknown next.spec field \`${k}\` ignored (allowed: mode, on_no_match)`, { atKey: true });
        }
      }
    }
  }
  const ap = pathKey(path, 'arcs');
  if (!('arcs' in raw)) {
    ctx.report('E_NEXT_SHAPE', path, 'next needs an `arcs` list', { atKey: true });
  } else if (!Array.isArray(raw.arcs)) {
    ctx.report('E_NEXT_SHAPE', ap, `next.arcs must be a list, got ${describe(raw.arcs)}`);
  } else {
    out.arcs = arcsOf(ctx, raw.arcs, ap, facts, false);
  }
  return out;
}

function arcsOf(ctx: NormContext, items: unknown[], path: string, facts: StepFacts, legacy: boolean, single = false): Arc[] {
  const arcs: Arc[] = [];
  items.forEach((item, i) => {
    const p = single ? path : pathIndex(path, i);
    if (typeof item === 'string' && legacy) {
      facts.arcs.push({ target: item, path: p });
      arcs.push({ index: arcs.length, step: item, failure_aware: false, target_defined: false, back_edge: false, loc: ctx.sink.loc(p) });
      return;
    }
    if (!isPlainObject(item)) {
      ctx.report('E_NEXT_SHAPE', p, `an arc must be a mapping {step, when?, set?, args?}, got ${describe(item)}`);
      return;
    }
    const arc = normalizeArc(ctx, item, p, arcs.length, facts);
    if (arc) arcs.push(arc);
  });
  return arcs;
}

function normalizeArc(ctx: NormContext, raw: Record<string, unknown>, path: string, index: number, facts: StepFacts): Arc | undefined {
  for (const k of Object.keys(raw)) {
    if (ARC_KEYS.has(k)) continue;
    if (LEGACY_CONDITION_KEYS.has(k)) {
      ctx.report('E_LEGACY_CONDITION', pathKey(path, k), `\`${k}\` is not a condition keyword`, { atKey: true, hint: 'use when: "{{ ... }}"' });
    } else {
      ctx.report('E_NEXT_SHAPE', pathKey(path, k), `unknown arc field \`${k}\` (arcs are {step, when, set, args})`, { atKey: true });
    }
  }
  if (typeof raw.step !== 'string' || raw.step === '') {
    ctx.report('E_NEXT_SHAPE', 'step' in raw ? pathKey(path, 'step') : path, `an arc needs \`step: <target step>\`, got ${describe(raw.step)}`);
    return undefined;
  }
  facts.arcs.push({ target: raw.step, path: pathKey(path, 'step') });
  const arc: Arc = { index, step: raw.step, failure_aware: false, target_defined: false, back_edge: false, loc: ctx.sink.loc(path, raw) };
  if ('when' in raw) {
    const wp = pathKey(path, 'when');
    const w = raw.when;
    if (typeof w === 'boolean') {
      arc.when = w;
    } else if (typeof w === 'string') {
      const rewritten = rewriteLegacyEvents(w);
      if (rewritten !== w) {
        ctx.report('W_LEGACY_EVENT_NAME', wp, "'call.done' / 'call.error' rewritten to 'step.done' / 'step.failed'", {
          hint: "write event.name == 'step.done' (or 'step.failed', 'loop.done')",
        });
      }
      arc.when = rewritten;
      ctx.condition(rewritten, wp);
    } else {
      ctx.report('E_NEXT_SHAPE', wp, `arc when must be a boolean or a string, got ${describe(w)}`);
    }
  }
  if ('set' in raw && raw.set !== null) arc.set = normalizeSet(ctx, raw.set, pathKey(path, 'set'), 'arc');
  if ('args' in raw && raw.args !== null) {
    const ap = pathKey(path, 'args');
    if (ctx.expectMap(raw.args, ap, 'arc `args`', 'E_NEXT_SHAPE')) {
      arc.args = raw.args;
      ctx.templates(raw.args, ap, true);
    }
  }
  if (isPlainObject(raw.spec) && 'policy' in raw.spec) rejectDirectives(ctx, raw.spec.policy, pathKey(pathKey(path, 'spec'), 'policy'), 'an arc policy');
  return compact(arc);
}

/** R11.13: 'call.done' / 'call.error' (either quote style) -> 'step.done' / 'step.failed'. */
export function rewriteLegacyEvents(s: string): string {
  if (!s.includes('call.')) return s;
  return s.replace(/(['"])call\.(done|error)\1/g, (_m, q: string, what: string) => `${q}step.${what === 'done' ? 'done' : 'failed'}${q}`);
}
