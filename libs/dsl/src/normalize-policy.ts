/**
 * `set` blocks (§9.6, R9.13), task policies (§8) and admission policies (§7).
 */
import { isPlainObject } from '@noetl/common';
import type { NormContext, StepFacts } from './context';
import { compact, describe } from './context';
import type { AdmitPolicy, AdmitRule, Directive, PolicyRule, PolicyThen, SetBlock, SetEntry, TaskPolicy } from './model';
import { pathIndex, pathKey } from './paths';
import { isTemplate } from './templates';

const READONLY_SCOPES = new Set(['workload', 'keychain', 'args', 'input', 'output', 'outcome', 'event']);
const LEGACY_CONDITION_KEYS = new Set(['expr', 'cond', 'if', 'eval', 'case']);
const DIRECTIVES: readonly Directive[] = ['continue', 'retry', 'jump', 'break', 'fail'];
const PREVIOUS_ALIASES = new Set(['previous', 'prev', '_previous', '@previous']);

/** `task`: task-level set and policy then.set; `step`/`arc`: scheduler-applied blocks. */
export type SetWhere = 'task' | 'step' | 'arc';

/**
 * Normalize a `set` mapping. `prefix` turns legacy `set_ctx`/`set_iter` keys into targets
 * (`ctx.`/`iter.`) while diagnostics keep pointing at the key as written.
 */
export function normalizeSet(
  ctx: NormContext, raw: unknown, path: string, where: SetWhere, facts?: StepFacts, prefix = '',
): SetBlock | undefined {
  if (!ctx.expectMap(raw, path, prefix ? `\`set_${prefix.slice(0, -1)}\`` : '`set`')) return undefined;
  const out: SetBlock = [];
  for (const [key, value] of Object.entries(raw)) {
    const kp = pathKey(path, key);
    const target = prefix + key;
    const segs = target.split('.');
    if (segs.some((s) => s.trim() === '' || s !== s.trim())) {
      ctx.report('E_SET_TARGET', kp, `set target \`${target}\` has an empty or padded segment`, { atKey: true });
      continue;
    }
    const head = segs[0];
    if (READONLY_SCOPES.has(head)) {
      ctx.report('E_SET_READONLY_SCOPE', kp, `\`${head}\` is read-only: cannot set \`${target}\``, {
        atKey: true, hint: 'write ctx.<name> (execution-wide) or a bare/step. name (step-local)',
      });
      continue;
    }
    const scoped = head === 'ctx' || head === 'iter' || head === 'step';
    if (scoped && segs.length === 1) {
      ctx.report('E_SET_TARGET', kp, `set target \`${target}\` must name a key below \`${head}\` (e.g. ${head}.total)`, { atKey: true });
      continue;
    }
    let entry: SetEntry;
    if (where === 'task') {
      entry = scoped
        ? { target, scope: head as SetEntry['scope'], path: segs.slice(1), value }
        : { target, scope: 'step', path: segs, value };
      if (head === 'ctx' && facts && !ctx.isQuiet) facts.ctxWrites.push({ target, path: kp });
    } else if (head === 'iter') {
      ctx.report('E_ITER_OUTSIDE_PIPELINE', kp, `\`${target}\`: iter.* can only be written inside the pipeline (task set or policy then.set)`, { atKey: true });
      continue;
    } else if (head === 'ctx') {
      entry = { target, scope: 'ctx', path: segs.slice(1), value };
    } else {
      const rest = head === 'step' ? segs.slice(1) : segs;
      ctx.report('W_SET_TARGET_TO_CTX', kp, `\`${target}\` in a ${where} set writes ctx.${rest.join('.')}`, {
        atKey: true, hint: `write ctx.${rest.join('.')} explicitly`,
      });
      entry = { target, scope: 'ctx', path: rest, value };
    }
    ctx.templates(value, kp, true);
    out.push(entry);
  }
  return out;
}

/** Report every `do:` key below a non-task policy (R5.5). */
export function rejectDirectives(ctx: NormContext, raw: unknown, path: string, scope: string): void {
  if (Array.isArray(raw)) {
    raw.forEach((v, i) => rejectDirectives(ctx, v, pathIndex(path, i), scope));
  } else if (isPlainObject(raw)) {
    for (const [k, v] of Object.entries(raw)) {
      const kp = pathKey(path, k);
      if (k === 'do') {
        ctx.report('E_DIRECTIVE_OUTSIDE_TASK_POLICY', kp, `\`do\` is a task-policy directive and has no meaning in ${scope}`, {
          atKey: true, hint: 'control directives belong in a task spec.policy.rules[].then',
        });
      }
      rejectDirectives(ctx, v, kp, scope);
    }
  }
}

