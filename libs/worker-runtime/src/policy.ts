import type { PolicyRule, PolicyThen, TaskPolicy } from '@noetl/dsl';
import type { Outcome } from '@noetl/events';
import type { Scope } from '@noetl/template';
import type { RunContext } from './context';
import { conditionAt, renderAt } from './render';
import { ClassifiedError } from './errors';

/** dsl §8.2 defaults */
export const DEFAULT_RETRY_ATTEMPTS = 3;
export const DEFAULT_RETRY_DELAY_S = 1.0;
export const DEFAULT_MAX_DELAY_S = 300;

/** Aliases of `to: previous` (dsl §8.2); the catalog normalizes them, the worker accepts them anyway. */
export const PREVIOUS_ALIASES: ReadonlySet<string> = new Set(['previous', 'prev', '_previous', '@previous']);

export interface RuleMatch {
  rule: PolicyRule | undefined;
  index: number | null;
}

/** No rule matched (or no policy): one shared, frozen value instead of an object per attempt. */
export const NO_MATCH: RuleMatch = Object.freeze({ rule: undefined, index: null });

/** dsl §8.3 step 3: the first rule whose `when` is true, or the `else` rule. Template errors propagate. */
export function matchRule(rt: RunContext, policy: TaskPolicy | undefined, scope: Scope, task: string): RuleMatch {
  if (!policy) return NO_MATCH;
  for (let i = 0; i < policy.rules.length; i++) {
    const r = policy.rules[i];
    if (r.else) return { rule: r, index: i };
    if (r.when === undefined || conditionAt(rt, r.when, scope, `task ${task} policy rule ${i} when`)) return { rule: r, index: i };
  }
  return NO_MATCH;
}

/**
 * dsl §8.3 step 5 when no rule matched (source `default`): `on_unmatched`, else auto (ok -> continue,
 * error -> fail). A matched rule's directive is its `then.do` (source `rule` or `else`).
 */
export function defaultDirective(policy: TaskPolicy | undefined, outcome: Outcome): 'continue' | 'fail' {
  const unmatched = policy?.on_unmatched;
  if (unmatched === 'continue' || unmatched === 'fail') return unmatched;
  return outcome.status === 'ok' ? 'continue' : 'fail';
}

function num(rt: RunContext, v: number | string | undefined, scope: Scope, where: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const r = typeof v === 'string' ? renderAt(rt, v, scope, where) : v;
  const n = typeof r === 'number' ? r : typeof r === 'string' && r.trim() !== '' ? Number(r) : NaN;
  if (!Number.isFinite(n)) throw new ClassifiedError('config', 'RETRY_PARAMETER_INVALID', `${where}: expected a number, got ${JSON.stringify(r)}`);
  return n;
}

/** `then.attempts` (total attempts including the first, integer >= 1; default 3). */
export function retryAttempts(rt: RunContext, then: PolicyThen, scope: Scope, task: string): number {
  const n = num(rt, then.attempts, scope, `task ${task} retry attempts`);
  if (n === undefined) return DEFAULT_RETRY_ATTEMPTS;
  return Math.max(1, Math.floor(n));
}

/**
 * dsl §8.5: delay before retry number `n` (n = 1 before the 2nd attempt). Backoff defaults to
 * `fixed` (R8.8); delay may be a template; capped at `max_delay`; no jitter.
 */
export function retryDelayMs(rt: RunContext, then: PolicyThen, n: number, scope: Scope, task: string): number {
  const delay = num(rt, then.delay, scope, `task ${task} retry delay`) ?? DEFAULT_RETRY_DELAY_S;
  const maxDelay = num(rt, then.max_delay, scope, `task ${task} retry max_delay`) ?? DEFAULT_MAX_DELAY_S;
  return Math.round(Math.max(0, computeDelayS(then.backoff ?? 'fixed', delay, n, maxDelay)) * 1000);
}

/** Pure delay table of dsl §8.5 (seconds). */
export function computeDelayS(backoff: 'none' | 'fixed' | 'linear' | 'exponential', delay: number, n: number, maxDelay: number): number {
  let d: number;
  switch (backoff) {
    case 'none': d = 0; break;
    case 'linear': d = delay * n; break;
    case 'exponential': d = delay * 2 ** (n - 1); break;
    default: d = delay;
  }
  return Math.min(d, maxDelay);
}