function checkRuleKeys(ctx: NormContext, rule: Record<string, unknown>, path: string, code: string): void {
  for (const k of Object.keys(rule)) {
    if (k === 'when' || k === 'then' || k === 'else') continue;
    if (LEGACY_CONDITION_KEYS.has(k)) {
      ctx.report('E_LEGACY_CONDITION', pathKey(path, k), `\`${k}\` is not a condition keyword`, { atKey: true, hint: 'use when: "{{ ... }}"' });
    } else {
      ctx.report(code, pathKey(path, k), `unknown rule field \`${k}\` (a rule is {when, then} or {else: {then}})`, { atKey: true });
    }
  }
}

/** Shared rule skeleton: resolves `when` / `else` / `then` (incl. the `else: {do...}` shorthand). */
function ruleParts(
  ctx: NormContext, raw: Record<string, unknown>, path: string, code: string, shorthandKeys: readonly string[],
): { when?: string | boolean; isElse: boolean; then?: unknown; thenPath: string } | undefined {
  checkRuleKeys(ctx, raw, path, code);
  if ('else' in raw) {
    if ('when' in raw) ctx.report(code, path, 'a rule has either `when` or `else`, not both');
    const ep = pathKey(path, 'else');
    const ev = raw.else;
    if (!isPlainObject(ev)) {
      ctx.report(code, ep, `\`else\` must be a mapping {then: ...}, got ${describe(ev)}`);
      return undefined;
    }
    if ('then' in raw) ctx.report(code, pathKey(path, 'then'), '`then` of an else rule goes inside `else`', { atKey: true });
    if ('then' in ev) {
      for (const k of Object.keys(ev)) if (k !== 'then') ctx.report(code, pathKey(ep, k), `unexpected \`${k}\` in else (put it under then)`, { atKey: true });
      return { isElse: true, then: ev.then, thenPath: pathKey(ep, 'then') };
    }
    if (Object.keys(ev).some((k) => shorthandKeys.includes(k))) return { isElse: true, then: ev, thenPath: ep };
    ctx.report(code, ep, '`else` needs a `then`');
    return undefined;
  }
  if (!('when' in raw)) {
    ctx.report(code, path, 'a rule needs `when` (or is an `else` rule)');
    return undefined;
  }
  const w = raw.when;
  const wp = pathKey(path, 'when');
  if (typeof w !== 'boolean' && typeof w !== 'string') {
    ctx.report(code, wp, `\`when\` must be a boolean or a string, got ${describe(w)}`);
    return undefined;
  }
  if (typeof w === 'string') ctx.condition(w, wp);
  if (!('then' in raw)) {
    ctx.report(code, path, 'a rule needs `then`');
    return undefined;
  }
  return { when: w, isElse: false, then: raw.then, thenPath: pathKey(path, 'then') };
}

const THEN_KEYS = new Set(['do', 'set', 'set_ctx', 'set_iter', 'attempts', 'backoff', 'delay', 'max_delay', 'to']);

function numberOrTemplate(ctx: NormContext, v: unknown, path: string, what: string, min: number, integer: boolean): number | string | undefined {
  if (typeof v === 'number' && v >= min && (!integer || Number.isInteger(v))) return v;
  if (typeof v === 'string' && isTemplate(v)) {
    ctx.templates(v, path, false);
    return v;
  }
  ctx.report('E_FIELD_VALUE', path, `${what} must be ${integer ? 'an integer' : 'a number'} >= ${min} or a template, got ${describe(v)}`);
  return undefined;
}

function normalizeThen(ctx: NormContext, raw: unknown, path: string, facts: StepFacts | undefined): PolicyThen | undefined {
  if (!isPlainObject(raw)) {
    ctx.report('E_POLICY_SHAPE', path, `\`then\` must be a mapping with \`do\`, got ${describe(raw)}`, { atKey: true });
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (!THEN_KEYS.has(k)) ctx.report('E_POLICY_SHAPE', pathKey(path, k), `unknown field \`${k}\` in then`, { atKey: true });
  }
  let set: SetBlock | undefined;
  for (const k of Object.keys(raw)) {
    if (k !== 'set' && k !== 'set_ctx' && k !== 'set_iter') continue;
    const prefix = k === 'set' ? '' : k === 'set_ctx' ? 'ctx.' : 'iter.';
    if (prefix) ctx.report('W_LEGACY_SET', pathKey(path, k), `\`${k}\` is legacy; normalized to set with ${prefix} keys`, { atKey: true });
    const block = normalizeSet(ctx, raw[k], pathKey(path, k), 'task', facts, prefix);
    if (block) set = [...(set ?? []), ...block];
  }
  if (!('do' in raw)) {
    ctx.report('E_THEN_DO_MISSING', path, '`then` needs a directive: do: continue | retry | jump | break | fail', { atKey: true });
    return undefined;
  }
  const d = raw.do;
  const dp = pathKey(path, 'do');
  if (typeof d !== 'string' || !(DIRECTIVES as readonly string[]).includes(d)) {
    ctx.report('E_UNKNOWN_DIRECTIVE', dp, `unknown directive ${describe(d)}`, {
      hint: d === 'skip' ? '`skip` is not supported: use jump to a later task or break' : `use one of ${DIRECTIVES.join(', ')}`,
    });
    return undefined;
  }
  const then: PolicyThen = { do: d as Directive };
  if (set) then.set = set;
  if (d === 'retry') {
    if ('attempts' in raw) then.attempts = numberOrTemplate(ctx, raw.attempts, pathKey(path, 'attempts'), '`attempts`', 1, true);
    if ('backoff' in raw) {
      const b = raw.backoff;
      if (b === 'none' || b === 'fixed' || b === 'linear' || b === 'exponential') then.backoff = b;
      else ctx.report('E_FIELD_VALUE', pathKey(path, 'backoff'), `\`backoff\` must be none | fixed | linear | exponential, got ${describe(b)}`);
    }
    if ('delay' in raw) then.delay = numberOrTemplate(ctx, raw.delay, pathKey(path, 'delay'), '`delay`', 0, false);
    if ('max_delay' in raw) then.max_delay = numberOrTemplate(ctx, raw.max_delay, pathKey(path, 'max_delay'), '`max_delay`', 0, false);
  }
  if (d === 'jump') {
    const tp = pathKey(path, 'to');
    if (!('to' in raw)) {
      ctx.report('E_UNKNOWN_JUMP_TARGET', path, '`jump` needs `to: <task name>` (or `previous`)', { atKey: true });
    } else if (typeof raw.to !== 'string' || raw.to === '') {
      ctx.report('E_UNKNOWN_JUMP_TARGET', tp, `jump target must be a task name, got ${describe(raw.to)}`);
    } else {
      then.to = PREVIOUS_ALIASES.has(raw.to) ? 'previous' : raw.to;
      if (then.to !== 'previous' && facts && !ctx.isQuiet) facts.jumps.push({ to: then.to, path: tp });
    }
  }
  return compact(then);
}

/** Task `spec.policy` (§8.1). */
export function normalizeTaskPolicy(ctx: NormContext, raw: unknown, path: string, facts?: StepFacts): TaskPolicy | undefined {
  if (Array.isArray(raw)) {
    ctx.report('E_POLICY_SHAPE', path, 'policy must be a mapping with a `rules` list, not a bare list', { atKey: true, hint: 'write policy: {rules: [...]}' });
    return undefined;
  }
  if (!isPlainObject(raw)) {
    ctx.report('E_POLICY_SHAPE', path, `policy must be a mapping with a \`rules\` list, got ${describe(raw)}`, { atKey: true });
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (!['rules', 'on_unmatched', 'mode', 'before', 'after', 'finally'].includes(k)) {
      ctx.report('E_POLICY_SHAPE', pathKey(path, k), `unknown task policy field \`${k}\``, { atKey: true });
    }
  }
  const policy: TaskPolicy = { on_unmatched: 'auto', rules: [] };
  if ('on_unmatched' in raw) {
    const u = raw.on_unmatched;
    if (u === 'auto' || u === 'continue' || u === 'fail') policy.on_unmatched = u;
    else ctx.report('E_POLICY_SHAPE', pathKey(path, 'on_unmatched'), `on_unmatched must be auto | continue | fail, got ${describe(u)}`);
  }
  if ('mode' in raw && raw.mode !== 'exclusive') {
    ctx.report('E_POLICY_SHAPE', pathKey(path, 'mode'), `task policy mode must be exclusive, got ${describe(raw.mode)}`);
  }
  const rp = pathKey(path, 'rules');
  if (!('rules' in raw)) {
    ctx.report('E_POLICY_SHAPE', path, 'policy needs a `rules` list', { atKey: true });
    return policy;
  }
  if (!Array.isArray(raw.rules)) {
    ctx.report('E_POLICY_SHAPE', rp, `\`rules\` must be a list, got ${describe(raw.rules)}`);
    return policy;
  }
  let sawElse = false;
  raw.rules.forEach((r, i) => {
    const p = pathIndex(rp, i);
    if (sawElse) ctx.report('W_UNREACHABLE_RULE', p, 'rule after an `else` rule can never match');
    if (!isPlainObject(r)) {
      ctx.report('E_POLICY_SHAPE', p, `a rule must be a mapping, got ${describe(r)}`);
      return;
    }
    const parts = ruleParts(ctx, r, p, 'E_POLICY_SHAPE', ['do', 'set', 'set_ctx', 'set_iter']);
    if (!parts) return;
    if (parts.isElse) sawElse = true;
    const then = normalizeThen(ctx, parts.then, parts.thenPath, facts);
    if (!then) return;
    const rule: PolicyRule = { else: parts.isElse, then, loc: ctx.sink.loc(p, r) };
    if (parts.when !== undefined) rule.when = parts.when;
    policy.rules.push(rule);
  });
  return policy;
}

/** `step.spec.policy.admit` (§7). */
export function normalizeAdmit(ctx: NormContext, raw: unknown, path: string): AdmitPolicy | undefined {
  if (!isPlainObject(raw)) {
    ctx.report('E_POLICY_SHAPE', path, `admit must be a mapping {mode?, rules: [...]}, got ${describe(raw)}`, { atKey: true });
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (k !== 'mode' && k !== 'rules' && k !== 'do') ctx.report('W_UNKNOWN_FIELD', pathKey(path, k), `unknown admit field \`${k}\` ignored`, { atKey: true });
  }
  const admit: AdmitPolicy = { mode: 'exclusive', rules: [] };
  if ('mode' in raw) {
    if (raw.mode === 'exclusive' || raw.mode === 'inclusive') admit.mode = raw.mode;
    else ctx.report('E_FIELD_VALUE', pathKey(path, 'mode'), `admit mode must be exclusive | inclusive, got ${describe(raw.mode)}`);
  }
  if (raw.rules === undefined || raw.rules === null) return admit;
  const rp = pathKey(path, 'rules');
  if (!Array.isArray(raw.rules)) {
    ctx.report('E_POLICY_SHAPE', rp, `admit rules must be a list, got ${describe(raw.rules)}`);
    return admit;
  }
  let sawElse = false;
  raw.rules.forEach((r, i) => {
    const p = pathIndex(rp, i);
    if (sawElse) ctx.report('W_UNREACHABLE_RULE', p, 'rule after an `else` rule can never match');
    if (!isPlainObject(r)) {
      ctx.report('E_POLICY_SHAPE', p, `an admission rule must be a mapping, got ${describe(r)}`);
      return;
    }
    const parts = ruleParts(ctx, r, p, 'E_POLICY_SHAPE', ['allow', 'do']);
    if (!parts) return;
    if (parts.isElse) sawElse = true;
    const t = parts.then;
    const tp = parts.thenPath;
    if (!isPlainObject(t)) {
      ctx.report('E_ADMIT_THEN', tp, `admission then must be {allow: true|false}, got ${describe(t)}`, { atKey: true });
      return;
    }
    for (const k of Object.keys(t)) {
      if (k !== 'allow' && k !== 'do') ctx.report('W_UNKNOWN_FIELD', pathKey(tp, k), `\`${k}\` has no meaning in an admission then`, { atKey: true });
    }
    if (typeof t.allow !== 'boolean') {
      ctx.report('E_ADMIT_THEN', 'allow' in t ? pathKey(tp, 'allow') : tp, 'admission then needs a boolean `allow`', { atKey: !('allow' in t), hint: 'then: {allow: true} or then: {allow: false}' });
      return;
    }
    const rule: AdmitRule = { else: parts.isElse, allow: t.allow, loc: ctx.sink.loc(p, r) };
    if (parts.when !== undefined) rule.when = parts.when;
    admit.rules.push(rule);
  });
  return admit;
}
